//! The operations every dialect calls: who may act, and what a change does to the canonical user.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::app::App;
use crate::change::UserChange;
use crate::directory::{self, DirectoryUser};
use crate::error::{ApiError, ApiResult, UniqueField};
use crate::model::{
    AccessMode, Actor, AuditRecord, AuthView, Backend, LockReason, Millis, RequiredAction, Role,
    Tenant, User, UserState, UserType,
};
use crate::outbox::{self, Channel, Notification};
use crate::password::{self, Verified};
use crate::store::{LoginRecord, UserStore};
use crate::token::{Caller, IssuedToken};
use crate::validate::{self, PasswordContext};

pub fn now() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

/// Checks the token alone (signature, algorithm, key, expiry). It comes before the body is read, so
/// a request without a token we signed learns nothing about its body's faults. Whether the token is
/// still live (not revoked) is checked with the caller's record, read together with the request's
/// own data, after the body.
pub fn verify_token<S: UserStore>(app: &App<S>, token: Option<&str>) -> ApiResult<Caller> {
    app.tokens
        .verify(token.ok_or(ApiError::AuthenticationRequired)?)
}

/// Who an operation acts for: the caller of a verified token, or the deployment itself (users as
/// code from CloudFormation), which administers any existing tenant and has no user record.
#[derive(Debug, Clone, Copy)]
pub enum Authority<'a> {
    Caller(&'a Caller),
    System(&'a Actor),
}

impl<'a> From<&'a Caller> for Authority<'a> {
    fn from(caller: &'a Caller) -> Authority<'a> {
        Authority::Caller(caller)
    }
}

impl Authority<'_> {
    /// Who is acting, as the audit trail records it.
    pub fn actor(&self) -> Actor {
        match self {
            Authority::Caller(caller) => caller.actor(),
            Authority::System(actor) => (*actor).clone(),
        }
    }
}

/// Management needs an administrator of the tenant the request names; the store check follows
/// with the caller's record, read together with the request's own data where possible.
pub fn authorize_admin(caller: &Caller, tenant_id: &str) -> ApiResult<()> {
    if caller.claims.ten != tenant_id {
        return Err(ApiError::PermissionDenied(
            "the token belongs to another tenant".into(),
        ));
    }
    if caller.claims.role != Role::Admin {
        return Err(ApiError::PermissionDenied(
            "an administrator token is required".into(),
        ));
    }
    Ok(())
}

/// An administrator of the tenant, or the user themself (self-service such as confirming the
/// user's own email address).
pub fn authorize_admin_or_self(caller: &Caller, tenant_id: &str, user_id: &str) -> ApiResult<()> {
    if caller.claims.ten == tenant_id && caller.claims.sub == user_id {
        return Ok(());
    }
    authorize_admin(caller, tenant_id)
}

/// Runs `work` for an administrator of the tenant, reading the caller's record alongside it (one
/// round trip for both) and refusing the answer if the caller may not manage.
pub async fn as_admin<S: UserStore, T>(
    app: &App<S>,
    caller: &Caller,
    tenant_id: &str,
    work: impl Future<Output = ApiResult<T>>,
) -> ApiResult<T> {
    authorize_admin(caller, tenant_id)?;
    let (record, result) = tokio::join!(app.store.get_user(tenant_id, &caller.claims.sub), work);
    ensure_may_manage(app, caller, record?.as_ref(), now())?;
    result
}

/// `as_admin` for work that also needs the tenant's counters: the caller's record and the
/// counters come in one `BatchGetItem`, alongside `work`. The caller's refusal comes first: a
/// refused token learns nothing from the work's answer.
pub async fn as_admin_counting<S: UserStore, T>(
    app: &App<S>,
    caller: &Caller,
    tenant_id: &str,
    work: impl Future<Output = ApiResult<T>>,
) -> ApiResult<(T, HashMap<String, u64>)> {
    authorize_admin(caller, tenant_id)?;
    let (read, result) = tokio::join!(
        app.store
            .get_user_and_counters(tenant_id, &caller.claims.sub),
        work
    );
    let (record, counters) = read?;
    ensure_may_manage(app, caller, record.as_ref(), now())?;
    Ok((result?, counters))
}

/// Checks, before anything else happens, that the caller administers the tenant with a live
/// token: for work that reaches past the store (the external directory), which a revoked token
/// must not set off even if its answer would be thrown away.
pub async fn ensure_admin<S: UserStore>(
    app: &App<S>,
    caller: &Caller,
    tenant_id: &str,
) -> ApiResult<()> {
    as_admin(app, caller, tenant_id, std::future::ready(Ok(()))).await
}

