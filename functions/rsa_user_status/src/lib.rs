//! `PUT /AdminInterface/restapi/v1/users/{userId}/userStatus` (seed 003: enables or disables a user; answers `{id, userStatus}`.

use lambda::account::{self, Lifecycle};
use lambda::http::{self, json_response};
use lambda::{App, Dialect, rsa};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::RsaUserStatus,
        async {
            let caller = http::authenticate(app, &req)?;
            let user_id = rsa::path_user_id(&http::path_param(&req, "userId")?)?;
            let change = match rsa::parse_user_status(http::body_bytes(&req))? {
                rsa::Status::Enabled => Lifecycle::Enable,
                rsa::Status::Disabled => Lifecycle::Disable,
            };
            let user = account::set_status(app, &caller, &user_id, change).await?;
            Ok(json_response(200, &rsa::user_status(&user)))
        }
        .await,
    )
}
