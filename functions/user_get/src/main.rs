use lambda_http::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    // Built once per execution environment, outside the handler.
    let app: &'static shared::App = Box::leak(Box::new(shared::App::from_env().await?));
    lambda_http::run(service_fn(move |req| async move {
        Ok::<_, Error>(user_get::handle(app, req).await)
    }))
    .await
}
