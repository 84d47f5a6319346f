//! Operations on one user's account that any dialect may call: profile changes, password resets by
//! email, email verification, required actions, and the lifecycle (enable, disable, delete).

use rand::{Rng, TryRngCore};
use serde_json::{Map, Value};

use crate::app::App;
use crate::directory::{Directory, DirectorySearch, DirectoryUser};
use crate::error::{ApiError, ApiResult};
use crate::model::{
    Backend, DisabledBy, EmailVerification, Millis, RequiredAction, User, UserState, UserType,
};
use crate::ops::{
    self, Authority, hash_password, read_managed_user, read_own_or_managed_user,
    set_temporary_password, verify_password, write_managed_user,
};
use crate::outbox::{
    Channel, Notification, VERIFICATION_CODE_ATTEMPTS, VERIFICATION_CODE_LIFETIME_MS,
};
use crate::password::{self, Verified};
use crate::store::UserStore;
use crate::token::Caller;
use crate::validate::PasswordContext;

/// Profile fields an administrator changes (SpaceONE `update`); `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub language: Option<String>,
    pub timezone: Option<String>,
    pub tags: Option<Map<String, Value>>,
    /// A new password: it must meet the policy and differ from the current one.
    pub password: Option<String>,
    /// Send a temporary password to the user's verified email address.
    pub reset_password: bool,
}

impl ProfileChange {
    fn apply(&self, user: &mut User) {
        if let Some(name) = &self.display_name {
            user.display_name = Some(name.clone());
        }
        if let Some(email) = &self.email {
            user.set_email(Some(email.clone()));
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
    }
}

fn password_context(user: &User) -> PasswordContext<'_> {
    PasswordContext {
        login_name: &user.login_name,
        email: user.email.as_deref(),
        phone: user.phone.as_deref(),
    }
}

/// A user who signs in with a password of their own: LOCAL and not an API user.
fn ensure_has_password(user: &User, key: &str) -> ApiResult<()> {
    if user.backend == Backend::External {
        return Err(ApiError::ResetPasswordExternal);
    }
    if user.user_type == UserType::ApiUser {
        return Err(ApiError::invalid(key, "an API_USER has no password"));
    }
    Ok(())
}

/// Why a temporary password cannot be mailed to this user, if it cannot.
fn ensure_resettable_by_email(user: &User) -> ApiResult<()> {
    ensure_has_password(user, "reset_password")?;
    if user.email.as_deref().is_none_or(str::is_empty) {
        return Err(ApiError::ResetPasswordWithoutEmail);
    }
    if !user.email_verified {
        return Err(ApiError::VerificationUnavailable);
    }
    Ok(())
}

/// SpaceONE's temporary password, hashed before the user is written (off the async workers).
pub(crate) struct TemporaryPassword {
    clear: String,
    hash: String,
}

impl TemporaryPassword {
    pub(crate) async fn generate(app: &App) -> ApiResult<TemporaryPassword> {
        let clear = password::temporary_password(app.config.password_policy.min_classes);
        let hash = hash_password(&clear).await?;
        Ok(TemporaryPassword { clear, hash })
    }

    /// Sets it on the user (UPDATE_PASSWORD required, tokens revoked) and returns the email that
    /// carries it.
    pub(crate) fn set_and_mail(
        self,
        app: &App,
        user: &mut User,
        now: Millis,
    ) -> ApiResult<Vec<Notification>> {
        set_temporary_password(user, self.hash, now)?;
        Ok(vec![app.sealer.temporary_password(
            user,
            &self.clear,
            Channel::Email,
            now,
        )?])
    }
}

