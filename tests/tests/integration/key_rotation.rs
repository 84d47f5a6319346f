//! Token-key rotation: the rotation function (functions/token_key_rotation) rotates the signing-key
//! secret (a Secrets Manager stand-in on 127.0.0.1) while warm "execution environments" (apps
//! reading the same secret, with the deployed re-read intervals) serve requests: no token is
//! refused before its key is retired, and a retired key is refused.

use crate::common;

use common::{ADMIN_PASSWORD, TestEnv, config, unique_tenant};
use lambda::App;
use lambda::app::{SecretKeyRing, dynamodb_client, sdk_config};
use lambda::domain::app::KeySource;
use lambda::secrets::SecretStore;
use local_stack::Router;
use local_stack::cloudformation::SecretsManager;
use serde_json::json;
use token_key_rotation::RotationEvent;

const SECRET: &str = "useradmin/token-signing-key";

/// An execution environment: its own app, reading the key ring from the secret at start.
async fn environment(endpoint: &str, tenant: &str) -> TestEnv {
    // The table exists once any app was built for it.
    common::app_with(config()).await;
    let settings = config();
    let client = dynamodb_client(settings.dynamodb_endpoint.as_deref()).await;
    let source = KeySource::new(Box::new(SecretKeyRing {
        store: SecretStore::new(&sdk_config(Some(endpoint)).await, None),
        secret_id: SECRET.into(),
    }));
    let ring = source.read().await.unwrap();
    let app: &'static App = Box::leak(Box::new(
        lambda::app::with_ring(settings, client, &ring, Some(source)).unwrap(),
    ));
    let router: &'static Router = Box::leak(Box::new(Router::from_template(app).unwrap()));
    TestEnv {
        app,
        router,
        tenant: tenant.to_owned(),
        admin_token: String::new(),
    }
}

async fn rotate(endpoint: &str, service: &SecretsManager, version: &str) {
    service.start_rotation(SECRET, version);
    let store = SecretStore::new(&sdk_config(Some(endpoint)).await, None);
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        let event = RotationEvent {
            secret_id: format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{SECRET}"),
            token: version.to_owned(),
            step: step.to_owned(),
        };
        token_key_rotation::handle(&store, event.clone())
            .await
            .unwrap_or_else(|e| panic!("{step}: {e}"));
        // Secrets Manager may call a step again: it changes nothing.
        token_key_rotation::handle(&store, event).await.unwrap();
    }
}

