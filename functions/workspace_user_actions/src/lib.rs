//! `POST /v2/{project_id}/users/{user_id}/actions` (seed 000): LOCK, UNLOCK or RESET_PWD; 200 with an
//! empty body.

use lambda::http::{self, empty_response};
use lambda::{App, Dialect, ops, workspace};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::Workspace,
        async {
            let caller = http::authenticate(app, &req)?;
            let (project_id, user_id) = http::workspace_target(&req)?;
            let action = workspace::parse_action(http::body_bytes(&req))?;
            ops::user_action(app, &caller, &project_id, &user_id, action).await?;
            Ok(empty_response(200))
        }
        .await,
    )
}
