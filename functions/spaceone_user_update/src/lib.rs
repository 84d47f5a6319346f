//! `POST /identity/v1/user/update` (seed 004): profile, a new password or a temporary one by email; answers `UserInfo`. With a forgotten-password link's token instead of a token of the API, the new password alone.

use lambda::http::{self, json_response};
use lambda::{App, Dialect, account, spaceone};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::SpaceOne,
        async {
            if let Some(link_token) = http::token(&req)
                .filter(|token| token.starts_with(account::PASSWORD_LINK_TOKEN_PREFIX))
            {
                let request = spaceone::parse_update(http::body_bytes(&req), "")?;
                let target = &request.target;
                let password = request.change.password_only()?;
                let user = account::set_password_by_link(
                    app,
                    &target.domain_id,
                    &target.user_id,
                    link_token,
                    &password,
                )
                .await?;
                return Ok(json_response(200, &spaceone::user_info(&user, None)));
            }
            let caller = http::authenticate(app, &req)?;
            let request = spaceone::parse_update(http::body_bytes(&req), &caller.claims.ten)?;
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
