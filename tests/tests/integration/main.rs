//! The integration tests, one binary (each test binary links the whole AWS SDK): every module
//! talks to DynamoDB Local (started by scripts/test.sh) through the same router as the local
//! server. `common` is the harness.

mod common;

mod bootstrap_and_store;
mod events_and_server;
mod faults;
mod hostile_input;
mod housekeeping;
mod iam_auth_tokens;
mod iam_user_modify;
mod invoke_script;
mod key_rotation;
mod notifier;
mod operations;
mod password_expiry;
mod races;
mod rsa_user_status;
mod spaceone_create_get;
mod spaceone_directory;
mod spaceone_email;
mod spaceone_lifecycle;
mod spaceone_list_stat;
mod token_matrix;
mod users_as_code;
mod workspace_actions;
mod workspace_modify;
