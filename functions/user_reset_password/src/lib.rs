//! `POST /identity/v1/user/reset-password` (seed 004): a temporary password to the user's verified email address; answers the empty message.

use lambda_http::{Body, Request, Response};
use shared::http::{self, json_response};
use shared::{App, Dialect, account, spaceone};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::SpaceOne,
        async {
            let caller = http::authenticate(app, &req)?;
            let request = spaceone::parse_user_request(http::body_bytes(&req))?;
            account::reset_password_by_email(app, &caller, &request.domain_id, &request.user_id)
                .await?;
            Ok(json_response(200, &spaceone::empty_message()))
        }
        .await,
    )
}
