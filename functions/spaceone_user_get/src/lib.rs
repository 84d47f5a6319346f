//! `POST /identity/v1/user/get` (seed 004): one user as `UserInfo`, optionally cut to `only`.

use lambda::http::{self, json_response};
use lambda::{App, Dialect, ops, spaceone};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::SpaceOne,
        async {
            let caller = http::authenticate(app, &req)?;
            let request = spaceone::parse_get(http::body_bytes(&req), &caller.claims.ten)?;
            let user = ops::get_user(app, &caller, &request.domain_id, &request.user_id).await?;
            let user = spaceone::visible(user)?;
            Ok(json_response(
                200,
                &spaceone::user_info(&user, request.only.as_deref()),
            ))
        }
        .await,
    )
}
