//! The token signing keys and their rotation.
//!
//! The signing-key secret holds a key ring: the current key signs new tokens; the previous one
//! still verifies the tokens it signed; the next one, published a whole rotation before it signs,
//! already verifies (so no function that read the ring since the last rotation refuses a token
//! of the new key); any other key id is refused. A rotation makes the next key current, the
//! current one previous and a fresh key next. A token thus lives until the second rotation after
//! its issue: with rotations further apart than a token's lifetime, nobody is logged out. The ring
//! also keeps the sealing secret of the notification outbox and the verification-code digests,
//! which never rotates (a message or code issued before a rotation stays readable after it).
//!
//! The secret's string is `{"current": {"kid", "key"}, "previous"?, "next"?, "seal"?}`; the first
//! format, `{"kid", "key"}` (what the template's generated secret starts as), is a ring of one key
//! that is also the seal. A ring without a next key first gets one: its first rotation only
//! publishes the key the second makes current.

use base64::Engine;
use rand::TryRngCore;
use serde::{Deserialize, Serialize};

use crate::token::MIN_KEY_BYTES;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    pub kid: String,
    pub key: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}, ***)", self.kid)
    }
}

impl SigningKey {
    fn check(&self) -> Result<(), String> {
        if self.kid.trim().is_empty() {
            return Err("a signing key has an empty kid".into());
        }
        if self.key.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the signing key {} is shorter than {MIN_KEY_BYTES} bytes",
                self.kid
            ));
        }
        Ok(())
    }

    /// A fresh random key (48 bytes from the OS generator, base64url).
    pub fn generate(kid: &str) -> SigningKey {
        let mut bytes = [0u8; 48];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .expect("OS random generator");
        SigningKey {
            kid: kid.to_owned(),
            key: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        }
    }
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRing {
    pub current: SigningKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<SigningKey>,
    /// Verifies, but signs only from the next rotation on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<SigningKey>,
    /// The outbox's sealing secret; the first key's, kept across rotations.
    pub seal: String,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("current", &self.current)
            .field("previous", &self.previous)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    Ring {
        current: SigningKey,
        #[serde(default)]
        previous: Option<SigningKey>,
        #[serde(default)]
        next: Option<SigningKey>,
        #[serde(default)]
        seal: Option<String>,
    },
    Single(SigningKey),
}

impl KeyRing {
    /// A ring of one key, which also seals.
    pub fn single(kid: &str, key: &str) -> Result<KeyRing, String> {
        let current = SigningKey {
            kid: kid.to_owned(),
            key: key.to_owned(),
        };
        current.check()?;
        Ok(KeyRing {
            seal: current.key.clone(),
            current,
            previous: None,
            next: None,
        })
    }

    /// Reads a secret's string (either format). Errors never show a key.
    pub fn parse(text: &str) -> Result<KeyRing, String> {
        let stored: Stored = serde_json::from_str(text).map_err(|_| {
            "the signing-key secret is not {\"current\": {\"kid\", \"key\"}, ...} nor {\"kid\", \"key\"}"
                .to_owned()
        })?;
        let ring = match stored {
            Stored::Ring {
                current,
                previous,
                next,
                seal,
            } => KeyRing {
                seal: seal.unwrap_or_else(|| current.key.clone()),
                current,
                previous,
                next,
            },
            Stored::Single(current) => KeyRing {
                seal: current.key.clone(),
                current,
                previous: None,
                next: None,
            },
        };
        let keys: Vec<&SigningKey> = ring.keys().collect();
        for (index, key) in keys.iter().enumerate() {
            key.check()?;
            if keys[..index].iter().any(|earlier| earlier.kid == key.kid) {
                return Err(format!("two keys of the ring share the kid {}", key.kid));
            }
        }
        if ring.seal.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the sealing secret is shorter than {MIN_KEY_BYTES} bytes"
            ));
        }
        Ok(ring)
    }

    pub fn to_secret_string(&self) -> String {
        serde_json::to_string(self).expect("a key ring serialises")
    }

    /// The ring after a rotation: the next key current, the current one previous (the one before
    /// is retired), `fresh` next, the seal kept. A ring without a next key only gets `fresh` as
    /// its next.
    pub fn rotated(&self, fresh: SigningKey) -> KeyRing {
        match &self.next {
            Some(next) => KeyRing {
                current: next.clone(),
                previous: Some(self.current.clone()),
                next: Some(fresh),
                seal: self.seal.clone(),
            },
            None => KeyRing {
                next: Some(fresh),
                ..self.clone()
            },
        }
    }

    /// Every key that verifies: current, previous, next.
    pub fn keys(&self) -> impl Iterator<Item = &SigningKey> {
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .chain(self.next.as_ref())
    }

    /// The key with this id, if the ring holds it.
    pub fn key(&self, kid: &str) -> Option<&SigningKey> {
        self.keys().find(|key| key.kid == kid)
    }
}

/// A key id for a new key: its creation time (readable in token headers and logs) and a random
/// suffix.
pub fn new_kid(now: chrono::DateTime<chrono::Utc>) -> String {
    let suffix: u16 = rand::random();
    format!("k{}-{suffix:04x}", now.format("%Y%m%dT%H%M%SZ"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn the_first_format_is_a_ring_of_one_key_that_seals() {
        let ring = KeyRing::parse(&format!(r#"{{"kid": "k1", "key": "{KEY}"}}"#)).unwrap();
        assert_eq!(ring.current.kid, "k1");
        assert_eq!(ring.previous, None);
        assert_eq!(ring.seal, KEY);
    }

    #[test]
    fn a_key_is_published_a_rotation_before_it_signs_and_retired_two_after() {
        let ring = KeyRing::single("k1", KEY).unwrap();
        let once = ring.rotated(SigningKey::generate("k2"));
        assert_eq!(
            once.current.kid, "k1",
            "the first rotation only publishes k2"
        );
        assert_eq!(once.next.as_ref().unwrap().kid, "k2");
        let twice = once.rotated(SigningKey::generate("k3"));
        assert_eq!(twice.current.kid, "k2");
        assert_eq!(twice.previous.as_ref().unwrap().kid, "k1");
        assert_eq!(twice.next.as_ref().unwrap().kid, "k3");
        let thrice = twice.rotated(SigningKey::generate("k4"));
        assert!(thrice.key("k1").is_none());
        assert!(
            ["k2", "k3", "k4"]
                .iter()
                .all(|kid| thrice.key(kid).is_some())
        );
        assert_eq!(thrice.seal, KEY);
        let reread = KeyRing::parse(&thrice.to_secret_string()).unwrap();
        assert_eq!(reread, thrice);
        assert!(!format!("{thrice:?}").contains(&thrice.current.key));
    }

    #[test]
    fn short_or_clashing_keys_are_refused_without_showing_them() {
        let error = KeyRing::parse(r#"{"kid": "k1", "key": "short-secret"}"#).unwrap_err();
        assert!(!error.contains("short-secret"));
        let clash = format!(
            r#"{{"current": {{"kid": "k1", "key": "{KEY}"}}, "previous": {{"kid": "k1", "key": "{KEY}"}}}}"#
        );
        assert!(KeyRing::parse(&clash).is_err());
        assert!(KeyRing::parse("not json").is_err());
    }
}
