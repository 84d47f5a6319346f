//! `POST /AdminInterface/restapi/v1/users/lookup` (seed 003's User Details API: a user by email or username, pending deletion included.

use lambda::http::{self, json_response};
use lambda::{App, Dialect, account, rsa};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::Rsa,
        async {
            let caller = http::authenticate(app, &req)?;
            let key = rsa::parse_lookup(http::body_bytes(&req))?;
            let user = account::lookup_user(app, &caller, key.field, &key.value).await?;
            Ok(json_response(200, &rsa::user_details(&user)))
        }
        .await,
    )
}
