//! `POST /identity/v1/user/enable` (seed 004): enables a disabled user (not one a directory sync disabled); answers `UserInfo`.

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
            let user = account::change_lifecycle(
                app,
                &caller,
                &request.domain_id,
                &request.user_id,
                Lifecycle::Enable,
            )
            .await?;
            Ok(json_response(200, &spaceone::user_info(&user, None)))
        }
        .await,
    )
}
