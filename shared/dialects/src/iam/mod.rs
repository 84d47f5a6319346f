//! Huawei IAM's `POST /v3/auth/tokens` (Keystone v3 password method) to and from the canonical login.

pub mod codes;
pub mod users;

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::fields::{Empty, Fields};
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

/// `auth.scope.project`: `{name}` or `{id}`, and the project's `domain` (`{name}` or `{id}`) beside
/// it, as keystoneauth1 sends whenever `project_domain_name` / `project_domain_id` is set. A tenant
/// is its own project's domain: the scope and, when given, its domain must both name the user's
/// tenant, or the login fails like any other scope of another tenant (401, never a 400 that would
/// tell which part was wrong).
fn project_scope(mut project: Fields) -> ApiResult<Option<(Scope, Option<String>)>> {
    let domain =
        match project.nested("domain", Empty::IsValue)? {
            Some(domain) => Some(name_or_id(domain)?.ok_or_else(|| {
                ApiError::RequiredParameter("auth.scope.project.domain.name".into())
            })?),
            None => None,
        };
    match name_or_id(project)? {
        Some(tenant) => Ok(Some((Scope::Project(tenant), domain))),
        None if domain.is_some() => Err(ApiError::RequiredParameter(
            "auth.scope.project.name".into(),
        )),
        None => Ok(None),
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
                (Some(d), None) => name_or_id(d)?.map(|tenant| (Scope::Domain(tenant), None)),
                (None, Some(p)) => project_scope(p)?,
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

    let (scope, project_domain) = match scope {
        Some((scope, project_domain)) => (Some(scope), project_domain),
        None => (None, None),
    };
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
    // A scope of another tenant (or a project of another domain) fails inside the login, like
    // every other failure.
    let scope_tenants = std::iter::once(scope.tenant().to_owned())
        .chain(project_domain)
        .collect();
    Ok(TokenRequest {
        login: LoginRequest {
            tenant_id,
            identity,
            password: secret,
            scope_tenants,
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

/// The identity endpoint under an API's base URL, as the catalog gives it (`https://host/v3`; the
/// Keystone clients add `/auth/tokens`, `/users/{id}/password` to it).
pub fn identity_endpoint(base_url: &str) -> String {
    format!("{}/v3", base_url.trim_end_matches('/'))
}

/// The version Huawei IAM's discovery documents name (`GET /`, `GET /v3`).
const VERSION_ID: &str = "v3.6";
const VERSION_UPDATED: &str = "2016-04-04T00:00:00Z";

/// `GET /v3`: `{"version": ...}`.
pub fn version_document(base_url: &str) -> Value {
    json!({ "version": version_v3(base_url) })
}

/// `GET /` (answered with 300): `{"versions": {"values": [...]}}`, v3 the one version.
pub fn version_list(base_url: &str) -> Value {
    json!({"versions": {"values": [version_v3(base_url)]}})
}

/// The v3 version of Keystone's discovery, with `href` the identity endpoint plus `/`.
fn version_v3(base_url: &str) -> Value {
    json!({
        "id": VERSION_ID,
        "status": "stable",
        "updated": VERSION_UPDATED,
        "links": [{"rel": "self", "href": format!("{}/", identity_endpoint(base_url))}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    })
}

/// The `{"token": {...}}` body of a 201; `catalog_url` is the identity endpoint.
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
        // Every interface, as Keystone and Huawei publish it: keystoneauth1 asks for `public`,
        // python-keystoneclient for `admin` unless told otherwise.
        let endpoints: Vec<Value> = ["public", "internal", "admin"]
            .into_iter()
            .map(|interface| {
                json!({"id": format!("identity-{interface}"), "interface": interface,
                       "region": "", "region_id": "", "url": url})
            })
            .collect();
        token["catalog"] = json!([{
            "type": "identity",
            "name": "iam",
            "id": "identity",
            "endpoints": endpoints,
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
    fn a_project_scope_may_name_its_domain() {
        let with = |project: &str| {
            parse_token_request(format!(r#"{{"auth":{{"identity":{{"methods":["password"],"password":{{"user":{{"name":"admin","password":"x","domain":{{"name":"t1"}}}}}}}},"scope":{{"project":{project}}}}}}}"#).as_bytes())
        };
        let request = with(r#"{"name":"t1","domain":{"name":"t1"}}"#).unwrap();
        assert_eq!(request.scope, Scope::Project("t1".into()));
        assert_eq!(request.login.scope_tenants, ["t1", "t1"]);
        // Another domain is parsed, and refused by the login like any scope of another tenant.
        let request = with(r#"{"id":"t1","domain":{"id":"t2"}}"#).unwrap();
        assert_eq!(request.login.scope_tenants, ["t1", "t2"]);
        let refused = |project: &str| with(project).err().map(|e| e.own_code());
        assert_eq!(
            refused(r#"{"domain":{"name":"t1"}}"#),
            Some("MISSING_PARAMETER")
        );
        assert_eq!(
            refused(r#"{"name":"t1","domain":{}}"#),
            Some("MISSING_PARAMETER")
        );
        assert_eq!(
            refused(r#"{"name":"t1","domain":{"name":"t1","enabled":true}}"#),
            Some("UNKNOWN_PARAMETER")
        );
    }

    #[test]
    fn times_carry_microseconds() {
        assert_eq!(time(1_578_128_722_701), "2020-01-04T09:05:22.701000Z");
    }
}
