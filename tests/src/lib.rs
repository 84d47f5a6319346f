//! The local stack: DynamoDB Local's table from `template.yaml`, and an HTTP server that serves
//! exactly the template's routes by calling the same handlers the Lambda binaries run.

pub mod cloudformation;
pub mod directory;
pub mod dynamodb_local;
pub mod streams;
pub mod template;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use lambda_http::{Body, Request, RequestExt, Response};
use shared::http::error_response;
use shared::{ApiError, App, Dialect};
use tokio::net::TcpListener;

use template::Route;

pub type HandlerFuture = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;
pub type Handler = fn(&'static App, Request) -> HandlerFuture;

/// The handler of each HTTP function, by its directory under `functions/`.
pub fn handler(function: &str) -> Option<Handler> {
    let handler: Handler = match function {
        "auth_tokens" => |app, req| Box::pin(auth_tokens::handle(app, req)),
        "user_create" => |app, req| Box::pin(user_create::handle(app, req)),
        "user_get" => |app, req| Box::pin(user_get::handle(app, req)),
        "user_actions" => |app, req| Box::pin(user_actions::handle(app, req)),
        "user_random_password" => |app, req| Box::pin(user_random_password::handle(app, req)),
        "user_password" => |app, req| Box::pin(user_password::handle(app, req)),
        "user_modify" => |app, req| Box::pin(user_modify::handle(app, req)),
        "iam_user_modify" => |app, req| Box::pin(iam_user_modify::handle(app, req)),
        "user_update" => |app, req| Box::pin(user_update::handle(app, req)),
        "user_verify_email" => |app, req| Box::pin(user_verify_email::handle(app, req)),
        "user_confirm_email" => |app, req| Box::pin(user_confirm_email::handle(app, req)),
        "user_reset_password" => |app, req| Box::pin(user_reset_password::handle(app, req)),
        "user_set_required_actions" => {
            |app, req| Box::pin(user_set_required_actions::handle(app, req))
        }
        "user_enable" => |app, req| Box::pin(user_enable::handle(app, req)),
        "user_disable" => |app, req| Box::pin(user_disable::handle(app, req)),
        "user_delete" => |app, req| Box::pin(user_delete::handle(app, req)),
        "user_list" => |app, req| Box::pin(user_list::handle(app, req)),
        "user_stat" => |app, req| Box::pin(user_stat::handle(app, req)),
        "user_find" => |app, req| Box::pin(user_find::handle(app, req)),
        "user_sync" => |app, req| Box::pin(user_sync::handle(app, req)),
        "rsa_user_status" => |app, req| Box::pin(rsa_user_status::handle(app, req)),
        "rsa_user_lookup" => |app, req| Box::pin(rsa_user_lookup::handle(app, req)),
        "rsa_audit_trail" => |app, req| Box::pin(rsa_audit_trail::handle(app, req)),
        _ => return None,
    };
    Some(handler)
}

/// The directories of every function that serves HTTP, for the drift test against the template.
pub const HTTP_FUNCTIONS: [&str; 23] = [
    "auth_tokens",
    "user_create",
    "user_get",
    "user_actions",
    "user_random_password",
    "user_password",
    "user_modify",
    "iam_user_modify",
    "user_update",
    "user_verify_email",
    "user_confirm_email",
    "user_reset_password",
    "user_set_required_actions",
    "user_enable",
    "user_disable",
    "user_delete",
    "user_list",
    "user_stat",
    "user_find",
    "user_sync",
    "rsa_user_status",
    "rsa_user_lookup",
    "rsa_audit_trail",
];

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
    adjust: impl FnOnce(&mut shared::app::Config),
) -> Result<&'static App, String> {
    let endpoint =
        std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8000".into());
    let mut config = shared::app::Config {
        dynamodb_endpoint: Some(endpoint),
        ..shared::app::Config::defaults("useradmin-bench")
    };
    adjust(&mut config);
    let client = shared::app::dynamodb_client(config.dynamodb_endpoint.as_deref()).await;
    template::create_table(&client, &config.table_name).await?;
    Ok(Box::leak(Box::new(App::new(
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
        })
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
    /// another method, else the route's handler with path and query parameters filled in.
    pub async fn dispatch(&self, req: Request) -> Response<Body> {
        let path = req.uri().path().to_owned();
        if path == OPENAPI_PATH && req.method() == "GET" {
            return Response::builder()
                .status(200)
                .header("content-type", "application/yaml")
                .body(Body::Text(OPENAPI.to_owned()))
                .expect("a static response");
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
                return error_response(&ApiError::TooManyRequests, Dialect::Own);
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
            let request_id = request_id();
            context.request_id = Some(request_id.clone());
            let req = req
                .with_path_parameters(params)
                .with_query_string_parameters(query)
                .with_request_context(lambda_http::request::RequestContext::ApiGatewayV1(context));
            let app = self.app;
            let mut response =
                shared::http::observed(app, &route.function, req, |req| handler(app, req)).await;
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
        error_response(&error, Dialect::Own)
    }
}

/// The API's description (docs/openapi.yaml), which the local server also serves.
pub const OPENAPI: &str = include_str!("../../docs/openapi.yaml");
pub const OPENAPI_PATH: &str = "/openapi.yaml";

/// A request id shaped like API Gateway's (a UUID).
fn request_id() -> String {
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
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (mut parts, body) = req.into_parts();
    // API Gateway tells the function the client's scheme; here it is plain HTTP.
    parts
        .headers
        .entry("x-forwarded-proto")
        .or_insert(hyper::header::HeaderValue::from_static("http"));
    let response = match Limited::new(body, MAX_GATEWAY_BODY).collect().await {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            let body = match String::from_utf8(bytes.to_vec()) {
                Ok(text) if text.is_empty() => Body::Empty,
                Ok(text) => Body::Text(text),
                Err(e) => Body::Binary(e.into_bytes()),
            };
            router.dispatch(Request::from_parts(parts, body)).await
        }
        Err(_) => error_response(
            &ApiError::PayloadTooLarge {
                limit: MAX_GATEWAY_BODY,
            },
            Dialect::Own,
        ),
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

/// Serves the router on the listener until the task is dropped.
pub async fn serve(router: &'static Router, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| serve_one(router, req));
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
