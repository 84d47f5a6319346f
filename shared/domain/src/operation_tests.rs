//! The operations' rules on the in-memory store: who may act, login and lockout, the first
//! administrator, uniqueness, quota, email codes, passwords, the audit trail and housekeeping.
//! The same behaviour is tested end to end on DynamoDB Local in tests/.

use serde_json::Map;

use crate::account::{self, Lifecycle, ProfileChange};
use crate::app::App;
use crate::config::Config;
use crate::error::{ApiError, UniqueField};
use crate::housekeeping;
use crate::keys::KeyRing;
use crate::memory::MemoryStore;
use crate::model::{Backend, Facet, LockReason, Role, UserState, UserType};
use crate::ops::{self, BootstrapRequest, LoginIdentity, LoginRequest, NewUser, UserAction};
use crate::outbox::Template;
use crate::store::USER_COUNT;
use crate::store::prelude::*;
use crate::token::Caller;

const TENANT: &str = "acme";
const ADMIN_PASSWORD: &str = "Admin-Passw0rd-1";
const USER_PASSWORD: &str = "User-Passw0rd-1";

fn app_with(config: Config) -> App<MemoryStore> {
    let ring = KeyRing::single("k1", "unit-test signing key of at least 32 bytes").unwrap();
    App::with_ring(config, MemoryStore::new(), &ring, None, None).unwrap()
}

fn app() -> App<MemoryStore> {
    app_with(Config::defaults("unit"))
}

async fn login(app: &App<MemoryStore>, user_id: &str, password: &str) -> Result<Caller, ApiError> {
    let (_, issued) = ops::login(
        app,
        LoginRequest {
            tenant_id: TENANT.into(),
            identity: LoginIdentity::Id(user_id.into()),
            password: password.into(),
            scope_tenants: vec![TENANT.into()],
        },
    )
    .await?;
    app.tokens.verify(&issued.token)
}

/// The tenant with its first administrator, and the administrator's token.
async fn tenant(app: &App<MemoryStore>) -> Caller {
    let created = ops::bootstrap(
        app,
        BootstrapRequest {
            tenant_id: TENANT.into(),
            user_id: "admin".into(),
            password: ADMIN_PASSWORD.into(),
            email: None,
            display_name: None,
        },
    )
    .await
    .unwrap();
    assert!(created);
    login(app, "admin", ADMIN_PASSWORD).await.unwrap()
}

fn new_user(user_id: &str, email: Option<&str>) -> NewUser {
    NewUser {
        tenant_id: TENANT.into(),
        user_id: user_id.into(),
        login_name: None,
        display_name: None,
        email: email.map(str::to_owned),
        password: Some(USER_PASSWORD.into()),
        user_type: UserType::User,
        backend: Backend::Local,
        language: None,
        timezone: None,
        tags: Map::new(),
        role: Role::Member,
        temporary_password: false,
        disabled: false,
        required_actions: Vec::new(),
        managed_by: None,
    }
}

