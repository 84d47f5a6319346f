//! Every file in events/ runs through its handler; the route table cannot drift from template.yaml;
//! the local server answers over real HTTP on 127.0.0.1.

mod common;

use std::path::PathBuf;

use common::{ADMIN_PASSWORD, TestEnv, unique_tenant};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use local_stack::{HTTP_FUNCTIONS, handler, template};
use serde_json::{Value, json};
use shared::outbox::Template;

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("events")
}

fn fill(text: &str, tenant: &str, token: &str) -> String {
    text.replace("{{DOMAIN_ID}}", tenant)
        .replace("{{PASSWORD}}", ADMIN_PASSWORD)
        .replace("{{TOKEN}}", token)
}

#[tokio::test]
async fn every_event_file_runs_through_its_handler_with_the_documented_status() {
    let env = TestEnv::new().await;
    // Order matters: the token from the login event serves the others.
    let expected = [
        ("auth_tokens", 201),
        ("user_create", 200),
        ("user_get", 200),
        ("user_update", 200),
        ("user_list", 200),
        ("user_stat", 200),
        ("user_find", 200),
        ("user_sync", 200),
        ("user_set_required_actions", 200),
        ("user_verify_email", 200),
        // Its code is filled in from the outbox, as a user would copy it from the mail.
        ("user_confirm_email", 200),
        ("user_reset_password", 200),
        ("user_disable", 200),
        ("user_enable", 200),
        ("rsa_user_status", 200),
        ("rsa_user_lookup", 200),
        ("rsa_audit_trail", 200),
        ("user_actions", 200),
        ("user_random_password", 200),
        ("user_modify", 200),
        ("iam_user_modify", 200),
        ("user_delete", 200),
        // Last: it revokes the administrator's token the others use.
        ("user_password", 204),
    ];
    let mut files: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut covered = vec![
        "bootstrap.json".to_owned(),
        "housekeeping.json".to_owned(),
        "housekeeping_check.json".to_owned(),
        "notifier.json".to_owned(),
        // Replayed by tests/users_as_code.rs, which serves its response URL.
        "user_resource.json".to_owned(),
        // Replayed by tests/key_rotation.rs, which serves Secrets Manager.
        "token_key_rotation.json".to_owned(),
    ];
    covered.extend(expected.iter().map(|(f, _)| format!("{f}.json")));
    covered.sort();
    assert_eq!(
        files, covered,
        "every event file has an expected status here"
    );

    // The directory people the find and sync events name, and the EXTERNAL user sync refreshes.
    for (id, name) in [
        ("jkim@directory.example", "Jin Kim"),
        ("skim@directory.example", "Soo Kim"),
    ] {
        env.directory_put(json!({"user_id": id, "name": name, "email": id, "state": "ENABLED"}));
    }
    let external = env
        .spaceone(
            "create",
            &env.admin_token,
            json!({"user_id": "jkim@directory.example", "backend": "EXTERNAL", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(external.status, 200, "{}", external.raw);

    let mut token = String::new();
    for (function, status) in expected {
        let text = std::fs::read_to_string(events_dir().join(format!("{function}.json"))).unwrap();
        let mut text = fill(&text, &env.tenant, &token);
        if function == "user_confirm_email" {
            let code = env
                .last_secret("dkang@mz.co.kr", Template::VerificationCode)
                .await
                .expect("verify-email sent a code");
            text = text.replace("{{VERIFY_CODE}}", &code);
        }
        let request = lambda_http::request::from_str(&text).expect("an API Gateway event");
        let content_type = request.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("application/json"),
            "{function}: {content_type}"
        );
        let response = handler(function).unwrap()(env.app, request).await;
        let body = match response.body() {
            lambda_http::Body::Text(t) => t.clone(),
            _ => String::new(),
        };
        assert_eq!(
            response.status().as_u16(),
            status,
            "events/{function}.json: {body}"
        );
        if function == "auth_tokens" {
            token = response.headers()["x-subject-token"]
                .to_str()
                .unwrap()
                .to_owned();
        }
    }

    // The notifier's stream event carries the verification code verify-email left in the user's
    // item, filled in as DynamoDB would (its sealed secret only opens with this deployment's key).
    let message = env
        .outbox()
        .await
        .into_iter()
        .rev()
        .find(|m| m.template == Template::VerificationCode)
        .expect("verify-email left a message");
    let text = std::fs::read_to_string(events_dir().join("notifier.json")).unwrap();
    let text = fill(&text, &env.tenant, "")
        .replace("{{NOTIFICATION_ID}}", &message.notification_id)
        .replace(
            "{{SEALED_SECRET}}",
            message.sealed_secret.as_deref().unwrap(),
        )
        .replace("{{CREATED_AT}}", &message.created_at.to_string());
    let event: aws_lambda_events::dynamodb::Event = serde_json::from_str(&text).unwrap();
    let folder = std::env::temp_dir().join(unique_tenant("events-mail"));
    let mailer = shared::notify::FolderMailer {
        folder: folder.clone(),
    };
    let response = notifier::handle(env.app, &mailer, event).await;
    assert!(response.batch_item_failures.is_empty());
    let file = folder.join(format!("{}.json", message.notification_id));
    let mail: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(mail["to"], "dkang@mz.co.kr");
    assert!(
        !env.outbox()
            .await
            .iter()
            .any(|m| m.notification_id == message.notification_id),
        "a delivered message leaves the user's item"
    );
    std::fs::remove_dir_all(&folder).ok();

    let text = std::fs::read_to_string(events_dir().join("housekeeping.json")).unwrap();
    let housekeeping::Answer::Sweep(report) =
        housekeeping::handle(env.app, serde_json::from_str(&text).unwrap())
            .await
            .unwrap()
    else {
        panic!("a sweep answers a sweep report");
    };
    assert!(
        report.tenants >= 1 && report.errors.is_empty(),
        "{report:?}"
    );
    let text = std::fs::read_to_string(events_dir().join("housekeeping_check.json")).unwrap();
    let answer = housekeeping::handle(
        env.app,
        serde_json::from_str(&fill(&text, &env.tenant, "")).unwrap(),
    )
    .await
    .unwrap();
    let answer = serde_json::to_value(&answer).unwrap();
    assert_eq!(answer["findings"], 0, "{answer}");
    assert_eq!(answer["tenants"][0]["tenant_id"], env.tenant.as_str());
    assert!(
        answer["tenants"][0]["users"].as_u64() >= Some(1),
        "{answer}"
    );

    let text = std::fs::read_to_string(events_dir().join("bootstrap.json")).unwrap();
    let tenant = unique_tenant("events");
    let event: bootstrap::BootstrapEvent = serde_json::from_str(&fill(&text, &tenant, "")).unwrap();
    let answer = bootstrap::observed(env.app, "bootstrap", event, "invocation-bootstrap")
        .await
        .unwrap();
    assert!(answer.created);
    let line = common::access_line("invocation-bootstrap");
    assert_eq!(
        (&line["tenant"], &line["target_user"], &line["status"]),
        (&json!(tenant), &json!("admin"), &json!(200))
    );
}

#[test]
fn the_local_routes_are_exactly_the_template_routes() {
    let template = template::load().unwrap();
    let routes = template::routes(&template);
    let mut routed: Vec<&str> = routes.iter().map(|r| r.function.as_str()).collect();
    routed.sort();
    let mut served = HTTP_FUNCTIONS.to_vec();
    served.sort();
    assert_eq!(routed, served, "template routes and local handlers differ");
    for function in HTTP_FUNCTIONS {
        assert!(handler(function).is_some());
    }
    let mut directories: Vec<String> =
        std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../functions"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
    directories.sort();
    let mut declared: Vec<String> = template::functions(&template)
        .into_iter()
        .map(|f| f.directory)
        .collect();
    declared.sort();
    assert_eq!(
        directories, declared,
        "every function directory is a template function and back"
    );
}

async fn http(
    address: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, hyper::HeaderMap, Value) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{address}{path}"))
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client
        .request(
            request
                .body(Full::new(bytes::Bytes::from(body.to_owned())))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_local_server_serves_login_create_and_get_over_http_on_loopback() {
    let env = TestEnv::new().await;
    let (listener, address) = local_stack::bind_loopback(0).await.unwrap();
    assert!(address.ip().is_loopback());
    let server = tokio::spawn(local_stack::serve(env.router, listener));

    let login = env.login_body("admin", ADMIN_PASSWORD).to_string();
    let (status, headers, body) = http(address, "POST", "/v3/auth/tokens", &[], &login).await;
    assert_eq!(status, 201, "{body}");
    let token = headers["x-subject-token"].to_str().unwrap().to_owned();
    assert_eq!(
        body["token"]["catalog"][0]["endpoints"][0]["url"],
        format!("http://{address}")
    );

    let create = json!({"user_id": "http@example.com", "backend": "LOCAL", "domain_id": env.tenant, "password": "User-Passw0rd"});
    let (status, _, body) = http(
        address,
        "POST",
        "/identity/v1/user/create",
        &[("x-auth-token", &token)],
        &create.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let get = json!({"user_id": "http@example.com", "domain_id": env.tenant});
    let (status, _, body) = http(
        address,
        "POST",
        "/identity/v1/user/get",
        &[("x-auth-token", &token)],
        &get.to_string(),
    )
    .await;
    assert_eq!(
        (status, body["user_id"].as_str()),
        (200, Some("http@example.com"))
    );

    let (status, _, body) = http(address, "GET", "/identity/v1/user/get", &[], "").await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (405, Some("METHOD_NOT_ALLOWED"))
    );
    let (status, _, body) = http(address, "POST", "/identity/v1/user/nothing", &[], "{}").await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    server.abort();
}

#[tokio::test]
async fn the_local_server_serves_the_openapi_document_which_describes_exactly_the_template_routes()
{
    let env = TestEnv::new().await;
    let reply = env.request("GET", local_stack::OPENAPI_PATH, &[], "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "application/yaml");
    let document: serde_yaml::Value = serde_yaml::from_str(&reply.raw).unwrap();
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "OpenAPI 3.1"
    );
    let paths = document["paths"].as_mapping().unwrap();
    let mut described: Vec<String> = paths
        .iter()
        .flat_map(|(path, item)| {
            let path = path.as_str().unwrap().to_owned();
            item.as_mapping()
                .unwrap()
                .keys()
                .filter_map(|k| k.as_str())
                .filter(|k| ["get", "put", "post", "delete", "patch"].contains(k))
                .map(move |method| format!("{} {path}", method.to_uppercase()))
                .collect::<Vec<_>>()
        })
        .collect();
    described.sort();
    let mut routed: Vec<String> = template::routes(&template::load().unwrap())
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    routed.sort();
    assert_eq!(
        described, routed,
        "docs/openapi.yaml and template.yaml routes differ"
    );
}
