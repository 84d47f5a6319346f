//! The integration tests' harness: a real DynamoDB Local (started by scripts/test.sh), the table
//! from template.yaml, a fresh tenant per test, and requests through the same router as the local
//! server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use lambda::App;
use lambda::app::{Config, dynamodb_client};
use lambda_http::Body;
use lambda_http::http::{HeaderMap, Request};
use local_stack::{Router, template};
use serde_json::{Value, json};

pub const SIGNING_KEY: &[u8] = b"integration-test-signing-key-0123456789";
pub const ADMIN_PASSWORD: &str = "Admin-Passw0rd!";
pub const TABLE: &str = "useradmin-test";

pub fn endpoint() -> String {
    std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8000".into())
}

/// The tests' external directory: one in-memory server on 127.0.0.1 for the whole test binary, on
/// a thread of its own so that it outlives each test's runtime.
fn directory() -> &'static (String, Arc<Mutex<Vec<local_stack::directory::Entry>>>) {
    static DIRECTORY: OnceLock<(String, Arc<Mutex<Vec<local_stack::directory::Entry>>>)> =
        OnceLock::new();
    DIRECTORY.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/find", listener.local_addr().unwrap());
        let entries = Arc::new(Mutex::new(Vec::new()));
        let source = local_stack::directory::Source::Memory(entries.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                local_stack::directory::serve(listener, source).await;
            });
        });
        (url, entries)
    })
}

/// Every log line and metric line this test binary writes, kept for the checks of each request.
struct Captured {
    logs: Mutex<Vec<String>>,
    metrics: Mutex<Vec<String>>,
}

#[derive(Clone)]
struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(bytes);
        let mut logs = captured().logs.lock().unwrap();
        logs.extend(text.lines().filter(|l| !l.is_empty()).map(str::to_owned));
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capture once per test binary: the functions' JSON log format at DEBUG (more than
/// deployed, to catch more), and the metrics sink.
fn captured() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    let kept = CAPTURED.get_or_init(|| Captured {
        logs: Mutex::new(Vec::new()),
        metrics: Mutex::new(Vec::new()),
    });
    INSTALLED.call_once(|| {
        use tracing_subscriber::prelude::*;
        let _ = tracing_subscriber::registry()
            .with(lambda::telemetry::filter("debug"))
            .with(lambda::telemetry::json_layer(|| LogWriter))
            .try_init();
        lambda::telemetry::set_metrics_sink(Box::new(|line| {
            captured().metrics.lock().unwrap().push(line.to_owned());
        }));
    });
    kept
}

/// Every log line the functions wrote so far in this test's process.
pub fn captured_lines() -> Vec<String> {
    captured().logs.lock().unwrap().clone()
}

/// The log lines of internal errors and store failures captured so far (their `detail` is the
/// SDK's error, never a request's data), to say why a test's set-up failed.
pub fn logged_store_failures() -> Vec<String> {
    captured()
        .logs
        .lock()
        .unwrap()
        .iter()
        .filter(|line| line.contains("internal error") || line.contains("store unavailable"))
        .cloned()
        .collect()
}

