//! Everything the functions share: the canonical user, validation, passwords, tokens, the error
//! catalogue, the dialects, the operations and the DynamoDB store. Functions stay thin: parse the
//! request, call one operation here, render the response.

pub mod account;
pub mod app;
pub mod directory;
pub mod dynamo;
pub mod error;
pub mod housekeeping;
pub mod http;
pub mod https;
pub mod iam;
pub mod iam_users;
pub mod invariants;
pub mod json;
pub mod keys;
pub mod listing;
pub mod model;
pub mod notify;
pub mod ops;
pub mod outbox;
pub mod password;
pub mod provisioning;
pub mod query;
pub mod rsa;
pub mod secrets;
pub mod spaceone;
pub mod store;
pub mod telemetry;
pub mod token;
pub mod validate;
pub mod workspace;

pub use app::App;
pub use error::{ApiError, ApiResult, Dialect};