/// Changes a user's profile and, optionally, their password (which revokes their tokens and clears
/// UPDATE_PASSWORD) or sends them a temporary one.
pub async fn update_profile(
    app: &App,
    by: impl Into<Authority<'_>>,
    tenant_id: &str,
    user_id: &str,
    change: ProfileChange,
) -> ApiResult<User> {
    let by = by.into();
    let before = read_managed_user(app, by, tenant_id, user_id).await?;
    let mut preview = before.clone();
    change.apply(&mut preview);
    let new_hash = match &change.password {
        Some(new_password) => {
            ensure_has_password(&preview, "password")?;
            app.config
                .password_policy
                .check(new_password, &password_context(&preview))?;
            if verify_password(new_password, before.password_hash.as_deref()).await != Verified::No
            {
                return Err(ApiError::PasswordNotChanged);
            }
            Some(hash_password(new_password).await?)
        }
        None => None,
    };
    let temporary = if change.reset_password {
        ensure_resettable_by_email(&preview)?;
        Some(TemporaryPassword::generate(app).await?)
    } else {
        None
    };
    write_managed_user(app, &by.actor(), before, |user, now| {
        change.apply(user);
        if let Some(hash) = new_hash {
            user.set_password(hash, now);
        }
        match temporary {
            Some(temporary) => temporary.set_and_mail(app, user, now),
            None => Ok(Vec::new()),
        }
    })
    .await
}

/// SpaceONE `reset_password`: a temporary password to the user's verified email address; the user
/// must change it at the next login and loses existing tokens.
pub async fn reset_password_by_email(
    app: &App,
    caller: &Caller,
    tenant_id: &str,
    user_id: &str,
) -> ApiResult<()> {
    let before = read_managed_user(app, caller, tenant_id, user_id).await?;
    ensure_resettable_by_email(&before)?;
    let temporary = TemporaryPassword::generate(app).await?;
    write_managed_user(app, &caller.actor(), before, |user, now| {
        temporary.set_and_mail(app, user, now)
    })
    .await
    .map(drop)
}

/// The shortest time between two codes for one address: each code allows a few guesses, so codes
/// must not be had for the asking.
pub const VERIFICATION_CODE_INTERVAL_MS: Millis = 60_000;

/// A six-digit code from the OS generator.
fn verification_code() -> String {
    let mut rng = rand::rngs::OsRng.unwrap_err();
    format!("{:06}", rng.random_range(0..1_000_000))
}

/// SpaceONE `verify_email`: optionally sets a new address (administrators only), then either marks
/// it verified at once (`force`, administrators only) or sends a fresh code that replaces any
/// earlier one.
pub async fn verify_email(
    app: &App,
    caller: &Caller,
    tenant_id: &str,
    user_id: &str,
    email: Option<String>,
    force: bool,
) -> ApiResult<User> {
    // Only an administrator sets the address or vouches for it; a user may only ask for a code to
    // the address on record (else a member could claim any unused address).
    let before = if force || email.is_some() {
        read_managed_user(app, caller, tenant_id, user_id).await?
    } else {
        read_own_or_managed_user(app, caller, tenant_id, user_id).await?
    };
    write_managed_user(app, &caller.actor(), before, |user, now| {
        if let Some(email) = email {
            user.set_email(Some(email));
        }
        if user.email.as_deref().is_none_or(str::is_empty) {
            return Err(ApiError::RequiredParameter("email".into()));
        }
        if force {
            user.email_verified = true;
            user.email_verification = None;
            return Ok(Vec::new());
        }
        if let Some(earlier) = &user.email_verification {
            let issued_at = earlier.expires_at - VERIFICATION_CODE_LIFETIME_MS;
            if now < issued_at + VERIFICATION_CODE_INTERVAL_MS {
                return Err(ApiError::TooManyRequests);
            }
        }
        let code = verification_code();
        user.email_verified = false;
        user.email_verification = Some(EmailVerification {
            code_digest: app.sealer.code_digest(user, &code),
            expires_at: now + VERIFICATION_CODE_LIFETIME_MS,
            failed_attempts: 0,
        });
        Ok(vec![app.sealer.verification_code(user, &code, now)?])
    })
    .await
}

