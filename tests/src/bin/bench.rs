//! `scripts/bench.sh`: what every HTTP function costs, side by side with the bare store calls it
//! fundamentally needs, in one run against DynamoDB Local on this machine (issue 14). Prints the
//! figures and writes `docs/benchmarks/warm.md` and `warm.json`. A benchmark, not a test: it asserts
//! no timings, only that every request got the answer the workload expects.
//!
//!   bench [--requests N] [--large USERS] [--out DIR] [--only FUNCTION]
//!
//! - warm latency of each route through its handler (the local router, as `http::run` runs it:
//!   token check, key-ring check, telemetry), p50/p99 over N requests after a warm-up, beside the
//!   bare SDK calls (and the argon2 work) the operation needs, on the same table in the same run;
//! - login beside one argon2id verification;
//! - throughput of get and update with 16 concurrent clients, beside the bare calls;
//! - DynamoDB capacity units per call (`ReturnConsumedCapacity`, added to every request by a proxy
//!   in front of DynamoDB Local), in a tenant of 1,000 users and one of `--large` users.
//!
//! `--only FUNCTION` measures that route's warm latency alone (and, for `iam_auth_tokens`, login beside
//! argon2) and writes nothing.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use lambda::App;
use lambda::dynamo::{TENANT_SK, tenant_pk, user_item, user_sk};
use lambda::model::{Backend, User, UserType};
use lambda_http::Body;
use lambda_http::http::Request;
use local_stack::Router;
use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "Bench-Admin-Passw0rd!";
const USER_PASSWORD: &str = "Bench-User-Passw0rd1";
const NEW_PASSWORD: &str = "Bench-User-Passw0rd2";
const WARM_UP: usize = 30;
const CLIENTS: usize = 16;
/// Calls of each route in the pass that measures capacity units and log bytes.
const CONSUMPTION_CALLS: usize = 20;

struct Options {
    requests: usize,
    large: usize,
    out: PathBuf,
    /// Only this function's warm latency (for a profiler), nothing else and nothing written.
    only: Option<String>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        requests: 1_000,
        large: 100_000,
        out: PathBuf::from("docs/benchmarks"),
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--requests" => options.requests = value()?.parse().map_err(|_| "--requests N")?,
            "--large" => options.large = value()?.parse().map_err(|_| "--large USERS")?,
            "--out" => options.out = PathBuf::from(value()?),
            "--only" => options.only = Some(value()?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    // LOCK/UNLOCK and Disabled/Enabled come in pairs: an even count leaves every user as it was.
    options.requests += options.requests % 2;
    Ok(options)
}

fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// One HTTP request of a workload: method, path, token, body, and the status it must get.
struct Call {
    method: &'static str,
    path: String,
    token: String,
    body: String,
    status: u16,
}

fn build(call: &Call) -> Request<Body> {
    let mut builder = Request::builder()
        .method(call.method)
        .uri(&call.path)
        .header("content-type", "application/json");
    if !call.token.is_empty() {
        builder = builder.header("x-auth-token", &call.token);
    }
    let body = if call.body.is_empty() {
        Body::Empty
    } else {
        Body::Text(call.body.clone())
    };
    builder.body(body).expect("a request")
}

async fn send(router: &Router, call: &Call) -> Result<(Duration, Value), String> {
    let started = Instant::now();
    let response = router.dispatch(build(call)).await;
    let took = started.elapsed();
    let status = response.status().as_u16();
    let raw = match response.body() {
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    };
    if status != call.status {
        return Err(format!(
            "{} {} answered {status}, expected {}: {raw}",
            call.method, call.path, call.status
        ));
    }
    let token = response
        .headers()
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(|t| json!(t));
    let mut body: Value = serde_json::from_str(&raw).unwrap_or(Value::Null);
    if let Some(token) = token {
        body = json!({ "token": token });
    }
    Ok((took, body))
}

/// Writes `users` users into the tenant as `create_user` would (the user item with its index keys,
/// a uniqueness record per unique value), in batches of 25 from 8 writers, then adds them to the
/// tenant's counters at once: a transaction per user would take an hour for 100,000.
async fn seed(app: &App, tenant: &str, users: usize) -> Result<(), String> {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    let hash = lambda::password::hash(USER_PASSWORD).map_err(|e| e.to_string())?;
    let now = lambda::ops::now();
    let mut items = Vec::with_capacity(users * 3);
    let mut facets: BTreeMap<String, i64> = BTreeMap::new();
    for i in 0..users {
        let mut user = User::new(tenant, &user_id(i), UserType::User, Backend::Local, now);
        user.display_name = Some(format!("User {i:06}"));
        user.email = Some(user_id(i));
        user.email_verified = true;
        user.password_hash = Some(hash.clone());
        user.password_changed_at = Some(now);
        *facets
            .entry(lambda::dynamo::facet_counter(lambda::model::Facet::of(
                &user,
            )))
            .or_default() += 1;
        for (field, value) in lambda::store::unique_values(&user) {
            items.push(std::collections::HashMap::from([
                ("pk".to_owned(), AttributeValue::S(tenant_pk(tenant))),
                (
                    "sk".to_owned(),
                    AttributeValue::S(lambda::dynamo::unique_sk(field, &value)),
                ),
                (
                    "user_id".to_owned(),
                    AttributeValue::S(user.user_id.clone()),
                ),
            ]));
        }
        items.push(user_item(&user).map_err(|e| e.to_string())?);
    }
    let batches: Vec<Vec<WriteRequest>> = items
        .chunks(25)
        .map(|chunk| {
            chunk
                .iter()
                .map(|item| {
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(item.clone()))
                                .build()
                                .expect("an item"),
                        )
                        .build()
                })
                .collect()
        })
        .collect();
    let batches = Arc::new(Mutex::new(batches));
    let writers = (0..8).map(|_| {
        let batches = batches.clone();
        async move {
            loop {
                let Some(mut batch) = batches.lock().unwrap().pop() else {
                    return Ok::<(), String>(());
                };
                // Unprocessed items go again until none are left.
                while !batch.is_empty() {
                    let output = app
                        .store
                        .client()
                        .batch_write_item()
                        .request_items(app.store.table(), batch)
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    batch = output
                        .unprocessed_items
                        .and_then(|mut left| left.remove(app.store.table()))
                        .unwrap_or_default();
                }
            }
        }
    });
    for result in futures::future::join_all(writers).await {
        result?;
    }
    let mut update = app
        .store
        .client()
        .update_item()
        .table_name(app.store.table())
        .key("pk", AttributeValue::S(tenant_pk(tenant)))
        .key("sk", AttributeValue::S(TENANT_SK.into()));
    let mut additions = vec!["#users :users".to_owned()];
    update = update
        .expression_attribute_names("#users", "user_count")
        .expression_attribute_values(":users", AttributeValue::N(users.to_string()));
    for (n, (counter, count)) in facets.iter().enumerate() {
        additions.push(format!("#f{n} :f{n}"));
        update = update
            .expression_attribute_names(format!("#f{n}"), counter)
            .expression_attribute_values(format!(":f{n}"), AttributeValue::N(count.to_string()));
    }
    update
        .update_expression(format!("ADD {}", additions.join(", ")))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// The bench's world: one app and router on DynamoDB Local, a tenant with an administrator, and
/// `users` users made straight in the store (one password hash shared, so that setting up costs
/// no hashing).
struct World {
    app: &'static App,
    router: &'static Router,
    tenant: String,
    admin: String,
    users: usize,
}

fn user_id(i: usize) -> String {
    format!("u{i:06}@bench.example")
}

impl World {
    /// The EXTERNAL user `sync` refreshes, from the external directory.
    async fn add_external_user(&self) -> Result<(), String> {
        send(
            self.router,
            &self.spaceone(
                "create",
                json!({"user_id": "jkim@directory.example", "backend": "EXTERNAL"}),
            ),
        )
        .await?;
        Ok(())
    }

