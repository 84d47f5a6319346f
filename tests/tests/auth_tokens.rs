//! `POST /v3/auth/tokens` against DynamoDB Local.

mod common;

use futures::future::join_all;

use common::{ADMIN_PASSWORD, TestEnv, config};
use serde_json::json;
use shared::model::{LockReason, UserState};
use shared::store::UserStore;

/// A change applied to a stored user.
type Edit = fn(&mut shared::model::User);

fn is_iam_time(value: &serde_json::Value) -> bool {
    let text = value.as_str().unwrap_or_default();
    // 2020-01-04T09:05:22.701000Z
    text.len() == 27 && text.ends_with('Z') && text.as_bytes()[19] == b'.'
}

#[tokio::test]
async fn password_login_answers_201_with_the_token_in_x_subject_token() {
    let env = TestEnv::new().await;
    let reply = env.try_login("admin", ADMIN_PASSWORD).await;
    assert_eq!(reply.status, 201, "{}", reply.raw);
    let token = reply.headers["x-subject-token"].to_str().unwrap();
    assert_eq!(token.split('.').count(), 3);
    assert!(
        !reply.raw.contains(token),
        "the token travels only in the header"
    );

    let body = &reply.body["token"];
    assert_eq!(body["methods"], json!(["password"]));
    assert_eq!(body["user"]["id"], "admin");
    assert_eq!(body["user"]["name"], "admin");
    assert_eq!(
        body["user"]["domain"],
        json!({"id": env.tenant, "name": env.tenant})
    );
    assert_eq!(body["user"]["password_expires_at"], "");
    assert_eq!(
        body["domain"],
        json!({"id": env.tenant, "name": env.tenant})
    );
    assert_eq!(body["roles"][0]["name"], "admin");
    assert!(
        is_iam_time(&body["issued_at"]) && is_iam_time(&body["expires_at"]),
        "{body}"
    );
    assert!(body["catalog"].is_array());
}

#[tokio::test]
async fn nocatalog_drops_the_catalog_and_project_scope_is_answered() {
    let env = TestEnv::new().await;
    let body = json!({"auth": {"identity": {"methods": ["password"],
        "password": {"user": {"name": "admin", "password": ADMIN_PASSWORD, "domain": {"name": env.tenant}}}},
        "scope": {"project": {"id": env.tenant}}}});
    let reply = env
        .request(
            "POST",
            "/v3/auth/tokens?nocatalog=true",
            &[],
            body.to_string(),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.raw);
    assert!(reply.body["token"].get("catalog").is_none());
    assert_eq!(reply.body["token"]["project"]["id"], env.tenant.as_str());
}

#[tokio::test]
async fn a_user_can_log_in_by_id_with_a_domain_scope() {
    let env = TestEnv::new().await;
    let body = json!({"auth": {"identity": {"methods": ["password"],
        "password": {"user": {"id": "admin", "password": ADMIN_PASSWORD}}},
        "scope": {"domain": {"name": env.tenant}}}});
    let reply = env
        .request("POST", "/v3/auth/tokens", &[], body.to_string())
        .await;
    assert_eq!(reply.status, 201, "{}", reply.raw);
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_401() {
    let env = TestEnv::new().await;
    let wrong = env.try_login("admin", "Wrong-Passw0rd").await;
    let unknown = env.try_login("nobody", "Wrong-Passw0rd").await;
    wrong.expect_error(401);
    assert_eq!(wrong.raw, unknown.raw);
    assert_eq!(wrong.headers.get("x-subject-token"), None);
    let huge_name = env.try_login(&"n".repeat(3000), "Wrong-Passw0rd").await;
    assert_eq!(
        huge_name.raw, wrong.raw,
        "an impossible name is just an unknown user"
    );
    let other_tenant = env.request("POST", "/v3/auth/tokens", &[],
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",
            "password": ADMIN_PASSWORD, "domain": {"name": "no-such-tenant"}}}}}}).to_string()).await;
    assert_eq!(other_tenant.raw, wrong.raw);
}

#[tokio::test]
async fn a_scope_of_another_tenant_gets_no_token() {
    let env = TestEnv::new().await;
    let body = json!({"auth": {"identity": {"methods": ["password"],
        "password": {"user": {"name": "admin", "password": ADMIN_PASSWORD, "domain": {"name": env.tenant}}}},
        "scope": {"domain": {"name": "someone-else"}}}});
    let reply = env
        .request("POST", "/v3/auth/tokens", &[], body.to_string())
        .await;
    assert_eq!(reply.expect_error(401), "LOGIN_FAILED");
}

#[tokio::test]
async fn five_failures_lock_the_account_and_the_lock_expires() {
    let mut settings = config();
    settings.lockout.duration_ms = 1500;
    let env = TestEnv::with_config(settings).await;
    for _ in 0..5 {
        env.try_login("admin", "Wrong-Passw0rd")
            .await
            .expect_error(401);
    }
    let stored = env.stored("admin").await;
    assert_eq!(stored.lock, Some(LockReason::TooManyFailures));
    let locked = env.try_login("admin", ADMIN_PASSWORD).await;
    locked.expect_error(401);
    assert_eq!(
        locked.raw,
        env.try_login("nobody", "x").await.raw,
        "a lock looks like any failure"
    );

    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    env.login("admin", ADMIN_PASSWORD).await;
    let stored = env.stored("admin").await;
    assert_eq!((stored.lock, stored.failed_logins), (None, 0));
}

