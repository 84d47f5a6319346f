//! What the functions tell their operators.
//!
//! - **Logs.** Every binary logs through `tracing`: JSON lines (one object, fields at the top level)
//!   when the Lambda runtime asks for them (`AWS_LAMBDA_LOG_FORMAT=JSON`, as the template sets), at
//!   the level of `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`. Each request ends with one `access` line:
//!   request ids, function, route, tenant, acting and target user, outcome, status, error code,
//!   latency, and how much of it was spent waiting on DynamoDB (`store_calls`, `store_ms`); never a
//!   body, a password, a hash, a token or a code.
//! - **Metrics.** Each request also writes one CloudWatch Embedded Metric Format line to stdout
//!   (whatever the log level, since alarms depend on it): requests by function and status class,
//!   latency, and the counters the operations note while they run (login failures, lockouts, token
//!   revocations, conditional-write conflicts, DynamoDB throttles after retries). The notifier
//!   writes notifications sent and failed the same way.

use std::sync::OnceLock;
use std::time::Instant;

use serde_json::{Map, Value, json};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

pub use domain::notes::{RequestNotes, StoreWait, note};

/// The CloudWatch namespace of the metrics: `METRICS_NAMESPACE` (the template gives each stack its
/// own, `UserAdmin/<stack>`), else this.
pub const DEFAULT_NAMESPACE: &str = "UserAdmin";

fn namespace() -> &'static str {
    static NAMESPACE: OnceLock<String> = OnceLock::new();
    NAMESPACE.get_or_init(|| {
        std::env::var("METRICS_NAMESPACE")
            .ok()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_NAMESPACE.into())
    })
}

/// The runtime crates log whole events (request bodies with passwords) at TRACE and DEBUG, and the
/// AWS SDK and its HTTP stack log whole requests and answers (items with password hashes, the SES
/// message with a temporary password, key rings): they never log below INFO, whatever level is
/// asked for.
const SECRET_SAFE_CRATES: [&str; 19] = [
    "lambda_runtime",
    "lambda_http",
    "lambda_runtime_api_client",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_smithy_types",
    "aws_smithy_json",
    "aws_sdk_dynamodb",
    "aws_sdk_sesv2",
    "aws_sdk_dynamodbstreams",
    "aws_sdk_secretsmanager",
    "aws_config",
    "hyper",
    "hyper_util",
    "hyper_rustls",
    "rustls",
    "h2",
    "tower",
];

const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// The filter directives for a requested level (Lambda's `AWS_LAMBDA_LOG_LEVEL` names, `FATAL`
/// included, or `RUST_LOG` directives): the request, then each secret-safe crate at the requested
/// default level but never below INFO.
pub fn directives(requested: &str) -> String {
    let requested = requested.trim().to_lowercase().replace("fatal", "error");
    let requested = if requested.is_empty() {
        "info".to_owned()
    } else {
        requested
    };
    let default = requested
        .split(',')
        .map(str::trim)
        .rfind(|part| LEVELS.contains(part))
        .unwrap_or("info");
    let cap =
        if LEVELS.iter().position(|l| *l == default) < LEVELS.iter().position(|l| *l == "info") {
            "info"
        } else {
            default
        };
    let caps: Vec<String> = SECRET_SAFE_CRATES
        .iter()
        .map(|krate| format!("{krate}={cap}"))
        .collect();
    format!("{requested},{}", caps.join(","))
}

/// The filter for a requested level: `directives` as per-target levels. A request it cannot read
/// (a span or field filter of `RUST_LOG`) gets INFO. Per-target levels need no regular expressions,
/// which `EnvFilter` would link into every function (about 0.4 MB).
pub fn filter(requested: &str) -> Targets {
    directives(requested)
        .parse()
        .or_else(|_| directives("info").parse())
        .unwrap_or_else(|_| Targets::new().with_default(tracing::Level::INFO))
}

/// The functions' log lines as the Lambda runtime asks for them (`AWS_LAMBDA_LOG_FORMAT=JSON`): one
/// object per event with its fields at the top level, the target named (the access lines are
/// picked out by `"target": "access"`), no timestamp (Lambda stamps each line).
pub fn json_layer<S, W>(writer: W) -> impl tracing_subscriber::Layer<S> + Send + Sync + 'static
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .with_target(true)
        .without_time()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_writer(writer)
}

/// The level asked for: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG` (`filter` reads either).
fn requested_level() -> String {
    std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_default()
}

pub fn init() {
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    if json {
        return init_json(std::io::stdout);
    }
    // A second initialisation (tests, the local server) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter(&requested_level()))
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .without_time(),
        )
        .try_init();
}

