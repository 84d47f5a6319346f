use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::provisioning::UserResourceRequest;
use user_resource::Resources;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app: &'static shared::App = Box::leak(Box::new(shared::App::from_env().await?));
    let sdk = shared::app::sdk_config(None).await;
    let endpoint = std::env::var("SECRETS_MANAGER_ENDPOINT").ok();
    let resources: &'static Resources = Box::leak(Box::new(Resources {
        secrets: shared::secrets::SecretStore::new(&sdk, endpoint.as_deref()),
        http: shared::https::client()?,
        app,
    }));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<UserResourceRequest>| async move {
            user_resource::handle(resources, event.payload).await
        },
    ))
    .await
}
