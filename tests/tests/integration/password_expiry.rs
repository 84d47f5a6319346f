//! The tenant policy's maximum password age, against DynamoDB Local.

use crate::common;

use common::{TestEnv, config};
use serde_json::json;

#[tokio::test]
async fn an_expired_password_logs_in_but_must_be_changed_first_unless_it_never_expires() {
    let mut settings = config();
    settings.password_max_age_ms = Some(86_400_000);
    let env = TestEnv::with_config(settings).await;
    env.create_user("old@example.com", "User-Passw0rd", json!({}))
        .await;
    env.create_user("kept@example.com", "User-Passw0rd", json!({}))
        .await;
    let two_days_ago = lambda::ops::now() - 2 * 86_400_000;
    for user in ["old@example.com", "kept@example.com", "admin"] {
        env.change_user(user, |u| u.password_changed_at = Some(two_days_ago))
            .await;
    }
    env.change_user("kept@example.com", |u| u.password_never_expired = true)
        .await;

    let reply = env.try_login("admin", common::ADMIN_PASSWORD).await;
    assert_eq!(reply.status, 201, "{}", reply.raw);
    let expires = reply.body["token"]["user"]["password_expires_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(expires, lambda::iam::time(two_days_ago + 86_400_000));
    let token = reply.headers["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let refused = env
        .spaceone(
            "get",
            &token,
            json!({"user_id": "admin", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(refused.expect_error(403), "ERROR_PERMISSION_DENIED");

    let change = json!({"user": {"original_password": common::ADMIN_PASSWORD, "password": "Fresh-Passw0rd1"}});
    let changed = env
        .request(
            "POST",
            "/v3/users/admin/password",
            &[("x-auth-token", &token)],
            change.to_string(),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.raw);
    let fresh = env.login("admin", "Fresh-Passw0rd1").await;
    assert_eq!(
        env.spaceone(
            "get",
            &fresh,
            json!({"user_id": "kept@example.com", "domain_id": env.tenant})
        )
        .await
        .status,
        200
    );

    let kept = env.try_login("kept@example.com", "User-Passw0rd").await;
    assert_eq!(
        kept.body["token"]["user"]["password_expires_at"], "",
        "never expires"
    );
}

#[tokio::test]
async fn seed_001_answers_when_the_password_expires() {
    let mut settings = config();
    settings.password_max_age_ms = Some(86_400_000);
    let env = TestEnv::with_config(settings).await;
    env.create_user("dated@example.com", "User-Passw0rd", json!({}))
        .await;
    let changed_at = env
        .stored("dated@example.com")
        .await
        .password_changed_at
        .unwrap();
    let reply = env
        .request(
            "PUT",
            "/v3.0/OS-USER/users/dated@example.com",
            &[("x-auth-token", &env.admin_token)],
            json!({"user": {"description": "dated"}}).to_string(),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(
        reply.body["user"]["password_expires_at"],
        lambda::iam::time(changed_at + 86_400_000)
    );
}

/// Issue 30, finding 1: an expired password under a maximum age set later must not shut the first
/// administrator out: they may always change it (`enable_change_password: false` is refused for
/// them), and then manage again.
#[tokio::test]
async fn the_first_administrator_with_an_expired_password_changes_it_and_goes_on() {
    let mut settings = config();
    settings.password_max_age_ms = Some(86_400_000);
    let env = TestEnv::with_config(settings).await;
    let refused = env
        .request(
            "PUT",
            &format!("/v2/{}/users/admin", env.tenant),
            &[("x-auth-token", &env.admin_token)],
            json!({"enable_change_password": false}).to_string(),
        )
        .await;
    assert_eq!(refused.expect_error(400), "FIRST_ADMIN_PROTECTED");
    let two_days_ago = lambda::ops::now() - 2 * 86_400_000;
    env.change_user("admin", |u| u.password_changed_at = Some(two_days_ago))
        .await;
    let token = env.login("admin", common::ADMIN_PASSWORD).await;
    let blocked = env.get_info("admin").await;
    assert_eq!(blocked.expect_error(403), "ERROR_PERMISSION_DENIED");
    let changed = env
        .request(
            "POST",
            "/v3/users/admin/password",
            &[("x-auth-token", &token)],
            json!({"user": {"original_password": common::ADMIN_PASSWORD, "password": "Next-Admin-Passw0rd1"}})
                .to_string(),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.raw);
    let token = env.login("admin", "Next-Admin-Passw0rd1").await;
    let reply = env
        .spaceone(
            "get",
            &token,
            json!({"user_id": "admin", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
}
