//! Secrets Manager's rotation function for the token signing-key secret (template.yaml's
//! `TokenKeyRotationSchedule`): each step of `lambda::secrets::rotate_key_ring`.

use lambda::secrets::{self, SecretStore};
use serde::Deserialize;

/// What Secrets Manager sends for each step.
#[derive(Debug, Clone, Deserialize)]
pub struct RotationEvent {
    #[serde(rename = "SecretId")]
    pub secret_id: String,
    #[serde(rename = "ClientRequestToken")]
    pub token: String,
    #[serde(rename = "Step")]
    pub step: String,
}

/// Runs one step; an error fails the step, and Secrets Manager retries the rotation.
pub async fn handle(store: &SecretStore, event: RotationEvent) -> Result<(), String> {
    let outcome = secrets::rotate_key_ring(
        store,
        &event.secret_id,
        &event.token,
        &event.step,
        chrono::Utc::now(),
    )
    .await;
    match &outcome {
        Ok(()) => tracing::info!(step = %event.step, version = %event.token, "rotation step done"),
        Err(error) => {
            tracing::error!(step = %event.step, version = %event.token, %error, "rotation step failed")
        }
    }
    outcome
}
