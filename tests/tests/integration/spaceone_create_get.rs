//! Seed 004 `create` and `get` against DynamoDB Local.

use crate::common;

use common::{TestEnv, config};
use lambda::model::{LockReason, User, UserState};
use lambda::store::prelude::*;
use serde_json::{Value, json};

fn create_body(env: &TestEnv, user_id: &str) -> Value {
    json!({"user_id": user_id, "backend": "LOCAL", "domain_id": env.tenant, "password": "User-Passw0rd"})
}

fn is_spaceone_time(value: &Value) -> bool {
    let text = value.as_str().unwrap_or_default();
    // 2020-06-26T08:53:50.079Z
    text.len() == 24 && text.ends_with('Z') && text.as_bytes()[19] == b'.'
}

#[tokio::test]
async fn create_answers_user_info_and_get_reads_it_back() {
    let env = TestEnv::new().await;
    let body = json!({"user_id": "dkang@mz.co.kr", "name": "Dong Yoo kang", "email": "dkang@mz.co.kr",
        "backend": "LOCAL", "domain_id": env.tenant, "password": "IAMPassword@", "language": "ko",
        "timezone": "Asia/Seoul", "tags": {"user1": "Reuters", "user2": "Bloomberg"}});
    let created = env.spaceone("create", &env.admin_token, body).await;
    assert_eq!(created.status, 200, "{}", created.raw);
    let info = &created.body;
    assert_eq!(info["user_id"], "dkang@mz.co.kr");
    assert_eq!(info["name"], "Dong Yoo kang");
    assert_eq!(info["state"], "ENABLED");
    assert_eq!(info["email"], "dkang@mz.co.kr");
    assert_eq!(info["user_type"], "USER");
    assert_eq!(info["backend"], "LOCAL");
    assert_eq!(info["language"], "ko");
    assert_eq!(info["timezone"], "Asia/Seoul");
    assert_eq!(info["required_actions"], json!([]));
    assert_eq!(
        info["tags"],
        json!({"user1": "Reuters", "user2": "Bloomberg"})
    );
    assert_eq!(info["domain_id"], env.tenant.as_str());
    assert_eq!(info["email_verified"], false);
    assert!(is_spaceone_time(&info["created_at"]), "{info}");
    assert!(
        info.get("last_accessed_at").is_none(),
        "absent until the first login"
    );
    assert!(!created.raw.contains("argon2") && !created.raw.contains("IAMPassword@"));

    let got = env.get_info("dkang@mz.co.kr").await;
    assert_eq!(got.status, 200, "{}", got.raw);
    assert_eq!(&got.body, info);

    env.login("dkang@mz.co.kr", "IAMPassword@").await;
    let after_login = env.get_info("dkang@mz.co.kr").await;
    assert!(
        is_spaceone_time(&after_login.body["last_accessed_at"]),
        "{}",
        after_login.raw
    );
}

#[tokio::test]
async fn names_that_grow_when_normalised_are_still_stored() {
    let env = TestEnv::new().await;
    // U+FDFA is one character that NFKC turns into 18.
    let name = "\u{fdfa}".repeat(128);
    let created = env
        .create_user("long@example.com", "User-Passw0rd", json!({"name": name}))
        .await;
    assert_eq!(created["name"], name.as_str());
}

#[tokio::test]
async fn get_with_only_returns_just_those_fields() {
    let env = TestEnv::new().await;
    env.create_user("only@example.com", "User-Passw0rd", json!({"name": "Only"}))
        .await;
    let got = env.spaceone("get", &env.admin_token,
        json!({"user_id": "only@example.com", "domain_id": env.tenant, "only": ["user_id", "state"]})).await;
    assert_eq!(
        got.body,
        json!({"user_id": "only@example.com", "state": "ENABLED"})
    );
    let bad = env.spaceone("get", &env.admin_token,
        json!({"user_id": "only@example.com", "domain_id": env.tenant, "only": ["password_hash"]})).await;
    assert_eq!(bad.expect_error(400), "ERROR_INVALID_PARAMETER");
}

