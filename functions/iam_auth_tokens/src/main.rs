#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::http::run(iam_auth_tokens::handle).await
}
