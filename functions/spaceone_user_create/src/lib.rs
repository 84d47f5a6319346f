//! `POST /identity/v1/user/create` (seed 004): a new user, answered as `UserInfo`.

use lambda::http::{self, json_response};
use lambda::{App, Dialect, ops, spaceone};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::SpaceOne,
        async {
            let caller = http::authenticate(app, &req)?;
            let request = spaceone::parse_create(http::body_bytes(&req), &caller.claims.ten)?;
            let user = ops::create_user(app, &caller, request.user).await?;
            Ok(json_response(200, &spaceone::user_info(&user, None)))
        }
        .await,
    )
}