#[tokio::test]
async fn api_users_and_external_users_follow_the_vendor_rules() {
    let env = TestEnv::new().await;
    let api = env.spaceone("create", &env.admin_token,
        json!({"user_id": "robot-1", "backend": "LOCAL", "user_type": "API_USER", "domain_id": env.tenant})).await;
    assert_eq!(api.status, 200, "{}", api.raw);
    assert_eq!(api.body["user_type"], "API_USER");
    env.try_login("robot-1", "anything-at-all")
        .await
        .expect_error(401);

    // The directory lists the person without a state: the user stays unconfirmed (PENDING).
    env.directory_put(json!({"user_id": "ext@example.com"}));
    let external = env
        .spaceone(
            "create",
            &env.admin_token,
            json!({"user_id": "ext@example.com", "backend": "EXTERNAL", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(external.status, 200, "{}", external.raw);
    assert_eq!(external.body["state"], "PENDING");

    let refused = env.spaceone("create", &env.admin_token,
        json!({"user_id": "robot-2", "backend": "EXTERNAL", "user_type": "API_USER", "domain_id": env.tenant})).await;
    assert_eq!(
        refused.expect_error(400),
        "ERROR_EXTERNAL_USER_NOT_ALLOWED_API_USER"
    );
}

#[tokio::test]
async fn invalid_create_requests_are_400_with_spaceone_codes_and_write_nothing() {
    let env = TestEnv::new().await;
    let before = env.partition().await;
    let t = env.tenant.clone();
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"user_id": "", "backend": "LOCAL", "domain_id": t, "password": "User-Passw0rd"}),
            "ERROR_REQUIRED_PARAMETER",
            "key = user_id",
        ),
        (
            json!({"user_id": "a@example.com", "backend": "LOCAL", "domain_id": t}),
            "ERROR_REQUIRED_PARAMETER",
            "key = password",
        ),
        (
            json!({"user_id": "not-an-email", "backend": "LOCAL", "domain_id": t, "password": "User-Passw0rd"}),
            "ERROR_INCORRECT_USER_ID_FORMAT",
            "rule",
        ),
        (
            json!({"user_id": "a@example.com", "backend": "LOCAL", "domain_id": t, "password": "short"}),
            "ERROR_INCORRECT_PASSWORD_FORMAT",
            "rule = at least 8",
        ),
        (
            json!({"user_id": "a@example.com", "backend": "LOCAL", "domain_id": t, "password": "User-Passw0rd", "email": "nope"}),
            "ERROR_INVALID_PARAMETER",
            "email",
        ),
        (
            json!({"user_id": "a@example.com", "backend": "LOCAL", "domain_id": t, "password": "User-Passw0rd", "timezone": "Mars/Base"}),
            "ERROR_INVALID_PARAMETER",
            "timezone",
        ),
        (
            json!({"user_id": "a@example.com", "backend": "LOCAL", "domain_id": t, "password": "User-Passw0rd", "language": "english-uk"}),
            "ERROR_INVALID_PARAMETER",
            "language",
        ),
        (
            json!({"user_id": "a@example.com", "backend": "LOCAL", "domain_id": t, "password": "User-Passw0rd", "name": "x".repeat(129)}),
            "ERROR_INVALID_PARAMETER",
            "name",
        ),
        (
            json!({"user_id": format!("{}@example.com", "a".repeat(30)), "backend": "LOCAL", "domain_id": t, "password": "User-Passw0rd"}),
            "ERROR_INVALID_PARAMETER",
            "user_id",
        ),
        (
            json!({"user_id": "a@example.com", "backend": "LOCAL", "domain_id": t, "password": "User-Passw0rd", "state": "ENABLED"}),
            "ERROR_INVALID_PARAMETER",
            "state",
        ),
        (
            json!({"user_id": "a@example.com", "backend": "SAML", "domain_id": t, "password": "User-Passw0rd"}),
            "ERROR_INVALID_PARAMETER",
            "backend",
        ),
        (
            json!({"user_id": ["a@example.com"], "backend": "LOCAL", "domain_id": t, "password": "User-Passw0rd"}),
            "ERROR_INVALID_PARAMETER",
            "user_id",
        ),
        (
            json!({"user_id": "a@example.com", "backend": "LOCAL", "domain_id": t, "password": "User-Passw0rd", "tags": "x"}),
            "ERROR_INVALID_PARAMETER",
            "tags",
        ),
        (
            json!({"user_id": "robot", "user_type": "API_USER", "backend": "LOCAL", "domain_id": t, "password": "User-Passw0rd"}),
            "ERROR_INVALID_PARAMETER",
            "password",
        ),
        (
            json!({"user_id": "a@example.com", "backend": "EXTERNAL", "domain_id": t, "reset_password": true}),
            "ERROR_UNABLE_TO_RESET_PASSWORD_IN_EXTERNAL_AUTH",
            "",
        ),
        (
            json!({"user_id": "a@example.com", "backend": "LOCAL", "domain_id": t, "reset_password": true}),
            "ERROR_UNABLE_TO_RESET_PASSWORD_WITHOUT_EMAIL",
            "",
        ),
    ];
    for (body, code, message) in cases {
        let reply = env.spaceone("create", &env.admin_token, body.clone()).await;
        assert_eq!(reply.expect_error(400), code, "{body}: {}", reply.raw);
        assert!(
            reply.body["error_msg"].as_str().unwrap().contains(message),
            "{body}: {}",
            reply.raw
        );
    }
    for raw in ["{\"user_id\": ", "null", "\"text\""] {
        let reply = env
            .request(
                "POST",
                "/identity/v1/user/create",
                &[("x-auth-token", &env.admin_token)],
                raw,
            )
            .await;
        assert_eq!(reply.expect_error(400), "ERROR_INVALID_PARAMETER", "{raw}");
    }
    assert_eq!(
        env.partition().await,
        before,
        "a refused request writes nothing"
    );
}

