//! Field validation, one function per rule. Each returns the value to store or the error to answer.

use std::str::FromStr;

use unicode_normalization::UnicodeNormalization;

use crate::error::{ApiError, ApiResult};

/// The canonical identifier rule shared by `user_id` and tenant ids: they appear in URL paths and in
/// DynamoDB keys, so they keep to characters that need no escaping (email addresses included).
fn check_identifier(key: &str, value: &str, max: usize) -> ApiResult<()> {
    if value.is_empty() {
        return Err(ApiError::RequiredParameter(key.to_owned()));
    }
    if value.chars().count() > max {
        return Err(ApiError::invalid(key, format!("at most {max} characters")));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+');
    if !value.chars().all(allowed) {
        return Err(ApiError::invalid(
            key,
            "only letters, digits and . _ - @ + are allowed",
        ));
    }
    if value.starts_with('.') || value.contains("..") {
        return Err(ApiError::invalid(
            key,
            "must not start with a dot or contain '..'",
        ));
    }
    Ok(())
}

pub const USER_ID_MAX: usize = 128;

/// The canonical user's limits, in characters: its display name, email address and language tag
/// (SpaceONE's, which users as code applies too; a dialect may accept less).
pub const DISPLAY_NAME_MAX: usize = 128;
pub const EMAIL_MAX: usize = 255;
pub const LANGUAGE_MAX: usize = 7;

pub fn user_id(value: &str) -> ApiResult<()> {
    check_identifier("user_id", value, USER_ID_MAX)
}

pub fn tenant_id(key: &str, value: &str) -> ApiResult<()> {
    check_identifier(key, value, 64)
}

/// Rejects control characters (including newlines and NUL) in any free text.
/// Whether a character may not appear in stored text: control characters (Cc), and the bidirectional
/// formatting characters that make text display other than it reads ("Trojan Source": embeddings,
/// overrides, isolates and the implicit marks).
pub fn is_disallowed_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

pub fn no_control_characters(key: &str, value: &str) -> ApiResult<()> {
    if value.chars().any(is_disallowed_control) {
        return Err(ApiError::invalid(key, "control characters are not allowed"));
    }
    Ok(())
}

pub fn max_chars(key: &str, value: &str, max: usize) -> ApiResult<()> {
    if value.chars().count() > max {
        return Err(ApiError::invalid(key, format!("at most {max} characters")));
    }
    Ok(())
}

/// A display name: free text without control characters.
pub fn display_name(key: &str, value: &str, max: usize) -> ApiResult<String> {
    no_control_characters(key, value)?;
    max_chars(key, value, max)?;
    Ok(value.nfc().collect())
}

/// Email syntax per RFC 5321/5322 (the `email_address` crate), stored as given but NFC-normalised.
pub fn email(key: &str, value: &str, max: usize) -> ApiResult<String> {
    if value.chars().count() > max {
        return Err(ApiError::invalid(key, format!("at most {max} characters")));
    }
    let normalized: String = value.nfc().collect();
    if !is_email(&normalized) {
        return Err(ApiError::InvalidEmail(key.to_owned()));
    }
    Ok(normalized)
}

pub fn is_email(value: &str) -> bool {
    // A domain without a dot is valid per RFC but never a deliverable address here.
    email_address::EmailAddress::from_str(value).is_ok_and(|address| address.domain().contains('.'))
        && !value
            .chars()
            .any(|c| is_disallowed_control(c) || c.is_whitespace())
}

/// An IANA time zone name.
pub fn timezone(value: &str) -> ApiResult<String> {
    chrono_tz::Tz::from_str(value)
        .map(|zone| zone.name().to_owned())
        .map_err(|_| ApiError::invalid("timezone", "not an IANA time zone"))
}

/// A language tag such as `en` or `ko-KR`.
pub fn language(value: &str, max: usize) -> ApiResult<String> {
    max_chars("language", value, max)?;
    let valid = value
        .split('-')
        .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
    if !valid {
        return Err(ApiError::invalid("language", "not a language tag"));
    }
    Ok(value.to_owned())
}

/// The form under which a unique value is compared: Unicode NFKC with case folded, so that look-alike
/// spellings of one name or address (full-width letters, composed and decomposed accents, case)
/// count as the same.
pub fn uniqueness_key(value: &str) -> String {
    value
        .nfkc()
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .nfkc()
        .collect()
}

/// Free-form tags (a protobuf `Struct`) must fit what the store can hold: DynamoDB nests at most 32
/// levels, keeps numbers between 1e-130 and 1e125 in magnitude, and refuses empty map keys.
pub const TAGS_MAX_DEPTH: usize = 16;

/// Tags as a request gives them: an object (protobuf's `Struct`), or a list of pairs
/// `{<key>: "...", <value>: ...}` with the member names given (`["key", "value"]` in SpaceONE's own
/// examples, CloudFormation's `["Key", "Value"]`), each key once. Either way they are kept as the
/// object, and checked as `tags` checks it.
pub fn tags_of(
    key: &str,
    given: serde_json::Value,
    pair: [&str; 2],
) -> ApiResult<serde_json::Map<String, serde_json::Value>> {
    use serde_json::Value;
    let [key_member, value_member] = pair;
    let tags = match given {
        Value::Object(map) => map,
        Value::Array(pairs) => {
            let mut tags = serde_json::Map::new();
            for (i, item) in pairs.into_iter().enumerate() {
                let at = format!("{key}[{i}]");
                let Value::Object(mut members) = item else {
                    return Err(ApiError::invalid(
                        &at,
                        format!("each tag is an object {{{key_member}, {value_member}}}"),
                    ));
                };
                let (Some(Value::String(name)), Some(value), true) = (
                    members.remove(key_member),
                    members.remove(value_member),
                    members.is_empty(),
                ) else {
                    return Err(ApiError::invalid(
                        &at,
                        format!(
                            "each tag has exactly a string {key_member:?} and a {value_member:?}"
                        ),
                    ));
                };
                if tags.contains_key(&name) {
                    return Err(ApiError::invalid(
                        &at,
                        format!("the tag {name:?} is given more than once"),
                    ));
                }
                tags.insert(name, value);
            }
            tags
        }
        other => {
            return Err(ApiError::invalid(
                key,
                format!(
                    "must be an object or a list of {{{key_member}, {value_member}}}, not {}",
                    match other {
                        Value::Null => "null",
                        Value::Bool(_) => "a boolean",
                        Value::Number(_) => "a number",
                        _ => "a string",
                    }
                ),
            ));
        }
    };
    self::tags(key, &tags)?;
    Ok(tags)
}

pub fn tags(key: &str, tags: &serde_json::Map<String, serde_json::Value>) -> ApiResult<()> {
    fn check(key: &str, value: &serde_json::Value, depth: usize) -> ApiResult<()> {
        use serde_json::Value;
        if depth > TAGS_MAX_DEPTH {
            return Err(ApiError::invalid(
                key,
                format!("nested deeper than {TAGS_MAX_DEPTH} levels"),
            ));
        }
        match value {
            Value::Object(map) => map.iter().try_for_each(|(name, inner)| {
                if name.is_empty() {
                    return Err(ApiError::invalid(key, "empty keys are not allowed"));
                }
                check(key, inner, depth + 1)
            }),
            Value::Array(items) => items
                .iter()
                .try_for_each(|inner| check(key, inner, depth + 1)),
            Value::Number(number) => match number.as_f64() {
                Some(x) if x == 0.0 || (1e-130..1e125).contains(&x.abs()) => Ok(()),
                _ => Err(ApiError::invalid(
                    key,
                    "numbers must lie between 1e-130 and 1e125 in magnitude",
                )),
            },
            _ => Ok(()),
        }
    }
    check(key, &serde_json::Value::Object(tags.clone()), 1)
}

/// Normal forms can grow (NFKC expands some characters up to 18-fold); a unique value must still
/// fit in a storage key (DynamoDB's sort keys hold 1024 bytes).
pub const UNIQUE_KEY_MAX_BYTES: usize = 512;

pub fn fits_uniqueness_key(key: &str, value: &str) -> ApiResult<()> {
    if uniqueness_key(value).len() > UNIQUE_KEY_MAX_BYTES {
        return Err(ApiError::invalid(key, "too long once normalised"));
    }
    Ok(())
}

/// The password policy (Huawei's defaults, configurable): length, character classes, and not built
/// from the user's own name, email or phone.
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
    /// How many of the four classes (upper, lower, digit, special) must appear: 2 to 4.
    pub min_classes: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 8,
            max_length: 128,
            min_classes: 2,
        }
    }
}

