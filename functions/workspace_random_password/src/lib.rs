//! `GET /v2/{project_id}/users/{user_id}/random-password` (the API seed 000 sends clients to): a
//! fresh password the user must change at the next login, answered once as `{"password": ...}`.

use lambda::http::{self, json_response};
use lambda::{App, Dialect, ops, workspace};
use lambda_http::{Body, Request, Response};
use serde_json::json;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::Workspace,
        async {
            let caller = http::authenticate(app, &req)?;
            let (project_id, user_id) = http::workspace_target(&req)?;
            let channels =
                workspace::parse_notification_types(http::query_param(&req, "notification_type"))?;
            let password =
                ops::random_password(app, &caller, &project_id, &user_id, &channels).await?;
            let mut response = json_response(200, &json!({ "password": password }));
            // The one response that carries a password must never be cached on the way.
            response.headers_mut().insert(
                "cache-control",
                lambda_http::http::HeaderValue::from_static("no-store"),
            );
            Ok(response)
        }
        .await,
    )
}
