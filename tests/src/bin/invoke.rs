//! `scripts/invoke.sh FUNCTION [EVENT_FILE]` runs this: one function's handler, once, on one event,
//! against the running local stack (`scripts/local.sh`), the way `sam local invoke` runs it in
//! Docker. The event's placeholders are filled from the stack; the function's log lines go to stderr
//! and its answer to stdout; the exit status is 1 when the function fails or answers 5xx, 2 when the
//! event cannot be run at all.
//!
//!   invoke [--print-event] FUNCTION [EVENT_FILE]
//!
//! FUNCTION is a directory under `functions/`, the template's resource name
//! (`SpaceOneUserGetFunction`) or the end of one directory's name (`user_get`); EVENT_FILE defaults
//! to `events/<directory>.json`. `--print-event` prints the filled event instead of running it (for
//! `sam local invoke -e`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use lambda::App;
use lambda::notify::OutgoingMessage;
use lambda::outbox::{Notification, Template};
use lambda_http::aws_lambda_events::apigw::ApiGatewayProxyResponse;
use local_stack::cloudformation::{ResponseBin, SecretsManager};
use local_stack::local::{self, StackSettings};
use local_stack::{handler, template};
use serde_json::{Value, json};

/// The signing-key secret the rotation step works on: a stand-in's, never the stack's own key.
const ROTATED_SECRET: &str = "useradmin/token-signing-key";
/// The placeholders `invoke` fills.
const PLACEHOLDERS: [&str; 10] = [
    "DOMAIN_ID",
    "TOKEN",
    "PASSWORD",
    "VERIFY_CODE",
    "NOTIFICATION_ID",
    "SEALED_SECRET",
    "CREATED_AT",
    "RESPONSE_URL",
    "SECRET_NAME",
    "VERSION_ID",
];
/// The name of the response URL on the local listener.
const RESPONSE_NAME: &str = "invoke";
/// How long a verification code may take to reach the mail folder (the stack's notifier polls the
/// table's stream).
const MAIL_WAIT: Duration = Duration::from_secs(15);

/// Why an invocation did not give an answer: `Refused` never ran the function (exit 2).
enum Failure {
    Refused(String),
    Failed(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Refused(message)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let print_event = args.first().is_some_and(|a| a == "--print-event");
    if print_event {
        args.remove(0);
    }
    let (function, event_file) = match args.as_slice() {
        [function] => (function, None),
        [function, event_file] => (function, Some(PathBuf::from(event_file))),
        _ => {
            eprintln!("usage: invoke [--print-event] FUNCTION [EVENT_FILE]");
            return ExitCode::from(2);
        }
    };
    match run(function, event_file, print_event).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Refused(message)) => {
            eprintln!("invoke: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(message)) => {
            eprintln!("invoke: {message}");
            ExitCode::from(1)
        }
    }
}

/// The function's directory under `functions/`: given it, its template resource name, or the end
/// of one directory's name (`user_get`, the name before functions were named by vendor).
fn resolve(function: &str) -> Result<String, String> {
    let mut directories = Vec::new();
    for f in template::functions(&template::load()?) {
        if f.directory == function || f.resource == function {
            return Ok(f.directory);
        }
        directories.push(f.directory);
    }
    directories.sort();
    let suffix = format!("_{function}");
    let ends: Vec<&str> = directories
        .iter()
        .map(String::as_str)
        .filter(|directory| directory.ends_with(&suffix))
        .collect();
    match ends.as_slice() {
        [one] => {
            eprintln!("invoke: {function} is functions/{one}");
            Ok((*one).to_owned())
        }
        [] => Err(format!(
            "no function {function} in template.yaml; one of: {}",
            directories.join(", ")
        )),
        many => Err(format!(
            "{function} could be any of {}: name one",
            many.join(", ")
        )),
    }
}

