//! `PUT /v2/{project_id}/users/{user_id}` (seed 002): modify a desktop user; 200 `{"id": ...}`.

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
            let request = workspace::parse_modify(http::body_bytes(&req))?;
            let user = ops::manage_user(app, &caller, &project_id, &user_id, |user, now| {
                request.apply(user, now).map(|()| Vec::new())
            })
            .await?;
            Ok(json_response(200, &json!({ "id": user.user_id })))
        }
        .await,
    )
}
