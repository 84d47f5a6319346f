//! `POST /identity/v1/user/verify-email` (seed 004): sends a fresh verification code to the user's email address (or, with `force`, marks it verified); answers the empty message.

use lambda::http::{self, json_response};
use lambda::{App, Dialect, account, spaceone};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::SpaceOne,
        async {
            let caller = http::authenticate(app, &req)?;
            let request = spaceone::parse_verify_email(http::body_bytes(&req), &caller.claims.ten)?;
            let target = &request.target;
            account::verify_email(
                app,
                &caller,
                &target.domain_id,
                &target.user_id,
                request.email,
                request.force,
            )
            .await?;
            Ok(json_response(200, &spaceone::empty_message()))
        }
        .await,
    )
}
