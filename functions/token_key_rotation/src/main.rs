use lambda_runtime::{Error, LambdaEvent, service_fn};
use token_key_rotation::RotationEvent;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let sdk = shared::app::sdk_config(None).await;
    let endpoint = std::env::var("SECRETS_MANAGER_ENDPOINT").ok();
    let store: &'static shared::secrets::SecretStore = Box::leak(Box::new(
        shared::secrets::SecretStore::new(&sdk, endpoint.as_deref()),
    ));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<RotationEvent>| async move {
            token_key_rotation::handle(store, event.payload).await
        },
    ))
    .await
}
