//! Seed 004 `enable`, `disable`, `delete` (and re-create) and `set_required_actions`, and the
//! checks every new seed 004 endpoint shares, against DynamoDB Local.

use crate::common;

use common::{ADMIN_PASSWORD, Reply, TestEnv, access_line};
use lambda::model::{DisabledBy, RequiredAction, UserState};
use lambda::store::prelude::*;
use serde_json::{Value, json};

/// The endpoints built for the lifecycle and email work, each with the fields (beyond `user_id`
/// and `domain_id`) a valid request needs.
const ENDPOINTS: [(&str, &str); 8] = [
    ("update", "{}"),
    ("verify-email", "{}"),
    ("confirm-email", r#"{"verify_code": "123456"}"#),
    ("reset-password", "{}"),
    (
        "set-required-actions",
        r#"{"actions": ["UPDATE_PASSWORD"]}"#,
    ),
    ("enable", "{}"),
    ("disable", "{}"),
    ("delete", "{}"),
];

/// A valid request of `verb` for `user_id` in `domain_id`.
fn request_body(verb: &str, user_id: &str, domain_id: &str) -> Value {
    let extra = ENDPOINTS
        .iter()
        .find(|(name, _)| *name == verb)
        .map(|(_, extra)| *extra)
        .unwrap();
    let mut body: Value = serde_json::from_str(extra).unwrap();
    body["user_id"] = json!(user_id);
    body["domain_id"] = json!(domain_id);
    body
}

fn target(env: &TestEnv, user_id: &str) -> Value {
    json!({"user_id": user_id, "domain_id": env.tenant})
}

/// Creates a LOCAL USER (their email address is their user id) with password `User-Passw0rd` and
/// returns a token of theirs.
async fn member(env: &TestEnv, user_id: &str) -> String {
    env.create_user(user_id, "User-Passw0rd", json!({"email": user_id}))
        .await;
    env.login(user_id, "User-Passw0rd").await
}

/// A call a member may make with their own token: asking for a code for their own address.
async fn own_call(env: &TestEnv, token: &str, user_id: &str) -> Reply {
    env.spaceone("verify-email", token, target(env, user_id))
        .await
}

async fn user_count(env: &TestEnv) -> u64 {
    env.app
        .store
        .get_tenant(&env.tenant)
        .await
        .unwrap()
        .expect("the tenant exists")
        .user_count
}

// ---------------------------------------------------------------------------------------------
// disable / enable

#[tokio::test]
async fn disable_answers_user_info_revokes_tokens_and_stops_login() {
    let env = TestEnv::new().await;
    env.create_user(
        "worker@example.com",
        "User-Passw0rd",
        json!({"email": "worker@example.com", "name": "Worker"}),
    )
    .await;
    let token = env.login("worker@example.com", "User-Passw0rd").await;
    assert_eq!(
        own_call(&env, &token, "worker@example.com").await.status,
        200
    );

    let disabled = env
        .spaceone(
            "disable",
            &env.admin_token,
            target(&env, "worker@example.com"),
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.raw);
    assert_eq!(disabled.body["user_id"], "worker@example.com");
    assert_eq!(disabled.body["name"], "Worker");
    assert_eq!(disabled.body["state"], "DISABLED");
    assert_eq!(disabled.body["domain_id"], env.tenant.as_str());
    assert_eq!(env.get_info("worker@example.com").await.body, disabled.body);
    assert_eq!(
        env.stored("worker@example.com").await.disabled_by,
        Some(DisabledBy::Admin)
    );

    assert_eq!(
        own_call(&env, &token, "worker@example.com")
            .await
            .expect_error(401),
        "ERROR_AUTHENTICATE_FAILURE"
    );
    env.try_login("worker@example.com", "User-Passw0rd")
        .await
        .expect_error(401);
}

#[tokio::test]
async fn enable_lets_a_disabled_user_log_in_again_but_earlier_tokens_stay_revoked() {
    let env = TestEnv::new().await;
    let token = member(&env, "back@example.com").await;
    let disabled = env
        .spaceone(
            "disable",
            &env.admin_token,
            target(&env, "back@example.com"),
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.raw);

    let enabled = env
        .spaceone("enable", &env.admin_token, target(&env, "back@example.com"))
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.raw);
    assert_eq!(enabled.body["state"], "ENABLED");
    assert_eq!(env.get_info("back@example.com").await.body, enabled.body);
    assert_eq!(env.stored("back@example.com").await.disabled_by, None);

    own_call(&env, &token, "back@example.com")
        .await
        .expect_error(401);
    let fresh = env.login("back@example.com", "User-Passw0rd").await;
    assert_eq!(own_call(&env, &fresh, "back@example.com").await.status, 200);
}

