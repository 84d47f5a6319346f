//! The one canonical user every dialect translates to and from (docs/design.md).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserState {
    Enabled,
    Disabled,
    /// An external user not confirmed yet.
    Pending,
    /// Deleted, kept until housekeeping purges it.
    PendingDelete,
}

impl UserState {
    pub const ALL: [UserState; 4] = [
        UserState::Enabled,
        UserState::Disabled,
        UserState::Pending,
        UserState::PendingDelete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UserState::Enabled => "ENABLED",
            UserState::Disabled => "DISABLED",
            UserState::Pending => "PENDING",
            UserState::PendingDelete => "PENDING_DELETE",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DisabledBy {
    Admin,
    Sync,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LockReason {
    /// Locked by an administrator (seed 000 LOCK) until unlocked.
    Admin,
    /// Locked by the login policy until `locked_until`.
    TooManyFailures,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserType {
    User,
    ApiUser,
}

impl UserType {
    pub fn as_str(self) -> &'static str {
        match self {
            UserType::User => "USER",
            UserType::ApiUser => "API_USER",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Backend {
    Local,
    External,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Local => "LOCAL",
            Backend::External => "EXTERNAL",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequiredAction {
    UpdatePassword,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::Member => "MEMBER",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActiveType {
    #[default]
    UserActivate,
    AdminActivate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AccessMode {
    #[default]
    Default,
    Programmatic,
    Console,
}

/// Everything of a user that decides whether their token is live and may manage
/// (`ops::ensure_may_manage`), and nothing else: the checks read only this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthView {
    pub token_version: u64,
    pub role: Role,
    pub state: UserState,
    pub locked_by_admin: bool,
    pub account_expires: Option<Millis>,
    pub password_changed_at: Option<Millis>,
    pub password_never_expired: bool,
    pub access_mode: AccessMode,
    pub must_update_password: bool,
}

impl AuthView {
    pub fn of(user: &User) -> AuthView {
        AuthView {
            token_version: user.token_version,
            role: user.role,
            state: user.state,
            locked_by_admin: user.lock == Some(LockReason::Admin),
            account_expires: user.account_expires,
            password_changed_at: user.password_changed_at,
            password_never_expired: user.password_never_expired,
            access_mode: user.access_mode,
            must_update_password: user
                .required_actions
                .contains(&RequiredAction::UpdatePassword),
        }
    }

    /// Whether the user may hold a token at all: enabled, not locked by an administrator, not
    /// expired. A lockout from failed logins stops new logins but leaves existing tokens alone, as
    /// Keycloak's temporary lockout does: the attacker guessing the password holds no token.
    pub fn may_use_tokens(&self, now: Millis) -> bool {
        self.state == UserState::Enabled
            && !self.locked_by_admin
            && self.account_expires.is_none_or(|expires| expires > now)
    }
}

/// A user of one tenant, in every dialect's terms at once.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub tenant_id: String,
    /// Unique in the tenant; every dialect's path id.
    pub user_id: String,
    /// Unique in the tenant (Huawei `name`, RSA `username`); defaults to `user_id`.
    pub login_name: String,
    /// Not unique (SpaceONE `name`).
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    /// The code sent by the last `verify_email`, while it may still be confirmed.
    pub email_verification: Option<EmailVerification>,
    /// The forgotten-password link last mailed (SpaceONE's anonymous `reset_password`), while it
    /// may still be used: only a keyed digest of its token.
    pub password_link: Option<PasswordLink>,
    /// Wrong verification codes in the current window, across every code sent in it: a new code
    /// does not start the count again.
    pub wrong_codes: Option<WrongCodes>,
    pub areacode: Option<String>,
    pub phone: Option<String>,
    pub state: UserState,
    pub disabled_by: Option<DisabledBy>,
    /// The state a disable interrupted, which an enable restores: an unconfirmed (PENDING) external
    /// user stays unconfirmed across a disable and an enable.
    pub disabled_from: Option<UserState>,
    pub lock: Option<LockReason>,
    pub locked_until: Option<Millis>,
    pub failed_logins: u32,
    pub failed_window_start: Option<Millis>,
    pub required_actions: BTreeSet<RequiredAction>,
    pub enable_change_password: bool,
    pub password_never_expired: bool,
    /// Derived from `password_changed_at` and the policy's maximum age when a user is answered
    /// (`Config::password_expires_at`); not kept up to date in the store.
    pub password_expires_at: Option<Millis>,
    /// `None` means the account never expires.
    pub account_expires: Option<Millis>,
    pub active_type: ActiveType,
    /// Huawei Workspace's `user_info_map`: kept as given, never interpreted.
    pub user_info_map: Option<String>,
    pub user_type: UserType,
    pub backend: Backend,
    /// Seed 001 `xuser_type` / `xuser_id`: set together or not at all.
    pub external_type: Option<String>,
    pub external_id: Option<String>,
    pub description: Option<String>,
    pub access_mode: AccessMode,
    pub language: String,
    pub timezone: String,
    /// Not stored when empty: DynamoDB Local's stream renders an empty map as `{}`, which no
    /// stream reader can parse.
    pub tags: Map<String, Value>,
    pub role: Role,
    /// An argon2id PHC string; `None` for users that cannot log in with a password.
    pub password_hash: Option<String>,
    pub password_changed_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Set by login only.
    pub last_accessed_at: Option<Millis>,
    pub deleted_at: Option<Millis>,
    /// The CloudFormation resource (`<stack id>|<logical id>`) that declares the user: only that
    /// resource's deletion deletes it.
    pub managed_by: Option<String>,
    /// Bumped by every change; writes are conditional on it.
    pub version: u64,
    /// Bumped whenever existing tokens must stop working (lock, disable, delete, new password).
    pub token_version: u64,
}

impl User {
    /// A new user with the defaults every dialect shares.
    pub fn new(
        tenant_id: &str,
        user_id: &str,
        user_type: UserType,
        backend: Backend,
        now: Millis,
    ) -> User {
        User {
            tenant_id: tenant_id.to_owned(),
            user_id: user_id.to_owned(),
            login_name: user_id.to_owned(),
            display_name: None,
            email: None,
            email_verified: false,
            email_verification: None,
            wrong_codes: None,
            password_link: None,
            areacode: None,
            phone: None,
            state: UserState::Enabled,
            disabled_by: None,
            disabled_from: None,
            lock: None,
            locked_until: None,
            failed_logins: 0,
            failed_window_start: None,
            required_actions: BTreeSet::new(),
            enable_change_password: true,
            password_never_expired: false,
            password_expires_at: None,
            account_expires: None,
            active_type: ActiveType::UserActivate,
            user_info_map: None,
            user_type,
            backend,
            external_type: None,
            external_id: None,
            description: None,
            access_mode: AccessMode::Default,
            language: "en".into(),
            timezone: "UTC".into(),
            tags: Map::new(),
            role: Role::Member,
            password_hash: None,
            password_changed_at: None,
            created_at: now,
            updated_at: now,
            last_accessed_at: None,
            deleted_at: None,
            managed_by: None,
            version: 1,
            // Random, so that a token of an earlier user with the same id never matches.
            token_version: u64::from(rand::random::<u32>()),
        }
    }

    /// Whether the login policy's lock is in force at `now`.
    pub fn is_locked(&self, now: Millis) -> bool {
        match self.lock {
            Some(LockReason::Admin) => true,
            Some(LockReason::TooManyFailures) => self.locked_until.is_some_and(|until| now < until),
            None => false,
        }
    }

    pub fn is_account_expired(&self, now: Millis) -> bool {
        self.account_expires.is_some_and(|expires| expires <= now)
    }

    /// Whether the user may hold a token at all (`AuthView::may_use_tokens`).
    pub fn may_use_tokens(&self, now: Millis) -> bool {
        AuthView::of(self).may_use_tokens(now)
    }

    /// Whether the user may get a new token by password at `now`.
    pub fn may_log_in(&self, now: Millis) -> bool {
        self.may_use_tokens(now) && !self.is_locked(now) && self.password_hash.is_some()
    }

    /// A new password set by or for the user: UPDATE_PASSWORD is done, earlier tokens stop working.
    pub fn set_password(&mut self, hash: String, now: Millis) {
        self.password_hash = Some(hash);
        self.password_changed_at = Some(now);
        self.required_actions
            .remove(&RequiredAction::UpdatePassword);
        self.revoke_tokens();
    }

    /// Forgets the failed logins counted so far.
    pub fn forget_failed_logins(&mut self) {
        self.failed_logins = 0;
        self.failed_window_start = None;
    }

    /// Forgets the failed logins and lifts a lockout from them; an administrator's lock stays.
    pub fn lift_lockout(&mut self) {
        self.forget_failed_logins();
        if self.lock == Some(LockReason::TooManyFailures) {
            self.lock = None;
            self.locked_until = None;
        }
    }

    /// Lifts every lock: an administrator's and a lockout from failed logins (Workspace UNLOCK).
    pub fn unlock(&mut self) {
        self.lift_lockout();
        self.lock = None;
        self.locked_until = None;
    }

    /// Disables the user (tokens revoked); disabling a disabled user changes nothing.
    /// A directory's disable also marks a user already disabled by an administrator, so that only
    /// the directory lifts it.
    pub fn disable(&mut self, by: DisabledBy) {
        if self.state == UserState::Disabled && by == DisabledBy::Sync {
            self.disabled_by = Some(DisabledBy::Sync);
        }
        if self.state != UserState::Disabled {
            self.disabled_from = Some(self.state).filter(|s| *s == UserState::Pending);
            self.state = UserState::Disabled;
            self.disabled_by = Some(by);
            self.revoke_tokens();
        }
    }

    /// Enables the user. A user pending deletion, or one a directory sync disabled, cannot be
    /// enabled by an administrator (seed 003's 409 rule); enabling an enabled user changes nothing.
    pub fn enable(&mut self) -> crate::ApiResult<()> {
        match (self.state, self.disabled_by) {
            (UserState::PendingDelete, _) => Err(crate::ApiError::StateConflict(
                "the user is pending deletion".into(),
            )),
            (UserState::Disabled, Some(DisabledBy::Sync)) => Err(crate::ApiError::StateConflict(
                "the user was disabled by a directory sync".into(),
            )),
            (UserState::Disabled, _) => {
                self.state = self.disabled_from.take().unwrap_or(UserState::Enabled);
                self.disabled_by = None;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Sets or clears the UPDATE_PASSWORD required action (004 `required_actions`, 001 `pwd_status`,
    /// 002 `next_login_change_password`); users without a password of their own cannot get it.
    pub fn require_password_change(&mut self, key: &str, required: bool) -> crate::ApiResult<()> {
        if required {
            if self.backend == Backend::External || self.user_type == UserType::ApiUser {
                return Err(crate::ApiError::invalid(
                    key,
                    "this user does not sign in with a password",
                ));
            }
            self.required_actions.insert(RequiredAction::UpdatePassword);
        } else {
            self.required_actions
                .remove(&RequiredAction::UpdatePassword);
        }
        Ok(())
    }

    /// Whether the user's settings can take the use of the API from them, now or at any later
    /// instant: disabled or deleted, locked by an administrator, an account expiry set (whenever
    /// it falls), console-only, or barred from changing their own password (an expired password,
    /// under any password policy set now or later, then bars every call for good).
    /// The tenant's first administrator may never have any of them (seed 001 code 1107).
    pub fn can_be_shut_out(&self) -> bool {
        matches!(self.state, UserState::Disabled | UserState::PendingDelete)
            || self.lock == Some(LockReason::Admin)
            || self.account_expires.is_some()
            || self.access_mode == AccessMode::Console
            || !self.enable_change_password
    }

    /// Whether changing `self` into `after` may shut the user out: `after` can be shut out, and a
    /// setting that decides it changed (an expiry moved earlier counts as much as a new one).
    pub fn change_can_shut_out(&self, after: &User) -> bool {
        let settings = |user: &User| {
            (
                user.state,
                user.lock,
                user.account_expires,
                user.access_mode,
                user.enable_change_password,
                user.required_actions
                    .contains(&RequiredAction::UpdatePassword),
            )
        };
        after.can_be_shut_out() && settings(self) != settings(after)
    }

    /// Sets the email address; a different address is no longer verified, and a code sent to the
    /// old one no longer confirms it.
    pub fn set_email(&mut self, email: Option<String>) {
        let same = match (&self.email, &email) {
            (Some(old), Some(new)) => {
                crate::validate::uniqueness_key(old) == crate::validate::uniqueness_key(new)
            }
            (None, None) => true,
            _ => false,
        };
        if !same {
            self.email_verified = false;
            self.email_verification = None;
        }
        self.email = email;
    }

    /// Makes every token issued so far stop working, a mailed password link included (a lock, a
    /// disable, a deletion or a new password ends it too).
    pub fn revoke_tokens(&mut self) {
        self.token_version += 1;
        self.password_link = None;
    }
}

/// The partition of a tenant's users that the lists and counters keep apart: every combination of
/// state, type and backend. Equality filters on those three fields read only the matching facets
/// and count from their counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Facet {
    pub state: UserState,
    pub user_type: UserType,
    pub backend: Backend,
}

impl Facet {
    pub fn of(user: &User) -> Facet {
        Facet {
            state: user.state,
            user_type: user.user_type,
            backend: user.backend,
        }
    }

    /// `ENABLED#USER#LOCAL`.
    pub fn key(self) -> String {
        format!(
            "{}#{}#{}",
            self.state.as_str(),
            self.user_type.as_str(),
            self.backend.as_str()
        )
    }

    /// Every facet of the given states.
    pub fn all_of(states: &[UserState]) -> Vec<Facet> {
        let mut facets = Vec::new();
        for &state in states {
            for user_type in [UserType::User, UserType::ApiUser] {
                for backend in [Backend::Local, Backend::External] {
                    facets.push(Facet {
                        state,
                        user_type,
                        backend,
                    });
                }
            }
        }
        facets
    }
}

/// Who made a change, and through which endpoint (`METHOD /route`); `system` for scheduled work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: String,
    pub endpoint: String,
}

impl Actor {
    /// A change made by the system itself (housekeeping, a directory sync without a caller, tests).
    pub fn system(task: &str) -> Actor {
        Actor {
            user_id: "system".into(),
            endpoint: task.into(),
        }
    }
}

/// One status change of a user, kept in the same transaction as the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub tenant_id: String,
    pub user_id: String,
    pub at: Millis,
    pub actor: String,
    pub endpoint: String,
    pub from_state: UserState,
    pub to_state: UserState,
}

impl AuditRecord {
    /// The record of `before`'s state becoming `after`'s, at `at`, by `actor`.
    pub fn state_change(before: &User, after: &User, at: Millis, actor: &Actor) -> AuditRecord {
        AuditRecord {
            tenant_id: before.tenant_id.clone(),
            user_id: before.user_id.clone(),
            at,
            actor: actor.user_id.clone(),
            endpoint: actor.endpoint.clone(),
            from_state: before.state,
            to_state: after.state,
        }
    }
}

/// A pending email verification: only a keyed digest of the code is kept (outbox::SecretSealer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailVerification {
    pub code_digest: String,
    pub expires_at: Millis,
    /// Wrong codes tried so far; the code stops working at the limit.
    #[serde(default)]
    pub failed_attempts: u32,
}

/// A one-time link that sets a new password (`account::mail_password_link`): the keyed digest of
/// its token (`outbox::SecretSealer::code_digest`), when it was mailed and until when it works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordLink {
    pub token_digest: String,
    pub issued_at: Millis,
    pub expires_at: Millis,
}

/// Wrong verification codes counted since `window_start` (`account::confirm_email`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrongCodes {
    pub count: u32,
    pub window_start: Millis,
}

/// A tenant's own record: its first administrator and its user counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub tenant_id: String,
    /// Seed 001 code 1107: this user can be neither disabled nor deleted.
    pub first_admin: String,
    pub created_at: Millis,
    /// Users that are not pending deletion.
    #[serde(default)]
    pub user_count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ApiError;

    const NOW: Millis = 1_750_000_000_000;

    fn user() -> User {
        let mut user = User::new("t1", "alice", UserType::User, Backend::Local, NOW - 1000);
        user.password_hash = Some("$argon2id$stored".into());
        user
    }

    #[test]
    fn an_administrators_lock_holds_until_lifted_and_a_lockout_until_it_lapses() {
        let mut user = user();
        user.lock = Some(LockReason::Admin);
        assert!(user.is_locked(NOW + 365 * 86_400_000));
        user.lock = Some(LockReason::TooManyFailures);
        user.locked_until = Some(NOW + 60_000);
        assert!(user.is_locked(NOW));
        assert!(!user.is_locked(NOW + 60_000));
    }

    #[test]
    fn a_lockout_stops_logins_but_leaves_tokens_live() {
        let mut user = user();
        user.lock = Some(LockReason::TooManyFailures);
        user.locked_until = Some(NOW + 60_000);
        assert!(!user.may_log_in(NOW));
        assert!(user.may_use_tokens(NOW));
        user.lock = Some(LockReason::Admin);
        assert!(!user.may_use_tokens(NOW));
    }

    #[test]
    fn lifting_a_lockout_leaves_an_administrators_lock_and_unlocking_lifts_both() {
        let mut locked_out = user();
        locked_out.lock = Some(LockReason::TooManyFailures);
        locked_out.locked_until = Some(NOW + 60_000);
        locked_out.failed_logins = 2;
        locked_out.failed_window_start = Some(NOW);
        locked_out.lift_lockout();
        assert!(!locked_out.is_locked(NOW));
        assert_eq!(
            (locked_out.failed_logins, locked_out.failed_window_start),
            (0, None)
        );

        let mut by_admin = user();
        by_admin.lock = Some(LockReason::Admin);
        by_admin.failed_logins = 2;
        by_admin.lift_lockout();
        assert!(by_admin.is_locked(NOW));
        assert_eq!(by_admin.failed_logins, 0);
        by_admin.unlock();
        assert!(!by_admin.is_locked(NOW));
        assert_eq!(by_admin.locked_until, None);
    }

    #[test]
    fn nobody_logs_in_without_a_password_disabled_or_expired() {
        assert!(user().may_log_in(NOW));
        let mut no_password = user();
        no_password.password_hash = None;
        assert!(!no_password.may_log_in(NOW));
        let mut disabled = user();
        disabled.disable(DisabledBy::Admin);
        assert!(!disabled.may_log_in(NOW));
        let mut expiring = user();
        expiring.account_expires = Some(NOW);
        assert!(expiring.is_account_expired(NOW));
        assert!(!expiring.may_log_in(NOW));
        assert!(expiring.may_log_in(NOW - 1));
    }

    #[test]
    fn disabling_revokes_tokens_once_and_enabling_restores_a_pending_user() {
        let mut user = user();
        user.state = UserState::Pending;
        let tokens = user.token_version;
        user.disable(DisabledBy::Admin);
        assert_eq!(user.state, UserState::Disabled);
        assert_eq!(user.token_version, tokens + 1);
        user.disable(DisabledBy::Admin);
        assert_eq!(
            user.token_version,
            tokens + 1,
            "a second disable changes nothing"
        );
        user.enable().unwrap();
        assert_eq!(user.state, UserState::Pending);
        assert_eq!(user.disabled_by, None);
    }

    #[test]
    fn only_the_directory_enables_a_user_it_disabled() {
        let mut user = user();
        user.disable(DisabledBy::Admin);
        user.disable(DisabledBy::Sync);
        assert_eq!(user.disabled_by, Some(DisabledBy::Sync));
        assert!(matches!(user.enable(), Err(ApiError::StateConflict(_))));
        assert_eq!(user.state, UserState::Disabled);
    }

    #[test]
    fn a_user_pending_deletion_cannot_be_enabled() {
        let mut user = user();
        user.state = UserState::PendingDelete;
        assert!(matches!(user.enable(), Err(ApiError::StateConflict(_))));
        assert_eq!(user.state, UserState::PendingDelete);
    }

    #[test]
    fn a_new_password_completes_update_password_and_ends_tokens_and_links() {
        let mut user = user();
        user.required_actions.insert(RequiredAction::UpdatePassword);
        user.password_link = Some(PasswordLink {
            token_digest: "digest".into(),
            issued_at: NOW - 10,
            expires_at: NOW + 10,
        });
        let tokens = user.token_version;
        user.set_password("$argon2id$new".into(), NOW);
        assert!(user.required_actions.is_empty());
        assert_eq!(user.password_changed_at, Some(NOW));
        assert_eq!(user.token_version, tokens + 1);
        assert_eq!(user.password_link, None);
    }

    #[test]
    fn users_without_a_password_of_their_own_cannot_be_made_to_change_it() {
        for (user_type, backend) in [
            (UserType::ApiUser, Backend::Local),
            (UserType::User, Backend::External),
        ] {
            let mut user = User::new("t1", "bot", user_type, backend, NOW);
            let refused = user.require_password_change("required_actions", true);
            assert!(
                matches!(refused, Err(ApiError::InvalidParameter { ref key, .. }) if key == "required_actions")
            );
            assert!(user.required_actions.is_empty());
            user.require_password_change("required_actions", false)
                .unwrap();
        }
        let mut local = user();
        local.require_password_change("pwd_status", true).unwrap();
        assert!(
            local
                .required_actions
                .contains(&RequiredAction::UpdatePassword)
        );
    }

    #[test]
    fn every_setting_that_can_take_the_api_away_is_recognised() {
        assert!(!user().can_be_shut_out());
        let settings: [fn(&mut User); 6] = [
            |u| u.state = UserState::Disabled,
            |u| u.state = UserState::PendingDelete,
            |u| u.lock = Some(LockReason::Admin),
            // An expiry far away still falls one day.
            |u| u.account_expires = Some(NOW + 100 * 365 * 86_400_000),
            |u| u.access_mode = AccessMode::Console,
            |u| u.enable_change_password = false,
        ];
        for (i, set) in settings.iter().enumerate() {
            let mut user = user();
            set(&mut user);
            assert!(user.can_be_shut_out(), "setting {i}");
        }
        let mut locked_out = user();
        locked_out.lock = Some(LockReason::TooManyFailures);
        locked_out.locked_until = Some(NOW + 1);
        assert!(!locked_out.can_be_shut_out(), "a lockout lapses by itself");
    }

    #[test]
    fn a_change_can_shut_out_only_when_it_moves_a_deciding_setting() {
        let before = user();
        let mut renamed = before.clone();
        renamed.display_name = Some("Alice".into());
        assert!(!before.change_can_shut_out(&renamed));

        let mut expiring = before.clone();
        expiring.account_expires = Some(NOW + 86_400_000);
        assert!(before.change_can_shut_out(&expiring));
        let mut sooner = expiring.clone();
        sooner.account_expires = Some(NOW + 6_000);
        assert!(expiring.change_can_shut_out(&sooner));
        let mut described = expiring.clone();
        described.description = Some("contractor".into());
        assert!(
            !expiring.change_can_shut_out(&described),
            "unchanged settings"
        );
        let mut restored = expiring.clone();
        restored.account_expires = None;
        assert!(!expiring.change_can_shut_out(&restored));
    }

    #[test]
    fn a_different_email_address_is_unverified_and_voids_its_code() {
        let mut user = user();
        user.email = Some("alice@example.com".into());
        user.email_verified = true;
        user.set_email(Some("ALICE@Example.com".into()));
        assert!(user.email_verified, "the same address in another case");
        user.email_verification = Some(EmailVerification {
            code_digest: "digest".into(),
            expires_at: NOW + 1,
            failed_attempts: 0,
        });
        user.set_email(Some("alice@example.org".into()));
        assert!(!user.email_verified);
        assert_eq!(user.email_verification, None);
        assert_eq!(user.email.as_deref(), Some("alice@example.org"));
    }

    #[test]
    fn the_auth_view_sees_update_password_and_expiry_as_the_user_does() {
        let mut user = user();
        user.required_actions.insert(RequiredAction::UpdatePassword);
        user.account_expires = Some(NOW + 5);
        let view = AuthView::of(&user);
        assert!(view.must_update_password);
        assert!(view.may_use_tokens(NOW + 4));
        assert!(!view.may_use_tokens(NOW + 5));
        assert_eq!(view.token_version, user.token_version);
    }

    #[test]
    fn facets_partition_every_state_type_and_backend() {
        let facets = Facet::all_of(&[UserState::Enabled, UserState::Disabled]);
        assert_eq!(facets.len(), 8);
        let keys: std::collections::BTreeSet<String> = facets.iter().map(|f| f.key()).collect();
        assert_eq!(keys.len(), 8);
        assert!(keys.contains("ENABLED#USER#LOCAL"), "{keys:?}");
        assert!(keys.contains(&Facet::of(&user()).key()));
    }

    #[test]
    fn two_new_users_with_one_id_do_not_share_tokens() {
        let first = User::new("t1", "bob", UserType::User, Backend::Local, NOW);
        let second = User::new("t1", "bob", UserType::User, Backend::Local, NOW);
        // Random 32-bit starts: equal once in four billion.
        assert_ne!(first.token_version, second.token_version);
        assert_eq!(first.login_name, "bob");
        assert_eq!(first.version, 1);
    }
}
