#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::http::run(rsa_audit_trail::handle).await
}
