//! Seed 004: SpaceONE identity v1 `User` messages to and from the canonical user.

pub mod codes;

use serde_json::{Map, Value, json};

use crate::account::ProfileChange;
use crate::directory::{DirectorySearch, DirectoryUser};
use crate::error::{ApiError, ApiResult};
use crate::fields::{Empty, Fields};
use crate::model::{Backend, RequiredAction, Role, User, UserState, UserType};
use crate::ops::NewUser;
use crate::query::{self, Condition, Query, StatQuery};
use crate::validate;

pub const USER_ID_MAX: usize = 40;
pub use crate::validate::{DISPLAY_NAME_MAX as NAME_MAX, EMAIL_MAX, LANGUAGE_MAX};

fn parse_enum<T>(
    key: &str,
    value: Option<String>,
    parse: impl Fn(&str) -> Option<T>,
) -> ApiResult<Option<T>> {
    value
        .map(|raw| {
            parse(&raw).ok_or_else(|| ApiError::invalid(key, format!("unknown value {raw:?}")))
        })
        .transpose()
}

fn user_type(raw: &str) -> Option<UserType> {
    match raw {
        "USER" => Some(UserType::User),
        "API_USER" => Some(UserType::ApiUser),
        _ => None,
    }
}

fn backend(raw: &str) -> Option<Backend> {
    match raw {
        "LOCAL" => Some(Backend::Local),
        "EXTERNAL" => Some(Backend::External),
        _ => None,
    }
}

fn state_name(state: UserState) -> &'static str {
    // PENDING_DELETE never reaches this dialect: such a user is gone (404).
    state.as_str()
}

/// `domain_id` of a request, checked as a tenant id.
/// `domain_id`, or the token's tenant where it is left out, as SpaceONE's mutation handler fills it
/// in; one that differs from the token's is refused by the operation (403). Without a token
/// (`token_domain` empty: the anonymous `reset_password`, a password link) it is required.
fn domain_id(fields: &mut Fields, token_domain: &str) -> ApiResult<String> {
    let domain_id = fields
        .string("domain_id")?
        .or_else(|| Some(token_domain.to_owned()).filter(|domain| !domain.is_empty()))
        .ok_or_else(|| ApiError::RequiredParameter("domain_id".into()))?;
    validate::tenant_id("domain_id", &domain_id)?;
    Ok(domain_id)
}

fn user_id(fields: &mut Fields) -> ApiResult<String> {
    let user_id = fields.required_string("user_id")?;
    validate::max_chars("user_id", &user_id, USER_ID_MAX)?;
    validate::user_id(&user_id)?;
    Ok(user_id)
}

/// `CreateUserRequest`.
pub struct CreateRequest {
    pub user: NewUser,
}

/// The profile fields `create` and `update` share, checked against the vendor's limits.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub name: Option<String>,
    pub email: Option<String>,
    pub language: Option<String>,
    pub timezone: Option<String>,
    pub tags: Option<Map<String, Value>>,
}

/// Whether `name` and `email` are taken as given or with the whitespace around them stripped
/// (SpaceONE's `create` strips both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whitespace {
    AsGiven,
    Stripped,
}

fn profile(fields: &mut Fields, whitespace: Whitespace) -> ApiResult<Profile> {
    let cleaned = |text: String| match whitespace {
        Whitespace::AsGiven => text,
        Whitespace::Stripped => text.trim().to_owned(),
    };
    let name = fields
        .string("name")?
        .map(cleaned)
        .map(|n| validate::display_name("name", &n, NAME_MAX))
        .transpose()?;
    let email = fields
        .string("email")?
        .map(cleaned)
        .map(|e| validate::email("email", &e, EMAIL_MAX))
        .transpose()?;
    let language = fields
        .string("language")?
        .map(|l| validate::language(&l, LANGUAGE_MAX))
        .transpose()?;
    let timezone = fields
        .string("timezone")?
        .map(|t| validate::timezone(&t))
        .transpose()?;
    // The proto's `Struct`, or the `[{"key", "value"}]` of every example of the seed's page.
    let tags = fields
        .take("tags")
        .map(|given| validate::tags_of("tags", given, ["key", "value"]))
        .transpose()?;
    Ok(Profile {
        name,
        email,
        language,
        timezone,
        tags,
    })
}

