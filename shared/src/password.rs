//! argon2id password hashing (OWASP parameters, PHC strings) and random secrets.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::seq::SliceRandom;
use rand::{Rng, TryRngCore};

use crate::error::{ApiError, ApiResult};

/// OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane.
pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

fn hasher() -> Argon2<'static> {
    let params =
        Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash(password: &str) -> ApiResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ApiError::Internal(format!("password hashing failed: {e}")))
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes,
    /// Right password, but the hash was made with other parameters: store a fresh one.
    YesRehash,
}

pub fn verify(password: &str, stored: &str) -> Verified {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified::No;
    };
    if hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_err()
    {
        return Verified::No;
    }
    let current = parsed.algorithm.as_str() == "argon2id"
        && parsed.version == Some(Version::V0x13 as u32)
        && Params::try_from(&parsed).is_ok_and(|p| {
            p.m_cost() == MEMORY_KIB && p.t_cost() == ITERATIONS && p.p_cost() == PARALLELISM
        });
    if current {
        Verified::Yes
    } else {
        Verified::YesRehash
    }
}

/// The hash of a random password nobody knows, with the current parameters. Verifying against it
/// costs what a real verification costs, with no work at start-up.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$Hdst+a3EycYxnJewQeJSgA$17WoLqRJvLtwhOU5DF5KNy+9M/mW7T7i1vil5g14Lig";

/// Spends the same work as a real verification, so that an unknown user answers in the same time as
/// a wrong password.
pub fn verify_against_nothing(password: &str) {
    let _ = verify(password, DUMMY_HASH);
}

const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const DIGITS: &[u8] = b"23456789";
const SPECIAL: &[u8] = b"!@#$%^&*-_=+?";

/// A random password from the OS generator with an upper-case letter, a lower-case letter, a digit
/// and a special character, so that it meets any setting of the password policy.
pub fn random_password(length: usize) -> String {
    random_from(&[UPPER, LOWER, DIGITS, SPECIAL], length)
}

/// SpaceONE's temporary password: 12 characters with upper, lower and digit, and a special
/// character too when the policy asks for all four classes.
pub fn temporary_password(min_classes: usize) -> String {
    if min_classes >= 4 {
        random_from(&[UPPER, LOWER, DIGITS, SPECIAL], 12)
    } else {
        random_from(&[UPPER, LOWER, DIGITS], 12)
    }
}

/// `length` characters with at least one of each class, shuffled.
fn random_from(classes: &[&[u8]], length: usize) -> String {
    let mut rng = rand::rngs::OsRng.unwrap_err();
    let mut chars: Vec<u8> = classes
        .iter()
        .map(|class| class[rng.random_range(0..class.len())])
        .collect();
    let all: Vec<u8> = classes.concat();
    while chars.len() < length.max(classes.len()) {
        chars.push(all[rng.random_range(0..all.len())]);
    }
    chars.shuffle(&mut rng);
    String::from_utf8(chars).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings_with_owasp_parameters() {
        let stored = hash("IAMPassword@").unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert_eq!(verify("IAMPassword@", &stored), Verified::Yes);
        assert_eq!(verify("IAMPassword!", &stored), Verified::No);
        assert_eq!(verify("IAMPassword@", "not a hash"), Verified::No);
    }

    #[test]
    fn the_dummy_hash_uses_the_current_parameters() {
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (MEMORY_KIB, ITERATIONS, PARALLELISM)
        );
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
    }

    #[test]
    fn a_hash_with_other_parameters_asks_for_a_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        );
        let salt = SaltString::generate(&mut OsRng);
        let stored = weak
            .hash_password(b"Old-Passw0rd", &salt)
            .unwrap()
            .to_string();
        assert_eq!(verify("Old-Passw0rd", &stored), Verified::YesRehash);
    }

    #[test]
    fn temporary_passwords_are_12_letters_and_digits_of_each_kind() {
        let temporary = temporary_password(2);
        assert_eq!(temporary.len(), 12);
        for class in [UPPER, LOWER, DIGITS] {
            assert!(
                temporary.bytes().any(|c| class.contains(&c)),
                "{class:?} missing"
            );
        }
        assert!(temporary.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert!(temporary_password(4).bytes().any(|c| SPECIAL.contains(&c)));
    }

    #[test]
    fn random_passwords_have_every_class_and_differ() {
        let a = random_password(12);
        let b = random_password(12);
        assert_eq!(a.len(), 12);
        assert_ne!(a, b);
        for class in [UPPER, LOWER, DIGITS, SPECIAL] {
            assert!(a.bytes().any(|c| class.contains(&c)), "{class:?} missing");
        }
    }
}
