//! Every file in events/ runs through its handler; the route table cannot drift from template.yaml;
//! the local server answers over real HTTP on 127.0.0.1.

use crate::common;

use std::path::PathBuf;

use common::{ADMIN_PASSWORD, TestEnv, unique_tenant};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use lambda::outbox::Template;
use local_stack::{AddressLimits, Connection, HTTP_FUNCTIONS, Router, handler, template};
use serde_json::{Value, json};

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
        ("iam_version_discovery", 300),
        ("iam_auth_tokens", 201),
        ("spaceone_user_create", 200),
        ("spaceone_user_get", 200),
        ("spaceone_user_update", 200),
        ("spaceone_user_list", 200),
        ("spaceone_user_stat", 200),
        ("spaceone_user_find", 200),
        ("spaceone_user_sync", 200),
        ("spaceone_user_set_required_actions", 200),
        ("spaceone_user_verify_email", 200),
        // Its code is filled in from the outbox, as a user would copy it from the mail.
        ("spaceone_user_confirm_email", 200),
        ("spaceone_user_reset_password", 200),
        ("spaceone_user_disable", 200),
        ("spaceone_user_enable", 200),
        ("rsa_user_status", 200),
        ("rsa_user_lookup", 200),
        ("rsa_audit_trail", 200),
        ("workspace_user_actions", 200),
        ("workspace_random_password", 200),
        ("workspace_user_modify", 200),
        ("iam_user_modify", 200),
        ("spaceone_user_delete", 200),
        // Last: it revokes the administrator's token the others use.
        ("iam_user_password", 204),
    ];
    let mut files: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        // sam local's --env-vars file, not an event.
        .filter(|file| file != "sam-local-env.json")
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
        // The EXTERNAL user sync refreshes, made below before the others run.
        "spaceone_user_create_external.json".to_owned(),
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
    let text =
        std::fs::read_to_string(events_dir().join("spaceone_user_create_external.json")).unwrap();
    let request = lambda_http::request::from_str(&fill(&text, &env.tenant, &env.admin_token))
        .expect("an API Gateway event");
    let external = handler("spaceone_user_create").unwrap()(env.app, request).await;
    assert_eq!(external.status(), 200, "{:?}", external.body());

    let mut token = String::new();
    for (function, status) in expected {
        let text = std::fs::read_to_string(events_dir().join(format!("{function}.json"))).unwrap();
        let mut text = fill(&text, &env.tenant, &token);
        if function == "spaceone_user_confirm_email" {
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
        if function == "iam_auth_tokens" {
            token = response.headers()["x-subject-token"]
                .to_str()
                .unwrap()
                .to_owned();
        }
        // Links come from the context's domain (the events are `sam local`'s, on 127.0.0.1:3000).
        let answer: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        match function {
            "iam_auth_tokens" => assert_eq!(
                answer["token"]["catalog"][0]["endpoints"][0]["url"],
                "http://127.0.0.1:3000/v3"
            ),
            "iam_version_discovery" => {
                assert_eq!(
                    answer["versions"]["values"][0]["links"][0]["href"],
                    "http://127.0.0.1:3000/v3/"
                );
                assert_eq!(response.headers()["location"], "http://127.0.0.1:3000/v3/");
            }
            "iam_user_modify" => assert_eq!(
                answer["user"]["links"]["self"],
                "http://127.0.0.1:3000/v3.0/OS-USER/users/dkang@mz.co.kr"
            ),
            _ => {}
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
    let mailer = lambda::mailer::FolderMailer {
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
    // A function may serve more than one route (`find` under `users/` and `user/`;
    // iam_version_discovery: `/` and `/v3`).
    routed.dedup();
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
        format!("http://{address}/v3")
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

/// Issue 30, finding 5: `Host: evil.example` and `X-Forwarded-Proto: javascript` made the token's
/// catalog (and seed 001's `links.self`) `javascript://evil.example`. Links now come from the
/// address the server is bound to (API Gateway's `domainName` when deployed).
#[tokio::test]
async fn links_come_from_the_bound_address_never_from_host_or_forwarded_headers() {
    let env = TestEnv::new().await;
    env.create_user("links@example.com", "User-Passw0rd", json!({}))
        .await;
    let (listener, address) = local_stack::bind_loopback(0).await.unwrap();
    let server = tokio::spawn(local_stack::serve(env.router, listener));
    let forged = [
        ("host", "evil.example"),
        ("x-forwarded-proto", "javascript"),
        ("x-forwarded-host", "evil.example"),
        ("forwarded", "host=evil.example;proto=javascript"),
    ];

    let login = env.login_body("admin", ADMIN_PASSWORD).to_string();
    let (status, headers, body) = http(address, "POST", "/v3/auth/tokens", &forged, &login).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["token"]["catalog"][0]["endpoints"][0]["url"],
        format!("http://{address}/v3")
    );
    let token = headers["x-subject-token"].to_str().unwrap().to_owned();

    let mut modify_headers = forged.to_vec();
    modify_headers.push(("x-auth-token", &token));
    let (status, _, body) = http(
        address,
        "PUT",
        "/v3.0/OS-USER/users/links@example.com",
        &modify_headers,
        &json!({"user": {"description": "links"}}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["user"]["links"]["self"],
        format!("http://{address}/v3.0/OS-USER/users/links@example.com")
    );
    for text in [&login, &body.to_string()] {
        assert!(
            !text.contains("evil.example") && !text.contains("javascript"),
            "{text}"
        );
    }
    server.abort();
}

fn login_request(body: &str, forwarded_for: &str) -> lambda_http::Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri("/v3/auth/tokens")
        .header("content-type", "application/json")
        .header("x-forwarded-for", forwarded_for)
        .body(lambda_http::Body::Text(body.to_owned()))
        .unwrap()
}

fn from(peer: &str) -> Option<Connection> {
    Some(Connection {
        local: "127.0.0.1:3000".parse().unwrap(),
        peer: format!("{peer}:40000").parse().unwrap(),
    })
}

fn text(response: &lambda_http::Response<lambda_http::Body>) -> Value {
    match response.body() {
        lambda_http::Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// Issue 30, finding 6: ~92 requests/s of `{}` from one client spent the login route's one bucket
/// and other tenants' correct logins failed with 429. Each client address now has a login budget
/// of its own (the template's WAF rule; here the local server's), keyed by the connection's
/// address and not by `X-Forwarded-For`.
#[tokio::test]
async fn one_address_spending_its_login_budget_leaves_other_addresses_their_logins() {
    let env = TestEnv::new().await;
    let router: &'static Router = Box::leak(Box::new(
        Router::from_template(env.app)
            .unwrap()
            .with_address_limits(AddressLimits {
                login: Some(3),
                any_route: None,
                window_secs: 300,
            }),
    ));
    let attacker = "198.51.100.7";
    let other = "203.0.113.9";
    for _ in 0..3 {
        let response = router
            .dispatch_on(from(attacker), login_request("{}", attacker))
            .await;
        assert_eq!(response.status(), 400, "{}", text(&response));
    }
    // Spent: even a correct login, even claiming to be forwarded for another address.
    let login = env.login_body("admin", ADMIN_PASSWORD).to_string();
    let response = router
        .dispatch_on(from(attacker), login_request(&login, other))
        .await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // 3 per 300 s: the next login is 100 s away.
    assert!((1..=100).contains(&retry_after), "{retry_after}");
    let answer = text(&response);
    assert_eq!(answer["error_code"], "TOO_MANY_REQUESTS");
    assert!(answer["error_msg"].is_string());
    assert_eq!(answer.as_object().unwrap().len(), 2, "{answer}");

    // Another address logs in; the spent one still reaches the other routes.
    let response = router
        .dispatch_on(from(other), login_request(&login, attacker))
        .await;
    assert_eq!(response.status(), 201, "{}", text(&response));
    let get = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/identity/v1/user/get")
        .header("content-type", "application/json")
        .header("x-auth-token", &env.admin_token)
        .body(lambda_http::Body::Text(
            json!({"user_id": "admin", "domain_id": env.tenant}).to_string(),
        ))
        .unwrap();
    assert_eq!(router.dispatch_on(from(attacker), get).await.status(), 200);

    // The all-routes limit counts every path, unknown ones too, per address.
    let router: &'static Router = Box::leak(Box::new(
        Router::from_template(env.app)
            .unwrap()
            .with_address_limits(AddressLimits {
                login: None,
                any_route: Some(2),
                window_secs: 300,
            }),
    ));
    let nowhere = || {
        lambda_http::http::Request::builder()
            .method("POST")
            .uri("/nowhere")
            .body(lambda_http::Body::Empty)
            .unwrap()
    };
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(router.dispatch_on(from(attacker), nowhere()).await.status());
    }
    assert_eq!(statuses, [404, 404, 429]);
    assert_eq!(
        router.dispatch_on(from(other), nowhere()).await.status(),
        404
    );
}

