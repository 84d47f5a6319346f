//! Configuration from the environment and the state every handler shares, built once in `main`.

use std::env;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};

use crate::directory::HttpDirectory;
use crate::dynamo::DynamoStore;
use crate::keys::KeyRing;
use crate::outbox::SecretSealer;
use crate::secrets::SecretStore;
use crate::token::TokenService;
use crate::validate::PasswordPolicy;

/// The login policy (Huawei's defaults: 5 failures within 15 minutes lock for 15 minutes).
#[derive(Debug, Clone)]
pub struct LockoutPolicy {
    pub threshold: u32,
    pub window_ms: i64,
    pub duration_ms: i64,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub token_key_id: String,
    pub token_lifetime_seconds: i64,
    pub lockout: LockoutPolicy,
    pub password_policy: PasswordPolicy,
    /// Users per tenant (Huawei's default quota is 50).
    pub tenant_user_quota: u64,
    /// The longest a password lives before its user must change it; `None`: passwords never expire
    /// (Huawei's default).
    pub password_max_age_ms: Option<i64>,
    /// How long a deleted user is kept (pending deletion) before housekeeping purges it.
    pub deleted_user_retention_ms: i64,
    /// The external directory EXTERNAL users come from; `None`: the deployment has none.
    pub external_directory_url: Option<String>,
    pub external_directory_token: Option<Secret>,
    /// The tenants `Custom::User` resources may manage; `None`: every tenant.
    pub provisioning_tenants: Option<Vec<String>>,
    /// Set only for DynamoDB Local.
    pub dynamodb_endpoint: Option<String>,
    /// The API's public base URL behind a custom domain (`https://api.example.com`); `None`: links
    /// are built from API Gateway's request context (`http::base_url`).
    pub public_base_url: Option<String>,
    /// The page a forgotten-password mail links to (the console's), which receives `domain_id`,
    /// `user_id` and `token` in its query; `None`: the mail carries the token and how to use it.
    pub password_link_url: Option<String>,
}

/// A configured secret: never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match var(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| format!("{name} must be a number, got {raw:?}")),
    }
}

impl Config {
    /// When the user's password expires under the policy, unless the user's password never does.
    pub fn password_expires_at(&self, user: &crate::model::User) -> Option<crate::model::Millis> {
        self.password_expiry(&crate::model::AuthView::of(user))
    }

    pub fn password_expiry(&self, view: &crate::model::AuthView) -> Option<crate::model::Millis> {
        let max_age = self
            .password_max_age_ms
            .filter(|_| !view.password_never_expired)?;
        view.password_changed_at.map(|changed| changed + max_age)
    }

    /// The defaults every setting has (Huawei's policies), for a table; `from_env` starts from the
    /// same numbers.
    pub fn defaults(table_name: &str) -> Config {
        Config {
            table_name: table_name.to_owned(),
            token_key_id: "k1".into(),
            token_lifetime_seconds: 86_400,
            lockout: LockoutPolicy {
                threshold: 5,
                window_ms: 900_000,
                duration_ms: 900_000,
            },
            password_policy: PasswordPolicy::default(),
            tenant_user_quota: 50,
            password_max_age_ms: None,
            deleted_user_retention_ms: 30 * 86_400_000,
            external_directory_url: None,
            external_directory_token: None,
            provisioning_tenants: None,
            dynamodb_endpoint: None,
            public_base_url: None,
            password_link_url: None,
        }
    }

