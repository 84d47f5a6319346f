//! Prints the median time of failed logins for an unknown user and for a known user with a wrong
//! password, through the `iam_auth_tokens` handler against DynamoDB Local. They must not tell the two
//! apart. Run with DynamoDB Local up (scripts/dynamodb-local.sh start):
//! `DYNAMODB_ENDPOINT=http://127.0.0.1:8000 cargo run --release -p local-stack --example login_timing`

use std::time::Instant;

use lambda_http::Body;
use lambda_http::http::Request;

const ROUNDS: usize = 40;

fn login(tenant: &str, name: &str) -> Request<Body> {
    let body = serde_json::json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "password": "Wrong-Passw0rd", "domain": {"name": tenant}}}}}});
    Request::builder()
        .method("POST")
        .uri("/v3/auth/tokens")
        .body(Body::Text(body.to_string()))
        .unwrap()
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let app = local_stack::bench_app(|config| {
        config.token_lifetime_seconds = 3600;
        // Measures failures, not the lockout.
        config.lockout.threshold = 1_000_000;
    })
    .await?;
    let tenant = format!("timing-{}", std::process::id());
    local_stack::bootstrap_admin(app, &tenant, "Admin-Passw0rd!").await?;

    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS + 5 {
        for (name, samples) in [("nobody", &mut unknown), ("admin", &mut wrong)] {
            let started = Instant::now();
            let response = iam_auth_tokens::handle(app, login(&tenant, name)).await;
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(response.status(), 401);
            if round >= 5 {
                samples.push(elapsed); // the first rounds warm connections and caches
            }
        }
    }
    let (unknown, wrong) = (median(unknown), median(wrong));
    println!(
        "failed login, median of {ROUNDS}: unknown user {unknown:.1} ms, wrong password {wrong:.1} ms"
    );
    println!(
        "difference {:+.1}% of the wrong-password time",
        (unknown - wrong) / wrong * 100.0
    );
    Ok(())
}
