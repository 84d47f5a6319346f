//! Seed 004 `find`, `sync` and EXTERNAL `create` against an external directory served over HTTP on
//! 127.0.0.1; a deployment without a directory, and one whose directory is down.

use crate::common;

use common::{TestEnv, config};
use serde_json::{Value, json};

async fn create_external(env: &TestEnv, user_id: &str, extra: Value) -> common::Reply {
    let mut body = json!({"user_id": user_id, "backend": "EXTERNAL", "domain_id": env.tenant});
    if let Value::Object(extra) = extra {
        body.as_object_mut().unwrap().extend(extra);
    }
    env.spaceone("create", &env.admin_token, body).await
}

/// `find` is the one method under `users/` (the seed's path).
async fn find_as(env: &TestEnv, token: &str, body: Value) -> common::Reply {
    env.request(
        "POST",
        "/identity/v1/users/find",
        &[("x-auth-token", token)],
        body.to_string(),
    )
    .await
}

async fn find(env: &TestEnv, search: Value) -> common::Reply {
    find_as(
        env,
        &env.admin_token,
        json!({"search": search, "domain_id": env.tenant}),
    )
    .await
}

async fn sync(env: &TestEnv, user_id: &str) -> common::Reply {
    env.spaceone(
        "sync",
        &env.admin_token,
        json!({"user_id": user_id, "domain_id": env.tenant}),
    )
    .await
}

#[tokio::test]
async fn find_searches_the_directory_by_keyword_or_id_and_answers_at_most_25() {
    let env = TestEnv::new().await;
    for i in 0..30 {
        env.directory_put(
            json!({"user_id": format!("staff{i:02}@dir.example"), "name": format!("Staff {i}"),
            "email": format!("staff{i:02}@dir.example"), "state": "ENABLED", "tags": {"n": i}}),
        );
    }
    env.directory_put(
        json!({"user_id": "boss@dir.example", "name": "Big Boss", "email": "boss@dir.example"}),
    );

    let many = find(&env, json!({"keyword": "STAFF"})).await;
    assert_eq!(many.status, 200, "{}", many.raw);
    assert_eq!(many.body["results"].as_array().unwrap().len(), 25);
    assert_eq!(many.body["total_count"], 30);

    let one = find(&env, json!({"user_id": "boss@dir.example"})).await;
    assert_eq!(
        one.body,
        json!({"results": [{"user_id": "boss@dir.example", "name": "Big Boss", "email": "boss@dir.example", "tags": {}}],
               "total_count": 1})
    );
    let none = find(&env, json!({"keyword": "nobody"})).await;
    assert_eq!(none.body, json!({"results": [], "total_count": 0}));

    // Issue 31, item 7: spaceone-api 1.12.44 and every 2.x release call `find` under `user/`.
    let newer = env
        .request(
            "POST",
            "/identity/v1/user/find",
            &[("x-auth-token", &env.admin_token)],
            json!({"search": {"user_id": "boss@dir.example"}, "domain_id": env.tenant}).to_string(),
        )
        .await;
    assert_eq!(newer.status, 200, "{}", newer.raw);
    assert_eq!(newer.body, one.body);
}

#[tokio::test]
async fn find_needs_a_search_an_administrator_and_a_directory() {
    let env = TestEnv::new().await;
    for (search, code) in [
        (json!({}), "ERROR_REQUIRED_PARAMETER"),
        (json!({"keyword": ""}), "ERROR_REQUIRED_PARAMETER"),
        (
            json!({"keyword": "a", "filter": "x"}),
            "ERROR_INVALID_PARAMETER",
        ),
        (json!({"keyword": 7}), "ERROR_INVALID_PARAMETER"),
    ] {
        assert_eq!(
            find(&env, search.clone()).await.expect_error(400),
            code,
            "{search}"
        );
    }
    let no_search = find_as(&env, &env.admin_token, json!({"domain_id": env.tenant})).await;
    assert_eq!(no_search.expect_error(400), "ERROR_REQUIRED_PARAMETER");

    env.create_user("member@example.com", "User-Passw0rd", json!({}))
        .await;
    let member = env.login("member@example.com", "User-Passw0rd").await;
    let body = json!({"search": {"keyword": "a"}, "domain_id": env.tenant});
    let denied = find_as(&env, &member, body.clone()).await;
    assert_eq!(denied.expect_error(403), "ERROR_PERMISSION_DENIED");
    let anonymous = env
        .request("POST", "/identity/v1/users/find", &[], body.to_string())
        .await;
    assert_eq!(anonymous.expect_error(401), "ERROR_AUTHENTICATE_FAILURE");

    let mut without = config();
    without.external_directory_url = None;
    let bare = TestEnv::with_config(without).await;
    let refused = find(&bare, json!({"keyword": "a"})).await;
    assert_eq!(
        refused.expect_error(400),
        "ERROR_NOT_ALLOWED_EXTERNAL_AUTHENTICATION"
    );
    let created = create_external(&bare, "ext@dir.example", json!({})).await;
    assert_eq!(
        created.expect_error(400),
        "ERROR_NOT_ALLOWED_EXTERNAL_AUTHENTICATION"
    );
    // LOCAL users need no directory.
    bare.create_user("local@example.com", "User-Passw0rd", json!({}))
        .await;
}