    pub fn from_env() -> Result<Config, String> {
        let min_classes: usize = number("PASSWORD_MIN_CHAR_CLASSES", 2)?;
        if !(2..=4).contains(&min_classes) {
            return Err("PASSWORD_MIN_CHAR_CLASSES must be 2, 3 or 4".into());
        }
        Ok(Config {
            table_name: var("TABLE_NAME").ok_or("TABLE_NAME is not set")?,
            token_key_id: var("TOKEN_KEY_ID").unwrap_or_else(|| "k1".into()),
            token_lifetime_seconds: number("TOKEN_LIFETIME_SECONDS", 86_400)?,
            lockout: LockoutPolicy {
                threshold: number("LOCKOUT_THRESHOLD", 5)?,
                window_ms: number::<i64>("LOCKOUT_WINDOW_SECONDS", 900)? * 1000,
                duration_ms: number::<i64>("LOCKOUT_DURATION_SECONDS", 900)? * 1000,
            },
            password_policy: PasswordPolicy {
                min_classes,
                ..PasswordPolicy::default()
            },
            tenant_user_quota: number("TENANT_USER_QUOTA", 50)?,
            password_max_age_ms: match number::<i64>("PASSWORD_MAX_AGE_DAYS", 0)? {
                0 => None,
                days @ 1..=36_500 => Some(days * 86_400_000),
                _ => return Err("PASSWORD_MAX_AGE_DAYS must be 0 (off) to 36500".into()),
            },
            deleted_user_retention_ms: match number::<i64>("DELETED_USER_RETENTION_DAYS", 30)? {
                days @ 0..=36_500 => days * 86_400_000,
                _ => return Err("DELETED_USER_RETENTION_DAYS must be 0 to 36500".into()),
            },
            external_directory_url: var("EXTERNAL_DIRECTORY_URL"),
            external_directory_token: var("EXTERNAL_DIRECTORY_TOKEN").map(Secret),
            provisioning_tenants: var("PROVISIONING_TENANTS")
                .filter(|list| list.trim() != "*")
                .map(|list| {
                    list.split(',')
                        .map(|tenant| tenant.trim().to_owned())
                        .filter(|tenant| !tenant.is_empty())
                        .collect()
                }),
            dynamodb_endpoint: var("DYNAMODB_ENDPOINT"),
            password_link_url: match var("PASSWORD_LINK_URL").map(|url| url.trim().to_owned()) {
                Some(url) if url.starts_with("https://") && !url.contains(['?', '#']) => Some(url),
                Some(url) => {
                    return Err(format!(
                        "PASSWORD_LINK_URL must be an https:// page without a query, got {url:?}"
                    ));
                }
                None => None,
            },
            public_base_url: match var("PUBLIC_BASE_URL").map(|url| url.trim().to_owned()) {
                Some(url) if url.starts_with("https://") => {
                    Some(url.trim_end_matches('/').to_owned())
                }
                Some(url) => {
                    return Err(format!(
                        "PUBLIC_BASE_URL must start with https://, got {url:?}"
                    ));
                }
                None => None,
            },
        })
    }
}

/// Everything a handler needs; built once per process, outside the handler.
pub struct App {
    pub config: Config,
    pub store: DynamoStore,
    pub tokens: TokenService,
    pub sealer: SecretSealer,
    pub directory: Option<HttpDirectory>,
    /// Where the key ring is re-read from after a rotation; `None`: a fixed key.
    pub key_source: Option<KeySource>,
}

/// The signing-key secret the key ring is read from, and when it was last read.
pub struct KeySource {
    pub store: SecretStore,
    pub secret_id: String,
    /// `None`: to be read before the next request.
    last_read: std::sync::Mutex<Option<std::time::Instant>>,
}

/// A ring older than this is read again before a request: a rotation reaches every warm function
/// within it, long before the key it publishes signs (a rotation later) and long after the key it
/// retires stopped signing (two rotations before, longer ago than any token lives).
const KEY_RING_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(300);
/// A token naming a key the ring lacks causes a read at most this often (it may be a key rotated
/// in since; it may be an attacker's).
const UNKNOWN_KID_READ_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

impl KeySource {
    pub fn new(store: SecretStore, secret_id: &str) -> KeySource {
        KeySource {
            store,
            secret_id: secret_id.to_owned(),
            last_read: std::sync::Mutex::new(Some(std::time::Instant::now())),
        }
    }

