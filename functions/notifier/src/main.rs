use aws_lambda_events::dynamodb::Event;
use lambda::App;
use lambda::mailer::FolderMailer;
use lambda::notify::Mailer;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use notifier::SesMailer;

async fn serve(app: &'static App, mailer: &'static impl Mailer) -> Result<(), Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        Ok::<_, Error>(notifier::handle(app, mailer, event.payload).await)
    }))
    .await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda::telemetry::init();
    let app: &'static App = Box::leak(Box::new(lambda::app::from_env().await?));
    // MAIL_FOLDER writes messages to files instead (a deployment without SES, or a local run).
    if let Ok(folder) = std::env::var("MAIL_FOLDER") {
        return serve(
            app,
            Box::leak(Box::new(FolderMailer {
                folder: folder.into(),
            })),
        )
        .await;
    }
    let from = std::env::var("MAIL_FROM").map_err(|_| "MAIL_FROM is not set")?;
    let config = lambda::app::sdk_config(None).await;
    let client = aws_sdk_sesv2::Client::new(&config);
    serve(app, Box::leak(Box::new(SesMailer { client, from }))).await
}