/// Strings of a request body that must never be logged: passwords and codes.
fn secrets_in(body: &Value, found: &mut Vec<String>) {
    match body {
        Value::Object(map) => {
            for (key, value) in map {
                let key = key.to_lowercase();
                match value {
                    Value::String(text)
                        if (key.contains("password") || key.contains("code"))
                            && text.len() >= 6 =>
                    {
                        found.push(text.clone());
                    }
                    other => secrets_in(other, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| secrets_in(item, found)),
        _ => {}
    }
}

/// Checks what one request logged: exactly one access line and one EMF line, with the request's
/// id, route, status and error code, and no secret (of this request, or any hash or token) in any
/// line written so far.
/// Where the captured lines stood when a request was sent: its own lines come after.
#[derive(Clone, Copy)]
struct Mark {
    logs: usize,
    metrics: usize,
}

fn mark() -> Mark {
    let captured = captured();
    Mark {
        logs: captured.logs.lock().unwrap().len(),
        metrics: captured.metrics.lock().unwrap().len(),
    }
}

/// How far every captured line has been checked for hashes, tokens and the administrator's
/// password (each line once, also lines written outside any request).
static CHECKED_UP_TO: AtomicU64 = AtomicU64::new(0);

fn check_request_lines(method: &str, path: &str, request_body: &str, reply: &Reply, sent_at: Mark) {
    let (request_id, status, response_body, response, response_headers) = (
        reply.request_id.as_deref(),
        reply.status,
        &reply.body,
        reply.raw.as_str(),
        &reply.headers,
    );
    let captured = captured();
    let logs: Vec<String> = {
        let all = captured.logs.lock().unwrap();
        let unchecked =
            (CHECKED_UP_TO.fetch_max(all.len() as u64, Ordering::SeqCst) as usize).min(all.len());
        for line in &all[unchecked..] {
            assert!(
                !line.contains("$argon2"),
                "a password hash in a log line: {line}"
            );
            assert!(!line.contains("eyJ"), "a token in a log line: {line}");
            assert!(
                !line.contains(ADMIN_PASSWORD),
                "the administrator's password in a log line: {line}"
            );
        }
        // Anything this request logged was written after it was sent.
        all[sent_at.logs.min(all.len())..].to_vec()
    };
    let mut secrets = Vec::new();
    if let Ok(body) = serde_json::from_str::<Value>(request_body) {
        secrets_in(&body, &mut secrets);
    }
    // Answers carry no hash, no token (the login's is in X-Subject-Token only) and nothing secret
    // the request sent (a password, a code).
    let answer = response;
    assert!(
        !answer.contains("$argon2"),
        "a password hash answered by {path}: {answer}"
    );
    assert!(
        !answer.contains("eyJ"),
        "a token in the body answered by {path}: {answer}"
    );
    for secret in &secrets {
        assert!(
            !answer.contains(secret.as_str()),
            "a secret sent to {path} came back in the answer: {answer}"
        );
    }
    for (name, value) in response_headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        if name.as_str() != "x-subject-token" {
            assert!(
                !value.contains("eyJ"),
                "a token in header {name} answered by {path}"
            );
        }
        for secret in &secrets {
            assert!(
                !value.contains(secret.as_str()),
                "a secret sent to {path} came back in header {name}"
            );
        }
    }
    for line in &logs {
        for secret in &secrets {
            assert!(
                !line.contains(secret.as_str()),
                "a secret sent to {path} in a log line: {line}"
            );
        }
    }
    // Every answer names its request in X-Request-Id: the id of the function's access line, or
    // API Gateway's own (the router's 404/405/429, which reach no function).
    let answered_id = response_headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok());
    assert!(
        answered_id.is_some_and(|id| !id.is_empty()),
        "no X-Request-Id answered by {method} {path}"
    );
    let Some(request_id) = request_id else {
        return;
    };
    assert_eq!(
        answered_id,
        Some(request_id),
        "X-Request-Id of {method} {path}"
    );
    let access: Vec<Value> = logs
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == "access" && line["request_id"] == request_id)
        .collect();
    assert_eq!(
        access.len(),
        1,
        "one access line for {method} {path}: {access:?}"
    );
    let line = &access[0];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["status"], status, "{line}");
    assert!(
        line["route"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{method} /")),
        "{line}"
    );
    assert!(
        line["function"].as_str().is_some_and(|f| !f.is_empty()),
        "{line}"
    );
    assert!(line["latency_ms"].is_number(), "{line}");
    let outcome = match status {
        0..400 => "success",
        400..500 => "refused",
        _ => "failed",
    };
    assert_eq!(line["outcome"], outcome, "{line}");
    match response_body.get("error_code") {
        Some(code) if status >= 400 => assert_eq!(&line["error_code"], code, "{line}"),
        _ => assert!(line.get("error_code").is_none(), "{line}"),
    }
    let metrics = captured.metrics.lock().unwrap();
    let documents: Vec<Value> = metrics[sent_at.metrics.min(metrics.len())..]
        .iter()
        .map(|m| lambda::telemetry::check_emf(m).unwrap_or_else(|e| panic!("{e}: {m}")))
        .filter(|m| m["request_id"] == request_id)
        .collect();
    assert_eq!(documents.len(), 1, "one metrics line for {method} {path}");
    let document = &documents[0];
    assert_eq!(document["Requests"], 1);
    assert_eq!(document["Function"], line["function"]);
    assert_eq!(document["StatusClass"], format!("{}xx", status / 100));
}

/// The access line of a request.
pub fn access_line(request_id: &str) -> Value {
    captured()
        .logs
        .lock()
        .unwrap()
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["target"] == "access" && line["request_id"] == request_id)
        .expect("the request's access line")
}

