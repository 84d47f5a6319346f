//! Everything an operation needs, built once per process: the settings, the store, the token
//! service and sealer, and the ports to the outside (the external directory, the signing-key
//! secret). Generic over the store, so that the rules run on DynamoDB when deployed
//! (`lambda::App`) and on the in-memory store in unit tests.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::directory::Directory;
use crate::keys::KeyRing;
use crate::outbox::SecretSealer;
use crate::store::UserStore;
use crate::token::TokenService;

pub struct App<S> {
    pub config: Config,
    pub store: S,
    pub tokens: TokenService,
    pub sealer: SecretSealer,
    pub directory: Option<Box<dyn Directory>>,
    /// Where the key ring is re-read from after a rotation; `None`: a fixed key.
    pub key_source: Option<KeySource>,
}

/// What reading the signing-key ring answers.
pub type RingRead<'a> = Pin<Box<dyn Future<Output = Result<KeyRing, String>> + Send + 'a>>;

/// Where the signing-key ring is kept (deployed: a Secrets Manager secret,
/// `lambda::app::SecretKeyRing`).
pub trait KeyRingSource: Send + Sync {
    fn read(&self) -> RingRead<'_>;
}

/// The signing-key ring's source, and when it was last read.
pub struct KeySource {
    source: Box<dyn KeyRingSource>,
    /// `None`: to be read before the next request.
    last_read: Mutex<Option<Instant>>,
}

/// A ring older than this is read again before a request: a rotation reaches every warm function
/// within it, long before the key it publishes signs (a rotation later) and long after the key it
/// retires stopped signing (two rotations before, longer ago than any token lives).
const KEY_RING_MAX_AGE: Duration = Duration::from_secs(300);
/// A token naming a key the ring lacks causes a read at most this often (it may be a key rotated
/// in since; it may be an attacker's).
const UNKNOWN_KID_READ_INTERVAL: Duration = Duration::from_secs(30);

impl KeySource {
    /// A source whose ring was just read.
    pub fn new(source: Box<dyn KeyRingSource>) -> KeySource {
        KeySource {
            source,
            last_read: Mutex::new(Some(Instant::now())),
        }
    }

    /// Makes the ring old: it is read again before the next request (as five minutes would).
    pub fn expire(&self) {
        *self.last_read.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    pub async fn read(&self) -> Result<KeyRing, String> {
        self.source.read().await
    }

    fn age(&self) -> Duration {
        self.last_read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map_or(Duration::MAX, |at| at.elapsed())
    }

    fn mark_read(&self) {
        *self.last_read.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }
}

impl<S: UserStore> App<S> {
    /// An app over `store` whose tokens are signed and secrets sealed with `ring`.
    pub fn with_ring(
        config: Config,
        store: S,
        ring: &KeyRing,
        directory: Option<Box<dyn Directory>>,
        key_source: Option<KeySource>,
    ) -> Result<App<S>, String> {
        let tokens = TokenService::from_ring(ring, config.token_lifetime_seconds)?;
        let sealer = SecretSealer::from_signing_key(ring.seal.as_bytes());
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
        let age = source.age();
        let unknown = presented_kid.is_some_and(|kid| !self.tokens.knows(kid));
        if age < KEY_RING_MAX_AGE && !(unknown && age >= UNKNOWN_KID_READ_INTERVAL) {
            return;
        }
        source.mark_read();
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
