//! `POST /v3/users/{user_id}/password` (Huawei IAM): a user changes their own password; 204.

use lambda::http::{self, empty_response};
use lambda::{App, Dialect, iam, ops};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::Iam,
        async {
            let caller = http::authenticate(app, &req)?;
            let user_id = http::path_param(&req, "user_id")?;
            let (original, password) = iam::parse_password_change(http::body_bytes(&req))?;
            ops::change_own_password(app, &caller, &user_id, &original, &password).await?;
            Ok(empty_response(204))
        }
        .await,
    )
}