/// Every metrics line (EMF) written so far.
pub fn metric_lines() -> Vec<Value> {
    captured()
        .metrics
        .lock()
        .unwrap()
        .iter()
        .map(|line| lambda::telemetry::check_emf(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// The metrics line (EMF) of a request.
pub fn metrics_line(request_id: &str) -> Value {
    captured()
        .metrics
        .lock()
        .unwrap()
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["request_id"] == request_id)
        .expect("the request's metrics line")
}

pub fn config() -> Config {
    Config {
        token_lifetime_seconds: 3600,
        external_directory_url: Some(directory().0.clone()),
        dynamodb_endpoint: Some(endpoint()),
        ..Config::defaults(TABLE)
    }
}

/// The DynamoDB Local instances whose table this test binary has made sure of.
static TABLES_READY: tokio::sync::Mutex<Vec<String>> = tokio::sync::Mutex::const_new(Vec::new());

/// Builds an app (and its router) against DynamoDB Local with the given configuration.
pub async fn app_with(config: Config) -> (&'static App, &'static Router) {
    let client = dynamodb_client(config.dynamodb_endpoint.as_deref()).await;
    {
        let mut ready = TABLES_READY.lock().await;
        let endpoint = config.dynamodb_endpoint.clone().unwrap_or_default();
        if !ready.contains(&endpoint) {
            template::create_table(&client, TABLE)
                .await
                .expect("DynamoDB Local is running (scripts/test.sh starts it)");
            ready.push(endpoint);
        }
    }
    let app: &'static App = Box::leak(Box::new(
        lambda::app::new(config, client, SIGNING_KEY).unwrap(),
    ));
    let router: &'static Router = Box::leak(Box::new(Router::from_template(app).unwrap()));
    (app, router)
}

pub fn unique_tenant(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{nanos:x}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

pub struct Reply {
    /// The path the request was sent to (with its query string, if any).
    pub path: String,
    /// API Gateway's request id, naming the request's access and metrics lines.
    pub request_id: Option<String>,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: String,
}

impl Reply {
    pub fn error_code(&self) -> &str {
        self.body["error_code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error_code in {}", self.raw))
    }

    /// Asserts the error shape and returns the code.
    pub fn expect_error(&self, status: u16) -> &str {
        assert_eq!(self.status, status, "unexpected answer: {}", self.raw);
        if let Err(problem) = self.error_shape() {
            panic!("{problem}: {}", self.raw);
        }
        self.error_code()
    }

    /// Whether the body is the error shape: exactly `error_code` and `error_msg` (non-empty
    /// strings) and, on the Keystone routes (`keystone_route`), Keystone's `"error": {"code":
    /// status, "title": reason phrase, "message": error_msg}` beside them: always in a function's
    /// answer, never in API Gateway's own (the router's 404/405/429, which name no request id here).
    pub fn error_shape(&self) -> Result<(), String> {
        let object = self.body.as_object().ok_or("not a JSON object")?;
        let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or_default();
        if text("error_code").is_empty() || text("error_msg").is_empty() {
            return Err("no error_code or error_msg".into());
        }
        let keystone = object.get("error");
        let members = 2 + usize::from(keystone.is_some());
        if object.len() != members {
            return Err("members other than error_code, error_msg and Keystone's error".into());
        }
        match keystone {
            Some(_) if !keystone_route(&self.path) => {
                Err(format!("Keystone's error member on {}", self.path))
            }
            None if keystone_route(&self.path) && self.request_id.is_some() => Err(format!(
                "no Keystone error member in a function's answer on {}",
                self.path
            )),
            Some(member) => {
                let title = lambda_http::http::StatusCode::from_u16(self.status)
                    .ok()
                    .and_then(|s| s.canonical_reason());
                let expected =
                    json!({"code": self.status, "title": title, "message": text("error_msg")});
                if *member == expected {
                    Ok(())
                } else {
                    Err(format!("Keystone's error member is not {expected}"))
                }
            }
            None => Ok(()),
        }
    }
}

/// The Keystone-style routes (`POST /v3/auth/tokens`, `POST /v3/users/{user_id}/password`, `GET /`,
/// `GET /v3`), whose errors also carry Keystone's `error` member; matched as the router matches
/// (`local_stack::match_path`: slashes around the path do not count).
pub fn keystone_route(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default().trim_matches('/');
    let segments: Vec<&str> = path.split('/').filter(|_| !path.is_empty()).collect();
    matches!(
        segments.as_slice(),
        [] | ["v3"] | ["v3", "auth", "tokens"] | ["v3", "users", _, "password"]
    )
}

pub struct TestEnv {
    pub app: &'static App,
    pub router: &'static Router,
    pub tenant: String,
    pub admin_token: String,
}

impl TestEnv {
    pub async fn new() -> TestEnv {
        TestEnv::with_config(config()).await
    }

