use lambda_runtime::{Error, LambdaEvent, service_fn};
use token_key_rotation::RotationEvent;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda::telemetry::init();
    let sdk = lambda::app::sdk_config(None).await;
    let endpoint = std::env::var("SECRETS_MANAGER_ENDPOINT").ok();
    let store: &'static lambda::secrets::SecretStore = Box::leak(Box::new(
        lambda::secrets::SecretStore::new(&sdk, endpoint.as_deref()),
    ));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<RotationEvent>| async move {
            token_key_rotation::handle(store, event.payload).await
        },
    ))
    .await
}
