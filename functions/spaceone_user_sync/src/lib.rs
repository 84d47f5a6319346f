//! `POST /identity/v1/user/sync` (seed 004): refreshes an EXTERNAL user from the external directory; answers `UserInfo`.

use lambda::http::{self, json_response};
use lambda::{App, Dialect, account, spaceone};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::SpaceOne,
        async {
            let caller = http::authenticate(app, &req)?;
            let request = spaceone::parse_user_request(http::body_bytes(&req), &caller.claims.ten)?;
            let user =
                account::sync_user(app, &caller, &request.domain_id, &request.user_id).await?;
            Ok(json_response(200, &spaceone::user_info(&user, None)))
        }
        .await,
    )
}
