//! A change of a user's settings in canonical terms: what every dialect's modify request becomes
//! (Huawei IAM's modify, Huawei Workspace's modify, SpaceONE's `update`), applied by one piece of
//! code.

use serde_json::{Map, Value};

use crate::error::ApiResult;
use crate::model::{AccessMode, ActiveType, DisabledBy, Millis, User};

/// `None` leaves a setting as it is; `Some(None)` removes an optional one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserPatch {
    pub login_name: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<Option<String>>,
    /// A mobile number with its country code if the request gives one. A new number without one
    /// drops the old country code; the same number keeps it.
    pub phone: Option<Option<(Option<String>, String)>>,
    /// The external identity: its type and id.
    pub external: Option<Option<(String, String)>>,
    pub description: Option<Option<String>>,
    pub access_mode: Option<AccessMode>,
    pub active_type: Option<ActiveType>,
    pub user_info_map: Option<Option<String>>,
    pub language: Option<String>,
    pub timezone: Option<String>,
    pub tags: Option<Map<String, Value>>,
    /// `Some(None)`: never expires.
    pub account_expires: Option<Option<Millis>>,
    pub enable_change_password: Option<bool>,
    pub password_never_expired: Option<bool>,
    /// UPDATE_PASSWORD set or cleared, with the request field that asked for it (named when the
    /// user cannot have it).
    pub require_password_change: Option<(bool, &'static str)>,
    pub enabled: Option<bool>,
}

impl UserPatch {
    /// Applies every setting given, in one order for every dialect: the plain settings, then the
    /// required action (which a user without a password of their own refuses), then the state.
    pub fn apply(&self, user: &mut User, now: Millis) -> ApiResult<()> {
        if let Some(name) = &self.login_name {
            user.login_name = name.clone();
        }
        if let Some(name) = &self.display_name {
            user.display_name = Some(name.clone());
        }
        if let Some(email) = &self.email {
            user.set_email(email.clone());
        }
        match &self.phone {
            None => {}
            Some(None) => (user.areacode, user.phone) = (None, None),
            Some(Some((areacode, number))) => {
                if user.phone.as_deref() != Some(number.as_str()) {
                    (user.areacode, user.phone) = (areacode.clone(), Some(number.clone()));
                } else if areacode.is_some() {
                    user.areacode = areacode.clone();
                }
            }
        }
        if let Some(external) = &self.external {
            (user.external_type, user.external_id) = match external {
                Some((kind, id)) => (Some(kind.clone()), Some(id.clone())),
                None => (None, None),
            };
        }
        if let Some(description) = &self.description {
            user.description = description.clone();
        }
        if let Some(mode) = self.access_mode {
            user.access_mode = mode;
        }
        if let Some(active_type) = self.active_type {
            user.active_type = active_type;
        }
        if let Some(user_info_map) = &self.user_info_map {
            user.user_info_map = user_info_map.clone();
        }
        if let Some(language) = &self.language {
            user.language = language.clone();
        }
        if let Some(timezone) = &self.timezone {
            user.timezone = timezone.clone();
        }
        if let Some(tags) = &self.tags {
            user.tags = tags.clone();
        }
        if let Some(expires) = self.account_expires {
            // An account that expires now loses its tokens, so lifting the expiry later revives none.
            if expires.is_some_and(|at| at <= now) && !user.is_account_expired(now) {
                user.revoke_tokens();
            }
            user.account_expires = expires;
        }
        if let Some(enabled) = self.enable_change_password {
            user.enable_change_password = enabled;
        }
        if let Some(never) = self.password_never_expired {
            user.password_never_expired = never;
        }
        if let Some((required, key)) = self.require_password_change {
            user.require_password_change(key, required)?;
        }
        match self.enabled {
            Some(false) => user.disable(DisabledBy::Admin),
            Some(true) => user.enable()?,
            None => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ApiError;
    use crate::model::{Backend, RequiredAction, UserState, UserType};

    const NOW: Millis = 1_750_000_000_000;

    fn user() -> User {
        let mut user = User::new("t1", "alice", UserType::User, Backend::Local, NOW - 1000);
        (user.areacode, user.phone) = (Some("86".into()), Some("12345678".into()));
        user
    }

    #[test]
    fn an_empty_patch_changes_nothing() {
        let before = user();
        let mut changed = before.clone();
        UserPatch::default().apply(&mut changed, NOW).unwrap();
        assert_eq!(changed, before);
    }

    #[test]
    fn a_new_number_without_a_country_code_drops_the_old_code_and_the_same_number_keeps_it() {
        let mut same = user();
        let patch = UserPatch {
            phone: Some(Some((None, "12345678".into()))),
            ..UserPatch::default()
        };
        patch.apply(&mut same, NOW).unwrap();
        assert_eq!(same.areacode.as_deref(), Some("86"));
        let mut other = user();
        let patch = UserPatch {
            phone: Some(Some((None, "87654321".into()))),
            ..UserPatch::default()
        };
        patch.apply(&mut other, NOW).unwrap();
        assert_eq!(
            (other.areacode, other.phone.as_deref()),
            (None, Some("87654321"))
        );
        let mut removed = user();
        let patch = UserPatch {
            phone: Some(None),
            ..UserPatch::default()
        };
        patch.apply(&mut removed, NOW).unwrap();
        assert_eq!((removed.areacode, removed.phone), (None, None));
    }

    #[test]
    fn an_expiry_already_past_revokes_the_tokens_once() {
        let mut user = user();
        let tokens = user.token_version;
        let patch = UserPatch {
            account_expires: Some(Some(NOW - 1)),
            ..UserPatch::default()
        };
        patch.apply(&mut user, NOW).unwrap();
        assert_eq!(user.token_version, tokens + 1);
        patch.apply(&mut user, NOW).unwrap();
        assert_eq!(
            user.token_version,
            tokens + 1,
            "already expired: nothing more to revoke"
        );
    }

    #[test]
    fn the_required_action_names_the_dialects_field_and_comes_before_the_state() {
        let mut api_user = User::new("t1", "bot", UserType::ApiUser, Backend::Local, NOW);
        let patch = UserPatch {
            require_password_change: Some((true, "pwd_status")),
            enabled: Some(false),
            ..UserPatch::default()
        };
        let refused = patch.apply(&mut api_user, NOW);
        assert!(
            matches!(refused, Err(ApiError::InvalidParameter { key, .. }) if key == "pwd_status")
        );
        let mut local = user();
        patch.apply(&mut local, NOW).unwrap();
        assert!(
            local
                .required_actions
                .contains(&RequiredAction::UpdatePassword)
        );
        assert_eq!(local.state, UserState::Disabled);
    }
}