    /// Makes the ring old: it is read again before the next request (as five minutes would).
    pub fn expire(&self) {
        *self.last_read.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    pub async fn read(&self) -> Result<KeyRing, String> {
        let text = self
            .store
            .version(&self.secret_id, Some(crate::secrets::CURRENT), None)
            .await?
            .ok_or_else(|| format!("{} has no current version", self.secret_id))?;
        KeyRing::parse(&text)
    }
}

impl App {
    /// Reads the configuration from the environment, the key ring from the secret
    /// `TOKEN_SIGNING_KEY_SECRET_ARN` (deployed) or the one key `TOKEN_SIGNING_KEY` (local), and
    /// builds the clients.
    pub async fn from_env() -> Result<App, String> {
        let config = Config::from_env()?;
        let client = dynamodb_client(config.dynamodb_endpoint.as_deref()).await;
        let store = DynamoStore::new(client.clone(), config.table_name.clone());
        if let Some(secret_id) = var("TOKEN_SIGNING_KEY_SECRET_ARN") {
            let sdk = sdk_config(None).await;
            let endpoint = var("SECRETS_MANAGER_ENDPOINT");
            let source = KeySource::new(SecretStore::new(&sdk, endpoint.as_deref()), &secret_id);
            // Both connections open at once: the key ring's and the store's.
            let (ring, ()) = tokio::join!(source.read(), store.open_connection());
            return App::with_ring(config, client, &ring?, Some(source));
        }
        let key = var("TOKEN_SIGNING_KEY")
            .ok_or("neither TOKEN_SIGNING_KEY_SECRET_ARN nor TOKEN_SIGNING_KEY is set")?;
        store.open_connection().await;
        App::new(config, client, key.as_bytes())
    }

    /// An app with one fixed signing key (`config.token_key_id`).
    pub fn new(
        config: Config,
        client: aws_sdk_dynamodb::Client,
        signing_key: &[u8],
    ) -> Result<App, String> {
        let key = std::str::from_utf8(signing_key)
            .map_err(|_| "the token signing key is not UTF-8 text".to_owned())?;
        let ring = KeyRing::single(&config.token_key_id, key)?;
        App::with_ring(config, client, &ring, None)
    }

    pub fn with_ring(
        config: Config,
        client: aws_sdk_dynamodb::Client,
        ring: &KeyRing,
        key_source: Option<KeySource>,
    ) -> Result<App, String> {
        let tokens = TokenService::from_ring(ring, config.token_lifetime_seconds)?;
        let store = DynamoStore::new(client, config.table_name.clone());
        let sealer = SecretSealer::from_signing_key(ring.seal.as_bytes());
        let directory = config
            .external_directory_url
            .as_deref()
            .map(|url| {
                HttpDirectory::new(url, config.external_directory_token.clone().map(|t| t.0))
            })
            .transpose()?;
        Ok(App {
            config,
            store,
            tokens,
            sealer,
            directory,
            key_source,
        })
    }

    /// Reads the key ring again when it is old, or when a token names a key it lacks (not more
    /// often than every 30 s). A failed read keeps the ring in use.
    pub async fn refresh_keys(&self, presented_kid: Option<&str>) {
        let Some(source) = &self.key_source else {
            return;
        };
        let age = source
            .last_read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map_or(std::time::Duration::MAX, |at| at.elapsed());
        let unknown = presented_kid.is_some_and(|kid| !self.tokens.knows(kid));
        if age < KEY_RING_MAX_AGE && !(unknown && age >= UNKNOWN_KID_READ_INTERVAL) {
            return;
        }
        *source.last_read.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(std::time::Instant::now());
        match source.read().await {
            Ok(ring) => {
                if let Err(error) = self.tokens.replace(&ring) {
                    tracing::error!(%error, "the signing-key secret's new ring is unusable");
                }
            }
            Err(error) => tracing::warn!(%error, "the signing-key secret could not be read again"),
        }
    }
}

/// How long one call to DynamoDB (or Secrets Manager) may take, retries included. Without these
/// a store that accepts connections but never answers would hold a request until Lambda kills it,
/// and the client would get API Gateway's bare 502 instead of our 503. With them the first call
/// that fails ends the request with a 503 within 3 s, well inside the functions' 10 s timeout;
/// DynamoDB answers in milliseconds, so no healthy call comes near them.
pub const STORE_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);
pub const STORE_ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(1500);
pub const STORE_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

