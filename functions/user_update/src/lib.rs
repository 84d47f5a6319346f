//! `POST /identity/v1/user/update` (seed 004): profile, a new password or a temporary one by email; answers `UserInfo`.

use lambda_http::{Body, Request, Response};
use shared::http::{self, json_response};
use shared::{App, Dialect, account, spaceone};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::SpaceOne,
        async {
            let caller = http::authenticate(app, &req)?;
            let request = spaceone::parse_update(http::body_bytes(&req))?;
            let target = &request.target;
            let user = account::update_profile(
                app,
                &caller,
                &target.domain_id,
                &target.user_id,
                request.change,
            )
            .await?;
            Ok(json_response(200, &spaceone::user_info(&user, None)))
        }
        .await,
    )
}
