//! The scheduled housekeeping function (EventBridge schedule in template.yaml): purges users
//! pending deletion past the retention and requires a change of expired passwords.

use shared::App;
use shared::housekeeping::{self, Report};

/// Runs one sweep of every tenant. The schedule's event carries nothing the sweep needs.
pub async fn handle(app: &App, _event: serde_json::Value) -> Result<Report, lambda_runtime::Error> {
    let report = housekeeping::run(app, shared::ops::now()).await;
    tracing::info!(
        tenants = report.tenants,
        purged = report.purged,
        passwords_expired = report.passwords_expired,
        skipped = report.skipped,
        errors = report.errors.len(),
        "housekeeping done"
    );
    Ok(report)
}
