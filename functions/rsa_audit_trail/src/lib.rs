//! `GET /AdminInterface/restapi/v1/users/{userId}/auditTrail` (the project's own: a user's status changes (who, when, from which endpoint), oldest first.

use lambda::http::{self, json_response};
use lambda::{App, Dialect, account, rsa};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::Rsa,
        async {
            let caller = http::authenticate(app, &req)?;
            let user_id = rsa::path_user_id(&http::path_param(&req, "userId")?)?;
            let trail = account::status_history(app, &caller, &user_id).await?;
            Ok(json_response(200, &rsa::audit_trail(&user_id, &trail)))
        }
        .await,
    )
}