#[test]
fn the_local_per_address_limits_default_to_the_template_and_can_be_turned_off() {
    let template = template::load().unwrap();
    let default = |name: &str| template["Parameters"][name]["Default"].as_u64();
    let limits = local_stack::template_address_limits(|_| None).unwrap();
    assert_eq!(
        limits,
        AddressLimits {
            login: default("LoginRateLimitPerIp"),
            any_route: default("ApiRateLimitPerIp"),
            window_secs: 300,
        }
    );
    let env = |login: &'static str, any: &'static str| {
        move |name: &str| match name {
            "LOGIN_RATE_LIMIT_PER_IP" => Some(login.to_owned()),
            "API_RATE_LIMIT_PER_IP" => Some(any.to_owned()),
            _ => None,
        }
    };
    let limits = local_stack::template_address_limits(env("off", "0")).unwrap();
    assert_eq!((limits.login, limits.any_route), (None, None));
    let limits = local_stack::template_address_limits(env(" 25 ", "OFF")).unwrap();
    assert_eq!((limits.login, limits.any_route), (Some(25), None));
    assert!(local_stack::template_address_limits(env("lots", "1")).is_err());
}

/// The deployed half of finding 6: a regional API (an edge API's WAF would see CloudFront's
/// addresses), and a web ACL on its stage with per-address rate-based rules that answer 429 in the
/// API's error shape with `Retry-After`; and the links' parameter of finding 5.
#[test]
fn the_template_limits_each_client_address_with_a_web_acl_on_the_regional_stage() {
    let template = template::load().unwrap();
    let resources = &template["Resources"];
    let parameters = &template["Parameters"];
    assert_eq!(
        resources["Api"]["Properties"]["EndpointConfiguration"]["Type"].as_str(),
        Some("REGIONAL")
    );

    let switch = &parameters["PerAddressRateLimits"];
    assert_eq!(switch["Default"].as_str(), Some("Enabled"));
    assert!(!template["Conditions"]["HasPerAddressRateLimits"].is_null());
    for name in ["LoginRateLimitPerIp", "ApiRateLimitPerIp"] {
        let parameter = &parameters[name];
        assert_eq!(parameter["Type"].as_str(), Some("Number"), "{name}");
        // WAF's lowest limit.
        assert_eq!(parameter["MinValue"].as_u64(), Some(10), "{name}");
        assert!(parameter["Default"].as_u64() >= Some(10), "{name}");
    }
    assert!(
        parameters["ApiRateLimitPerIp"]["Default"].as_u64()
            > parameters["LoginRateLimitPerIp"]["Default"].as_u64()
    );

    let acl = &resources["ApiWebAcl"];
    assert_eq!(acl["Type"].as_str(), Some("AWS::WAFv2::WebACL"));
    assert_eq!(acl["Condition"].as_str(), Some("HasPerAddressRateLimits"));
    let properties = &acl["Properties"];
    assert_eq!(properties["Scope"].as_str(), Some("REGIONAL"));
    assert!(properties["DefaultAction"]["Allow"].is_mapping());
    let rules = properties["Rules"].as_sequence().unwrap();
    let mut limits = Vec::new();
    for rule in rules {
        let statement = &rule["Statement"]["RateBasedStatement"];
        // The connection's address: no header a client could write.
        assert_eq!(
            statement["AggregateKeyType"].as_str(),
            Some("IP"),
            "{rule:?}"
        );
        assert!(statement["ForwardedIPConfig"].is_null(), "{rule:?}");
        assert!(
            [60, 120, 300, 600].contains(&statement["EvaluationWindowSec"].as_u64().unwrap()),
            "{rule:?}"
        );
        let response = &rule["Action"]["Block"]["CustomResponse"];
        assert_eq!(response["ResponseCode"].as_u64(), Some(429), "{rule:?}");
        let headers = response["ResponseHeaders"].as_sequence().unwrap();
        assert!(
            headers
                .iter()
                .any(|h| h["Name"].as_str() == Some("Retry-After")
                    && h["Value"]
                        .as_str()
                        .is_some_and(|v| v.parse::<u64>().is_ok())),
            "{rule:?}"
        );
        let key = response["CustomResponseBodyKey"].as_str().unwrap();
        let body = &properties["CustomResponseBodies"][key];
        assert_eq!(body["ContentType"].as_str(), Some("APPLICATION_JSON"));
        let shape: Value = serde_json::from_str(body["Content"].as_str().unwrap()).unwrap();
        assert_eq!(shape["error_code"], "TOO_MANY_REQUESTS");
        assert!(shape["error_msg"].is_string());
        assert_eq!(shape.as_object().unwrap().len(), 2, "{shape}");
        let limit = statement["Limit"].as_str().unwrap().to_owned();
        let scoped = &statement["ScopeDownStatement"]["RegexMatchStatement"];
        limits.push((limit, scoped["RegexString"].as_str().map(str::to_owned)));
    }
    assert_eq!(
        limits,
        [
            (
                "LoginRateLimitPerIp".to_owned(),
                Some("/(v3/auth/tokens|identity/v1/user/reset-password)/?$".to_owned())
            ),
            ("ApiRateLimitPerIp".to_owned(), None),
        ]
    );

    let association = &resources["ApiWebAclAssociation"];
    assert_eq!(
        association["Type"].as_str(),
        Some("AWS::WAFv2::WebACLAssociation")
    );
    assert_eq!(
        association["Condition"].as_str(),
        Some("HasPerAddressRateLimits")
    );
    assert!(
        association["Properties"]["ResourceArn"]
            .as_str()
            .unwrap()
            .ends_with("::/restapis/${Api}/stages/${Api.Stage}")
    );
    assert_eq!(
        association["Properties"]["WebACLArn"].as_str(),
        Some("ApiWebAcl.Arn")
    );

    // Finding 5: the functions that answer links know the custom domain's URL, if any.
    assert_eq!(parameters["PublicBaseUrl"]["Default"].as_str(), Some(""));
    for function in [
        "IamAuthTokensFunction",
        "IamUserModifyFunction",
        "IamVersionDiscoveryFunction",
    ] {
        assert_eq!(
            resources[function]["Properties"]["Environment"]["Variables"]["PUBLIC_BASE_URL"]
                .as_str(),
            Some("PublicBaseUrl"),
            "{function}"
        );
    }
}

