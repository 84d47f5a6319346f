//! The error catalogue: every failure the API can answer, mapped once to its HTTP status and to the
//! `error_code` / `error_msg` of each dialect. Handlers never build error bodies by hand.

use std::fmt;

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

/// Which unique attribute a write collided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

    /// The `error_code` in the given dialect.
    pub fn code(&self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::SpaceOne => self.spaceone_code(),
            Dialect::Iam => self.iam_code(),
            Dialect::IamUserAdmin => self
                .iam_user_admin_code()
                .unwrap_or_else(|| self.iam_code()),
            Dialect::Workspace | Dialect::Rsa | Dialect::RsaUserStatus | Dialect::Own => {
                self.own_code()
            }
        }
    }

    /// The status in the given dialect: seed 001 answers its duplicates (1109-1113) with 400.
    pub fn status_in(&self, dialect: Dialect) -> u16 {
        match (dialect, self) {
            (Dialect::IamUserAdmin, ApiError::AlreadyExists(_)) => 400,
            (
                Dialect::RsaUserStatus,
                ApiError::AuthenticationRequired | ApiError::TokenInvalid | ApiError::TokenExpired,
            ) => 403,
            _ => self.status(),
        }
    }

    /// The `error_msg` in the given dialect.
    pub fn message(&self, dialect: Dialect) -> String {
        if dialect == Dialect::SpaceOne {
            return self.spaceone_message();
        }
        if dialect == Dialect::IamUserAdmin {
            if let Some(text) = self.iam_user_admin_code().and_then(seed_001_text) {
                let detail = self.message(Dialect::Iam);
                return if detail == text {
                    detail
                } else {
                    format!("{text} ({detail})")
                };
            }
        }
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

    /// Huawei IAM documents codes for token failures; everything else uses the project's codes
    /// until seed 001's numbered codes are served on its own endpoint.
    /// Seed 001's numbered code for this error, by the request field it concerns.
    fn iam_user_admin_code(&self) -> Option<&'static str> {
        let field = |key: &str| match key.rsplit('.').next().unwrap_or(key) {
            "name" => Some("1101"),
            "email" => Some("1102"),
            "phone" => Some("1104"),
            "xuser_type" | "xuser_id" => Some("1105"),
            "areacode" => Some("1106"),
            "description" => Some("1117"),
            _ => None,
        };
        match self {
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

    fn iam_code(&self) -> &'static str {
        match self {
            ApiError::AuthenticationRequired => "IAM.0001",
            ApiError::TokenExpired => "IAM.0066",
            ApiError::TokenInvalid => "IAM.0067",
            ApiError::TooManyRequests { .. } => "IAM.0012",
            ApiError::ConsoleOnlyUser => "IAM.0081",
            ApiError::InvalidPasswordFormat { .. } => "1103",
            ApiError::PasswordNotChanged => "1108",
            _ => self.own_code(),
        }
    }

    fn spaceone_code(&self) -> &'static str {
        match self {
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
            | ApiError::TooManyRequests { .. } => self.own_code(),
        }
    }

    /// SpaceONE's message templates, e.g. `Required parameter. (key = user_id)`.
    fn spaceone_message(&self) -> String {
        match self {
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
            other => other.message(Dialect::Workspace),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            self.own_code(),
            self.message(Dialect::Workspace)
        )
    }
}

impl std::error::Error for ApiError {}

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
