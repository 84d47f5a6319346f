//! The state every handler shares, built once in `main` from the environment: the domain's `App`
//! on DynamoDB, with the AWS SDK's configuration, TLS roots and the signing-key secret.

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};

use domain::app::{KeyRingSource, KeySource, RingRead};
use domain::config::var;

use crate::directory::{Directory, HttpDirectory};
use crate::dynamo::DynamoStore;
use crate::keys::KeyRing;
use crate::secrets::SecretStore;

pub use domain::config::{Config, LockoutPolicy, Secret};

/// Everything a handler needs, on DynamoDB; built once per process, outside the handler
/// (`from_env`).
pub type App = domain::app::App<DynamoStore>;

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
        let source = SecretKeyRing {
            store: SecretStore::new(&sdk, endpoint.as_deref()),
            secret_id,
        };
        // Both connections open at once: the key ring's and the store's.
        let (ring, ()) = tokio::join!(source.read(), store.open_connection());
        let source = KeySource::new(Box::new(source));
        return with_ring(config, client, &ring?, Some(source));
    }
    let key = var("TOKEN_SIGNING_KEY")
        .ok_or("neither TOKEN_SIGNING_KEY_SECRET_ARN nor TOKEN_SIGNING_KEY is set")?;
    store.open_connection().await;
    new(config, client, key.as_bytes())
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
    with_ring(config, client, &ring, None)
}

/// An app on the table `config.table_name` through `client`, its keys from `ring`, the external
/// directory from the configuration.
pub fn with_ring(
    config: Config,
    client: aws_sdk_dynamodb::Client,
    ring: &KeyRing,
    key_source: Option<KeySource>,
) -> Result<App, String> {
    let store = DynamoStore::new(client, config.table_name.clone());
    let directory = config
        .external_directory_url
        .as_deref()
        .map(|url| HttpDirectory::new(url, config.external_directory_token.clone().map(|t| t.0)))
        .transpose()?
        .map(|directory| Box::new(directory) as Box<dyn Directory>);
    App::with_ring(config, store, ring, directory, key_source)
}

/// The signing-key ring kept in a Secrets Manager secret (its `AWSCURRENT` version).
pub struct SecretKeyRing {
    pub store: SecretStore,
    pub secret_id: String,
}

impl SecretKeyRing {
    async fn read_ring(&self) -> Result<KeyRing, String> {
        let text = self
            .store
            .version(&self.secret_id, Some(crate::secrets::CURRENT), None)
            .await?
            .ok_or_else(|| format!("{} has no current version", self.secret_id))?;
        KeyRing::parse(&text)
    }
}

impl KeyRingSource for SecretKeyRing {
    fn read(&self) -> RingRead<'_> {
        Box::pin(self.read_ring())
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