/// What the password is checked against besides itself.
pub struct PasswordContext<'a> {
    pub login_name: &'a str,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
}

impl PasswordPolicy {
    /// Returns the first rule the password breaks, by name, as the error's `rule`.
    pub fn check(&self, password: &str, context: &PasswordContext<'_>) -> ApiResult<()> {
        let fail = |rule: String| Err(ApiError::InvalidPasswordFormat { rule });
        let length = password.chars().count();
        if length < self.min_length {
            return fail(format!("at least {} characters", self.min_length));
        }
        if length > self.max_length {
            return fail(format!("at most {} characters", self.max_length));
        }
        if password.chars().any(char::is_control) {
            return fail("no control characters".into());
        }
        let classes = [
            password.chars().any(|c| c.is_uppercase()),
            password.chars().any(|c| c.is_lowercase()),
            password.chars().any(|c| c.is_ascii_digit()),
            password.chars().any(|c| !c.is_alphanumeric()),
        ];
        if classes.iter().filter(|present| **present).count() < self.min_classes {
            return fail(format!(
                "at least {} of uppercase letters, lowercase letters, digits and special characters",
                self.min_classes
            ));
        }
        let folded = password.to_lowercase();
        let name = context.login_name.to_lowercase();
        let reversed: String = name.chars().rev().collect();
        if !name.is_empty() && (folded == name || folded == reversed) {
            return fail("not the user name or the user name reversed".into());
        }
        if let Some(email) = context.email.filter(|e| !e.is_empty()) {
            if folded.contains(&email.to_lowercase()) {
                return fail("must not contain the email address".into());
            }
        }
        if let Some(phone) = context.phone.filter(|p| !p.is_empty()) {
            if password.contains(phone) {
                return fail("must not contain the mobile number".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> PasswordContext<'static> {
        PasswordContext {
            login_name: "alice",
            email: Some("alice@example.com"),
            phone: Some("12345678910"),
        }
    }

    #[test]
    fn the_seed_001_example_password_meets_the_policy() {
        assert!(
            PasswordPolicy::default()
                .check("IAMPassword@", &context())
                .is_ok()
        );
    }

    #[test]
    fn each_password_rule_is_named_in_its_error() {
        let policy = PasswordPolicy::default();
        let rule = |pw: &str| match policy.check(pw, &context()) {
            Err(ApiError::InvalidPasswordFormat { rule }) => rule,
            other => panic!("{pw:?} gave {other:?}"),
        };
        assert!(rule("Ab1!").contains("at least 8"));
        assert!(rule(&"Ab1!".repeat(40)).contains("at most 128"));
        assert!(rule("alllowercase").contains("at least 2 of"));
        assert!(rule("x-alice@example.com").contains("email"));
        assert!(rule("Tel12345678910").contains("mobile"));
        let named = PasswordContext {
            login_name: "Secret-User1",
            email: None,
            phone: None,
        };
        for own_name in ["secret-user1", "1resu-terceS"] {
            match policy.check(own_name, &named) {
                Err(ApiError::InvalidPasswordFormat { rule }) => {
                    assert!(rule.contains("user name"))
                }
                other => panic!("{own_name:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn look_alike_spellings_share_one_uniqueness_key() {
        assert_eq!(
            uniqueness_key("ＡＬＩＣＥ@Example.com"),
            uniqueness_key("alice@example.com")
        );
        assert_eq!(
            uniqueness_key("Ame\u{301}lie"),
            uniqueness_key("am\u{e9}lie")
        );
        assert_ne!(uniqueness_key("alice"), uniqueness_key("alicia"));
        assert!(
            fits_uniqueness_key("name", &"\u{fdfa}".repeat(100)).is_err(),
            "NFKC expands U+FDFA 18-fold"
        );
        assert!(fits_uniqueness_key("name", &"a".repeat(255)).is_ok());
    }

    #[test]
    fn identifiers_refuse_path_and_control_characters() {
        for bad in ["a/b", "..", "a%2Fb", "a b", "a\u{0}", "", ".hidden", "ａ"] {
            assert!(user_id(bad).is_err(), "{bad:?} accepted");
        }
        assert!(user_id("dkang@mz.co.kr").is_ok());
        assert!(user_id(&"a".repeat(129)).is_err());
    }

    #[test]
    fn tags_must_fit_the_store() {
        let parse = |text: &str| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text).unwrap()
        };
        assert!(
            tags(
                "tags",
                &parse(r#"{"a": "b", "n": 1.5, "l": [1, {"x": true}], "z": 0}"#)
            )
            .is_ok()
        );
        for bad in [
            r#"{"n": 1e200}"#,
            r#"{"n": 1e-200}"#,
            r#"{"": 1}"#,
            r#"{"a": {"": 1}}"#,
        ] {
            assert!(tags("tags", &parse(bad)).is_err(), "{bad} accepted");
        }
        let deep = format!("{}1{}", r#"{"a":"#.repeat(20), "}".repeat(20));
        assert!(tags("tags", &parse(&deep)).is_err());
    }

    #[test]
    fn emails_timezones_and_languages() {
        assert!(email("email", "dkang@mz.co.kr", 255).is_ok());
        for bad in ["plain", "a@b", "a @b.com", "a@b.com\n"] {
            assert!(email("email", bad, 255).is_err(), "{bad:?} accepted");
        }
        assert_eq!(timezone("Asia/Seoul").unwrap(), "Asia/Seoul");
        assert!(timezone("Mars/Olympus").is_err());
        assert!(language("ko-KR", 7).is_ok());
        assert!(language("english-language", 7).is_err());
    }
}