/// A token is live while its user exists, may hold tokens, and has not revoked it since.
pub fn ensure_live(caller: &Caller, record: Option<&User>, now: Millis) -> ApiResult<()> {
    ensure_view_live(caller, record.map(AuthView::of).as_ref(), now)
}

fn ensure_view_live(caller: &Caller, view: Option<&AuthView>, now: Millis) -> ApiResult<()> {
    match view {
        Some(view)
            if view.token_version == caller.claims.tv
                && view.role == caller.claims.role
                && view.may_use_tokens(now) =>
        {
            Ok(())
        }
        _ => Err(ApiError::TokenInvalid),
    }
}

/// A live token whose user need not change their password first: a user who must can change it
/// and do nothing else.
pub fn ensure_may_manage<S: UserStore>(
    app: &App<S>,
    caller: &Caller,
    record: Option<&User>,
    now: Millis,
) -> ApiResult<()> {
    ensure_view_may_manage(app, caller, record.map(AuthView::of).as_ref(), now)
}

fn ensure_view_may_manage<S: UserStore>(
    app: &App<S>,
    caller: &Caller,
    view: Option<&AuthView>,
    now: Millis,
) -> ApiResult<()> {
    ensure_view_live(caller, view, now)?;
    let Some(view) = view else {
        return Err(ApiError::TokenInvalid);
    };
    if app.config.password_expiry(view).is_some_and(|at| at <= now) {
        return Err(ApiError::PasswordChangeRequired);
    }
    if view.access_mode == AccessMode::Console {
        return Err(ApiError::ConsoleOnlyUser);
    }
    if view.must_update_password {
        return Err(ApiError::PasswordChangeRequired);
    }
    Ok(())
}

/// Hashing is CPU-bound for tens of milliseconds: keep it off the async workers.
pub async fn hash_password(password: &str) -> ApiResult<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| ApiError::Internal(format!("hashing task: {e}")))?
}

pub async fn verify_password(password: &str, stored: Option<&str>) -> Verified {
    let password = password.to_owned();
    let stored = stored.map(str::to_owned);
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => password::verify(&password, &stored),
        None => {
            password::verify_against_nothing(&password);
            Verified::No
        }
    })
    .await
    .unwrap_or(Verified::No)
}

/// A user to create, already in canonical terms and checked by its dialect for the dialect's own
/// limits; the canonical rules are checked here.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub tenant_id: String,
    pub user_id: String,
    pub login_name: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub user_type: UserType,
    pub backend: Backend,
    pub language: Option<String>,
    pub timezone: Option<String>,
    pub tags: Map<String, Value>,
    pub role: Role,
    /// Set a random temporary password, sent by email, that must be changed at the next login.
    pub temporary_password: bool,
    /// Created disabled (by an administrator).
    pub disabled: bool,
    pub required_actions: Vec<RequiredAction>,
    /// The CloudFormation resource that declares the user (users as code).
    pub managed_by: Option<String>,
}

impl NewUser {
    /// The user to store and the messages its creation sends.
    async fn into_user<S: UserStore>(
        self,
        app: &App<S>,
        now: Millis,
    ) -> ApiResult<(User, Vec<Notification>)> {
        validate::user_id(&self.user_id)?;
        if let Some(login_name) = &self.login_name {
            validate::fits_uniqueness_key("name", login_name)?;
        }
        if let Some(email) = &self.email {
            validate::fits_uniqueness_key("email", email)?;
        }
        let mut user = User::new(
            &self.tenant_id,
            &self.user_id,
            self.user_type,
            self.backend,
            now,
        );
        if let Some(login_name) = self.login_name {
            user.login_name = login_name;
        }
        user.display_name = self.display_name;
        user.email = self.email;
        user.role = self.role;
        user.tags = self.tags;
        user.managed_by = self.managed_by;
        crate::account::require_actions(&mut user, &self.required_actions)?;
        if let Some(language) = self.language {
            user.language = language;
        }
        if let Some(timezone) = self.timezone {
            user.timezone = validate::timezone(&timezone)?;
        }
        if self.backend == Backend::External {
            // An external user is confirmed by its directory at first sign-in.
            user.state = UserState::Pending;
        }
        if let Some(password) = self.password {
            let context = PasswordContext {
                login_name: &user.login_name,
                email: user.email.as_deref(),
                phone: user.phone.as_deref(),
            };
            app.config.password_policy.check(&password, &context)?;
            user.password_hash = Some(hash_password(&password).await?);
            user.password_changed_at = Some(now);
        }
        if self.disabled {
            user.disable(crate::model::DisabledBy::Admin);
        }
        let mut notifications = Vec::new();
        if self.temporary_password {
            let temporary = password::temporary_password(app.config.password_policy.min_classes);
            user.password_hash = Some(hash_password(&temporary).await?);
            user.password_changed_at = Some(now);
            user.required_actions.insert(RequiredAction::UpdatePassword);
            notifications.push(app.sealer.temporary_password(
                &user,
                &temporary,
                Channel::Email,
                now,
            )?);
        }
        Ok((user, notifications))
    }
}

