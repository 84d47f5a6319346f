//! Huawei IAM's `POST /v3/auth/tokens` (Keystone v3 password method) to and from the canonical login.

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::http::{Empty, Fields};
use crate::model::{Millis, Role, User};
use crate::ops::{LoginIdentity, LoginRequest};
use crate::token::IssuedToken;

/// IAM renders times as ISO 8601 UTC with microseconds: `2020-01-04T09:05:22.701000Z`.
pub fn time(millis: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// What the token is scoped to: the tenant as a domain (the default) or as a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Domain(String),
    Project(String),
}

impl Scope {
    fn tenant(&self) -> &str {
        match self {
            Scope::Domain(t) | Scope::Project(t) => t,
        }
    }
}

pub struct TokenRequest {
    pub login: LoginRequest,
    pub scope: Scope,
}

/// `{name}` or `{id}` of a domain or project; this API's tenants have one identifier, which serves as
/// both (docs/dialects.md).
fn name_or_id(mut fields: Fields) -> ApiResult<Option<String>> {
    let name = fields.string("name")?;
    let id = fields.string("id")?;
    fields.finish()?;
    match (name, id) {
        (Some(name), Some(id)) if name != id => Err(ApiError::invalid(
            "id",
            "name and id name different tenants",
        )),
        (name, id) => Ok(name.or(id)),
    }
}

pub fn parse_token_request(body: &[u8]) -> ApiResult<TokenRequest> {
    let mut root = Fields::from_body(body, Empty::IsValue)?;
    let mut auth = root.required_nested("auth", Empty::IsValue)?;
    root.finish()?;
    let mut identity = auth.required_nested("identity", Empty::IsValue)?;
    let methods = identity
        .string_list("methods")?
        .ok_or_else(|| ApiError::RequiredParameter("auth.identity.methods".into()))?;
    if methods != ["password"] {
        return Err(ApiError::invalid(
            "auth.identity.methods",
            "only [\"password\"] is supported",
        ));
    }
    let mut password = identity.required_nested("password", Empty::IsValue)?;
    identity.finish()?;
    let mut user = password.required_nested("user", Empty::IsValue)?;
    password.finish()?;
    let secret = user.required_string("password")?;
    let name = user.string("name")?;
    let id = user.string("id")?;
    let domain = match user.nested("domain", Empty::IsValue)? {
        Some(domain) => name_or_id(domain)?,
        None => None,
    };
    user.finish()?;

    let scope = match auth.nested("scope", Empty::IsValue)? {
        None => None,
        Some(mut scope) => {
            let domain = scope.nested("domain", Empty::IsValue)?;
            let project = scope.nested("project", Empty::IsValue)?;
            scope.finish()?;
            match (domain, project) {
                (Some(d), None) => name_or_id(d)?.map(Scope::Domain),
                (None, Some(p)) => name_or_id(p)?.map(Scope::Project),
                (None, None) => None,
                (Some(_), Some(_)) => {
                    return Err(ApiError::invalid(
                        "auth.scope",
                        "give either a domain or a project",
                    ));
                }
            }
        }
    };
    auth.finish()?;

    let tenant_id = domain
        .or_else(|| scope.as_ref().map(|s| s.tenant().to_owned()))
        .ok_or_else(|| ApiError::RequiredParameter("auth.identity.password.user.domain".into()))?;
    let identity = match (name, id) {
        (Some(name), None) => LoginIdentity::Name(name),
        (None, Some(id)) => LoginIdentity::Id(id),
        (None, None) => {
            return Err(ApiError::RequiredParameter(
                "auth.identity.password.user.name".into(),
            ));
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "auth.identity.password.user",
                "give either name or id",
            ));
        }
    };
    let scope = scope.unwrap_or_else(|| Scope::Domain(tenant_id.clone()));
    // A scope of another tenant fails inside the login, like every other failure.
    let scope_tenant = Some(scope.tenant().to_owned());
    Ok(TokenRequest {
        login: LoginRequest {
            tenant_id,
            identity,
            password: secret,
            scope_tenant,
        },
        scope,
    })
}

fn role(role: Role) -> Value {
    match role {
        Role::Admin => json!({"id": "ADMIN", "name": "admin"}),
        Role::Member => json!({"id": "MEMBER", "name": "member"}),
    }
}

/// The `{"token": {...}}` body of a 201.
pub fn token_body(
    user: &User,
    issued: &IssuedToken,
    scope: &Scope,
    catalog_url: Option<&str>,
) -> Value {
    let domain = json!({"id": user.tenant_id, "name": user.tenant_id});
    let mut token = json!({
        "expires_at": time(issued.expires_at),
        "issued_at": time(issued.issued_at),
        "methods": ["password"],
        "user": {
            "id": user.user_id,
            "name": user.login_name,
            "domain": domain,
            "password_expires_at": user.password_expires_at.map(time).unwrap_or_default(),
        },
        "roles": [role(user.role)],
    });
    match scope {
        Scope::Domain(_) => token["domain"] = domain,
        Scope::Project(_) => {
            token["project"] =
                json!({"id": user.tenant_id, "name": user.tenant_id, "domain": domain});
        }
    }
    if let Some(url) = catalog_url {
        token["catalog"] = json!([{
            "type": "identity",
            "name": "iam",
            "id": "identity",
            "endpoints": [{"id": "identity-public", "interface": "public", "region": "", "region_id": "", "url": url}],
        }]);
    }
    json!({ "token": token })
}

/// `{"user": {"original_password", "password"}}` of `POST /v3/users/{user_id}/password`.
pub fn parse_password_change(body: &[u8]) -> ApiResult<(String, String)> {
    let mut root = Fields::from_body(body, Empty::IsValue)?;
    let mut user = root.required_nested("user", Empty::IsValue)?;
    root.finish()?;
    let original = user.required_string("original_password")?;
    let password = user.required_string("password")?;
    user.finish()?;
    Ok((original, password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_identity_forms_and_scopes_parse() {
        let by_name = br#"{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","password":"x","domain":{"name":"t1"}}}},"scope":{"project":{"id":"t1"}}}}"#;
        let request = parse_token_request(by_name).unwrap();
        assert_eq!(request.login.tenant_id, "t1");
        assert_eq!(request.scope, Scope::Project("t1".into()));
        assert!(matches!(request.login.identity, LoginIdentity::Name(ref n) if n == "admin"));

        let by_id = br#"{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"u1","password":"x"}}},"scope":{"domain":{"name":"t2"}}}}"#;
        let request = parse_token_request(by_id).unwrap();
        assert_eq!(request.login.tenant_id, "t2");
        assert!(matches!(request.login.identity, LoginIdentity::Id(ref n) if n == "u1"));
    }

    #[test]
    fn times_carry_microseconds() {
        assert_eq!(time(1_578_128_722_701), "2020-01-04T09:05:22.701000Z");
    }
}
