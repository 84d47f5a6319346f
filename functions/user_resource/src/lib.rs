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

/// Answers the request at its response URL. An answer that cannot be delivered is an error, so
/// that Lambda retries the (idempotent) request.
pub async fn handle(resources: &Resources, request: UserResourceRequest) -> Result<(), String> {
    let response = provisioning::answer(resources.app, &resources.secrets, &request).await;
    let url = match &request {
        UserResourceRequest::Create(r) => &r.response_url,
        UserResourceRequest::Update(r) => &r.response_url,
        UserResourceRequest::Delete(r) => &r.response_url,
        _ => return Err("unknown request type".into()),
    };
    provisioning::respond(&resources.http, url, &response).await
}
