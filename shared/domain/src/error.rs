//! The error catalogue: every failure an operation can end in, with its HTTP status and the
//! project's own code and wording. Each vendor's codes and texts are its dialect's
//! (`dialects::Dialect`); handlers never build error bodies by hand.

use std::fmt;

/// Which unique attribute a write collided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UniqueField {
    UserId,
    LoginName,
    Email,
    Phone,
    ExternalId,
}

impl UniqueField {
    pub fn key(self) -> &'static str {
        match self {
            UniqueField::UserId => "user_id",
            UniqueField::LoginName => "name",
            UniqueField::Email => "email",
            UniqueField::Phone => "phone",
            UniqueField::ExternalId => "xuser_id",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The body is not JSON, not an object, or truncated.
    MalformedBody(String),
    RequiredParameter(String),
    InvalidParameter {
        key: String,
        reason: String,
    },
    UnknownField(String),
    InvalidUserIdFormat {
        rule: String,
    },
    InvalidPasswordFormat {
        rule: String,
    },
    InvalidEmail(String),
    /// SpaceONE: an API_USER cannot come from an external directory.
    ExternalApiUser,
    ResetPasswordWithoutEmail,
    ResetPasswordExternal,
    /// Seed 000 RESET_PWD for a user with neither email nor phone.
    NoNotificationChannel,
    /// A password reset by email needs a verified address (SpaceONE `ERROR_VERIFICATION_UNAVAILABLE`).
    VerificationUnavailable,
    /// A verification code that is wrong, expired, used up or never sent.
    InvalidVerifyCode,
    /// No external directory is configured (SpaceONE `ERROR_NOT_ALLOWED_EXTERNAL_AUTHENTICATION`).
    ExternalAuthNotAllowed,
    /// The directory knows no user with this id.
    ExternalUserNotFound(String),
    /// The directory holds more than one user with this id.
    TooManyExternalUsers(String),
    /// A required action the user cannot perform (UPDATE_PASSWORD without a password of their own).
    NotAllowedActions(String),
    /// The new password equals the current one (seed 001 code 1108).
    PasswordNotChanged,
    /// A password change with a wrong original password.
    WrongOriginalPassword,
    /// The account is locked after too many failed sign-ins, until this instant (ms since epoch).
    AccountLocked {
        until: i64,
    },
    /// The caller must change their password before doing anything else.
    PasswordChangeRequired,
    /// The caller's `access_mode` is `console`: no API calls (Huawei IAM.0081).
    ConsoleOnlyUser,
    /// No token, or a token that is not ours (bad signature, wrong algorithm, unknown key, tampered).
    AuthenticationRequired,
    TokenInvalid,
    TokenExpired,
    /// The one answer to every failed login, whatever the cause.
    LoginFailed,
    PermissionDenied(String),
    NotFound {
        key: String,
        value: String,
    },
    AlreadyExists(UniqueField),
    QuotaExceeded,
    /// Seed 001 code 1107: the tenant's first administrator keeps the use of the API (`User::can_be_shut_out`).
    FirstAdminProtected,
    /// The user's state forbids the change (enabling a user pending deletion or disabled by sync).
    StateConflict(String),
    /// A conditional write lost against a concurrent writer.
    ConcurrentModification,
    PayloadTooLarge {
        limit: usize,
    },
    MethodNotAllowed,
    /// A limit on requests or attempts; the client may retry after this many seconds.
    TooManyRequests {
        retry_after_secs: u64,
    },
    Unavailable(String),
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn invalid(key: &str, reason: impl Into<String>) -> Self {
        ApiError::InvalidParameter {
            key: key.to_owned(),
            reason: reason.into(),
        }
    }

    pub fn user_not_found(user_id: &str) -> Self {
        ApiError::NotFound {
            key: "user_id".into(),
            value: user_id.to_owned(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::MalformedBody(_)
            | ApiError::RequiredParameter(_)
            | ApiError::InvalidParameter { .. }
            | ApiError::UnknownField(_)
            | ApiError::InvalidUserIdFormat { .. }
            | ApiError::InvalidPasswordFormat { .. }
            | ApiError::InvalidEmail(_)
            | ApiError::ExternalApiUser
            | ApiError::ResetPasswordWithoutEmail
            | ApiError::ResetPasswordExternal
            | ApiError::NoNotificationChannel
            | ApiError::VerificationUnavailable
            | ApiError::InvalidVerifyCode
            | ApiError::NotAllowedActions(_)
            | ApiError::ExternalAuthNotAllowed
            | ApiError::ExternalUserNotFound(_)
            | ApiError::TooManyExternalUsers(_)
            | ApiError::PasswordNotChanged
            | ApiError::QuotaExceeded
            | ApiError::FirstAdminProtected => 400,
            // Keystone's answer to a wrong original password is 401 (keystoneclient raises
            // `Unauthorized`).
            ApiError::AuthenticationRequired
            | ApiError::TokenInvalid
            | ApiError::TokenExpired
            | ApiError::LoginFailed
            | ApiError::WrongOriginalPassword => 401,
            ApiError::PermissionDenied(_)
            | ApiError::PasswordChangeRequired
            | ApiError::ConsoleOnlyUser
            | ApiError::AccountLocked { .. } => 403,
            ApiError::NotFound { .. } => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::AlreadyExists(_)
            | ApiError::ConcurrentModification
            | ApiError::StateConflict(_) => 409,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::Internal(_) => 500,
            ApiError::Unavailable(_) => 503,
        }
    }

    /// The project's own wording of the error (the Huawei Workspace and RSA dialects answer it).
    pub fn describe(&self) -> String {
        match self {
            ApiError::MalformedBody(reason) => {
                format!("The request body is not valid JSON: {reason}.")
            }
            ApiError::RequiredParameter(key) => format!("Mandatory parameter is missing: {key}."),
            ApiError::InvalidParameter { key, reason } => {
                format!("Invalid parameter {key}: {reason}.")
            }
            ApiError::UnknownField(key) => format!("Unknown parameter: {key}."),
            ApiError::InvalidUserIdFormat { rule } => format!("Invalid user ID: {rule}."),
            ApiError::InvalidPasswordFormat { rule } => {
                format!("The password does not meet the password policy: {rule}.")
            }
            ApiError::InvalidEmail(_) => "Invalid email address.".into(),
            ApiError::ExternalApiUser => {
                "An API user cannot come from an external directory.".into()
            }
            ApiError::ResetPasswordWithoutEmail => {
                "A password reset needs an email address to send the temporary password to.".into()
            }
            ApiError::ResetPasswordExternal => {
                "The password of a user from an external directory cannot be reset here.".into()
            }
            ApiError::NoNotificationChannel => "The user has neither an email address nor a mobile number to send a temporary password to; use GET /v2/{project_id}/users/{user_id}/random-password instead.".into(),
            ApiError::VerificationUnavailable => "The user's email address is not verified, so no password can be sent to it.".into(),
            ApiError::InvalidVerifyCode => "The verification code is wrong, expired or used up.".into(),
            ApiError::NotAllowedActions(reason) => format!("The required action is not allowed: {reason}."),
            ApiError::ExternalAuthNotAllowed => "No external directory is configured.".into(),
            ApiError::ExternalUserNotFound(user_id) => format!("The external directory has no user {user_id}."),
            ApiError::TooManyExternalUsers(user_id) => format!("The external directory has more than one user {user_id}."),
            ApiError::PasswordNotChanged => "The new password must be different from the old password.".into(),
            ApiError::WrongOriginalPassword => "The original password is wrong.".into(),
            ApiError::AccountLocked { until } => format!(
                "The account is locked after too many failed sign-ins until {} (UTC).",
                chrono::DateTime::from_timestamp_millis(*until)
                    .unwrap_or_default()
                    .format("%Y-%m-%dT%H:%M:%SZ")
            ),
            ApiError::ConsoleOnlyUser => "The user may sign in to the console only, not call the API.".into(),
            ApiError::PasswordChangeRequired => "The password must be changed first (POST /v3/users/{user_id}/password).".into(),
            ApiError::AuthenticationRequired => {
                "Authentication required: send a valid token.".into()
            }
            ApiError::TokenInvalid => "The token is invalid or has been revoked.".into(),
            ApiError::TokenExpired => "The token has expired.".into(),
            ApiError::LoginFailed => "The username or password is wrong.".into(),
            ApiError::PermissionDenied(reason) => {
                format!("You do not have required permissions: {reason}.")
            }
            ApiError::NotFound { key, value } => format!("No resource found ({key} = {value})."),
            ApiError::AlreadyExists(field) => format!("The {} is already in use.", field.key()),
            ApiError::QuotaExceeded => {
                "The number of users has reached the maximum allowed limit.".into()
            }
            ApiError::FirstAdminProtected => {
                "The tenant's first administrator cannot be disabled, deleted, locked, made to expire, limited to the console or barred from changing their password.".into()
            }
            ApiError::StateConflict(reason) => format!("The user's state does not allow this: {reason}."),
            ApiError::ConcurrentModification => {
                "The user was modified by another request; read it again and retry.".into()
            }
            ApiError::PayloadTooLarge { limit } => {
                format!("The request body is larger than {limit} bytes.")
            }
            ApiError::MethodNotAllowed => "The request method is not allowed.".into(),
            ApiError::TooManyRequests { retry_after_secs } => {
                format!("Too many requests; retry in {retry_after_secs} s.")
            },
            ApiError::Unavailable(_) => "The service is unavailable; retry later.".into(),
            ApiError::Internal(_) => "An internal error occurred.".into(),
        }
    }

    /// The project's own catalogue, used where a vendor documents no code.
    pub fn own_code(&self) -> &'static str {
        match self {
            ApiError::MalformedBody(_) => "MALFORMED_REQUEST",
            ApiError::RequiredParameter(_) => "MISSING_PARAMETER",
            ApiError::InvalidParameter { .. } | ApiError::InvalidEmail(_) => "INVALID_PARAMETER",
            ApiError::UnknownField(_) => "UNKNOWN_PARAMETER",
            ApiError::InvalidUserIdFormat { .. } => "INVALID_USER_ID",
            ApiError::InvalidPasswordFormat { .. } => "PASSWORD_POLICY",
            ApiError::ExternalApiUser => "EXTERNAL_API_USER",
            ApiError::ResetPasswordWithoutEmail => "NO_NOTIFICATION_CHANNEL",
            ApiError::ResetPasswordExternal => "EXTERNAL_USER",
            ApiError::NoNotificationChannel => "NO_NOTIFICATION_CHANNEL",
            ApiError::VerificationUnavailable => "EMAIL_NOT_VERIFIED",
            ApiError::InvalidVerifyCode => "INVALID_VERIFY_CODE",
            ApiError::NotAllowedActions(_) => "NOT_ALLOWED_ACTIONS",
            ApiError::ExternalAuthNotAllowed => "NO_EXTERNAL_DIRECTORY",
            ApiError::ExternalUserNotFound(_) => "EXTERNAL_USER_NOT_FOUND",
            ApiError::TooManyExternalUsers(_) => "EXTERNAL_USER_AMBIGUOUS",
            ApiError::PasswordNotChanged => "PASSWORD_NOT_CHANGED",
            ApiError::WrongOriginalPassword => "WRONG_ORIGINAL_PASSWORD",
            ApiError::AccountLocked { .. } => "ACCOUNT_LOCKED",
            ApiError::PasswordChangeRequired => "PASSWORD_CHANGE_REQUIRED",
            ApiError::ConsoleOnlyUser => "CONSOLE_ONLY_USER",
            ApiError::AuthenticationRequired => "AUTHENTICATION_REQUIRED",
            ApiError::TokenInvalid => "TOKEN_INVALID",
            ApiError::TokenExpired => "TOKEN_EXPIRED",
            ApiError::LoginFailed => "LOGIN_FAILED",
            ApiError::PermissionDenied(_) => "PERMISSION_DENIED",
            ApiError::NotFound { .. } => "NOT_FOUND",
            ApiError::AlreadyExists(_) => "ALREADY_EXISTS",
            ApiError::QuotaExceeded => "QUOTA_EXCEEDED",
            ApiError::FirstAdminProtected => "FIRST_ADMIN_PROTECTED",
            ApiError::ConcurrentModification => "CONCURRENT_MODIFICATION",
            ApiError::StateConflict(_) => "USER_STATE_CONFLICT",
            ApiError::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            ApiError::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ApiError::TooManyRequests { .. } => "TOO_MANY_REQUESTS",
            ApiError::Unavailable(_) => "SERVICE_UNAVAILABLE",
            ApiError::Internal(_) => "INTERNAL_ERROR",
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.own_code(), self.describe())
    }
}

impl std::error::Error for ApiError {}
