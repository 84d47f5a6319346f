//! Seed 001: Huawei IAM `PUT /v3.0/OS-USER/users/{user_id}` (an administrator modifies a user),
//! to and from the canonical user.

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::fields::{Empty, Fields};
use crate::iam;
use crate::model::{AccessMode, Backend, RequiredAction, User, UserState, UserType};
use crate::ops;
use crate::patch::UserPatch;
use crate::token::Caller;
use crate::validate::{self, PasswordContext};
use domain::app::App;
use domain::store::UserStore;

pub const NAME_MIN: usize = 5;
pub const NAME_MAX: usize = 32;
pub const EMAIL_MAX: usize = 255;
pub const PHONE_MAX: usize = 32;
pub const XUSER_TYPE_MAX: usize = 64;
pub const XUSER_ID_MAX: usize = 128;
pub const DESCRIPTION_MAX: usize = 255;

/// The `"user"` object of the request; every field optional, absent ones stay as they are.
/// Seed 001's modify: the settings to change, and a new password (hashed by the operation).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModifyRequest {
    pub patch: UserPatch,
    pub password: Option<String>,
}

/// The stricter of the seed's two rules: 5 to 32 letters, digits, spaces, `-` and `_`, not
/// starting with a digit.
pub fn check_name(name: &str) -> ApiResult<()> {
    let length = name.chars().count();
    let allowed = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_'));
    let starts_with_digit = name.chars().next().is_some_and(|c| c.is_ascii_digit());
    if !(NAME_MIN..=NAME_MAX).contains(&length) || !allowed || starts_with_digit {
        return Err(ApiError::invalid(
            "name",
            "5 to 32 letters, digits, spaces, '-' or '_', not starting with a digit",
        ));
    }
    Ok(())
}

fn digits(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
}

pub fn parse_modify(body: &[u8]) -> ApiResult<ModifyRequest> {
    let mut root = Fields::from_body(body, Empty::IsValue)?;
    let mut user = root.required_nested("user", Empty::IsValue)?;
    root.finish()?;
    let name = user.string("name")?;
    if let Some(name) = &name {
        check_name(name)?;
    }
    let password = user.string("password")?;
    let email = match user.string("email")? {
        Some(email) => {
            let email = validate::email("email", &email, EMAIL_MAX)?;
            validate::fits_uniqueness_key("email", &email)?;
            Some(email)
        }
        None => None,
    };
    let phone = match (user.string("areacode")?, user.string("phone")?) {
        (None, None) => None,
        (Some(a), Some(p)) if a.is_empty() && p.is_empty() => Some(None),
        (Some(a), Some(p)) if !a.is_empty() && !p.is_empty() => {
            let areacode = a.strip_prefix('+').unwrap_or(&a);
            if !digits(areacode) || areacode.len() > 8 || !digits(&p) || p.len() > PHONE_MAX {
                return Err(ApiError::invalid(
                    "phone",
                    "digits only, at most 32, with a numeric country code",
                ));
            }
            Some(Some((a, p)))
        }
        _ => {
            return Err(ApiError::invalid(
                "areacode",
                "the country code and the mobile number go together",
            ));
        }
    };
    let enabled = user.boolean("enabled")?;
    let pwd_status = user.boolean("pwd_status")?;
    let external = match (user.string("xuser_type")?, user.string("xuser_id")?) {
        (None, None) => None,
        (Some(t), Some(i)) if t.is_empty() && i.is_empty() => Some(None),
        (Some(t), Some(i)) if !t.is_empty() && !i.is_empty() => {
            validate::max_chars("xuser_type", &t, XUSER_TYPE_MAX)?;
            validate::max_chars("xuser_id", &i, XUSER_ID_MAX)?;
            validate::no_control_characters("xuser_type", &t)?;
            validate::no_control_characters("xuser_id", &i)?;
            Some(Some((t, i)))
        }
        _ => {
            return Err(ApiError::invalid(
                "xuser_type",
                "xuser_type and xuser_id go together",
            ));
        }
    };
    let access_mode = match user.string("access_mode")?.as_deref() {
        None => None,
        Some("default") => Some(AccessMode::Default),
        Some("programmatic") => Some(AccessMode::Programmatic),
        Some("console") => Some(AccessMode::Console),
        Some(other) => {
            return Err(ApiError::invalid(
                "access_mode",
                format!("{other:?} is not default, programmatic or console"),
            ));
        }
    };
    let description = match user.string("description")? {
        Some(text) => Some(validate::display_name(
            "description",
            &text,
            DESCRIPTION_MAX,
        )?),
        None => None,
    };
    user.finish()?;
    let request = ModifyRequest {
        patch: UserPatch {
            login_name: name,
            email: email.map(Some),
            phone: phone.map(|phone| phone.map(|(areacode, number)| (Some(areacode), number))),
            external,
            access_mode,
            // `""` removes the description.
            description: description.map(|text| Some(text).filter(|text| !text.is_empty())),
            require_password_change: pwd_status.map(|required| (required, "pwd_status")),
            enabled,
            ..UserPatch::default()
        },
        password,
    };
    if request == ModifyRequest::default() {
        return Err(ApiError::RequiredParameter("user".into()));
    }
    Ok(request)
}

