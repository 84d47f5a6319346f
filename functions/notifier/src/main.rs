use aws_lambda_events::dynamodb::Event;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use notifier::SesMailer;
use shared::notify::FolderMailer;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app: &'static shared::App = Box::leak(Box::new(shared::App::from_env().await?));
    // MAIL_FOLDER writes messages to files instead (a deployment without SES, or a local run).
    if let Ok(folder) = std::env::var("MAIL_FOLDER") {
        let mailer: &'static FolderMailer = Box::leak(Box::new(FolderMailer {
            folder: folder.into(),
        }));
        return lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
            Ok::<_, Error>(notifier::handle(app, mailer, event.payload).await)
        }))
        .await;
    }
    let from = std::env::var("MAIL_FROM").map_err(|_| "MAIL_FROM is not set")?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mailer: &'static SesMailer = Box::leak(Box::new(SesMailer {
        client: aws_sdk_sesv2::Client::new(&config),
        from,
    }));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        Ok::<_, Error>(notifier::handle(app, mailer, event.payload).await)
    }))
    .await
}
