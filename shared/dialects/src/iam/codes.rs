//! Huawei IAM's error codes: the token API's (`IAM.0001`, ...) and seed 001's numbered codes
//! 1100-1117 with their texts; the project's own codes where IAM documents none.

use crate::error::{ApiError, UniqueField};

/// Seed 001's numbered code for this error, by the request field it concerns.
pub fn user_admin_code(error: &ApiError) -> Option<&'static str> {
    let field = |key: &str| match key.rsplit('.').next().unwrap_or(key) {
        "name" => Some("1101"),
        "email" => Some("1102"),
        "phone" => Some("1104"),
        "xuser_type" | "xuser_id" => Some("1105"),
        "areacode" => Some("1106"),
        "description" => Some("1117"),
        _ => None,
    };
    match error {
        ApiError::RequiredParameter(_) => Some("1100"),
        ApiError::InvalidParameter { key, .. } => field(key),
        ApiError::InvalidEmail(_) => Some("1102"),
        ApiError::InvalidPasswordFormat { .. } => Some("1103"),
        ApiError::FirstAdminProtected => Some("1107"),
        ApiError::PasswordNotChanged => Some("1108"),
        ApiError::AlreadyExists(UniqueField::LoginName | UniqueField::UserId) => Some("1109"),
        ApiError::AlreadyExists(UniqueField::Email) => Some("1110"),
        ApiError::AlreadyExists(UniqueField::Phone) => Some("1111"),
        ApiError::AlreadyExists(UniqueField::ExternalId) => Some("1113"),
        ApiError::QuotaExceeded => Some("1115"),
        _ => None,
    }
}

/// Huawei IAM's code for an error on its Keystone routes.
pub fn code(error: &ApiError) -> &'static str {
    match error {
        ApiError::AuthenticationRequired => "IAM.0001",
        ApiError::TokenExpired => "IAM.0066",
        ApiError::TokenInvalid => "IAM.0067",
        ApiError::TooManyRequests { .. } => "IAM.0012",
        ApiError::ConsoleOnlyUser => "IAM.0081",
        ApiError::InvalidPasswordFormat { .. } => "1103",
        ApiError::PasswordNotChanged => "1108",
        _ => error.own_code(),
    }
}

/// Seed 001's own text for each numbered code.
pub fn seed_001_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "1100" => "Mandatory parameters are missing.",
        "1101" => "Invalid username.",
        "1102" => "Invalid email address.",
        "1103" => "Incorrect password.",
        "1104" => "Invalid mobile number.",
        "1105" => "The value of xuser_type must be the same as that of xdomain_type.",
        "1106" => "The country code and mobile number must be set at the same time.",
        "1107" => "The account administrator cannot be deleted.",
        "1108" => "The new password must be different from the old password.",
        "1109" => "The username already exists.",
        "1110" => "The email address has already been used.",
        "1111" => "The mobile number has already been used.",
        "1113" => "The user ID or user type already exists.",
        "1115" => "The number of IAM users has reached the maximum allowed limit.",
        "1117" => "Invalid user description.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dialect;

    #[test]
    fn every_seed_001_code_comes_from_its_error_with_its_text_and_status_400() {
        let invalid = |key: &str| ApiError::invalid(key, "reason");
        let cases = [
            (ApiError::RequiredParameter("user".into()), "1100"),
            (invalid("name"), "1101"),
            (invalid("user.email"), "1102"),
            (ApiError::InvalidEmail("email".into()), "1102"),
            (
                ApiError::InvalidPasswordFormat {
                    rule: "rule".into(),
                },
                "1103",
            ),
            (invalid("phone"), "1104"),
            (invalid("xuser_id"), "1105"),
            (invalid("areacode"), "1106"),
            (ApiError::FirstAdminProtected, "1107"),
            (ApiError::PasswordNotChanged, "1108"),
            (ApiError::AlreadyExists(UniqueField::LoginName), "1109"),
            (ApiError::AlreadyExists(UniqueField::Email), "1110"),
            (ApiError::AlreadyExists(UniqueField::Phone), "1111"),
            (ApiError::AlreadyExists(UniqueField::ExternalId), "1113"),
            (ApiError::QuotaExceeded, "1115"),
            (invalid("description"), "1117"),
        ];
        for (error, code) in cases {
            let dialect = Dialect::IamUserAdmin;
            assert_eq!(dialect.code(&error), code, "{error:?}");
            assert_eq!(dialect.status(&error), 400, "{error:?}");
            let text = seed_001_text(code).expect("the seed's text");
            assert!(dialect.message(&error).starts_with(text), "{error:?}");
        }
        // Outside seed 001's table: IAM's own codes, and the project's where IAM has none.
        let dialect = Dialect::IamUserAdmin;
        assert_eq!(dialect.code(&ApiError::TokenExpired), "IAM.0066");
        assert_eq!(
            dialect.code(&ApiError::ConcurrentModification),
            "CONCURRENT_MODIFICATION"
        );
    }
}