#[tokio::test]
async fn disabling_or_enabling_twice_changes_nothing_the_second_time() {
    let env = TestEnv::new().await;
    env.create_user("twice@example.com", "User-Passw0rd", json!({}))
        .await;
    let body = target(&env, "twice@example.com");

    let first = env
        .spaceone("disable", &env.admin_token, body.clone())
        .await;
    assert_eq!(first.status, 200, "{}", first.raw);
    let after_disable = env.stored("twice@example.com").await;
    let second = env
        .spaceone("disable", &env.admin_token, body.clone())
        .await;
    assert_eq!(second.status, 200, "{}", second.raw);
    assert_eq!(second.body, first.body);
    let after_second = env.stored("twice@example.com").await;
    assert_eq!(after_second.version, after_disable.version);
    assert_eq!(after_second.token_version, after_disable.token_version);

    let first = env.spaceone("enable", &env.admin_token, body.clone()).await;
    assert_eq!(first.body["state"], "ENABLED", "{}", first.raw);
    let after_enable = env.stored("twice@example.com").await.version;
    assert_eq!(after_enable, after_disable.version + 1);
    let second = env.spaceone("enable", &env.admin_token, body).await;
    assert_eq!(second.status, 200, "{}", second.raw);
    assert_eq!(second.body, first.body);
    assert_eq!(env.stored("twice@example.com").await.version, after_enable);
}

#[tokio::test]
async fn enable_of_a_user_disabled_by_a_sync_is_409_and_changes_nothing() {
    let env = TestEnv::new().await;
    env.create_user("synced@example.com", "User-Passw0rd", json!({}))
        .await;
    env.change_user("synced@example.com", |u| {
        u.state = UserState::Disabled;
        u.disabled_by = Some(DisabledBy::Sync);
    })
    .await;
    let before = env.stored("synced@example.com").await;

    let refused = env
        .spaceone(
            "enable",
            &env.admin_token,
            target(&env, "synced@example.com"),
        )
        .await;
    assert_eq!(refused.expect_error(409), "USER_STATE_CONFLICT");
    assert_eq!(env.stored("synced@example.com").await, before);
    assert_eq!(
        env.get_info("synced@example.com").await.body["state"],
        "DISABLED"
    );
    env.try_login("synced@example.com", "User-Passw0rd")
        .await
        .expect_error(401);
}

#[tokio::test]
async fn the_first_administrator_can_be_neither_disabled_nor_deleted() {
    let env = TestEnv::new().await;
    let before = env.stored("admin").await;
    let count = user_count(&env).await;

    for verb in ["disable", "delete"] {
        let refused = env
            .spaceone(verb, &env.admin_token, target(&env, "admin"))
            .await;
        assert_eq!(refused.expect_error(400), "FIRST_ADMIN_PROTECTED", "{verb}");
    }
    assert_eq!(env.stored("admin").await, before, "nothing changed");
    assert_eq!(user_count(&env).await, count);
    let got = env.get_info("admin").await;
    assert_eq!(
        got.status, 200,
        "the admin's token still works: {}",
        got.raw
    );
    assert_eq!(got.body["state"], "ENABLED");
    env.login("admin", ADMIN_PASSWORD).await;
}

// ---------------------------------------------------------------------------------------------
// delete