    async fn new(app: &'static App, label: &str, users: usize) -> Result<World, String> {
        let router: &'static Router = Box::leak(Box::new(Router::from_template(app)?));
        let tenant = format!("bench-{label}-{}", std::process::id());
        local_stack::bootstrap_admin(app, &tenant, ADMIN_PASSWORD).await?;
        let started = Instant::now();
        seed(app, &tenant, users).await?;
        if users >= 10_000 {
            eprintln!(
                "seeded {users} users into {tenant} in {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
        let mut world = World {
            app,
            router,
            tenant,
            admin: String::new(),
            users,
        };
        world.admin = world.login("admin", ADMIN_PASSWORD).await?;
        Ok(world)
    }

    async fn login(&self, name: &str, password: &str) -> Result<String, String> {
        let (_, body) = send(self.router, &self.login_call(name, password)).await?;
        Ok(body["token"].as_str().unwrap_or_default().to_owned())
    }

    fn login_call(&self, name: &str, password: &str) -> Call {
        Call {
            method: "POST",
            path: "/v3/auth/tokens".into(),
            token: String::new(),
            body: json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": name, "password": password, "domain": {"name": self.tenant}}}}}})
            .to_string(),
            status: 201,
        }
    }

    fn spaceone(&self, verb: &str, body: Value) -> Call {
        let mut body = body;
        body["domain_id"] = json!(self.tenant);
        Call {
            method: "POST",
            path: format!("/identity/v1/user/{verb}"),
            token: self.admin.clone(),
            body: body.to_string(),
            status: 200,
        }
    }

    fn call(&self, method: &'static str, path: String, body: Value, status: u16) -> Call {
        Call {
            method,
            path,
            token: self.admin.clone(),
            body: if body.is_null() {
                String::new()
            } else {
                body.to_string()
            },
            status,
        }
    }
}

/// The bare store calls (and argon2 work) an operation needs, made straight with the SDK on
/// items of their own in the same table.
#[derive(Clone, Copy, Debug)]
enum Bare {
    /// One strongly consistent `GetItem` of a user.
    Get,
    /// A uniqueness record, then its user.
    GetGet,
    /// One `GetItem` of the tenant item (the counters).
    Counters,
    /// One `Query` of a page of 10 users in name order, beside one `GetItem` of the tenant item
    /// whose counters give the answer's `total_count`.
    Page,
    /// One `Query` of a user's audit records.
    Audit,
    /// One transaction: an update of the user conditional on it existing. The issue names this
    /// the bare call of a write; the store writes a change of one item as a conditional
    /// `UpdateItem` (cheaper still), and `with caller` measures that shape.
    Write,
    /// One transaction of a change of state: the user, an audit record, the tenant's counters.
    StateChange,
    /// LOCK and UNLOCK in turn: a LOCK's transaction also checks that the user is not the tenant's
    /// first administrator (seed 001's code 1107).
    LockUnlock,
    /// The same, setting a message in the user's item too (as the store writes one), and an
    /// argon2 hash when the message holds a password.
    WriteMessage { hash: bool },
    /// One transaction: the user, two uniqueness records, the counters; and the password's hash.
    Create,
    /// The name lookup, the user, then one counted attempt beside one argon2 verification.
    Login,
    /// The user, one argon2 verification and one hash, one transaction.
    ChangePassword,
    /// Nothing comparable in the store (the external directory answers).
    None,
}

struct BareWorld {
    client: Client,
    table: String,
    tenant: String,
    hash: String,
    counter: std::sync::atomic::AtomicUsize,
}

impl BareWorld {
    async fn new(app: &App, world: &World) -> Result<BareWorld, String> {
        let bare = BareWorld {
            client: app.store.client().clone(),
            table: app.store.table().to_owned(),
            tenant: world.tenant.clone(),
            hash: lambda::password::hash(USER_PASSWORD).map_err(|e| e.to_string())?,
            counter: Default::default(),
        };
        Ok(bare)
    }

    fn key(&self, sk: String) -> std::collections::HashMap<String, AttributeValue> {
        std::collections::HashMap::from([
            ("pk".to_owned(), AttributeValue::S(tenant_pk(&self.tenant))),
            ("sk".to_owned(), AttributeValue::S(sk)),
        ])
    }

    async fn get(&self, sk: String) -> Result<(), String> {
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(self.key(sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// An update of user `i` conditional on it existing.
    fn spaceone_user_update(&self, i: usize) -> Result<Update, String> {
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(self.key(user_sk(&user_id(i)))))
            .update_expression("SET description = :d ADD version :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":d", AttributeValue::S(format!("bare {i}")))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .build()
            .map_err(|e| e.to_string())
    }

    /// The update of user `i` that also leaves a message (of the size of a sealed code's) in its
    /// item. The attribute is the bench's own, so the notifier never reads it.
    fn user_update_with_message(&self, i: usize) -> Result<Update, String> {
        let text = |value: &str| AttributeValue::S(value.to_owned());
        let message = AttributeValue::M(std::collections::HashMap::from([
            ("notification_id".to_owned(), text(&"0".repeat(32))),
            ("tenant_id".to_owned(), text(&self.tenant)),
            ("user_id".to_owned(), text(&user_id(i))),
            ("channel".to_owned(), text("EMAIL")),
            ("recipient".to_owned(), text(&user_id(i))),
            ("template".to_owned(), text("VERIFICATION_CODE")),
            ("sealed_secret".to_owned(), text(&"x".repeat(120))),
            (
                "created_at".to_owned(),
                AttributeValue::N(lambda::ops::now().to_string()),
            ),
        ]));
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(self.key(user_sk(&user_id(i)))))
            .update_expression("SET description = :d, bare_message = :m ADD version :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":d", AttributeValue::S(format!("bare {i}")))
            .expression_attribute_values(":m", message)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .build()
            .map_err(|e| e.to_string())
    }

    fn update_user(&self, i: usize) -> Result<TransactWriteItem, String> {
        Ok(TransactWriteItem::builder()
            .update(self.spaceone_user_update(i)?)
            .build())
    }

    /// An update written by itself: a conditional `UpdateItem`.
    async fn update_alone(&self, update: Update) -> Result<(), String> {
        self.client
            .update_item()
            .table_name(update.table_name())
            .set_key(Some(update.key().clone()))
            .update_expression(update.update_expression())
            .set_condition_expression(update.condition_expression().map(str::to_owned))
            .set_expression_attribute_values(update.expression_attribute_values().cloned())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// The caller and user `i` read, then `update` written by itself.
    async fn pair_then_alone(
        &self,
        i: usize,
        update: Result<Update, String>,
    ) -> Result<(), String> {
        self.get_pair(i).await?;
        self.update_alone(update?).await
    }

    fn put(
        &self,
        item: std::collections::HashMap<String, AttributeValue>,
    ) -> Result<TransactWriteItem, String> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| e.to_string())?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), String> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    async fn hash(&self) -> Result<(), String> {
        tokio::task::spawn_blocking(|| lambda::password::hash(NEW_PASSWORD))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn verify(&self) -> Result<(), String> {
        let hash = self.hash.clone();
        tokio::task::spawn_blocking(move || lambda::password::verify(USER_PASSWORD, &hash))
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// A page of 10 users in name order.
    async fn page(&self) -> Result<(), String> {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(lambda::dynamo::BY_NAME_INDEX)
            .key_condition_expression("gsi1pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(tenant_pk(&self.tenant)))
            .limit(10)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// The caller's record and the tenant's counters in one `BatchGetItem`, as list and stat read
    /// them.
    async fn get_with_counters(&self) -> Result<(), String> {
        let keys = vec![self.key(user_sk("admin")), self.key(TENANT_SK.into())];
        local_stack::consistent_batch_get(&self.client, &self.table, keys).await
    }

    /// The caller's record and user `i` in one `BatchGetItem`, as the handlers read them.
    async fn get_pair(&self, i: usize) -> Result<(), String> {
        let keys = vec![self.key(user_sk("admin")), self.key(user_sk(&user_id(i)))];
        local_stack::consistent_batch_get(&self.client, &self.table, keys).await
    }

    /// `kind` with the read of the caller's record that authorising a request needs (a token is
    /// revoked the moment its user is locked, disabled, deleted or changes password): the shape
    /// the handler runs. `None` where the handler's shape is the bare one already.
    async fn run_with_caller(&self, kind: Bare, i: usize) -> Option<Result<(), String>> {
        Some(match kind {
            Bare::Get => self.get_pair(i).await,
            Bare::GetGet => match self.get(format!("UNIQUE#EMAIL#{}", user_id(i))).await {
                Ok(()) => self.get_pair(i).await,
                Err(e) => Err(e),
            },
            // The caller's record comes in one `BatchGetItem` with the counters.
            Bare::Counters => self.get_with_counters().await,
            Bare::Page => {
                let (caller, page) = tokio::join!(self.get_with_counters(), self.page());
                caller.and(page)
            }
            Bare::Audit => {
                let (caller, work) = tokio::join!(self.get(user_sk("admin")), self.run(kind, i));
                caller.and(work)
            }
            // The store writes a change of one item without a transaction (dynamo::write_single).
            Bare::Write => self.pair_then_alone(i, self.spaceone_user_update(i)).await,
            Bare::LockUnlock if i % 2 == 1 => {
                self.pair_then_alone(i, self.spaceone_user_update(i)).await
            }
            Bare::WriteMessage { hash: false } => {
                self.pair_then_alone(i, self.user_update_with_message(i))
                    .await
            }
            Bare::StateChange | Bare::LockUnlock => match self.get_pair(i).await {
                Ok(()) => self.run(kind, i).await,
                Err(e) => Err(e),
            },
            _ => return None,
        })
    }

    /// One run of `kind` on user `i` (of the world's seeded users).
    async fn run(&self, kind: Bare, i: usize) -> Result<(), String> {
        match kind {
            Bare::Get => self.get(user_sk(&user_id(i))).await,
            Bare::GetGet => {
                self.get(format!("UNIQUE#EMAIL#{}", user_id(i))).await?;
                self.get(user_sk(&user_id(i))).await
            }
            Bare::Counters => self.get(TENANT_SK.into()).await,
            Bare::Page => {
                let (counters, page) = tokio::join!(self.get(TENANT_SK.into()), self.page());
                counters.and(page)
            }
            Bare::Audit => {
                self.client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                    .expression_attribute_values(":pk", AttributeValue::S(tenant_pk(&self.tenant)))
                    .expression_attribute_values(
                        ":prefix",
                        AttributeValue::S(format!("AUDIT#{}#", user_id(i))),
                    )
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(())
            }
            Bare::Write => self.transact(vec![self.update_user(i)?]).await,
            Bare::LockUnlock if i % 2 == 0 => {
                let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(self.key(TENANT_SK.into())))
                    .condition_expression("attribute_exists(pk) AND first_admin <> :me")
                    .expression_attribute_values(":me", AttributeValue::S(user_id(i)))
                    .build()
                    .map_err(|e| e.to_string())?;
                self.transact(vec![
                    self.update_user(i)?,
                    TransactWriteItem::builder().condition_check(check).build(),
                ])
                .await
            }
            Bare::LockUnlock => self.transact(vec![self.update_user(i)?]).await,
            Bare::StateChange => {
                let n = self
                    .counter
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let mut audit = self.key(format!("BARE_AUDIT#{}#{n:09}", user_id(i)));
                audit.insert("from_state".into(), AttributeValue::S("ENABLED".into()));
                audit.insert("to_state".into(), AttributeValue::S("DISABLED".into()));
                audit.insert("actor".into(), AttributeValue::S("admin".into()));
                let counters = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(self.key("BARE_COUNTERS".into())))
                    .update_expression("ADD #from :minus, #to :plus")
                    .expression_attribute_names("#from", "state_enabled")
                    .expression_attribute_names("#to", "state_disabled")
                    .expression_attribute_values(":minus", AttributeValue::N("-1".into()))
                    .expression_attribute_values(":plus", AttributeValue::N("1".into()))
                    .build()
                    .map_err(|e| e.to_string())?;
                self.transact(vec![
                    self.update_user(i)?,
                    self.put(audit)?,
                    TransactWriteItem::builder().update(counters).build(),
                ])
                .await
            }
            Bare::WriteMessage { hash } => {
                if hash {
                    self.hash().await?;
                }
                let update = self.user_update_with_message(i)?;
                self.transact(vec![TransactWriteItem::builder().update(update).build()])
                    .await
            }
            Bare::Create => {
                self.hash().await?;
                let n = self
                    .counter
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let mut user = User::new(
                    &self.tenant,
                    &format!("bare{n:07}@bench.example"),
                    UserType::User,
                    Backend::Local,
                    lambda::ops::now(),
                );
                user.email = Some(user.user_id.clone());
                user.password_hash = Some(self.hash.clone());
                let item = user_item(&user).map_err(|e| e.to_string())?;
                let mut login = self.key(format!("UNIQUE#BARELOGIN#{}", user.user_id));
                login.insert("user_id".into(), AttributeValue::S(user.user_id.clone()));
                let mut email = self.key(format!("UNIQUE#BAREEMAIL#{}", user.user_id));
                email.insert("user_id".into(), AttributeValue::S(user.user_id.clone()));
                let counters = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(self.key("BARE_COUNTERS".into())))
                    .update_expression("ADD user_count :one")
                    .expression_attribute_values(":one", AttributeValue::N("1".into()))
                    .build()
                    .map_err(|e| e.to_string())?;
                self.transact(vec![
                    self.put(item)?,
                    self.put(login)?,
                    self.put(email)?,
                    TransactWriteItem::builder().update(counters).build(),
                ])
                .await
            }
            Bare::Login => {
                self.get(format!("UNIQUE#LOGIN#{}", user_id(i))).await?;
                self.get(user_sk(&user_id(i))).await?;
                let count_attempt = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(self.key(user_sk(&user_id(i)))))
                    .update_expression("SET failed_logins = :zero")
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_values(":zero", AttributeValue::N("0".into()))
                    .send();
                let (counted, verified) = tokio::join!(count_attempt, self.verify());
                counted.map_err(|e| e.to_string())?;
                verified
            }
            Bare::ChangePassword => {
                self.get(user_sk(&user_id(i))).await?;
                self.verify().await?;
                self.hash().await?;
                self.transact(vec![self.update_user(i)?]).await
            }
            Bare::None => Ok(()),
        }
    }
}

/// Untimed work before a request that yields it (a fresh token, a code from the outbox).
type Prepare = fn(&'static World, usize) -> Pin<Box<dyn Future<Output = Result<Call, String>>>>;

/// A route's workload: the n-th request, and what the operation fundamentally costs.
struct Workload {
    function: &'static str,
    route: &'static str,
    bare: Bare,
    /// Untimed preparation before request `i` (e.g. a fresh token).
    prepare: Option<Prepare>,
    call: fn(&World, usize) -> Call,
}

impl Workload {
    /// Request `i` of the workload, prepared where it needs preparing.
    async fn request(&self, world: &'static World, i: usize) -> Result<Call, String> {
        match self.prepare {
            Some(prepare) => prepare(world, i).await,
            None => Ok((self.call)(world, i)),
        }
    }
}

fn workloads() -> Vec<Workload> {
    fn w(
        function: &'static str,
        route: &'static str,
        bare: Bare,
        call: fn(&World, usize) -> Call,
    ) -> Workload {
        Workload {
            function,
            route,
            bare,
            prepare: None,
            call,
        }
    }
    vec![
        w(
            "spaceone_user_get",
            "POST /identity/v1/user/get",
            Bare::Get,
            |w, i| w.spaceone("get", json!({"user_id": user_id(i % w.users)})),
        ),
        w(
            "spaceone_user_list",
            "POST /identity/v1/user/list",
            Bare::Page,
            |w, _| {
                w.spaceone(
                    "list",
                    json!({"query": {"page": {"start": 1, "limit": 10}}}),
                )
            },
        ),
        w(
            "spaceone_user_stat",
            "POST /identity/v1/user/stat",
            Bare::Counters,
            |w, _| {
                w.spaceone(
                "stat",
                json!({"query": {"aggregate": [{"group": {"keys": [{"key": "state", "name": "state"}],
                       "fields": [{"name": "count", "operator": "count"}]}}]}}),
            )
            },
        ),
        w(
            "rsa_user_lookup",
            "POST /AdminInterface/restapi/v1/users/lookup",
            Bare::GetGet,
            |w, i| {
                w.call(
                    "POST",
                    "/AdminInterface/restapi/v1/users/lookup".into(),
                    json!({"email": user_id(i % w.users)}),
                    200,
                )
            },
        ),
        w(
            "rsa_audit_trail",
            "GET /AdminInterface/restapi/v1/users/{userId}/auditTrail",
            Bare::Audit,
            |w, i| {
                w.call(
                    "GET",
                    format!(
                        "/AdminInterface/restapi/v1/users/{}/auditTrail",
                        user_id(i % w.users)
                    ),
                    Value::Null,
                    200,
                )
            },
        ),
        w(
            "spaceone_user_find",
            "POST /identity/v1/users/find",
            Bare::None,
            |w, _| {
                let mut call = w.spaceone("find", json!({"search": {"keyword": "kim"}}));
                call.path = "/identity/v1/users/find".into();
                call
            },
        ),
        w(
            "spaceone_user_sync",
            "POST /identity/v1/user/sync",
            Bare::Write,
            |w, _| w.spaceone("sync", json!({"user_id": "jkim@directory.example"})),
        ),
        w(
            "spaceone_user_update",
            "POST /identity/v1/user/update",
            Bare::Write,
            |w, i| {
                w.spaceone(
                    "update",
                    json!({"user_id": user_id(i % w.users), "name": format!("Name {i}")}),
                )
            },
        ),
        w(
            "workspace_user_modify",
            "PUT /v2/{project_id}/users/{user_id}",
            Bare::Write,
            |w, i| {
                w.call(
                    "PUT",
                    format!("/v2/{}/users/{}", w.tenant, user_id(i % w.users)),
                    json!({"description": format!("Workspace {i}")}),
                    200,
                )
            },
        ),
        w(
            "iam_user_modify",
            "PUT /v3.0/OS-USER/users/{user_id}",
            Bare::Write,
            |w, i| {
                w.call(
                    "PUT",
                    format!("/v3.0/OS-USER/users/{}", user_id(i % w.users)),
                    json!({"user": {"description": format!("IAM {i}")}}),
                    200,
                )
            },
        ),
        w(
            "spaceone_user_set_required_actions",
            "POST /identity/v1/user/set-required-actions",
            Bare::Write,
            |w, i| {
                w.spaceone(
                    "set-required-actions",
                    json!({"user_id": user_id(i % w.users), "actions": ["UPDATE_PASSWORD"]}),
                )
            },
        ),
        w(
            "workspace_user_actions",
            "POST /v2/{project_id}/users/{user_id}/actions",
            Bare::LockUnlock,
            |w, i| {
                let op = if i % 2 == 0 { "LOCK" } else { "UNLOCK" };
                w.call(
                    "POST",
                    format!(
                        "/v2/{}/users/{}/actions",
                        w.tenant,
                        user_id((i / 2) % w.users)
                    ),
                    json!({ "op_type": op }),
                    200,
                )
            },
        ),
        w(
            "rsa_user_status",
            "PUT /AdminInterface/restapi/v1/users/{userId}/userStatus",
            Bare::StateChange,
            |w, i| {
                let status = if i % 2 == 0 { "Disabled" } else { "Enabled" };
                w.call(
                    "PUT",
                    format!(
                        "/AdminInterface/restapi/v1/users/{}/userStatus",
                        user_id((i / 2) % w.users)
                    ),
                    json!({ "userStatus": status }),
                    200,
                )
            },
        ),
        w(
            "spaceone_user_disable",
            "POST /identity/v1/user/disable",
            Bare::StateChange,
            |w, i| w.spaceone("disable", json!({"user_id": user_id(i % w.users)})),
        ),
        w(
            "spaceone_user_enable",
            "POST /identity/v1/user/enable",
            Bare::StateChange,
            |w, i| w.spaceone("enable", json!({"user_id": user_id(i % w.users)})),
        ),
        w(
            "spaceone_user_verify_email",
            "POST /identity/v1/user/verify-email",
            Bare::WriteMessage { hash: false },
            |w, i| w.spaceone("verify-email", json!({"user_id": user_id(i % w.users)})),
        ),
        Workload {
            function: "spaceone_user_confirm_email",
            route: "POST /identity/v1/user/confirm-email",
            bare: Bare::Write,
            prepare: Some(|w, i| {
                Box::pin(async move {
                    // The second half of the users: the first half got a code from verify-email's
                    // run, and another code within the resend interval is refused.
                    let user = user_id(w.users / 2 + i);
                    send(
                        w.router,
                        &w.spaceone("verify-email", json!({"user_id": user})),
                    )
                    .await?;
                    let code = last_code(w, &user).await?;
                    Ok(w.spaceone(
                        "confirm-email",
                        json!({"user_id": user, "verify_code": code}),
                    ))
                })
            }),
            call: |_, _| unreachable!("prepared"),
        },
        Workload {
            function: "iam_user_password",
            route: "POST /v3/users/{user_id}/password",
            bare: Bare::ChangePassword,
            prepare: Some(|w, i| {
                Box::pin(async move {
                    let user = user_id(i % w.users);
                    let token = w.login(&user, USER_PASSWORD).await?;
                    Ok(Call {
                        method: "POST",
                        path: format!("/v3/users/{user}/password"),
                        token,
                        body: json!({"user": {"original_password": USER_PASSWORD,
                                              "password": NEW_PASSWORD}})
                        .to_string(),
                        status: 204,
                    })
                })
            }),
            call: |_, _| unreachable!("prepared"),
        },
        w(
            "spaceone_user_reset_password",
            "POST /identity/v1/user/reset-password",
            Bare::WriteMessage { hash: true },
            |w, i| {
                w.spaceone(
                    "reset-password",
                    // Those whose address confirm-email's run verified again (verify-email's run
                    // left the first half unverified).
                    json!({"user_id": user_id(w.users / 2 + i)}),
                )
            },
        ),
        w(
            "workspace_random_password",
            "GET /v2/{project_id}/users/{user_id}/random-password",
            Bare::WriteMessage { hash: true },
            |w, i| {
                w.call(
                    "GET",
                    format!(
                        "/v2/{}/users/{}/random-password",
                        w.tenant,
                        user_id(i % w.users)
                    ),
                    Value::Null,
                    200,
                )
            },
        ),
        w(
            "iam_auth_tokens",
            "POST /v3/auth/tokens",
            Bare::Login,
            |w, _| w.login_call("admin", ADMIN_PASSWORD),
        ),
        w(
            "spaceone_user_create",
            "POST /identity/v1/user/create",
            Bare::Create,
            |w, i| {
                w.spaceone(
                    "create",
                    json!({"user_id": format!("new{i:06}@bench.example"), "backend": "LOCAL",
                       "password": NEW_PASSWORD, "email": format!("new{i:06}@bench.example")}),
                )
            },
        ),
        w(
            "spaceone_user_delete",
            "POST /identity/v1/user/delete",
            Bare::StateChange,
            |w, i| {
                w.spaceone(
                    "delete",
                    json!({"user_id": format!("new{i:06}@bench.example")}),
                )
            },
        ),
    ]
}

/// The verification code last mailed to a user, opened as the notifier would.
async fn last_code(world: &World, user: &str) -> Result<String, String> {
    let item = world
        .app
        .store
        .client()
        .get_item()
        .table_name(world.app.store.table())
        .key("pk", AttributeValue::S(tenant_pk(&world.tenant)))
        .key("sk", AttributeValue::S(user_sk(user)))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .item
        .ok_or_else(|| format!("no user {user}"))?;
    let messages = lambda::dynamo::messages_of(&item).map_err(|e| e.to_string())?;
    let message = messages
        .iter()
        .find(|m| m.template == lambda::outbox::Template::VerificationCode)
        .ok_or_else(|| format!("no code for {user}"))?;
    world
        .app
        .sealer
        .open(message)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "a sealed code".to_owned())
}

#[derive(serde::Serialize)]
struct Row {
    function: String,
    route: String,
    requests: usize,
    p50_ms: f64,
    p99_ms: f64,
    /// CPU time of this process per request (handler, SDK, TLS-free HTTP to the store).
    cpu_ms: f64,
    /// DynamoDB calls per request, from the access lines.
    store_calls: f64,
    /// The time a request waited on DynamoDB (calls side by side counted once), from the access
    /// lines.
    store_wait_p50_ms: f64,
    /// Latency less that wait, request by request: the handler's own work and the router's.
    own_p50_ms: f64,
    bare: String,
    bare_p50_ms: Option<f64>,
    bare_p99_ms: Option<f64>,
    ratio: Option<f64>,
    /// The bare calls with the caller's record read as the handler reads it.
    with_caller_p50_ms: Option<f64>,
    with_caller_ratio: Option<f64>,
}

/// CPU time of every thread of this process so far, in nanoseconds.
fn process_cpu_ns() -> u64 {
    local_stack::process_cpu_ns(std::process::id()).unwrap_or(0)
}

/// What reading the CPU time costs itself (it reads a file per thread), to take off each sample.
fn cpu_probe_cost() -> u64 {
    const ROUNDS: u64 = 200;
    let mut total = 0;
    for _ in 0..ROUNDS {
        let before = process_cpu_ns();
        total += process_cpu_ns().saturating_sub(before);
    }
    total / ROUNDS
}

async fn warm_latency(
    world: &'static World,
    bare: &BareWorld,
    requests: usize,
    only: Option<&str>,
) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    let probe_cost = cpu_probe_cost();
    for workload in workloads()
        .into_iter()
        .filter(|w| only.is_none_or(|f| f == w.function))
    {
        let mut samples = Vec::with_capacity(requests);
        let mut store_waits = Vec::with_capacity(requests);
        let mut own_times = Vec::with_capacity(requests);
        let mut store_calls = 0;
        let mut cpu_ns = 0;
        let mut bare_samples = Vec::with_capacity(requests);
        let mut caller_samples = Vec::with_capacity(requests);
        // Interleaved request by request, so that DynamoDB Local's state (its JIT, its collector,
        // what the machine does beside it) weighs on the handler and the bare calls alike.
        for i in 0..WARM_UP + requests {
            let call = workload.request(world, i).await?;
            let cpu_before = process_cpu_ns();
            LAST_ACCESS_LINE.lock().unwrap().clear();
            let (took, _) = send(world.router, &call).await?;
            let cpu = process_cpu_ns()
                .saturating_sub(cpu_before)
                .saturating_sub(probe_cost);
            let (calls, waited) = last_store_wait()?;
            if i >= WARM_UP {
                store_calls += calls;
                store_waits.push(waited);
                own_times.push(ms(took) - waited);
            }
            if matches!(workload.bare, Bare::None) {
                if i >= WARM_UP {
                    cpu_ns += cpu;
                    samples.push(ms(took));
                }
                continue;
            }
            let started = Instant::now();
            bare.run(workload.bare, i % world.users).await?;
            let took_bare = ms(started.elapsed());
            let started = Instant::now();
            let with_caller = bare.run_with_caller(workload.bare, i % world.users).await;
            let took_with_caller = ms(started.elapsed());
            if i >= WARM_UP {
                cpu_ns += cpu;
                samples.push(ms(took));
                bare_samples.push(took_bare);
                if let Some(result) = with_caller {
                    result?;
                    caller_samples.push(took_with_caller);
                }
            }
        }
        let (p50, p99) = (percentile(&samples, 50.0), percentile(&samples, 99.0));
        let bare_p50 = (!bare_samples.is_empty()).then(|| percentile(&bare_samples, 50.0));
        let caller_p50 = (!caller_samples.is_empty()).then(|| percentile(&caller_samples, 50.0));
        let row = Row {
            function: workload.function.into(),
            route: workload.route.into(),
            requests,
            p50_ms: p50,
            p99_ms: p99,
            cpu_ms: cpu_ns as f64 / 1e6 / requests as f64,
            store_calls: store_calls as f64 / requests as f64,
            store_wait_p50_ms: percentile(&store_waits, 50.0),
            own_p50_ms: percentile(&own_times, 50.0),
            bare: format!("{:?}", workload.bare),
            bare_p50_ms: bare_p50,
            bare_p99_ms: (!bare_samples.is_empty()).then(|| percentile(&bare_samples, 99.0)),
            ratio: bare_p50.map(|b| p50 / b),
            with_caller_p50_ms: caller_p50,
            with_caller_ratio: caller_p50.map(|b| p50 / b),
        };
        eprintln!(
            "{:28} p50 {:7.2} ms  p99 {:7.2} ms  cpu {:6.2} ms  store {:.1} calls {:.2} ms  own {:.2} ms  bare {:?} p50 {}  ratio {}  with caller {}",
            row.function,
            row.p50_ms,
            row.p99_ms,
            row.cpu_ms,
            row.store_calls,
            row.store_wait_p50_ms,
            row.own_p50_ms,
            workload.bare,
            row.bare_p50_ms.map_or("-".into(), |b| format!("{b:.2} ms")),
            row.ratio.map_or("-".into(), |r| format!("{r:.2}")),
            row.with_caller_ratio
                .map_or("-".into(), |r| format!("{r:.2}")),
        );
        rows.push(row);
    }
    Ok(rows)
}

#[derive(serde::Serialize)]
struct Login {
    login_p50_ms: f64,
    verify_p50_ms: f64,
    ratio: f64,
}

async fn login_vs_argon2(world: &World, bare: &BareWorld, rounds: usize) -> Result<Login, String> {
    let mut logins = Vec::new();
    let mut verifies = Vec::new();
    let call = world.login_call("admin", ADMIN_PASSWORD);
    for i in 0..WARM_UP + rounds {
        // Interleaved, so that the machine's load hits both alike.
        let (took, _) = send(world.router, &call).await?;
        let started = Instant::now();
        bare.verify().await?;
        if i >= WARM_UP {
            logins.push(ms(took));
            verifies.push(ms(started.elapsed()));
        }
    }
    let (login, verify) = (percentile(&logins, 50.0), percentile(&verifies, 50.0));
    Ok(Login {
        login_p50_ms: login,
        verify_p50_ms: verify,
        ratio: login / verify,
    })
}

#[derive(serde::Serialize)]
struct Throughput {
    operation: String,
    clients: usize,
    handler_per_s: f64,
    bare_per_s: f64,
    ratio: f64,
}

async fn throughput(
    world: &'static World,
    bare: &'static BareWorld,
    per_client: usize,
) -> Result<Vec<Throughput>, String> {
    let mut rows = Vec::new();
    for (operation, kind) in [("get", Bare::Get), ("update", Bare::Write)] {
        let started = Instant::now();
        let clients = (0..CLIENTS).map(|client| async move {
            for n in 0..per_client {
                let i = (client * per_client + n) % world.users;
                let call = match operation {
                    "get" => world.spaceone("get", json!({"user_id": user_id(i)})),
                    _ => world.spaceone(
                        "update",
                        json!({"user_id": user_id(i), "name": format!("T {n}")}),
                    ),
                };
                // Two clients may update one user at once: a 409 is an answer too.
                let response = world.router.dispatch(build(&call)).await;
                let status = response.status().as_u16();
                if status != 200 && status != 409 {
                    return Err(format!("{operation} answered {status}"));
                }
            }
            Ok::<(), String>(())
        });
        for result in futures::future::join_all(clients).await {
            result?;
        }
        let handler = (CLIENTS * per_client) as f64 / started.elapsed().as_secs_f64();
        let started = Instant::now();
        let clients = (0..CLIENTS).map(|client| async move {
            for n in 0..per_client {
                bare.run(kind, (client * per_client + n) % world.users)
                    .await?;
            }
            Ok::<(), String>(())
        });
        for result in futures::future::join_all(clients).await {
            result?;
        }
        let bare_rate = (CLIENTS * per_client) as f64 / started.elapsed().as_secs_f64();
        eprintln!(
            "throughput {operation}: {handler:.0}/s through the handler, {bare_rate:.0}/s bare"
        );
        rows.push(Throughput {
            operation: operation.into(),
            clients: CLIENTS,
            handler_per_s: handler,
            bare_per_s: bare_rate,
            ratio: handler / bare_rate,
        });
    }
    Ok(rows)
}

/// Everything one run measured.
#[derive(serde::Serialize)]
struct Report {
    context: BTreeMap<&'static str, String>,
    warm: Vec<Row>,
    login: Login,
    login_sizing: Vec<LoginSizing>,
    throughput: Vec<Throughput>,
    capacity: Vec<Capacity>,
    consumption: Vec<Consumption>,
    cost: Vec<Cost>,
}

fn markdown(report: &Report) -> String {
    let opt = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.2}"));
    let mut out = String::new();
    out.push_str("# Warm latency, login, throughput, capacity and cost (generated by `scripts/bench.sh`)\n\n");
    for (key, value) in &report.context {
        out.push_str(&format!("- {key}: {value}\n"));
    }
    out.push_str("\n![p50 and p99 per function, beside the bare calls](warm.png)\n");
    out.push_str(
        "\n`bare`: the store calls (and argon2 work) the operation fundamentally needs, made \
         straight with the SDK; `with caller`: the same plus the read of the caller's record that \
         authorising needs, in the shape the handler makes it (one `BatchGetItem` of caller and \
         target, a `BatchGetItem` of caller and counters, or a `GetItem` beside the query). CPU: \
         this process's CPU time per request. \
         `store calls` and `store wait`: the DynamoDB calls of a request and the time it waited on \
         them (calls side by side counted once), from its access line; `own`: its latency less \
         that wait, request by request (the handler's work, the SDK's, the router's).\n",
    );
    out.push_str("\n| function | route | p50 (ms) | p99 (ms) | CPU (ms) | store calls | store wait p50 (ms) | own p50 (ms) | bare calls | bare p50 (ms) | bare p99 (ms) | p50 / bare p50 | with caller p50 (ms) | p50 / with caller p50 |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for row in &report.warm {
        out.push_str(&format!(
            "| {} | `{}` | {:.2} | {:.2} | {:.2} | {:.1} | {:.2} | {:.2} | {} | {} | {} | {} | {} | {} |\n",
            row.function,
            row.route,
            row.p50_ms,
            row.p99_ms,
            row.cpu_ms,
            row.store_calls,
            row.store_wait_p50_ms,
            row.own_p50_ms,
            row.bare,
            opt(row.bare_p50_ms),
            opt(row.bare_p99_ms),
            opt(row.ratio),
            opt(row.with_caller_p50_ms),
            opt(row.with_caller_ratio),
        ));
    }
    let login = &report.login;
    out.push_str(&format!(
        "\nLogin p50 {:.2} ms, one argon2id verification p50 {:.2} ms: ratio {:.2}.\n",
        login.login_p50_ms, login.verify_p50_ms, login.ratio
    ));
    out.push_str(&format!(
        "\nA login on Lambda (arm64) by memory size: the measured wait plus the measured CPU time \
         stretched by the vCPU share ({} MB buys one vCPU), assuming a Graviton core as fast as \
         this machine's; the budget is {LOGIN_BUDGET_MS:.0} ms.\n\n| memory (MB) | vCPU share | login (ms) | Lambda cost per million logins (USD) |\n|---|---|---|---|\n",
        prices::FULL_VCPU_MB
    ));
    for size in &report.login_sizing {
        out.push_str(&format!(
            "| {:.0} | {:.1}% | {:.0} | {:.2} |\n",
            size.memory_mb,
            size.vcpu_share * 100.0,
            size.login_ms,
            size.usd_per_million
        ));
    }
    if let Some(cheapest) = report
        .login_sizing
        .iter()
        .filter(|s| s.login_ms < LOGIN_BUDGET_MS)
        .min_by(|a, b| a.usd_per_million.total_cmp(&b.usd_per_million))
    {
        out.push_str(&format!(
            "\nCheapest size that keeps a login under {LOGIN_BUDGET_MS:.0} ms: {:.0} MB.\n",
            cheapest.memory_mb
        ));
    }
    out.push_str("\n| operation | clients | through the handler (req/s) | bare (req/s) | ratio |\n|---|---|---|---|---|\n");
    for row in &report.throughput {
        out.push_str(&format!(
            "| {} | {} | {:.0} | {:.0} | {:.2} |\n",
            row.operation, row.clients, row.handler_per_s, row.bare_per_s, row.ratio
        ));
    }
    if let Some(first) = report.capacity.first() {
        out.push_str(&format!(
            "\n| operation | capacity units at {} users | calls | at {} users | calls | ratio |\n|---|---|---|---|---|---|\n",
            first.small_users, first.large_users
        ));
    }
    for row in &report.capacity {
        out.push_str(&format!(
            "| {} | {:.1} | {} | {:.1} | {} | {:.2} |\n",
            row.operation,
            row.small_units,
            row.small_calls,
            row.large_units,
            row.large_calls,
            row.ratio
        ));
    }
    out.push_str(&format!(
        "\n## Cost per million calls\n\nUSD, us-east-1 list prices: Lambda arm64 ${}/GB-s and ${:.2} per million requests; \
         DynamoDB on-demand ${} per million write units and ${} per million read units; CloudWatch Logs \
         ${:.2}/GB ingested; API Gateway REST API ${:.2} and HTTP API ${:.2} per million requests. \
         Duration: the p50 above at the template's `MemorySize`, CPU stretched by the vCPU share, \
         billed per started millisecond; the wait is DynamoDB Local's on loopback, so real durations \
         are longer by DynamoDB's own latency (a few ms per round trip). Units and log bytes: mean \
         of a pass of each route through a proxy that adds `ReturnConsumedCapacity` to every call; \
         logs are the function's own lines (access and metrics), not Lambda's platform lines. The \
         template uses the REST API: HTTP APIs cannot shape API Gateway's own errors (throttling, \
         unknown route, payload too large) into the one error shape, nor throttle per stage and method.\n\n",
        prices::LAMBDA_ARM64_PER_GB_SECOND,
        prices::LAMBDA_PER_MILLION_REQUESTS,
        prices::DYNAMODB_PER_MILLION_WRITE_UNITS,
        prices::DYNAMODB_PER_MILLION_READ_UNITS,
        prices::LOGS_PER_GB_INGESTED,
        prices::REST_API_PER_MILLION,
        prices::HTTP_API_PER_MILLION,
    ));
    out.push_str("| function | MemorySize (MB) | duration (ms) | read units | write units | log bytes | Lambda | DynamoDB | logs | total, REST API | total, HTTP API |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for cost in &report.cost {
        let Some(used) = report
            .consumption
            .iter()
            .find(|c| c.function == cost.function)
        else {
            continue;
        };
        out.push_str(&format!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
            cost.function,
            cost.memory_mb,
            cost.lambda_ms,
            used.read_units,
            used.write_units,
            used.log_bytes,
            cost.lambda_usd,
            cost.dynamodb_usd,
            cost.logs_usd,
            cost.total_rest_api_usd,
            cost.total_http_api_usd,
        ));
    }
    out
}

/// Bytes the functions log (access and metrics lines), counted instead of written.
static LOG_BYTES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The last access line, kept as written: it is read once the request's time is taken.
static LAST_ACCESS_LINE: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

/// The store calls of the last request and its wait on them, from its access line.
fn last_store_wait() -> Result<(u64, f64), String> {
    let line: Value = serde_json::from_slice(&LAST_ACCESS_LINE.lock().unwrap())
        .map_err(|e| format!("the request's access line: {e}"))?;
    match (line["store_calls"].as_u64(), line["store_ms"].as_f64()) {
        (Some(calls), Some(waited)) => Ok((calls, waited)),
        _ => Err(format!(
            "no store_calls or store_ms in the access line: {line}"
        )),
    }
}

struct CountingWriter;

impl std::io::Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG_BYTES.fetch_add(buf.len() as u64, std::sync::atomic::Ordering::SeqCst);
        const ACCESS: &[u8] = br#""target":"access""#;
        if buf.windows(ACCESS.len()).any(|w| w == ACCESS) {
            let mut last = LAST_ACCESS_LINE.lock().unwrap();
            last.clear();
            last.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Logs as a deployed function does (JSON lines at INFO, and the metrics lines), into a counter.
fn count_logs() {
    use tracing_subscriber::prelude::*;
    let _ = tracing_subscriber::registry()
        .with(lambda::telemetry::filter("info"))
        .with(lambda::telemetry::json_layer(|| CountingWriter))
        .try_init();
    lambda::telemetry::set_metrics_sink(Box::new(|line| {
        LOG_BYTES.fetch_add(line.len() as u64 + 1, std::sync::atomic::Ordering::SeqCst);
    }));
}

/// What one call of a route consumes besides time: capacity units and log bytes, the mean over
/// `calls` calls.
#[derive(serde::Serialize, Clone)]
struct Consumption {
    function: String,
    read_units: f64,
    write_units: f64,
    store_calls: f64,
    log_bytes: f64,
}

async fn consumption_per_route(
    app: &'static App,
    meter: &capacity::Meter,
    calls: usize,
) -> Result<Vec<Consumption>, String> {
    let world: &'static World = Box::leak(Box::new(World::new(app, "routes", 4 * calls).await?));
    world.add_external_user().await?;
    let mut rows = Vec::new();
    for workload in workloads() {
        let mut total = capacity::Taken::default();
        let mut log_bytes = 0;
        for i in 0..calls {
            let call = workload.request(world, i).await?;
            meter.take();
            LOG_BYTES.swap(0, std::sync::atomic::Ordering::SeqCst);
            send(world.router, &call).await?;
            let taken = meter.take();
            log_bytes += LOG_BYTES.swap(0, std::sync::atomic::Ordering::SeqCst);
            total.read_units += taken.read_units;
            total.write_units += taken.write_units;
            total.calls += taken.calls;
        }
        let n = calls as f64;
        rows.push(Consumption {
            function: workload.function.into(),
            read_units: total.read_units / n,
            write_units: total.write_units / n,
            store_calls: total.calls as f64 / n,
            log_bytes: log_bytes as f64 / n,
        });
    }
    Ok(rows)
}

/// List prices (us-east-1), from AWS's pricing pages: Lambda arm64 and API Gateway as they have
/// stood since 2020, DynamoDB on-demand as cut on 2024-11-01. Checked on the date the tables carry.
mod prices {
    pub const LAMBDA_ARM64_PER_GB_SECOND: f64 = 0.000_013_333_4;
    pub const LAMBDA_PER_MILLION_REQUESTS: f64 = 0.20;
    pub const REST_API_PER_MILLION: f64 = 3.50;
    pub const HTTP_API_PER_MILLION: f64 = 1.00;
    pub const DYNAMODB_PER_MILLION_WRITE_UNITS: f64 = 0.625;
    pub const DYNAMODB_PER_MILLION_READ_UNITS: f64 = 0.125;
    pub const LOGS_PER_GB_INGESTED: f64 = 0.50;
    /// Lambda gives one full vCPU at this memory, and CPU in proportion below it.
    pub const FULL_VCPU_MB: f64 = 1769.0;
}

/// A call's duration on a Lambda of `memory_mb`: the time spent waiting as measured, and the CPU
/// time stretched by the share of a vCPU that memory buys.
fn lambda_ms(row: &Row, memory_mb: f64) -> f64 {
    let cpu = row.cpu_ms.min(row.p50_ms);
    let wait = row.p50_ms - cpu;
    wait + cpu * (prices::FULL_VCPU_MB / memory_mb).max(1.0)
}

/// Lambda's cost of a million calls of `ms` each at `memory_mb` (duration billed per started ms).
fn lambda_usd(ms: f64, memory_mb: f64) -> f64 {
    prices::LAMBDA_PER_MILLION_REQUESTS
        + 1e6 * (ms.ceil() / 1000.0) * (memory_mb / 1024.0) * prices::LAMBDA_ARM64_PER_GB_SECOND
}

#[derive(serde::Serialize)]
struct Cost {
    function: String,
    memory_mb: u64,
    lambda_ms: f64,
    lambda_usd: f64,
    dynamodb_usd: f64,
    logs_usd: f64,
    total_rest_api_usd: f64,
    total_http_api_usd: f64,
}

fn costs(rows: &[Row], consumption: &[Consumption]) -> Result<Vec<Cost>, String> {
    let template = local_stack::template::load()?;
    let mut costs = Vec::new();
    for row in rows {
        let memory_mb = local_stack::template::memory_size(&template, &row.function)
            .ok_or(format!("no MemorySize for {}", row.function))?;
        let used = consumption
            .iter()
            .find(|c| c.function == row.function)
            .ok_or(format!("no consumption for {}", row.function))?;
        let ms = lambda_ms(row, memory_mb as f64);
        let lambda = lambda_usd(ms, memory_mb as f64);
        let dynamodb = used.read_units * prices::DYNAMODB_PER_MILLION_READ_UNITS
            + used.write_units * prices::DYNAMODB_PER_MILLION_WRITE_UNITS;
        let logs = used.log_bytes * 1e6 / 1e9 * prices::LOGS_PER_GB_INGESTED;
        costs.push(Cost {
            function: row.function.clone(),
            memory_mb,
            lambda_ms: ms,
            lambda_usd: lambda,
            dynamodb_usd: dynamodb,
            logs_usd: logs,
            total_rest_api_usd: lambda + dynamodb + logs + prices::REST_API_PER_MILLION,
            total_http_api_usd: lambda + dynamodb + logs + prices::HTTP_API_PER_MILLION,
        });
    }
    Ok(costs)
}

/// Memory settings a login is costed at, and the latency it must stay under.
const LOGIN_MEMORY_MB: [f64; 8] = [128.0, 256.0, 384.0, 512.0, 640.0, 768.0, 1024.0, 1769.0];
const LOGIN_BUDGET_MS: f64 = 250.0;

#[derive(serde::Serialize)]
struct LoginSizing {
    memory_mb: f64,
    vcpu_share: f64,
    login_ms: f64,
    usd_per_million: f64,
}

fn login_sizing(rows: &[Row]) -> Vec<LoginSizing> {
    let Some(login) = rows.iter().find(|r| r.function == "iam_auth_tokens") else {
        return Vec::new();
    };
    LOGIN_MEMORY_MB
        .iter()
        .map(|&memory_mb| {
            let ms = lambda_ms(login, memory_mb);
            LoginSizing {
                memory_mb,
                vcpu_share: (memory_mb / prices::FULL_VCPU_MB).min(1.0),
                login_ms: ms,
                usd_per_million: lambda_usd(ms, memory_mb),
            }
        })
        .collect()
}

/// A proxy in front of DynamoDB Local that asks every call for its consumed capacity
/// (`ReturnConsumedCapacity: TOTAL`, added to the JSON body) and adds up what the answers report:
/// the capacity of whatever a handler does, however many calls, without touching its code.
/// (DynamoDB Local does not check request signatures, so the changed body passes.)
mod capacity {
    use std::sync::atomic::{AtomicU64, Ordering};

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper::body::Incoming;
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use serde_json::Value;

    /// Capacity units in thousandths, so that they add up atomically; read and write apart, by the
    /// kind of call (on-demand prices them apart).
    #[derive(Default)]
    pub struct Meter {
        read_milli_units: AtomicU64,
        write_milli_units: AtomicU64,
        calls: AtomicU64,
    }

    /// What the calls since the last take consumed.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Taken {
        pub read_units: f64,
        pub write_units: f64,
        pub calls: u64,
    }

    impl Taken {
        pub fn units(&self) -> f64 {
            self.read_units + self.write_units
        }
    }

    impl Meter {
        /// Units and calls since the last take.
        pub fn take(&self) -> Taken {
            Taken {
                read_units: self.read_milli_units.swap(0, Ordering::SeqCst) as f64 / 1000.0,
                write_units: self.write_milli_units.swap(0, Ordering::SeqCst) as f64 / 1000.0,
                calls: self.calls.swap(0, Ordering::SeqCst),
            }
        }
    }

    /// Calls that consume read capacity; every other call writes.
    const READS: [&str; 5] = [
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "TransactGetItems",
    ];

    fn units(answer: &Value) -> f64 {
        match &answer["ConsumedCapacity"] {
            Value::Array(all) => all
                .iter()
                .map(|c| c["CapacityUnits"].as_f64().unwrap_or(0.0))
                .sum(),
            Value::Object(one) => one
                .get("CapacityUnits")
                .and_then(Value::as_f64)
                .unwrap_or(0.0),
            _ => 0.0,
        }
    }

    /// Starts the proxy for `upstream` (http://127.0.0.1:PORT) and returns its URL.
    pub async fn start(upstream: String, meter: &'static Meter) -> Result<String, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let url = format!(
            "http://{}",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (client, upstream) = (client.clone(), upstream.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request: hyper::Request<Incoming>| {
                        let (client, upstream) = (client.clone(), upstream.clone());
                        async move {
                            let (mut parts, body) = request.into_parts();
                            let reads = parts
                                .headers
                                .get("x-amz-target")
                                .and_then(|t| t.to_str().ok())
                                .and_then(|t| t.rsplit('.').next())
                                .is_some_and(|operation| READS.contains(&operation));
                            let body = body.collect().await?.to_bytes();
                            let body = match serde_json::from_slice::<Value>(&body) {
                                Ok(Value::Object(mut call)) => {
                                    call.insert("ReturnConsumedCapacity".into(), "TOTAL".into());
                                    Bytes::from(Value::Object(call).to_string())
                                }
                                _ => body,
                            };
                            parts.headers.insert(
                                hyper::header::CONTENT_LENGTH,
                                hyper::header::HeaderValue::from(body.len()),
                            );
                            parts.uri = format!("{upstream}{}", parts.uri.path())
                                .parse()
                                .expect("an upstream URL");
                            let answer = client
                                .request(hyper::Request::from_parts(parts, Full::new(body)))
                                .await
                                .expect("DynamoDB Local answers");
                            let (parts, body) = answer.into_parts();
                            let body = body.collect().await?.to_bytes();
                            if let Ok(answer) = serde_json::from_slice::<Value>(&body) {
                                let counter = if reads {
                                    &meter.read_milli_units
                                } else {
                                    &meter.write_milli_units
                                };
                                counter.fetch_add(
                                    (units(&answer) * 1000.0).round() as u64,
                                    Ordering::SeqCst,
                                );
                                meter.calls.fetch_add(1, Ordering::SeqCst);
                            }
                            Ok::<_, hyper::Error>(hyper::Response::from_parts(
                                parts,
                                Full::new(body),
                            ))
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(url)
    }
}

#[derive(serde::Serialize)]
struct Capacity {
    operation: String,
    small_users: usize,
    small_units: f64,
    small_calls: u64,
    large_users: usize,
    large_units: f64,
    large_calls: u64,
    ratio: f64,
}

/// Capacity units per call of each operation, in a tenant of 1,000 users and in one of `large`.
async fn measure_capacity(
    app: &'static App,
    meter: &capacity::Meter,
    large: usize,
) -> Result<Vec<Capacity>, String> {
    let small = 1_000;
    let mut measured: Vec<(String, Vec<capacity::Taken>)> = Vec::new();
    for users in [small, large] {
        let world: &'static World = Box::leak(Box::new(
            World::new(app, &format!("cap{users}"), users).await?,
        ));
        let i = users / 2;
        let calls: Vec<(&str, Call)> = vec![
            ("create", world.spaceone("create", json!({"user_id": "fresh@bench.example",
                "backend": "LOCAL", "password": NEW_PASSWORD, "email": "fresh@bench.example"}))),
            ("get", world.spaceone("get", json!({"user_id": user_id(i)}))),
            ("update", world.spaceone("update", json!({"user_id": user_id(i), "name": "Renamed"}))),
            ("list (one page of 10)", world.spaceone("list", json!({"query": {"page": {"start": 1, "limit": 10}}}))),
            ("list (state ENABLED, one page of 10)", world.spaceone("list", json!({"state": "ENABLED", "query": {"page": {"start": 1, "limit": 10}}}))),
            ("stat (count by state)", world.spaceone("stat", json!({"query": {"aggregate": [{"group": {"keys": [{"key": "state", "name": "state"}], "fields": [{"name": "count", "operator": "count"}]}}]}}))),
            ("find (external directory)", {
                let mut call = world.spaceone("find", json!({"search": {"keyword": "kim"}}));
                call.path = "/identity/v1/users/find".into();
                call
            }),
            ("login", world.login_call("admin", ADMIN_PASSWORD)),
        ];
        for (n, (name, call)) in calls.iter().enumerate() {
            meter.take();
            send(world.router, call).await?;
            let taken = meter.take();
            match measured.get_mut(n) {
                Some((_, values)) => values.push(taken),
                None => measured.push((name.to_string(), vec![taken])),
            }
        }
    }
    Ok(measured
        .into_iter()
        .map(|(operation, values)| Capacity {
            operation,
            small_users: small,
            small_units: values[0].units(),
            small_calls: values[0].calls,
            large_users: large,
            large_units: values[1].units(),
            large_calls: values[1].calls,
            ratio: values[1].units() / values[0].units(),
        })
        .collect())
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let options = options()?;
    // The functions' log and metrics lines are counted (for their cost), not printed.
    count_logs();
    let directory = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    directory.set_nonblocking(true).map_err(|e| e.to_string())?;
    let directory_url = format!(
        "http://{}/find",
        directory.local_addr().map_err(|e| e.to_string())?
    );
    tokio::spawn(local_stack::directory::serve(
        tokio::net::TcpListener::from_std(directory).map_err(|e| e.to_string())?,
        local_stack::directory::Source::File(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/sample-directory.json"
        ))),
    ));
    let app = local_stack::bench_app(|config| {
        config.tenant_user_quota = u64::MAX;
        config.token_lifetime_seconds = 3600;
        config.lockout.threshold = 1_000_000;
        config.external_directory_url = Some(directory_url);
    })
    .await?;
    let users = 2 * (options.requests + WARM_UP);
    let world: &'static World = Box::leak(Box::new(World::new(app, "warm", users).await?));
    world.add_external_user().await?;
    let bare: &'static BareWorld = Box::leak(Box::new(BareWorld::new(app, world).await?));

