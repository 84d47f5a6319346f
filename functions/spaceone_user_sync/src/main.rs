#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::http::run(spaceone_user_sync::handle).await
}