#[tokio::test]
async fn delete_answers_empty_and_the_user_is_gone_for_every_call() {
    let env = TestEnv::new().await;
    let token = member(&env, "leaver@example.com").await;

    let deleted = env
        .spaceone(
            "delete",
            &env.admin_token,
            target(&env, "leaver@example.com"),
        )
        .await;
    assert_eq!(
        (deleted.status, deleted.body.clone()),
        (200, json!({})),
        "{}",
        deleted.raw
    );

    let stored = env.stored("leaver@example.com").await;
    assert_eq!(stored.state, UserState::PendingDelete);
    assert!(stored.deleted_at.is_some());

    let gone = env.get_info("leaver@example.com").await;
    assert_eq!(gone.expect_error(404), "ERROR_NOT_FOUND");
    assert_eq!(
        gone.body["error_msg"],
        "Value not found. (user_id = leaver@example.com)"
    );
    for (verb, _) in ENDPOINTS {
        let reply = env
            .spaceone(
                verb,
                &env.admin_token,
                request_body(verb, "leaver@example.com", &env.tenant),
            )
            .await;
        assert_eq!(reply.expect_error(404), "ERROR_NOT_FOUND", "{verb}");
    }
    assert_eq!(
        env.stored("leaver@example.com").await,
        stored,
        "nothing changed the deleted user"
    );

    env.try_login("leaver@example.com", "User-Passw0rd")
        .await
        .expect_error(401);
    assert_eq!(
        own_call(&env, &token, "leaver@example.com")
            .await
            .expect_error(401),
        "ERROR_AUTHENTICATE_FAILURE"
    );
}

#[tokio::test]
async fn delete_drops_the_user_count_and_create_with_the_same_id_replaces_the_deleted_user() {
    let env = TestEnv::new().await;
    env.create_user(
        "again@example.com",
        "User-Passw0rd",
        json!({"email": "again@example.com", "name": "First life", "tags": {"k": "v"}}),
    )
    .await;
    let old_token = env.login("again@example.com", "User-Passw0rd").await;
    let count = user_count(&env).await;

    let deleted = env
        .spaceone(
            "delete",
            &env.admin_token,
            target(&env, "again@example.com"),
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.raw);
    assert_eq!(user_count(&env).await, count - 1);
    let deleted_version = env.stored("again@example.com").await.version;

    // The same user_id, and the deleted user's email, are free for the new user.
    let recreated = env
        .spaceone(
            "create",
            &env.admin_token,
            json!({"user_id": "again@example.com", "email": "again@example.com",
                "backend": "LOCAL", "domain_id": env.tenant, "password": "Second-Passw0rd"}),
        )
        .await;
    assert_eq!(recreated.status, 200, "{}", recreated.raw);
    assert_eq!(recreated.body["state"], "ENABLED");
    assert_eq!(
        recreated.body["name"], "",
        "nothing of the deleted user is kept"
    );
    assert_eq!(recreated.body["tags"], json!({}));
    assert_eq!(user_count(&env).await, count);
    let stored = env.stored("again@example.com").await;
    assert_eq!(stored.state, UserState::Enabled);
    assert_eq!(stored.deleted_at, None);
    assert!(stored.version > deleted_version);
    assert_eq!(env.get_info("again@example.com").await.body, recreated.body);

    assert_eq!(
        own_call(&env, &old_token, "again@example.com")
            .await
            .expect_error(401),
        "ERROR_AUTHENTICATE_FAILURE",
        "a token of the deleted user does not work for the new one"
    );
    env.try_login("again@example.com", "User-Passw0rd")
        .await
        .expect_error(401);
    let token = env.login("again@example.com", "Second-Passw0rd").await;
    assert_eq!(
        own_call(&env, &token, "again@example.com").await.status,
        200
    );

    // Now a live user holds the id again.
    let duplicate = env
        .spaceone(
            "create",
            &env.admin_token,
            json!({"user_id": "again@example.com", "backend": "LOCAL",
                "domain_id": env.tenant, "password": "Third-Passw0rd"}),
        )
        .await;
    assert_eq!(duplicate.expect_error(409), "ERROR_SAVE_UNIQUE_VALUES");
    assert_eq!(user_count(&env).await, count);
}

