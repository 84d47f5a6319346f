//! Everything the functions share over the domain crate (`domain`: the user, its rules, tokens,
//! errors, the query model and the store's interface, re-exported here under their old paths):
//! the operations, the dialects and their error codes, the DynamoDB store and the Lambda wiring.
//! Functions stay thin: parse the request, call one operation here, render the response.

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
pub mod listing;
pub mod notify;
pub mod ops;
pub mod provisioning;
pub mod rsa;
pub mod secrets;
pub mod spaceone;
pub mod telemetry;
pub mod workspace;

pub use domain::{
    change, fields, json, keys, model, outbox, password, query, store, token, validate,
};

pub use app::App;
pub use error::{ApiError, ApiResult, Dialect};
