//! The vendors' wire formats over the domain: one folder per vendor, each owning its parsing, its
//! rendering and its error codes. Depends on the domain only (no store, no AWS SDK, no Lambda):
//! the functions read a request's parts, hand them to their dialect, call the domain's operation
//! and render its answer here.
//!
//! - `iam`: Huawei IAM, its Keystone routes (token, own password, version discovery) and seed 001's
//!   administrator modify (`iam::users`);
//! - `workspace`: Huawei Workspace (seeds 000 and 002);
//! - `rsa`: RSA SecurID Cloud Administration (seed 003);
//! - `spaceone`: SpaceONE identity v1 (seed 004);
//! - `cloudformation`: the custom resource `Custom::User` (users as code);
//! - `error`: which dialect an endpoint speaks, and each dialect's status, code and message.

pub mod cloudformation;
pub mod error;
pub mod iam;
pub mod rsa;
pub mod spaceone;
pub mod workspace;

pub use error::Dialect;

// The domain's modules under the names the dialects use.
use domain::{account, directory, fields, model, ops, outbox, patch, query, token, validate};

/// A time as SpaceONE and RSA render it: ISO 8601 in UTC with milliseconds
/// (`YYYY-MM-DDTHH:MM:SS.mmmZ`). Huawei IAM's has microseconds (`iam::time`).
pub fn utc_millis(millis: model::Millis) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_render_with_milliseconds_in_utc() {
        assert_eq!(
            super::utc_millis(1_593_161_630_079),
            "2020-06-26T08:53:50.079Z"
        );
    }
}