fn store_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(STORE_CONNECT_TIMEOUT)
        .operation_attempt_timeout(STORE_ATTEMPT_TIMEOUT)
        .operation_timeout(STORE_CALL_TIMEOUT)
        .build()
}

/// The SDK configuration. Deployed, the credentials and region are what Lambda puts in the
/// environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`): the
/// SDK's default chain would also link its profile, SSO, web-identity (STS), container and
/// instance-metadata providers, none of which a Lambda function uses (0.7 MB of `spaceone_user_create`'s
/// x86_64 binary). With an endpoint (DynamoDB Local), fixed credentials, so that nothing ever asks
/// for credentials off this machine. The HTTPS client is `aws_https_client`; sleep, clock and
/// retries are the SDK's defaults.
pub async fn sdk_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".into());
    let credentials = match endpoint {
        Some(_) => SharedCredentialsProvider::new(Credentials::new(
            "local",
            "local",
            None,
            None,
            "dynamodb-local",
        )),
        None => SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new()),
    };
    let builder = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(credentials)
        .timeout_config(store_timeouts())
        .http_client(aws_https_client());
    match endpoint {
        Some(url) => builder.endpoint_url(url).build(),
        None => builder.build(),
    }
}

/// The roots of Amazon Trust Services, which issue the certificates of the AWS service endpoints
/// (DynamoDB, Secrets Manager, SES), as AWS lists them for its endpoints.
const AWS_ROOTS: [&str; 5] = [
    include_str!("../roots/Amazon_Root_CA_1.pem"),
    include_str!("../roots/Amazon_Root_CA_2.pem"),
    include_str!("../roots/Amazon_Root_CA_3.pem"),
    include_str!("../roots/Amazon_Root_CA_4.pem"),
    include_str!("../roots/Starfield_Services_Root_Certificate_Authority_-_G2.pem"),
];

/// The SDK's own HTTPS client (hyper 1, rustls on aws-lc, the proxy settings of the environment),
/// trusting AWS's roots only. The default client loads and parses the system's 140-odd roots when
/// the first client is made: 4.3 ms of every cold start on a full core, and a 128 MB function has
/// 7% of one. `TLS_SYSTEM_ROOTS=1` trusts the system's roots as well (a TLS-inspecting proxy).
fn aws_https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
    use aws_smithy_http_client::{Builder, ConnectorBuilder};
    let system_roots = var("TLS_SYSTEM_ROOTS").is_some_and(|v| v == "1");
    let trust = AWS_ROOTS.iter().fold(
        TrustStore::empty().with_native_roots(system_roots),
        |trust, pem| trust.with_pem_certificate(pem.as_bytes()),
    );
    let context = TlsContext::builder().with_trust_store(trust).build();
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
        if let Ok(context) = &context {
            connector.set_tls_context(context.clone());
        }
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// The DynamoDB client for `sdk_config(endpoint)`, each call timed into its request's access line.
pub async fn dynamodb_client(endpoint: Option<&str>) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk_config(endpoint).await)
        .interceptor(crate::telemetry::StoreTiming)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

#[cfg(test)]
mod tests {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    #[test]
    fn every_aws_root_is_one_certificate() {
        for pem in super::AWS_ROOTS {
            let certificates: Vec<_> = CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<_, _>>()
                .expect("a PEM certificate");
            assert_eq!(certificates.len(), 1);
            assert!(certificates[0].len() > 300);
        }
    }
}
