//! The Lambda wiring every function uses, over the domain (`domain`), the dialects (`dialects`) and
//! the store on DynamoDB (`dynamo`): configuration, SDK and TLS set-up, the signing-key secret,
//! request and response handling, telemetry, the external directory's client, the local mailer and
//! the CloudFormation custom resource. `App` is the domain's app on DynamoDB. It re-exports the
//! crates below under short paths (`lambda::ops`, `lambda::spaceone`, `lambda::dynamo`), so a
//! function names one crate: parse the request, call one operation, render the answer.

pub mod app;
pub mod directory;
pub mod http;
pub mod https;
pub mod mailer;
pub mod provisioning;
pub mod secrets;
pub mod telemetry;

pub use domain::{
    account, change, config, fields, housekeeping, json, keys, listing, model, notes, notify, ops,
    outbox, password, query, store, token, validate,
};

pub use dialects::iam::users as iam_users;
pub use dialects::{cloudformation, error, iam, rsa, spaceone, workspace};

pub use dynamo::invariants;

pub use app::App;
pub use domain;
pub use dynamo;
pub use error::{ApiError, ApiResult, Dialect};