    let rows = warm_latency(world, bare, options.requests, options.only.as_deref()).await?;
    // The login budget belongs to iam_auth_tokens: `--only iam_auth_tokens` measures it too.
    let only_other = options
        .only
        .as_deref()
        .is_some_and(|f| f != "iam_auth_tokens");
    if only_other {
        return Ok(());
    }
    let login = login_vs_argon2(world, bare, 200).await?;
    eprintln!(
        "login p50 {:.2} ms, argon2 verify p50 {:.2} ms, ratio {:.2}",
        login.login_p50_ms, login.verify_p50_ms, login.ratio
    );
    if options.only.is_some() {
        return Ok(());
    }
    let throughput = throughput(world, bare, 125).await?;

    let meter: &'static capacity::Meter = Box::leak(Box::new(capacity::Meter::default()));
    let endpoint = app
        .config
        .dynamodb_endpoint
        .clone()
        .ok_or("no DynamoDB endpoint")?;
    let proxy = capacity::start(endpoint, meter).await?;
    let measured_app = local_stack::bench_app(|config| {
        config.tenant_user_quota = u64::MAX;
        config.token_lifetime_seconds = 3600;
        config.lockout.threshold = 1_000_000;
        config.external_directory_url = app.config.external_directory_url.clone();
        config.dynamodb_endpoint = Some(proxy);
    })
    .await?;
    let consumption = consumption_per_route(measured_app, meter, CONSUMPTION_CALLS).await?;
    let capacity = measure_capacity(measured_app, meter, options.large).await?;
    for row in &capacity {
        eprintln!(
            "capacity {:40} {:6.1} units ({} calls) at {} users, {:6.1} units ({} calls) at {}: ratio {:.2}",
            row.operation,
            row.small_units,
            row.small_calls,
            row.small_users,
            row.large_units,
            row.large_calls,
            row.large_users,
            row.ratio
        );
    }

    let mut context = BTreeMap::new();
    context.insert("date", chrono::Utc::now().format("%Y-%m-%d").to_string());
    context.insert("machine", machine());
    context.insert(
        "store",
        "DynamoDB Local 3.3.0 (in-memory) on 127.0.0.1, one table made from template.yaml".into(),
    );
    context.insert(
        "method",
        format!(
            "{} requests per route after {WARM_UP} warm-up requests, sequential, through the local \
             router (the handler as `http::run` runs it); the bare calls on items of their own in \
             the same table, right after; {} build",
            options.requests,
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
        ),
    );
    let report = Report {
        context,
        login_sizing: login_sizing(&rows),
        cost: costs(&rows, &consumption)?,
        warm: rows,
        login,
        throughput,
        capacity,
        consumption,
    };
    std::fs::create_dir_all(&options.out).map_err(|e| e.to_string())?;
    let md = markdown(&report);
    std::fs::write(options.out.join("warm.md"), &md).map_err(|e| e.to_string())?;
    std::fs::write(
        options.out.join("warm.json"),
        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    println!("{md}");
    Ok(())
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} cores, {model}")
}
