//! Logging set-up shared by every binary: JSON lines when the Lambda runtime asks for them
//! (`AWS_LAMBDA_LOG_FORMAT=JSON`), the level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`.

use tracing_subscriber::EnvFilter;

/// The runtime crates log whole events (request bodies with passwords) at TRACE and DEBUG, and the
/// AWS SDK and its HTTP stack log whole requests and answers (items with password hashes, the SES
/// message with a temporary password): they stay at INFO whatever level is asked for.
const SECRET_SAFE_CAPS: &str = "lambda_runtime=info,lambda_http=info,aws_lambda_runtime_api_client=info,\
aws_smithy_runtime=info,aws_smithy_runtime_api=info,aws_smithy_http_client=info,aws_smithy_types=info,\
aws_sdk_dynamodb=info,aws_sdk_sesv2=info,aws_sdk_dynamodbstreams=info,aws_config=info,\
hyper=info,hyper_util=info,rustls=info,h2=info";

/// The filter directives for a requested level: the request, then the caps that keep secrets out.
pub fn directives(requested: &str) -> String {
    let requested = requested.trim().to_lowercase();
    let requested = if requested.is_empty() {
        "info".to_owned()
    } else {
        requested
    };
    format!("{requested},{SECRET_SAFE_CAPS}")
}

pub fn init() {
    let requested = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_default();
    let filter = EnvFilter::try_new(directives(&requested))
        .unwrap_or_else(|_| EnvFilter::new(directives("info")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .without_time();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    // A second initialisation (tests, the local server) keeps the first subscriber.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
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
            let filter = EnvFilter::try_new(directives(requested)).unwrap();
            let subscriber = tracing_subscriber::fmt().with_env_filter(filter).finish();
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
                    assert!(tracing::enabled!(target: "shared::ops", Level::TRACE));
                }
            });
        }
    }
}