async fn run(
    function: &str,
    event_file: Option<PathBuf>,
    print_event: bool,
) -> Result<(), Failure> {
    let function = resolve(function)?;
    let event_file =
        event_file.unwrap_or_else(|| local::repository().join(format!("events/{function}.json")));
    let event_file = event_file.as_path();
    let text = std::fs::read_to_string(event_file)
        .map_err(|e| format!("{}: {e}", event_file.display()))?;
    let settings = StackSettings::read(&local::state_dir())?;
    configure(&settings)?;
    let app: &'static App = Box::leak(Box::new(lambda::app::from_env().await?));
    let mut filler = Filler {
        app,
        settings: &settings,
        event_file,
        responses: None,
        secrets: None,
    };
    let event = filler.fill(&text, print_event).await?;
    if print_event {
        println!("{event}");
        return Ok(());
    }
    invoke(app, &function, &event, &mut filler).await
}

/// The stack's configuration, as its functions have it; log lines as JSON on stderr.
fn configure(settings: &StackSettings) -> Result<(), String> {
    let key = local::signing_key()?;
    if local::key_fingerprint(&key) != settings.signing_key_fingerprint {
        return Err(
            "the stack signs with another key than this shell's: set TOKEN_SIGNING_KEY as for scripts/local.sh (or unset it in both)"
                .into(),
        );
    }
    // SAFETY: set before any other thread reads the environment.
    unsafe {
        std::env::set_var("TABLE_NAME", &settings.table_name);
        std::env::set_var("DYNAMODB_ENDPOINT", &settings.dynamodb_endpoint);
        std::env::set_var("TOKEN_SIGNING_KEY", key);
        std::env::remove_var("TOKEN_SIGNING_KEY_SECRET_ARN");
        match &settings.external_directory_url {
            Some(url) => std::env::set_var("EXTERNAL_DIRECTORY_URL", url),
            None => std::env::remove_var("EXTERNAL_DIRECTORY_URL"),
        }
    }
    lambda::telemetry::init_json(std::io::stderr);
    // The metric lines Lambda would read from the function's output: log lines here.
    lambda::telemetry::set_metrics_sink(Box::new(|line| eprintln!("{line}")));
    Ok(())
}

/// Fills an event's placeholders from the running stack.
struct Filler<'a> {
    app: &'static App,
    settings: &'a StackSettings,
    event_file: &'a Path,
    /// CloudFormation's response URLs, started when an event names one.
    responses: Option<ResponseBin>,
    /// The Secrets Manager stand-in and its endpoint, started when an event names a secret.
    secrets: Option<(SecretsManager, String)>,
}

