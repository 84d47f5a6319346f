//! `scripts/check-invariants.sh [TENANT]`: the invariant checker (shared/dynamo/src/invariants.rs) against
//! a local table, the same check the deployed housekeeping function runs for
//! `{"action": "check"}`. Prints the report as JSON; exits 1 when anything is broken.

use lambda::dynamo::DynamoStore;

#[tokio::main]
async fn main() -> Result<std::process::ExitCode, String> {
    let setting = |name: &str, default: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_owned())
    };
    let endpoint = setting("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000");
    let table = setting("TABLE_NAME", "useradmin-local");
    let tenant = std::env::args().nth(1);
    let client = lambda::app::dynamodb_client(Some(&endpoint)).await;
    let store = DynamoStore::new(client, table);
    let report = lambda::invariants::check(&store, tenant.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
    );
    Ok(if report.findings == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}
