//! Each vendor's error vocabulary: the domain's errors (`domain::error`) mapped once to the status,
//! `error_code` and `error_msg` of each dialect. Handlers never build error bodies by hand.

pub use domain::error::{ApiError, ApiResult, UniqueField};

/// Which vendor vocabulary an endpoint speaks; it decides the `error_code` of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Huawei IAM's Keystone v3 routes (the token API, the own password change, version
    /// discovery): IAM's codes, and Keystone's `error` member beside them (`Dialect::keystone`).
    /// Seed 001's fallback for the codes it does not number.
    Iam,
    /// Huawei Workspace: seeds 000 and 002 (no public code table: the project's own codes).
    Workspace,
    /// RSA SecurID Cloud Administration: seed 003's User Details lookup and the audit trail (no
    /// documented error body: the project's own codes).
    Rsa,
    /// Seed 003's userStatus endpoint: the project's codes, and 403 for a missing, bad or expired
    /// token (the seed's documented choice; other endpoints answer 401).
    RsaUserStatus,
    /// SpaceONE identity v1: seed 004.
    SpaceOne,
    /// The project's own codes: the bootstrap function and the local server's routing.
    Own,
    /// Huawei IAM's administrator modify (seed 001): its numbered codes 1100-1117, all with 400.
    IamUserAdmin,
}

impl Dialect {
    /// Whether an error body also carries Keystone's `"error": {"code", "title", "message"}`, which
    /// the Keystone clients (keystoneauth1) read, beside `error_code` / `error_msg`, which the
    /// Huawei SDK reads.
    pub fn keystone(self) -> bool {
        self == Dialect::Iam
    }
}

impl Dialect {
    /// The `error_code` in this dialect.
    pub fn code(self, error: &ApiError) -> &'static str {
        match self {
            Dialect::SpaceOne => spaceone_code(error),
            Dialect::Iam => iam_code(error),
            Dialect::IamUserAdmin => iam_user_admin_code(error).unwrap_or_else(|| iam_code(error)),
            Dialect::Workspace | Dialect::Rsa | Dialect::RsaUserStatus | Dialect::Own => {
                error.own_code()
            }
        }
    }

    /// The status in this dialect: seed 001 answers its duplicates (1109-1113) with 400, seed
    /// 003's userStatus a token failure with 403.
    pub fn status(self, error: &ApiError) -> u16 {
        match (self, error) {
            (Dialect::IamUserAdmin, ApiError::AlreadyExists(_)) => 400,
            (
                Dialect::RsaUserStatus,
                ApiError::AuthenticationRequired | ApiError::TokenInvalid | ApiError::TokenExpired,
            ) => 403,
            _ => error.status(),
        }
    }

    /// The `error_msg` in this dialect.
    pub fn message(self, error: &ApiError) -> String {
        match self {
            Dialect::SpaceOne => spaceone_message(error),
            Dialect::IamUserAdmin => match iam_user_admin_code(error).and_then(seed_001_text) {
                Some(text) => {
                    let detail = error.describe();
                    if detail == text {
                        detail
                    } else {
                        format!("{text} ({detail})")
                    }
                }
                None => error.describe(),
            },
            _ => error.describe(),
        }
    }
}

/// Seed 001's numbered code for this error, by the request field it concerns.
fn iam_user_admin_code(error: &ApiError) -> Option<&'static str> {
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

fn iam_code(error: &ApiError) -> &'static str {
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