#[tokio::test]
async fn failures_outside_the_window_do_not_add_up() {
    let mut settings = config();
    settings.lockout.window_ms = 300;
    let env = TestEnv::with_config(settings).await;
    for _ in 0..4 {
        env.try_login("admin", "Wrong-Passw0rd")
            .await
            .expect_error(401);
    }
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    env.try_login("admin", "Wrong-Passw0rd")
        .await
        .expect_error(401);
    env.login("admin", ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn disabled_admin_locked_expired_and_pending_delete_users_get_no_token() {
    let env = TestEnv::new().await;
    let changes: [(&str, Edit); 4] = [
        ("disabled", |u| u.state = UserState::Disabled),
        ("locked", |u| u.lock = Some(LockReason::Admin)),
        ("expired", |u| u.account_expires = Some(1_000)),
        ("deleted", |u| u.state = UserState::PendingDelete),
    ];
    for (what, change) in changes {
        let user_id = format!("{what}@example.com");
        env.create_user(&user_id, "User-Passw0rd", json!({})).await;
        env.login(&user_id, "User-Passw0rd").await;
        env.change_user(&user_id, change).await;
        env.try_login(&user_id, "User-Passw0rd")
            .await
            .expect_error(401);
    }
}

#[tokio::test]
async fn login_sets_last_accessed_at_and_rehashes_outdated_hashes() {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let env = TestEnv::new().await;
    env.create_user("old@example.com", "User-Passw0rd", json!({}))
        .await;
    let before = env.stored("old@example.com").await;
    assert_eq!(before.last_accessed_at, None);
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(8192, 1, 1, None).unwrap(),
    );
    let mut after = before.clone();
    after.password_hash = Some(
        weak.hash_password(b"User-Passw0rd", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string(),
    );
    after.version += 1;
    env.app
        .store
        .update_user(&before, &after, &[], &shared::model::Actor::system("test"))
        .await
        .unwrap();

    env.login("old@example.com", "User-Passw0rd").await;
    let stored = env.stored("old@example.com").await;
    assert!(stored.last_accessed_at.is_some());
    assert!(
        stored
            .password_hash
            .unwrap()
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
    assert_eq!(
        stored.version, after.version,
        "login does not count as a change"
    );
}

#[tokio::test]
async fn bad_login_requests_are_400_or_413_in_the_error_shape() {
    let env = TestEnv::new().await;
    let cases = [
        ("{not json", "MALFORMED_REQUEST"),
        ("[]", "MALFORMED_REQUEST"),
        ("", "MALFORMED_REQUEST"),
        (r#"{"auth": {}}"#, "MISSING_PARAMETER"),
        (
            r#"{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "x"}}}}}}"#,
            "MISSING_PARAMETER",
        ),
        (
            r#"{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "password": "x"}}}}}"#,
            "MISSING_PARAMETER",
        ),
        (
            r#"{"auth": {"identity": {"methods": ["token"], "password": {"user": {"name": "admin", "password": "x", "domain": {"name": "x"}}}}}}"#,
            "INVALID_PARAMETER",
        ),
        (
            r#"{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": 7, "password": "x", "domain": {"name": "x"}}}}}}"#,
            "INVALID_PARAMETER",
        ),
        (
            r#"{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "a", "password": "x", "domain": {"name": "x"}}}}, "extra": 1}}"#,
            "UNKNOWN_PARAMETER",
        ),
    ];
    for (body, code) in cases {
        let reply = env.request("POST", "/v3/auth/tokens", &[], body).await;
        assert_eq!(reply.expect_error(400), code, "{body}");
    }
    let huge = format!(r#"{{"auth": "{}"}}"#, "x".repeat(70 * 1024));
    assert_eq!(
        env.request("POST", "/v3/auth/tokens", &[], huge)
            .await
            .expect_error(413),
        "PAYLOAD_TOO_LARGE"
    );
}

#[tokio::test]
async fn parallel_wrong_guesses_cannot_outrun_the_lockout() {
    let env = TestEnv::new().await;
    let guesses = (0..20).map(|i| {
        let env = &env;
        async move { env.try_login("admin", &format!("Wrong-Passw0rd-{i}")).await }
    });
    for reply in join_all(guesses).await {
        reply.expect_error(401);
    }
    let stored = env.stored("admin").await;
    assert_eq!(stored.lock, Some(LockReason::TooManyFailures), "{stored:?}");
    env.try_login("admin", ADMIN_PASSWORD)
        .await
        .expect_error(401);
}

#[tokio::test]
async fn an_attempt_is_counted_before_its_password_is_judged() {
    let env = TestEnv::new().await;
    let now = shared::ops::now();
    // Four failures in the window: one more try is left, whoever takes it.
    env.change_user("admin", |u| {
        u.failed_logins = 4;
        u.failed_window_start = Some(now);
    })
    .await;
    let logins = (0..6).map(|_| {
        let env = &env;
        async move { env.try_login("admin", ADMIN_PASSWORD).await.status }
    });
    let statuses = join_all(logins).await;
    assert!(
        statuses.contains(&201),
        "the free try with the right password succeeds: {statuses:?}"
    );
    let stored = env.stored("admin").await;
    assert_eq!(
        (stored.failed_logins, stored.lock),
        (0, None),
        "a success clears the count"
    );
}
