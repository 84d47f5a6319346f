use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda::telemetry::init();
    let app: &'static lambda::App = Box::leak(Box::new(lambda::app::from_env().await?));
    let function: &'static str =
        Box::leak(lambda::telemetry::function_name("bootstrap").into_boxed_str());
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<bootstrap::BootstrapEvent>| async move {
            let invocation = event.context.request_id.clone();
            bootstrap::observed(app, function, event.payload, &invocation).await
        },
    ))
    .await
}
