//! The domain: the canonical user, the rules every dialect shares and the operations that apply
//! them, free of AWS, Lambda and HTTP. The operations are generic over the store (`store`) and reach
//! the outside through ports (`directory::Directory`, `app::KeyRingSource`, `notify::Mailer`).
//!
//! - `ops`, `account`, `listing`, `housekeeping`, `notify`: the operations (who may act, create,
//!   login, changes, lifecycle, email and password links, lists and statistics, sweeps, delivery);
//! - `app`, `config`: what the operations run with (settings, store, tokens, ports);
//! - `notes`: what they note about the request they serve;
//! - `model`: the user, its lifecycle, locks and required actions, the first administrator's guard;
//! - `validate`, `password`: input rules, the password policy and hashing;
//! - `token`, `keys`: signed tokens and the signing-key ring;
//! - `outbox`: the messages a change sends, with their secrets sealed;
//! - `error`: every failure, with its status and the project's own code;
//! - `fields`, `json`: request bodies read field by field, duplicate keys refused;
//! - `query`: the generic query model and its evaluation in memory;
//! - `patch`: a change of a user's settings, what every dialect's modify request becomes;
//! - `change`: a change of a user as decided (version, audit record, first administrator's guard);
//! - `memory`: the store in memory, for unit tests of the rules;
//! - `store`: what the operations need from persistence (implemented on DynamoDB by the `dynamo` crate).

pub mod account;
pub mod app;
pub mod change;
pub mod config;
pub mod directory;
pub mod error;
pub mod fields;
pub mod housekeeping;
pub mod json;
pub mod keys;
pub mod listing;
pub mod memory;
pub mod model;
pub mod notes;
pub mod notify;
pub mod ops;
pub mod outbox;
pub mod password;
pub mod patch;
pub mod query;
pub mod store;
pub mod token;
pub mod validate;

pub use error::{ApiError, ApiResult};

#[cfg(test)]
mod operation_tests;