/// Creates a user in the caller's tenant. A user with the same id pending deletion is replaced
/// (it is gone for every dialect that sees no deleted users); any other holder of the id wins.
pub async fn create_user<S: UserStore>(
    app: &App<S>,
    by: impl Into<Authority<'_>>,
    new_user: NewUser,
) -> ApiResult<User> {
    let by = by.into();
    validate::user_id(&new_user.user_id)?;
    note_target(&new_user.tenant_id, &new_user.user_id);
    let now = now();
    let existing = match by {
        Authority::Caller(caller) => {
            authorize_admin(caller, &new_user.tenant_id)?;
            let (record, existing) = app
                .store
                .get_user_pair(&caller.claims.ten, &caller.claims.sub, &new_user.user_id)
                .await?;
            ensure_may_manage(app, caller, record.as_ref(), now)?;
            existing
        }
        Authority::System(_) => {
            // A caller's tenant exists; a tenant a template names may not.
            validate::tenant_id("tenant_id", &new_user.tenant_id)?;
            let (tenant, existing) = tokio::try_join!(
                app.store.get_tenant(&new_user.tenant_id),
                app.store.get_user(&new_user.tenant_id, &new_user.user_id)
            )?;
            if tenant.is_none() {
                return Err(ApiError::NotFound {
                    key: "tenant_id".into(),
                    value: new_user.tenant_id.clone(),
                });
            }
            existing
        }
    };
    let replacing = match existing {
        Some(old) if old.state == UserState::PendingDelete => Some(old),
        Some(_) => return Err(ApiError::AlreadyExists(UniqueField::UserId)),
        None => None,
    };
    let mut new_user = new_user;
    let listed = match new_user.backend {
        Backend::External => Some(external_user(app, &mut new_user).await?),
        Backend::Local => None,
    };
    let (mut user, notifications) = new_user.into_user(app, now).await?;
    if let Some(listed) = &listed {
        apply_directory_state(&mut user, listed);
    }
    if let Some(old) = &replacing {
        // Versions only go up, and no token of the deleted user works for the new one.
        user.version = old.version + 1;
        user.token_version = old.token_version + 1;
    }
    let replacing = replacing.map(|old| {
        let audit = AuditRecord::state_change(&old, &user, user.created_at, &by.actor());
        (old, audit)
    });
    app.store
        .create_user(
            &user,
            app.config.tenant_user_quota,
            &notifications,
            replacing.as_ref().map(|(old, audit)| (old, audit)),
        )
        .await?;
    Ok(user)
}

/// The directory's record of a new EXTERNAL user (exactly one must match its id); fills in the
/// name and email the request leaves out, as the vendor does.
async fn external_user<S: UserStore>(
    app: &App<S>,
    new_user: &mut NewUser,
) -> ApiResult<DirectoryUser> {
    let directory = app
        .directory
        .as_ref()
        .ok_or(ApiError::ExternalAuthNotAllowed)?;
    let listed = directory::lookup(directory.as_ref(), &new_user.tenant_id, &new_user.user_id)
        .await?
        .ok_or_else(|| ApiError::ExternalUserNotFound(new_user.user_id.clone()))?;
    if new_user.display_name.is_none() {
        new_user.display_name = listed.valid_name();
    }
    if new_user.email.is_none() {
        new_user.email = listed.valid_email();
    }
    Ok(listed)
}