pub fn parse_create(body: &[u8], token_domain: &str) -> ApiResult<CreateRequest> {
    let mut fields = Fields::from_body(body, Empty::IsMissing)?;
    let user_id = user_id(&mut fields)?;
    // SpaceONE 1.12's service defaults it, and a protobuf client leaves an unset enum out.
    let backend =
        parse_enum("backend", fields.string("backend")?, backend)?.unwrap_or(Backend::Local);
    let domain_id = domain_id(&mut fields, token_domain)?;
    let password = fields.string("password")?;
    let Profile {
        name,
        email,
        language,
        timezone,
        tags,
    } = profile(&mut fields, Whitespace::Stripped)?;
    let user_type =
        parse_enum("user_type", fields.string("user_type")?, user_type)?.unwrap_or(UserType::User);
    let reset_password = fields.boolean("reset_password")?.unwrap_or(false);
    fields.finish()?;

    if user_type == UserType::ApiUser && backend == Backend::External {
        return Err(ApiError::ExternalApiUser);
    }
    if user_type == UserType::User && backend == Backend::Local && !validate::is_email(&user_id) {
        return Err(ApiError::InvalidUserIdFormat {
            rule: "a LOCAL USER's user_id is an email address".into(),
        });
    }
    if reset_password {
        if backend == Backend::External {
            return Err(ApiError::ResetPasswordExternal);
        }
        if email.is_none() {
            return Err(ApiError::ResetPasswordWithoutEmail);
        }
        if user_type == UserType::ApiUser {
            return Err(ApiError::invalid(
                "reset_password",
                "an API_USER has no password",
            ));
        }
        if password.is_some() {
            return Err(both_password_and_reset());
        }
    }
    let needs_password =
        backend == Backend::Local && user_type == UserType::User && !reset_password;
    match (&password, needs_password) {
        (None, true) => return Err(ApiError::RequiredParameter("password".into())),
        (Some(_), false) => {
            return Err(ApiError::invalid(
                "password",
                "only a LOCAL USER signs in with a password",
            ));
        }
        _ => {}
    }
    Ok(CreateRequest {
        user: NewUser {
            tenant_id: domain_id,
            user_id,
            login_name: None,
            display_name: name,
            email,
            password,
            user_type,
            backend,
            language,
            timezone,
            tags: tags.unwrap_or_default(),
            role: Role::Member,
            temporary_password: reset_password,
            disabled: false,
            required_actions: Vec::new(),
            managed_by: None,
        },
    })
}

fn both_password_and_reset() -> ApiError {
    ApiError::invalid("password", "give either a password or reset_password")
}

/// `UserRequest`: one user of one domain. Also the head of every request naming a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRequest {
    pub domain_id: String,
    pub user_id: String,
}

fn target(fields: &mut Fields, token_domain: &str) -> ApiResult<UserRequest> {
    let user_id = user_id(fields)?;
    let domain_id = domain_id(fields, token_domain)?;
    Ok(UserRequest { domain_id, user_id })
}

pub fn parse_user_request(body: &[u8], token_domain: &str) -> ApiResult<UserRequest> {
    let mut fields = Fields::from_body(body, Empty::IsMissing)?;
    let request = target(&mut fields, token_domain)?;
    fields.finish()?;
    Ok(request)
}

/// `UpdateUserRequest`.
pub struct UpdateRequest {
    pub target: UserRequest,
    pub change: ProfileChange,
}

pub fn parse_update(body: &[u8], token_domain: &str) -> ApiResult<UpdateRequest> {
    let mut fields = Fields::from_body_keeping(body, Empty::IsMissing, &["tags"])?;
    let target = target(&mut fields, token_domain)?;
    let password = fields.string("password")?;
    let Profile {
        name,
        email,
        language,
        timezone,
        tags,
    } = profile(&mut fields, Whitespace::AsGiven)?;
    let reset_password = fields.boolean("reset_password")?.unwrap_or(false);
    fields.finish()?;
    if reset_password && password.is_some() {
        return Err(both_password_and_reset());
    }
    Ok(UpdateRequest {
        target,
        change: ProfileChange {
            display_name: name,
            email,
            language,
            timezone,
            tags,
            password,
            reset_password,
        },
    })
}

/// `VerifyEmailRequest`.
pub struct VerifyEmailRequest {
    pub target: UserRequest,
    pub email: Option<String>,
    pub force: bool,
}

pub fn parse_verify_email(body: &[u8], token_domain: &str) -> ApiResult<VerifyEmailRequest> {
    let mut fields = Fields::from_body(body, Empty::IsMissing)?;
    let target = target(&mut fields, token_domain)?;
    let email = fields
        .string("email")?
        .map(|e| validate::email("email", &e, EMAIL_MAX))
        .transpose()?;
    let force = fields.boolean("force")?.unwrap_or(false);
    fields.finish()?;
    Ok(VerifyEmailRequest {
        target,
        email,
        force,
    })
}

