//! Seeds 000 and 002: Huawei Workspace desktop-user requests to and from the canonical user.

use crate::error::{ApiError, ApiResult};
use crate::http::{Empty, Fields};
use crate::ops::UserAction;
use crate::outbox::Channel;
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
}