/// The state the directory gives an EXTERNAL user: enabled or disabled there, else unconfirmed.
/// A user the directory disables is disabled by sync: only the directory enables it again.
pub fn apply_directory_state(user: &mut User, listed: &DirectoryUser) {
    match listed.state.as_deref() {
        Some("ENABLED")
            if user.state == UserState::Pending
                || user.disabled_by == Some(crate::model::DisabledBy::Sync) =>
        {
            // The directory confirms the user.
            user.state = UserState::Enabled;
            user.disabled_by = None;
            user.disabled_from = None;
        }
        Some("DISABLED") => user.disable(crate::model::DisabledBy::Sync),
        _ => {}
    }
}

/// Reads a user of the caller's tenant: the caller's record and the target in one round trip. An
/// administrator reads anyone; every user reads themself (SpaceONE's default `User.get`, which also
/// lets a user read everyone else: not copied).
pub async fn get_user<S: UserStore>(
    app: &App<S>,
    caller: &Caller,
    tenant_id: &str,
    user_id: &str,
) -> ApiResult<User> {
    authorize_admin_or_self(caller, tenant_id, user_id)?;
    read_target(app, caller, tenant_id, user_id).await
}

/// The caller's record and the target in one round trip, once the caller is authorised; a user
/// pending deletion included.
pub async fn read_target<S: UserStore>(
    app: &App<S>,
    caller: &Caller,
    tenant_id: &str,
    user_id: &str,
) -> ApiResult<User> {
    note_target(tenant_id, user_id);
    let (record, target) = app
        .store
        .get_user_pair(tenant_id, &caller.claims.sub, user_id)
        .await?;
    ensure_may_manage(app, caller, record.as_ref(), now())?;
    target.ok_or_else(|| ApiError::user_not_found(user_id))
}

/// Longer than any login name or user id the dialects accept.
const LOGIN_NAME_MAX: usize = 255;

/// Who is logging in: a login name or a user id, in a tenant.
#[derive(Debug, Clone)]
pub enum LoginIdentity {
    Name(String),
    Id(String),
}

#[derive(Debug, Clone)]
pub struct LoginRequest {
    pub tenant_id: String,
    pub identity: LoginIdentity,
    pub password: String,
    /// The tenants the token's scope names (its project or domain, and a project's domain): the
    /// login succeeds only if each is the user's tenant.
    pub scope_tenants: Vec<String>,
}

/// How many times a login re-reads the user when a parallel login of the same user wrote first.
const LOGIN_ATTEMPTS: usize = 5;

/// Checks a password and issues a token. Every failure is the same `LoginFailed` after the same
/// work (two reads, then one write beside one argon2 verification), whether the user exists, may
/// log in, or typed a wrong password. Each attempt is counted before its password's verdict is
/// used, so parallel guesses get no more tries than the lockout allows.
pub async fn login<S: UserStore>(
    app: &App<S>,
    request: LoginRequest,
) -> ApiResult<(User, IssuedToken)> {
    let tenant = request.tenant_id.as_str();
    let (LoginIdentity::Name(who) | LoginIdentity::Id(who)) = &request.identity;
    crate::notes::note(|notes| notes.tenant = Some(tenant.to_owned()));
    // Names no user can have (and that no storage key could hold) fail like any unknown user.
    let plausible = validate::tenant_id("domain", tenant).is_ok()
        && who.chars().count() <= LOGIN_NAME_MAX
        && validate::fits_uniqueness_key("name", who).is_ok()
        && !who.chars().any(char::is_control);
    if !plausible {
        verify_password(&request.password, None).await;
        return Err(ApiError::LoginFailed);
    }
    let user_id = match &request.identity {
        LoginIdentity::Id(id) => Some(id.clone()),
        LoginIdentity::Name(name) => app.store.find_user_id_by_login(tenant, name).await?,
    };
    // An unknown name costs the same read as a known one: a decoy of a user's size.
    let mut user = match &user_id {
        Some(id) => app.store.get_user(tenant, id).await?,
        None => {
            app.store.read_login_decoy(tenant, who).await?;
            None
        }
    };
    let scope_ok = request.scope_tenants.iter().all(|scope| scope == tenant);

    for _ in 0..LOGIN_ATTEMPTS {
        let now = now();
        let admitted = user
            .as_ref()
            .filter(|u| scope_ok && u.may_log_in(now))
            .and_then(|u| next_attempt(app, u, now).map(|(count, window)| (u, count, window)));
        let Some((found, failed_logins, window_start)) = admitted else {
            let (probed, _) = tokio::join!(
                app.store.probe_login(tenant, who),
                verify_password(&request.password, None)
            );
            probed?;
            return Err(ApiError::LoginFailed);
        };
        let attempt = LoginRecord::Attempt {
            failed_logins,
            window_start,
            now,
        };
        // The attempt is counted while the password is checked: its verdict is only looked at once
        // the count is written, so parallel guesses still get no more tries than the lockout allows.
        let (counted, verified) = tokio::join!(
            app.store.record_login(found, &attempt),
            verify_password(&request.password, found.password_hash.as_deref())
        );
        match counted {
            Ok(()) => {}
            // A parallel login of the same user counted first: read again and count once more.
            Err(ApiError::ConcurrentModification) => {
                user = app.store.get_user(tenant, &found.user_id).await?;
                continue;
            }
            Err(other) => return Err(other),
        }
        if verified == Verified::No {
            lock_out_if_due(app, found, failed_logins, now).await?;
            return Err(ApiError::LoginFailed);
        }
        let rehashed = match verified {
            Verified::YesRehash => Some(hash_password(&request.password).await?),
            _ => None,
        };
        // A lock, disable, delete or password change since the read wins: no token then.
        app.store
            .record_login(found, &LoginRecord::Success { at: now, rehashed })
            .await
            .map_err(|e| {
                if e == ApiError::ConcurrentModification {
                    ApiError::LoginFailed
                } else {
                    e
                }
            })?;
        crate::notes::note(|notes| notes.actor = Some(found.user_id.clone()));
        let mut found = found.clone();
        found.last_accessed_at = Some(now);
        found.password_expires_at = app.config.password_expires_at(&found);
        let issued = app.tokens.issue(&found, now)?;
        return Ok((found, issued));
    }
    // Still contended after every re-read: refuse without checking the password.
    verify_password(&request.password, None).await;
    Err(ApiError::LoginFailed)
}

