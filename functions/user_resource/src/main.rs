use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::provisioning::UserResourceRequest;
use user_resource::Resources;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app: &'static shared::App = Box::leak(Box::new(shared::app::from_env().await?));
    let sdk = shared::app::sdk_config(None).await;
    let endpoint = std::env::var("SECRETS_MANAGER_ENDPOINT").ok();
    let resources: &'static Resources = Box::leak(Box::new(Resources {
        secrets: shared::secrets::SecretStore::new(&sdk, endpoint.as_deref()),
        http: shared::https::client()?,
        app,
    }));
    let function: &'static str =
        Box::leak(shared::telemetry::function_name("user_resource").into_boxed_str());
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<UserResourceRequest>| async move {
            let invocation = Some(event.context.request_id.clone());
            user_resource::observed(resources, function, event.payload, invocation).await
        },
    ))
    .await
}