impl Filler<'_> {
    async fn fill(&mut self, text: &str, print_event: bool) -> Result<String, String> {
        // Judged on the event as written, before any value (a password may hold braces) is in.
        let unknown: Vec<&str> = placeholders(text)
            .into_iter()
            .filter(|name| !PLACEHOLDERS.contains(name))
            .collect();
        if !unknown.is_empty() {
            return Err(format!(
                "{}: no value for {{{{{}}}}}",
                self.event_file.display(),
                unknown.join("}}, {{")
            ));
        }
        let has = |name: &str| text.contains(&format!("{{{{{name}}}}}"));
        if print_event && (has("RESPONSE_URL") || has("SECRET_NAME") || has("VERSION_ID")) {
            return Err(format!(
                "{} needs listeners on this machine that live only while the function runs: run it without --print-event",
                self.event_file.display()
            ));
        }
        let mut text = text.replace("{{DOMAIN_ID}}", local::TENANT);
        if has("TOKEN") {
            text = text.replace("{{TOKEN}}", &self.administrator_token().await?);
        }
        if has("VERIFY_CODE") {
            let user = body_user(&text).ok_or("the event's body names no user_id")?;
            text = text.replace("{{VERIFY_CODE}}", &self.verification_code(&user).await?);
        }
        if has("NOTIFICATION_ID") {
            text = self.fill_notification(&text).await?;
        }
        if has("RESPONSE_URL") {
            let bin = ResponseBin::start().await;
            text = text.replace("{{RESPONSE_URL}}", &bin.url(RESPONSE_NAME));
            self.responses = Some(bin);
        }
        if has("SECRET_NAME") || has("VERSION_ID") {
            let version = local_stack::request_id();
            let service = SecretsManager::default();
            let ring =
                lambda::keys::KeyRing::single("local-1", &lambda::password::random_password(48))?;
            service.create(ROTATED_SECRET, &ring.to_secret_string());
            service.start_rotation(ROTATED_SECRET, &version);
            let endpoint = service.start().await;
            eprintln!(
                "invoke: Secrets Manager is a stand-in on {endpoint} holding {ROTATED_SECRET}, a throwaway key ring with a rotation under way (the stack's own key is not rotated)"
            );
            text = text
                .replace("{{SECRET_NAME}}", ROTATED_SECRET)
                .replace("{{VERSION_ID}}", &version);
            self.secrets = Some((service, endpoint));
        }
        // Last, so that no other placeholder is looked for inside it.
        if has("PASSWORD") {
            let password = match std::env::var("ADMIN_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty())
            {
                Some(password) => password,
                None if std::io::stdin().is_terminal() => rpassword::prompt_password(
                    "the local administrator's password (ADMIN_PASSWORD): ",
                )
                .map_err(|e| format!("reading the password: {e}"))?,
                None => {
                    return Err(format!(
                        "{} holds the administrator's password: set ADMIN_PASSWORD (it is asked for on a terminal)",
                        self.event_file.display()
                    ));
                }
            };
            // Escaped for the JSON string that holds it: twice inside an API Gateway event's body.
            let once = json_escaped(&password);
            let twice = json_escaped(&once);
            text = text
                .replace(r#"\"{{PASSWORD}}\""#, &format!(r#"\"{twice}\""#))
                .replace("{{PASSWORD}}", &once);
        }
        Ok(text)
    }

    async fn user(&self, user_id: &str) -> Result<lambda::model::User, String> {
        use lambda::store::prelude::*;
        self.app
            .store
            .get_user(local::TENANT, user_id)
            .await
            .map_err(|e| e.describe())?
            .ok_or_else(|| {
                format!(
                    "{} names {user_id}, who is not a user of tenant {}: create it first (scripts/invoke.sh spaceone_user_create)",
                    self.event_file.display(),
                    local::TENANT
                )
            })
    }

    /// A token of the stack's administrator, signed with the stack's key, as a login would give.
    async fn administrator_token(&self) -> Result<String, String> {
        let admin = self.user(local::ADMINISTRATOR).await?;
        let issued = self
            .app
            .tokens
            .issue(&admin, lambda::ops::now())
            .map_err(|e| e.describe())?;
        Ok(issued.token)
    }

    /// The messages waiting in a user's item for the stack's notifier.
    async fn pending(&self, user_id: &str) -> Result<Vec<Notification>, String> {
        let item = self
            .app
            .store
            .client()
            .get_item()
            .table_name(&self.settings.table_name)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(lambda::dynamo::tenant_pk(
                    local::TENANT,
                )),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S(lambda::dynamo::user_sk(user_id)),
            )
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| format!("reading {user_id}: {e}"))?
            .item;
        match item {
            Some(item) => lambda::dynamo::messages_of(&item).map_err(|e| e.describe()),
            None => Ok(Vec::new()),
        }
    }

    /// The newest verification code mailed to `user_id`, as the user would copy it from the mail:
    /// once the stack's notifier delivered a code still waiting in the item, else the newest mail.
    async fn verification_code(&self, user_id: &str) -> Result<String, String> {
        let waiting = self
            .pending(user_id)
            .await?
            .into_iter()
            .find(|m| m.template == Template::VerificationCode);
        let deadline = tokio::time::Instant::now() + MAIL_WAIT;
        loop {
            let mails = verification_mails(&self.settings.mail_folder, user_id);
            let found = match &waiting {
                Some(message) => mails
                    .iter()
                    .find(|(mail, _)| mail.notification_id == message.notification_id),
                None => mails.first(),
            };
            if let Some((_, code)) = found {
                return Ok(code.clone());
            }
            if waiting.is_none() || tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "no verification code for {user_id} in {}: send one first (scripts/invoke.sh spaceone_user_verify_email){}",
                    self.settings.mail_folder.display(),
                    if waiting.is_some() {
                        "; one waits in the table, but the stack's notifier did not deliver it"
                    } else {
                        ""
                    }
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// A stream record's message: the user's message still waiting, else a new verification code
    /// sealed with the stack's key as verify-email would (the item no longer holds that one, so the
    /// notifier sends nothing, as for a record Lambda delivers again).
    async fn fill_notification(&self, text: &str) -> Result<String, String> {
        let record: Value = serde_json::from_str(text)
            .map_err(|e| format!("{}: {e}", self.event_file.display()))?;
        let user_id = record["Records"][0]["dynamodb"]["NewImage"]["user_id"]["S"]
            .as_str()
            .ok_or("the stream record's NewImage names no user_id")?
            .to_owned();
        // The record's message is a verification code (`outbox_verification_code_email`).
        let waiting = self
            .pending(&user_id)
            .await?
            .into_iter()
            .find(|m| m.template == Template::VerificationCode);
        let message = match waiting {
            Some(message) => message,
            None => {
                let user = self.user(&user_id).await?;
                let code = lambda::password::random_password(8);
                eprintln!(
                    "invoke: no message waits in {user_id}'s item (the stack's notifier delivers them); the record names a new one the item does not hold"
                );
                self.app
                    .sealer
                    .verification_code(&user, &code, lambda::ops::now())
                    .map_err(|e| e.describe())?
            }
        };
        let sealed = message.sealed_secret.clone().unwrap_or_default();
        Ok(text
            .replace("{{NOTIFICATION_ID}}", &message.notification_id)
            .replace("{{SEALED_SECRET}}", &sealed)
            .replace("{{CREATED_AT}}", &message.created_at.to_string()))
    }
}

/// The names of the `{{NAME}}` placeholders in an event.
fn placeholders(text: &str) -> Vec<&str> {
    let mut names: Vec<&str> = text
        .match_indices("{{")
        .filter_map(|(at, _)| {
            let rest = &text[at + 2..];
            let name = &rest[..rest.find("}}")?];
            (!name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
                .then_some(name)
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// `text` as it stands between the quotes of a JSON string.
fn json_escaped(text: &str) -> String {
    let quoted = Value::String(text.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

/// The `user_id` of an API Gateway event's JSON body.
fn body_user(event: &str) -> Option<String> {
    let body = local_stack::event_body(&serde_json::from_str(event).ok()?).ok()?;
    body["user_id"].as_str().map(str::to_owned)
}

/// The verification codes mailed to `user_id`, newest first, with their messages.
fn verification_mails(folder: &Path, user_id: &str) -> Vec<(OutgoingMessage, String)> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut mails: Vec<(std::time::SystemTime, OutgoingMessage, String)> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|entry| {
            let modified = entry.metadata().ok()?.modified().ok()?;
            let mail: OutgoingMessage =
                serde_json::from_slice(&std::fs::read(entry.path()).ok()?).ok()?;
            // The words of the verification-code template (lambda::notify::render).
            let rest = mail.text.strip_prefix("Your verification code is ")?;
            if !mail.text.contains(&format!("account {user_id} ")) {
                return None;
            }
            let code: String = rest.chars().take_while(char::is_ascii_digit).collect();
            (!code.is_empty()).then_some((modified, mail, code))
        })
        .collect();
    mails.sort_by_key(|mail| std::cmp::Reverse(mail.0));
    mails
        .into_iter()
        .map(|(_, mail, code)| (mail, code))
        .collect()
}

/// Prints an answer as the Lambda runtime would hand it back.
fn answer(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

/// Lambda's shape of a function error.
fn function_error(kind: &str, message: &str) -> Failure {
    println!("{}", json!({"errorType": kind, "errorMessage": message}));
    Failure::Failed(format!("the function failed: {message}"))
}

fn parse<T: serde::de::DeserializeOwned>(event: &str, what: &str) -> Result<T, Failure> {
    serde_json::from_str(event).map_err(|e| Failure::Refused(format!("not {what}: {e}")))
}

async fn invoke(
    app: &'static App,
    function: &str,
    event: &str,
    filler: &mut Filler<'_>,
) -> Result<(), Failure> {
    let invocation = local_stack::request_id();
    if let Some(handle) = handler(function) {
        let request = lambda_http::request::from_str(event)
            .map_err(|e| Failure::Refused(format!("not an API Gateway proxy event: {e}")))?;
        let response = lambda::http::observed(app, function, request, |req| handle(app, req)).await;
        let status = response.status().as_u16();
        let (parts, body) = response.into_parts();
        let mut proxy = ApiGatewayProxyResponse::default();
        proxy.status_code = i64::from(status);
        proxy.headers = parts.headers.clone();
        proxy.multi_value_headers = parts.headers;
        proxy.is_base64_encoded = matches!(body, lambda_http::Body::Binary(_));
        proxy.body = match body {
            lambda_http::Body::Empty => None,
            body => Some(body),
        };
        answer(&proxy)?;
        if status >= 500 {
            return Err(Failure::Failed(format!("the function answered {status}")));
        }
        return Ok(());
    }
    match function {
        "bootstrap" => {
            match bootstrap::observed(
                app,
                "bootstrap",
                parse(event, "a bootstrap event")?,
                &invocation,
            )
            .await
            {
                Ok(done) => answer(&done),
                Err(error) => {
                    answer(&error)?;
                    Err(Failure::Failed(format!("the function failed: {error}")))
                }
            }
        }
        "housekeeping" => match housekeeping::handle(app, parse(event, "JSON")?).await {
            Ok(report) => answer(&report),
            Err(error) => Err(function_error("HousekeepingError", &error.to_string())),
        },
        "notifier" => {
            let records = parse(event, "a DynamoDB stream event")?;
            let mailer = lambda::mailer::FolderMailer {
                folder: filler.settings.mail_folder.clone(),
            };
            let response = notifier::handle(app, &mailer, records).await;
            answer(&response)?;
            if response.batch_item_failures.is_empty() {
                Ok(())
            } else {
                Err(Failure::Failed(
                    "records failed: Lambda would retry them".into(),
                ))
            }
        }
        "user_resource" => {
            let request = parse(event, "a CloudFormation custom resource request")?;
            // The answer goes to the request's response URL: only ever this run's own listener,
            // never a real stack's URL left in an event.
            let bin = filler
                .responses
                .as_ref()
                .filter(|bin| {
                    lambda::provisioning::head(&request)
                        .is_some_and(|head| head.response_url == bin.url(RESPONSE_NAME))
                })
                .ok_or_else(|| {
                    Failure::Refused(
                        "the event's ResponseURL must be {{RESPONSE_URL}}, which the listener of this run fills"
                            .into(),
                    )
                })?;
            let endpoint = secrets_endpoint(&mut filler.secrets).await;
            let resources: &'static user_resource::Resources =
                Box::leak(Box::new(user_resource::Resources {
                    app,
                    secrets: lambda::secrets::SecretStore::new(
                        &lambda::app::sdk_config(Some(&endpoint)).await,
                        None,
                    ),
                    http: lambda::https::client()?,
                }));
            let outcome =
                user_resource::observed(resources, "user_resource", request, Some(invocation))
                    .await;
            let document: Value = bin
                .received(RESPONSE_NAME)
                .first()
                .and_then(|r| serde_json::from_slice(&r.body).ok())
                .unwrap_or(Value::Null);
            eprintln!("invoke: CloudFormation received at the response URL:");
            answer(&document)?;
            if let Err(error) = outcome {
                return Err(function_error("UserResourceError", &error));
            }
            if document["Status"] != "SUCCESS" {
                return Err(Failure::Failed(format!(
                    "CloudFormation was told {}",
                    document["Status"]
                )));
            }
            Ok(())
        }
        "token_key_rotation" => {
            let rotation = parse(event, "a Secrets Manager rotation event")?;
            let endpoint = secrets_endpoint(&mut filler.secrets).await;
            let store = lambda::secrets::SecretStore::new(
                &lambda::app::sdk_config(Some(&endpoint)).await,
                None,
            );
            match token_key_rotation::handle(&store, rotation).await {
                Ok(()) => answer(&Value::Null),
                Err(error) => Err(function_error("RotationError", &error)),
            }
        }
        other => Err(Failure::Refused(format!(
            "{other} has no local invocation (functions/{other})"
        ))),
    }
}

/// The Secrets Manager stand-in's endpoint, started empty if the event named no secret.
async fn secrets_endpoint(secrets: &mut Option<(SecretsManager, String)>) -> String {
    if secrets.is_none() {
        let service = SecretsManager::default();
        let endpoint = service.start().await;
        *secrets = Some((service, endpoint));
    }
    secrets
        .as_ref()
        .map(|(_, endpoint)| endpoint.clone())
        .unwrap_or_default()
}