/// Locks the user out for the lockout's duration when a failed attempt completed the window's
/// count. An administrator's lock or a deletion that came in between stands as it is.
async fn lock_out_if_due<S: UserStore>(
    app: &App<S>,
    user: &User,
    failed_logins: u32,
    now: Millis,
) -> ApiResult<()> {
    if failed_logins < app.config.lockout.threshold {
        return Ok(());
    }
    let lockout = LoginRecord::Lockout {
        until: now + app.config.lockout.duration_ms,
    };
    match app.store.record_login(user, &lockout).await {
        Ok(()) => {
            crate::notes::note(|notes| notes.lockouts += 1);
            Ok(())
        }
        Err(ApiError::ConcurrentModification) => Ok(()),
        Err(other) => Err(other),
    }
}

/// The hash of a new password an administrator sets for a user (`after`: the user as the rest of
/// the change leaves them, already checked).
///
/// "Same as the current password" is an answer of its own, so it is given only where it is the
/// change's one fault: the write's other refusals (a unique value another user holds, the first
/// administrator's guard) are read ahead and answered before any comparison, so that neither the
/// answer nor its time tells a guess that would be refused anyway; and the answer counts as a
/// failed attempt in the target's lockout window, as a wrong password at login does. A wrong
/// guess is then a real password change. A target who is locked, or whose window is used up, gets
/// the password without a comparison (the helpdesk setting a password for a locked user): nothing
/// is told, and nothing counted. The reads ahead happen only for a change that moves a unique
/// value or is guarded.
pub async fn administrator_set_password<S: UserStore>(
    app: &App<S>,
    before: &User,
    after: &User,
    password: &str,
) -> ApiResult<String> {
    if let Some(refusal) = foreseen_refusal(app, before, after).await? {
        return Err(refusal);
    }
    let now = now();
    let attempt = next_attempt(app, before, now).filter(|_| !before.is_locked(now));
    if let Some((failed_logins, window_start)) = attempt
        && before.password_hash.is_some()
        && verify_password(password, before.password_hash.as_deref()).await != Verified::No
    {
        let counted = LoginRecord::Attempt {
            failed_logins,
            window_start,
            now,
        };
        // Uncounted, the answer is not given.
        app.store.record_login(before, &counted).await?;
        lock_out_if_due(app, before, failed_logins, now).await?;
        return Err(ApiError::PasswordNotChanged);
    }
    hash_password(password).await
}

