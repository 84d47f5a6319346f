//! `POST /v3/auth/tokens` (Huawei IAM, password method): 201 with the token in `X-Subject-Token`.

use lambda::http::{self, json_response};
use lambda::{ApiError, App, Dialect, iam, ops};
use lambda_http::http::HeaderValue;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::Iam,
        async {
            let request = iam::parse_token_request(http::body_bytes(&req))?;
            let (user, issued) = ops::login(app, request.login).await?;
            let catalog = (!http::query_flag(&req, "nocatalog"))
                .then(|| iam::identity_endpoint(&http::base_url(&app.config, &req)));
            let mut response = json_response(
                201,
                &iam::token_body(&user, &issued, &request.scope, catalog.as_deref()),
            );
            let header = HeaderValue::from_str(&issued.token)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            response.headers_mut().insert("x-subject-token", header);
            Ok(response)
        }
        .await,
    )
}