/// Deletes `race@example.com` and creates it again six times in parallel, each with its own
/// password (`Racer{i}-Passw0rd`); returns the replies and the user count after the delete.
async fn race_to_recreate(env: &TestEnv) -> (Vec<Reply>, u64) {
    env.create_user("race@example.com", "User-Passw0rd", json!({}))
        .await;
    let deleted = env
        .spaceone("delete", &env.admin_token, target(env, "race@example.com"))
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.raw);
    let count = user_count(env).await;
    let creates = (0..6).map(|i| async move {
        let body = json!({"user_id": "race@example.com", "backend": "LOCAL",
            "domain_id": env.tenant, "password": format!("Racer{i}-Passw0rd")});
        env.spaceone("create", &env.admin_token, body).await
    });
    (futures::future::join_all(creates).await, count)
}

#[tokio::test]
async fn parallel_creates_of_a_deleted_id_let_exactly_one_win_and_the_count_stays_true() {
    let env = TestEnv::new().await;
    let (replies, count) = race_to_recreate(&env).await;
    let won: Vec<usize> = (0..replies.len())
        .filter(|i| replies[*i].status == 200)
        .collect();
    assert_eq!(
        won.len(),
        1,
        "{:?}",
        replies.iter().map(|r| &r.raw).collect::<Vec<_>>()
    );
    for reply in replies.iter().filter(|r| r.status != 200) {
        reply.expect_error(409);
    }
    assert_eq!(user_count(&env).await, count + 1);
    env.login("race@example.com", &format!("Racer{}-Passw0rd", won[0]))
        .await;
}

#[tokio::test]
async fn the_losers_of_a_parallel_re_create_are_told_the_user_id_is_taken() {
    let env = TestEnv::new().await;
    let (replies, _) = race_to_recreate(&env).await;
    assert_eq!(replies.iter().filter(|r| r.status == 200).count(), 1);
    for reply in replies.iter().filter(|r| r.status != 200) {
        assert_eq!(
            reply.expect_error(409),
            "ERROR_SAVE_UNIQUE_VALUES",
            "{}",
            reply.raw
        );
    }
}

#[tokio::test]
async fn deleting_a_disabled_user_keeps_the_counters_true() {
    let env = TestEnv::new().await;
    env.create_user("off@example.com", "User-Passw0rd", json!({}))
        .await;
    let count = user_count(&env).await;
    env.spaceone("disable", &env.admin_token, target(&env, "off@example.com"))
        .await;
    assert_eq!(
        user_count(&env).await,
        count,
        "a disabled user still counts"
    );
    let deleted = env
        .spaceone("delete", &env.admin_token, target(&env, "off@example.com"))
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.raw);
    assert_eq!(user_count(&env).await, count - 1);
}

// ---------------------------------------------------------------------------------------------
// set_required_actions

#[tokio::test]
async fn set_required_actions_adds_update_password_and_the_user_must_change_it_first() {
    let env = TestEnv::new().await;
    let token = member(&env, "must@example.com").await;
    assert_eq!(own_call(&env, &token, "must@example.com").await.status, 200);
    let body = json!({"user_id": "must@example.com", "domain_id": env.tenant,
        "actions": ["UPDATE_PASSWORD"]});

    let set = env
        .spaceone("set-required-actions", &env.admin_token, body.clone())
        .await;
    assert_eq!(set.status, 200, "{}", set.raw);
    assert_eq!(set.body["user_id"], "must@example.com");
    assert_eq!(set.body["required_actions"], json!(["UPDATE_PASSWORD"]));
    assert_eq!(env.get_info("must@example.com").await.body, set.body);
    assert!(
        env.stored("must@example.com")
            .await
            .required_actions
            .contains(&RequiredAction::UpdatePassword)
    );

    // The user keeps their token and may log in, but may do nothing else until they change it.
    assert_eq!(
        own_call(&env, &token, "must@example.com")
            .await
            .expect_error(403),
        "ERROR_PERMISSION_DENIED"
    );
    let fresh = env.login("must@example.com", "User-Passw0rd").await;
    own_call(&env, &fresh, "must@example.com")
        .await
        .expect_error(403);
}

