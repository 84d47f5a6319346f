//! `scripts/local.sh` starts DynamoDB Local and then this: it creates the table from
//! `template.yaml`, bootstraps tenant `local` with administrator `admin`, and serves the template's
//! routes on http://127.0.0.1:$PORT (3000) until Ctrl-C.

use std::path::PathBuf;

use lambda::App;
use local_stack::local::{self, StackSettings, setting};
use local_stack::{Router, bind_loopback, template};

/// Serves `scripts/sample-directory.json` (read on every request) as the external directory on
/// 127.0.0.1:$DIRECTORY_PORT (3001), so that find, sync and EXTERNAL users work out of the box.
async fn start_sample_directory() -> Result<String, String> {
    let port: u16 = setting("DIRECTORY_PORT", "3001")
        .parse()
        .map_err(|_| "DIRECTORY_PORT must be a number")?;
    let file = PathBuf::from(setting("SAMPLE_DIRECTORY", "scripts/sample-directory.json"));
    let (listener, address) = bind_loopback(port)
        .await
        .map_err(|e| format!("binding port {port}: {e}"))?;
    eprintln!(
        "external directory: {} on http://{address}/find",
        file.display()
    );
    tokio::spawn(local_stack::directory::serve(
        listener,
        local_stack::directory::Source::File(file),
    ));
    Ok(format!("http://{address}/find"))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let signing_key = local::signing_key()?;
    // SAFETY: set before any other thread reads the environment.
    unsafe {
        // The same JSON lines as the deployed functions write (the template sets JSON).
        if std::env::var_os("AWS_LAMBDA_LOG_FORMAT").is_none() {
            std::env::set_var("AWS_LAMBDA_LOG_FORMAT", "JSON");
        }
        std::env::set_var("TABLE_NAME", setting("TABLE_NAME", "useradmin-local"));
        std::env::set_var(
            "DYNAMODB_ENDPOINT",
            setting("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
        );
        std::env::set_var("TOKEN_SIGNING_KEY", &signing_key);
    }
    lambda::telemetry::init();
    let directory = start_sample_directory().await?;
    // SAFETY: as above; the directory task does not read the environment.
    unsafe {
        if std::env::var("EXTERNAL_DIRECTORY_URL").is_err() {
            std::env::set_var("EXTERNAL_DIRECTORY_URL", &directory);
        }
    }
    let app: &'static App = Box::leak(Box::new(lambda::app::from_env().await?));
    let table = app.config.table_name.clone();
    if template::create_table(app.store.client(), &table).await? {
        eprintln!("created table {table} from template.yaml");
    }

    let password = std::env::var("ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let chose_password = password.is_some();
    let event = bootstrap::BootstrapEvent {
        tenant_id: local::TENANT.into(),
        user_id: local::ADMINISTRATOR.into(),
        password,
        email: None,
        name: Some("Local administrator".into()),
    };
    let answer = bootstrap::handle(app, event)
        .await
        .map_err(|e| e.to_string())?;
    eprintln!("{}", answer.message);
    if !answer.created && chose_password {
        eprintln!("ADMIN_PASSWORD applies only to a new tenant: start with --fresh to use it");
    }
    if let Some(generated) = answer.generated_password {
        // The one time a password is shown: the operator asked for a generated one.
        eprintln!("generated password for admin (set ADMIN_PASSWORD to choose one): {generated}");
    }

    // The notifier: new outbox messages land as JSON files in the mail folder.
    let mail = PathBuf::from(setting("MAIL_FOLDER", ".local/mail"));
    eprintln!("mail folder: {}", mail.display());
    let endpoint = setting("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000");
    tokio::spawn(local_stack::streams::run_notifier(
        app,
        local_stack::streams::client(&endpoint).await,
        lambda::mailer::FolderMailer {
            folder: mail.clone(),
        },
        None,
        local_stack::streams::OnFailure::from_template(PathBuf::from(setting(
            "DEAD_LETTER_FOLDER",
            ".local/dead-letters",
        )))?,
    ));

    let (rate, burst) = local_stack::template_throttling()?;
    eprintln!(
        "throttling: {rate} requests/s per route, bursts of {burst} (the template's defaults)"
    );
    let per_address = local_stack::template_address_limits(|name| std::env::var(name).ok())?;
    let show = |limit: Option<u64>| {
        limit.map_or("off".to_owned(), |n| {
            format!("{n} per {} s", per_address.window_secs)
        })
    };
    eprintln!(
        "per client address: login {} (LOGIN_RATE_LIMIT_PER_IP), any route {} (API_RATE_LIMIT_PER_IP); 0 or off turns one off",
        show(per_address.login),
        show(per_address.any_route)
    );
    let router: &'static Router = Box::leak(Box::new(
        Router::from_template(app)?
            .with_rate_limit(rate, burst)
            .with_address_limits(per_address),
    ));
    let port: u16 = setting("PORT", "3000")
        .parse()
        .map_err(|_| "PORT must be a number")?;
    let (listener, address) = bind_loopback(port)
        .await
        .map_err(|e| format!("binding port {port}: {e}"))?;
    for route in router.routes() {
        eprintln!(
            "  {:6} http://{address}{}  -> functions/{}",
            route.method, route.path, route.function
        );
    }
    // What scripts/invoke.sh runs its functions against.
    let state = local::state_dir();
    let settings = StackSettings {
        table_name: table,
        dynamodb_endpoint: endpoint,
        external_directory_url: std::env::var("EXTERNAL_DIRECTORY_URL").ok(),
        mail_folder: std::path::absolute(&mail).map_err(|e| e.to_string())?,
        api: format!("http://{address}"),
        pid: std::process::id(),
        signing_key_fingerprint: local::key_fingerprint(&signing_key),
    };
    settings.write(&state)?;
    eprintln!("serving on http://{address} (Ctrl-C stops)");
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    tokio::select! {
        _ = local_stack::serve(router, listener) => {}
        _ = tokio::signal::ctrl_c() => eprintln!("stopping"),
        _ = terminate.recv() => eprintln!("stopping"),
    }
    StackSettings::remove(&state);
    Ok(())
}
