//! SpaceONE's error codes (`ERROR_*`) and message templates; the project's own codes for what
//! SpaceONE has none.

use crate::error::{ApiError, UniqueField};

/// SpaceONE's `error_code` for an error.
pub fn code(error: &ApiError) -> &'static str {
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
pub fn message(error: &ApiError) -> String {
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
