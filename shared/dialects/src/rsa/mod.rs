//! Seed 003: RSA SecurID Cloud Administration's userStatus, its User Details lookup, and the audit
//! trail of status changes, over the canonical user.

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, UniqueField};
use crate::fields::{Empty, Fields};
use crate::model::{AuditRecord, Backend, User, UserState};
use crate::validate;

/// The two statuses an administrator can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Enabled,
    Disabled,
}

/// `{"userStatus": "Enabled" | "Disabled"}`: anything else, or nothing, is a 400.
pub fn parse_user_status(body: &[u8]) -> ApiResult<Status> {
    let mut fields = Fields::from_body(body, Empty::IsValue)?;
    let status = fields.required_string("userStatus")?;
    fields.finish()?;
    match status.as_str() {
        "Enabled" => Ok(Status::Enabled),
        "Disabled" => Ok(Status::Disabled),
        other => Err(ApiError::invalid(
            "userStatus",
            format!("{other:?} is neither Enabled nor Disabled"),
        )),
    }
}

/// A path's user id: blank, empty or one no user can have is simply not found (the seed's 404).
pub fn path_user_id(raw: &str) -> ApiResult<String> {
    // Untrimmed: a padded id names no user rather than the one it pads.
    let user_id = raw;
    if validate::user_id(user_id).is_err() {
        return Err(ApiError::user_not_found(user_id));
    }
    Ok(user_id.to_owned())
}

/// RSA's name for a state. An external user not yet confirmed by its directory is not disabled:
/// it is `Enabled` here (RSA has no such state).
pub fn status_name(state: UserState) -> &'static str {
    match state {
        UserState::Enabled | UserState::Pending => "Enabled",
        UserState::Disabled => "Disabled",
        UserState::PendingDelete => "Pending Deletion",
    }
}

pub fn user_status(user: &User) -> Value {
    json!({"id": user.user_id, "userStatus": status_name(user.state)})
}

/// What the lookup searches by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupKey {
    pub field: UniqueField,
    pub value: String,
}

/// `{"email": ...}` or `{"username": ...}`, exactly one.
pub fn parse_lookup(body: &[u8]) -> ApiResult<LookupKey> {
    let mut fields = Fields::from_body(body, Empty::IsMissing)?;
    let email = fields.string("email")?;
    let username = fields.string("username")?;
    fields.finish()?;
    match (email, username) {
        (Some(value), None) => Ok(LookupKey {
            field: UniqueField::Email,
            value,
        }),
        (None, Some(value)) => Ok(LookupKey {
            field: UniqueField::LoginName,
            value,
        }),
        (None, None) => Err(ApiError::RequiredParameter("email".into())),
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "username",
            "give either email or username, not both",
        )),
    }
}

/// The canonical display name split for RSA: the last word is the last name, the words before it
/// the first name; a one-word name is a first name only.
pub fn split_name(display_name: Option<&str>) -> (String, String) {
    let name = display_name.unwrap_or_default().trim();
    match name.rsplit_once(char::is_whitespace) {
        Some((first, last)) => (first.trim_end().to_owned(), last.to_owned()),
        None => (name.to_owned(), String::new()),
    }
}

/// The User Details answer.
pub fn user_details(user: &User) -> Value {
    let (first, last) = split_name(user.display_name.as_deref());
    json!({
        "id": user.user_id,
        "userName": user.login_name,
        "emailAddress": user.email.as_deref().unwrap_or_default(),
        "firstName": first,
        "lastName": last,
        "creationDate": crate::utc_millis(user.created_at),
        "identitySource": match user.backend {
            Backend::Local => "Internal Database",
            Backend::External => "External Directory",
        },
        "userStatus": status_name(user.state),
        "markDeleted": user.state == UserState::PendingDelete,
        "markDeletedAt": user.deleted_at.map(crate::utc_millis),
    })
}

/// The audit trail answer, oldest change first.
pub fn audit_trail(user_id: &str, records: &[AuditRecord]) -> Value {
    let changes: Vec<Value> = records
        .iter()
        .map(|r| {
            json!({
                "time": crate::utc_millis(r.at),
                "actor": r.actor,
                "endpoint": r.endpoint,
                "fromStatus": status_name(r.from_state),
                "toStatus": status_name(r.to_state),
                "fromState": r.from_state.as_str(),
                "toState": r.to_state.as_str(),
            })
        })
        .collect();
    json!({"id": user_id, "changes": changes})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_at_the_last_word() {
        assert_eq!(
            split_name(Some("Dong Yoo kang")),
            ("Dong Yoo".into(), "kang".into())
        );
        assert_eq!(split_name(Some("Cher")), ("Cher".into(), String::new()));
        assert_eq!(split_name(None), (String::new(), String::new()));
    }

    #[test]
    fn status_bodies_take_exactly_enabled_or_disabled() {
        assert_eq!(
            parse_user_status(br#"{"userStatus": "Enabled"}"#).unwrap(),
            Status::Enabled
        );
        for bad in [
            r#"{}"#,
            r#"{"userStatus": ""}"#,
            r#"{"userStatus": "enabled"}"#,
            r#"{"userStatus": true}"#,
            r#"{"userStatus": "Enabled", "x": 1}"#,
        ] {
            assert_eq!(
                parse_user_status(bad.as_bytes()).unwrap_err().status(),
                400,
                "{bad}"
            );
        }
    }
}
