//! Request and response helpers for `lambda_http`: the body, tokens from headers, path and query
//! parameters, the one error shape, and running a handler. Bodies are read field by field with
//! `domain::fields` (re-exported here).

use std::future::Future;

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response, service_fn};
use serde_json::{Value, json};

use crate::App;
use crate::error::{ApiError, ApiResult, Dialect};

pub use domain::fields::{Empty, Fields, MAX_BODY_BYTES};

pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// The caller's token from `X-Auth-Token` or `Authorization: Bearer`.
pub fn token(req: &Request) -> Option<&str> {
    let headers = req.headers();
    if let Some(value) = headers.get("x-auth-token").and_then(|v| v.to_str().ok()) {
        return Some(value.trim()).filter(|t| !t.is_empty());
    }
    let authorization = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, credentials) = authorization.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
        .filter(|t| !t.is_empty())
}

/// A path parameter such as `{user_id}`; a missing or blank one names no resource (404). It is
/// passed on as sent: a padded id is another id (which no user can have), never the user it pads.
pub fn path_param(req: &Request, name: &str) -> ApiResult<String> {
    use lambda_http::RequestExt;
    req.path_parameters_ref()
        .and_then(|params| params.first(name))
        .filter(|value| !value.trim().is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ApiError::NotFound {
            key: name.to_owned(),
            value: String::new(),
        })
}

/// `project_id` and `user_id` of a Huawei Workspace path, as the dialect checks them.
pub fn workspace_target(req: &Request) -> ApiResult<(String, String)> {
    crate::workspace::path_ids(path_param(req, "project_id")?, path_param(req, "user_id")?)
}

/// A query-string parameter, if given.
pub fn query_param<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    use lambda_http::RequestExt;
    req.query_string_parameters_ref()
        .and_then(|params| params.first(name))
}

/// A query-string flag such as `?nocatalog=true` (present without a value counts as true).
pub fn query_flag(req: &Request, name: &str) -> bool {
    use lambda_http::RequestExt;
    req.query_string_parameters_ref()
        .and_then(|params| {
            params
                .first(name)
                .map(|v| v.is_empty() || v.eq_ignore_ascii_case("true"))
        })
        .unwrap_or(false)
}

/// The endpoint a request came to, `METHOD /route` (API Gateway's resource path, so ids do not
/// appear), for the audit trail.
pub fn endpoint(req: &Request) -> String {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    let route = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.resource_path.clone(),
        _ => None,
    };
    format!(
        "{} {}",
        req.method(),
        route.unwrap_or_else(|| req.uri().path().to_owned())
    )
}

/// The caller of a request: its token verified (signature, algorithm, key, expiry; liveness is
/// checked with the caller's record later) and the endpoint noted.
pub fn authenticate(app: &crate::App, req: &Request) -> ApiResult<crate::token::Caller> {
    let caller = crate::ops::verify_token(app, token(req))?;
    crate::telemetry::note(|notes| {
        notes.tenant = Some(caller.claims.ten.clone());
        notes.actor = Some(caller.claims.sub.clone());
    });
    Ok(caller.at(endpoint(req)))
}

pub fn json_response(status: u16, body: &Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub fn empty_response(status: u16) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response
}

