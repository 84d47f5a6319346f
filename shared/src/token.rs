//! Signed tokens: HS256 JWTs naming tenant, user, role and the user's token version.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
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

pub struct TokenService {
    key_id: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub lifetime_seconds: i64,
}

/// A freshly issued token and its times.
pub struct IssuedToken {
    pub token: String,
    pub issued_at: Millis,
    pub expires_at: Millis,
}

impl TokenService {
    pub fn new(key_id: &str, secret: &[u8], lifetime_seconds: i64) -> Result<TokenService, String> {
        if secret.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the token signing key must be at least {MIN_KEY_BYTES} bytes"
            ));
        }
        if key_id.is_empty() {
            return Err("the token key id must not be empty".into());
        }
        let mut validation = Validation::new(Algorithm::HS256);
        // A few seconds for clock differences between the instances that issue and check tokens.
        validation.leeway = CLOCK_LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "sub"]);
        Ok(TokenService {
            key_id: key_id.to_owned(),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
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
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.key_id.clone());
        let token = encode(&header, &claims, &self.encoding)
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
        if header.alg != Algorithm::HS256 || header.kid.as_deref() != Some(self.key_id.as_str()) {
            return Err(ApiError::TokenInvalid);
        }
        match decode::<Claims>(token, &self.decoding, &self.validation) {
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
    fn short_keys_are_refused() {
        assert!(TokenService::new("k1", b"short", 3600).is_err());
    }
}