#[tokio::test]
async fn duplicates_are_409_whatever_their_spelling_and_leave_no_partial_write() {
    let env = TestEnv::new().await;
    env.create_user(
        "first@example.com",
        "User-Passw0rd",
        json!({"email": "Shared@Example.com"}),
    )
    .await;
    let before = env.partition().await;

    let same_id = env
        .spaceone(
            "create",
            &env.admin_token,
            json!({"user_id": "first@example.com",
        "backend": "LOCAL", "domain_id": env.tenant, "password": "User-Passw0rd"}),
        )
        .await;
    assert_eq!(same_id.expect_error(409), "ERROR_SAVE_UNIQUE_VALUES");
    assert!(
        same_id.body["error_msg"]
            .as_str()
            .unwrap()
            .contains("user_id")
    );

    for email in ["shared@example.com", "ＳＨＡＲＥＤ@example.com"] {
        let same_email = env.spaceone("create", &env.admin_token, json!({"user_id": "second@example.com",
            "email": email, "backend": "LOCAL", "domain_id": env.tenant, "password": "User-Passw0rd"})).await;
        assert_eq!(
            same_email.expect_error(409),
            "ERROR_SAVE_UNIQUE_VALUES",
            "{email}"
        );
        assert!(
            same_email.body["error_msg"]
                .as_str()
                .unwrap()
                .contains("email")
        );
    }
    // The login name defaults to the user_id: another case of it is the same login name.
    let same_login = env
        .spaceone(
            "create",
            &env.admin_token,
            json!({"user_id": "ADMIN",
        "user_type": "API_USER", "backend": "LOCAL", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(same_login.expect_error(409), "ERROR_SAVE_UNIQUE_VALUES");
    assert_eq!(
        same_login.body["error_msg"],
        "Duplicated value. (keys = ['user_id'])"
    );
    assert_eq!(
        env.partition().await,
        before,
        "no uniqueness record, user or counter changed"
    );
}

#[tokio::test]
async fn the_tenant_quota_refuses_one_user_too_many() {
    let mut settings = config();
    settings.tenant_user_quota = 2;
    let env = TestEnv::with_config(settings).await;
    env.create_user("two@example.com", "User-Passw0rd", json!({}))
        .await;
    let before = env.partition().await;
    let over = env
        .spaceone(
            "create",
            &env.admin_token,
            create_body(&env, "three@example.com"),
        )
        .await;
    assert_eq!(over.expect_error(400), "QUOTA_EXCEEDED");
    assert_eq!(env.partition().await, before);
    let tenant = env
        .app
        .store
        .get_tenant(&env.tenant)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tenant.user_count, 2);
}

#[tokio::test]
async fn tokens_are_checked_401_for_bad_403_for_foreign_or_non_admin() {
    let env = TestEnv::new().await;
    let get = json!({"user_id": "admin", "domain_id": env.tenant});
    let no_token = env
        .request("POST", "/identity/v1/user/get", &[], get.to_string())
        .await;
    assert_eq!(no_token.expect_error(401), "ERROR_AUTHENTICATE_FAILURE");
    for bad in ["garbage", "a.b.c", &format!("{}x", env.admin_token)] {
        assert_eq!(
            env.spaceone("get", bad, get.clone())
                .await
                .expect_error(401),
            "ERROR_AUTHENTICATE_FAILURE"
        );
    }
    let bearer = env
        .request(
            "POST",
            "/identity/v1/user/get",
            &[("authorization", &format!("Bearer {}", env.admin_token))],
            get.to_string(),
        )
        .await;
    assert_eq!(bearer.status, 200, "{}", bearer.raw);

    let expired = {
        let admin = env.stored("admin").await;
        env.app
            .tokens
            .issue(&admin, lambda::ops::now() - 7_200_000)
            .unwrap()
            .token
    };
    assert_eq!(
        env.spaceone("get", &expired, get.clone())
            .await
            .expect_error(401),
        "ERROR_AUTHENTICATE_FAILURE"
    );

    let other = TestEnv::new().await;
    let foreign = env.spaceone("get", &other.admin_token, get.clone()).await;
    assert_eq!(foreign.expect_error(403), "ERROR_PERMISSION_DENIED");
    let foreign_create = env
        .spaceone(
            "create",
            &other.admin_token,
            create_body(&env, "x@example.com"),
        )
        .await;
    assert_eq!(foreign_create.expect_error(403), "ERROR_PERMISSION_DENIED");

    env.create_user("member@example.com", "User-Passw0rd", json!({}))
        .await;
    let member = env.login("member@example.com", "User-Passw0rd").await;
    assert_eq!(
        env.spaceone("get", &member, get.clone())
            .await
            .expect_error(403),
        "ERROR_PERMISSION_DENIED"
    );
    let member_create = env
        .spaceone("create", &member, create_body(&env, "y@example.com"))
        .await;
    assert_eq!(member_create.expect_error(403), "ERROR_PERMISSION_DENIED");
}

#[tokio::test]
async fn unknown_and_pending_delete_users_are_404() {
    let env = TestEnv::new().await;
    let missing = env.get_info("ghost@example.com").await;
    assert_eq!(missing.expect_error(404), "ERROR_NOT_FOUND");
    assert_eq!(
        missing.body["error_msg"],
        "Value not found. (user_id = ghost@example.com)"
    );

    env.create_user("gone@example.com", "User-Passw0rd", json!({}))
        .await;
    env.change_user("gone@example.com", |u| {
        u.state = UserState::PendingDelete;
    })
    .await;
    let gone = env.get_info("gone@example.com").await;
    assert_eq!(gone.expect_error(404), "ERROR_NOT_FOUND");
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let env = TestEnv::new().await;
    let mut body = create_body(&env, "big@example.com");
    body["name"] = json!("x".repeat(70 * 1024));
    assert_eq!(
        env.spaceone("create", &env.admin_token, body)
            .await
            .expect_error(413),
        "PAYLOAD_TOO_LARGE"
    );
}

/// A change applied to a stored user.
type Edit = fn(&mut User);

#[tokio::test]
async fn a_token_stops_working_when_its_user_is_locked_disabled_deleted_or_changes_password() {
    let env = TestEnv::new().await;
    let edits: [(&str, Edit); 4] = [
        ("lock", |u| {
            u.lock = Some(LockReason::Admin);
            u.revoke_tokens();
        }),
        ("disable", |u| {
            u.state = UserState::Disabled;
            u.revoke_tokens();
        }),
        ("delete", |u| {
            u.state = UserState::PendingDelete;
            u.revoke_tokens();
        }),
        ("password", |u| {
            u.password_hash = Some(lambda::password::hash("Another-Passw0rd").unwrap());
            u.revoke_tokens();
        }),
    ];
    for (what, edit) in edits {
        let admin_id = format!("{what}-admin");
        let mut admin = User::new(
            &env.tenant,
            &admin_id,
            lambda::model::UserType::User,
            lambda::model::Backend::Local,
            lambda::ops::now(),
        );
        admin.role = lambda::model::Role::Admin;
        admin.password_hash = Some(lambda::password::hash("Admin2-Passw0rd").unwrap());
        env.app
            .store
            .create_user(&admin, 50, &[], None)
            .await
            .unwrap();
        let token = env.login(&admin_id, "Admin2-Passw0rd").await;
        let get = json!({"user_id": "admin", "domain_id": env.tenant});
        assert_eq!(env.spaceone("get", &token, get.clone()).await.status, 200);
        env.change_user(&admin_id, edit).await;
        let refused = env.spaceone("get", &token, get).await;
        assert_eq!(
            refused.expect_error(401),
            "ERROR_AUTHENTICATE_FAILURE",
            "after {what}"
        );
    }
}

#[tokio::test]
async fn reset_password_on_create_sends_a_sealed_temporary_password_through_the_outbox() {
    let env = TestEnv::new().await;
    let created = env
        .spaceone(
            "create",
            &env.admin_token,
            json!({"user_id": "temp@example.com", "email": "temp@example.com", "backend": "LOCAL",
                "domain_id": env.tenant, "reset_password": true}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.raw);
    assert_eq!(created.body["required_actions"], json!(["UPDATE_PASSWORD"]));

    let outbox = env.outbox().await;
    assert_eq!(outbox.len(), 1);
    let message = &outbox[0];
    assert_eq!(
        (message.recipient.as_str(), message.user_id.as_str()),
        ("temp@example.com", "temp@example.com")
    );
    let temporary = env
        .app
        .sealer
        .open(message)
        .unwrap()
        .expect("the message carries the password");
    assert_eq!(temporary.len(), 12);
    assert!(
        !created.raw.contains(&temporary),
        "the password is never in a response"
    );
    assert!(
        !message
            .sealed_secret
            .as_deref()
            .unwrap()
            .contains(&temporary)
    );
    // The message waits in the user's item, and no answer about the user shows it.
    let fetched = env
        .spaceone(
            "get",
            &env.admin_token,
            json!({"user_id": "temp@example.com", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(fetched.status, 200, "{}", fetched.raw);
    for answer in [&created.raw, &fetched.raw] {
        assert!(!answer.contains(&message.notification_id));
        assert!(!answer.contains("outbox"));
    }
    env.login("temp@example.com", &temporary).await;

    let both = env
        .spaceone(
            "create",
            &env.admin_token,
            json!({"user_id": "both@example.com", "email": "both@example.com", "backend": "LOCAL",
                "domain_id": env.tenant, "reset_password": true, "password": "User-Passw0rd"}),
        )
        .await;
    assert_eq!(both.expect_error(400), "ERROR_INVALID_PARAMETER");
}

#[tokio::test]
async fn bad_get_requests_are_400_with_spaceone_codes() {
    let env = TestEnv::new().await;
    let t = env.tenant.clone();
    let cases: Vec<(String, &str)> = vec![
        ("{\"user_id\": ".into(), "ERROR_INVALID_PARAMETER"),
        (
            json!({"domain_id": t}).to_string(),
            "ERROR_REQUIRED_PARAMETER",
        ),
        (
            json!({"user_id": "admin", "domain_id": t, "extra": 1}).to_string(),
            "ERROR_INVALID_PARAMETER",
        ),
        (
            json!({"user_id": 7, "domain_id": t}).to_string(),
            "ERROR_INVALID_PARAMETER",
        ),
        (
            json!({"user_id": "admin", "domain_id": t, "only": "user_id"}).to_string(),
            "ERROR_INVALID_PARAMETER",
        ),
        (
            json!({"user_id": "../admin", "domain_id": t}).to_string(),
            "ERROR_INVALID_PARAMETER",
        ),
    ];
    for (body, code) in cases {
        let reply = env
            .request(
                "POST",
                "/identity/v1/user/get",
                &[("x-auth-token", &env.admin_token)],
                body.clone(),
            )
            .await;
        assert_eq!(reply.expect_error(400), code, "{body}");
    }
}

#[tokio::test]
async fn tags_the_store_cannot_hold_are_400_not_500() {
    let env = TestEnv::new().await;
    let before = env.partition().await;
    let deep: serde_json::Value =
        serde_json::from_str(&format!("{}1{}", r#"{"a":"#.repeat(40), "}".repeat(40))).unwrap();
    for tags in [
        json!({"n": 1e200}),
        json!({"n": 1e-200}),
        json!({"": "x"}),
        deep,
    ] {
        let mut body = create_body(&env, "tags@example.com");
        body["tags"] = tags;
        let reply = env.spaceone("create", &env.admin_token, body).await;
        assert_eq!(
            reply.expect_error(400),
            "ERROR_INVALID_PARAMETER",
            "{}",
            reply.raw
        );
    }
    assert_eq!(env.partition().await, before);
}

#[tokio::test]
async fn parallel_creates_with_one_email_let_exactly_one_win_and_counters_stay_true() {
    let env = TestEnv::new().await;
    let same_email = (0..8).map(|i| {
        let env = &env;
        async move {
            let body = json!({"user_id": format!("racer{i}@example.com"), "email": "race@example.com",
                "backend": "LOCAL", "domain_id": env.tenant, "password": "User-Passw0rd"});
            env.spaceone("create", &env.admin_token, body).await
        }
    });
    let replies = futures::future::join_all(same_email).await;
    let won = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        won,
        1,
        "{:?}",
        replies.iter().map(|r| &r.raw).collect::<Vec<_>>()
    );
    for reply in replies.iter().filter(|r| r.status != 200) {
        assert_eq!(reply.expect_error(409), "ERROR_SAVE_UNIQUE_VALUES");
    }

    let different = (0..8).map(|i| {
        let env = &env;
        async move {
            let body = json!({"user_id": format!("parallel{i}@example.com"), "backend": "LOCAL",
                "domain_id": env.tenant, "password": "User-Passw0rd"});
            env.spaceone("create", &env.admin_token, body).await.status
        }
    });
    let statuses = futures::future::join_all(different).await;
    assert_eq!(
        statuses,
        vec![200; 8],
        "creates of different users in one tenant all succeed"
    );
    let users = env
        .partition()
        .await
        .into_iter()
        .filter(|item| item["sk"].as_s().unwrap().starts_with("U#"))
        .count();
    let tenant = env
        .app
        .store
        .get_tenant(&env.tenant)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        tenant.user_count as usize, users,
        "the counter equals a recount"
    );
}

#[tokio::test]
async fn the_indexes_never_carry_a_password_hash() {
    let env = TestEnv::new().await;
    env.create_user(
        "indexed@example.com",
        "User-Passw0rd",
        json!({"name": "Indexed"}),
    )
    .await;
    for (index, key, value) in [
        (
            lambda::dynamo::BY_NAME_INDEX,
            "gsi1pk",
            lambda::dynamo::tenant_pk(&env.tenant),
        ),
        (
            lambda::dynamo::BY_FACET_INDEX,
            "gsi2pk",
            format!(
                "{}#ENABLED#USER#LOCAL",
                lambda::dynamo::tenant_pk(&env.tenant)
            ),
        ),
    ] {
        let output = env
            .app
            .store
            .client()
            .query()
            .table_name(common::TABLE)
            .index_name(index)
            .key_condition_expression("#k = :v")
            .expression_attribute_names("#k", key)
            .expression_attribute_values(":v", aws_sdk_dynamodb::types::AttributeValue::S(value))
            .send()
            .await
            .unwrap();
        let items = output.items.unwrap_or_default();
        assert!(
            items.iter().any(|item| item
                .get("user_id")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some("indexed@example.com")),
            "{index}"
        );
        assert!(
            items.iter().all(|item| !item.contains_key("password_hash")),
            "{index} carries a hash"
        );
    }
}

/// Issue 31, item 1: every example of the seed's page sends `tags` as a list of `{key, value}`
/// pairs; a client written from the page was refused with 400. Both forms are kept as one object
/// and answered as the proto's `Struct`.
#[tokio::test]
async fn tags_come_as_the_seed_shows_them_or_as_a_struct_and_are_answered_as_a_struct() {
    let env = TestEnv::new().await;
    let mut body = create_body(&env, "listed@example.com");
    body["tags"] =
        json!([{"key": "user1", "value": "Reuters"}, {"key": "user2", "value": "Bloomberg"}]);
    let created = env.spaceone("create", &env.admin_token, body).await;
    assert_eq!(created.status, 200, "{}", created.raw);
    assert_eq!(
        created.body["tags"],
        json!({"user1": "Reuters", "user2": "Bloomberg"})
    );
    let updated = env
        .spaceone(
            "update",
            &env.admin_token,
            json!({"user_id": "listed@example.com", "domain_id": env.tenant,
                "tags": [{"key": "team", "value": "red"}]}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.raw);
    assert_eq!(updated.body["tags"], json!({"team": "red"}));
    assert_eq!(
        env.stored("listed@example.com").await.tags,
        json!({"team": "red"}).as_object().unwrap().clone()
    );

    let before = env.partition().await;
    for (tags, reason) in [
        (
            json!([{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]),
            "given more than once",
        ),
        (json!([{"key": 7, "value": "1"}]), "exactly a string"),
        (
            json!([{"key": "a", "value": "1", "extra": 1}]),
            "exactly a string",
        ),
        (json!([{"key": "a"}]), "exactly a string"),
        (json!(["a"]), "each tag is an object"),
        (json!("a=1"), "must be an object or a list"),
    ] {
        let reply = env
            .spaceone(
                "update",
                &env.admin_token,
                json!({"user_id": "listed@example.com", "domain_id": env.tenant, "tags": tags}),
            )
            .await;
        assert_eq!(reply.expect_error(400), "ERROR_INVALID_PARAMETER", "{tags}");
        assert!(reply.raw.contains(reason), "{tags}: {}", reply.raw);
    }
    assert_eq!(env.partition().await, before, "nothing written");
}

/// Issue 31, item 6: SpaceONE 1.12 defaults `backend`, and a protobuf client leaves an unset enum
/// out, so a create without it is a LOCAL user.
#[tokio::test]
async fn create_without_backend_makes_a_local_user() {
    let env = TestEnv::new().await;
    let created = env
        .spaceone(
            "create",
            &env.admin_token,
            json!({"user_id": "plain@example.com", "domain_id": env.tenant, "password": "User-Passw0rd"}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.raw);
    assert_eq!(created.body["backend"], "LOCAL");
    env.login("plain@example.com", "User-Passw0rd").await;
}

/// Issue 35, item 1: SpaceONE's mutation handler fills `domain_id` from the token; spacectl and
/// the console leave it out. A different one stays refused.
#[tokio::test]
async fn domain_id_may_be_left_out_and_is_the_tokens_tenant() {
    let env = TestEnv::new().await;
    let created = env
        .spaceone(
            "create",
            &env.admin_token,
            json!({"user_id": "nodomain@example.com", "password": "User-Passw0rd"}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.raw);
    assert_eq!(created.body["domain_id"], env.tenant.as_str());
    for (verb, body) in [
        ("get", json!({"user_id": "nodomain@example.com"})),
        ("list", json!({})),
        (
            "stat",
            json!({"query": {"aggregate": [{"count": {"name": "users"}}]}}),
        ),
        (
            "update",
            json!({"user_id": "nodomain@example.com", "name": "No Domain"}),
        ),
    ] {
        let reply = env.spaceone(verb, &env.admin_token, body).await;
        assert_eq!(reply.status, 200, "{verb}: {}", reply.raw);
    }
    let other = env
        .spaceone(
            "get",
            &env.admin_token,
            json!({"user_id": "nodomain@example.com", "domain_id": "another-tenant"}),
        )
        .await;
    assert_eq!(other.expect_error(403), "ERROR_PERMISSION_DENIED");
}

/// Issue 35, item 3: every SpaceONE user holds `User.get`; a member reads their own user, and
/// (unlike SpaceONE) nobody else's.
#[tokio::test]
async fn a_member_reads_their_own_user_and_no_one_elses() {
    let env = TestEnv::new().await;
    env.create_user("me@example.com", "User-Passw0rd", json!({"name": "Me"}))
        .await;
    env.create_user("them@example.com", "User-Passw0rd", json!({}))
        .await;
    let token = env.login("me@example.com", "User-Passw0rd").await;
    let own = env
        .spaceone("get", &token, json!({"user_id": "me@example.com"}))
        .await;
    assert_eq!(own.status, 200, "{}", own.raw);
    assert_eq!(own.body["name"], "Me");
    let other = env
        .spaceone("get", &token, json!({"user_id": "them@example.com"}))
        .await;
    assert_eq!(other.expect_error(403), "ERROR_PERMISSION_DENIED");
    let listed = env.spaceone("list", &token, json!({})).await;
    assert_eq!(listed.expect_error(403), "ERROR_PERMISSION_DENIED");
}

/// Issue 35, items 4 and 6: an explicit empty `tags` clears them (it counted as missing, so tags
/// could never be cleared); `create` strips whitespace around `email`, as SpaceONE does.
#[tokio::test]
async fn empty_tags_clear_them_and_create_strips_email_and_name() {
    let env = TestEnv::new().await;
    let mut body = create_body(&env, "tagged@example.com");
    body["tags"] = json!({"team": "red"});
    body["email"] = json!("  tagged@example.com \t");
    body["name"] = json!(" Tagged User  ");
    let created = env.spaceone("create", &env.admin_token, body).await;
    assert_eq!(created.status, 200, "{}", created.raw);
    assert_eq!(created.body["email"], "tagged@example.com");
    assert_eq!(created.body["name"], "Tagged User");
    for empty in [json!({}), json!([])] {
        env.spaceone(
            "update",
            &env.admin_token,
            json!({"user_id": "tagged@example.com", "tags": {"team": "blue"}}),
        )
        .await;
        let cleared = env
            .spaceone(
                "update",
                &env.admin_token,
                json!({"user_id": "tagged@example.com", "tags": empty}),
            )
            .await;
        assert_eq!(cleared.status, 200, "{}", cleared.raw);
        assert_eq!(cleared.body["tags"], json!({}), "{empty}");
        assert!(env.stored("tagged@example.com").await.tags.is_empty());
    }
    // Left out, or null, they stay.
    env.spaceone(
        "update",
        &env.admin_token,
        json!({"user_id": "tagged@example.com", "tags": {"team": "blue"}}),
    )
    .await;
    for kept in [
        json!({"user_id": "tagged@example.com", "name": "T"}),
        json!({"user_id": "tagged@example.com", "tags": null}),
    ] {
        let reply = env.spaceone("update", &env.admin_token, kept).await;
        assert_eq!(reply.body["tags"], json!({"team": "blue"}), "{}", reply.raw);
    }
}
