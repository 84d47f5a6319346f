//! Seed 002: `PUT /v2/{project_id}/users/{user_id}` against DynamoDB Local.

use crate::common;

use common::TestEnv;
use lambda::model::{ActiveType, DisabledBy, RequiredAction, UserState};
use serde_json::{Value, json};

async fn modify(env: &TestEnv, token: &str, user_id: &str, body: Value) -> common::Reply {
    let path = format!("/v2/{}/users/{user_id}", env.tenant);
    env.request("PUT", &path, &[("x-auth-token", token)], body.to_string())
        .await
}

#[tokio::test]
async fn every_field_lands_on_the_canonical_user_and_reads_back_through_seed_004() {
    let env = TestEnv::new().await;
    env.create_user(
        "desk@example.com",
        "User-Passw0rd",
        json!({"email": "desk@example.com"}),
    )
    .await;
    let reply = modify(
        &env,
        &env.admin_token,
        "desk@example.com",
        json!({"description": "API test user.", "user_email": "test@huawei.com", "user_phone": "+8612345678910",
            "active_type": "ADMIN_ACTIVATE", "account_expires": "2099-01-02T03:04:05.678Z",
            "enable_change_password": false, "next_login_change_password": true, "password_never_expired": true}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(reply.body, json!({"id": "desk@example.com"}));

    let stored = env.stored("desk@example.com").await;
    assert_eq!(stored.description.as_deref(), Some("API test user."));
    assert_eq!(stored.email.as_deref(), Some("test@huawei.com"));
    assert_eq!(stored.phone.as_deref(), Some("+8612345678910"));
    assert_eq!(stored.active_type, ActiveType::AdminActivate);
    assert_eq!(stored.account_expires, Some(4_071_006_245_678));
    assert!(!stored.enable_change_password && stored.password_never_expired);
    assert!(
        stored
            .required_actions
            .contains(&RequiredAction::UpdatePassword)
    );

    let info = env.get_info("desk@example.com").await;
    assert_eq!(
        info.body["email"], "test@huawei.com",
        "user_email here is email in seed 004"
    );
    assert_eq!(info.body["required_actions"], json!(["UPDATE_PASSWORD"]));

    // The old address is free again.
    env.create_user(
        "other@example.com",
        "User-Passw0rd",
        json!({"email": "desk@example.com"}),
    )
    .await;
    // account_expires "0" means never; next_login_change_password false clears the action.
    let reply = modify(
        &env,
        &env.admin_token,
        "desk@example.com",
        json!({"account_expires": "0", "next_login_change_password": false}),
    )
    .await;
    assert_eq!(reply.status, 200);
    let stored = env.stored("desk@example.com").await;
    assert_eq!(stored.account_expires, None);
    assert!(stored.required_actions.is_empty());
}

#[tokio::test]
async fn disabled_true_is_state_disabled_everywhere_and_revokes_tokens() {
    let env = TestEnv::new().await;
    env.create_user("off@example.com", "User-Passw0rd", json!({}))
        .await;
    let token = env.login("off@example.com", "User-Passw0rd").await;
    assert_eq!(
        modify(
            &env,
            &env.admin_token,
            "off@example.com",
            json!({"disabled": true})
        )
        .await
        .status,
        200
    );
    let info = env.get_info("off@example.com").await;
    assert_eq!(info.body["state"], "DISABLED");
    assert_eq!(
        env.stored("off@example.com").await.disabled_by,
        Some(DisabledBy::Admin)
    );
    env.try_login("off@example.com", "User-Passw0rd")
        .await
        .expect_error(401);
    let old = env
        .request(
            "POST",
            "/v3/users/off@example.com/password",
            &[("x-auth-token", &token)],
            json!({"user": {"original_password": "User-Passw0rd", "password": "Next-Passw0rd1"}})
                .to_string(),
        )
        .await;
    old.expect_error(401);

    assert_eq!(
        modify(
            &env,
            &env.admin_token,
            "off@example.com",
            json!({"disabled": false})
        )
        .await
        .status,
        200
    );
    assert_eq!(
        env.stored("off@example.com").await.state,
        UserState::Enabled
    );
    env.login("off@example.com", "User-Passw0rd").await;
}

#[tokio::test]
async fn a_past_account_expiry_stops_login() {
    let env = TestEnv::new().await;
    env.create_user("late@example.com", "User-Passw0rd", json!({}))
        .await;
    let reply = modify(
        &env,
        &env.admin_token,
        "late@example.com",
        json!({"account_expires": "2001-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(reply.status, 200);
    env.try_login("late@example.com", "User-Passw0rd")
        .await
        .expect_error(401);
}

#[tokio::test]
async fn lifecycle_rules_hold_here_too() {
    let env = TestEnv::new().await;
    let first_admin = modify(&env, &env.admin_token, "admin", json!({"disabled": true})).await;
    assert_eq!(first_admin.expect_error(400), "FIRST_ADMIN_PROTECTED");

    env.create_user("synced@example.com", "User-Passw0rd", json!({}))
        .await;
    env.change_user("synced@example.com", |u| u.disable(DisabledBy::Sync))
        .await;
    let refused = modify(
        &env,
        &env.admin_token,
        "synced@example.com",
        json!({"disabled": false}),
    )
    .await;
    assert_eq!(refused.expect_error(409), "USER_STATE_CONFLICT");
    assert_eq!(
        env.stored("synced@example.com").await.state,
        UserState::Disabled
    );

    env.create_user("gone@example.com", "User-Passw0rd", json!({}))
        .await;
    env.change_user("gone@example.com", |u| u.state = UserState::PendingDelete)
        .await;
    assert_eq!(
        modify(
            &env,
            &env.admin_token,
            "gone@example.com",
            json!({"disabled": false})
        )
        .await
        .expect_error(404),
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn bad_modify_requests_get_the_documented_statuses_and_change_nothing() {
    let env = TestEnv::new().await;
    env.create_user(
        "t@example.com",
        "User-Passw0rd",
        json!({"email": "t@example.com"}),
    )
    .await;
    env.create_user(
        "u@example.com",
        "User-Passw0rd",
        json!({"email": "taken@example.com"}),
    )
    .await;
    let before = env.partition().await;
    let t = "t@example.com";
    let cases: Vec<(Value, &str)> = vec![
        (json!({"description": ""}), "INVALID_PARAMETER"),
        (json!({"description": "x".repeat(256)}), "INVALID_PARAMETER"),
        (json!({"description": "line\nbreak"}), "INVALID_PARAMETER"),
        (json!({"user_email": "nope"}), "INVALID_PARAMETER"),
        (
            json!({"user_email": format!("{}@example.com", "a".repeat(50))}),
            "INVALID_PARAMETER",
        ),
        (json!({"user_phone": "12-34"}), "INVALID_PARAMETER"),
        (json!({"user_phone": "1".repeat(21)}), "INVALID_PARAMETER"),
        (json!({"user_phone": 123}), "INVALID_PARAMETER"),
        (json!({"active_type": "SELF"}), "INVALID_PARAMETER"),
        (json!({"account_expires": "tomorrow"}), "INVALID_PARAMETER"),
        (json!({"disabled": "yes"}), "INVALID_PARAMETER"),
        (json!({"nickname": "x"}), "UNKNOWN_PARAMETER"),
    ];
    for (body, code) in cases {
        assert_eq!(
            modify(&env, &env.admin_token, t, body.clone())
                .await
                .expect_error(400),
            code,
            "{body}"
        );
    }
    let raw = env
        .request(
            "PUT",
            &format!("/v2/{}/users/{t}", env.tenant),
            &[("x-auth-token", &env.admin_token)],
            "[1]",
        )
        .await;
    assert_eq!(raw.expect_error(400), "MALFORMED_REQUEST");
    assert_eq!(
        modify(
            &env,
            &env.admin_token,
            t,
            json!({"user_email": "TAKEN@example.com"})
        )
        .await
        .expect_error(409),
        "ALREADY_EXISTS"
    );
    assert_eq!(
        modify(&env, "bad", t, json!({})).await.expect_error(401),
        "TOKEN_INVALID"
    );
    assert_eq!(
        modify(&env, &env.admin_token, "ghost@example.com", json!({}))
            .await
            .expect_error(404),
        "NOT_FOUND"
    );
    let other = TestEnv::new().await;
    assert_eq!(
        modify(&env, &other.admin_token, t, json!({}))
            .await
            .expect_error(403),
        "PERMISSION_DENIED"
    );
    let huge = json!({"description": "x".repeat(70 * 1024)});
    assert_eq!(
        modify(&env, &env.admin_token, t, huge)
            .await
            .expect_error(413),
        "PAYLOAD_TOO_LARGE"
    );
    let wrong_method = env
        .request("POST", &format!("/v2/{}/users/{t}", env.tenant), &[], "{}")
        .await;
    assert_eq!(wrong_method.expect_error(405), "METHOD_NOT_ALLOWED");
    assert_eq!(
        env.partition().await,
        before,
        "a refused request writes nothing"
    );
}

#[tokio::test]
async fn expiring_an_account_revokes_its_tokens_for_good() {
    let env = TestEnv::new().await;
    env.create_user("temp@example.com", "User-Passw0rd", json!({}))
        .await;
    let token = env.login("temp@example.com", "User-Passw0rd").await;
    assert_eq!(
        modify(
            &env,
            &env.admin_token,
            "temp@example.com",
            json!({"account_expires": "2001-01-01T00:00:00Z"})
        )
        .await
        .status,
        200
    );
    assert_eq!(
        modify(
            &env,
            &env.admin_token,
            "temp@example.com",
            json!({"account_expires": "0"})
        )
        .await
        .status,
        200
    );
    let change =
        json!({"user": {"original_password": "User-Passw0rd", "password": "Next-Passw0rd1"}});
    let old = env
        .request(
            "POST",
            "/v3/users/temp@example.com/password",
            &[("x-auth-token", &token)],
            change.to_string(),
        )
        .await;
    old.expect_error(401);
    env.login("temp@example.com", "User-Passw0rd").await;
}

#[tokio::test]
async fn empty_values_remove_email_and_phone_and_an_empty_body_writes_nothing() {
    let env = TestEnv::new().await;
    env.create_user(
        "both@example.com",
        "User-Passw0rd",
        json!({"email": "both@example.com"}),
    )
    .await;
    assert_eq!(
        modify(
            &env,
            &env.admin_token,
            "both@example.com",
            json!({"user_phone": "555123"})
        )
        .await
        .status,
        200
    );
    let before = env.partition().await;
    assert_eq!(
        modify(&env, &env.admin_token, "both@example.com", json!({}))
            .await
            .status,
        200
    );
    assert_eq!(
        env.partition().await,
        before,
        "an empty body writes nothing"
    );

    let cleared = modify(
        &env,
        &env.admin_token,
        "both@example.com",
        json!({"user_email": "", "user_phone": ""}),
    )
    .await;
    assert_eq!(cleared.status, 200);
    let stored = env.stored("both@example.com").await;
    assert_eq!((stored.email, stored.phone), (None, None));
    // Both values are free again.
    env.create_user(
        "next@example.com",
        "User-Passw0rd",
        json!({"email": "both@example.com"}),
    )
    .await;
    assert_eq!(
        modify(
            &env,
            &env.admin_token,
            "next@example.com",
            json!({"user_phone": "555123"})
        )
        .await
        .status,
        200
    );
}

/// Issue 31, item 8: the current SDK's `EditUserReq` sends `user_info_map`; it was
/// `UNKNOWN_PARAMETER`. Kept with the user as given, `""` removes it, at most 1,024 characters.
#[tokio::test]
async fn user_info_map_is_kept_with_the_user() {
    let env = TestEnv::new().await;
    env.create_user("map@example.com", "User-Passw0rd", json!({}))
        .await;
    let map = r#"{"service_level":"gold","operation_mode":"auto","type":"vip"}"#;
    let reply = modify(
        &env,
        &env.admin_token,
        "map@example.com",
        json!({"user_info_map": map}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(
        env.stored("map@example.com").await.user_info_map.as_deref(),
        Some(map)
    );
    let too_long = modify(
        &env,
        &env.admin_token,
        "map@example.com",
        json!({"user_info_map": "x".repeat(1025)}),
    )
    .await;
    assert_eq!(too_long.expect_error(400), "INVALID_PARAMETER");
    assert!(too_long.raw.contains("user_info_map"), "{}", too_long.raw);
    let removed = modify(
        &env,
        &env.admin_token,
        "map@example.com",
        json!({"user_info_map": ""}),
    )
    .await;
    assert_eq!(removed.status, 200, "{}", removed.raw);
    assert_eq!(env.stored("map@example.com").await.user_info_map, None);
}