/// The JSON lines at the level asked for, written to `writer` (Lambda: stdout; `scripts/invoke.sh`:
/// stderr, as `sam local invoke` shows them).
pub fn init_json<W>(writer: W)
where
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + Send + Sync + 'static,
{
    let _ = tracing_subscriber::registry()
        .with(filter(&requested_level()))
        .with(json_layer(writer))
        .try_init();
}

/// Times each DynamoDB call into the notes of the request that makes it (a no-op outside one).
/// The SDK runs these hooks inside the call's own future, in the request's task.
#[derive(Debug)]
pub struct StoreTiming;

impl aws_sdk_dynamodb::config::Intercept for StoreTiming {
    fn name(&self) -> &'static str {
        "StoreTiming"
    }

    fn read_before_execution(
        &self,
        _context: &aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef<
            '_,
        >,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        note(|notes| notes.store.call_started(Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &aws_sdk_dynamodb::config::interceptors::FinalizerInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        note(|notes| notes.store.call_ended(Instant::now()));
        Ok(())
    }
}

/// Which request a line is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    /// The deployed function's name (`AWS_LAMBDA_FUNCTION_NAME`), locally its directory.
    pub function: String,
    /// `METHOD /route`.
    pub route: String,
    /// API Gateway's request id: what the client sees as `x-amzn-RequestId`.
    pub request_id: Option<String>,
    /// The Lambda invocation's id.
    pub lambda_request_id: Option<String>,
}

/// The deployed function's name (`AWS_LAMBDA_FUNCTION_NAME`), else `local`.
pub fn function_name(local: &str) -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| local.to_owned())
}

/// Runs one request's work with its notes, then writes its access line and metrics.
pub async fn observe<T>(
    info: &RequestInfo,
    work: impl Future<Output = T>,
    status_of: impl FnOnce(&T) -> u16,
) -> T {
    let started = Instant::now();
    let (result, notes) = domain::notes::scope(work).await;
    let status = status_of(&result);
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let outcome = match status {
        0..400 => "success",
        400..500 => "refused",
        _ => "failed",
    };
    tracing::info!(
        target: "access",
        request_id = info.request_id.as_deref(),
        lambda_request_id = info.lambda_request_id.as_deref(),
        function = %info.function,
        route = %info.route,
        tenant = notes.tenant.as_deref(),
        actor = notes.actor.as_deref(),
        target_user = notes.target.as_deref(),
        outcome,
        status,
        error_code = notes.error_code.as_deref(),
        latency_ms = (latency_ms * 10.0).round() / 10.0,
        store_calls = notes.store.calls,
        store_ms = (notes.store.waited_ms() * 100.0).round() / 100.0,
        "request"
    );
    emit_metrics(&request_metrics(info, &notes, status, latency_ms));
    result
}

/// The EMF document of one request.
pub fn request_metrics(
    info: &RequestInfo,
    notes: &RequestNotes,
    status: u16,
    latency_ms: f64,
) -> Value {
    let status_class = format!("{}xx", status / 100);
    let counters = [
        ("LoginFailures", notes.login_failures),
        ("Lockouts", notes.lockouts),
        ("TokenRevocations", notes.token_revocations),
        ("WriteConflicts", notes.write_conflicts),
        ("StoreThrottles", notes.store_throttles),
    ];
    let mut root = Map::new();
    root.insert("Function".into(), json!(info.function));
    root.insert("StatusClass".into(), json!(status_class));
    root.insert("Requests".into(), json!(1));
    root.insert("Latency".into(), json!(latency_ms));
    let mut per_function = vec![json!({"Name": "Latency", "Unit": "Milliseconds"})];
    for (name, count) in counters {
        root.insert(name.into(), json!(count));
        per_function.push(json!({"Name": name, "Unit": "Count"}));
    }
    if let Some(id) = &info.request_id {
        root.insert("request_id".into(), json!(id));
    }
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [
                {"Namespace": namespace(), "Dimensions": [["Function", "StatusClass"]],
                 "Metrics": [{"Name": "Requests", "Unit": "Count"}]},
                // Per function, and over all functions (what the alarms watch).
                {"Namespace": namespace(), "Dimensions": [["Function"], []], "Metrics": per_function},
            ]
        }),
    );
    Value::Object(root)
}

/// An EMF document of counters for one function, per function and over all functions.
pub fn counter_metrics(function: &str, counters: &[(&str, u64)]) -> Value {
    let mut root = Map::new();
    root.insert("Function".into(), json!(function));
    let mut metrics = Vec::new();
    for (name, count) in counters {
        root.insert((*name).into(), json!(count));
        metrics.push(json!({"Name": name, "Unit": "Count"}));
    }
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [
                {"Namespace": namespace(), "Dimensions": [["Function"], []], "Metrics": metrics},
            ]
        }),
    );
    Value::Object(root)
}

type Sink = Box<dyn Fn(&str) + Send + Sync>;
static METRICS_SINK: OnceLock<Sink> = OnceLock::new();

