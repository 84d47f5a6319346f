//! Seed 001: `PUT /v3.0/OS-USER/users/{user_id}` against DynamoDB Local, with every numbered code.

use crate::common;

use common::TestEnv;
use lambda::model::{AccessMode, DisabledBy, RequiredAction, UserState};
use serde_json::{Value, json};

async fn modify(env: &TestEnv, token: &str, user_id: &str, user: Value) -> common::Reply {
    let body = json!({ "user": user }).to_string();
    env.request(
        "PUT",
        &format!("/v3.0/OS-USER/users/{user_id}"),
        &[("x-auth-token", token)],
        body,
    )
    .await
}

#[tokio::test]
async fn the_seed_example_modifies_every_field_and_answers_the_user() {
    let env = TestEnv::new().await;
    env.create_user("iam@example.com", "User-Passw0rd", json!({}))
        .await;
    let old_token = env.login("iam@example.com", "User-Passw0rd").await;
    let reply = modify(
        &env,
        &env.admin_token,
        "iam@example.com",
        json!({"email": "IAMEmail@123.com", "areacode": "0086", "phone": "12345678910", "enabled": true,
            "name": "IAMUser", "password": "IAMPassword@", "pwd_status": false, "xuser_type": "", "xuser_id": "",
            "description": "IAMDescription", "access_mode": "programmatic"}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    let user = &reply.body["user"];
    assert_eq!(user["id"], "iam@example.com");
    assert_eq!(user["name"], "IAMUser");
    assert_eq!(user["email"], "IAMEmail@123.com");
    assert_eq!(
        (user["areacode"].as_str(), user["phone"].as_str()),
        (Some("0086"), Some("12345678910"))
    );
    assert_eq!(
        (user["enabled"].as_bool(), user["pwd_status"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(
        (user["xuser_type"].as_str(), user["xuser_id"].as_str()),
        (Some(""), Some(""))
    );
    assert_eq!(user["description"], "IAMDescription");
    assert_eq!(user["access_mode"], "programmatic");
    assert_eq!(user["domain_id"], env.tenant.as_str());
    assert_eq!(user["password_expires_at"], Value::Null);
    assert!(
        user["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with("/v3.0/OS-USER/users/iam@example.com")
    );
    assert!(!reply.raw.contains("IAMPassword@"));

    // The new name and password log in; the old password and the old token no longer work.
    env.try_login("iam@example.com", "User-Passw0rd")
        .await
        .expect_error(401);
    let token = env.login("IAMUser", "IAMPassword@").await;
    let stale = env
        .request(
            "POST",
            "/v3/users/iam@example.com/password",
            &[("x-auth-token", &old_token)],
            json!({"user": {"original_password": "IAMPassword@", "password": "Next-Passw0rd1"}})
                .to_string(),
        )
        .await;
    stale.expect_error(401);
    let info = env.get_info("iam@example.com").await;
    assert_eq!(info.body["email"], "IAMEmail@123.com");
    drop(token);
}

#[tokio::test]
async fn enabled_and_pwd_status_are_the_canonical_state_and_required_action() {
    let env = TestEnv::new().await;
    env.create_user("flip@example.com", "User-Passw0rd", json!({}))
        .await;
    let off = modify(
        &env,
        &env.admin_token,
        "flip@example.com",
        json!({"enabled": false, "pwd_status": true}),
    )
    .await;
    assert_eq!(off.status, 200, "{}", off.raw);
    let stored = env.stored("flip@example.com").await;
    assert_eq!(
        (stored.state, stored.disabled_by),
        (UserState::Disabled, Some(DisabledBy::Admin))
    );
    assert!(
        stored
            .required_actions
            .contains(&RequiredAction::UpdatePassword)
    );
    let info = env.get_info("flip@example.com").await;
    assert_eq!(info.body["state"], "DISABLED");
    assert_eq!(
        modify(
            &env,
            &env.admin_token,
            "flip@example.com",
            json!({"enabled": true})
        )
        .await
        .status,
        200
    );
    assert_eq!(
        env.stored("flip@example.com").await.state,
        UserState::Enabled
    );
}

#[tokio::test]
async fn a_console_only_user_cannot_call_the_api() {
    let env = TestEnv::new().await;
    let mut admin2 = lambda::model::User::new(
        &env.tenant,
        "admin2",
        lambda::model::UserType::User,
        lambda::model::Backend::Local,
        lambda::ops::now(),
    );
    admin2.role = lambda::model::Role::Admin;
    admin2.password_hash = Some(lambda::password::hash("Admin2-Passw0rd").unwrap());
    use lambda::store::prelude::*;
    env.app
        .store
        .create_user(&admin2, 50, &[], None)
        .await
        .unwrap();
    assert_eq!(
        modify(
            &env,
            &env.admin_token,
            "admin2",
            json!({"access_mode": "console"})
        )
        .await
        .status,
        200
    );
    assert_eq!(env.stored("admin2").await.access_mode, AccessMode::Console);
    let token = env.login("admin2", "Admin2-Passw0rd").await;
    let refused = modify(&env, &token, "admin2", json!({"description": "x"})).await;
    assert_eq!(refused.expect_error(403), "IAM.0081");
}

#[tokio::test]
async fn every_numbered_code_is_produced_by_its_case() {
    let mut settings = common::config();
    settings.tenant_user_quota = 10;
    let env = TestEnv::with_config(settings).await;
    env.create_user("t@example.com", "User-Passw0rd", json!({}))
        .await;
    env.create_user(
        "u@example.com",
        "User-Passw0rd",
        json!({"email": "taken@example.com"}),
    )
    .await;
    assert_eq!(
        modify(&env, &env.admin_token, "u@example.com",
            json!({"name": "Taken_Name", "areacode": "86", "phone": "555000", "xuser_type": "ldap", "xuser_id": "u-1"}))
        .await
        .status,
        200
    );
    let before = env.partition().await;
    let t = "t@example.com";
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "1100"),
        (json!({"name": "abc"}), "1101"),
        (json!({"name": "1abcdef"}), "1101"),
        (json!({"name": "bad@name"}), "1101"),
        (json!({"email": "not-an-email"}), "1102"),
        (
            json!({"email": format!("{}@example.com", "a".repeat(250))}),
            "1102",
        ),
        (json!({"password": "short"}), "1103"),
        (json!({"areacode": "86", "phone": "12ab"}), "1104"),
        (json!({"areacode": "86", "phone": "1".repeat(33)}), "1104"),
        (json!({"xuser_type": "ldap"}), "1105"),
        (json!({"xuser_id": "x-1", "xuser_type": ""}), "1105"),
        (json!({"phone": "12345678910"}), "1106"),
        (json!({"areacode": "0086"}), "1106"),
        (json!({"name": "taken_name"}), "1109"),
        (json!({"email": "TAKEN@example.com"}), "1110"),
        (json!({"areacode": "86", "phone": "555000"}), "1111"),
        (json!({"xuser_type": "ldap", "xuser_id": "u-1"}), "1113"),
        (json!({"description": "x".repeat(256)}), "1117"),
        (json!({"description": "bad\u{7}bell"}), "1117"),
    ];
    for (user, code) in cases {
        let reply = modify(&env, &env.admin_token, t, user.clone()).await;
        assert_eq!(reply.expect_error(400), code, "{user}: {}", reply.raw);
    }
    let first_admin = modify(&env, &env.admin_token, "admin", json!({"enabled": false})).await;
    assert_eq!(first_admin.expect_error(400), "1107");
    assert!(
        first_admin.body["error_msg"]
            .as_str()
            .unwrap()
            .starts_with("The account administrator cannot be deleted.")
    );
    assert_eq!(
        env.partition().await,
        before,
        "no refused request wrote anything"
    );
}

#[tokio::test]
async fn other_statuses_of_the_seed() {
    let env = TestEnv::new().await;
    env.create_user("s@example.com", "User-Passw0rd", json!({}))
        .await;
    let s = "s@example.com";
    assert_eq!(
        modify(&env, "garbage", s, json!({"description": "x"}))
            .await
            .expect_error(401),
        "IAM.0067"
    );
    let none = env
        .request("PUT", &format!("/v3.0/OS-USER/users/{s}"), &[], "{}")
        .await;
    assert_eq!(none.expect_error(401), "IAM.0001");
    let member = env.login(s, "User-Passw0rd").await;
    assert_eq!(
        modify(&env, &member, s, json!({"description": "x"}))
            .await
            .expect_error(403),
        "PERMISSION_DENIED"
    );
    assert_eq!(
        modify(
            &env,
            &env.admin_token,
            "ghost@example.com",
            json!({"description": "x"})
        )
        .await
        .expect_error(404),
        "NOT_FOUND"
    );
    let wrong_method = env
        .request("POST", &format!("/v3.0/OS-USER/users/{s}"), &[], "{}")
        .await;
    assert_eq!(wrong_method.expect_error(405), "METHOD_NOT_ALLOWED");
    let huge = json!({"description": "x".repeat(70 * 1024)});
    assert_eq!(
        modify(&env, &env.admin_token, s, huge)
            .await
            .expect_error(413),
        "PAYLOAD_TOO_LARGE"
    );
    let malformed = env
        .request(
            "PUT",
            &format!("/v3.0/OS-USER/users/{s}"),
            &[("x-auth-token", &env.admin_token)],
            "{\"user\":",
        )
        .await;
    assert_eq!(malformed.expect_error(400), "MALFORMED_REQUEST");
    let unknown = modify(&env, &env.admin_token, s, json!({"nickname": "x"})).await;
    assert_eq!(unknown.expect_error(400), "UNKNOWN_PARAMETER");

    // Two administrators change the same user from the same read: the loser gets 409.
    let read = env.stored(s).await;
    env.change_user(s, |u| u.description = Some("first".into()))
        .await;
    let mut second = read.clone();
    second.description = Some("second".into());
    use lambda::store::prelude::*;
    let conflict = env
        .app
        .store
        .update_user(&lambda::change::UserChange::new(
            &read,
            &second,
            &[],
            &lambda::model::Actor::system("test"),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (
            lambda::Dialect::IamUserAdmin.status(&conflict),
            lambda::Dialect::IamUserAdmin.code(&conflict)
        ),
        (409, "CONCURRENT_MODIFICATION")
    );
}

#[tokio::test]
async fn the_first_administrator_keeps_the_use_of_the_api_whatever_the_dialect() {
    let env = TestEnv::new().await;
    let before = env.partition().await;
    let console = modify(
        &env,
        &env.admin_token,
        "admin",
        json!({"access_mode": "console"}),
    )
    .await;
    assert_eq!(console.expect_error(400), "1107");
    let lock = env
        .request(
            "POST",
            &format!("/v2/{}/users/admin/actions", env.tenant),
            &[("x-auth-token", &env.admin_token)],
            r#"{"op_type": "LOCK"}"#,
        )
        .await;
    assert_eq!(lock.expect_error(400), "FIRST_ADMIN_PROTECTED");
    let expire = env
        .request(
            "PUT",
            &format!("/v2/{}/users/admin", env.tenant),
            &[("x-auth-token", &env.admin_token)],
            json!({"account_expires": "2001-01-01T00:00:00Z"}).to_string(),
        )
        .await;
    assert_eq!(expire.expect_error(400), "FIRST_ADMIN_PROTECTED");
    let stuck = env
        .request(
            "PUT",
            &format!("/v2/{}/users/admin", env.tenant),
            &[("x-auth-token", &env.admin_token)],
            json!({"enable_change_password": false, "next_login_change_password": true})
                .to_string(),
        )
        .await;
    assert_eq!(stuck.expect_error(400), "FIRST_ADMIN_PROTECTED");
    assert_eq!(env.partition().await, before);
}

#[tokio::test]
async fn one_mobile_number_in_any_spelling_is_taken_once() {
    let env = TestEnv::new().await;
    env.create_user("a@example.com", "User-Passw0rd", json!({}))
        .await;
    env.create_user("b@example.com", "User-Passw0rd", json!({}))
        .await;
    assert_eq!(
        modify(
            &env,
            &env.admin_token,
            "a@example.com",
            json!({"areacode": "0086", "phone": "12345678910"})
        )
        .await
        .status,
        200
    );
    let plus = modify(
        &env,
        &env.admin_token,
        "b@example.com",
        json!({"areacode": "+86", "phone": "12345678910"}),
    )
    .await;
    assert_eq!(plus.expect_error(400), "1111");
    let desktop = env
        .request(
            "PUT",
            &format!("/v2/{}/users/b@example.com", env.tenant),
            &[("x-auth-token", &env.admin_token)],
            json!({"user_phone": "+8612345678910"}).to_string(),
        )
        .await;
    assert_eq!(desktop.expect_error(409), "ALREADY_EXISTS");
}

#[tokio::test]
async fn users_without_a_password_of_their_own_get_none() {
    let env = TestEnv::new().await;
    let api = env.spaceone("create", &env.admin_token,
        json!({"user_id": "robot", "backend": "LOCAL", "user_type": "API_USER", "domain_id": env.tenant})).await;
    assert_eq!(api.status, 200);
    let password = modify(
        &env,
        &env.admin_token,
        "robot",
        json!({"password": "Robot-Passw0rd1"}),
    )
    .await;
    assert_eq!(password.expect_error(400), "INVALID_PARAMETER");
    let pwd_status = modify(&env, &env.admin_token, "robot", json!({"pwd_status": true})).await;
    assert_eq!(pwd_status.expect_error(400), "INVALID_PARAMETER");
    env.try_login("robot", "Robot-Passw0rd1")
        .await
        .expect_error(401);
}

/// Issue 30, finding 1: an expiry a few seconds ahead passed the guard, which judged only the
/// instant of the write, and shut the tenant out for good once it fell.
#[tokio::test]
async fn the_first_administrator_can_be_given_no_expiry_and_no_bar_on_changing_their_password() {
    let env = TestEnv::new().await;
    let workspace_modify = |user_id: &str, body: Value| {
        let path = format!("/v2/{}/users/{user_id}", env.tenant);
        let env = &env;
        async move {
            env.request(
                "PUT",
                &path,
                &[("x-auth-token", &env.admin_token)],
                body.to_string(),
            )
            .await
        }
    };
    let at = |offset_ms: i64| {
        chrono::DateTime::from_timestamp_millis(lambda::ops::now() + offset_ms)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let before = env.partition().await;
    for body in [
        json!({"account_expires": at(6_000)}),
        json!({"account_expires": at(400 * 86_400_000)}),
        json!({"enable_change_password": false}),
    ] {
        let refused = workspace_modify("admin", body.clone()).await;
        assert_eq!(refused.expect_error(400), "FIRST_ADMIN_PROTECTED", "{body}");
    }
    assert_eq!(env.partition().await, before, "nothing written");
    // Never expiring is no threat, and another user may be given an expiry.
    let never = workspace_modify("admin", json!({"account_expires": "0"})).await;
    assert_eq!(never.status, 200, "{}", never.raw);
    env.create_user("temp@example.com", "User-Passw0rd", json!({}))
        .await;
    let temporary =
        workspace_modify("temp@example.com", json!({"account_expires": at(6_000)})).await;
    assert_eq!(temporary.status, 200, "{}", temporary.raw);
    let barred =
        workspace_modify("temp@example.com", json!({"enable_change_password": false})).await;
    assert_eq!(barred.status, 200, "{}", barred.raw);
    // The first administrator still signs in and manages.
    let token = env.login("admin", common::ADMIN_PASSWORD).await;
    assert_eq!(env.get_info("temp@example.com").await.status, 200);
    assert!(!token.is_empty());
}

/// Issue 30, finding 2: `1108` for the right guess against `1109` for a wrong one (beside a taken
/// `name`), or against `1107` (beside disabling the first administrator), told an administrator a
/// user's password without writing or counting anything.
#[tokio::test]
async fn the_same_password_is_told_only_when_the_rest_would_succeed_and_counts_as_a_failure() {
    let env = TestEnv::new().await;
    env.create_user("v@example.com", "User-Passw0rd", json!({}))
        .await;
    env.create_user("w@example.com", "User-Passw0rd", json!({}))
        .await;
    modify(
        &env,
        &env.admin_token,
        "w@example.com",
        json!({"name": "taken_name"}),
    )
    .await;
    let before = env.partition().await;
    for guess in ["User-Passw0rd", "Wrong-Guess-Passw0rd1"] {
        let taken = modify(
            &env,
            &env.admin_token,
            "v@example.com",
            json!({"name": "taken_name", "password": guess}),
        )
        .await;
        assert_eq!(taken.expect_error(400), "1109", "{guess}");
        let first_admin = modify(
            &env,
            &env.admin_token,
            "admin",
            json!({"enabled": false, "password": if guess == "User-Passw0rd" { common::ADMIN_PASSWORD } else { guess }}),
        )
        .await;
        assert_eq!(first_admin.expect_error(400), "1107", "{guess}");
    }
    assert_eq!(env.partition().await, before, "nothing written or counted");

    let same = modify(
        &env,
        &env.admin_token,
        "v@example.com",
        json!({"name": "free_name", "password": "User-Passw0rd"}),
    )
    .await;
    assert_eq!(same.expect_error(400), "1108");
    let stored = env.stored("v@example.com").await;
    assert_eq!(stored.failed_logins, 1, "counted as a failed sign-in");
    assert_eq!(
        stored.login_name, "v@example.com",
        "and nothing else written"
    );
    // The policy is checked before the comparison.
    let weak = modify(
        &env,
        &env.admin_token,
        "v@example.com",
        json!({"password": "short"}),
    )
    .await;
    assert_eq!(weak.expect_error(400), "1103");
}
