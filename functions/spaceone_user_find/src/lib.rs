//! `POST /identity/v1/users/find` (seed 004): searches the external directory, as `FindUsersInfo`.

use lambda::http::{self, json_response};
use lambda::{App, Dialect, account, spaceone};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::SpaceOne,
        async {
            let caller = http::authenticate(app, &req)?;
            let request = spaceone::parse_find(http::body_bytes(&req), &caller.claims.ten)?;
            let (users, total_count) =
                account::find_external_users(app, &caller, &request.domain_id, &request.search)
                    .await?;
            Ok(json_response(
                200,
                &spaceone::find_users_info(&users, total_count),
            ))
        }
        .await,
    )
}
