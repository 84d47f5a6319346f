//! Seed 003: `PUT .../users/{userId}/userStatus` with every documented status (200, 400, 403, 404,
//! 409, 429, and the 503 a store fault gives instead of a 500), the User Details lookup, and the
//! audit trail of status changes made through every dialect.

use crate::common;

use common::{ADMIN_PASSWORD, Reply, TestEnv, config};
use lambda::store::prelude::*;
use serde_json::{Value, json};

const PASSWORD: &str = "User-Passw0rd";

async fn set_status(env: &TestEnv, token: &str, user_id: &str, body: Value) -> Reply {
    env.request(
        "PUT",
        &format!("/AdminInterface/restapi/v1/users/{user_id}/userStatus"),
        &[("authorization", &format!("Bearer {token}"))],
        body.to_string(),
    )
    .await
}

async fn lookup(env: &TestEnv, body: Value) -> Reply {
    env.request(
        "POST",
        "/AdminInterface/restapi/v1/users/lookup",
        &[("authorization", &format!("Bearer {}", env.admin_token))],
        body.to_string(),
    )
    .await
}

async fn trail(env: &TestEnv, user_id: &str) -> Reply {
    env.request(
        "GET",
        &format!("/AdminInterface/restapi/v1/users/{user_id}/auditTrail"),
        &[("authorization", &format!("Bearer {}", env.admin_token))],
        "",
    )
    .await
}

#[tokio::test]
async fn disabling_and_enabling_answer_the_new_status_and_disable_revokes_tokens() {
    let env = TestEnv::new().await;
    env.create_user("ann@example.com", PASSWORD, json!({}))
        .await;
    let token = env.login("ann@example.com", PASSWORD).await;

    let disabled = set_status(
        &env,
        &env.admin_token,
        "ann@example.com",
        json!({"userStatus": "Disabled"}),
    )
    .await;
    assert_eq!(disabled.status, 200, "{}", disabled.raw);
    assert_eq!(
        disabled.body,
        json!({"id": "ann@example.com", "userStatus": "Disabled"})
    );
    // The same user in seed 004's dialect; the old token is dead and login refused.
    assert_eq!(
        env.get_info("ann@example.com").await.body["state"],
        "DISABLED"
    );
    // The user's own token no longer works, even for their own password.
    let own = env
        .request(
            "POST",
            "/v3/users/ann@example.com/password",
            &[("x-auth-token", &token)],
            json!({"user": {"original_password": PASSWORD, "password": "Other-Passw0rd"}})
                .to_string(),
        )
        .await;
    assert_eq!(own.status, 401, "{}", own.raw);
    assert_eq!(env.try_login("ann@example.com", PASSWORD).await.status, 401);

    let enabled = set_status(
        &env,
        &env.admin_token,
        "ann@example.com",
        json!({"userStatus": "Enabled"}),
    )
    .await;
    assert_eq!(
        enabled.body,
        json!({"id": "ann@example.com", "userStatus": "Enabled"})
    );
    assert_eq!(env.try_login("ann@example.com", PASSWORD).await.status, 201);
}