#[tokio::test]
async fn bootstrap_creates_the_first_administrator_once() {
    let app = app();
    let admin = tenant(&app).await;
    assert_eq!(admin.claims.role, Role::Admin);
    let again = ops::bootstrap(
        &app,
        BootstrapRequest {
            tenant_id: TENANT.into(),
            user_id: "intruder".into(),
            password: ADMIN_PASSWORD.into(),
            email: None,
            display_name: None,
        },
    )
    .await
    .unwrap();
    assert!(!again, "the second bootstrap creates nothing");
    assert_eq!(app.store.get_user(TENANT, "intruder").await.unwrap(), None);
    let tenant = app.store.get_tenant(TENANT).await.unwrap().unwrap();
    assert_eq!(
        (tenant.first_admin.as_str(), tenant.user_count),
        ("admin", 1)
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_fail_alike() {
    let app = app();
    tenant(&app).await;
    let wrong = login(&app, "admin", "Wrong-Passw0rd-1").await.unwrap_err();
    let unknown = login(&app, "nobody", ADMIN_PASSWORD).await.unwrap_err();
    assert_eq!(wrong, ApiError::LoginFailed);
    assert_eq!(unknown, ApiError::LoginFailed);
    let admin = app.store.get_user(TENANT, "admin").await.unwrap().unwrap();
    assert_eq!(
        admin.failed_logins, 1,
        "only the real user's failure counts"
    );
}

#[tokio::test]
async fn the_failures_that_reach_the_threshold_lock_out_even_the_right_password() {
    let app = app();
    tenant(&app).await;
    ops::create_user(
        &app,
        &login(&app, "admin", ADMIN_PASSWORD).await.unwrap(),
        new_user("bob", None),
    )
    .await
    .unwrap();
    for _ in 0..app.config.lockout.threshold {
        assert_eq!(
            login(&app, "bob", "Wrong-Passw0rd-1").await.unwrap_err(),
            ApiError::LoginFailed
        );
    }
    let bob = app.store.get_user(TENANT, "bob").await.unwrap().unwrap();
    assert_eq!(bob.lock, Some(LockReason::TooManyFailures));
    assert!(login(&app, "bob", USER_PASSWORD).await.is_err());
}

#[tokio::test]
async fn the_first_administrator_can_be_neither_disabled_deleted_nor_locked() {
    let app = app();
    let admin = tenant(&app).await;
    for change in [Lifecycle::Disable, Lifecycle::Delete] {
        let refused = account::change_lifecycle(&app, &admin, TENANT, "admin", change).await;
        assert_eq!(refused.unwrap_err(), ApiError::FirstAdminProtected);
    }
    let refused = ops::user_action(&app, &admin, TENANT, "admin", UserAction::Lock).await;
    assert_eq!(refused.unwrap_err(), ApiError::FirstAdminProtected);
    let stored = app.store.get_user(TENANT, "admin").await.unwrap().unwrap();
    assert_eq!((stored.state, stored.lock), (UserState::Enabled, None));
    assert!(
        app.store
            .audit_trail(TENANT, "admin")
            .await
            .unwrap()
            .is_empty()
    );
    login(&app, "admin", ADMIN_PASSWORD).await.unwrap();
}

#[tokio::test]
async fn a_second_administrator_can_be_disabled_and_the_trail_says_who_did_it() {
    let app = app();
    let admin = tenant(&app).await;
    let mut second = new_user("second", None);
    second.role = Role::Admin;
    ops::create_user(&app, &admin, second).await.unwrap();
    let token = login(&app, "second", USER_PASSWORD).await.unwrap();
    account::change_lifecycle(&app, &admin, TENANT, "second", Lifecycle::Disable)
        .await
        .unwrap();
    let trail = app.store.audit_trail(TENANT, "second").await.unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(
        (
            trail[0].from_state,
            trail[0].to_state,
            trail[0].actor.as_str()
        ),
        (UserState::Enabled, UserState::Disabled, "admin")
    );
    // Disabling revoked the token it held.
    let revoked = ops::get_user(&app, &token, TENANT, "second")
        .await
        .unwrap_err();
    assert_eq!(revoked, ApiError::TokenInvalid);
}

#[tokio::test]
async fn a_member_manages_nobody_but_reads_themself() {
    let app = app();
    let admin = tenant(&app).await;
    ops::create_user(&app, &admin, new_user("bob", None))
        .await
        .unwrap();
    let bob = login(&app, "bob", USER_PASSWORD).await.unwrap();
    assert!(matches!(
        ops::create_user(&app, &bob, new_user("eve", None)).await,
        Err(ApiError::PermissionDenied(_))
    ));
    assert!(matches!(
        ops::get_user(&app, &bob, TENANT, "admin").await,
        Err(ApiError::PermissionDenied(_))
    ));
    assert_eq!(
        ops::get_user(&app, &bob, TENANT, "bob")
            .await
            .unwrap()
            .user_id,
        "bob"
    );
}

#[tokio::test]
async fn an_email_in_use_in_any_case_is_refused_and_nothing_is_written() {
    let app = app();
    let admin = tenant(&app).await;
    ops::create_user(&app, &admin, new_user("bob", Some("bob@example.com")))
        .await
        .unwrap();
    let clash = ops::create_user(&app, &admin, new_user("robert", Some("BOB@Example.com"))).await;
    assert_eq!(
        clash.unwrap_err(),
        ApiError::AlreadyExists(UniqueField::Email)
    );
    assert_eq!(app.store.get_user(TENANT, "robert").await.unwrap(), None);
    let tenant = app.store.get_tenant(TENANT).await.unwrap().unwrap();
    assert_eq!(tenant.user_count, 2);
}

#[tokio::test]
async fn a_changed_email_frees_the_old_address() {
    let app = app();
    let admin = tenant(&app).await;
    ops::create_user(&app, &admin, new_user("bob", Some("bob@example.com")))
        .await
        .unwrap();
    let change = ProfileChange {
        email: Some("robert@example.com".into()),
        ..ProfileChange::default()
    };
    account::update_profile(&app, &admin, TENANT, "bob", change)
        .await
        .unwrap();
    let holder = |email: &'static str| {
        let app = &app;
        async move {
            app.store
                .find_user_id(TENANT, UniqueField::Email, email)
                .await
                .unwrap()
        }
    };
    assert_eq!(holder("bob@example.com").await, None);
    assert_eq!(holder("robert@example.com").await.as_deref(), Some("bob"));
    ops::create_user(&app, &admin, new_user("bobby", Some("bob@example.com")))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_quota_counts_live_users() {
    let app = app_with(Config {
        tenant_user_quota: 2,
        ..Config::defaults("unit")
    });
    let admin = tenant(&app).await;
    let bob = ops::create_user(&app, &admin, new_user("bob", None))
        .await
        .unwrap();
    let over = ops::create_user(&app, &admin, new_user("carol", None)).await;
    assert_eq!(over.unwrap_err(), ApiError::QuotaExceeded);
    // The counters listings count from, by the names they read.
    let counters = app.store.tenant_counters(TENANT).await.unwrap();
    assert_eq!(counters.get(USER_COUNT), Some(&2), "{counters:?}");
    assert_eq!(
        counters.get(&Facet::of(&bob).key()),
        Some(&2),
        "{counters:?}"
    );
}

#[tokio::test]
async fn an_email_is_verified_only_with_the_code_mailed_to_it() {
    let app = app();
    let admin = tenant(&app).await;
    ops::create_user(&app, &admin, new_user("bob", Some("bob@example.com")))
        .await
        .unwrap();
    account::verify_email(&app, &admin, TENANT, "bob", None, false)
        .await
        .unwrap();
    let messages = app.store.waiting_messages(TENANT, "bob");
    let mail = messages
        .iter()
        .find(|m| m.template == Template::VerificationCode)
        .expect("a code is mailed");
    assert_eq!(mail.recipient, "bob@example.com");
    let code = app.sealer.open(mail).unwrap().expect("the code");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = account::confirm_email(&app, &admin, TENANT, "bob", wrong).await;
    assert_eq!(refused.unwrap_err(), ApiError::InvalidVerifyCode);
    let bob = account::confirm_email(&app, &admin, TENANT, "bob", &code)
        .await
        .unwrap();
    assert!(bob.email_verified);
    let again = account::confirm_email(&app, &admin, TENANT, "bob", &code).await;
    assert!(again.is_err(), "a code works once");
}

#[tokio::test]
async fn changing_ones_own_password_needs_the_original_and_ends_earlier_tokens() {
    let app = app();
    let admin = tenant(&app).await;
    ops::create_user(&app, &admin, new_user("bob", None))
        .await
        .unwrap();
    let bob = login(&app, "bob", USER_PASSWORD).await.unwrap();
    let wrong =
        ops::change_own_password(&app, &bob, "bob", "Not-The-Passw0rd", "New-Passw0rd-22").await;
    assert_eq!(wrong.unwrap_err(), ApiError::WrongOriginalPassword);
    ops::change_own_password(&app, &bob, "bob", USER_PASSWORD, "New-Passw0rd-22")
        .await
        .unwrap();
    assert_eq!(
        ops::get_user(&app, &bob, TENANT, "bob").await.unwrap_err(),
        ApiError::TokenInvalid
    );
    assert_eq!(
        login(&app, "bob", USER_PASSWORD).await.unwrap_err(),
        ApiError::LoginFailed
    );
    login(&app, "bob", "New-Passw0rd-22").await.unwrap();
}

#[tokio::test]
async fn an_unlock_lifts_a_lockout() {
    let app = app();
    let admin = tenant(&app).await;
    ops::create_user(&app, &admin, new_user("bob", None))
        .await
        .unwrap();
    for _ in 0..app.config.lockout.threshold {
        let _ = login(&app, "bob", "Wrong-Passw0rd-1").await;
    }
    assert!(login(&app, "bob", USER_PASSWORD).await.is_err());
    ops::user_action(&app, &admin, TENANT, "bob", UserAction::Unlock)
        .await
        .unwrap();
    login(&app, "bob", USER_PASSWORD).await.unwrap();
}

#[tokio::test]
async fn housekeeping_purges_deleted_users_after_the_retention_and_frees_their_values() {
    let app = app();
    let admin = tenant(&app).await;
    ops::create_user(&app, &admin, new_user("bob", Some("bob@example.com")))
        .await
        .unwrap();
    account::change_lifecycle(&app, &admin, TENANT, "bob", Lifecycle::Delete)
        .await
        .unwrap();
    let early = housekeeping::run(&app, ops::now()).await;
    assert_eq!((early.tenants, early.purged), (1, 0));
    let later = ops::now() + app.config.deleted_user_retention_ms + 1;
    let report = housekeeping::run(&app, later).await;
    assert_eq!(report.purged, 1, "{:?}", report.errors);
    assert_eq!(app.store.get_user(TENANT, "bob").await.unwrap(), None);
    assert_eq!(
        app.store
            .find_user_id(TENANT, UniqueField::Email, "bob@example.com")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_user_pending_deletion_is_gone_and_its_id_can_be_taken_again() {
    let app = app();
    let admin = tenant(&app).await;
    ops::create_user(&app, &admin, new_user("bob", None))
        .await
        .unwrap();
    account::change_lifecycle(&app, &admin, TENANT, "bob", Lifecycle::Delete)
        .await
        .unwrap();
    // Read as it is (the dialects answer it as gone), never changed.
    let read = ops::get_user(&app, &admin, TENANT, "bob").await.unwrap();
    assert_eq!(read.state, UserState::PendingDelete);
    let change = ProfileChange {
        display_name: Some("Bob".into()),
        ..ProfileChange::default()
    };
    assert!(matches!(
        account::update_profile(&app, &admin, TENANT, "bob", change).await,
        Err(ApiError::NotFound { .. })
    ));
    let again = ops::create_user(&app, &admin, new_user("bob", None))
        .await
        .unwrap();
    assert_eq!(again.state, UserState::Enabled);
    let trail = app.store.audit_trail(TENANT, "bob").await.unwrap();
    let states: Vec<_> = trail.iter().map(|r| (r.from_state, r.to_state)).collect();
    assert_eq!(
        states,
        vec![
            (UserState::Enabled, UserState::PendingDelete),
            (UserState::PendingDelete, UserState::Enabled)
        ]
    );
}