/// SpaceONE `confirm_email`: the code last sent marks the address verified and is used up. A wrong
/// code counts (the count is written before answering), and after the limit even the right code
/// fails; every failure is the same `ERROR_INVALID_VERIFY_CODE`.
pub async fn confirm_email(
    app: &App,
    caller: &Caller,
    tenant_id: &str,
    user_id: &str,
    code: &str,
) -> ApiResult<User> {
    let before = read_own_or_managed_user(app, caller, tenant_id, user_id).await?;
    let now = ops::now();
    let Some(pending) = before
        .email_verification
        .clone()
        .filter(|v| now < v.expires_at && v.failed_attempts < VERIFICATION_CODE_ATTEMPTS)
    else {
        return Err(ApiError::InvalidVerifyCode);
    };
    let matches = app.sealer.code_matches(&before, code, &pending.code_digest);
    let after = write_managed_user(app, &caller.actor(), before, |user, _| {
        if matches {
            user.email_verified = true;
            user.email_verification = None;
        } else {
            user.email_verification = Some(EmailVerification {
                failed_attempts: pending.failed_attempts + 1,
                ..pending
            });
        }
        Ok(Vec::new())
    })
    .await?;
    if matches {
        Ok(after)
    } else {
        Err(ApiError::InvalidVerifyCode)
    }
}

/// SpaceONE `set_required_actions`: adds the actions to the user's set.
pub async fn add_required_actions(
    app: &App,
    by: impl Into<Authority<'_>>,
    tenant_id: &str,
    user_id: &str,
    actions: &[RequiredAction],
) -> ApiResult<User> {
    let by = by.into();
    let before = read_managed_user(app, by, tenant_id, user_id).await?;
    write_managed_user(app, &by.actor(), before, |user, _| {
        require_actions(user, actions).map(|()| Vec::new())
    })
    .await
}

/// Adds required actions to a user, if the user can perform them.
pub(crate) fn require_actions(user: &mut User, actions: &[RequiredAction]) -> ApiResult<()> {
    for action in actions {
        match action {
            RequiredAction::UpdatePassword
                if user.backend == Backend::External || user.user_type == UserType::ApiUser =>
            {
                return Err(ApiError::NotAllowedActions(
                    "UPDATE_PASSWORD needs a user who signs in with a password of their own".into(),
                ));
            }
            RequiredAction::UpdatePassword => {
                user.required_actions.insert(*action);
            }
        }
    }
    Ok(())
}

/// The lifecycle changes an administrator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Enable,
    /// Tokens revoked.
    Disable,
    /// Pending deletion: tokens revoked, no login, gone for the dialects that have no deleted
    /// state, purged by housekeeping.
    Delete,
}

/// Applies a lifecycle change; setting the state a user already has changes nothing.
pub fn apply_lifecycle(user: &mut User, change: Lifecycle, now: Millis) -> ApiResult<()> {
    match change {
        Lifecycle::Enable => user.enable(),
        Lifecycle::Disable => {
            user.disable(DisabledBy::Admin);
            Ok(())
        }
        Lifecycle::Delete => {
            if user.state != UserState::PendingDelete {
                user.state = UserState::PendingDelete;
                user.deleted_at = Some(now);
                user.email_verification = None;
                user.revoke_tokens();
            }
            Ok(())
        }
    }
}

pub async fn change_lifecycle(
    app: &App,
    by: impl Into<Authority<'_>>,
    tenant_id: &str,
    user_id: &str,
    change: Lifecycle,
) -> ApiResult<User> {
    let by = by.into();
    if let Authority::Caller(caller) = by {
        return ops::manage_user_state(
            app,
            caller,
            tenant_id,
            user_id,
            |user| match user.state {
                UserState::PendingDelete => Err(ApiError::user_not_found(user_id)),
                _ => Ok(()),
            },
            |user, now| apply_lifecycle(user, change, now),
        )
        .await;
    }
    let before = read_managed_user(app, by, tenant_id, user_id).await?;
    write_managed_user(app, &by.actor(), before, |user, now| {
        apply_lifecycle(user, change, now).map(|()| Vec::new())
    })
    .await
}