/// `ConfirmEmailRequest`.
pub struct ConfirmEmailRequest {
    pub target: UserRequest,
    pub verify_code: String,
}

/// Longer than any code we send; a longer one is simply wrong.
const VERIFY_CODE_MAX: usize = 64;

pub fn parse_confirm_email(body: &[u8], token_domain: &str) -> ApiResult<ConfirmEmailRequest> {
    let mut fields = Fields::from_body(body, Empty::IsMissing)?;
    let target = target(&mut fields, token_domain)?;
    let verify_code = fields.required_string("verify_code")?;
    validate::max_chars("verify_code", &verify_code, VERIFY_CODE_MAX)?;
    fields.finish()?;
    Ok(ConfirmEmailRequest {
        target,
        verify_code,
    })
}

/// `SetRequiredActionsRequest`.
pub struct SetRequiredActionsRequest {
    pub target: UserRequest,
    pub actions: Vec<RequiredAction>,
}

pub fn parse_set_required_actions(
    body: &[u8],
    token_domain: &str,
) -> ApiResult<SetRequiredActionsRequest> {
    let mut fields = Fields::from_body(body, Empty::IsMissing)?;
    let target = target(&mut fields, token_domain)?;
    let actions = fields
        .string_list("actions")?
        .ok_or_else(|| ApiError::RequiredParameter("actions".into()))?
        .into_iter()
        .map(|action| match action.as_str() {
            "UPDATE_PASSWORD" => Ok(RequiredAction::UpdatePassword),
            _ => Err(ApiError::invalid(
                "actions",
                format!("unknown value {action:?}"),
            )),
        })
        .collect::<ApiResult<Vec<_>>>()?;
    fields.finish()?;
    Ok(SetRequiredActionsRequest { target, actions })
}

/// `UserQuery`: the generic query plus the direct fields, which are equality filters (a list value
/// means any of them).
pub struct ListRequest {
    pub domain_id: String,
    pub query: Query,
}

/// Whether a value names a member of a field's enum.
type KnownValue = fn(&str) -> bool;

/// The direct fields of `UserQuery`, with the enum each must name (if any).
const DIRECT_FIELDS: [(&str, Option<KnownValue>); 6] = [
    ("user_id", None),
    ("name", None),
    ("state", None),
    ("email", None),
    ("user_type", Some(|v| user_type(v).is_some())),
    ("backend", Some(|v| backend(v).is_some())),
];

