//! Which vocabulary an endpoint speaks, and the domain's errors (`domain::error`) mapped once to
//! each dialect's status, `error_code` and `error_msg`; the vendors' own codes and texts are in
//! their folders (`iam::codes`, `spaceone::codes`). Handlers never build error bodies by hand.

pub use domain::error::{ApiError, ApiResult, UniqueField};

use crate::{iam, spaceone};

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
            Dialect::SpaceOne => spaceone::codes::code(error),
            Dialect::Iam => iam::codes::code(error),
            Dialect::IamUserAdmin => {
                iam::codes::user_admin_code(error).unwrap_or_else(|| iam::codes::code(error))
            }
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
            Dialect::SpaceOne => spaceone::codes::message(error),
            Dialect::IamUserAdmin => {
                match iam::codes::user_admin_code(error).and_then(iam::codes::seed_001_text) {
                    Some(text) => {
                        let detail = error.describe();
                        if detail == text {
                            detail
                        } else {
                            format!("{text} ({detail})")
                        }
                    }
                    None => error.describe(),
                }
            }
            _ => error.describe(),
        }
    }
}