/// Sends metric lines somewhere else than stdout (the tests' capture); the first call wins.
pub fn set_metrics_sink(sink: Sink) {
    let _ = METRICS_SINK.set(sink);
}

/// Writes one EMF document as one line.
pub fn emit_metrics(document: &Value) {
    let line = document.to_string();
    match METRICS_SINK.get() {
        Some(sink) => sink(&line),
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
        }
    }
}

/// Checks a line is an EMF document CloudWatch accepts: `_aws` with a timestamp and metric
/// directives whose every metric is a number and every dimension a string at the top level.
pub fn check_emf(line: &str) -> Result<Value, String> {
    let document: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let aws = &document["_aws"];
    if !aws["Timestamp"].is_i64() {
        return Err("no integer _aws.Timestamp".into());
    }
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .filter(|d| !d.is_empty())
        .ok_or("no _aws.CloudWatchMetrics")?;
    for directive in directives {
        if directive["Namespace"].as_str().is_none_or(str::is_empty) {
            return Err("a directive without a namespace".into());
        }
        for set in directive["Dimensions"].as_array().ok_or("no Dimensions")? {
            let set = set.as_array().ok_or("a dimension set is not a list")?;
            if set.len() > 30 {
                return Err("more than 30 dimensions".into());
            }
            for name in set {
                let name = name.as_str().ok_or("a dimension name is not a string")?;
                if !document[name].is_string() {
                    return Err(format!("dimension {name} is not a top-level string"));
                }
            }
        }
        let metrics = directive["Metrics"].as_array().ok_or("no Metrics")?;
        if metrics.is_empty() || metrics.len() > 100 {
            return Err("between 1 and 100 metrics per directive".into());
        }
        for metric in metrics {
            let name = metric["Name"].as_str().ok_or("a metric without a name")?;
            if !document[name].is_number() {
                return Err(format!("metric {name} is not a top-level number"));
            }
        }
    }
    Ok(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_for_our_code_never_opens_the_runtime_event_logs() {
        for requested in [
            "trace",
            "TRACE",
            "debug",
            "",
            "lambda_runtime=trace,lambda_http=trace",
        ] {
            let subscriber = tracing_subscriber::registry().with(filter(requested));
            tracing::subscriber::with_default(subscriber, || {
                use tracing::Level;
                assert!(
                    !tracing::enabled!(target: "lambda_runtime::layers::api_response", Level::TRACE),
                    "{requested}"
                );
                assert!(
                    !tracing::enabled!(target: "lambda_runtime", Level::DEBUG),
                    "{requested}"
                );
                assert!(
                    !tracing::enabled!(target: "lambda_http::request", Level::DEBUG),
                    "{requested}"
                );
                // Targets must be constants for `enabled!`.
                assert!(
                    !tracing::enabled!(target: "aws_smithy_runtime::client::orchestrator", Level::DEBUG),
                    "{requested}"
                );
                assert!(
                    !tracing::enabled!(target: "aws_smithy_runtime_api::client", Level::TRACE),
                    "{requested}"
                );
                assert!(
                    !tracing::enabled!(target: "aws_sdk_sesv2::operation", Level::DEBUG),
                    "{requested}"
                );
                assert!(
                    !tracing::enabled!(target: "aws_sdk_dynamodb::operation", Level::DEBUG),
                    "{requested}"
                );
                assert!(
                    !tracing::enabled!(target: "hyper_util::client", Level::TRACE),
                    "{requested}"
                );
                assert!(
                    tracing::enabled!(target: "lambda_runtime", Level::INFO),
                    "{requested}"
                );
                if requested.eq_ignore_ascii_case("trace") {
                    assert!(tracing::enabled!(target: "lambda::ops", Level::TRACE));
                }
            });
        }
    }

    #[test]
    fn a_quieter_level_quiets_the_capped_crates_too() {
        for (requested, info_shown, error_shown) in [
            ("WARN", false, true),
            ("error", false, true),
            ("FATAL", false, true),
            ("off", false, false),
            ("info", true, true),
        ] {
            let subscriber = tracing_subscriber::registry().with(filter(requested));
            tracing::subscriber::with_default(subscriber, || {
                use tracing::Level;
                assert_eq!(
                    tracing::enabled!(target: "lambda_runtime", Level::INFO),
                    info_shown,
                    "{requested}"
                );
                assert_eq!(
                    tracing::enabled!(target: "aws_sdk_secretsmanager::operation", Level::INFO),
                    info_shown,
                    "{requested}"
                );
                assert_eq!(
                    tracing::enabled!(target: "lambda::ops", Level::INFO),
                    info_shown,
                    "{requested}"
                );
                assert_eq!(
                    tracing::enabled!(target: "lambda_runtime", Level::ERROR),
                    error_shown,
                    "{requested}"
                );
            });
        }
    }
}
