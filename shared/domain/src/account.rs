//! Operations on one user's account that any dialect may call: profile changes, password resets by
//! email, email verification, required actions, and the lifecycle (enable, disable, delete).

use rand::{Rng, TryRngCore};
use serde_json::{Map, Value};

use crate::app::App;
use crate::directory::{DirectorySearch, DirectoryUser};
use crate::error::{ApiError, ApiResult};
use crate::model::{
    Actor, Backend, DisabledBy, EmailVerification, LockReason, Millis, PasswordLink,
    RequiredAction, User, UserState, UserType, WrongCodes,
};
use crate::ops::{
    self, Authority, hash_password, read_managed_user, read_own_or_managed_user,
    set_temporary_password, write_managed_user,
};
use crate::outbox::{
    Channel, Notification, VERIFICATION_CODE_ATTEMPTS, VERIFICATION_CODE_LIFETIME_MS,
    VERIFICATION_WRONG_CODES_PER_WINDOW, VERIFICATION_WRONG_CODES_WINDOW_MS,
};
use crate::password;
use crate::patch::UserPatch;
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
    /// The new password of a change made with a password link, which sets nothing else.
    pub fn password_only(self) -> ApiResult<String> {
        let ProfileChange {
            display_name: None,
            email: None,
            language: None,
            timezone: None,
            tags: None,
            password,
            reset_password: false,
        } = self
        else {
            return Err(ApiError::PermissionDenied(
                "a password link sets the password and nothing else".into(),
            ));
        };
        password.ok_or_else(|| ApiError::RequiredParameter("password".into()))
    }

    /// The settings it changes, as every dialect's change is applied.
    fn patch(&self) -> UserPatch {
        UserPatch {
            display_name: self.display_name.clone(),
            email: self.email.clone().map(Some),
            language: self.language.clone(),
            timezone: self.timezone.clone(),
            tags: self.tags.clone(),
            ..UserPatch::default()
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
pub struct TemporaryPassword {
    clear: String,
    hash: String,
}

impl TemporaryPassword {
    pub async fn generate<S: UserStore>(app: &App<S>) -> ApiResult<TemporaryPassword> {
        let clear = password::temporary_password(app.config.password_policy.min_classes);
        let hash = hash_password(&clear).await?;
        Ok(TemporaryPassword { clear, hash })
    }

    /// Sets it on the user (UPDATE_PASSWORD required, tokens revoked) and returns the email that
    /// carries it.
    pub fn set_and_mail<S: UserStore>(
        self,
        app: &App<S>,
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
pub async fn update_profile<S: UserStore>(
    app: &App<S>,
    by: impl Into<Authority<'_>>,
    tenant_id: &str,
    user_id: &str,
    change: ProfileChange,
) -> ApiResult<User> {
    let by = by.into();
    let before = read_managed_user(app, by, tenant_id, user_id).await?;
    let patch = change.patch();
    let mut preview = before.clone();
    patch.apply(&mut preview, ops::now())?;
    if change.reset_password {
        ensure_resettable_by_email(&preview)?;
    }
    let new_hash = match &change.password {
        Some(new_password) => {
            ensure_has_password(&preview, "password")?;
            app.config
                .password_policy
                .check(new_password, &password_context(&preview))?;
            Some(ops::administrator_set_password(app, &before, &preview, new_password).await?)
        }
        None => None,
    };
    let temporary = if change.reset_password {
        Some(TemporaryPassword::generate(app).await?)
    } else {
        None
    };
    write_managed_user(app, &by.actor(), before, |user, now| {
        patch.apply(user, now)?;
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
pub async fn reset_password_by_email<S: UserStore>(
    app: &App<S>,
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

/// How long a forgotten-password link works (SpaceONE's: 24 hours).
pub const PASSWORD_LINK_LIFETIME_MS: Millis = 86_400_000;
/// The shortest time between two links for one user: anyone may ask for one, so a mailbox must
/// not be flooded with them.
pub const PASSWORD_LINK_INTERVAL_MS: Millis = 15 * 60_000;
/// How a password link's token tells itself from the API's tokens (`X-Auth-Token`).
pub const PASSWORD_LINK_TOKEN_PREFIX: &str = "pwl_";

/// Whether the user may set a new password through a link mailed to their address: an enabled
/// LOCAL USER with a verified address, not locked by an administrator nor expired. A lockout from
/// failed sign-ins does not bar it (the link proves the address, and lifts the lockout).
fn may_reset_by_link(user: &User, now: Millis) -> bool {
    user.state == UserState::Enabled
        && ensure_resettable_by_email(user).is_ok()
        && user.lock != Some(LockReason::Admin)
        && !user.is_account_expired(now)
        // An administrator who barred the user from changing their password bars this too.
        && user.enable_change_password
}

/// 256 random bits from the OS generator, behind `PASSWORD_LINK_TOKEN_PREFIX`.
fn password_link_token() -> ApiResult<String> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| ApiError::Internal("random token".into()))?;
    Ok(format!(
        "{PASSWORD_LINK_TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// What the mail carries: the configured page with the request's ids in its query and the token
/// in its fragment (which no server log, `Referer` or proxy sees), or the token and how to use it.
fn password_link_text<S: UserStore>(app: &App<S>, user: &User, token: &str) -> String {
    match &app.config.password_link_url {
        Some(page) => format!(
            "{page}?{}#{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("domain_id", &user.tenant_id)
                .append_pair("user_id", &user.user_id)
                .finish(),
            form_urlencoded::Serializer::new(String::new())
                .append_pair("token", token)
                .finish()
        ),
        None => format!(
            "{token}\n\n(send it as the X-Auth-Token of POST /identity/v1/user/update with your \
             user_id, domain_id {} and your new password)",
            user.tenant_id
        ),
    }
}

/// SpaceONE's anonymous `reset_password` (its default `ACCESS_TOKEN` mode): mails the user a
/// one-time link, good for 24 hours, that sets a new password; the password and the required
/// actions stay as they are until it is used. The answer is the same, after the same work (one
/// read, one conditional write), whether the user exists, may use a link, or got one less than
/// 15 minutes ago (then nothing is sent): the user is read beside a decoy of a user's size, and
/// the write goes to a decoy item when no link is sent.
pub async fn mail_password_link<S: UserStore>(
    app: &App<S>,
    tenant_id: &str,
    user_id: &str,
) -> ApiResult<()> {
    ops::note_target(tenant_id, user_id);
    let now = ops::now();
    // A decoy of a user's size is read beside the user, so that an unknown user's answer takes
    // as long as a known one's (an empty read is quicker than an item's).
    let (found, ()) = tokio::try_join!(
        app.store.get_user(tenant_id, user_id),
        app.store.read_login_decoy(tenant_id, user_id)
    )?;
    let due = found.filter(|user| {
        may_reset_by_link(user, now)
            && user
                .password_link
                .as_ref()
                .is_none_or(|link| now >= link.issued_at + PASSWORD_LINK_INTERVAL_MS)
    });
    let Some(before) = due else {
        return app.store.probe_login(tenant_id, user_id).await;
    };
    let token = password_link_token()?;
    let text = password_link_text(app, &before, &token);
    let written = write_managed_user(app, &Actor::system("password link"), before, |user, now| {
        user.password_link = Some(PasswordLink {
            token_digest: app.sealer.code_digest(user, &token),
            issued_at: now,
            expires_at: now + PASSWORD_LINK_LIFETIME_MS,
        });
        Ok(vec![app.sealer.password_link(user, &text, now)?])
    })
    .await;
    match written {
        // A change of the user in between: no link this time, and the same answer.
        Ok(_) | Err(ApiError::ConcurrentModification) => Ok(()),
        Err(other) => Err(other),
    }
}

/// Sets a new password with a mailed link's token: the link is spent, every token of the user
/// revoked, UPDATE_PASSWORD done and a lockout from failed sign-ins lifted. Every refusal of the
/// token (unknown user, no link, another token, expired, used, a user who may no longer use one)
/// is the same 401.
pub async fn set_password_by_link<S: UserStore>(
    app: &App<S>,
    tenant_id: &str,
    user_id: &str,
    token: &str,
    new_password: &str,
) -> ApiResult<User> {
    ops::note_target(tenant_id, user_id);
    let now = ops::now();
    let valid = app
        .store
        .get_user(tenant_id, user_id)
        .await?
        .filter(|user| {
            may_reset_by_link(user, now)
                && user.password_link.as_ref().is_some_and(|link| {
                    now < link.expires_at
                        && app.sealer.code_matches(user, token, &link.token_digest)
                })
        });
    let before = valid.ok_or(ApiError::TokenInvalid)?;
    app.config
        .password_policy
        .check(new_password, &password_context(&before))?;
    let hash = hash_password(new_password).await?;
    let actor = Actor {
        user_id: before.user_id.clone(),
        endpoint: "POST /identity/v1/user/update".into(),
    };
    write_managed_user(app, &actor, before, |user, now| {
        user.set_password(hash, now);
        user.lift_lockout();
        Ok(Vec::new())
    })
    .await
}

/// The shortest time between two codes for one address: each code allows a few guesses, so codes
/// must not be had for the asking.
pub const VERIFICATION_CODE_INTERVAL_MS: Millis = 60_000;

/// Whole seconds from `now` until `at`, rounded up (a `Retry-After` never invites an early retry).
fn seconds_until(now: Millis, at: Millis) -> u64 {
    u64::try_from((at - now).max(0)).unwrap_or(0).div_ceil(1000)
}

/// The end of the user's current window of wrong codes, once they have used it up.
fn wrong_codes_barred_until(user: &User, now: Millis) -> Option<Millis> {
    let wrong = user.wrong_codes?;
    let ends = wrong.window_start + VERIFICATION_WRONG_CODES_WINDOW_MS;
    (now < ends && wrong.count >= VERIFICATION_WRONG_CODES_PER_WINDOW).then_some(ends)
}

/// Counts a wrong code in the user's current window, or in a new one.
fn count_wrong_code(user: &mut User, now: Millis) {
    let current = user
        .wrong_codes
        .filter(|wrong| now < wrong.window_start + VERIFICATION_WRONG_CODES_WINDOW_MS);
    user.wrong_codes = Some(match current {
        Some(wrong) => WrongCodes {
            count: wrong.count + 1,
            ..wrong
        },
        None => WrongCodes {
            count: 1,
            window_start: now,
        },
    });
}

/// A six-digit code from the OS generator.
fn verification_code() -> String {
    let mut rng = rand::rngs::OsRng.unwrap_err();
    format!("{:06}", rng.random_range(0..1_000_000))
}

/// SpaceONE `verify_email`: optionally sets a new address (administrators only), then either marks
/// it verified at once (`force`, administrators only) or sends a fresh code that replaces any
/// earlier one.
pub async fn verify_email<S: UserStore>(
    app: &App<S>,
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
        if let Some(ends) = wrong_codes_barred_until(user, now) {
            return Err(ApiError::TooManyRequests {
                retry_after_secs: seconds_until(now, ends),
            });
        }
        if let Some(earlier) = &user.email_verification {
            let issued_at = earlier.expires_at - VERIFICATION_CODE_LIFETIME_MS;
            let next_allowed = issued_at + VERIFICATION_CODE_INTERVAL_MS;
            if now < next_allowed {
                return Err(ApiError::TooManyRequests {
                    retry_after_secs: seconds_until(now, next_allowed),
                });
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
/// code counts, for the code and for the user's window (the counts are written before
/// answering); after either limit even the right code fails, and every failure is the same
/// `ERROR_INVALID_VERIFY_CODE`.
pub async fn confirm_email<S: UserStore>(
    app: &App<S>,
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
        .filter(|_| wrong_codes_barred_until(&before, now).is_none())
    else {
        return Err(ApiError::InvalidVerifyCode);
    };
    let matches = app.sealer.code_matches(&before, code, &pending.code_digest);
    let after = write_managed_user(app, &caller.actor(), before, |user, now| {
        if matches {
            user.email_verified = true;
            user.email_verification = None;
            user.wrong_codes = None;
        } else {
            count_wrong_code(user, now);
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
pub async fn add_required_actions<S: UserStore>(
    app: &App<S>,
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
pub fn require_actions(user: &mut User, actions: &[RequiredAction]) -> ApiResult<()> {
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

pub async fn change_lifecycle<S: UserStore>(
    app: &App<S>,
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
pub async fn find_external_users<S: UserStore>(
    app: &App<S>,
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
pub async fn sync_user<S: UserStore>(
    app: &App<S>,
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
    let listed = crate::directory::lookup(directory.as_ref(), tenant_id, user_id).await?;
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
pub async fn set_status<S: UserStore>(
    app: &App<S>,
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
pub async fn lookup_user<S: UserStore>(
    app: &App<S>,
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
pub async fn status_history<S: UserStore>(
    app: &App<S>,
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
