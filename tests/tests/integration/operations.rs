//! What operators see: each request's access line and its metrics (EMF), with the counters the
//! operations note. (Every request of every integration test is also checked by the harness: one
//! access line, one metrics line, no secret in any line.)

use crate::common;

use common::{ADMIN_PASSWORD, TestEnv, access_line, metrics_line};
use serde_json::json;

#[tokio::test]
async fn a_request_logs_who_did_what_to_whom_and_how_it_ended() {
    let env = TestEnv::new().await;
    env.create_user("ann@example.com", "Ann-Passw0rd!", json!({}))
        .await;
    let reply = env.get_info("ann@example.com").await;
    assert_eq!(reply.status, 200);
    let line = access_line(reply.request_id.as_deref().unwrap());
    assert_eq!(line["function"], "spaceone_user_get");
    assert_eq!(line["route"], "POST /identity/v1/user/get");
    assert_eq!(line["tenant"], env.tenant);
    assert_eq!(line["actor"], "admin");
    assert_eq!(line["target_user"], "ann@example.com");
    assert_eq!(line["outcome"], "success");
    assert_eq!(line["status"], 200);
    assert_eq!(line["message"], "request");
    // The caller's record and the user in one BatchGetItem, and the wait on it inside the latency.
    assert_eq!(line["store_calls"], 1, "{line}");
    let store_ms = line["store_ms"].as_f64().unwrap();
    assert!(store_ms > 0.0, "{line}");
    assert!(
        store_ms <= line["latency_ms"].as_f64().unwrap() + 0.1,
        "{line}"
    );

    let metrics = metrics_line(reply.request_id.as_deref().unwrap());
    assert_eq!(metrics["Function"], "spaceone_user_get");
    assert_eq!(metrics["StatusClass"], "2xx");
    assert_eq!(metrics["Requests"], 1);
    assert_eq!(
        metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "UserAdmin"
    );

    // A refusal names its error code; a request without a valid token names no actor.
    let reply = env
        .spaceone(
            "get",
            "not-a-token",
            json!({"user_id": "ann@example.com", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(reply.status, 401);
    let line = access_line(reply.request_id.as_deref().unwrap());
    assert_eq!(line["outcome"], "refused");
    assert_eq!(line["error_code"], reply.body["error_code"]);
    assert!(line.get("actor").is_none(), "{line}");
    assert_eq!(
        line["store_calls"], 0,
        "a bad token is refused before the store"
    );
    assert_eq!(line["store_ms"], 0.0, "{line}");
    assert_eq!(
        metrics_line(reply.request_id.as_deref().unwrap())["StatusClass"],
        "4xx"
    );
}

#[tokio::test]
async fn login_failures_lockouts_and_revocations_are_counted() {
    let env = TestEnv::new().await;
    env.create_user("bo@example.com", "Bo-Passw0rd!", json!({}))
        .await;
    let mut lockouts = 0;
    for attempt in 1..=5 {
        let reply = env.try_login("bo@example.com", "wrong-Passw0rd").await;
        assert_eq!(reply.status, 401);
        let id = reply.request_id.as_deref().unwrap();
        let line = access_line(id);
        assert_eq!(line["function"], "iam_auth_tokens");
        assert_eq!(line["tenant"], env.tenant);
        assert!(line.get("actor").is_none(), "a failed login has no actor");
        let metrics = metrics_line(id);
        assert_eq!(metrics["LoginFailures"], 1, "attempt {attempt}");
        lockouts += metrics["Lockouts"].as_u64().unwrap();
        if attempt < 5 {
            assert_eq!(metrics["Lockouts"], 0);
        }
    }
    assert_eq!(lockouts, 1, "the fifth failure locks the user");

    let reply = env.try_login("admin", ADMIN_PASSWORD).await;
    let id = reply.request_id.as_deref().unwrap();
    assert_eq!(access_line(id)["actor"], "admin");
    assert_eq!(metrics_line(id)["LoginFailures"], 0);

    let reply = env
        .spaceone(
            "disable",
            &env.admin_token,
            json!({"user_id": "bo@example.com", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    // The caller and the user read together, then one transaction.
    assert_eq!(
        access_line(reply.request_id.as_deref().unwrap())["store_calls"],
        2
    );
    let metrics = metrics_line(reply.request_id.as_deref().unwrap());
    assert_eq!(metrics["TokenRevocations"], 1);
    assert_eq!(metrics["WriteConflicts"], 0);
    assert_eq!(metrics["StoreThrottles"], 0);
}

#[test]
fn metric_lines_are_emf_and_malformed_ones_are_caught() {
    let info = lambda::telemetry::RequestInfo {
        function: "f".into(),
        route: "GET /x".into(),
        request_id: Some("r".into()),
        lambda_request_id: None,
    };
    let document = lambda::telemetry::request_metrics(
        &info,
        &lambda::telemetry::RequestNotes::default(),
        503,
        1.5,
    );
    let checked = lambda::telemetry::check_emf(&document.to_string()).unwrap();
    assert_eq!(checked["StatusClass"], "5xx");
    let mut broken = document.clone();
    broken.as_object_mut().unwrap().remove("Latency");
    assert!(lambda::telemetry::check_emf(&broken.to_string()).is_err());
    let mut broken = document;
    broken["Function"] = json!(1);
    assert!(lambda::telemetry::check_emf(&broken.to_string()).is_err());
}
