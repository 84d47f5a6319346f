//! `POST /identity/v1/user/delete` (seed 004): the user goes to pending deletion (gone for this dialect, purged by housekeeping); answers the empty message.

use lambda::account::{self, Lifecycle};
use lambda::http::{self, json_response};
use lambda::{App, Dialect, spaceone};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::SpaceOne,
        async {
            let caller = http::authenticate(app, &req)?;
            let request = spaceone::parse_user_request(http::body_bytes(&req), &caller.claims.ten)?;
            account::change_lifecycle(
                app,
                &caller,
                &request.domain_id,
                &request.user_id,
                Lifecycle::Delete,
            )
            .await?;
            Ok(json_response(200, &spaceone::empty_message()))
        }
        .await,
    )
}