/// What writing `before` as `after` would be refused for by the store's conditions, read ahead of
/// the write: a unique value another user holds, or a change that can shut the tenant's first
/// administrator out. `None`: the write would commit, unless something changes in between.
async fn foreseen_refusal<S: UserStore>(
    app: &App<S>,
    before: &User,
    after: &User,
) -> ApiResult<Option<ApiError>> {
    let guarded = before.change_can_shut_out(after);
    let (taken, tenant) = tokio::try_join!(app.store.taken_unique_value(before, after), async {
        match guarded {
            true => app.store.get_tenant(&before.tenant_id).await,
            false => Ok(None),
        }
    })?;
    if let Some(field) = taken {
        return Ok(Some(ApiError::AlreadyExists(field)));
    }
    if tenant.is_some_and(|tenant| tenant.first_admin == before.user_id) {
        return Ok(Some(ApiError::FirstAdminProtected));
    }
    Ok(None)
}

/// The failure count (and its window's start) this attempt writes, or `None` when the window's
/// tries are used up (by failures, or by parallel attempts still being checked).
fn next_attempt<S: UserStore>(app: &App<S>, user: &User, now: Millis) -> Option<(u32, Millis)> {
    let policy = &app.config.lockout;
    let window_start = user
        .failed_window_start
        .filter(|start| now - start < policy.window_ms);
    let attempt = match window_start {
        Some(start) => (user.failed_logins + 1, start),
        None => (1, now),
    };
    (attempt.0 <= policy.threshold).then_some(attempt)
}

/// The first administrator of a new tenant.
#[derive(Debug, Clone)]
pub struct BootstrapRequest {
    pub tenant_id: String,
    pub user_id: String,
    pub password: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
}

/// Creates a tenant with its first administrator; `Ok(false)` when the tenant exists already, in
/// which case nothing changes.
pub async fn bootstrap<S: UserStore>(app: &App<S>, request: BootstrapRequest) -> ApiResult<bool> {
    validate::tenant_id("tenant_id", &request.tenant_id)?;
    note_target(&request.tenant_id, &request.user_id);
    if let Some(email) = &request.email {
        validate::email("email", email, 255)?;
    }
    if let Some(name) = &request.display_name {
        validate::display_name("name", name, 128)?;
    }
    if app.store.get_tenant(&request.tenant_id).await?.is_some() {
        return Ok(false);
    }
    let now = now();
    let admin = NewUser {
        tenant_id: request.tenant_id.clone(),
        user_id: request.user_id.clone(),
        login_name: None,
        display_name: request.display_name,
        email: request.email,
        password: Some(request.password),
        user_type: UserType::User,
        backend: Backend::Local,
        language: None,
        timezone: None,
        tags: Map::new(),
        role: Role::Admin,
        temporary_password: false,
        disabled: false,
        required_actions: Vec::new(),
        managed_by: None,
    }
    .into_user(app, now)
    .await?
    .0;
    let tenant = Tenant {
        tenant_id: request.tenant_id,
        first_admin: request.user_id,
        created_at: now,
        user_count: 1,
    };
    app.store.create_tenant(&tenant, &admin).await
}

/// Changes a user of the caller's tenant: reads caller and target in one round trip, lets `edit`
/// change the target (returning the messages the change sends), and writes it conditionally on the
/// version read. A change that changes nothing writes nothing. A user pending deletion is gone.
pub async fn manage_user<S: UserStore>(
    app: &App<S>,
    caller: &Caller,
    tenant_id: &str,
    user_id: &str,
    edit: impl FnOnce(&mut User, Millis) -> ApiResult<Vec<Notification>>,
) -> ApiResult<User> {
    let before = read_managed_user(app, caller, tenant_id, user_id).await?;
    write_managed_user(app, &caller.actor(), before, edit).await
}

/// The first half of `manage_user`: the target, once the caller may manage it; a user pending
/// deletion is gone.
pub async fn read_managed_user<S: UserStore>(
    app: &App<S>,
    by: impl Into<Authority<'_>>,
    tenant_id: &str,
    user_id: &str,
) -> ApiResult<User> {
    match by.into() {
        Authority::Caller(caller) => {
            authorize_admin(caller, tenant_id)?;
            live_target(app, caller, tenant_id, user_id).await
        }
        Authority::System(_) => {
            note_target(tenant_id, user_id);
            app.store
                .get_user(tenant_id, user_id)
                .await?
                .filter(|user| user.state != UserState::PendingDelete)
                .ok_or_else(|| ApiError::user_not_found(user_id))
        }
    }
}

