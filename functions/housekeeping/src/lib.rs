//! The scheduled housekeeping function (EventBridge schedule in template.yaml): purges users
//! pending deletion past the retention and requires a change of expired passwords. Invoked with
//! `{"action": "check"}` (optionally `"tenant_id"`) it instead runs the invariant checker and
//! changes nothing.

use lambda::App;
use lambda::housekeeping::{self, Report};
use lambda::invariants::{self, CheckReport};
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Sweep(Report),
    Check(CheckReport),
}

/// Runs one sweep of every tenant (the schedule's event carries nothing the sweep needs), or the
/// invariant check an operator asked for.
pub async fn handle(app: &App, event: serde_json::Value) -> Result<Answer, lambda_runtime::Error> {
    if event.get("action").and_then(|a| a.as_str()) == Some("check") {
        let tenant = event.get("tenant_id").and_then(|t| t.as_str());
        let report = invariants::check(&app.store, tenant)
            .await
            .map_err(|e| e.to_string())?;
        // Findings name users and values; the answer carries them, the log only their number.
        tracing::info!(
            tenants = report.tenants.len(),
            findings = report.findings,
            "invariant check done"
        );
        return Ok(Answer::Check(report));
    }
    let report = housekeeping::run(app, lambda::ops::now()).await;
    tracing::info!(
        tenants = report.tenants,
        purged = report.purged,
        passwords_expired = report.passwords_expired,
        skipped = report.skipped,
        errors = report.errors.len(),
        "housekeeping done"
    );
    Ok(Answer::Sweep(report))
}
