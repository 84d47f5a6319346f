//! The local stack: DynamoDB Local's table from `template.yaml`, and an HTTP server that serves
//! exactly the template's routes by calling the same handlers the Lambda binaries run.

pub mod cloudformation;
pub mod directory;
pub mod dynamodb_local;
pub mod local;
pub mod streams;
pub mod template;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use lambda::http::error_response;
use lambda::{ApiError, App, Dialect};
use lambda_http::{Body, Request, RequestExt, Response};
use tokio::net::TcpListener;

use template::Route;

pub type HandlerFuture = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;
pub type Handler = fn(&'static App, Request) -> HandlerFuture;

/// Every function that serves HTTP, by its directory under `functions/` (and crate name): the one
/// list the handler registry and the drift test against the template are derived from.
macro_rules! http_functions {
    ($($function:ident),* $(,)?) => {
        /// The handler of each HTTP function, by its directory under `functions/`.
        pub fn handler(function: &str) -> Option<Handler> {
            match function {
                $(stringify!($function) => Some(|app, req| Box::pin($function::handle(app, req))),)*
                _ => None,
            }
        }

        /// The directories of every function that serves HTTP.
        pub const HTTP_FUNCTIONS: &[&str] = &[$(stringify!($function)),*];
    };
}

http_functions!(
    iam_auth_tokens,
    iam_user_modify,
    iam_user_password,
    iam_version_discovery,
    rsa_audit_trail,
    rsa_user_lookup,
    rsa_user_status,
    spaceone_user_confirm_email,
    spaceone_user_create,
    spaceone_user_delete,
    spaceone_user_disable,
    spaceone_user_enable,
    spaceone_user_find,
    spaceone_user_get,
    spaceone_user_list,
    spaceone_user_reset_password,
    spaceone_user_set_required_actions,
    spaceone_user_stat,
    spaceone_user_sync,
    spaceone_user_update,
    spaceone_user_verify_email,
    workspace_random_password,
    workspace_user_actions,
    workspace_user_modify,
);

/// API Gateway's own payload limit.
const MAX_GATEWAY_BODY: usize = 10 * 1024 * 1024;

/// Matches a path against a route template, returning the path parameters.
pub fn match_path(template: &str, path: &str) -> Option<HashMap<String, String>> {
    let wanted: Vec<&str> = template.trim_matches('/').split('/').collect();
    let given: Vec<&str> = path.trim_matches('/').split('/').collect();
    if wanted.len() != given.len() {
        return None;
    }
    let mut params = HashMap::new();
    for (w, g) in wanted.iter().zip(&given) {
        if let Some(name) = w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
            if g.is_empty() {
                return None;
            }
            let decoded = percent_encoding::percent_decode_str(g)
                .decode_utf8_lossy()
                .into_owned();
            params.insert(name.to_owned(), decoded);
        } else if w != g {
            return None;
        }
    }
    Some(params)
}

/// The routes and the app they run against.
pub struct Router {
    pub app: &'static App,
    routes: Vec<(Route, Handler)>,
    /// API Gateway's stage throttling, one token bucket per route; `None`: unlimited.
    limits: Option<Vec<std::sync::Mutex<Bucket>>>,
    /// The template's WAF rate-based rules: a token bucket per client address, login first.
    address_limits: Vec<AddressLimit>,
}

/// The connection a request came in on: the server's own bound address, which stands in for API
/// Gateway's domain name in the request context (links are built from it), and the client's
/// address, which the per-address limits key on (never `X-Forwarded-For`, which the client writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection {
    pub local: SocketAddr,
    pub peer: SocketAddr,
}

/// The per-client-address limits of the template's web ACL (`LoginRateLimitPerIp`,
/// `ApiRateLimitPerIp`): requests per `window_secs` from one address; `None`: no such limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressLimits {
    pub login: Option<u64>,
    pub any_route: Option<u64>,
    pub window_secs: u64,
}

/// The login route.
pub const LOGIN_PATH: &str = "/v3/auth/tokens";
/// The routes anyone may call without a token, which the login rule limits (the template's
/// `LoginPerAddress` scope-down): login, and the anonymous reset-password.
pub const UNAUTHENTICATED_PATHS: [&str; 2] = [LOGIN_PATH, "/identity/v1/user/reset-password"];

/// Buckets kept per limit before full ones are dropped (a full bucket is a fresh one).
const ADDRESS_BUCKETS_MAX: usize = 4096;

/// One per-address limit: `limit` requests per window from each address, on the login route only
/// or on every path.
struct AddressLimit {
    login_only: bool,
    rate: f64,
    burst: f64,
    buckets: std::sync::Mutex<HashMap<IpAddr, Bucket>>,
}

