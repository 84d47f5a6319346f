//! Creates a tenant's first administrator. No HTTP route: pipelines call it with
//! `aws lambda invoke` / `sam remote invoke` and a JSON event (events/bootstrap.json).

use lambda::ops::{self, BootstrapRequest};
use lambda::{ApiError, App, Dialect, password};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapEvent {
    pub tenant_id: String,
    #[serde(default = "default_admin")]
    pub user_id: String,
    /// When absent, a random password is generated and returned once in the answer.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

fn default_admin() -> String {
    "admin".into()
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct BootstrapAnswer {
    pub tenant_id: String,
    pub user_id: String,
    /// `false` when the tenant existed already; nothing was changed then.
    pub created: bool,
    pub message: String,
    /// Only a password this call generated, so that the caller can hand it over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_password: Option<String>,
}

/// The error shape of the HTTP functions, for an invocation that fails.
#[derive(Debug, Serialize)]
pub struct BootstrapError {
    pub error_code: String,
    pub error_msg: String,
    /// The HTTP status the error would have, for the access line.
    #[serde(skip)]
    pub status: u16,
}

impl From<ApiError> for BootstrapError {
    fn from(error: ApiError) -> Self {
        BootstrapError {
            error_code: error.own_code().into(),
            error_msg: error.describe(),
            status: error.status(),
        }
    }
}

impl std::fmt::Display for BootstrapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error_code, self.error_msg)
    }
}

impl std::error::Error for BootstrapError {}

pub async fn handle(app: &App, event: BootstrapEvent) -> Result<BootstrapAnswer, BootstrapError> {
    let generated = event
        .password
        .is_none()
        .then(|| password::random_password(20));
    let request = BootstrapRequest {
        tenant_id: event.tenant_id.clone(),
        user_id: event.user_id.clone(),
        password: event
            .password
            .or_else(|| generated.clone())
            .unwrap_or_default(),
        email: event.email,
        display_name: event.name,
    };
    let created = ops::bootstrap(app, request).await.inspect_err(|error| {
        lambda::http::record_error(error, Dialect::Own);
    })?;
    let message = if created {
        format!(
            "tenant {} created with administrator {}",
            event.tenant_id, event.user_id
        )
    } else {
        format!(
            "tenant {} already exists; nothing was changed",
            event.tenant_id
        )
    };
    Ok(BootstrapAnswer {
        tenant_id: event.tenant_id,
        user_id: event.user_id,
        created,
        message,
        generated_password: if created { generated } else { None },
    })
}

/// How a failed invocation reports itself to the Lambda runtime (`errorType`, `errorMessage`).
impl From<BootstrapError> for lambda_runtime::Diagnostic {
    fn from(error: BootstrapError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.error_code,
            error_message: error.error_msg,
        }
    }
}

/// `handle` with its access line and metrics (the invocation id as both request ids).
pub async fn observed(
    app: &App,
    function: &str,
    event: BootstrapEvent,
    invocation: &str,
) -> Result<BootstrapAnswer, BootstrapError> {
    let info = lambda::telemetry::RequestInfo {
        function: function.to_owned(),
        route: "invoke bootstrap".into(),
        request_id: Some(invocation.to_owned()),
        lambda_request_id: Some(invocation.to_owned()),
    };
    lambda::telemetry::observe(&info, handle(app, event), |result| {
        result.as_ref().map_or_else(|error| error.status, |_| 200)
    })
    .await
}
