//! `POST /identity/v1/user/confirm-email` (seed 004): the code sent by verify-email marks the address verified; answers `UserInfo`.

use lambda::http::{self, json_response};
use lambda::{App, Dialect, account, spaceone};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::SpaceOne,
        async {
            let caller = http::authenticate(app, &req)?;
            let request =
                spaceone::parse_confirm_email(http::body_bytes(&req), &caller.claims.ten)?;
            let target = &request.target;
            let user = account::confirm_email(
                app,
                &caller,
                &target.domain_id,
                &target.user_id,
                &request.verify_code,
            )
            .await?;
            Ok(json_response(200, &spaceone::user_info(&user, None)))
        }
        .await,
    )
}
