//! The notification outbox: a message to a user (a temporary password, a verification code) is
//! written into the user's own item by the same write as the change that causes it, and the
//! notifier delivers it from the table's stream. A user holds at most one undelivered message per
//! template and channel: a newer one replaces it, as its secret replaces the older secret. A secret
//! in a message is sealed (AES-256-GCM, key derived from the deployment's signing key by HKDF) and
//! bound to its message, so the table never holds it in clear.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::model::{Millis, User};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Channel {
    Email,
    Phone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Template {
    /// An administrator set a temporary password; the user must change it at the next login.
    TemporaryPassword,
    /// A code that confirms the user's email address (seed 004 `verify_email`).
    VerificationCode,
    /// A one-time link (or token) that sets a new password: a forgotten password (seed 004's
    /// anonymous `reset_password`).
    PasswordLink,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub notification_id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub channel: Channel,
    pub recipient: String,
    pub template: Template,
    /// The secret the message carries, sealed; `None` for messages without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_secret: Option<String>,
    pub created_at: Millis,
}

/// A message not delivered within a day is never sent (a stream keeps its records for a day too).
pub const DELIVERY_WINDOW_MS: Millis = 86_400_000;

impl Notification {
    /// Whether the message is too old to send: the notifier removes it unsent.
    pub fn is_stale(&self, now: Millis) -> bool {
        now >= self.created_at + DELIVERY_WINDOW_MS
    }
}

/// Seals and opens the secrets in messages, and keys the digests of verification codes.
pub struct SecretSealer {
    key: LessSafeKey,
    /// A six-digit code has only a million values: an unkeyed hash in a leaked table would give
    /// them all away, a keyed one gives nothing without the signing key.
    code_key: hmac::Key,
}

/// How long a verification code works (SpaceONE: 3600 s).
pub const VERIFICATION_CODE_LIFETIME_MS: Millis = 3_600_000;
/// Wrong codes after which the code stops working.
pub const VERIFICATION_CODE_ATTEMPTS: u32 = 5;
/// Wrong codes a user may send in one window, whatever codes were sent in it; past them no code
/// is sent or checked until the window ends. Each new code's own attempts alone would allow five
/// guesses a minute for ever.
pub const VERIFICATION_WRONG_CODES_PER_WINDOW: u32 = 10;
pub const VERIFICATION_WRONG_CODES_WINDOW_MS: Millis = 3_600_000;

impl SecretSealer {
    pub fn from_signing_key(signing_key: &[u8]) -> SecretSealer {
        let prk = Salt::new(HKDF_SHA256, b"useradmin outbox").extract(signing_key);
        let mut key = [0u8; 32];
        prk.expand(&[b"aes-256-gcm v1"], &AES_256_GCM)
            .and_then(|okm| okm.fill(&mut key))
            .expect("HKDF output of the AEAD key length");
        let unbound = UnboundKey::new(&AES_256_GCM, &key).expect("a 32-byte AES-256 key");
        let code_key = Salt::new(HKDF_SHA256, b"useradmin verification codes")
            .extract(signing_key)
            .expand(&[b"hmac-sha256 v1"], hmac::HMAC_SHA256)
            .map(hmac::Key::from)
            .expect("HKDF output of the HMAC key length");
        SecretSealer {
            key: LessSafeKey::new(unbound),
            code_key,
        }
    }

    /// What a code is bound to: the user and the address it was sent to, normalised as uniqueness
    /// compares addresses (a change of letter case is the same address and keeps the code).
    fn code_message(user: &User, code: &str) -> String {
        format!(
            "{}\n{}\n{}\n{code}",
            user.tenant_id,
            user.user_id,
            crate::validate::uniqueness_key(user.email.as_deref().unwrap_or_default())
        )
    }

    /// The digest stored in place of a verification code.
    pub fn code_digest(&self, user: &User, code: &str) -> String {
        let tag = hmac::sign(&self.code_key, Self::code_message(user, code).as_bytes());
        STANDARD_NO_PAD.encode(tag.as_ref())
    }

    /// Whether `code` is the one whose digest was stored for this user and address (constant time).
    pub fn code_matches(&self, user: &User, code: &str, digest: &str) -> bool {
        STANDARD_NO_PAD.decode(digest).is_ok_and(|tag| {
            hmac::verify(
                &self.code_key,
                Self::code_message(user, code).as_bytes(),
                &tag,
            )
            .is_ok()
        })
    }

    /// A message carrying a verification code to the user's email address.
    pub fn verification_code(
        &self,
        user: &User,
        code: &str,
        now: Millis,
    ) -> ApiResult<Notification> {
        self.message(user, Channel::Email, Template::VerificationCode, code, now)
    }

