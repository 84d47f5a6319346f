//! `Custom::User`: users declared in a pipeline's CloudFormation template (shared::provisioning).

use shared::App;
use shared::https::HttpsClient;
use shared::provisioning::{self, UserResourceRequest};
use shared::secrets::SecretStore;

/// Everything the handler needs, built once in `main`.
pub struct Resources {
    pub app: &'static App,
    pub secrets: SecretStore,
    pub http: HttpsClient,
}

/// Answers the request at its response URL, returning the outcome's HTTP status (for the access
/// line). An answer that cannot be delivered is an error, so that Lambda retries the (idempotent)
/// request.
pub async fn handle(resources: &Resources, request: UserResourceRequest) -> Result<u16, String> {
    let (response, status) =
        provisioning::answer(resources.app, &resources.secrets, &request).await;
    let url = match &request {
        UserResourceRequest::Create(r) => &r.response_url,
        UserResourceRequest::Update(r) => &r.response_url,
        UserResourceRequest::Delete(r) => &r.response_url,
        _ => return Err("unknown request type".into()),
    };
    provisioning::respond(&resources.http, url, &response).await?;
    Ok(status)
}

/// `handle` with its access line and metrics.
pub async fn observed(
    resources: &Resources,
    function: &str,
    request: UserResourceRequest,
    lambda_request_id: Option<String>,
) -> Result<(), String> {
    let info = shared::telemetry::RequestInfo {
        function: function.to_owned(),
        route: route(&request),
        request_id: request_id(&request),
        lambda_request_id,
    };
    shared::telemetry::observe(&info, handle(resources, request), |outcome| {
        // An answer that never reached CloudFormation is the function's failure.
        *outcome.as_ref().unwrap_or(&502)
    })
    .await
    .map(drop)
}

/// `Custom::User <RequestType>`, as the access line's route.
fn route(request: &UserResourceRequest) -> String {
    let kind = match request {
        UserResourceRequest::Create(_) => "Create",
        UserResourceRequest::Update(_) => "Update",
        UserResourceRequest::Delete(_) => "Delete",
        _ => "Unknown",
    };
    format!("Custom::User {kind}")
}

/// CloudFormation's id of the request.
fn request_id(request: &UserResourceRequest) -> Option<String> {
    match request {
        UserResourceRequest::Create(r) => Some(r.request_id.clone()),
        UserResourceRequest::Update(r) => Some(r.request_id.clone()),
        UserResourceRequest::Delete(r) => Some(r.request_id.clone()),
        _ => None,
    }
}