    /// A fresh tenant with administrator `admin` / `ADMIN_PASSWORD`, logged in.
    pub async fn with_config(config: Config) -> TestEnv {
        let (app, router) = app_with(config).await;
        let tenant = unique_tenant("t");
        let mut env = TestEnv {
            app,
            router,
            tenant,
            admin_token: String::new(),
        };
        env.bootstrap_tenant().await;
        env.admin_token = env.login("admin", ADMIN_PASSWORD).await;
        env
    }

    /// The same deployment and tenant seen through another warm instance: an app of its own, the
    /// same table, the same administrator's token.
    pub async fn another_instance(&self) -> TestEnv {
        let (app, router) = app_with(config()).await;
        TestEnv {
            app,
            router,
            tenant: self.tenant.clone(),
            admin_token: self.admin_token.clone(),
        }
    }

    pub async fn bootstrap_tenant(&self) {
        let event = || bootstrap::BootstrapEvent {
            tenant_id: self.tenant.clone(),
            user_id: "admin".into(),
            password: Some(ADMIN_PASSWORD.into()),
            email: Some(format!("admin@{}.example.com", self.tenant)),
            name: None,
        };
        // The log capture is installed before the first function runs, so that a failure here can
        // say what the store answered.
        captured();
        // A store that answers 503 is retried, as a pipeline would; any other failure is the test's.
        let mut answer = bootstrap::handle(self.app, event()).await;
        let mut retried = false;
        for _ in 0..3 {
            match &answer {
                Err(error) if error.status == 503 => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    answer = bootstrap::handle(self.app, event()).await;
                    retried = true;
                }
                _ => break,
            }
        }
        let answer = answer.unwrap_or_else(|error| {
            panic!(
                "bootstrap failed: {error:?}; the store's failures logged so far: {:#?}",
                logged_store_failures()
            )
        });
        // A retry after a write whose answer was lost finds the tenant made.
        assert!(answer.created || retried);
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<String>,
    ) -> Reply {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let body: String = body.into();
        let sent = body.clone();
        let body = if body.is_empty() {
            Body::Empty
        } else {
            Body::Text(body)
        };
        let sent_at = mark();
        let response = self.router.dispatch(builder.body(body).unwrap()).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let raw = match response.body() {
            Body::Text(text) => text.clone(),
            Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => String::new(),
        };
        let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
        let request_id = headers
            .get("x-amzn-requestid")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let reply = Reply {
            path: path.to_owned(),
            request_id,
            status,
            headers,
            body,
            raw,
        };
        check_request_lines(method, path, &sent, &reply, sent_at);
        reply
    }

    /// A seed 004 call with a token.
    pub async fn spaceone(&self, verb: &str, token: &str, body: Value) -> Reply {
        self.request(
            "POST",
            &format!("/identity/v1/user/{verb}"),
            &[("x-auth-token", token)],
            body.to_string(),
        )
        .await
    }

    /// Seed 004 `get` of a user with the administrator's token.
    pub async fn get_info(&self, user_id: &str) -> Reply {
        self.spaceone(
            "get",
            &self.admin_token,
            json!({"user_id": user_id, "domain_id": self.tenant}),
        )
        .await
    }

    pub fn login_body(&self, name: &str, password: &str) -> Value {
        json!({"auth": {"identity": {"methods": ["password"],
            "password": {"user": {"name": name, "password": password, "domain": {"name": self.tenant}}}}}})
    }

    pub async fn try_login(&self, name: &str, password: &str) -> Reply {
        self.request(
            "POST",
            "/v3/auth/tokens",
            &[],
            self.login_body(name, password).to_string(),
        )
        .await
    }

    pub async fn login(&self, name: &str, password: &str) -> String {
        let reply = self.try_login(name, password).await;
        assert_eq!(reply.status, 201, "login of {name} failed: {}", reply.raw);
        reply.headers["x-subject-token"]
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// Creates a LOCAL USER through seed 004 and returns its UserInfo.
    pub async fn create_user(&self, user_id: &str, password: &str, extra: Value) -> Value {
        let mut body = json!({"user_id": user_id, "backend": "LOCAL", "domain_id": self.tenant, "password": password});
        if let Value::Object(extra) = extra {
            body.as_object_mut().unwrap().extend(extra);
        }
        let reply = self.spaceone("create", &self.admin_token, body).await;
        assert_eq!(reply.status, 200, "create {user_id}: {}", reply.raw);
        reply.body
    }

    /// The stored user, read straight from the store.
    pub async fn stored(&self, user_id: &str) -> lambda::model::User {
        use lambda::store::prelude::*;
        self.app
            .store
            .get_user(&self.tenant, user_id)
            .await
            .unwrap()
            .expect("the user exists")
    }

    /// The stored user, if there is one.
    pub async fn stored_opt(&self, user_id: &str) -> Option<lambda::model::User> {
        use lambda::store::prelude::*;
        self.app
            .store
            .get_user(&self.tenant, user_id)
            .await
            .unwrap()
    }

    /// Changes a stored user through the store, as the lifecycle endpoints do.
    /// A further administrator of the tenant, created as a member and promoted; their token.
    pub async fn create_admin(&self, user_id: &str, password: &str, extra: Value) -> String {
        self.create_user(user_id, password, extra).await;
        self.change_user(user_id, |u| u.role = lambda::model::Role::Admin)
            .await;
        self.login(user_id, password).await
    }

    pub async fn change_user(&self, user_id: &str, edit: impl FnOnce(&mut lambda::model::User)) {
        use lambda::store::prelude::*;
        let before = self.stored(user_id).await;
        let mut after = before.clone();
        edit(&mut after);
        self.app
            .store
            .update_user(&lambda::change::UserChange::new(
                &before,
                &after,
                &[],
                &lambda::model::Actor::system("test"),
            ))
            .await
            .unwrap();
    }

    /// Writes a user's item behind the store's back, as a fault or time would leave it: `expression`
    /// sets `#attribute` (or a path in it) to `:value`.
    pub async fn set_in_user_item(
        &self,
        user_id: &str,
        expression: &str,
        attribute: &str,
        value: aws_sdk_dynamodb::types::AttributeValue,
    ) {
        use aws_sdk_dynamodb::types::AttributeValue;
        self.app
            .store
            .client()
            .update_item()
            .table_name(self.app.store.table())
            .key(
                "pk",
                AttributeValue::S(lambda::dynamo::tenant_pk(&self.tenant)),
            )
            .key("sk", AttributeValue::S(lambda::dynamo::user_sk(user_id)))
            .update_expression(expression)
            .expression_attribute_names("#attribute", attribute)
            .expression_attribute_values(":value", value)
            .send()
            .await
            .unwrap();
    }

    /// Puts a person into the external directory for this tenant, replacing one with the same id.
    pub fn directory_put(&self, person: Value) {
        let mut entries = directory().1.lock().unwrap();
        entries.retain(|e| {
            e.domain_id.as_deref() != Some(self.tenant.as_str())
                || e.user["user_id"] != person["user_id"]
        });
        entries.push(local_stack::directory::Entry {
            domain_id: Some(self.tenant.clone()),
            user: person,
        });
    }

    /// Adds a person to this tenant's directory even if one with the same id is there already.
    pub fn directory_add(&self, person: Value) {
        directory()
            .1
            .lock()
            .unwrap()
            .push(local_stack::directory::Entry {
                domain_id: Some(self.tenant.clone()),
                user: person,
            });
    }

    /// Takes a person out of this tenant's directory.
    pub fn directory_remove(&self, user_id: &str) {
        directory().1.lock().unwrap().retain(|e| {
            e.domain_id.as_deref() != Some(self.tenant.as_str()) || e.user["user_id"] != user_id
        });
    }

    /// The tenant's undelivered notifications (held in their users' items), oldest first.
    pub async fn outbox(&self) -> Vec<lambda::outbox::Notification> {
        let mut messages: Vec<lambda::outbox::Notification> = self
            .partition()
            .await
            .iter()
            .filter(|item| item["sk"].as_s().unwrap().starts_with("U#"))
            .flat_map(|item| lambda::dynamo::messages_of(item).unwrap())
            .collect();
        messages.sort_by_key(|m| m.created_at);
        messages
    }

    /// The secret of the newest message of `template` to `user_id`, opened as the notifier would.
    pub async fn last_secret(
        &self,
        user_id: &str,
        template: lambda::outbox::Template,
    ) -> Option<String> {
        self.outbox()
            .await
            .into_iter()
            .rev()
            .find(|m| m.user_id == user_id && m.template == template)
            .map(|m| self.app.sealer.open(&m).unwrap().expect("a sealed secret"))
    }

    /// Every item of the tenant's partition, for checks that nothing partial was written.
    pub async fn partition(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let output = self
            .app
            .store
            .client()
            .query()
            .table_name(TABLE)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(
                ":pk",
                aws_sdk_dynamodb::types::AttributeValue::S(lambda::dynamo::tenant_pk(&self.tenant)),
            )
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        output.items.unwrap_or_default()
    }
}