/// Seed 001: an administrator modifies a user of their own tenant. A new password must meet the
/// policy (1103) and differ from the current one (1108, decided last:
/// `administrator_set_password`); it revokes the user's tokens.
pub async fn modify_iam_user<S: UserStore>(
    app: &App<S>,
    caller: &Caller,
    user_id: &str,
    request: &ModifyRequest,
) -> ApiResult<User> {
    let tenant_id = caller.claims.ten.clone();
    let before = ops::read_managed_user(app, caller, &tenant_id, user_id).await?;
    let mut preview = before.clone();
    request.patch.apply(&mut preview, ops::now())?;
    validate::fits_uniqueness_key("name", &preview.login_name)?;
    let new_hash = match &request.password {
        Some(password) => {
            if before.backend == Backend::External || before.user_type == UserType::ApiUser {
                return Err(ApiError::invalid(
                    "password",
                    "this user does not sign in with a password",
                ));
            }
            let context = PasswordContext {
                login_name: &preview.login_name,
                email: preview.email.as_deref(),
                phone: preview.phone.as_deref(),
            };
            app.config.password_policy.check(password, &context)?;
            Some(ops::administrator_set_password(app, &before, &preview, password).await?)
        }
        None => None,
    };
    ops::write_managed_user(app, &caller.actor(), before, |user, now| {
        request.patch.apply(user, now)?;
        if let Some(hash) = new_hash {
            user.password_hash = Some(hash);
            user.password_changed_at = Some(now);
            user.revoke_tokens();
        }
        Ok(Vec::new())
    })
    .await
    .map(|mut user| {
        user.password_expires_at = app.config.password_expires_at(&user);
        user
    })
}

/// The `{"user": {...}}` of the answer, with `links.self` under the API's base URL.
pub fn user_body(user: &User, base_url: &str) -> Value {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    json!({"user": {
        "id": user.user_id,
        "name": user.login_name,
        "domain_id": user.tenant_id,
        "email": text(&user.email),
        "areacode": text(&user.areacode),
        "phone": text(&user.phone),
        "enabled": user.state == UserState::Enabled,
        "pwd_status": user.required_actions.contains(&RequiredAction::UpdatePassword),
        "xuser_type": text(&user.external_type),
        "xuser_id": text(&user.external_id),
        "access_mode": match user.access_mode {
            AccessMode::Default => "default",
            AccessMode::Programmatic => "programmatic",
            AccessMode::Console => "console",
        },
        "description": text(&user.description),
        "password_expires_at": user.password_expires_at.map(iam::time),
        "links": {"self": format!("{base_url}/v3.0/OS-USER/users/{}", user.user_id)},
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_stricter_rule() {
        for good in ["IAMUser", "ab cd", "a-b_c", "Zed99"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["abcd", "1user", "user@x", &"a".repeat(33), "usér1"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
