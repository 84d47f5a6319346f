use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda::telemetry::init();
    let app: &'static lambda::App = Box::leak(Box::new(lambda::app::from_env().await?));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            housekeeping::handle(app, event.payload).await
        },
    ))
    .await
}