impl AddressLimit {
    fn new(login_only: bool, limit: u64, window_secs: u64) -> AddressLimit {
        AddressLimit {
            login_only,
            rate: limit as f64 / window_secs.max(1) as f64,
            burst: limit as f64,
            buckets: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` once `address` has spent its budget.
    fn admit(&self, address: IpAddr) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= ADDRESS_BUCKETS_MAX && !buckets.contains_key(&address) {
            buckets.retain(|_, bucket| !bucket.is_full());
        }
        let bucket = buckets
            .entry(address)
            .or_insert_with(|| Bucket::new(self.rate, self.burst));
        if bucket.admit() {
            Ok(())
        } else {
            Err(bucket.retry_after_secs())
        }
    }
}

/// A token bucket: `rate` requests a second on average, `burst` at once.
#[derive(Debug, Clone)]
pub struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    pub fn new(rate: f64, burst: f64) -> Bucket {
        Bucket {
            rate,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    fn admit(&mut self) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whole seconds until the next token (at least 1).
    fn retry_after_secs(&self) -> u64 {
        (((1.0 - self.tokens) / self.rate).ceil() as u64).max(1)
    }

    /// Whether it would be full now: as good as a new one.
    fn is_full(&self) -> bool {
        self.tokens + self.last.elapsed().as_secs_f64() * self.rate >= self.burst
    }
}

/// Bootstraps `tenant` with administrator `admin` and the given password, as the measuring tools
/// need it; whether the tenant was new.
pub async fn bootstrap_admin(app: &App, tenant: &str, password: &str) -> Result<bool, String> {
    let answer = bootstrap::handle(
        app,
        bootstrap::BootstrapEvent {
            tenant_id: tenant.to_owned(),
            user_id: "admin".into(),
            password: Some(password.into()),
            email: None,
            name: None,
        },
    )
    .await
    .map_err(|e| format!("bootstrapping {tenant}: {e}"))?;
    Ok(answer.created)
}

/// An app for the examples that measure: DynamoDB Local at `$DYNAMODB_ENDPOINT` (default port 8000),
/// table `useradmin-bench` created from the template, `adjust` applied to the default settings.
pub async fn bench_app(
    adjust: impl FnOnce(&mut lambda::app::Config),
) -> Result<&'static App, String> {
    let endpoint =
        std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8000".into());
    let mut config = lambda::app::Config {
        dynamodb_endpoint: Some(endpoint),
        ..lambda::app::Config::defaults("useradmin-bench")
    };
    adjust(&mut config);
    let client = lambda::app::dynamodb_client(config.dynamodb_endpoint.as_deref()).await;
    template::create_table(&client, &config.table_name).await?;
    Ok(Box::leak(Box::new(lambda::app::new(
        config,
        client,
        b"bench-signing-key-0123456789abcdef",
    )?)))
}

/// One strongly consistent `BatchGetItem` of `keys`, as the handlers read a caller and its target:
/// the measuring tools time this shape against the others.
pub async fn consistent_batch_get(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    keys: Vec<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>,
) -> Result<(), String> {
    let keys = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
        .set_keys(Some(keys))
        .consistent_read(true)
        .build()
        .map_err(|e| e.to_string())?;
    client
        .batch_get_item()
        .request_items(table, keys)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// The template's default throttling (`ThrottlingRateLimit`, `ThrottlingBurstLimit`).
pub fn template_throttling() -> Result<(f64, f64), String> {
    let template = template::load()?;
    let default = |name: &str| {
        template["Parameters"][name]["Default"]
            .as_f64()
            .ok_or_else(|| format!("template parameter {name} has no numeric default"))
    };
    Ok((
        default("ThrottlingRateLimit")?,
        default("ThrottlingBurstLimit")?,
    ))
}

/// The per-address limits of the template's web ACL at their parameters' defaults (none when
/// `PerAddressRateLimits` defaults to `Disabled`), each overridden by its environment variable
/// (`LOGIN_RATE_LIMIT_PER_IP`, `API_RATE_LIMIT_PER_IP`: a number of requests per window, `0` or
/// `off` for none) as `env` reads it.
pub fn template_address_limits(
    env: impl Fn(&str) -> Option<String>,
) -> Result<AddressLimits, String> {
    let template = template::load()?;
    let enabled =
        template["Parameters"]["PerAddressRateLimits"]["Default"].as_str() == Some("Enabled");
    let default = |name: &str| {
        template["Parameters"][name]["Default"]
            .as_u64()
            .ok_or_else(|| format!("template parameter {name} has no numeric default"))
    };
    let setting = |variable: &str, parameter: &str| -> Result<Option<u64>, String> {
        match env(variable).map(|v| v.trim().to_ascii_lowercase()) {
            Some(v) if v == "off" || v == "0" => Ok(None),
            Some(v) if !v.is_empty() => v.parse().map(Some).map_err(|_| {
                format!("{variable} must be a number of requests per window, 0 or off, got {v:?}")
            }),
            _ => Ok(enabled.then(|| default(parameter)).transpose()?),
        }
    };
    // The window of the web ACL's rules (WAF's EvaluationWindowSec), the same for both.
    let window_secs = template["Resources"]["ApiWebAcl"]["Properties"]["Rules"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|rule| rule["Statement"]["RateBasedStatement"]["EvaluationWindowSec"].as_u64())
        .max()
        .ok_or("template.yaml: ApiWebAcl has no rate-based rule with an EvaluationWindowSec")?;
    Ok(AddressLimits {
        login: setting("LOGIN_RATE_LIMIT_PER_IP", "LoginRateLimitPerIp")?,
        any_route: setting("API_RATE_LIMIT_PER_IP", "ApiRateLimitPerIp")?,
        window_secs,
    })
}

impl Router {
    /// Every route of `template.yaml`; fails if one names a function without a handler here.
    pub fn from_template(app: &'static App) -> Result<Router, String> {
        let template = template::load()?;
        let mut routes = Vec::new();
        for route in template::routes(&template) {
            let handler = handler(&route.function).ok_or_else(|| {
                format!(
                    "template route {} {} has no local handler",
                    route.method, route.path
                )
            })?;
            routes.push((route, handler));
        }
        Ok(Router {
            app,
            routes,
            limits: None,
            address_limits: Vec::new(),
        })
    }

    /// Limits each client address as the template's WAF rate-based rules do: 429 in the error
    /// shape with `Retry-After` once an address has spent its budget, before any route's own
    /// throttle (WAF answers before API Gateway does).
    pub fn with_address_limits(mut self, limits: AddressLimits) -> Router {
        self.address_limits = [(true, limits.login), (false, limits.any_route)]
            .into_iter()
            .filter_map(|(login_only, limit)| {
                Some(AddressLimit::new(login_only, limit?, limits.window_secs))
            })
            .collect();
        self
    }

    /// Throttles each route as API Gateway's stage settings do: 429 in the error shape with
    /// `Retry-After` once a route's bucket is empty.
    pub fn with_rate_limit(mut self, rate: f64, burst: f64) -> Router {
        self.limits = Some(
            self.routes
                .iter()
                .map(|_| std::sync::Mutex::new(Bucket::new(rate, burst)))
                .collect(),
        );
        self
    }

    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter().map(|(route, _)| route)
    }

    /// Answers one request as API Gateway would: 404 for an unknown path, 405 for a known path with
    /// another method, else the route's handler with path and query parameters filled in. In
    /// process there is no connection: the caller counts as 127.0.0.1 and the context names no
    /// domain.
    pub async fn dispatch(&self, req: Request) -> Response<Body> {
        self.dispatch_on(None, req).await
    }

    /// Answers one request that came in on `connection` (`serve` passes each connection's own).
    pub async fn dispatch_on(
        &self,
        connection: Option<Connection>,
        req: Request,
    ) -> Response<Body> {
        let path = req.uri().path().to_owned();
        if path == OPENAPI_PATH && req.method() == "GET" {
            return Response::builder()
                .status(200)
                .header("content-type", "application/yaml")
                .header(lambda::http::REQUEST_ID_HEADER, request_id())
                .body(Body::Text(OPENAPI.to_owned()))
                .expect("a static response");
        }
        let client = connection.map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.peer.ip());
        for limit in &self.address_limits {
            if limit.login_only && !UNAUTHENTICATED_PATHS.contains(&path.trim_end_matches('/')) {
                continue;
            }
            // WAF's custom response: static headers, no request id (docs/dialects.md).
            if let Err(retry_after_secs) = limit.admit(client) {
                return error_response(
                    &ApiError::TooManyRequests { retry_after_secs },
                    Dialect::Own,
                );
            }
        }
        let mut path_known = false;
        for (index, (route, handler)) in self.routes.iter().enumerate() {
            let Some(params) = match_path(&route.path, &path) else {
                continue;
            };
            path_known = true;
            if route.method != req.method().as_str() {
                continue;
            }
            if let Some(limits) = &self.limits
                && !limits[index].lock().unwrap().admit()
            {
                return gateway_answer(&ApiError::TooManyRequests {
                    retry_after_secs: 1,
                });
            }
            let query: HashMap<String, Vec<String>> =
                form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
                    .into_owned()
                    .fold(HashMap::new(), |mut map, (k, v)| {
                        map.entry(k).or_default().push(v);
                        map
                    });
            // API Gateway tells the function its route (resource path) and stage.
            let mut context =
                lambda_http::aws_lambda_events::apigw::ApiGatewayProxyRequestContext::default();
            context.resource_path = Some(route.path.clone());
            context.http_method = req.method().clone();
            context.stage = Some("local".into());
            // Where API Gateway names its own domain (links are built from it, never from `Host`),
            // the local server names the address it is bound to; and the client's address.
            if let Some(connection) = connection {
                context.domain_name = Some(connection.local.to_string());
                context.identity.source_ip = Some(connection.peer.ip().to_string());
            }
            let request_id = request_id();
            context.request_id = Some(request_id.clone());
            let req = req
                .with_path_parameters(params)
                .with_query_string_parameters(query)
                .with_request_context(lambda_http::request::RequestContext::ApiGatewayV1(context));
            let app = self.app;
            let mut response =
                lambda::http::observed(app, &route.function, req, |req| handler(app, req)).await;
            // API Gateway answers its request id, which the function's access line names.
            if let Ok(value) = hyper::header::HeaderValue::from_str(&request_id) {
                response.headers_mut().insert("x-amzn-requestid", value);
            }
            return response;
        }
        let error = if path_known {
            ApiError::MethodNotAllowed
        } else {
            ApiError::NotFound {
                key: "path".into(),
                value: path,
            }
        };
        gateway_answer(&error)
    }
}

/// One of API Gateway's own answers (template.yaml's `GatewayResponses`): the error shape, and its
/// request id in `X-Request-Id` (`context.requestId`) although no function ran.
fn gateway_answer(error: &ApiError) -> Response<Body> {
    let mut response = error_response(error, Dialect::Own);
    if let Ok(value) = hyper::header::HeaderValue::from_str(&request_id()) {
        response
            .headers_mut()
            .insert(lambda::http::REQUEST_ID_HEADER, value);
    }
    response
}

/// The API's description (docs/openapi.yaml), which the local server also serves.
pub const OPENAPI: &str = include_str!("../../docs/openapi.yaml");
pub const OPENAPI_PATH: &str = "/openapi.yaml";

/// The JSON in an API Gateway event's `body`.
pub fn event_body(event: &serde_json::Value) -> Result<serde_json::Value, String> {
    event["body"]
        .as_str()
        .map(serde_json::from_str)
        .ok_or("the event has no body")?
        .map_err(|e| format!("the event's body: {e}"))
}

/// A request id shaped like API Gateway's (a UUID).
pub fn request_id() -> String {
    let bits: u128 = rand::random();
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

async fn serve_one(
    router: &'static Router,
    connection: Connection,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let response = match Limited::new(body, MAX_GATEWAY_BODY).collect().await {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            let body = match String::from_utf8(bytes.to_vec()) {
                Ok(text) if text.is_empty() => Body::Empty,
                Ok(text) => Body::Text(text),
                Err(e) => Body::Binary(e.into_bytes()),
            };
            router
                .dispatch_on(Some(connection), Request::from_parts(parts, body))
                .await
        }
        Err(_) => gateway_answer(&ApiError::PayloadTooLarge {
            limit: MAX_GATEWAY_BODY,
        }),
    };
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(data) => Bytes::from(data),
        _ => Bytes::new(),
    };
    Ok(hyper::Response::from_parts(parts, Full::new(bytes)))
}

/// Serves the router on the listener until the task is dropped; each request carries its
/// connection's addresses (`Router::dispatch_on`).
pub async fn serve(router: &'static Router, listener: TcpListener) {
    let Ok(local) = listener.local_addr() else {
        return;
    };
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let connection = Connection { local, peer };
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| serve_one(router, connection, req));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Binds 127.0.0.1 only: the local stack is never reachable from another machine.
pub async fn bind_loopback(port: u16) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let address = listener.local_addr()?;
    Ok((listener, address))
}

/// CPU time of every thread of process `pid` so far, in nanoseconds (`/proc/<pid>/task/*/schedstat`:
/// nanosecond resolution, where `/proc/<pid>/stat` counts 10 ms ticks). For the benchmarks.
pub fn process_cpu_ns(pid: u32) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    Some(
        tasks
            .flatten()
            .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
            .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
            .sum(),
    )
}
