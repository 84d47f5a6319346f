//! A user as stored: the item's attributes, its defaults for items written by earlier versions, and
//! what is left out when empty. The domain's `User` knows nothing of it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{
    AccessMode, ActiveType, Backend, DisabledBy, EmailVerification, LockReason, Millis,
    PasswordLink, RequiredAction, Role, User, UserState, UserType, WrongCodes,
};

fn default_true() -> bool {
    true
}

#[derive(Serialize, Deserialize)]
pub(crate) struct StoredUser {
    pub tenant_id: String,
    pub user_id: String,
    pub login_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verification: Option<EmailVerification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_link: Option<PasswordLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrong_codes: Option<WrongCodes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub areacode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub state: UserState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_by: Option<DisabledBy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_from: Option<UserState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<LockReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<Millis>,
    #[serde(default)]
    pub failed_logins: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_window_start: Option<Millis>,
    #[serde(default)]
    pub required_actions: BTreeSet<RequiredAction>,
    #[serde(default = "default_true")]
    pub enable_change_password: bool,
    #[serde(default)]
    pub password_never_expired: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_expires_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_expires: Option<Millis>,
    #[serde(default)]
    pub active_type: ActiveType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_info_map: Option<String>,
    pub user_type: UserType,
    pub backend: Backend,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub access_mode: AccessMode,
    pub language: String,
    pub timezone: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub tags: Map<String, Value>,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_changed_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_accessed_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
    pub version: u64,
    pub token_version: u64,
}

impl From<&User> for StoredUser {
    fn from(user: &User) -> StoredUser {
        StoredUser {
            tenant_id: user.tenant_id.clone(),
            user_id: user.user_id.clone(),
            login_name: user.login_name.clone(),
            display_name: user.display_name.clone(),
            email: user.email.clone(),
            email_verified: user.email_verified,
            email_verification: user.email_verification.clone(),
            password_link: user.password_link.clone(),
            wrong_codes: user.wrong_codes,
            areacode: user.areacode.clone(),
            phone: user.phone.clone(),
            state: user.state,
            disabled_by: user.disabled_by,
            disabled_from: user.disabled_from,
            lock: user.lock,
            locked_until: user.locked_until,
            failed_logins: user.failed_logins,
            failed_window_start: user.failed_window_start,
            required_actions: user.required_actions.clone(),
            enable_change_password: user.enable_change_password,
            password_never_expired: user.password_never_expired,
            password_expires_at: user.password_expires_at,
            account_expires: user.account_expires,
            active_type: user.active_type,
            user_info_map: user.user_info_map.clone(),
            user_type: user.user_type,
            backend: user.backend,
            external_type: user.external_type.clone(),
            external_id: user.external_id.clone(),
            description: user.description.clone(),
            access_mode: user.access_mode,
            language: user.language.clone(),
            timezone: user.timezone.clone(),
            tags: user.tags.clone(),
            role: user.role,
            password_hash: user.password_hash.clone(),
            password_changed_at: user.password_changed_at,
            created_at: user.created_at,
            updated_at: user.updated_at,
            last_accessed_at: user.last_accessed_at,
            deleted_at: user.deleted_at,
            managed_by: user.managed_by.clone(),
            version: user.version,
            token_version: user.token_version,
        }
    }
}

impl From<StoredUser> for User {
    fn from(stored: StoredUser) -> User {
        User {
            tenant_id: stored.tenant_id,
            user_id: stored.user_id,
            login_name: stored.login_name,
            display_name: stored.display_name,
            email: stored.email,
            email_verified: stored.email_verified,
            email_verification: stored.email_verification,
            password_link: stored.password_link,
            wrong_codes: stored.wrong_codes,
            areacode: stored.areacode,
            phone: stored.phone,
            state: stored.state,
            disabled_by: stored.disabled_by,
            disabled_from: stored.disabled_from,
            lock: stored.lock,
            locked_until: stored.locked_until,
            failed_logins: stored.failed_logins,
            failed_window_start: stored.failed_window_start,
            required_actions: stored.required_actions,
            enable_change_password: stored.enable_change_password,
            password_never_expired: stored.password_never_expired,
            password_expires_at: stored.password_expires_at,
            account_expires: stored.account_expires,
            active_type: stored.active_type,
            user_info_map: stored.user_info_map,
            user_type: stored.user_type,
            backend: stored.backend,
            external_type: stored.external_type,
            external_id: stored.external_id,
            description: stored.description,
            access_mode: stored.access_mode,
            language: stored.language,
            timezone: stored.timezone,
            tags: stored.tags,
            role: stored.role,
            password_hash: stored.password_hash,
            password_changed_at: stored.password_changed_at,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
            last_accessed_at: stored.last_accessed_at,
            deleted_at: stored.deleted_at,
            managed_by: stored.managed_by,
            version: stored.version,
            token_version: stored.token_version,
        }
    }
}
