//! The CloudFormation custom resource `Custom::User` (users as code): its properties read into a
//! declared user, and its physical id. What a request does with them is in
//! `lambda::provisioning`, which answers CloudFormation.

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::fields::{Empty, Fields};
use crate::model::{Backend, RequiredAction, Role, UserType};
use crate::validate;

/// Where a declared user's password comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// None: an API user, an external user, or one whose password is set later.
    Unset,
    /// A Secrets Manager secret's string, or one string member of its JSON object.
    Secret { id: String, key: Option<String> },
    /// A random temporary password mailed to the user, to be changed at the first login.
    Temporary,
}

/// A user as a template declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredUser {
    pub tenant_id: String,
    pub user_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub user_type: UserType,
    pub backend: Backend,
    pub role: Role,
    pub enabled: bool,
    pub required_actions: Vec<RequiredAction>,
    pub language: Option<String>,
    pub timezone: Option<String>,
    pub tags: Map<String, Value>,
    pub password: PasswordSource,
}

impl DeclaredUser {
    pub fn physical_id(&self) -> String {
        format!("{}/{}", self.tenant_id, self.user_id)
    }
}

fn choice<T: Copy>(key: &str, raw: Option<String>, options: &[(&str, T)]) -> ApiResult<Option<T>> {
    let Some(raw) = raw else { return Ok(None) };
    options
        .iter()
        .find(|(name, _)| *name == raw)
        .map(|(_, value)| Some(*value))
        .ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
            ApiError::invalid(key, format!("must be one of {}", names.join(", ")))
        })
}

/// CloudFormation passes every scalar property as a string: `true` arrives as `"true"`.
fn flag(fields: &mut Fields, key: &str) -> ApiResult<bool> {
    match fields.take(key) {
        None => Ok(false),
        Some(Value::Bool(value)) => Ok(value),
        Some(Value::String(text)) if text == "true" => Ok(true),
        Some(Value::String(text)) if text == "false" => Ok(false),
        Some(_) => Err(ApiError::invalid(key, "must be true or false")),
    }
}

/// Reads a resource's properties, with the canonical user's limits (SpaceONE's `create` applies the
/// same to the same fields).
pub fn parse_properties(properties: &Value) -> ApiResult<DeclaredUser> {
    let Value::Object(map) = properties else {
        return Err(ApiError::MalformedBody(
            "the resource properties are not an object".into(),
        ));
    };
    let mut map = map.clone();
    // CloudFormation's own properties of every custom resource.
    map.remove("ServiceToken");
    map.remove("ServiceTimeout");
    let mut fields = Fields::from_map(map, String::new(), Empty::IsMissing);
    let tenant_id = fields.required_string("TenantId")?;
    validate::tenant_id("TenantId", &tenant_id)?;
    let user_id = fields.required_string("UserId")?;
    validate::user_id(&user_id)?;
    let name = fields
        .string("Name")?
        .map(|name| validate::display_name("Name", &name, validate::DISPLAY_NAME_MAX))
        .transpose()?;
    let email = fields
        .string("Email")?
        .map(|email| validate::email("Email", &email, validate::EMAIL_MAX))
        .transpose()?;
    let user_type = choice(
        "UserType",
        fields.string("UserType")?,
        &[("USER", UserType::User), ("API_USER", UserType::ApiUser)],
    )?
    .unwrap_or(UserType::User);
    let backend = choice(
        "Backend",
        fields.string("Backend")?,
        &[("LOCAL", Backend::Local), ("EXTERNAL", Backend::External)],
    )?
    .unwrap_or(Backend::Local);
    let role = choice(
        "Role",
        fields.string("Role")?,
        &[("MEMBER", Role::Member), ("ADMIN", Role::Admin)],
    )?
    .unwrap_or(Role::Member);
    let enabled = choice(
        "State",
        fields.string("State")?,
        &[("ENABLED", true), ("DISABLED", false)],
    )?
    .unwrap_or(true);
    let required_actions = fields
        .string_list("RequiredActions")?
        .unwrap_or_default()
        .into_iter()
        .map(|action| {
            choice(
                "RequiredActions",
                Some(action),
                &[("UPDATE_PASSWORD", RequiredAction::UpdatePassword)],
            )
            .map(|action| action.expect("given"))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let language = fields
        .string("Language")?
        .map(|language| validate::language(&language, validate::LANGUAGE_MAX))
        .transpose()?;
    let timezone = fields
        .string("Timezone")?
        .map(|timezone| validate::timezone(&timezone))
        .transpose()?;
    // An object, or CloudFormation's usual `[{"Key", "Value"}]`.
    let tags = fields
        .take("Tags")
        .map(|given| validate::tags_of("Tags", given, ["Key", "Value"]))
        .transpose()?
        .unwrap_or_default();
    let secret_id = fields.string("PasswordSecretId")?;
    let secret_key = fields.string("PasswordSecretKey")?;
    let temporary = flag(&mut fields, "TemporaryPassword")?;
    fields.finish()?;

    if user_type == UserType::ApiUser && backend == Backend::External {
        return Err(ApiError::ExternalApiUser);
    }
    let password = match (secret_id, temporary) {
        (Some(_), true) => {
            return Err(ApiError::invalid(
                "PasswordSecretId",
                "give either PasswordSecretId or TemporaryPassword",
            ));
        }
        (Some(id), false) => PasswordSource::Secret {
            id,
            key: secret_key,
        },
        (None, true) if email.is_none() => return Err(ApiError::ResetPasswordWithoutEmail),
        (None, true) => PasswordSource::Temporary,
        (None, false) if secret_key.is_some() => {
            return Err(ApiError::RequiredParameter("PasswordSecretId".into()));
        }
        (None, false) => PasswordSource::Unset,
    };
    if password != PasswordSource::Unset
        && (backend == Backend::External || user_type == UserType::ApiUser)
    {
        return Err(ApiError::invalid(
            "PasswordSecretId",
            "only a LOCAL USER signs in with a password",
        ));
    }
    Ok(DeclaredUser {
        tenant_id,
        user_id,
        name,
        email,
        user_type,
        backend,
        role,
        enabled,
        required_actions,
        language,
        timezone,
        tags,
        password,
    })
}

/// Tenant and user id of a physical id this resource answered; `None` for the id of a Create
/// that failed before it knew them.
pub fn parse_physical_id(physical_id: &str) -> Option<(&str, &str)> {
    let (tenant_id, user_id) = physical_id.split_once('/')?;
    (validate::tenant_id("tenant_id", tenant_id).is_ok() && validate::user_id(user_id).is_ok())
        .then_some((tenant_id, user_id))
}