fn spaceone_code(error: &ApiError) -> &'static str {
    match error {
        ApiError::MalformedBody(_)
        | ApiError::InvalidParameter { .. }
        | ApiError::UnknownField(_)
        | ApiError::InvalidEmail(_) => "ERROR_INVALID_PARAMETER",
        ApiError::RequiredParameter(_) => "ERROR_REQUIRED_PARAMETER",
        ApiError::InvalidUserIdFormat { .. } => "ERROR_INCORRECT_USER_ID_FORMAT",
        ApiError::InvalidPasswordFormat { .. } => "ERROR_INCORRECT_PASSWORD_FORMAT",
        ApiError::ExternalApiUser => "ERROR_EXTERNAL_USER_NOT_ALLOWED_API_USER",
        ApiError::ResetPasswordWithoutEmail => "ERROR_UNABLE_TO_RESET_PASSWORD_WITHOUT_EMAIL",
        ApiError::ResetPasswordExternal => "ERROR_UNABLE_TO_RESET_PASSWORD_IN_EXTERNAL_AUTH",
        ApiError::AuthenticationRequired
        | ApiError::TokenInvalid
        | ApiError::TokenExpired
        | ApiError::LoginFailed => "ERROR_AUTHENTICATE_FAILURE",
        ApiError::PermissionDenied(_)
        | ApiError::PasswordChangeRequired
        | ApiError::ConsoleOnlyUser => "ERROR_PERMISSION_DENIED",
        ApiError::PasswordNotChanged => "ERROR_PASSWORD_NOT_CHANGED",
        ApiError::VerificationUnavailable => "ERROR_VERIFICATION_UNAVAILABLE",
        ApiError::InvalidVerifyCode => "ERROR_INVALID_VERIFY_CODE",
        ApiError::NotAllowedActions(_) => "ERROR_NOT_ALLOWED_ACTIONS",
        ApiError::ExternalAuthNotAllowed => "ERROR_NOT_ALLOWED_EXTERNAL_AUTHENTICATION",
        ApiError::ExternalUserNotFound(_) => "ERROR_NOT_FOUND_USER_IN_EXTERNAL_AUTH",
        ApiError::TooManyExternalUsers(_) => "ERROR_TOO_MANY_USERS_IN_EXTERNAL_AUTH",
        ApiError::NotFound { .. } => "ERROR_NOT_FOUND",
        ApiError::AlreadyExists(_) => "ERROR_SAVE_UNIQUE_VALUES",
        ApiError::Unavailable(_) => "ERROR_UNAVAILABLE",
        ApiError::Internal(_) => "ERROR_INTERNAL",
        ApiError::QuotaExceeded
        | ApiError::NoNotificationChannel
        | ApiError::WrongOriginalPassword
        | ApiError::AccountLocked { .. }
        | ApiError::FirstAdminProtected
        | ApiError::ConcurrentModification
        | ApiError::StateConflict(_)
        | ApiError::PayloadTooLarge { .. }
        | ApiError::MethodNotAllowed
        | ApiError::TooManyRequests { .. } => error.own_code(),
    }
}

/// SpaceONE's message templates, e.g. `Required parameter. (key = user_id)`.
fn spaceone_message(error: &ApiError) -> String {
    match error {
        ApiError::MalformedBody(reason) => {
            format!("Invalid parameter. (key = body, reason = {reason})")
        }
        ApiError::RequiredParameter(key) => format!("Required parameter. (key = {key})"),
        ApiError::InvalidParameter { key, reason } => {
            format!("Invalid parameter. (key = {key}, reason = {reason})")
        }
        ApiError::UnknownField(key) => {
            format!("Invalid parameter. (key = {key}, reason = unknown field)")
        }
        ApiError::InvalidEmail(key) => {
            format!("Invalid parameter. (key = {key}, reason = not a valid email address)")
        }
        ApiError::InvalidUserIdFormat { rule } => {
            format!("Incorrect format of user_id. (rule = {rule})")
        }
        ApiError::InvalidPasswordFormat { rule } => {
            format!("The password format is incorrect. (rule = {rule})")
        }
        ApiError::ExternalApiUser => "External user cannot be an API user.".into(),
        ApiError::ResetPasswordWithoutEmail => "Unable to reset password without email.".into(),
        ApiError::ResetPasswordExternal => {
            "Unable to reset password in external authentication system.".into()
        }
        ApiError::AuthenticationRequired => {
            "Authenticate failure. (message = token is missing)".into()
        }
        ApiError::TokenInvalid => {
            "Authenticate failure. (message = token is invalid or revoked)".into()
        }
        ApiError::TokenExpired => "Authenticate failure. (message = token expired)".into(),
        ApiError::LoginFailed => {
            "Authenticate failure. (message = the username or password is wrong)".into()
        }
        ApiError::PermissionDenied(_) => "Permission denied.".into(),
        ApiError::VerificationUnavailable => {
            "Verification unavailable. (reason = the email address is not verified)".into()
        }
        ApiError::InvalidVerifyCode => "Invalid verify code.".into(),
        ApiError::NotAllowedActions(reason) => {
            format!("Not allowed actions. (reason = {reason})")
        }
        ApiError::ExternalAuthNotAllowed => {
            "This domain does not allow external authentication.".into()
        }
        ApiError::ExternalUserNotFound(user_id) => format!(
            "The user could not be found in the external authentication system. (user_id = {user_id})"
        ),
        ApiError::TooManyExternalUsers(user_id) => format!(
            "There are two or more users in the external authentication system. (user_id = {user_id})"
        ),
        ApiError::NotFound { key, value } => format!("Value not found. ({key} = {value})"),
        // A 004 user's login name is its user_id; its `name` is not unique.
        ApiError::AlreadyExists(UniqueField::LoginName) => {
            "Duplicated value. (keys = ['user_id'])".into()
        }
        ApiError::AlreadyExists(field) => {
            format!("Duplicated value. (keys = ['{}'])", field.key())
        }
        ApiError::Unavailable(_) => "Service unavailable.".into(),
        ApiError::Internal(_) => "Internal error.".into(),
        other => other.describe(),
    }
}

/// Seed 001's own text for each numbered code.
fn seed_001_text(code: &str) -> Option<&'static str> {
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