/// The user a request acts on, for its access line.
pub(crate) fn note_target(tenant_id: &str, user_id: &str) {
    crate::notes::note(|notes| {
        notes.tenant.get_or_insert_with(|| tenant_id.to_owned());
        notes.target = Some(user_id.to_owned());
    });
}

/// Like `read_managed_user`, but the user may also act on themself.
pub async fn read_own_or_managed_user<S: UserStore>(
    app: &App<S>,
    caller: &Caller,
    tenant_id: &str,
    user_id: &str,
) -> ApiResult<User> {
    authorize_admin_or_self(caller, tenant_id, user_id)?;
    live_target(app, caller, tenant_id, user_id).await
}

async fn live_target<S: UserStore>(
    app: &App<S>,
    caller: &Caller,
    tenant_id: &str,
    user_id: &str,
) -> ApiResult<User> {
    let target = read_target(app, caller, tenant_id, user_id).await?;
    if target.state == UserState::PendingDelete {
        return Err(ApiError::user_not_found(user_id));
    }
    Ok(target)
}

/// A change of a user's state by an administrator (enable, disable, delete, `userStatus`): the
/// caller and the target read together (`read_target`), the caller checked before anything of the
/// target is told, then `check_target` refuses a target the change may not apply to, before `edit`
/// changes it; written as `manage_user` writes it.
pub async fn manage_user_state<S: UserStore>(
    app: &App<S>,
    caller: &Caller,
    tenant_id: &str,
    user_id: &str,
    check_target: impl FnOnce(&User) -> ApiResult<()>,
    edit: impl FnOnce(&mut User, Millis) -> ApiResult<()>,
) -> ApiResult<User> {
    authorize_admin(caller, tenant_id)?;
    let before = read_target(app, caller, tenant_id, user_id).await?;
    check_target(&before)?;
    write_managed_user(app, &caller.actor(), before, |user, now| {
        edit(user, now).map(|()| Vec::new())
    })
    .await
}

/// The second half of `manage_user`: applies `edit` to the user read and writes the change.
pub async fn write_managed_user<S: UserStore>(
    app: &App<S>,
    actor: &Actor,
    before: User,
    edit: impl FnOnce(&mut User, Millis) -> ApiResult<Vec<Notification>>,
) -> ApiResult<User> {
    let now = now();
    let mut after = before.clone();
    let notifications = edit(&mut after, now)?;
    if after == before && notifications.is_empty() {
        return Ok(before);
    }
    after.updated_at = now;
    let change = UserChange::new(&before, &after, &notifications, actor);
    app.store.update_user(&change).await?;
    Ok(change.after)
}

/// Seed 000's `op_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    /// Locked by an administrator: no login, tokens revoked, until UNLOCK.
    Lock,
    /// Lifts an administrator's lock and a lockout from failed logins, and clears the count.
    Unlock,
    /// A temporary password through the notification outbox; UPDATE_PASSWORD; tokens revoked.
    ResetPassword,
}

/// Sets a fresh password that the user must change at the next login, revoking their tokens.
pub(crate) fn set_temporary_password(user: &mut User, hash: String, now: Millis) -> ApiResult<()> {
    if user.backend == Backend::External {
        return Err(ApiError::ResetPasswordExternal);
    }
    if user.user_type == UserType::ApiUser {
        return Err(ApiError::invalid("user_id", "an API_USER has no password"));
    }
    user.password_hash = Some(hash);
    user.password_changed_at = Some(now);
    user.required_actions.insert(RequiredAction::UpdatePassword);
    user.revoke_tokens();
    Ok(())
}

pub async fn user_action<S: UserStore>(
    app: &App<S>,
    caller: &Caller,
    tenant_id: &str,
    user_id: &str,
    action: UserAction,
) -> ApiResult<User> {
    authorize_admin(caller, tenant_id)?;
    let temporary = match action {
        UserAction::ResetPassword => {
            let password = password::temporary_password(app.config.password_policy.min_classes);
            let hash = hash_password(&password).await?;
            Some((password, hash))
        }
        _ => None,
    };
    manage_user(app, caller, tenant_id, user_id, |user, now| match action {
        UserAction::Lock => {
            if user.lock != Some(LockReason::Admin) {
                user.lock = Some(LockReason::Admin);
                user.locked_until = None;
                user.revoke_tokens();
            }
            Ok(Vec::new())
        }
        UserAction::Unlock => {
            user.unlock();
            Ok(Vec::new())
        }
        UserAction::ResetPassword => {
            let (password, hash) = temporary.expect("prepared above");
            let channel = [Channel::Email, Channel::Phone]
                .into_iter()
                .find(|channel| outbox::recipient(user, *channel).is_some())
                .ok_or(ApiError::NoNotificationChannel)?;
            set_temporary_password(user, hash, now)?;
            Ok(vec![
                app.sealer
                    .temporary_password(user, &password, channel, now)?,
            ])
        }
    })
    .await
}