    fn aad(notification: &Notification) -> String {
        format!(
            "{}\n{}\n{}",
            notification.tenant_id, notification.user_id, notification.notification_id
        )
    }

    fn seal(&self, notification: &Notification, secret: &str) -> ApiResult<String> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| ApiError::Internal("random nonce".into()))?;
        let mut sealed = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(Self::aad(notification).as_bytes()),
                &mut sealed,
            )
            .map_err(|_| ApiError::Internal("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(STANDARD_NO_PAD.encode(out))
    }

    /// The secret of a message, for the notifier that delivers it.
    pub fn open(&self, notification: &Notification) -> ApiResult<Option<String>> {
        let Some(sealed) = &notification.sealed_secret else {
            return Ok(None);
        };
        let bad = || ApiError::Internal("sealed secret unreadable".into());
        let bytes = STANDARD_NO_PAD.decode(sealed).map_err(|_| bad())?;
        if bytes.len() < NONCE_LEN {
            return Err(bad());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad())?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(
                nonce,
                Aad::from(Self::aad(notification).as_bytes()),
                &mut buffer,
            )
            .map_err(|_| bad())?;
        String::from_utf8(plain.to_vec())
            .map(Some)
            .map_err(|_| bad())
    }

    /// A message carrying a forgotten-password link (or its token) to the user's email address.
    pub fn password_link(&self, user: &User, link: &str, now: Millis) -> ApiResult<Notification> {
        self.message(user, Channel::Email, Template::PasswordLink, link, now)
    }

    /// A message telling the user their temporary password on the given channel.
    pub fn temporary_password(
        &self,
        user: &User,
        password: &str,
        channel: Channel,
        now: Millis,
    ) -> ApiResult<Notification> {
        self.message(user, channel, Template::TemporaryPassword, password, now)
    }

    fn message(
        &self,
        user: &User,
        channel: Channel,
        template: Template,
        secret: &str,
        now: Millis,
    ) -> ApiResult<Notification> {
        let recipient = recipient(user, channel).ok_or(ApiError::ResetPasswordWithoutEmail)?;
        let mut notification = Notification {
            notification_id: random_id(),
            tenant_id: user.tenant_id.clone(),
            user_id: user.user_id.clone(),
            channel,
            recipient,
            template,
            sealed_secret: None,
            created_at: now,
        };
        notification.sealed_secret = Some(self.seal(&notification, secret)?);
        Ok(notification)
    }
}

/// Where a message on `channel` goes for this user, if the user has that channel.
pub fn recipient(user: &User, channel: Channel) -> Option<String> {
    match channel {
        Channel::Email => user.email.clone().filter(|e| !e.is_empty()),
        Channel::Phone => match (&user.areacode, &user.phone) {
            (Some(areacode), Some(phone)) if !phone.is_empty() => Some(format!(
                "+{}{phone}",
                areacode.trim_start_matches(['+', '0'])
            )),
            (None, Some(phone)) if !phone.is_empty() => Some(phone.clone()),
            _ => None,
        },
    }
}

fn random_id() -> String {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).expect("OS random generator");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Backend, UserType};

    fn user() -> User {
        let mut user = User::new("t1", "a@example.com", UserType::User, Backend::Local, 0);
        user.email = Some("a@example.com".into());
        user
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_its_own_message() {
        let sealer = SecretSealer::from_signing_key(b"0123456789abcdef0123456789abcdef");
        let message = sealer
            .temporary_password(&user(), "Temp0raryPass", Channel::Email, 1_000)
            .unwrap();
        let sealed = message.sealed_secret.clone().unwrap();
        assert!(!sealed.contains("Temp0raryPass"));
        assert_eq!(
            sealer.open(&message).unwrap().as_deref(),
            Some("Temp0raryPass")
        );

        let code = "042917";
        let digest = sealer.code_digest(&user(), code);
        assert!(sealer.code_matches(&user(), code, &digest));
        assert!(!sealer.code_matches(&user(), "042918", &digest));
        let mut readdressed = user();
        readdressed.email = Some("b@example.com".into());
        assert!(
            !sealer.code_matches(&readdressed, code, &digest),
            "a code confirms only the address it was sent to"
        );

        let other_key = SecretSealer::from_signing_key(b"another-key-another-key-another-key");
        assert!(other_key.open(&message).is_err());
        let mut moved = message.clone();
        moved.user_id = "b@example.com".into();
        assert!(
            sealer.open(&moved).is_err(),
            "a sealed secret cannot be moved to another user"
        );
    }
}