/// SpaceONE `find`: users of the external directory matching a user id or a keyword.
pub async fn find_external_users(
    app: &App,
    caller: &Caller,
    tenant_id: &str,
    search: &DirectorySearch,
) -> ApiResult<(Vec<DirectoryUser>, u64)> {
    ops::ensure_admin(app, caller, tenant_id).await?;
    let directory = app
        .directory
        .as_ref()
        .ok_or(ApiError::ExternalAuthNotAllowed)?;
    let (mut users, total) = directory.find(tenant_id, search).await?;
    // Cut here, not in the client: `lookup` must see every exact match.
    users.truncate(crate::directory::FIND_LIMIT);
    Ok((users, total))
}

/// `sync`: refreshes an EXTERNAL user from the directory: name and email as listed there, and its
/// state (a user disabled there, or gone from it, becomes DISABLED by sync; one enabled there is
/// enabled again unless an administrator disabled it).
pub async fn sync_user(
    app: &App,
    caller: &Caller,
    tenant_id: &str,
    user_id: &str,
) -> ApiResult<User> {
    let before = read_managed_user(app, caller, tenant_id, user_id).await?;
    if before.backend != Backend::External {
        return Err(ApiError::invalid(
            "user_id",
            "only an EXTERNAL user is synchronised from the directory",
        ));
    }
    let directory = app
        .directory
        .as_ref()
        .ok_or(ApiError::ExternalAuthNotAllowed)?;
    let listed = crate::directory::lookup(directory, tenant_id, user_id).await?;
    write_managed_user(app, &caller.actor(), before, |user, _| {
        match &listed {
            Some(listed) => {
                if let Some(name) = listed.valid_name() {
                    user.display_name = Some(name);
                }
                if let Some(email) = listed.valid_email() {
                    user.set_email(Some(email));
                }
                ops::apply_directory_state(user, listed);
            }
            None => user.disable(DisabledBy::Sync),
        }
        Ok(Vec::new())
    })
    .await
}

/// Seed 003 `userStatus`: enables or disables a user of the caller's tenant. A user pending deletion
/// can be neither (409), nor can an administrator enable a user a directory sync disabled (409).
/// Setting the status a user has changes nothing.
pub async fn set_status(
    app: &App,
    caller: &Caller,
    user_id: &str,
    change: Lifecycle,
) -> ApiResult<User> {
    let tenant_id = caller.claims.ten.clone();
    ops::manage_user_state(
        app,
        caller,
        &tenant_id,
        user_id,
        |user| match user.state {
            UserState::PendingDelete => Err(ApiError::StateConflict(
                "the user is pending deletion".into(),
            )),
            _ => Ok(()),
        },
        |user, now| apply_lifecycle(user, change, now),
    )
    .await
}

/// Seed 003's User Details lookup: the user of the caller's tenant with this email address or login
/// name (any normal form or case), including one pending deletion.
pub async fn lookup_user(
    app: &App,
    caller: &Caller,
    field: crate::error::UniqueField,
    value: &str,
) -> ApiResult<User> {
    let tenant_id = caller.claims.ten.clone();
    ops::authorize_admin(caller, &tenant_id)?;
    let not_found = || ApiError::NotFound {
        key: field.key().into(),
        value: value.to_owned(),
    };
    let user_id = app.store.find_user_id(&tenant_id, field, value).await?;
    // The caller is checked whether or not anyone matched, so that a revoked token learns nothing.
    let probed = user_id.as_deref().unwrap_or(&caller.claims.sub);
    let user = ops::read_target(app, caller, &tenant_id, probed).await?;
    match user_id {
        Some(_) => Ok(user),
        None => Err(not_found()),
    }
}

/// The status changes of a user of the caller's tenant, oldest first (also of a purged user).
pub async fn status_history(
    app: &App,
    caller: &Caller,
    user_id: &str,
) -> ApiResult<Vec<crate::model::AuditRecord>> {
    let tenant_id = caller.claims.ten.clone();
    let (user, trail) = ops::as_admin(app, caller, &tenant_id, async {
        tokio::try_join!(
            app.store.get_user(&tenant_id, user_id),
            app.store.audit_trail(&tenant_id, user_id)
        )
    })
    .await?;
    if user.is_none() && trail.is_empty() {
        return Err(ApiError::user_not_found(user_id));
    }
    Ok(trail)
}
