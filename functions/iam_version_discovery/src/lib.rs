//! Keystone's version discovery (Huawei IAM serves it too): `GET /` answers the version list (300,
//! `Location` the v3 endpoint), `GET /v3` the v3 version document. No token: the Keystone clients
//! ask before they log in, and to find the identity endpoint in the token's catalog.

use lambda::http::{self, json_response};
use lambda::{ApiError, App, Dialect, iam};
use lambda_http::http::{HeaderValue, header};
use lambda_http::{Body, Request, RequestExt, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::Iam,
        async {
            let base = http::base_url(&app.config, &req);
            // API Gateway's resource path names the route; the request's own path stands in for
            // an event without one.
            let route = match req.request_context_ref() {
                Some(lambda_http::request::RequestContext::ApiGatewayV1(context)) => {
                    context.resource_path.clone()
                }
                _ => None,
            }
            .unwrap_or_else(|| req.uri().path().to_owned());
            if route.trim_end_matches('/') == "/v3" {
                return Ok(json_response(200, &iam::version_document(&base)));
            }
            let location = HeaderValue::from_str(&format!("{}/", iam::identity_endpoint(&base)))
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            let mut response = json_response(300, &iam::version_list(&base));
            response.headers_mut().insert(header::LOCATION, location);
            Ok(response)
        }
        .await,
    )
}