#[tokio::test]
async fn set_required_actions_takes_the_union_with_what_is_already_required() {
    let env = TestEnv::new().await;
    env.create_user("union@example.com", "User-Passw0rd", json!({}))
        .await;
    let body = json!({"user_id": "union@example.com", "domain_id": env.tenant,
        "actions": ["UPDATE_PASSWORD", "UPDATE_PASSWORD"]});
    let first = env
        .spaceone("set-required-actions", &env.admin_token, body.clone())
        .await;
    assert_eq!(
        first.body["required_actions"],
        json!(["UPDATE_PASSWORD"]),
        "{}",
        first.raw
    );
    let version = env.stored("union@example.com").await.version;

    let again = env
        .spaceone("set-required-actions", &env.admin_token, body)
        .await;
    assert_eq!(again.status, 200, "{}", again.raw);
    assert_eq!(again.body["required_actions"], json!(["UPDATE_PASSWORD"]));
    assert_eq!(env.stored("union@example.com").await.version, version);
}

#[tokio::test]
async fn set_required_actions_refuses_empty_or_unknown_actions() {
    let env = TestEnv::new().await;
    env.create_user("actions@example.com", "User-Passw0rd", json!({}))
        .await;
    let before = env.stored("actions@example.com").await;
    let t = env.tenant.clone();
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"user_id": "actions@example.com", "domain_id": t}),
            "ERROR_REQUIRED_PARAMETER",
            "key = actions",
        ),
        (
            json!({"user_id": "actions@example.com", "domain_id": t, "actions": []}),
            "ERROR_REQUIRED_PARAMETER",
            "key = actions",
        ),
        (
            json!({"user_id": "actions@example.com", "domain_id": t, "actions": ["VERIFY_EMAIL"]}),
            "ERROR_INVALID_PARAMETER",
            "actions",
        ),
        (
            json!({"user_id": "actions@example.com", "domain_id": t,
                "actions": ["UPDATE_PASSWORD", "update_password"]}),
            "ERROR_INVALID_PARAMETER",
            "actions",
        ),
        (
            json!({"user_id": "actions@example.com", "domain_id": t, "actions": "UPDATE_PASSWORD"}),
            "ERROR_INVALID_PARAMETER",
            "actions",
        ),
        (
            json!({"user_id": "actions@example.com", "domain_id": t, "actions": [1]}),
            "ERROR_INVALID_PARAMETER",
            "actions",
        ),
    ];
    for (body, code, message) in cases {
        let reply = env
            .spaceone("set-required-actions", &env.admin_token, body.clone())
            .await;
        assert_eq!(reply.expect_error(400), code, "{body}");
        assert!(
            reply.body["error_msg"].as_str().unwrap().contains(message),
            "{body}: {}",
            reply.raw
        );
    }
    assert_eq!(env.stored("actions@example.com").await, before);
}

#[tokio::test]
async fn update_password_cannot_be_required_of_api_or_external_users() {
    let env = TestEnv::new().await;
    env.directory_put(json!({"user_id": "ext@example.com", "state": "ENABLED"}));
    for (user_id, extra) in [
        (
            "robot-1",
            json!({"user_type": "API_USER", "backend": "LOCAL"}),
        ),
        ("ext@example.com", json!({"backend": "EXTERNAL"})),
    ] {
        let mut body = target(&env, user_id);
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let created = env.spaceone("create", &env.admin_token, body).await;
        assert_eq!(created.status, 200, "{}", created.raw);
        let before = env.stored(user_id).await;

        let refused = env
            .spaceone(
                "set-required-actions",
                &env.admin_token,
                json!({"user_id": user_id, "domain_id": env.tenant, "actions": ["UPDATE_PASSWORD"]}),
            )
            .await;
        assert_eq!(
            refused.expect_error(400),
            "ERROR_NOT_ALLOWED_ACTIONS",
            "{user_id}"
        );
        assert_eq!(env.stored(user_id).await, before, "{user_id}");
    }
}

// ---------------------------------------------------------------------------------------------
// What every endpoint checks

