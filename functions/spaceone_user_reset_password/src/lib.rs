//! `POST /identity/v1/user/reset-password` (seed 004). Anonymous (SpaceONE's forgotten password): a
//! one-time link to the user's verified address that sets a new password, and the same `{}`
//! whoever is named. With an administrator's token: a temporary password to that address.

use lambda::http::{self, json_response};
use lambda::{App, Dialect, account, spaceone};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::SpaceOne,
        async {
            if http::token(&req).is_none() {
                let request = spaceone::parse_user_request(http::body_bytes(&req), "")?;
                account::mail_password_link(app, &request.domain_id, &request.user_id).await?;
                return Ok(json_response(200, &spaceone::empty_message()));
            }
            let caller = http::authenticate(app, &req)?;
            let request = spaceone::parse_user_request(http::body_bytes(&req), &caller.claims.ten)?;
            account::reset_password_by_email(app, &caller, &request.domain_id, &request.user_id)
                .await?;
            Ok(json_response(200, &spaceone::empty_message()))
        }
        .await,
    )
}
