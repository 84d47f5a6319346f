//! The domain: the canonical user and the rules every dialect shares, free of AWS, Lambda and HTTP.
//!
//! - `model`: the user, its lifecycle, locks and required actions, the first administrator's guard;
//! - `validate`, `password`: input rules, the password policy and hashing;
//! - `token`, `keys`: signed tokens and the signing-key ring;
//! - `outbox`: the messages a change sends, with their secrets sealed;
//! - `error`: every failure, with its status and the project's own code;
//! - `fields`, `json`: request bodies read field by field, duplicate keys refused;
//! - `query`: the generic query model and its evaluation in memory;
//! - `change`: a change of a user as decided (version, audit record, first administrator's guard);
//! - `store`: what the operations need from persistence (implemented on DynamoDB by `shared::dynamo`).

pub mod change;
pub mod error;
pub mod fields;
pub mod json;
pub mod keys;
pub mod model;
pub mod outbox;
pub mod password;
pub mod query;
pub mod store;
pub mod token;
pub mod validate;

pub use error::{ApiError, ApiResult};