#[tokio::test]
async fn every_endpoint_is_401_without_a_valid_token_and_changes_nothing() {
    let env = TestEnv::new().await;
    env.create_user("target@example.com", "User-Passw0rd", json!({}))
        .await;
    let before = env.partition().await;
    for (verb, _) in ENDPOINTS {
        let body = request_body(verb, "target@example.com", &env.tenant);
        let path = format!("/identity/v1/user/{verb}");
        let none = env.request("POST", &path, &[], body.to_string()).await;
        let malformed = env.request("POST", &path, &[], "{\"user_id\": ").await;
        if verb == "reset-password" {
            // Without a token it is the anonymous forgotten-password request (`{}` for anyone;
            // this user has no verified address, so nothing is mailed or written), whose body is
            // read as any other.
            assert_eq!((none.status, none.raw.as_str()), (200, "{}"));
            assert_eq!(malformed.expect_error(400), "ERROR_INVALID_PARAMETER");
        } else {
            assert_eq!(
                none.expect_error(401),
                "ERROR_AUTHENTICATE_FAILURE",
                "{verb}"
            );
            // The token is checked before the body: a bad body without a token is still 401.
            assert_eq!(
                malformed.expect_error(401),
                "ERROR_AUTHENTICATE_FAILURE",
                "{verb}"
            );
        }
        for bad in ["garbage", &format!("{}x", env.admin_token)] {
            let reply = env.spaceone(verb, bad, body.clone()).await;
            assert_eq!(
                reply.expect_error(401),
                "ERROR_AUTHENTICATE_FAILURE",
                "{verb}"
            );
        }
    }
    assert_eq!(env.partition().await, before);
}

#[tokio::test]
async fn every_endpoint_is_403_for_another_tenant_and_changes_nothing() {
    let env = TestEnv::new().await;
    let other = TestEnv::new().await;
    env.create_user(
        "target@example.com",
        "User-Passw0rd",
        json!({"email": "target@example.com"}),
    )
    .await;
    other
        .create_user(
            "target@example.com",
            "User-Passw0rd",
            json!({"email": "target@example.com"}),
        )
        .await;
    let before = (env.partition().await, other.partition().await);
    for (verb, _) in ENDPOINTS {
        // Another tenant's administrator naming this tenant.
        let foreign = env
            .spaceone(
                verb,
                &other.admin_token,
                request_body(verb, "target@example.com", &env.tenant),
            )
            .await;
        assert_eq!(
            foreign.expect_error(403),
            "ERROR_PERMISSION_DENIED",
            "{verb}"
        );
        // This tenant's administrator naming another tenant.
        let elsewhere = env
            .spaceone(
                verb,
                &env.admin_token,
                request_body(verb, "target@example.com", &other.tenant),
            )
            .await;
        assert_eq!(
            elsewhere.expect_error(403),
            "ERROR_PERMISSION_DENIED",
            "{verb}"
        );
    }
    assert_eq!((env.partition().await, other.partition().await), before);
}

#[tokio::test]
async fn a_member_token_is_403_everywhere_except_for_their_own_email_verification() {
    let env = TestEnv::new().await;
    env.create_user(
        "member@example.com",
        "User-Passw0rd",
        json!({"email": "member@example.com"}),
    )
    .await;
    env.create_user(
        "other@example.com",
        "User-Passw0rd",
        json!({"email": "other@example.com"}),
    )
    .await;
    let token = env.login("member@example.com", "User-Passw0rd").await;
    let before_other = env.stored("other@example.com").await;
    let before_admin = env.stored("admin").await;

    for (verb, _) in ENDPOINTS {
        for victim in ["other@example.com", "admin"] {
            let reply = env
                .spaceone(verb, &token, request_body(verb, victim, &env.tenant))
                .await;
            assert_eq!(
                reply.expect_error(403),
                "ERROR_PERMISSION_DENIED",
                "{verb} on {victim}"
            );
        }
    }
    assert_eq!(env.stored("other@example.com").await, before_other);
    assert_eq!(env.stored("admin").await, before_admin);

    let before_self = env.stored("member@example.com").await;
    for verb in [
        "update",
        "reset-password",
        "set-required-actions",
        "enable",
        "disable",
        "delete",
    ] {
        let reply = env
            .spaceone(
                verb,
                &token,
                request_body(verb, "member@example.com", &env.tenant),
            )
            .await;
        assert_eq!(
            reply.expect_error(403),
            "ERROR_PERMISSION_DENIED",
            "{verb} on self"
        );
    }
    assert_eq!(env.stored("member@example.com").await, before_self);

    // Their own address: asking for a code and confirming it are theirs to do.
    let asked = env
        .spaceone("verify-email", &token, target(&env, "member@example.com"))
        .await;
    assert_eq!(asked.status, 200, "{}", asked.raw);
    let wrong = env
        .spaceone(
            "confirm-email",
            &token,
            json!({"user_id": "member@example.com", "domain_id": env.tenant, "verify_code": "not-it"}),
        )
        .await;
    assert_eq!(wrong.expect_error(400), "ERROR_INVALID_VERIFY_CODE");
}

