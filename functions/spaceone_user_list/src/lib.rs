//! `POST /identity/v1/user/list` (seed 004): users matching a `UserQuery`, as `UsersInfo`.

use lambda::http::{self, json_response};
use lambda::{App, Dialect, listing, spaceone};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::SpaceOne,
        async {
            let caller = http::authenticate(app, &req)?;
            let request = spaceone::parse_list(http::body_bytes(&req), &caller.claims.ten)?;
            let (results, total_count) = listing::list(
                app,
                &caller,
                &request.domain_id,
                &request.query,
                spaceone::document,
            )
            .await?;
            Ok(json_response(
                200,
                &spaceone::users_info(results, total_count),
            ))
        }
        .await,
    )
}
