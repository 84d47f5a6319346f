//! `Custom::User`: users declared in a pipeline's CloudFormation template (lambda::provisioning).

use lambda::App;
use lambda::https::HttpsClient;
use lambda::provisioning::{self, UserResourceRequest};
use lambda::secrets::SecretStore;

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
    let url = provisioning::head(&request)
        .ok_or("unknown request type")?
        .response_url;
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
    let info = lambda::telemetry::RequestInfo {
        function: function.to_owned(),
        route: format!(
            "Custom::User {}",
            provisioning::head(&request).map_or("Unknown", |head| head.kind)
        ),
        request_id: provisioning::head(&request).map(|head| head.request_id.to_owned()),
        lambda_request_id,
    };
    lambda::telemetry::observe(&info, handle(resources, request), |outcome| {
        // An answer that never reached CloudFormation is the function's failure.
        *outcome.as_ref().unwrap_or(&502)
    })
    .await
    .map(drop)
}