#[tokio::test]
async fn every_endpoint_is_404_for_an_unknown_user() {
    let env = TestEnv::new().await;
    let before = env.partition().await;
    for (verb, _) in ENDPOINTS {
        let reply = env
            .spaceone(
                verb,
                &env.admin_token,
                request_body(verb, "ghost@example.com", &env.tenant),
            )
            .await;
        assert_eq!(reply.expect_error(404), "ERROR_NOT_FOUND", "{verb}");
        assert_eq!(
            reply.body["error_msg"], "Value not found. (user_id = ghost@example.com)",
            "{verb}"
        );
    }
    assert_eq!(env.partition().await, before, "nothing was created");
}

#[tokio::test]
async fn every_endpoint_refuses_malformed_or_incomplete_bodies_with_400() {
    let env = TestEnv::new().await;
    env.create_user(
        "target@example.com",
        "User-Passw0rd",
        json!({"email": "target@example.com"}),
    )
    .await;
    let before = env.partition().await;
    for (verb, _) in ENDPOINTS {
        let valid = request_body(verb, "target@example.com", &env.tenant);
        let without = |key: &str| {
            let mut body = valid.clone();
            body.as_object_mut().unwrap().remove(key);
            body.to_string()
        };
        let with = |key: &str, value: Value| {
            let mut body = valid.clone();
            body[key] = value;
            body.to_string()
        };
        let cases: Vec<(String, &str, &str)> = vec![
            (
                "{\"user_id\": ".into(),
                "ERROR_INVALID_PARAMETER",
                "key = body",
            ),
            ("".into(), "ERROR_INVALID_PARAMETER", "key = body"),
            ("[]".into(), "ERROR_INVALID_PARAMETER", "key = body"),
            ("null".into(), "ERROR_INVALID_PARAMETER", "key = body"),
            (
                without("user_id"),
                "ERROR_REQUIRED_PARAMETER",
                "key = user_id",
            ),
            (
                with("user_id", json!("")),
                "ERROR_REQUIRED_PARAMETER",
                "key = user_id",
            ),
            // Without `domain_id` (or with an empty one) the token's tenant is meant.
            (
                with("domain_id", json!("a b")),
                "ERROR_INVALID_PARAMETER",
                "key = domain_id",
            ),
            (
                with("user_id", json!(7)),
                "ERROR_INVALID_PARAMETER",
                "user_id",
            ),
            (
                with("surprise", json!(1)),
                "ERROR_INVALID_PARAMETER",
                "surprise",
            ),
            (
                with("state", json!("ENABLED")),
                "ERROR_INVALID_PARAMETER",
                "state",
            ),
        ];
        for (body, code, message) in cases {
            let reply = env
                .request(
                    "POST",
                    &format!("/identity/v1/user/{verb}"),
                    &[("x-auth-token", &env.admin_token)],
                    body.clone(),
                )
                .await;
            assert_eq!(reply.expect_error(400), code, "{verb} {body}");
            assert!(
                reply.body["error_msg"].as_str().unwrap().contains(message),
                "{verb} {body}: {}",
                reply.raw
            );
        }
    }
    assert_eq!(
        env.partition().await,
        before,
        "a refused request writes nothing"
    );
}