pub fn parse_list(body: &[u8], token_domain: &str) -> ApiResult<ListRequest> {
    let mut fields = Fields::from_body(body, Empty::IsMissing)?;
    let domain_id = domain_id(&mut fields, token_domain)?;
    let mut query = query::parse_query(fields.object("query")?)?;
    for (key, known) in DIRECT_FIELDS {
        let Some(value) = fields.take(key) else {
            continue;
        };
        let values: Vec<&Value> = match &value {
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        for item in &values {
            let text = item
                .as_str()
                .ok_or_else(|| ApiError::invalid(key, "a string or a list of strings"))?;
            if known.is_some_and(|known| !known(text)) {
                return Err(ApiError::invalid(key, format!("unknown value {text:?}")));
            }
        }
        query.filter.all.push(Condition::equals(key, value));
    }
    fields.finish()?;
    Ok(ListRequest { domain_id, query })
}

/// `UsersInfo`.
pub fn users_info(results: Vec<Value>, total_count: u64) -> Value {
    json!({"results": results, "total_count": total_count})
}

/// `UserStatQuery`.
pub struct StatRequest {
    pub domain_id: String,
    pub query: StatQuery,
}

pub fn parse_stat(body: &[u8], token_domain: &str) -> ApiResult<StatRequest> {
    let mut fields = Fields::from_body(body, Empty::IsMissing)?;
    let query = fields
        .object("query")?
        .ok_or_else(|| ApiError::RequiredParameter("query".into()))?;
    let domain_id = domain_id(&mut fields, token_domain)?;
    fields.finish()?;
    let query = query::parse_stat_query(query)?;
    Ok(StatRequest { domain_id, query })
}

/// A user as the documents list and stat filter: the full `UserInfo`.
pub fn document(user: &User) -> Value {
    user_info(user, None)
}

/// `FindUserQuery`: `search` with a `user_id` or a `keyword`.
pub struct FindRequest {
    pub domain_id: String,
    pub search: DirectorySearch,
}

pub fn parse_find(body: &[u8], token_domain: &str) -> ApiResult<FindRequest> {
    let mut fields = Fields::from_body(body, Empty::IsMissing)?;
    let mut search = fields.required_nested("search", Empty::IsMissing)?;
    let user_id = search.string("user_id")?;
    let keyword = search.string("keyword")?;
    search.finish()?;
    let domain_id = domain_id(&mut fields, token_domain)?;
    fields.finish()?;
    if user_id.is_none() && keyword.is_none() {
        return Err(ApiError::RequiredParameter("search.keyword".into()));
    }
    for (key, value) in [("search.user_id", &user_id), ("search.keyword", &keyword)] {
        if let Some(value) = value {
            validate::max_chars(key, value, NAME_MAX)?;
            validate::no_control_characters(key, value)?;
        }
    }
    Ok(FindRequest {
        domain_id,
        search: DirectorySearch { user_id, keyword },
    })
}

/// `FindUsersInfo`: each user as `FindUserInfo` (`user_id`, `name`, `email`, `tags`).
pub fn find_users_info(users: &[DirectoryUser], total_count: u64) -> Value {
    let results: Vec<Value> = users
        .iter()
        .map(|u| {
            json!({
                "user_id": u.user_id,
                "name": u.name.as_deref().unwrap_or_default(),
                "email": u.email.as_deref().unwrap_or_default(),
                "tags": u.tags,
            })
        })
        .collect();
    json!({"results": results, "total_count": total_count})
}

/// The JSON rendering of the protobuf `Empty` message the vendor answers.
pub fn empty_message() -> Value {
    Value::Object(Map::new())
}

/// The fields of `UserInfo`, in the order the seed lists them.
pub const USER_INFO_FIELDS: [&str; 14] = [
    "user_id",
    "name",
    "state",
    "email",
    "user_type",
    "backend",
    "language",
    "timezone",
    "required_actions",
    "tags",
    "last_accessed_at",
    "created_at",
    "domain_id",
    "email_verified",
];

/// `GetUserRequest`.
pub struct GetRequest {
    pub domain_id: String,
    pub user_id: String,
    pub only: Option<Vec<String>>,
}

pub fn parse_get(body: &[u8], token_domain: &str) -> ApiResult<GetRequest> {
    let mut fields = Fields::from_body(body, Empty::IsMissing)?;
    let user_id = user_id(&mut fields)?;
    let domain_id = domain_id(&mut fields, token_domain)?;
    let only = fields.string_list("only")?;
    fields.finish()?;
    if let Some(unknown) = only
        .iter()
        .flatten()
        .find(|key| !USER_INFO_FIELDS.contains(&key.as_str()))
    {
        return Err(ApiError::invalid(
            "only",
            format!("{unknown:?} is not a field of UserInfo"),
        ));
    }
    Ok(GetRequest {
        domain_id,
        user_id,
        only,
    })
}

/// A user as this dialect sees it: one pending deletion is gone.
pub fn visible(user: User) -> ApiResult<User> {
    if user.state == UserState::PendingDelete {
        return Err(ApiError::user_not_found(&user.user_id));
    }
    Ok(user)
}

/// `UserInfo`, optionally cut down to the `only` fields.
pub fn user_info(user: &User, only: Option<&[String]>) -> Value {
    let mut info = Map::new();
    let required_actions: Vec<&str> = user
        .required_actions
        .iter()
        .map(|action| match action {
            RequiredAction::UpdatePassword => "UPDATE_PASSWORD",
        })
        .collect();
    info.insert("user_id".into(), json!(user.user_id));
    info.insert(
        "name".into(),
        json!(user.display_name.as_deref().unwrap_or_default()),
    );
    info.insert("state".into(), json!(state_name(user.state)));
    info.insert(
        "email".into(),
        json!(user.email.as_deref().unwrap_or_default()),
    );
    info.insert("user_type".into(), json!(user.user_type.as_str()));
    info.insert("backend".into(), json!(user.backend.as_str()));
    info.insert("language".into(), json!(user.language));
    info.insert("timezone".into(), json!(user.timezone));
    info.insert("required_actions".into(), json!(required_actions));
    info.insert("tags".into(), Value::Object(user.tags.clone()));
    if let Some(at) = user.last_accessed_at {
        info.insert("last_accessed_at".into(), json!(crate::utc_millis(at)));
    }
    info.insert(
        "created_at".into(),
        json!(crate::utc_millis(user.created_at)),
    );
    info.insert("domain_id".into(), json!(user.tenant_id));
    info.insert("email_verified".into(), json!(user.email_verified));
    if let Some(only) = only {
        info.retain(|key, _| only.iter().any(|wanted| wanted == key));
    }
    Value::Object(info)
}
