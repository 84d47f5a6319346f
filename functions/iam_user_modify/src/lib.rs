//! `PUT /v3.0/OS-USER/users/{user_id}` (seed 001): an administrator modifies a user; body and
//! answer wrapped in `"user"`, failures with the seed's numbered codes.

use lambda::http::{self, json_response};
use lambda::{App, Dialect, iam_users, validate};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::respond(
        Dialect::IamUserAdmin,
        async {
            let caller = http::authenticate(app, &req)?;
            let user_id = http::path_param(&req, "user_id")?;
            validate::user_id(&user_id).map_err(|_| lambda::ApiError::user_not_found(&user_id))?;
            let request = iam_users::parse_modify(http::body_bytes(&req))?;
            let user = iam_users::modify_iam_user(app, &caller, &user_id, &request).await?;
            Ok(json_response(
                200,
                &iam_users::user_body(&user, &http::base_url(&app.config, &req)),
            ))
        }
        .await,
    )
}