/// Length of the passwords the random-password API hands out (Huawei: at most 20).
pub const RANDOM_PASSWORD_LENGTH: usize = 16;

/// A fresh random password for the user, answered to the administrator once (and sent on the
/// requested channels); the user must change it at the next login and loses existing tokens.
pub async fn random_password<S: UserStore>(
    app: &App<S>,
    caller: &Caller,
    tenant_id: &str,
    user_id: &str,
    channels: &[Channel],
) -> ApiResult<String> {
    authorize_admin(caller, tenant_id)?;
    let password = password::random_password(RANDOM_PASSWORD_LENGTH);
    let hash = hash_password(&password).await?;
    manage_user(app, caller, tenant_id, user_id, |user, now| {
        if let Some(missing) = channels
            .iter()
            .find(|c| outbox::recipient(user, **c).is_none())
        {
            let name = match missing {
                Channel::Email => "an email address",
                Channel::Phone => "a mobile number",
            };
            return Err(ApiError::invalid(
                "notification_type",
                format!("the user has no {name}"),
            ));
        }
        set_temporary_password(user, hash, now)?;
        channels
            .iter()
            .map(|channel| {
                app.sealer
                    .temporary_password(user, &password, *channel, now)
            })
            .collect()
    })
    .await?;
    Ok(password)
}

/// A user changes their own password (Huawei IAM `POST /v3/users/{user_id}/password`): only with
/// their own live token, the right original password and a new one that meets the policy and
/// differs. Clears UPDATE_PASSWORD; every earlier token stops working.
pub async fn change_own_password<S: UserStore>(
    app: &App<S>,
    caller: &Caller,
    user_id: &str,
    original: &str,
    new_password: &str,
) -> ApiResult<()> {
    if caller.claims.sub != user_id {
        return Err(ApiError::PermissionDenied(
            "only the user may change their own password".into(),
        ));
    }
    let before = app.store.get_user(&caller.claims.ten, user_id).await?;
    let now = now();
    ensure_live(caller, before.as_ref(), now)?;
    let before = before.ok_or(ApiError::TokenInvalid)?;
    // A console-only user makes no API call at all, this one included (Huawei IAM.0081).
    if before.access_mode == AccessMode::Console {
        return Err(ApiError::ConsoleOnlyUser);
    }
    if !before.enable_change_password {
        return Err(ApiError::PermissionDenied(
            "password changes are disabled for this user".into(),
        ));
    }
    // The holder of the user's live token learns that the account is locked, and until when,
    // rather than a verdict on the original password (which a locked account does not check).
    if before.is_locked(now) {
        return Err(ApiError::AccountLocked {
            until: before.locked_until.unwrap_or(now),
        });
    }
    // A wrong original password counts like a failed login, so a stolen token cannot be used to
    // guess the password and take the account over.
    let Some((failed_logins, window_start)) = next_attempt(app, &before, now) else {
        verify_password(original, None).await;
        return Err(ApiError::WrongOriginalPassword);
    };
    app.store
        .record_login(
            &before,
            &LoginRecord::Attempt {
                failed_logins,
                window_start,
                now,
            },
        )
        .await?;
    if verify_password(original, before.password_hash.as_deref()).await == Verified::No {
        lock_out_if_due(app, &before, failed_logins, now).await?;
        return Err(ApiError::WrongOriginalPassword);
    }
    // The store now holds this attempt's count; the change clears it.
    let before = User {
        failed_logins,
        failed_window_start: Some(window_start),
        ..before
    };
    let context = PasswordContext {
        login_name: &before.login_name,
        email: before.email.as_deref(),
        phone: before.phone.as_deref(),
    };
    if new_password == original {
        return Err(ApiError::PasswordNotChanged);
    }
    app.config.password_policy.check(new_password, &context)?;
    let mut after = before.clone();
    after.set_password(hash_password(new_password).await?, now);
    after.forget_failed_logins();
    after.updated_at = now;
    app.store
        .update_user(&UserChange::new(&before, &after, &[], &caller.actor()))
        .await
}
