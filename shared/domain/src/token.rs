//! Signed tokens: HS256 JWTs naming tenant, user, role and the user's token version.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use serde::{Deserialize, Serialize};

use std::sync::{Arc, RwLock};

use crate::error::{ApiError, ApiResult};
use crate::keys::KeyRing;
use crate::model::{Millis, Role, User};

pub const ISSUER: &str = "useradmin";
/// HMAC keys shorter than the hash output weaken HS256.
pub const MIN_KEY_BYTES: usize = 32;
pub const CLOCK_LEEWAY_SECONDS: u64 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The user id.
    pub sub: String,
    /// The tenant id.
    pub ten: String,
    pub role: Role,
    /// Must equal the user's current `token_version`, else the token was revoked.
    pub tv: u64,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
}

/// A verified token: who presented it, and at which endpoint. Whether it is still live is checked
/// against the store.
#[derive(Debug, Clone)]
pub struct Caller {
    pub claims: Claims,
    /// `METHOD /route` the request came to, for the audit trail.
    pub endpoint: String,
}

impl Caller {
    pub fn at(self, endpoint: String) -> Caller {
        Caller { endpoint, ..self }
    }

    /// Who is acting, as the audit trail records it.
    pub fn actor(&self) -> crate::model::Actor {
        crate::model::Actor {
            user_id: self.claims.sub.clone(),
            endpoint: self.endpoint.clone(),
        }
    }
}

/// Signs with the key ring's current key and verifies with any key of the ring; the ring can be
/// replaced while requests are served (a rotation).
pub struct TokenService {
    keys: RwLock<Arc<Keys>>,
    validation: Validation,
    pub lifetime_seconds: i64,
}

struct Keys {
    current_kid: String,
    encoding: EncodingKey,
    decoding: Vec<(String, DecodingKey)>,
}

impl Keys {
    /// `keys[0]` signs; every key verifies.
    fn build(keys: &[(&str, &[u8])]) -> Result<Keys, String> {
        for (kid, secret) in keys {
            if secret.len() < MIN_KEY_BYTES {
                return Err(format!(
                    "the token signing key must be at least {MIN_KEY_BYTES} bytes"
                ));
            }
            if kid.is_empty() {
                return Err("the token key id must not be empty".into());
            }
        }
        let (current_kid, current) = keys.first().ok_or("no signing key")?;
        Ok(Keys {
            current_kid: (*current_kid).to_owned(),
            encoding: EncodingKey::from_secret(current),
            decoding: keys
                .iter()
                .map(|(kid, secret)| ((*kid).to_owned(), DecodingKey::from_secret(secret)))
                .collect(),
        })
    }

    fn from_ring(ring: &KeyRing) -> Result<Keys, String> {
        let keys: Vec<(&str, &[u8])> = ring
            .keys()
            .map(|key| (key.kid.as_str(), key.key.as_bytes()))
            .collect();
        Keys::build(&keys)
    }
}

/// A freshly issued token and its times.
pub struct IssuedToken {
    pub token: String,
    pub issued_at: Millis,
    pub expires_at: Millis,
}

impl TokenService {
    /// One key that signs and verifies.
    pub fn new(key_id: &str, secret: &[u8], lifetime_seconds: i64) -> Result<TokenService, String> {
        TokenService::with_keys(Keys::build(&[(key_id, secret)])?, lifetime_seconds)
    }

    pub fn from_ring(ring: &KeyRing, lifetime_seconds: i64) -> Result<TokenService, String> {
        TokenService::with_keys(Keys::from_ring(ring)?, lifetime_seconds)
    }

    /// Takes a new ring (after a rotation) for the tokens issued and verified from now on.
    pub fn replace(&self, ring: &KeyRing) -> Result<(), String> {
        let keys = Arc::new(Keys::from_ring(ring)?);
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = keys;
        Ok(())
    }

    /// Whether a token with this key id could verify.
    pub fn knows(&self, kid: &str) -> bool {
        self.keys().decoding.iter().any(|(known, _)| known == kid)
    }

