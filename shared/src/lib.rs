//! Everything the functions share over the domain crate (`domain`: the user, its rules and the
//! operations, re-exported here under their old paths): the dialects and their error codes, the
//! DynamoDB store, the external directory's and the mail folder's adapters, and the Lambda wiring
//! (`App` is the domain's app on DynamoDB). Functions stay thin: parse the request, call one
//! operation, render the response.

pub mod app;
pub mod directory;
pub mod dynamo;
pub mod http;
pub mod https;
pub mod invariants;
pub mod mailer;
pub mod provisioning;
pub mod secrets;
pub mod telemetry;

pub use domain::{
    account, change, config, fields, housekeeping, json, keys, listing, model, notes, notify, ops,
    outbox, password, query, store, token, validate,
};

pub use dialects::iam::users as iam_users;
pub use dialects::{error, iam, rsa, spaceone, workspace};

pub use app::App;
pub use domain;
pub use error::{ApiError, ApiResult, Dialect};
