//! Seeds 000 and 002: Huawei Workspace desktop-user requests to and from the canonical user.

use crate::error::{ApiError, ApiResult};
use crate::fields::{Empty, Fields};
use crate::model::{ActiveType, Millis};
use crate::ops::UserAction;
use crate::outbox::Channel;
use crate::patch::UserPatch;
use crate::validate;

/// `project_id` and `user_id` of a Workspace path. An id no user can have names no resource.
pub fn path_ids(project_id: String, user_id: String) -> ApiResult<(String, String)> {
    if validate::tenant_id("project_id", &project_id).is_err() {
        return Err(ApiError::NotFound {
            key: "project_id".into(),
            value: project_id,
        });
    }
    if validate::user_id(&user_id).is_err() {
        return Err(ApiError::user_not_found(&user_id));
    }
    Ok((project_id, user_id))
}

/// Seed 000's body: `{"op_type": "LOCK" | "UNLOCK" | "RESET_PWD"}`.
pub fn parse_action(body: &[u8]) -> ApiResult<UserAction> {
    let mut fields = Fields::from_body(body, Empty::IsValue)?;
    let op_type = fields.required_string("op_type")?;
    fields.finish()?;
    match op_type.as_str() {
        "LOCK" => Ok(UserAction::Lock),
        "UNLOCK" => Ok(UserAction::Unlock),
        "RESET_PWD" => Ok(UserAction::ResetPassword),
        other => Err(ApiError::invalid(
            "op_type",
            format!("{other:?} is not LOCK, UNLOCK or RESET_PWD"),
        )),
    }
}

/// `notification_type=email,phone` of the random-password API: the channels to send the password
/// on as well, none when absent.
pub fn parse_notification_types(value: Option<&str>) -> ApiResult<Vec<Channel>> {
    let mut channels = Vec::new();
    for part in value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let channel = match part.to_ascii_lowercase().as_str() {
            "email" => Channel::Email,
            "phone" | "sms" => Channel::Phone,
            _ => {
                return Err(ApiError::invalid(
                    "notification_type",
                    format!("{part:?} is not email or phone"),
                ));
            }
        };
        if !channels.contains(&channel) {
            channels.push(channel);
        }
    }
    Ok(channels)
}

pub const DESCRIPTION_MAX: usize = 255;
pub const USER_INFO_MAP_MAX: usize = 1024;
pub const EMAIL_MAX: usize = 55;
pub const PHONE_MAX: usize = 20;

/// `yyyy-MM-ddTHH:mm:ssZ` or `yyyy-MM-ddTHH:mm:ss.SSSZ`, or `"0"` for never.
pub fn parse_account_expires(value: &str) -> ApiResult<Option<Millis>> {
    if value == "0" {
        return Ok(None);
    }
    ["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%.3fZ"]
        .iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(value, format).ok())
        .map(|time| Some(time.and_utc().timestamp_millis()))
        .ok_or_else(|| ApiError::invalid("account_expires", "\"0\" or yyyy-MM-ddTHH:mm:ssZ"))
}

/// Seed 002's body, every field optional (absent fields stay as they are), as the settings it
/// changes.
pub fn parse_modify(body: &[u8]) -> ApiResult<UserPatch> {
    let mut fields = Fields::from_body(body, Empty::IsValue)?;
    let description = match fields.string("description")? {
        Some(text) if text.is_empty() => {
            return Err(ApiError::invalid("description", "1 to 255 characters"));
        }
        Some(text) => Some(validate::display_name(
            "description",
            &text,
            DESCRIPTION_MAX,
        )?),
        None => None,
    };
    let user_email = match fields.string("user_email")? {
        Some(email) if email.is_empty() => Some(None),
        Some(email) => {
            let email = validate::email("user_email", &email, EMAIL_MAX)?;
            validate::fits_uniqueness_key("user_email", &email)?;
            Some(Some(email))
        }
        None => None,
    };
    let user_phone = match fields.string("user_phone")? {
        Some(phone) if phone.is_empty() => Some(None),
        Some(phone) => {
            let digits = phone.strip_prefix('+').unwrap_or(&phone);
            if phone.len() > PHONE_MAX
                || digits.is_empty()
                || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(ApiError::invalid(
                    "user_phone",
                    "digits, optionally after +, at most 20 characters",
                ));
            }
            Some(Some(phone))
        }
        None => None,
    };
    let active_type = match fields.string("active_type")?.as_deref() {
        None => None,
        Some("USER_ACTIVATE") => Some(ActiveType::UserActivate),
        Some("ADMIN_ACTIVATE") => Some(ActiveType::AdminActivate),
        Some(other) => {
            return Err(ApiError::invalid(
                "active_type",
                format!("{other:?} is not USER_ACTIVATE or ADMIN_ACTIVATE"),
            ));
        }
    };
    let account_expires = fields
        .string("account_expires")?
        .map(|v| parse_account_expires(&v))
        .transpose()?;
    let user_info_map = match fields.string("user_info_map")? {
        Some(text) if text.is_empty() => Some(None),
        Some(text) => Some(Some(validate::display_name(
            "user_info_map",
            &text,
            USER_INFO_MAP_MAX,
        )?)),
        None => None,
    };
    let request = UserPatch {
        user_info_map,
        description: description.map(Some),
        email: user_email,
        phone: user_phone.map(|phone| phone.map(|number| (None, number))),
        active_type,
        account_expires,
        enable_change_password: fields.boolean("enable_change_password")?,
        require_password_change: fields
            .boolean("next_login_change_password")?
            .map(|required| (required, "next_login_change_password")),
        password_never_expired: fields.boolean("password_never_expired")?,
        enabled: fields.boolean("disabled")?.map(|disabled| !disabled),
        ..UserPatch::default()
    };
    fields.finish()?;
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_types_and_notification_types_parse() {
        assert_eq!(
            parse_action(br#"{"op_type": "LOCK"}"#).unwrap(),
            UserAction::Lock
        );
        assert_eq!(
            parse_action(br#"{"op_type": "RESET_PWD"}"#).unwrap(),
            UserAction::ResetPassword
        );
        assert!(matches!(
            parse_action(br#"{"op_type": "lock"}"#),
            Err(ApiError::InvalidParameter { .. })
        ));
        assert!(matches!(
            parse_action(b"{}"),
            Err(ApiError::RequiredParameter(_))
        ));
        assert_eq!(
            parse_notification_types(Some("email, phone,email")).unwrap(),
            vec![Channel::Email, Channel::Phone]
        );
        assert_eq!(parse_notification_types(None).unwrap(), vec![]);
        assert!(parse_notification_types(Some("fax")).is_err());
    }

    #[test]
    fn account_expiry_takes_never_and_both_time_forms() {
        assert_eq!(parse_account_expires("0").unwrap(), None);
        assert_eq!(
            parse_account_expires("2020-06-26T08:53:50Z").unwrap(),
            Some(1_593_161_630_000)
        );
        assert_eq!(
            parse_account_expires("2020-06-26T08:53:50.079Z").unwrap(),
            Some(1_593_161_630_079)
        );
        for bad in [
            "",
            "never",
            "2020-06-26",
            "2020-06-26T08:53:50+01:00",
            "1593161630",
        ] {
            assert!(parse_account_expires(bad).is_err(), "{bad:?}");
        }
    }
}