#[tokio::test]
async fn a_directory_that_is_down_is_a_503_and_nothing_is_written() {
    // A port nobody listens on: bound, then released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/find", closed.local_addr().unwrap());
    drop(closed);
    let mut settings = config();
    settings.external_directory_url = Some(url);
    let env = TestEnv::with_config(settings).await;
    let before = env.partition().await;
    assert_eq!(
        find(&env, json!({"keyword": "a"})).await.expect_error(503),
        "ERROR_UNAVAILABLE"
    );
    assert_eq!(
        create_external(&env, "ext@dir.example", json!({}))
            .await
            .expect_error(503),
        "ERROR_UNAVAILABLE"
    );
    assert_eq!(env.partition().await, before);
}

#[tokio::test]
async fn an_external_user_takes_state_name_and_email_from_the_directory() {
    let env = TestEnv::new().await;
    env.directory_put(json!({"user_id": "on@dir.example", "name": "On Line", "email": "on@dir.example", "state": "ENABLED"}));
    env.directory_put(
        json!({"user_id": "off@dir.example", "name": "Off Line", "state": "DISABLED"}),
    );
    env.directory_put(json!({"user_id": "new@dir.example", "name": "New Comer"}));

    let on = create_external(&env, "on@dir.example", json!({})).await;
    assert_eq!(on.status, 200, "{}", on.raw);
    assert_eq!(
        (&on.body["state"], &on.body["name"], &on.body["email"]),
        (
            &json!("ENABLED"),
            &json!("On Line"),
            &json!("on@dir.example")
        )
    );
    // What the request gives wins over the directory.
    let off = create_external(&env, "off@dir.example", json!({"name": "Chosen Name"})).await;
    assert_eq!(
        (&off.body["state"], &off.body["name"]),
        (&json!("DISABLED"), &json!("Chosen Name"))
    );
    // Disabled by the directory: only the directory enables it again.
    let enable = env
        .spaceone(
            "enable",
            &env.admin_token,
            json!({"user_id": "off@dir.example", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(enable.expect_error(409), "USER_STATE_CONFLICT");
    let pending = create_external(&env, "new@dir.example", json!({})).await;
    assert_eq!(pending.body["state"], "PENDING");

    let missing = create_external(&env, "ghost@dir.example", json!({})).await;
    assert_eq!(
        missing.expect_error(400),
        "ERROR_NOT_FOUND_USER_IN_EXTERNAL_AUTH"
    );
    env.directory_add(json!({"user_id": "twin@dir.example", "name": "One"}));
    env.directory_add(json!({"user_id": "twin@dir.example", "name": "Two"}));
    let twins = create_external(&env, "twin@dir.example", json!({})).await;
    assert_eq!(
        twins.expect_error(400),
        "ERROR_TOO_MANY_USERS_IN_EXTERNAL_AUTH"
    );
}

#[tokio::test]
async fn sync_follows_the_directory_and_disables_users_it_disables_or_drops() {
    let env = TestEnv::new().await;
    env.directory_put(json!({"user_id": "pat@dir.example", "name": "Pat", "email": "pat@dir.example", "state": "ENABLED"}));
    assert_eq!(
        create_external(&env, "pat@dir.example", json!({}))
            .await
            .status,
        200
    );

    env.directory_put(json!({"user_id": "pat@dir.example", "name": "Pat Renamed", "email": "pat.new@dir.example", "state": "ENABLED"}));
    let renamed = sync(&env, "pat@dir.example").await;
    assert_eq!(renamed.status, 200, "{}", renamed.raw);
    assert_eq!(
        (
            &renamed.body["name"],
            &renamed.body["email"],
            &renamed.body["state"]
        ),
        (
            &json!("Pat Renamed"),
            &json!("pat.new@dir.example"),
            &json!("ENABLED")
        )
    );

    env.directory_put(json!({"user_id": "pat@dir.example", "state": "DISABLED"}));
    assert_eq!(
        sync(&env, "pat@dir.example").await.body["state"],
        "DISABLED"
    );
    env.directory_put(json!({"user_id": "pat@dir.example", "state": "ENABLED"}));
    assert_eq!(sync(&env, "pat@dir.example").await.body["state"], "ENABLED");

    env.directory_remove("pat@dir.example");
    let gone = sync(&env, "pat@dir.example").await;
    assert_eq!(gone.body["state"], "DISABLED", "gone from the directory");
    let enable = env
        .spaceone(
            "enable",
            &env.admin_token,
            json!({"user_id": "pat@dir.example", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(enable.expect_error(409), "USER_STATE_CONFLICT");

    // An administrator's disable stands even when the directory enables the user.
    env.directory_put(json!({"user_id": "pat@dir.example", "state": "ENABLED"}));
    assert_eq!(sync(&env, "pat@dir.example").await.body["state"], "ENABLED");
    let disabled = env
        .spaceone(
            "disable",
            &env.admin_token,
            json!({"user_id": "pat@dir.example", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(disabled.status, 200);
    assert_eq!(
        sync(&env, "pat@dir.example").await.body["state"],
        "DISABLED"
    );
}

#[tokio::test]
async fn sync_refuses_local_and_unknown_users() {
    let env = TestEnv::new().await;
    env.create_user("local@example.com", "User-Passw0rd", json!({}))
        .await;
    assert_eq!(
        sync(&env, "local@example.com").await.expect_error(400),
        "ERROR_INVALID_PARAMETER"
    );
    assert_eq!(
        sync(&env, "nobody@example.com").await.expect_error(404),
        "ERROR_NOT_FOUND"
    );
    let missing = env
        .spaceone("sync", &env.admin_token, json!({"domain_id": env.tenant}))
        .await;
    assert_eq!(missing.expect_error(400), "ERROR_REQUIRED_PARAMETER");
}

#[tokio::test]
async fn an_unconfirmed_user_stays_unconfirmed_across_disable_and_enable() {
    let env = TestEnv::new().await;
    env.directory_put(json!({"user_id": "wait@dir.example"}));
    assert_eq!(
        create_external(&env, "wait@dir.example", json!({}))
            .await
            .body["state"],
        "PENDING"
    );
    let target = json!({"user_id": "wait@dir.example", "domain_id": env.tenant});
    let disabled = env
        .spaceone("disable", &env.admin_token, target.clone())
        .await;
    assert_eq!(disabled.body["state"], "DISABLED");
    let enabled = env.spaceone("enable", &env.admin_token, target).await;
    assert_eq!(enabled.status, 200, "{}", enabled.raw);
    assert_eq!(
        enabled.body["state"], "PENDING",
        "only the directory confirms a user"
    );
    env.directory_put(json!({"user_id": "wait@dir.example", "state": "ENABLED"}));
    assert_eq!(
        sync(&env, "wait@dir.example").await.body["state"],
        "ENABLED"
    );
}

#[tokio::test]
async fn a_directory_disable_marks_a_user_an_administrator_disabled_first() {
    let env = TestEnv::new().await;
    env.directory_put(json!({"user_id": "both@dir.example", "state": "ENABLED"}));
    assert_eq!(
        create_external(&env, "both@dir.example", json!({}))
            .await
            .status,
        200
    );
    let target = json!({"user_id": "both@dir.example", "domain_id": env.tenant});
    assert_eq!(
        env.spaceone("disable", &env.admin_token, target.clone())
            .await
            .status,
        200
    );
    env.directory_put(json!({"user_id": "both@dir.example", "state": "DISABLED"}));
    assert_eq!(
        sync(&env, "both@dir.example").await.body["state"],
        "DISABLED"
    );
    let enable = env.spaceone("enable", &env.admin_token, target).await;
    assert_eq!(enable.expect_error(409), "USER_STATE_CONFLICT");
}
