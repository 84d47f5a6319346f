use lambda::provisioning::UserResourceRequest;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use user_resource::Resources;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda::telemetry::init();
    let app: &'static lambda::App = Box::leak(Box::new(lambda::app::from_env().await?));
    let sdk = lambda::app::sdk_config(None).await;
    let endpoint = std::env::var("SECRETS_MANAGER_ENDPOINT").ok();
    let resources: &'static Resources = Box::leak(Box::new(Resources {
        secrets: lambda::secrets::SecretStore::new(&sdk, endpoint.as_deref()),
        http: lambda::https::client()?,
        app,
    }));
    let function: &'static str =
        Box::leak(lambda::telemetry::function_name("user_resource").into_boxed_str());
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<UserResourceRequest>| async move {
            let invocation = Some(event.context.request_id.clone());
            user_resource::observed(resources, function, event.payload, invocation).await
        },
    ))
    .await
}