#[tokio::test]
async fn setting_the_status_a_user_has_changes_nothing() {
    let env = TestEnv::new().await;
    env.create_user("same@example.com", PASSWORD, json!({}))
        .await;
    let before = env.stored("same@example.com").await;
    let again = set_status(
        &env,
        &env.admin_token,
        "same@example.com",
        json!({"userStatus": "Enabled"}),
    )
    .await;
    assert_eq!(again.status, 200);
    assert_eq!(
        env.stored("same@example.com").await,
        before,
        "no new version, no revocation"
    );
    set_status(
        &env,
        &env.admin_token,
        "same@example.com",
        json!({"userStatus": "Disabled"}),
    )
    .await;
    let disabled = env.stored("same@example.com").await;
    let twice = set_status(
        &env,
        &env.admin_token,
        "same@example.com",
        json!({"userStatus": "Disabled"}),
    )
    .await;
    assert_eq!(twice.body["userStatus"], "Disabled");
    assert_eq!(env.stored("same@example.com").await, disabled);
    assert_eq!(
        trail(&env, "same@example.com").await.body["changes"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "one change, recorded once"
    );
}

#[tokio::test]
async fn a_missing_or_unknown_status_is_400_and_changes_nothing() {
    let env = TestEnv::new().await;
    env.create_user("body@example.com", PASSWORD, json!({}))
        .await;
    let before = env.partition().await;
    for body in [
        json!({}),
        json!({"userStatus": ""}),
        json!({"userStatus": "enabled"}),
        json!({"userStatus": "Pending Deletion"}),
        json!({"userStatus": true}),
        json!({"userStatus": "Enabled", "extra": 1}),
    ] {
        let reply = set_status(&env, &env.admin_token, "body@example.com", body.clone()).await;
        reply.expect_error(400);
    }
    let malformed = env
        .request(
            "PUT",
            "/AdminInterface/restapi/v1/users/body@example.com/userStatus",
            &[("authorization", &format!("Bearer {}", env.admin_token))],
            "{\"userStatus\": ",
        )
        .await;
    assert_eq!(malformed.expect_error(400), "MALFORMED_REQUEST");
    assert_eq!(env.partition().await, before);
}

#[tokio::test]
async fn a_missing_bad_expired_or_insufficient_token_is_403_here() {
    let env = TestEnv::new().await;
    env.create_user("member@example.com", PASSWORD, json!({}))
        .await;
    let member = env.login("member@example.com", PASSWORD).await;
    let admin = env.stored("admin").await;
    let expired = env
        .app
        .tokens
        .issue(&admin, lambda::ops::now() - 2 * 86_400_000)
        .unwrap()
        .token;
    let mut tampered = env.admin_token.clone();
    tampered.pop();
    let body = json!({"userStatus": "Disabled"}).to_string();
    let path = "/AdminInterface/restapi/v1/users/member@example.com/userStatus";
    let none = env.request("PUT", path, &[], body.clone()).await;
    assert_eq!(none.expect_error(403), "AUTHENTICATION_REQUIRED");
    for (token, code) in [
        ("not-a-token".to_owned(), "TOKEN_INVALID"),
        (tampered, "TOKEN_INVALID"),
        (expired, "TOKEN_EXPIRED"),
        (member, "PERMISSION_DENIED"),
    ] {
        let reply = set_status(
            &env,
            &token,
            "member@example.com",
            json!({"userStatus": "Disabled"}),
        )
        .await;
        assert_eq!(reply.expect_error(403), code);
    }
    // Elsewhere a bad token stays a 401.
    let lookup_anonymous = env
        .request(
            "POST",
            "/AdminInterface/restapi/v1/users/lookup",
            &[],
            json!({"username": "admin"}).to_string(),
        )
        .await;
    assert_eq!(
        lookup_anonymous.expect_error(401),
        "AUTHENTICATION_REQUIRED"
    );
    assert_eq!(
        env.stored("member@example.com").await.state,
        lambda::model::UserState::Enabled
    );
}

#[tokio::test]
async fn an_unknown_invalid_or_blank_user_id_is_404() {
    let env = TestEnv::new().await;
    let other = TestEnv::new().await;
    other
        .create_user("theirs@example.com", PASSWORD, json!({}))
        .await;
    for user_id in ["nobody@example.com", "bad%20id", "..", "theirs@example.com"] {
        let reply = set_status(
            &env,
            &env.admin_token,
            user_id,
            json!({"userStatus": "Enabled"}),
        )
        .await;
        reply.expect_error(404);
    }
    let blank = env
        .request(
            "PUT",
            "/AdminInterface/restapi/v1/users//userStatus",
            &[("authorization", &format!("Bearer {}", env.admin_token))],
            json!({"userStatus": "Enabled"}).to_string(),
        )
        .await;
    blank.expect_error(404);
}

#[tokio::test]
async fn a_user_pending_deletion_or_disabled_by_a_sync_cannot_be_enabled() {
    let env = TestEnv::new().await;
    env.create_user("gone@example.com", PASSWORD, json!({}))
        .await;
    let deleted = env
        .spaceone(
            "delete",
            &env.admin_token,
            json!({"user_id": "gone@example.com", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(deleted.status, 200);
    for status in ["Enabled", "Disabled"] {
        let reply = set_status(
            &env,
            &env.admin_token,
            "gone@example.com",
            json!({"userStatus": status}),
        )
        .await;
        assert_eq!(reply.expect_error(409), "USER_STATE_CONFLICT", "{status}");
    }

    env.directory_put(json!({"user_id": "ext@dir.example", "state": "ENABLED"}));
    let created = env
        .spaceone(
            "create",
            &env.admin_token,
            json!({"user_id": "ext@dir.example", "backend": "EXTERNAL", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(created.status, 200);
    env.directory_put(json!({"user_id": "ext@dir.example", "state": "DISABLED"}));
    let synced = env
        .spaceone(
            "sync",
            &env.admin_token,
            json!({"user_id": "ext@dir.example", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(synced.body["state"], "DISABLED");
    let reply = set_status(
        &env,
        &env.admin_token,
        "ext@dir.example",
        json!({"userStatus": "Enabled"}),
    )
    .await;
    assert_eq!(reply.expect_error(409), "USER_STATE_CONFLICT");
}

#[tokio::test]
async fn too_many_requests_are_429_with_retry_after() {
    let (app, _) = common::app_with(config()).await;
    let router: &'static local_stack::Router = Box::leak(Box::new(
        local_stack::Router::from_template(app)
            .unwrap()
            .with_rate_limit(1.0, 2.0),
    ));
    let mut statuses = Vec::new();
    let mut throttled = None;
    for _ in 0..4 {
        let request = lambda_http::http::Request::builder()
            .method("PUT")
            .uri("/AdminInterface/restapi/v1/users/someone@example.com/userStatus")
            .body(lambda_http::Body::Text(
                json!({"userStatus": "Enabled"}).to_string(),
            ))
            .unwrap();
        let response = router.dispatch(request).await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            throttled = Some(response);
        }
    }
    // The burst of 2 passes (to the 403 for the missing token); the rest is throttled.
    assert_eq!(&statuses[..2], [403, 403]);
    assert!(statuses[2..].contains(&429), "{statuses:?}");
    let throttled = throttled.unwrap();
    assert_eq!(throttled.headers()["retry-after"], "1");
    let body: Value = match throttled.body() {
        lambda_http::Body::Text(text) => serde_json::from_str(text).unwrap(),
        _ => Value::Null,
    };
    assert_eq!(body["error_code"], "TOO_MANY_REQUESTS");
}

#[tokio::test]
async fn a_store_that_cannot_be_reached_is_503_with_retry_after_not_500() {
    let env = TestEnv::new().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut settings = config();
    settings.dynamodb_endpoint = Some(format!("http://{}", closed.local_addr().unwrap()));
    drop(closed);
    let client = lambda::app::dynamodb_client(settings.dynamodb_endpoint.as_deref()).await;
    let broken: &'static lambda::App = Box::leak(Box::new(
        lambda::app::new(settings, client, common::SIGNING_KEY).unwrap(),
    ));
    let request = lambda_http::http::Request::builder()
        .method("PUT")
        .uri("/AdminInterface/restapi/v1/users/admin/userStatus")
        .header("authorization", format!("Bearer {}", env.admin_token))
        .body(lambda_http::Body::Text(
            json!({"userStatus": "Enabled"}).to_string(),
        ))
        .unwrap();
    let request = lambda_http::RequestExt::with_path_parameters(
        request,
        std::collections::HashMap::from([("userId".to_owned(), "admin".to_owned())]),
    );
    let response = rsa_user_status::handle(broken, request).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
}

#[tokio::test]
async fn lookup_finds_users_by_email_or_username_from_every_dialect() {
    let env = TestEnv::new().await;
    env.create_user(
        "dkang@mz.co.kr",
        PASSWORD,
        json!({"name": "Dong Yoo kang", "email": "dkang@mz.co.kr"}),
    )
    .await;
    // A login name and an email set through seed 001, a new email through seed 002.
    let renamed = env
        .request(
            "PUT",
            "/v3.0/OS-USER/users/dkang@mz.co.kr",
            &[("x-auth-token", &env.admin_token)],
            json!({"user": {"name": "DongKang", "email": "dong@mz.co.kr"}}).to_string(),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.raw);
    env.create_user("ws@example.com", PASSWORD, json!({})).await;
    let modified = env
        .request(
            "PUT",
            &format!("/v2/{}/users/ws@example.com", env.tenant),
            &[("x-auth-token", &env.admin_token)],
            json!({"user_email": "desk@example.com"}).to_string(),
        )
        .await;
    assert_eq!(modified.status, 200, "{}", modified.raw);

    let by_email = lookup(&env, json!({"email": "DONG@mz.co.kr"})).await;
    assert_eq!(by_email.status, 200, "{}", by_email.raw);
    let details = &by_email.body;
    assert_eq!(details["id"], "dkang@mz.co.kr");
    assert_eq!(details["emailAddress"], "dong@mz.co.kr");
    assert_eq!(
        (&details["firstName"], &details["lastName"]),
        (&json!("Dong Yoo"), &json!("kang"))
    );
    assert_eq!(details["identitySource"], "Internal Database");
    assert_eq!(details["userStatus"], "Enabled");
    assert_eq!(details["markDeleted"], false);
    assert!(details["markDeletedAt"].is_null());
    assert!(details["creationDate"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        lookup(&env, json!({"username": "dongkang"})).await.body["id"],
        "dkang@mz.co.kr"
    );
    assert_eq!(
        lookup(&env, json!({"email": "desk@example.com"}))
            .await
            .body["id"],
        "ws@example.com"
    );
    assert_eq!(
        lookup(&env, json!({"username": "admin"})).await.body["id"],
        "admin"
    );

    env.spaceone(
        "delete",
        &env.admin_token,
        json!({"user_id": "ws@example.com", "domain_id": env.tenant}),
    )
    .await;
    let deleted = lookup(&env, json!({"email": "desk@example.com"})).await;
    assert_eq!(deleted.body["markDeleted"], true);
    assert_eq!(deleted.body["userStatus"], "Pending Deletion");
    assert!(deleted.body["markDeletedAt"].is_string());

    assert_eq!(
        lookup(&env, json!({"email": "nobody@example.com"}))
            .await
            .expect_error(404),
        "NOT_FOUND"
    );
    assert_eq!(
        lookup(&env, json!({})).await.expect_error(400),
        "MISSING_PARAMETER"
    );
    lookup(&env, json!({"email": "a@b.c", "username": "a"}))
        .await
        .expect_error(400);
    assert!(!by_email.raw.contains("argon2") && !by_email.raw.contains(ADMIN_PASSWORD));
}

#[tokio::test]
async fn every_status_change_from_every_dialect_is_in_the_audit_trail() {
    let env = TestEnv::new().await;
    env.create_user("audited@example.com", PASSWORD, json!({}))
        .await;
    let target = json!({"user_id": "audited@example.com", "domain_id": env.tenant});
    let steps: Vec<Reply> = vec![
        env.spaceone("disable", &env.admin_token, target.clone())
            .await,
        set_status(
            &env,
            &env.admin_token,
            "audited@example.com",
            json!({"userStatus": "Enabled"}),
        )
        .await,
        env.request(
            "PUT",
            &format!("/v2/{}/users/audited@example.com", env.tenant),
            &[("x-auth-token", &env.admin_token)],
            json!({"disabled": true}).to_string(),
        )
        .await,
        env.request(
            "PUT",
            "/v3.0/OS-USER/users/audited@example.com",
            &[("x-auth-token", &env.admin_token)],
            json!({"user": {"enabled": true}}).to_string(),
        )
        .await,
        env.spaceone("delete", &env.admin_token, target.clone())
            .await,
    ];
    for step in &steps {
        assert_eq!(step.status, 200, "{}", step.raw);
    }
    env.create_user("audited@example.com", PASSWORD, json!({}))
        .await;

    let reply = trail(&env, "audited@example.com").await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    let changes = reply.body["changes"].as_array().unwrap();
    let seen: Vec<(&str, &str, &str)> = changes
        .iter()
        .map(|c| {
            (
                c["endpoint"].as_str().unwrap(),
                c["fromState"].as_str().unwrap(),
                c["toState"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("POST /identity/v1/user/disable", "ENABLED", "DISABLED"),
            (
                "PUT /AdminInterface/restapi/v1/users/{userId}/userStatus",
                "DISABLED",
                "ENABLED"
            ),
            (
                "PUT /v2/{project_id}/users/{user_id}",
                "ENABLED",
                "DISABLED"
            ),
            ("PUT /v3.0/OS-USER/users/{user_id}", "DISABLED", "ENABLED"),
            ("POST /identity/v1/user/delete", "ENABLED", "PENDING_DELETE"),
            ("POST /identity/v1/user/create", "PENDING_DELETE", "ENABLED"),
        ]
    );
    assert!(
        changes
            .iter()
            .all(|c| c["actor"] == "admin" && c["time"].is_string())
    );
    assert_eq!(changes[4]["toStatus"], "Pending Deletion");
    assert_eq!(
        trail(&env, "nobody@example.com").await.expect_error(404),
        "NOT_FOUND"
    );

    // The trail is stored beside the user, never inside what the 004 dialect answers.
    let stored = env
        .app
        .store
        .audit_trail(&env.tenant, "audited@example.com")
        .await
        .unwrap();
    assert_eq!(stored.len(), 6);
    assert!(
        env.get_info("audited@example.com")
            .await
            .body
            .get("changes")
            .is_none()
    );
}

#[tokio::test]
async fn a_user_disabled_through_seed_002_reads_back_disabled_in_004_and_003() {
    let env = TestEnv::new().await;
    env.create_user(
        "desk@example.com",
        PASSWORD,
        json!({"email": "desk@example.com"}),
    )
    .await;
    let disabled = env
        .request(
            "PUT",
            &format!("/v2/{}/users/desk@example.com", env.tenant),
            &[("x-auth-token", &env.admin_token)],
            json!({"disabled": true}).to_string(),
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.raw);
    assert_eq!(
        env.get_info("desk@example.com").await.body["state"],
        "DISABLED"
    );
    let details = lookup(&env, json!({"email": "desk@example.com"})).await;
    assert_eq!(details.body["userStatus"], "Disabled");
}
