//! `POST /v3/auth/tokens` against DynamoDB Local.

use crate::common;

use futures::future::join_all;

use common::{ADMIN_PASSWORD, TestEnv, config};
use lambda::model::{LockReason, UserState};
use lambda::store::prelude::*;
use serde_json::json;

/// A change applied to a stored user.
type Edit = fn(&mut lambda::model::User);

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
        .update_user(&lambda::change::UserChange::new(
            &before,
            &after,
            &[],
            &lambda::model::Actor::system("test"),
        ))
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
    let now = lambda::ops::now();
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

/// Issue 31, item 2: keystoneauth1 sends the project's domain beside its name whenever
/// `project_domain_name` / `project_domain_id` is set; it was `UNKNOWN_PARAMETER`.
#[tokio::test]
async fn a_project_scope_may_name_its_domain_and_another_domain_is_any_scope_mismatch() {
    let env = TestEnv::new().await;
    let login = |project: serde_json::Value| {
        json!({"auth": {"identity": {"methods": ["password"],
            "password": {"user": {"name": "admin", "password": ADMIN_PASSWORD, "domain": {"name": env.tenant}}}},
            "scope": {"project": project}}})
        .to_string()
    };
    for project in [
        json!({"name": env.tenant, "domain": {"name": env.tenant}}),
        json!({"id": env.tenant, "domain": {"id": env.tenant}}),
    ] {
        let reply = env
            .request("POST", "/v3/auth/tokens", &[], login(project.clone()))
            .await;
        assert_eq!(reply.status, 201, "{project}: {}", reply.raw);
        assert_eq!(
            reply.body["token"]["project"],
            json!({"id": env.tenant, "name": env.tenant,
                   "domain": {"id": env.tenant, "name": env.tenant}})
        );
    }
    // By id, the tenant from the scope alone.
    let by_id = json!({"auth": {"identity": {"methods": ["password"],
        "password": {"user": {"id": "admin", "password": ADMIN_PASSWORD}}},
        "scope": {"project": {"name": env.tenant, "domain": {"name": env.tenant}}}}});
    let reply = env
        .request("POST", "/v3/auth/tokens", &[], by_id.to_string())
        .await;
    assert_eq!(reply.status, 201, "{}", reply.raw);

    // Another domain is the same 401 as a wrong password, whichever part names it.
    let wrong = env.try_login("admin", "Wrong-Passw0rd").await;
    for project in [
        json!({"name": env.tenant, "domain": {"name": "someone-else"}}),
        json!({"id": env.tenant, "domain": {"id": "someone-else"}}),
        json!({"name": "someone-else", "domain": {"name": env.tenant}}),
    ] {
        let reply = env
            .request("POST", "/v3/auth/tokens", &[], login(project.clone()))
            .await;
        assert_eq!(reply.expect_error(401), "LOGIN_FAILED", "{project}");
        assert_eq!(reply.raw, wrong.raw, "{project}");
        assert!(!reply.headers.contains_key("x-subject-token"));
    }
    // A domain without the project, or an empty one, is a missing parameter.
    for (project, key) in [
        (
            json!({"domain": {"name": env.tenant}}),
            "auth.scope.project.name",
        ),
        (
            json!({"name": env.tenant, "domain": {}}),
            "auth.scope.project.domain.name",
        ),
    ] {
        let reply = env
            .request("POST", "/v3/auth/tokens", &[], login(project))
            .await;
        assert_eq!(reply.expect_error(400), "MISSING_PARAMETER");
        assert!(reply.raw.contains(key), "{}", reply.raw);
    }
}

/// The base URL of links the router's answers name (no connection: a loopback name).
const IN_PROCESS: &str = "http://localhost";

