//! `POST /identity/v1/user/stat` (seed 004): a `StatisticsQuery` (aggregate stages or distinct) over the users, as a `Struct`.

use lambda::http::{self, json_response};
use lambda::{App, Dialect, listing, spaceone};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::SpaceOne,
        async {
            let caller = http::authenticate(app, &req)?;
            let request = spaceone::parse_stat(http::body_bytes(&req), &caller.claims.ten)?;
            let answer = listing::stat(
                app,
                &caller,
                &request.domain_id,
                &request.query,
                spaceone::document,
            )
            .await?;
            Ok(json_response(200, &answer))
        }
        .await,
    )
}