    fn keys(&self) -> Arc<Keys> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn with_keys(keys: Keys, lifetime_seconds: i64) -> Result<TokenService, String> {
        let mut validation = Validation::new(Algorithm::HS256);
        // A few seconds for clock differences between the instances that issue and check tokens.
        validation.leeway = CLOCK_LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "sub"]);
        Ok(TokenService {
            keys: RwLock::new(Arc::new(keys)),
            validation,
            lifetime_seconds,
        })
    }

    pub fn issue(&self, user: &User, now: Millis) -> ApiResult<IssuedToken> {
        let iat = now.div_euclid(1000);
        let claims = Claims {
            iss: ISSUER.into(),
            sub: user.user_id.clone(),
            ten: user.tenant_id.clone(),
            role: user.role,
            tv: user.token_version,
            iat,
            nbf: iat,
            exp: iat + self.lifetime_seconds,
            jti: random_token_id(),
        };
        let keys = self.keys();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(keys.current_kid.clone());
        let token = encode(&header, &claims, &keys.encoding)
            .map_err(|e| ApiError::Internal(format!("token signing failed: {e}")))?;
        Ok(IssuedToken {
            token,
            issued_at: iat * 1000,
            expires_at: claims.exp * 1000,
        })
    }

    /// Checks signature, algorithm, key id, issuer and validity period.
    pub fn verify(&self, token: &str) -> ApiResult<Caller> {
        let header = decode_header(token).map_err(|_| ApiError::TokenInvalid)?;
        let keys = self.keys();
        let decoding = keys
            .decoding
            .iter()
            .find(|(kid, _)| header.kid.as_deref() == Some(kid.as_str()))
            .map(|(_, key)| key);
        let Some(decoding) = decoding.filter(|_| header.alg == Algorithm::HS256) else {
            return Err(ApiError::TokenInvalid);
        };
        match decode::<Claims>(token, decoding, &self.validation) {
            Ok(data) => Ok(Caller {
                claims: data.claims,
                endpoint: String::new(),
            }),
            Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => {
                Err(ApiError::TokenExpired)
            }
            Err(_) => Err(ApiError::TokenInvalid),
        }
    }
}

fn random_token_id() -> String {
    use rand::TryRngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .expect("OS random generator");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Backend, UserType};

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn service() -> TokenService {
        TokenService::new("k1", KEY, 3600).unwrap()
    }

    fn user() -> User {
        User::new("t1", "alice", UserType::User, Backend::Local, 0)
    }

    fn now() -> Millis {
        chrono::Utc::now().timestamp_millis()
    }

    #[test]
    fn a_token_round_trips_with_its_claims() {
        let issued = service().issue(&user(), now()).unwrap();
        let caller = service().verify(&issued.token).unwrap();
        assert_eq!(
            (caller.claims.sub.as_str(), caller.claims.ten.as_str()),
            ("alice", "t1")
        );
        assert_eq!(issued.expires_at - issued.issued_at, 3_600_000);
    }

    #[test]
    fn expired_wrong_key_unknown_kid_and_alg_none_are_refused() {
        let expired = service().issue(&user(), now() - 7_200_000).unwrap();
        assert_eq!(
            service().verify(&expired.token).unwrap_err(),
            ApiError::TokenExpired
        );

        let other_key =
            TokenService::new("k1", b"another-key-another-key-another-key", 3600).unwrap();
        let forged = other_key.issue(&user(), now()).unwrap();
        assert_eq!(
            service().verify(&forged.token).unwrap_err(),
            ApiError::TokenInvalid
        );

        let other_kid = TokenService::new("k2", KEY, 3600)
            .unwrap()
            .issue(&user(), now())
            .unwrap();
        assert_eq!(
            service().verify(&other_kid.token).unwrap_err(),
            ApiError::TokenInvalid
        );

        let good = service().issue(&user(), now()).unwrap().token;
        let payload = good.split('.').nth(1).unwrap();
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIiwia2lkIjoiazEifQ.{payload}.");
        assert_eq!(service().verify(&none).unwrap_err(), ApiError::TokenInvalid);
    }

    #[test]
    fn keys_sign_after_being_published_and_verify_until_retired() {
        let ring = KeyRing::single("k1", std::str::from_utf8(KEY).unwrap()).unwrap();
        let tokens = TokenService::from_ring(&ring, 3600).unwrap();
        let old = tokens.issue(&user(), now()).unwrap().token;
        let published = ring.rotated(crate::keys::SigningKey::generate("k2"));
        tokens.replace(&published).unwrap();
        assert_eq!(kid_of(&tokens.issue(&user(), now()).unwrap().token), "k1");
        assert!(tokens.knows("k2"), "the next key verifies before it signs");
        let promoted = published.rotated(crate::keys::SigningKey::generate("k3"));
        tokens.replace(&promoted).unwrap();
        let new = tokens.issue(&user(), now()).unwrap().token;
        assert_eq!(kid_of(&new), "k2");
        assert!(tokens.verify(&old).is_ok() && tokens.verify(&new).is_ok());
        tokens
            .replace(&promoted.rotated(crate::keys::SigningKey::generate("k4")))
            .unwrap();
        assert_eq!(tokens.verify(&old).unwrap_err(), ApiError::TokenInvalid);
        assert!(tokens.verify(&new).is_ok());
        assert!(tokens.knows("k2") && !tokens.knows("k1"));
    }

    fn kid_of(token: &str) -> String {
        decode_header(token).unwrap().kid.unwrap()
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(TokenService::new("k1", b"short", 3600).is_err());
    }
}