/// Issue 31, item 5: the Huawei SDK fills its exceptions' `request_id` from `X-Request-Id`, which
/// nothing answered. Every function's answer names the request id of its access line, success or
/// error; API Gateway's own answers (here the router's 404/405) one of their own; and the header
/// crosses the local server's HTTP as it is.
#[tokio::test]
async fn every_answer_names_its_request_in_x_request_id() {
    let env = TestEnv::new().await;
    let admin = env.admin_token.as_str();
    let get = json!({"user_id": "admin", "domain_id": env.tenant}).to_string();
    let requests: [(&str, String, Option<&str>, String, u16); 10] = [
        ("GET", "/".into(), None, String::new(), 300),
        ("GET", "/v3".into(), None, String::new(), 200),
        (
            "POST",
            "/v3/auth/tokens".into(),
            None,
            env.login_body("admin", ADMIN_PASSWORD).to_string(),
            201,
        ),
        (
            "POST",
            "/v3/auth/tokens".into(),
            None,
            env.login_body("admin", "Wrong-Passw0rd").to_string(),
            401,
        ),
        (
            "POST",
            "/identity/v1/user/get".into(),
            Some(admin),
            get.clone(),
            200,
        ),
        ("POST", "/identity/v1/user/get".into(), None, get, 401),
        (
            "POST",
            "/v3/users/admin/password".into(),
            Some(admin),
            "{".into(),
            400,
        ),
        (
            "PUT",
            "/v3.0/OS-USER/users/nobody@example.com".into(),
            Some(admin),
            json!({"user": {"description": "x"}}).to_string(),
            404,
        ),
        (
            "GET",
            format!(
                "/v2/{}/users/nobody@example.com/random-password",
                env.tenant
            ),
            Some(admin),
            String::new(),
            404,
        ),
        (
            "POST",
            "/AdminInterface/restapi/v1/users/lookup".into(),
            Some(admin),
            json!({"username": "admin"}).to_string(),
            200,
        ),
    ];
    let mut seen = Vec::new();
    for (method, path, token, body, status) in requests {
        let headers: Vec<(&str, &str)> = token.map(|t| ("x-auth-token", t)).into_iter().collect();
        let reply = env.request(method, &path, &headers, body).await;
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.raw);
        let answered = reply.headers["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(
            Some(&answered),
            reply.request_id.as_ref(),
            "{method} {path}"
        );
        assert_eq!(
            common::access_line(&answered)["request_id"],
            answered.as_str(),
            "{method} {path}"
        );
        seen.push(answered);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 10, "one id per request");

    // API Gateway's own answers reach no function and still name a request.
    for (method, path, status) in [
        ("POST", "/nowhere", 404),
        ("DELETE", "/v3/auth/tokens", 405),
    ] {
        let reply = env.request(method, path, &[], "{}").await;
        assert_eq!(reply.status, status);
        let answered = reply.headers["x-request-id"].to_str().unwrap();
        assert_eq!(answered.len(), 36, "a UUID: {answered}");
    }

    // Over HTTP, as the SDK reads it.
    let (listener, address) = local_stack::bind_loopback(0).await.unwrap();
    let server = tokio::spawn(local_stack::serve(env.router, listener));
    for (method, path, status) in [
        ("GET", "/v3", 200),
        ("POST", "/v3/auth/tokens", 400),
        ("GET", "/nowhere", 404),
    ] {
        let (got, headers, _) = http(address, method, path, &[], "{}").await;
        assert_eq!(got, status, "{method} {path}");
        assert!(
            headers.get("x-request-id").is_some_and(|id| id.len() == 36),
            "{method} {path}: {headers:?}"
        );
    }
    server.abort();
}

/// Item 5's deployed half: each of API Gateway's own answers the template shapes sets
/// `X-Request-Id` from its request context.
#[test]
fn the_gateways_own_answers_carry_the_request_id() {
    let template = template::load().unwrap();
    let responses = template["Resources"]["Api"]["Properties"]["GatewayResponses"]
        .as_mapping()
        .unwrap();
    assert!(responses.len() >= 6);
    for (kind, response) in responses {
        assert_eq!(
            response["ResponseParameters"]["Headers"]["X-Request-Id"].as_str(),
            Some("context.requestId"),
            "{kind:?}"
        );
    }
    for kind in ["DEFAULT_4XX", "DEFAULT_5XX"] {
        assert!(responses.contains_key(kind), "{kind}");
    }
}