/// The error shape `{"error_code", "error_msg"}` with the dialect's code and the catalogue's status;
/// on the Keystone routes also Keystone's `"error": {"code", "title", "message"}`, the same status
/// and message (`error_body`).
pub fn error_response(error: &ApiError, dialect: Dialect) -> Response<Body> {
    record_error(error, dialect);
    let mut response = json_response(dialect.status(error), &error_body(error, dialect));
    let retry_after = match error {
        ApiError::Unavailable(_) => Some(1),
        ApiError::TooManyRequests { retry_after_secs } => Some((*retry_after_secs).max(1)),
        _ => None,
    };
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The body of an error answer in a dialect.
pub fn error_body(error: &ApiError, dialect: Dialect) -> Value {
    let status = dialect.status(error);
    let message = dialect.message(error);
    let mut body = json!({"error_code": dialect.code(error), "error_msg": message});
    if dialect.keystone() {
        let title = StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error");
        body["error"] = json!({"code": status, "title": title, "message": message});
    }
    body
}

/// Notes an error for the request's access line and metrics, and logs it: a refusal by its code,
/// a failure (500, 503) with its detail (never a request body).
pub fn record_error(error: &ApiError, dialect: Dialect) {
    crate::telemetry::note(|notes| {
        notes.error_code = Some(dialect.code(error).to_owned());
        if matches!(
            error,
            ApiError::LoginFailed | ApiError::WrongOriginalPassword
        ) {
            notes.login_failures += 1;
        }
    });
    match error {
        ApiError::Internal(detail) => {
            tracing::error!(error_code = dialect.code(error), %detail, "internal error")
        }
        ApiError::Unavailable(detail) => {
            tracing::warn!(error_code = dialect.code(error), %detail, "store unavailable")
        }
        _ => tracing::info!(
            error_code = dialect.code(error),
            status = dialect.status(error),
            "request refused"
        ),
    }
}

/// Renders a handler's outcome: the response, or the error in the endpoint's dialect.
pub fn respond(dialect: Dialect, outcome: ApiResult<Response<Body>>) -> Response<Body> {
    outcome.unwrap_or_else(|error| error_response(&error, dialect))
}

/// The base URL of the API, for links (the token's catalog, seed 001's `links.self`), from what
/// the client cannot forge: the stack's `PublicBaseUrl` (`PUBLIC_BASE_URL`) when set, else API
/// Gateway's request context: `https://<domainName>`, plus `/<stage>` on API Gateway's own
/// `execute-api` domain (a custom domain maps the stage away). `Host` and `X-Forwarded-*` are never
/// read: API Gateway passes them through from the client. The local server puts its own bound
/// address in the context; a loopback domain is served over plain `http`, any other over `https`.
pub fn base_url(config: &crate::app::Config, req: &Request) -> String {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    if let Some(url) = &config.public_base_url {
        return url.clone();
    }
    let context = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => Some(context),
        _ => None,
    };
    // API Gateway always names the domain; an event without one (a hand-written test event) gets
    // a loopback name rather than anything taken from its headers.
    let domain = context
        .and_then(|c| c.domain_name.as_deref())
        .filter(|d| is_domain_name(d))
        .unwrap_or("localhost");
    let scheme = if is_loopback(domain) { "http" } else { "https" };
    let stage = context
        .filter(|_| domain.ends_with(".amazonaws.com"))
        .and_then(|c| c.stage.as_deref())
        .filter(|s| *s != "$default" && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .map(|s| format!("/{s}"))
        .unwrap_or_default();
    format!("{scheme}://{domain}{stage}")
}

/// A host name or address with an optional port: letters, digits, `.`, `-`, `:` and IPv6's
/// brackets only.
fn is_domain_name(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// `localhost`, `127.0.0.1:3000`, `[::1]:3000` and the like.
fn is_loopback(domain: &str) -> bool {
    let host = match domain.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => domain.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The whole `main` of an HTTP function: logging, the app built once per execution environment
/// (outside the handler), then the Lambda runtime calling `handler` for each request. The functions
/// run it on a current-thread runtime: Lambda hands an environment one event at a time, and a
/// multi-thread runtime's wake-ups across threads cost `spaceone_user_get` 0.75 ms of CPU per event instead
/// of 0.46 ms (tests/src/bin/cold_start.rs), which a 128 MB function's 7% of a vCPU makes 10 ms.
/// Password hashing still runs on the blocking pool.
pub async fn run<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = Response<Body>> + Send,
{
    crate::telemetry::init();
    let app: &'static App = Box::leak(Box::new(crate::app::from_env().await?));
    let function: &'static str =
        Box::leak(crate::telemetry::function_name("local").into_boxed_str());
    lambda_http::run(service_fn(move |req| async move {
        Ok::<_, lambda_http::Error>(
            observed(app, function, req, move |req| handler(app, req)).await,
        )
    }))
    .await
}

/// Runs a handler for one request with its access line and metrics (the Lambda binaries and the
/// local server alike), and answers the request id the access line names in `X-Request-Id` (the
/// Huawei SDK fills its exceptions' `request_id` from it): API Gateway's, else the invocation's.
pub async fn observed<F, Fut>(app: &App, function: &str, req: Request, handler: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    let request_id = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.request_id.clone(),
        _ => None,
    };
    let info = crate::telemetry::RequestInfo {
        function: function.to_owned(),
        route: endpoint(&req),
        request_id,
        lambda_request_id: req
            .lambda_context_ref()
            .map(|context| context.request_id.clone()),
    };
    // A token signed with a key rotated in since the ring was read is honoured.
    let presented_kid = token(&req)
        .and_then(|token| jsonwebtoken::decode_header(token).ok())
        .and_then(|header| header.kid);
    app.refresh_keys(presented_kid.as_deref()).await;
    let answered_id = info
        .request_id
        .as_deref()
        .or(info.lambda_request_id.as_deref())
        .and_then(|id| HeaderValue::from_str(id).ok());
    let mut response =
        crate::telemetry::observe(&info, handler(req), |response| response.status().as_u16()).await;
    if let Some(id) = answered_id {
        response.headers_mut().insert(REQUEST_ID_HEADER, id);
    }
    response
}

/// The header every answer names its request in.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

#[cfg(test)]
mod tests {
    use super::*;

    /// An API Gateway event for `domain` whose client sent `Host: evil.example` and
    /// `X-Forwarded-Proto: javascript`.
    fn event(domain: &str) -> Request {
        let event = serde_json::json!({
            "resource": "/v3/auth/tokens", "path": "/v3/auth/tokens", "httpMethod": "POST",
            "headers": {"Host": "evil.example", "X-Forwarded-Proto": "javascript"},
            "multiValueHeaders": {"Host": ["evil.example"], "X-Forwarded-Proto": ["javascript"]},
            "requestContext": {"stage": "prod", "domainName": domain, "path": "/prod/v3/auth/tokens",
                "resourcePath": "/v3/auth/tokens", "httpMethod": "POST", "accountId": "1", "apiId": "abc",
                "requestId": "r", "identity": {}},
            "body": "{}", "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    #[test]
    fn links_come_from_the_request_context_never_from_host_or_forwarded_headers() {
        let config = crate::app::Config::defaults("t");
        let gateway = "abc.execute-api.eu-west-1.amazonaws.com";
        // The stage is part of the path on execute-api domains only.
        assert_eq!(
            base_url(&config, &event(gateway)),
            format!("https://{gateway}/prod")
        );
        assert_eq!(
            base_url(&config, &event("api.example.com")),
            "https://api.example.com"
        );
        // The local server names its own bound address, served over plain HTTP.
        assert_eq!(
            base_url(&config, &event("127.0.0.1:3000")),
            "http://127.0.0.1:3000"
        );
        assert_eq!(base_url(&config, &event("[::1]:3000")), "http://[::1]:3000");
        // Nothing else in a domain name; no context at all is no reason to read the headers.
        assert_eq!(
            base_url(&config, &event("evil.example/x?")),
            "http://localhost"
        );
        let mut bare = Request::new(Body::Empty);
        bare.headers_mut()
            .insert(header::HOST, HeaderValue::from_static("evil.example"));
        assert_eq!(base_url(&config, &bare), "http://localhost");
        // A custom domain's URL from the stack wins over the context.
        let config = crate::app::Config {
            public_base_url: Some("https://users.example.com/api".into()),
            ..config
        };
        assert_eq!(
            base_url(&config, &event(gateway)),
            "https://users.example.com/api"
        );
    }

    #[test]
    fn tokens_come_from_either_header() {
        let with = |name: &str, value: &str| {
            let mut req = Request::new(Body::Empty);
            req.headers_mut().insert(
                lambda_http::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
            token(&req).map(str::to_owned)
        };
        assert_eq!(with("x-auth-token", "abc").as_deref(), Some("abc"));
        assert_eq!(with("authorization", "Bearer abc").as_deref(), Some("abc"));
        assert_eq!(
            with("authorization", "bearer  abc ").as_deref(),
            Some("abc")
        );
        assert_eq!(with("authorization", "Basic abc"), None);
        assert_eq!(with("x-auth-token", "  "), None);
    }
}