/// RSA's `PUT …/userStatus` (seed 003) with a bearer token.
async fn rsa_user_status(env: &TestEnv, token: &str, user_id: &str, status: &str) -> Reply {
    env.request(
        "PUT",
        &format!("/AdminInterface/restapi/v1/users/{user_id}/userStatus"),
        &[("authorization", &format!("Bearer {token}"))],
        json!({"userStatus": status}).to_string(),
    )
    .await
}

/// A change of state reads the administrator with the target in one round trip, then writes:
/// revoked through another instance, their next change here is refused and writes nothing.
#[tokio::test]
async fn a_change_of_state_reads_the_caller_with_the_target_and_ends_with_a_revocation() {
    let env = TestEnv::new().await;
    let elsewhere = env.another_instance().await;
    let deputy = env
        .create_admin("deputy@example.com", "Deputy-Passw0rd", json!({}))
        .await;
    env.create_user("ann@example.com", "User-Passw0rd", json!({}))
        .await;
    let ann = json!({"user_id": "ann@example.com", "domain_id": env.tenant});
    let store_calls = |reply: &Reply| {
        access_line(reply.request_id.as_deref().unwrap())["store_calls"]
            .as_u64()
            .unwrap()
    };

    let first = env.spaceone("disable", &deputy, ann.clone()).await;
    assert_eq!(first.status, 200, "{}", first.raw);
    assert_eq!(first.body["state"], "DISABLED");
    assert_eq!(
        store_calls(&first),
        2,
        "the caller with ann, then the write"
    );
    let second = env.spaceone("enable", &deputy, ann.clone()).await;
    assert_eq!(second.status, 200, "{}", second.raw);
    assert_eq!(second.body["state"], "ENABLED");
    assert_eq!(
        store_calls(&second),
        2,
        "the caller with ann, then the write"
    );
    let status = rsa_user_status(&env, &deputy, "ann@example.com", "Disabled").await;
    assert_eq!(status.status, 200, "{}", status.raw);
    assert_eq!(store_calls(&status), 2);
    assert_eq!(
        env.stored("ann@example.com").await.state,
        UserState::Disabled
    );
    // Setting the state ann has is no change: it is answered once the deputy is checked, and
    // writes nothing.
    let same = env.spaceone("disable", &deputy, ann.clone()).await;
    assert_eq!(same.status, 200, "{}", same.raw);
    assert_eq!(store_calls(&same), 1);

    // The deputy is locked through the other instance (seed 000 LOCK).
    let lock = elsewhere
        .request(
            "POST",
            &format!("/v2/{}/users/deputy@example.com/actions", env.tenant),
            &[("x-auth-token", &env.admin_token)],
            json!({"op_type": "LOCK"}).to_string(),
        )
        .await;
    assert!(lock.status < 300, "{}", lock.raw);
    let before = env.stored("ann@example.com").await;
    let refused = env.spaceone("enable", &deputy, ann.clone()).await;
    assert_eq!(refused.expect_error(401), "ERROR_AUTHENTICATE_FAILURE");
    assert_eq!(
        env.stored("ann@example.com").await,
        before,
        "nothing written"
    );
    assert_eq!(
        store_calls(&refused),
        1,
        "the caller with ann, and nothing written"
    );
    let refused = rsa_user_status(&env, &deputy, "ann@example.com", "Enabled").await;
    // Seed 003 answers a revoked token 403 (the token matrix holds each dialect's refusals).
    assert_eq!(refused.expect_error(403), "TOKEN_INVALID");
    assert_eq!(
        env.stored("ann@example.com").await,
        before,
        "nothing written"
    );
    assert_eq!(store_calls(&refused), 1);

    // The first administrator's changes go on as before.
    let admin = env.spaceone("enable", &env.admin_token, ann.clone()).await;
    assert_eq!(admin.status, 200, "{}", admin.raw);
    let again = env.spaceone("disable", &env.admin_token, ann.clone()).await;
    assert_eq!(again.status, 200, "{}", again.raw);
    assert_eq!(store_calls(&again), 2);
}