/// The signing-key secret in its first form (one key), served on 127.0.0.1.
async fn signing_secret() -> (SecretsManager, String) {
    let service = SecretsManager::default();
    service.create(
        SECRET,
        r#"{"kid": "k1", "key": "first-signing-key-0123456789abcdef"}"#,
    );
    let endpoint = service.start().await;
    (service, endpoint)
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

async fn works(env: &TestEnv, token: &str) -> u16 {
    env.spaceone(
        "get",
        token,
        json!({"user_id": "admin", "domain_id": env.tenant}),
    )
    .await
    .status
}

#[tokio::test]
async fn rotation_keeps_every_token_until_its_key_is_retired() {
    let (service, endpoint) = signing_secret().await;
    let tenant = unique_tenant("rot");
    let first = environment(&endpoint, &tenant).await;
    first.bootstrap_tenant().await;
    let old = first.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(kid(&old), "k1");
    let first = TestEnv {
        admin_token: old.clone(),
        ..first
    };
    // A verification code whose digest was made with the sealing secret before any rotation.
    first
        .create_user(
            "vera@example.com",
            "Vera-Passw0rd!",
            json!({"email": "vera@example.com"}),
        )
        .await;
    let asked = first
        .spaceone(
            "verify-email",
            &old,
            json!({"user_id": "vera@example.com", "domain_id": tenant}),
        )
        .await;
    assert_eq!(asked.status, 200, "{}", asked.raw);
    let code = first
        .last_secret(
            "vera@example.com",
            lambda::outbox::Template::VerificationCode,
        )
        .await
        .unwrap();

    // The first rotation publishes the next key; nothing signs with it yet.
    rotate(&endpoint, &service, "v2").await;
    let ring = lambda::keys::KeyRing::parse(&service.current(SECRET).unwrap()).unwrap();
    let next_kid = ring.next.as_ref().unwrap().kid.clone();
    assert_eq!(ring.current.kid, "k1");
    let second = environment(&endpoint, &tenant).await;
    assert_eq!(kid(&second.login("admin", ADMIN_PASSWORD).await), "k1");
    assert_eq!(works(&second, &old).await, 200);

    // Five minutes on, the first environment has read the ring again (on its next request).
    first.app.key_source.as_ref().unwrap().expire();
    assert_eq!(works(&first, &old).await, 200);
    assert!(first.app.tokens.knows(&next_kid));

    // The second rotation makes the published key sign. The first environment, which has not
    // read the ring since, takes the new tokens; the old ones work everywhere.
    rotate(&endpoint, &service, "v3").await;
    let third = environment(&endpoint, &tenant).await;
    let new = third.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(kid(&new), next_kid);
    assert_eq!(works(&first, &new).await, 200);
    assert_eq!(
        works(&third, &old).await,
        200,
        "the previous key still verifies"
    );

    // The third rotation retires k1 (older than any live token by then): refused; k2 still works.
    rotate(&endpoint, &service, "v4").await;
    let fourth = environment(&endpoint, &tenant).await;
    let refused = fourth
        .spaceone(
            "get",
            &old,
            json!({"user_id": "admin", "domain_id": tenant}),
        )
        .await;
    assert_eq!(refused.status, 401, "{}", refused.raw);
    assert_eq!(works(&fourth, &new).await, 200);
    let newest = fourth.login("admin", ADMIN_PASSWORD).await;
    assert_ne!(kid(&newest), next_kid);
    assert_ne!(kid(&newest), "k1");
    let third = fourth;

    // The sealing secret did not rotate: the code sent before both rotations still confirms.
    let confirmed = third
        .spaceone(
            "confirm-email",
            &newest,
            json!({"user_id": "vera@example.com", "verify_code": code, "domain_id": tenant}),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.raw);
    assert_eq!(confirmed.body["email_verified"], true);
}

#[tokio::test]
async fn the_event_file_runs_the_first_step() {
    let (service, endpoint) = signing_secret().await;
    service.start_rotation(SECRET, "v2");
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events/token_key_rotation.json");
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("{{SECRET_NAME}}", SECRET)
        .replace("{{VERSION_ID}}", "v2");
    let event: RotationEvent = serde_json::from_str(&text).unwrap();
    let store = SecretStore::new(&sdk_config(Some(&endpoint)).await, None);
    token_key_rotation::handle(&store, event).await.unwrap();
    // The pending ring is stored; the current one is unchanged until finishSecret.
    assert!(service.current(SECRET).unwrap().contains("\"k1\""));
    let pending = store
        .version(SECRET, Some("AWSPENDING"), Some("v2"))
        .await
        .unwrap()
        .expect("a pending ring");
    let ring = lambda::keys::KeyRing::parse(&pending).unwrap();
    assert_eq!(ring.current.kid, "k1");
    assert!(
        ring.next.is_some(),
        "the first rotation publishes the next key"
    );
}

#[tokio::test]
async fn a_rotation_step_out_of_turn_or_without_rotation_fails() {
    let (service, endpoint) = signing_secret().await;
    let store = SecretStore::new(&sdk_config(Some(&endpoint)).await, None);
    let event = |token: &str, step: &str| RotationEvent {
        secret_id: SECRET.into(),
        token: token.into(),
        step: step.into(),
    };
    let error = token_key_rotation::handle(&store, event("v2", "createSecret"))
        .await
        .unwrap_err();
    assert!(error.contains("not enabled"), "{error}");
    service.start_rotation(SECRET, "v2");
    let error = token_key_rotation::handle(&store, event("v9", "createSecret"))
        .await
        .unwrap_err();
    assert!(error.contains("no stage"), "{error}");
    let error = token_key_rotation::handle(&store, event("v2", "testSecret"))
        .await
        .unwrap_err();
    assert!(error.contains("holds no ring"), "{error}");
    let before = service.current(SECRET);
    let error = token_key_rotation::handle(&store, event("v2", "nextSecret"))
        .await
        .unwrap_err();
    assert!(error.contains("unknown rotation step"), "{error}");
    assert_eq!(service.current(SECRET), before, "nothing changed");
}
