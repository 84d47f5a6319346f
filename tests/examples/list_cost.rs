//! Prints what seed 004's `list` and `stat` cost as the tenant grows: the median latency of each
//! kind of query through the handlers, at 100 and at 1,000 users, against DynamoDB Local. Queries the
//! index and the counters answer stay flat; those that read the tenant once grow with it. Run with
//! DynamoDB Local up (scripts/dynamodb-local.sh start):
//! `DYNAMODB_ENDPOINT=http://127.0.0.1:8000 cargo run --release -p local-stack --example list_cost`

use std::time::Instant;

use lambda::App;
use lambda::model::{Backend, User, UserState, UserType};
use lambda::store::prelude::*;
use lambda_http::Body;
use lambda_http::http::Request;
use serde_json::{Value, json};

const ROUNDS: usize = 30;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn request(path: &str, token: &str, body: &Value) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(path)
        .header("x-auth-token", token)
        .body(Body::Text(body.to_string()))
        .unwrap()
}

async fn tenant_with(app: &'static App, users: usize) -> Result<(String, String), String> {
    let tenant = format!("cost-{users}-{}", std::process::id());
    if local_stack::bootstrap_admin(app, &tenant, "Admin-Passw0rd!").await? {
        // Straight into the store: the figures are about reading, not about hashing passwords.
        for i in 0..users {
            let mut user = User::new(
                &tenant,
                &format!("user{i:05}@example.com"),
                UserType::User,
                Backend::Local,
                lambda::ops::now(),
            );
            user.display_name = Some(format!("User {i:05}"));
            user.email = Some(user.user_id.clone());
            if i % 4 == 0 {
                user.state = UserState::Disabled;
            }
            app.store
                .create_user(&user, u64::MAX, &[], None)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    let login = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "password": "Admin-Passw0rd!", "domain": {"name": tenant}}}}}});
    let reply = iam_auth_tokens::handle(
        app,
        Request::builder()
            .method("POST")
            .uri("/v3/auth/tokens")
            .body(Body::Text(login.to_string()))
            .unwrap(),
    )
    .await;
    let token = reply.headers()["x-subject-token"]
        .to_str()
        .map_err(|e| e.to_string())?
        .to_owned();
    Ok((tenant, token))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let app = local_stack::bench_app(|config| config.tenant_user_quota = u64::MAX).await?;
    let page = json!({"start": 1, "limit": 20});
    let queries: Vec<(&str, &str, Value)> = vec![
        (
            "list: one user by user_id",
            "list",
            json!({"user_id": "user00042@example.com"}),
        ),
        (
            "list: state=ENABLED, page of 20 (index)",
            "list",
            json!({"state": "ENABLED", "query": {"page": page}}),
        ),
        (
            "list: count_only, state=DISABLED (counters)",
            "list",
            json!({"state": "DISABLED", "query": {"count_only": true}}),
        ),
        (
            "list: keyword, page of 20 (reads the tenant)",
            "list",
            json!({"query": {"keyword": "00042", "page": page}}),
        ),
        (
            "list: sort by created_at, page of 20 (reads the tenant)",
            "list",
            json!({"query": {"sort": {"key": "created_at"}, "page": page}}),
        ),
        (
            "stat: count by state (counters)",
            "stat",
            json!({"query": {"aggregate": [{"group": {"keys": [{"key": "state", "name": "state"}], "fields": [{"name": "count", "operator": "count"}]}}]}}),
        ),
        (
            "stat: count by email domain (reads the tenant)",
            "stat",
            json!({"query": {"filter": [{"k": "email", "v": "@example", "o": "contain"}], "aggregate": [{"count": {"name": "n"}}]}}),
        ),
    ];
    let sizes = [100usize, 1000];
    let mut rows: Vec<Vec<f64>> = vec![Vec::new(); queries.len()];
    for users in sizes {
        let (tenant, token) = tenant_with(app, users).await?;
        for (row, (_, verb, body)) in queries.iter().enumerate() {
            let mut body = body.clone();
            body["domain_id"] = json!(tenant);
            let path = format!("/identity/v1/user/{verb}");
            let mut samples = Vec::with_capacity(ROUNDS);
            for _ in 0..ROUNDS {
                let started = Instant::now();
                let response = match *verb {
                    "list" => spaceone_user_list::handle(app, request(&path, &token, &body)).await,
                    _ => spaceone_user_stat::handle(app, request(&path, &token, &body)).await,
                };
                samples.push(started.elapsed().as_secs_f64() * 1000.0);
                assert_eq!(response.status(), 200);
            }
            rows[row].push(median(samples));
        }
    }
    println!(
        "| query | p50 at {} users (ms) | p50 at {} users (ms) | ratio |",
        sizes[0], sizes[1]
    );
    println!("|---|---|---|---|");
    for ((name, _, _), medians) in queries.iter().zip(rows) {
        println!(
            "| {name} | {:.1} | {:.1} | {:.1}x |",
            medians[0],
            medians[1],
            medians[1] / medians[0]
        );
    }
    Ok(())
}
