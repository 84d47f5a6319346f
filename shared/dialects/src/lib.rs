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