/// Issue 31, item 3: Keystone's version discovery, and a catalog whose identity endpoint ends in
/// `/v3` on every interface. python-keystoneclient (interface `admin`) found nothing, fell back to
/// the bare URL and posted `users.update_password` to `/users/{id}/password` (404). Here the
/// client's steps, as keystoneauth1 takes them.
#[tokio::test]
async fn version_discovery_leads_a_keystone_client_from_the_catalog_to_v3() {
    let env = TestEnv::new().await;
    let v3 = json!({
        "id": "v3.6",
        "status": "stable",
        "updated": "2016-04-04T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{IN_PROCESS}/v3/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    });
    let list = env.request("GET", "/", &[], "").await;
    assert_eq!(list.status, 300, "{}", list.raw);
    assert_eq!(list.body, json!({"versions": {"values": [v3]}}));
    assert_eq!(
        list.headers["location"],
        format!("{IN_PROCESS}/v3/").as_str()
    );
    assert_eq!(list.headers["content-type"], "application/json");
    for path in ["/v3", "/v3/"] {
        let version = env.request("GET", path, &[], "").await;
        assert_eq!(version.status, 200, "{path}: {}", version.raw);
        assert_eq!(version.body, json!({ "version": v3 }), "{path}");
    }
    // No token needed, and one is no harm; other methods are the router's 405.
    let with_token = env
        .request("GET", "/v3", &[("x-auth-token", "not-a-token")], "")
        .await;
    assert_eq!(with_token.status, 200);
    assert_eq!(
        env.request("POST", "/", &[], "{}").await.expect_error(405),
        "METHOD_NOT_ALLOWED"
    );

    env.create_user("ks@example.com", "User-Passw0rd", json!({}))
        .await;
    let login = env.try_login("ks@example.com", "User-Passw0rd").await;
    assert_eq!(login.status, 201, "{}", login.raw);
    let token = login.headers["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let identity = &login.body["token"]["catalog"][0];
    assert_eq!(identity["type"], "identity");
    let endpoints = identity["endpoints"].as_array().unwrap();
    let interfaces: Vec<&str> = endpoints
        .iter()
        .map(|e| e["interface"].as_str().unwrap())
        .collect();
    assert_eq!(interfaces, ["public", "internal", "admin"]);
    for endpoint in endpoints {
        assert_eq!(endpoint["url"], format!("{IN_PROCESS}/v3"), "{endpoint}");
    }

    // keystoneclient's interface; keystoneauth1 tries the unversioned URL first and takes the
    // matching version's self link as the endpoint.
    let admin = endpoints
        .iter()
        .find(|e| e["interface"] == "admin")
        .unwrap()["url"]
        .as_str()
        .unwrap();
    let unversioned = admin.strip_suffix("/v3").unwrap();
    let discovered = env
        .request(
            "GET",
            &format!("{}/", unversioned.strip_prefix(IN_PROCESS).unwrap()),
            &[],
            "",
        )
        .await;
    let href = discovered.body["versions"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"].as_str().is_some_and(|id| id.starts_with("v3")))
        .unwrap()["links"][0]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let password_url = format!(
        "{}/users/ks@example.com/password",
        href.trim_end_matches('/')
    );
    let changed = env
        .request(
            "POST",
            password_url.strip_prefix(IN_PROCESS).unwrap(),
            &[("x-auth-token", &token)],
            json!({"user": {"original_password": "User-Passw0rd", "password": "Next-Passw0rd1"}})
                .to_string(),
        )
        .await;
    assert_eq!(changed.status, 204, "{password_url}: {}", changed.raw);
    env.login("ks@example.com", "Next-Passw0rd1").await;
}

/// Issue 31, item 4: keystoneauth1 read none of our errors ("Unrecognized schema in response
/// body"). The Keystone routes' errors carry Keystone's `error` member beside the Huawei SDK's
/// `error_code` / `error_msg`; other routes keep the two.
#[tokio::test]
async fn keystone_routes_answer_errors_keystone_clients_can_read() {
    let env = TestEnv::new().await;
    let keystone = |reply: &common::Reply, status: u16, title: &str| {
        reply.expect_error(status);
        assert_eq!(
            reply.body["error"],
            json!({"code": status, "title": title, "message": reply.body["error_msg"]}),
            "{}",
            reply.raw
        );
    };
    let wrong = env.try_login("admin", "Wrong-Passw0rd").await;
    keystone(&wrong, 401, "Unauthorized");
    assert_eq!(wrong.error_code(), "LOGIN_FAILED");
    assert_eq!(
        wrong.body["error"]["message"],
        "The username or password is wrong."
    );
    let malformed = env.request("POST", "/v3/auth/tokens", &[], "{").await;
    keystone(&malformed, 400, "Bad Request");
    let huge = format!(r#"{{"auth": "{}"}}"#, "x".repeat(70 * 1024));
    keystone(
        &env.request("POST", "/v3/auth/tokens", &[], huge).await,
        413,
        "Payload Too Large",
    );

    env.create_user("kserr@example.com", "User-Passw0rd", json!({}))
        .await;
    let token = env.login("kserr@example.com", "User-Passw0rd").await;
    let change = |token: String, original: &'static str| {
        let env = &env;
        async move {
            env.request(
                "POST",
                "/v3/users/kserr@example.com/password",
                &[("x-auth-token", &token)],
                json!({"user": {"original_password": original, "password": "Next-Passw0rd1"}})
                    .to_string(),
            )
            .await
        }
    };
    let no_token = change(String::new(), "User-Passw0rd").await;
    keystone(&no_token, 401, "Unauthorized");
    assert_eq!(no_token.error_code(), "IAM.0001");
    let wrong_original = change(token.clone(), "Not-My-Passw0rd").await;
    keystone(&wrong_original, 401, "Unauthorized");
    assert_eq!(wrong_original.error_code(), "WRONG_ORIGINAL_PASSWORD");
    let others = env
        .request(
            "POST",
            "/v3/users/admin/password",
            &[("x-auth-token", &token)],
            json!({"user": {"original_password": "x", "password": "Next-Passw0rd1"}}).to_string(),
        )
        .await;
    keystone(&others, 403, "Forbidden");

    // Seed 001 and SpaceONE keep exactly error_code and error_msg.
    let modify = env
        .request(
            "PUT",
            "/v3.0/OS-USER/users/kserr@example.com",
            &[("x-auth-token", &token)],
            json!({"user": {"description": "x"}}).to_string(),
        )
        .await;
    modify.expect_error(403);
    assert!(modify.body.get("error").is_none(), "{}", modify.raw);
    let get = env
        .spaceone(
            "get",
            &token,
            json!({"user_id": "admin", "domain_id": env.tenant}),
        )
        .await;
    get.expect_error(403);
    assert!(get.body.get("error").is_none(), "{}", get.raw);
}
