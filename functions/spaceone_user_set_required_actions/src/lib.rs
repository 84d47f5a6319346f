//! `POST /identity/v1/user/set-required-actions` (seed 004): adds required actions; answers `UserInfo`.

use lambda::http::{self, json_response};
use lambda::{App, Dialect, account, spaceone};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::SpaceOne,
        async {
            let caller = http::authenticate(app, &req)?;
            let request =
                spaceone::parse_set_required_actions(http::body_bytes(&req), &caller.claims.ten)?;
            let target = &request.target;
            let user = account::add_required_actions(
                app,
                &caller,
                &target.domain_id,
                &target.user_id,
                &request.actions,
            )
            .await?;
            Ok(json_response(200, &spaceone::user_info(&user, None)))
        }
        .await,
    )
}
