//! Hostile input against every HTTP route of template.yaml (issue 7, item 4): malformed, truncated
//! and non-object bodies, invalid UTF-8, wrong types for each documented field, unknown fields,
//! nulls, 1 MB and 60 KB strings, control characters, identifiers that look like paths, look-alike
//! spellings (case, full-width, decomposed accents) of existing names and emails, injection-looking
//! list/stat filters, catastrophic regular expressions, huge `in` lists, hostile pages, and path ids
//! with `/`, `%2F`, `..`, `%2e%2e`, empty segments and very long ids.
//!
//! Every hostile request must be answered with a 4xx in the error shape (never a 5xx, never a 2xx
//! for garbage), and the stored data must stay byte-for-byte the same: each test runs against a
//! table of its own (two tenants in it, so that a request naming the other tenant is covered too),
//! scanned whole, paginated and consistently, before and after every batch. Requests that
//! legitimately write (a login with a look-alike name, a password change with a wrong original
//! password) run after the last comparison, in a category of their own.
//!
//! The suite does not stop at the first failure: every failing case is collected and reported
//! together, with the request, the answer and the batch that changed data.

use crate::common;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{ADMIN_PASSWORD, Reply, TestEnv};
use lambda::app::Config;
use lambda_http::Body;
use lambda_http::http::Request;
use serde_json::{Value, json};

const USER_PASSWORD: &str = "User-Passw0rd!";
const PW_PASSWORD: &str = "Pw-User-Passw0rd1";
const PW_NEW_PASSWORD: &str = "Pw-User-Passw0rd2";
/// The slowest any hostile request may be answered (a catastrophic regex or a huge `in` list must
/// not stall a function).
const SLOW: Duration = Duration::from_secs(5);

/// The whole table: `(pk, sk)` to the item's attributes, each rendered.
type Snapshot = BTreeMap<(String, String), BTreeMap<String, String>>;

/// One route's method, path and token.
#[derive(Clone)]
struct Target {
    method: &'static str,
    path: String,
    token: Option<String>,
}

/// What a hostile request must get.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Any 4xx in the error shape.
    Refused,
    /// Exactly this status, in the error shape.
    Status(u16),
    /// This status and `error_code`.
    Code(u16, &'static str),
    /// This status, `error_code`, and a message naming the key (`keys = ['email']`).
    CodeNaming(u16, &'static str, &'static str),
    /// A well-formed query that must match nothing: 200 with `total_count` 0.
    NoMatch,
    /// A well-formed request: this 2xx status.
    Success(u16),
    /// A search term that is odd but harmless: answered (200) or refused (4xx), never written.
    ReadOrRefused,
}

/// How a field of a body is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A user id or a tenant id.
    Id,
    /// Stored free text (a name, a description, an external id).
    Text,
    Email,
    /// An enum value or a strictly formatted string (language, time zone, phone, expiry).
    Strict,
    /// A password checked against the policy before anything is written.
    Password,
    /// A password whose every well-formed value is a login attempt (it writes): type tests only.
    Secret,
    /// A login name: an implausible one fails like an unknown user (401).
    LoginName,
    /// A verification code.
    Code,
    /// A search term (find, lookup): refused or answered, never written.
    Search,
    /// An equality filter of `list`: a value matches nothing.
    Filter,
    Bool,
    Int,
    /// A free-form object (`tags`).
    Tags,
    /// A nested object whose own fields are checked (unknown fields refused).
    Nested,
    StrList,
    /// A list of field names to project (`query.only`): any name, answered without hidden fields.
    Keys,
    /// A list of conditions or stages.
    Conditions,
}

impl Kind {
    fn is_string(self) -> bool {
        matches!(
            self,
            Kind::Id
                | Kind::Text
                | Kind::Email
                | Kind::Strict
                | Kind::Password
                | Kind::Secret
                | Kind::LoginName
                | Kind::Code
                | Kind::Search
                | Kind::Filter
        )
    }
}

struct Field {
    pointer: &'static str,
    kind: Kind,
    required: bool,
}

fn field(pointer: &'static str, kind: Kind, required: bool) -> Field {
    Field {
        pointer,
        kind,
        required,
    }
}

/// A route that takes a JSON body, with a well-formed body (never sent as it is) and its fields.
struct Endpoint {
    name: String,
    target: Target,
    /// SpaceONE's codes (`ERROR_INVALID_PARAMETER`), else the project's (`MALFORMED_REQUEST`).
    spaceone: bool,
    /// `""`, `false`, `[]` and `{}` are values here (not SpaceONE's "empty is missing").
    empty_is_value: bool,
    base: Value,
    fields: Vec<Field>,
    /// The smallest well-formed body, to which each hostile value is added on its own (so that a
    /// value accepted by mistake cannot hide the next case behind an unrelated refusal).
    minimal: Value,
    /// Fields that only go together (`areacode` and `phone`): a value of one brings the other.
    partners: Vec<(&'static str, &'static str)>,
    /// A field given a fresh value for each hostile value (the id `create` would take).
    fresh: Option<&'static str>,
}

impl Endpoint {
    fn new(name: String, target: Target, spaceone: bool, base: Value, fields: Vec<Field>) -> Self {
        Endpoint {
            name,
            target,
            spaceone,
            empty_is_value: !spaceone,
            minimal: base.clone(),
            base,
            fields,
            partners: Vec::new(),
            fresh: None,
        }
    }

    fn minimal(mut self, minimal: Value) -> Self {
        self.minimal = minimal;
        self
    }

    /// The minimal body with one hostile value in it.
    fn carrying(&self, pointer: &str, value: Value, fresh: usize) -> Value {
        let mut body = with(&self.minimal, pointer, value);
        for (one, other) in &self.partners {
            for (given, partner) in [(one, other), (other, one)] {
                if *given == pointer {
                    let value = self.base.pointer(partner).cloned().unwrap_or_default();
                    body = with(&body, partner, value);
                }
            }
        }
        if let Some(id) = self.fresh.filter(|id| *id != pointer) {
            body = with(&body, id, json!(format!("fresh{fresh}@example.com")));
        }
        body
    }

    fn malformed_code(&self) -> &'static str {
        if self.spaceone {
            "ERROR_INVALID_PARAMETER"
        } else {
            "MALFORMED_REQUEST"
        }
    }

    fn unknown_code(&self) -> &'static str {
        if self.spaceone {
            "ERROR_INVALID_PARAMETER"
        } else {
            "UNKNOWN_PARAMETER"
        }
    }
}

/// The body with the value at `pointer` (an RFC 6901 pointer to an object member) replaced.
fn with(base: &Value, pointer: &str, value: Value) -> Value {
    let mut body = base.clone();
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
    let object = body
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("{parent} is an object of {base}"));
    object.insert(key.to_owned(), value);
    body
}

fn without(base: &Value, pointer: &str) -> Value {
    let mut body = base.clone();
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
    if let Some(object) = body.pointer_mut(parent).and_then(Value::as_object_mut) {
        object.remove(key);
    }
    body
}

fn preview(text: &str) -> String {
    const MAX: usize = 160;
    let escaped: String = text.chars().flat_map(char::escape_debug).collect();
    if escaped.chars().count() <= MAX {
        escaped
    } else {
        let head: String = escaped.chars().take(MAX).collect();
        format!("{head}… ({} bytes)", text.len())
    }
}

/// The world of one test: a table of its own holding two tenants, the first with users to
/// collide with.
struct World {
    env: TestEnv,
    other: TestEnv,
    table: String,
    pw_token: String,
    started: Instant,
    counts: RefCell<BTreeMap<&'static str, usize>>,
    fresh: std::cell::Cell<usize>,
    slowest: RefCell<(Duration, String)>,
    failures: RefCell<Vec<String>>,
    baseline: RefCell<Snapshot>,
}

impl World {
    async fn new(name: &str) -> World {
        let started = Instant::now();
        let table = common::unique_tenant(&format!("hostile-{name}"));
        let config = Config {
            table_name: table.clone(),
            ..common::config()
        };
        let client = lambda::app::dynamodb_client(config.dynamodb_endpoint.as_deref()).await;
        local_stack::template::create_table(&client, &table)
            .await
            .expect("DynamoDB Local is running (DYNAMODB_ENDPOINT)");
        let env = TestEnv::with_config(config.clone()).await;
        let other = TestEnv::with_config(config).await;
        for (user_id, name, email) in [
            ("amelie@example.com", "Amélie Dupont", "amélie@example.com"),
            ("bob@example.com", "Bob Baker", "bob@example.com"),
            (
                "aaaa@example.com",
                // A name that makes `(a+)+$` backtrack forever in a backtracking engine.
                &format!("{}!", "a".repeat(100)),
                "aaaa@example.com",
            ),
        ] {
            env.create_user(
                user_id,
                USER_PASSWORD,
                json!({"name": name, "email": email}),
            )
            .await;
        }
        env.create_user("pw@example.com", PW_PASSWORD, json!({"name": "Pat Word"}))
            .await;
        let robot = env
            .spaceone(
                "create",
                &env.admin_token,
                json!({"user_id": "robot", "name": "Robot", "user_type": "API_USER",
                    "backend": "LOCAL", "domain_id": env.tenant}),
            )
            .await;
        assert_eq!(robot.status, 200, "{}", robot.raw);
        let pw_token = env.login("pw@example.com", PW_PASSWORD).await;
        let world = World {
            env,
            other,
            table,
            pw_token,
            started,
            counts: RefCell::new(BTreeMap::new()),
            fresh: std::cell::Cell::new(0),
            slowest: RefCell::new((Duration::ZERO, String::new())),
            failures: RefCell::new(Vec::new()),
            baseline: RefCell::new(Snapshot::new()),
        };
        let snapshot = world.dump().await;
        *world.baseline.borrow_mut() = snapshot;
        world
    }

    fn fresh(&self) -> usize {
        self.fresh.set(self.fresh.get() + 1);
        self.fresh.get()
    }

    fn tenant(&self) -> &str {
        &self.env.tenant
    }

    fn admin(&self) -> Option<String> {
        Some(self.env.admin_token.clone())
    }

    /// Every item of the table but the login decoys, paginated, read consistently.
    async fn dump(&self) -> Snapshot {
        let client = self.env.app.store.client();
        let mut snapshot = Snapshot::new();
        let mut start = None;
        loop {
            let page = client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan the test's table");
            for item in page.items.unwrap_or_default() {
                let text = |name: &str| {
                    item.get(name)
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .unwrap_or_default()
                };
                let key = (text("pk"), text("sk"));
                // What a failed login writes by design (docs/design.md, Login, step 5): the decoys
                // of the one decoy partition, never anything of a tenant.
                if key.0 == lambda::dynamo::LOGIN_DECOY_PK {
                    continue;
                }
                let attributes = item
                    .into_iter()
                    .map(|(name, value)| (name, format!("{value:?}")))
                    .collect();
                snapshot.insert(key, attributes);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return snapshot;
            }
        }
    }

    /// Compares the whole table with the last checkpoint; a difference fails, naming the batch.
    async fn checkpoint(&self, batch: &str) {
        let now = self.dump().await;
        let before = self.baseline.replace(now.clone());
        if before == now {
            return;
        }
        let mut changes = Vec::new();
        for (key, item) in &now {
            match before.get(key) {
                None => changes.push(format!("added {key:?}: {}", preview(&format!("{item:?}")))),
                Some(old) if old != item => {
                    let mut names: Vec<&String> = old.keys().chain(item.keys()).collect();
                    names.sort();
                    names.dedup();
                    let changed: Vec<String> = names
                        .into_iter()
                        .filter(|name| old.get(*name) != item.get(*name))
                        .map(|name| {
                            format!(
                                "{name}: {} -> {}",
                                old.get(name).map_or("(none)".into(), |v| preview(v)),
                                item.get(name).map_or("(none)".into(), |v| preview(v))
                            )
                        })
                        .collect();
                    changes.push(format!("changed {key:?}: {}", changed.join(", ")));
                }
                _ => {}
            }
        }
        for key in before.keys().filter(|key| !now.contains_key(*key)) {
            changes.push(format!("removed {key:?}"));
        }
        self.fail(format!(
            "stored data changed during batch {batch:?}:\n    {}",
            changes.join("\n    ")
        ));
    }

    fn fail(&self, message: String) {
        self.failures.borrow_mut().push(message);
    }

    fn count(&self, category: &'static str) {
        *self.counts.borrow_mut().entry(category).or_default() += 1;
    }

    async fn send(&self, category: &'static str, target: &Target, body: String) -> Reply {
        self.count(category);
        let headers: Vec<(&str, &str)> = target
            .token
            .as_deref()
            .map(|token| vec![("x-auth-token", token)])
            .unwrap_or_default();
        self.env
            .request(target.method, &target.path, &headers, body)
            .await
    }

    /// Sends a request and checks the answer against `expect`, recording a failure.
    async fn expect(
        &self,
        category: &'static str,
        target: &Target,
        body: String,
        expect: Expect,
    ) -> Reply {
        let shown = preview(&body);
        let started = Instant::now();
        let reply = self.send(category, target, body).await;
        let elapsed = started.elapsed();
        if elapsed > self.slowest.borrow().0 {
            let what = format!("{} {} {shown}", target.method, preview(&target.path));
            *self.slowest.borrow_mut() = (elapsed, what);
        }
        let mut problems = Vec::new();
        if elapsed > SLOW {
            problems.push(format!("took {elapsed:?}"));
        }
        if let Some(problem) = judge(&reply, expect) {
            problems.push(problem);
        }
        if !problems.is_empty() {
            self.fail(format!(
                "[{category}] {} {} {shown}\n    expected {expect:?}: {}\n    answer {} {}",
                target.method,
                preview(&target.path),
                problems.join("; "),
                reply.status,
                preview(&reply.raw)
            ));
        }
        reply
    }

    /// A body sent as bytes (the harness sends text only), through the same router.
    async fn expect_bytes(
        &self,
        category: &'static str,
        target: &Target,
        bytes: Vec<u8>,
        expect: Expect,
    ) {
        self.count(category);
        let mut builder = Request::builder()
            .method(target.method)
            .uri(&target.path)
            .header("content-type", "application/json");
        if let Some(token) = &target.token {
            builder = builder.header("x-auth-token", token);
        }
        let shown = preview(&String::from_utf8_lossy(&bytes));
        let response = self
            .env
            .router
            .dispatch(builder.body(Body::Binary(bytes)).unwrap())
            .await;
        let raw = match response.body() {
            Body::Text(text) => text.clone(),
            Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => String::new(),
        };
        let reply = Reply {
            path: target.path.clone(),
            request_id: None,
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: serde_json::from_str(&raw).unwrap_or(Value::Null),
            raw,
        };
        if let Some(problem) = judge(&reply, expect) {
            self.fail(format!(
                "[{category}] {} {} {shown}\n    expected {expect:?}: {problem}\n    answer {} {}",
                target.method,
                preview(&target.path),
                reply.status,
                preview(&reply.raw)
            ));
        }
    }

    /// Prints the counts, drops the table, and fails with every collected failure.
    async fn finish(self, test: &str) {
        let counts = self.counts.borrow().clone();
        let total: usize = counts.values().sum();
        println!("{test}: {total} requests in {:?}", self.started.elapsed());
        let (slowest, what) = self.slowest.borrow().clone();
        println!("  slowest request {slowest:?}: {}", preview(&what));
        for (category, count) in &counts {
            println!("  {count:5}  {category}");
        }
        let _ = self
            .env
            .app
            .store
            .client()
            .delete_table()
            .table_name(&self.table)
            .send()
            .await;
        let failures = self.failures.borrow();
        assert!(
            failures.is_empty(),
            "{test}: {} hostile case(s) failed:\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}

/// Whether an answer meets the expectation; `Some(reason)` if not.
fn judge(reply: &Reply, expect: Expect) -> Option<String> {
    let status = reply.status;
    if status >= 500 {
        return Some("a server error".into());
    }
    match expect {
        Expect::NoMatch => {
            if status != 200 {
                return Some("not answered 200".into());
            }
            return (reply.body["total_count"] != 0).then(|| "matched something".into());
        }
        Expect::Success(wanted) => {
            return (status != wanted).then(|| format!("not answered {wanted}"));
        }
        Expect::ReadOrRefused if status == 200 => return None,
        _ => {}
    }
    if status < 400 {
        return Some("accepted".into());
    }
    if let Err(problem) = reply.error_shape() {
        return Some(format!(
            "not the error shape {{error_code, error_msg}}: {problem}"
        ));
    }
    let code = reply.body["error_code"].as_str().unwrap_or_default();
    match expect {
        Expect::Status(wanted) => (status != wanted).then(|| format!("status {status}")),
        Expect::Code(wanted, wanted_code) => (status != wanted || code != wanted_code)
            .then(|| format!("status {status} code {code}")),
        Expect::CodeNaming(wanted, wanted_code, key) => {
            let message = reply.body["error_msg"].as_str().unwrap_or_default();
            (status != wanted || code != wanted_code || !message.contains(key))
                .then(|| format!("status {status} code {code}"))
        }
        Expect::Refused | Expect::ReadOrRefused | Expect::NoMatch | Expect::Success(_) => None,
    }
}

/// Bodies that are not JSON, or not all of it.
fn malformed_bodies(base: &Value) -> Vec<String> {
    let text = base.to_string();
    let half = text
        .char_indices()
        .nth(text.chars().count() / 2)
        .map_or(0, |(i, _)| i);
    vec![
        String::new(),
        " \r\n\t ".into(),
        "{".into(),
        "}".into(),
        r#"{"a":"#.into(),
        r#"{"a":1,}"#.into(),
        "{'a': 1}".into(),
        "{a: 1}".into(),
        "nul".into(),
        r#"{"a" 1}"#.into(),
        r#"{"a": "unterminated}"#.into(),
        r#"{"a": "\x"}"#.into(),
        r#"{"a": "\ud800"}"#.into(),
        r#"{"a": 1e999}"#.into(),
        r#"{"a": NaN}"#.into(),
        r#"{"a": 01}"#.into(),
        "/* comment */ {}".into(),
        text[..half].to_owned(),
        text[..text.len() - 1].to_owned(),
        format!("{text}x"),
        format!("{text}{text}"),
        format!("\u{feff}{text}"),
        // Deeper than serde_json's recursion limit, within the body limit.
        "[".repeat(30_000),
        r#"{"a":"#.repeat(10_000),
        // A key given twice, at the top and deep down (a reader keeping the first would see
        // another request than the one served).
        with_a_key_twice(base, false),
        with_a_key_twice(base, true),
    ]
}

/// `value` as JSON text with one key given twice: its first key, or (`deep`) the first key of its
/// innermost first nested object.
fn with_a_key_twice(value: &Value, deep: bool) -> String {
    let Some(map) = value.as_object().filter(|map| !map.is_empty()) else {
        return r#"{"a": 1, "a": 1}"#.into();
    };
    let nested = map
        .iter()
        .find(|(_, v)| v.as_object().is_some_and(|o| !o.is_empty()))
        .filter(|_| deep);
    let mut members: Vec<String> = map
        .iter()
        .map(|(key, v)| match nested {
            Some((nested_key, _)) if nested_key == key => {
                format!("{}: {}", json!(key), with_a_key_twice(v, true))
            }
            _ => format!("{}: {v}", json!(key)),
        })
        .collect();
    if nested.is_none() {
        let (key, v) = map.iter().next().expect("not empty");
        members.push(format!("{}: {v}", json!(key)));
    }
    format!("{{{}}}", members.join(", "))
}

/// Bodies that are JSON but not an object.
fn non_object_bodies(base: &Value) -> Vec<String> {
    vec![
        "[]".into(),
        "[{}]".into(),
        r#""{}""#.into(),
        "7".into(),
        "-1".into(),
        "1.5".into(),
        "null".into(),
        "true".into(),
        "false".into(),
        format!("[{base}]"),
        json!(base.to_string()).to_string(),
    ]
}

/// Bytes that are not UTF-8.
fn invalid_utf8_bodies(base: &Value) -> Vec<Vec<u8>> {
    let text = base.to_string();
    let quote = text.find(":\"").map_or(1, |i| i + 2);
    let mut inside = text.clone().into_bytes();
    inside.splice(quote..quote, [0xC3, 0x28]);
    vec![
        vec![b'{', b'"', 0xFF, 0xFE, b'"', b':', b'1', b'}'],
        inside,
        b"{\"a\": \"\xC0\xAF\"}".to_vec(),
        vec![0xFE, 0xFF, 0x00, b'{', 0x00, b'}'],
    ]
}

/// Values of the wrong JSON type for a field of the given kind.
fn wrong_types(kind: Kind, empty_is_value: bool) -> Vec<Value> {
    let mut values = match kind {
        Kind::Filter => vec![json!(7), json!(true), json!({"k": "v"}), json!([7])],
        k if k.is_string() => vec![
            json!(7),
            json!(1.5),
            json!(true),
            json!(["x"]),
            json!({"k": "v"}),
        ],
        Kind::Bool => vec![json!("true"), json!(1), json!(["x"]), json!({"k": "v"})],
        Kind::Int => vec![
            json!(true),
            json!("ten"),
            json!(1.5),
            json!([1]),
            json!({"k": 1}),
        ],
        Kind::Tags | Kind::Nested => vec![json!("x"), json!(7), json!(true), json!(["x"])],
        Kind::StrList | Kind::Keys => vec![
            json!("UPDATE_PASSWORD"),
            json!(7),
            json!(true),
            json!({"k": "v"}),
            json!([7]),
            json!([null]),
            json!([["x"]]),
        ],
        Kind::Conditions => vec![json!("x"), json!(7), json!(true)],
        _ => Vec::new(),
    };
    if empty_is_value {
        values.extend(match kind {
            k if k.is_string() => vec![json!([]), json!({}), json!(false)],
            Kind::Bool => vec![json!(""), json!([]), json!({})],
            Kind::Nested => vec![json!(""), json!([]), json!(false)],
            _ => Vec::new(),
        });
    }
    values
}

const CONTROLS: [(&str, char); 3] = [("NUL", '\u{0}'), ("ESC", '\u{1b}'), ("RLO", '\u{202e}')];

/// Well-typed hostile values of a field: 60 KB, control characters, identifiers shaped like paths.
fn hostile_values(kind: Kind, tenant: &str) -> Vec<(&'static str, Value, Expect)> {
    let long = "a".repeat(60_000);
    let mut cases = Vec::new();
    let refused_or = |kind: Kind| match kind {
        Kind::Filter => Expect::NoMatch,
        _ => Expect::Refused,
    };
    match kind {
        Kind::Secret | Kind::Bool | Kind::Int | Kind::Nested | Kind::Keys | Kind::Conditions => {}
        Kind::StrList => {
            // `only` names UserInfo fields, `actions` required actions, `methods` "password".
            for (category, list) in [
                ("hidden or unknown list value", json!(["password_hash"])),
                ("hidden or unknown list value", json!(["token"])),
                ("control characters", json!(["UPDATE_PASSWORD\u{0}"])),
                ("60 KB string", json!([long.clone()])),
            ] {
                cases.push((category, list, Expect::Status(400)));
            }
        }
        Kind::Tags => {
            let deep = (0..20).fold(json!(1), |inner, _| json!({ "a": inner }));
            for tags in [
                deep,
                json!({"n": 1e200}),
                json!({"n": -1e-200}),
                json!({"": "empty key"}),
                json!({"a": {"": 1}}),
                json!({"a": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}),
            ] {
                cases.push(("tags outside the store's limits", tags, Expect::Status(400)));
            }
        }
        _ => {
            cases.push(("60 KB string", json!(long), refused_or(kind)));
            for (_, control) in CONTROLS {
                // A password with U+202E is a password: the policy refuses only C0/C1 controls.
                if kind == Kind::Password && control == '\u{202e}' {
                    continue;
                }
                let value = match kind {
                    Kind::Email | Kind::Id => format!("bo{control}b@example.com"),
                    Kind::Password => format!("Passw0rd-{control}-x"),
                    Kind::Strict => format!("LOCK{control}"),
                    Kind::LoginName => format!("ad{control}min"),
                    Kind::Filter | Kind::Search => format!("Bob{control}Baker"),
                    _ => format!("Bob{control} Baker"),
                };
                let expect = match kind {
                    // U+202E is no C0/C1 control: a search for it may be answered.
                    Kind::Search if control == '\u{202e}' => Expect::ReadOrRefused,
                    // Stored free text refuses the bidi controls too (validate::
                    // is_disallowed_control), so no name renders reversed (Trojan Source).
                    _ => refused_or(kind),
                };
                cases.push(("control characters", json!(value), expect));
            }
        }
    }
    if kind == Kind::Id {
        for id in [
            "..",
            ".",
            "../admin",
            "a/b",
            "%2F",
            "%2e%2e",
            "bob%40example.com",
            " bob@example.com",
            "bob@example.com ",
            "bob@example.com\n",
            "ｂｏｂ@example.com",
            "*",
            "' OR 1=1 --",
            &format!("{tenant}/.."),
        ] {
            cases.push(("path-like or padded identifier", json!(id), Expect::Refused));
        }
    }
    if kind == Kind::Email {
        for email in [
            "not-an-email",
            "a@b",
            "bob@example.com\r\nBcc: x@y.com",
            "@",
        ] {
            cases.push(("invalid email", json!(email), Expect::Refused));
        }
    }
    cases
}

/// Every documented hostile body for one endpoint; then the table must be unchanged.
async fn bodies(world: &World, endpoint: &Endpoint) {
    let base = &endpoint.base;
    let target = &endpoint.target;
    let malformed = Expect::Code(400, endpoint.malformed_code());
    for body in malformed_bodies(base) {
        world
            .expect("malformed JSON", target, body, malformed)
            .await;
    }
    for body in non_object_bodies(base) {
        world
            .expect("non-object body", target, body, malformed)
            .await;
    }
    for bytes in invalid_utf8_bodies(base) {
        world
            .expect_bytes("invalid UTF-8 body", target, bytes, malformed)
            .await;
    }
    if target.token.is_some() {
        // Without a token, garbage is refused before it is read.
        let anonymous = Target {
            token: None,
            ..target.clone()
        };
        // Without a token reset-password is SpaceONE's anonymous forgotten-password request,
        // answered `{}` whoever it names.
        let anonymous_answer = if target.path == "/identity/v1/user/reset-password" {
            Expect::Success(200)
        } else {
            Expect::Refused
        };
        world
            .expect("no token", &anonymous, "{".to_owned(), Expect::Refused)
            .await;
        world
            .expect("no token", &anonymous, base.to_string(), anonymous_answer)
            .await;
        let forged = Target {
            token: Some(format!("{}x", target.token.as_deref().unwrap_or_default())),
            ..target.clone()
        };
        world
            .expect("no token", &forged, "[]".into(), Expect::Refused)
            .await;
    }
    let unknown = Expect::Code(400, endpoint.unknown_code());
    let nested: Vec<&str> = std::iter::once("")
        .chain(
            endpoint
                .fields
                .iter()
                .filter(|f| f.kind == Kind::Nested)
                .map(|f| f.pointer),
        )
        .collect();
    for parent in nested {
        for (name, value) in [
            ("zz_unknown", json!("x")),
            ("$where", json!("1 == 1")),
            ("__proto__", json!({"role": "ADMIN"})),
            ("role", json!("ADMIN")),
        ] {
            let body = with(base, &format!("{parent}/{name}"), value);
            world
                .expect("unknown field", target, body.to_string(), unknown)
                .await;
        }
    }
    let mut sized = false;
    for field in &endpoint.fields {
        for value in wrong_types(field.kind, endpoint.empty_is_value) {
            let body = with(base, field.pointer, value);
            world
                .expect("wrong type", target, body.to_string(), Expect::Status(400))
                .await;
        }
        if field.required {
            for body in [
                with(base, field.pointer, Value::Null),
                without(base, field.pointer),
            ] {
                world
                    .expect(
                        "null or missing required field",
                        target,
                        body.to_string(),
                        Expect::Status(400),
                    )
                    .await;
            }
        }
        if field.kind.is_string() && !sized {
            sized = true;
            let body = with(base, field.pointer, json!("a".repeat(1 << 20)));
            world
                .expect(
                    "1 MB string",
                    target,
                    body.to_string(),
                    Expect::Code(413, "PAYLOAD_TOO_LARGE"),
                )
                .await;
        }
        for (category, value, expect) in hostile_values(field.kind, world.tenant()) {
            let body = endpoint.carrying(field.pointer, value, world.fresh());
            world
                .expect(category, target, body.to_string(), expect)
                .await;
        }
    }
    world.checkpoint(&endpoint.name).await;
}

fn spaceone(world: &World, verb: &str, base: Value, fields: Vec<Field>) -> Endpoint {
    let path = if verb == "find" {
        "/identity/v1/users/find".to_owned()
    } else {
        format!("/identity/v1/user/{verb}")
    };
    let target = Target {
        method: "POST",
        path: path.clone(),
        token: world.admin(),
    };
    Endpoint::new(format!("POST {path}"), target, true, base, fields)
}

fn target_fields() -> Vec<Field> {
    vec![
        field("/user_id", Kind::Id, true),
        field("/domain_id", Kind::Id, false),
    ]
}

fn profile_fields() -> Vec<Field> {
    vec![
        field("/name", Kind::Text, false),
        field("/email", Kind::Email, false),
        field("/language", Kind::Strict, false),
        field("/timezone", Kind::Strict, false),
        field("/tags", Kind::Tags, false),
        field("/reset_password", Kind::Bool, false),
    ]
}

/// The seed 004 routes that name one user (every one but list, stat and find).
fn spaceone_user_endpoints(world: &World) -> Vec<Endpoint> {
    let tenant = world.tenant();
    let bob = json!({"user_id": "bob@example.com", "domain_id": tenant});
    let mut endpoints = Vec::new();
    let mut create_fields = target_fields();
    create_fields.extend([
        // SpaceONE defaults `backend` to LOCAL.
        field("/backend", Kind::Strict, false),
        field("/password", Kind::Password, true),
        field("/user_type", Kind::Strict, false),
    ]);
    create_fields.extend(profile_fields());
    endpoints.push(spaceone(
        world,
        "create",
        json!({"user_id": "new@example.com", "backend": "LOCAL", "domain_id": tenant,
            "password": "New-Passw0rd1", "name": "New User", "email": "new@example.com",
            "language": "en", "timezone": "Asia/Seoul", "tags": {"team": "a"}, "user_type": "USER"}),
        create_fields,
    ));
    let create = endpoints.last_mut().expect("create");
    create.minimal = json!({"user_id": "new@example.com", "backend": "LOCAL", "domain_id": tenant,
        "password": "New-Passw0rd1"});
    create.fresh = Some("/user_id");
    let mut get_fields = target_fields();
    get_fields.push(field("/only", Kind::StrList, false));
    endpoints.push(spaceone(
        world,
        "get",
        with(&bob, "/only", json!(["user_id", "name"])),
        get_fields,
    ));
    let mut update_fields = target_fields();
    update_fields.push(field("/password", Kind::Password, false));
    update_fields.extend(profile_fields());
    endpoints.push(
        spaceone(
            world,
            "update",
            json!({"user_id": "bob@example.com", "domain_id": tenant, "name": "Bob B",
            "email": "bob2@example.com", "language": "ko", "timezone": "UTC",
            "tags": {"x": "y"}, "password": "Bob-Passw0rd9"}),
            update_fields,
        )
        .minimal(bob.clone()),
    );
    let mut verify_fields = target_fields();
    verify_fields.extend([
        field("/email", Kind::Email, false),
        field("/force", Kind::Bool, false),
    ]);
    endpoints.push(spaceone(
        world,
        "verify-email",
        json!({"user_id": "bob@example.com", "domain_id": tenant, "email": "bob@example.com", "force": true}),
        verify_fields,
    ).minimal(with(&bob, "/force", json!(true))));
    let mut confirm_fields = target_fields();
    confirm_fields.push(field("/verify_code", Kind::Code, true));
    endpoints.push(spaceone(
        world,
        "confirm-email",
        with(&bob, "/verify_code", json!("123456")),
        confirm_fields,
    ));
    let mut actions_fields = target_fields();
    actions_fields.push(field("/actions", Kind::StrList, true));
    endpoints.push(spaceone(
        world,
        "set-required-actions",
        with(&bob, "/actions", json!(["UPDATE_PASSWORD"])),
        actions_fields,
    ));
    for verb in ["reset-password", "enable", "disable", "delete", "sync"] {
        endpoints.push(spaceone(world, verb, bob.clone(), target_fields()));
    }
    // `find` under the seed's `users/`, and under `user/` where newer clients call it.
    for path in ["/identity/v1/users/find", "/identity/v1/user/find"] {
        let mut find = spaceone(
            world,
            "find",
            json!({"search": {"keyword": "kim"}, "domain_id": tenant}),
            vec![
                field("/search", Kind::Nested, true),
                field("/search/keyword", Kind::Search, false),
                field("/search/user_id", Kind::Search, false),
                field("/domain_id", Kind::Id, false),
            ],
        );
        find.target.path = path.to_owned();
        find.name = format!("POST {path}");
        endpoints.push(find);
    }
    endpoints
}

fn list_and_stat_endpoints(world: &World) -> Vec<Endpoint> {
    let tenant = world.tenant();
    let list = spaceone(
        world,
        "list",
        json!({"domain_id": tenant, "query": {"page": {"start": 1, "limit": 10}, "only": ["user_id"],
            "minimal": true, "count_only": false, "keyword": "bob"},
            "user_id": "bob@example.com", "name": "Bob Baker", "state": "ENABLED",
            "email": "bob@example.com", "user_type": "USER", "backend": "LOCAL"}),
        vec![
            field("/domain_id", Kind::Id, false),
            field("/query", Kind::Nested, false),
            field("/query/page", Kind::Nested, false),
            field("/query/page/start", Kind::Int, false),
            field("/query/page/limit", Kind::Int, false),
            field("/query/filter", Kind::Conditions, false),
            field("/query/filter_or", Kind::Conditions, false),
            field("/query/only", Kind::Keys, false),
            field("/query/minimal", Kind::Bool, false),
            field("/query/count_only", Kind::Bool, false),
            field("/query/keyword", Kind::Filter, false),
            field("/user_id", Kind::Filter, false),
            field("/name", Kind::Filter, false),
            field("/state", Kind::Filter, false),
            field("/email", Kind::Filter, false),
            field("/user_type", Kind::Strict, false),
            field("/backend", Kind::Strict, false),
        ],
    );
    let stat = spaceone(
        world,
        "stat",
        json!({"domain_id": tenant, "query": {
            "aggregate": [{"group": {"keys": [{"key": "state", "name": "state"}],
                "fields": [{"name": "n", "operator": "count"}]}}],
            "page": {"start": 1, "limit": 5}}}),
        vec![
            field("/domain_id", Kind::Id, false),
            field("/query", Kind::Nested, true),
            field("/query/page", Kind::Nested, false),
            field("/query/page/start", Kind::Int, false),
            field("/query/page/limit", Kind::Int, false),
            field("/query/aggregate", Kind::Conditions, false),
            field("/query/distinct", Kind::Search, false),
            field("/query/filter", Kind::Conditions, false),
        ],
    );
    vec![list, stat]
}

/// The Huawei (IAM, Workspace) and RSA routes that take a JSON body.
fn huawei_and_rsa_endpoints(world: &World) -> Vec<Endpoint> {
    let tenant = world.tenant();
    let own = |name: &'static str, method: &'static str, path: String, token: Option<String>| {
        move |base: Value, fields: Vec<Field>| {
            let target = Target {
                method,
                path,
                token,
            };
            Endpoint::new(name.to_owned(), target, false, base, fields)
        }
    };
    let mut endpoints = vec![
        own(
            "POST /v3/auth/tokens",
            "POST",
            "/v3/auth/tokens".into(),
            None,
        )(
            json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "password": "Wrong-Passw0rd1", "domain": {"name": tenant}}}},
                "scope": {"domain": {"name": tenant}}}}),
            vec![
                field("/auth", Kind::Nested, true),
                field("/auth/identity", Kind::Nested, true),
                field("/auth/identity/methods", Kind::StrList, true),
                field("/auth/identity/password", Kind::Nested, true),
                field("/auth/identity/password/user", Kind::Nested, true),
                field("/auth/identity/password/user/name", Kind::LoginName, true),
                field("/auth/identity/password/user/password", Kind::Secret, true),
                field("/auth/identity/password/user/domain", Kind::Nested, false),
                field("/auth/identity/password/user/domain/name", Kind::Id, false),
                field("/auth/scope", Kind::Nested, false),
                field("/auth/scope/domain", Kind::Nested, false),
                field("/auth/scope/domain/name", Kind::Id, false),
            ],
        ),
        own(
            "POST /v2/{project_id}/users/{user_id}/actions",
            "POST",
            format!("/v2/{tenant}/users/bob@example.com/actions"),
            world.admin(),
        )(
            json!({"op_type": "LOCK"}),
            vec![field("/op_type", Kind::Strict, true)],
        ),
        own(
            "PUT /v2/{project_id}/users/{user_id}",
            "PUT",
            format!("/v2/{tenant}/users/bob@example.com"),
            world.admin(),
        )(
            json!({"description": "Desk user", "user_email": "bob3@example.com",
                "user_phone": "+8613800000000", "active_type": "USER_ACTIVATE",
                "account_expires": "0", "enable_change_password": true,
                "next_login_change_password": false, "password_never_expired": false,
                "disabled": false}),
            vec![
                field("/description", Kind::Text, false),
                field("/user_email", Kind::Email, false),
                field("/user_phone", Kind::Strict, false),
                field("/active_type", Kind::Strict, false),
                field("/account_expires", Kind::Strict, false),
                field("/enable_change_password", Kind::Bool, false),
                field("/next_login_change_password", Kind::Bool, false),
                field("/password_never_expired", Kind::Bool, false),
                field("/disabled", Kind::Bool, false),
            ],
        )
        .minimal(json!({})),
        own(
            "PUT /v3.0/OS-USER/users/{user_id}",
            "PUT",
            "/v3.0/OS-USER/users/bob@example.com".into(),
            world.admin(),
        )(
            json!({"user": {"name": "BobBaker", "email": "bob4@example.com", "areacode": "86",
                "phone": "13800000001", "enabled": true, "pwd_status": false,
                "xuser_type": "ldap", "xuser_id": "bob-1", "access_mode": "default",
                "description": "IAM user", "password": "Iam-Passw0rd7"}}),
            vec![
                field("/user", Kind::Nested, true),
                field("/user/name", Kind::LoginName, false),
                field("/user/password", Kind::Password, false),
                field("/user/email", Kind::Email, false),
                field("/user/areacode", Kind::Strict, false),
                field("/user/phone", Kind::Strict, false),
                field("/user/enabled", Kind::Bool, false),
                field("/user/pwd_status", Kind::Bool, false),
                field("/user/xuser_type", Kind::Text, false),
                field("/user/xuser_id", Kind::Text, false),
                field("/user/access_mode", Kind::Strict, false),
                field("/user/description", Kind::Text, false),
            ],
        )
        .minimal(json!({"user": {}})),
        own(
            "POST /v3/users/{user_id}/password",
            "POST",
            "/v3/users/pw@example.com/password".into(),
            Some(world.pw_token.clone()),
        )(
            json!({"user": {"original_password": PW_PASSWORD, "password": PW_NEW_PASSWORD}}),
            vec![
                field("/user", Kind::Nested, true),
                field("/user/original_password", Kind::Secret, true),
                field("/user/password", Kind::Secret, true),
            ],
        ),
        own(
            "PUT /AdminInterface/restapi/v1/users/{userId}/userStatus",
            "PUT",
            "/AdminInterface/restapi/v1/users/bob@example.com/userStatus".into(),
            world.admin(),
        )(
            json!({"userStatus": "Disabled"}),
            vec![field("/userStatus", Kind::Strict, true)],
        ),
    ];
    let mut lookup = own(
        "POST /AdminInterface/restapi/v1/users/lookup",
        "POST",
        "/AdminInterface/restapi/v1/users/lookup".into(),
        world.admin(),
    )(
        json!({"email": "bob@example.com"}),
        vec![
            field("/email", Kind::Search, true),
            field("/username", Kind::Search, false),
        ],
    );
    let iam = &mut endpoints[3];
    assert_eq!(iam.name, "PUT /v3.0/OS-USER/users/{user_id}");
    iam.partners = vec![
        ("/user/areacode", "/user/phone"),
        ("/user/xuser_type", "/user/xuser_id"),
    ];
    // The lookup drops empty values, as SpaceONE does.
    lookup.empty_is_value = false;
    lookup.minimal = json!({});
    endpoints.push(lookup);
    endpoints
}

#[tokio::test]
async fn seed_004_user_bodies_are_refused_and_change_nothing() {
    let world = World::new("004").await;
    for endpoint in spaceone_user_endpoints(&world) {
        bodies(&world, &endpoint).await;
        // The other tenant's domain in an otherwise well-formed body: 403, nothing written there.
        let body = with(&endpoint.base, "/domain_id", json!(world.other.tenant));
        world
            .expect(
                "another tenant's id",
                &endpoint.target,
                body.to_string(),
                Expect::Code(403, "ERROR_PERMISSION_DENIED"),
            )
            .await;
    }
    world.checkpoint("another tenant's id").await;
    world
        .finish("seed_004_user_bodies_are_refused_and_change_nothing")
        .await;
}

#[tokio::test]
async fn huawei_and_rsa_bodies_are_refused_and_change_nothing() {
    let world = World::new("huawei").await;
    for endpoint in huawei_and_rsa_endpoints(&world) {
        bodies(&world, &endpoint).await;
    }
    // Inside a well-formed login: a scope of another tenant, a name no user can have, an id that
    // is another user's name: each fails like any wrong login and writes nothing.
    let login = |name: &str, domain: &str, scope: &str| {
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": name, "password": ADMIN_PASSWORD, "domain": {"name": domain}}}},
            "scope": {"domain": {"name": scope}}}})
        .to_string()
    };
    let tokens = Target {
        method: "POST",
        path: "/v3/auth/tokens".into(),
        token: None,
    };
    let tenant = world.tenant().to_owned();
    let other = world.other.tenant.clone();
    for body in [
        login("admin", &tenant, &other),
        login("admin", &other, &tenant),
        login("admin", &tenant.to_uppercase(), &tenant.to_uppercase()),
        login("admin", &format!("{tenant}/.."), &format!("{tenant}/..")),
        login("admin ", &tenant, &tenant),
        login("ad\u{200b}min", &tenant, &tenant),
        login(&"\u{fdfa}".repeat(100), &tenant, &tenant),
        login(&"\u{1d400}".repeat(255), &tenant, &tenant),
        login(&"Ａ".repeat(255), &tenant, &tenant),
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "nobody", "password": "Aa1-".repeat(15_000), "domain": {"name": tenant}}}}}})
        .to_string(),
    ] {
        world
            .expect(
                "login no user can have",
                &tokens,
                body,
                Expect::Code(401, "LOGIN_FAILED"),
            )
            .await;
    }
    // The RSA endpoints take the tenant from the token: another tenant's users are not found.
    let lookup = Target {
        method: "POST",
        path: "/AdminInterface/restapi/v1/users/lookup".into(),
        token: world.admin(),
    };
    for body in [
        json!({"email": format!("admin@{other}.example.com")}),
        json!({"email": format!("ADMIN@{}.EXAMPLE.COM", other.to_uppercase())}),
    ] {
        world
            .expect(
                "another tenant's id",
                &lookup,
                body.to_string(),
                Expect::Code(404, "NOT_FOUND"),
            )
            .await;
    }
    world.checkpoint("login no user can have").await;

    // Requests that legitimately write, after the last comparison: a look-alike login name is the
    // user's (documented), and a password change with a well-formed but hostile new password counts
    // as an attempt.
    for name in ["ＡＤＭＩＮ", "Admin", "ADMIN"] {
        world
            .expect(
                "legitimate writes (not compared)",
                &tokens,
                login(name, &tenant, &tenant),
                Expect::Success(201),
            )
            .await;
    }
    let password = Target {
        method: "POST",
        path: "/v3/users/pw@example.com/password".into(),
        token: Some(world.pw_token.clone()),
    };
    for new in [
        "Pw-\u{0}-Passw0rd",
        "Pw-\u{1b}-Passw0rd",
        &"Aa1-".repeat(15_000),
    ] {
        world
            .expect(
                "legitimate writes (not compared)",
                &password,
                json!({"user": {"original_password": PW_PASSWORD, "password": new}}).to_string(),
                Expect::Code(400, "1103"),
            )
            .await;
    }
    world
        .finish("huawei_and_rsa_bodies_are_refused_and_change_nothing")
        .await;
}

/// Look-alike spellings (case, full-width letters, decomposed accents) of an existing user id,
/// login name or email are the same value: refused as duplicates in every dialect.
#[tokio::test]
async fn look_alike_names_and_emails_are_duplicates() {
    let world = World::new("lookalike").await;
    let tenant = world.tenant().to_owned();
    let dup = |key| Expect::CodeNaming(409, "ERROR_SAVE_UNIQUE_VALUES", key);
    let create = Target {
        method: "POST",
        path: "/identity/v1/user/create".into(),
        token: world.admin(),
    };
    let api_user = |id: &str| {
        json!({"user_id": id, "backend": "LOCAL", "user_type": "API_USER", "domain_id": tenant})
            .to_string()
    };
    let local_user = |id: &str, email: &str| {
        json!({"user_id": id, "backend": "LOCAL", "domain_id": tenant, "password": "New-Passw0rd1",
            "email": email})
        .to_string()
    };
    let cases = [
        (api_user("admin"), dup("user_id")),
        (api_user("Admin"), dup("user_id")),
        (api_user("ADMIN"), dup("user_id")),
        (api_user("ROBOT"), dup("user_id")),
        (api_user("Robot"), dup("user_id")),
        (
            api_user("ＡＤＭＩＮ"),
            Expect::Code(400, "ERROR_INVALID_PARAMETER"),
        ),
        (
            local_user("Bob@example.com", "new1@example.com"),
            dup("user_id"),
        ),
        (
            local_user("BOB@EXAMPLE.COM", "new2@example.com"),
            dup("user_id"),
        ),
        (
            local_user("n1@example.com", "AMÉLIE@EXAMPLE.COM"),
            dup("email"),
        ),
        (
            local_user("n2@example.com", "ame\u{301}lie@example.com"),
            dup("email"),
        ),
        (
            local_user("n3@example.com", "AME\u{301}LIE@Example.Com"),
            dup("email"),
        ),
        (
            local_user("n4@example.com", "bob@EXAMPLE.com"),
            dup("email"),
        ),
        (
            local_user("n5@example.com", "ＢＯＢ@example.com"),
            dup("email"),
        ),
        (
            local_user("n6@example.com", "ｂｏｂ@ｅｘａｍｐｌｅ.ｃｏｍ"),
            dup("email"),
        ),
        (
            local_user(
                "n7@example.com",
                &format!("ADMIN@{}.EXAMPLE.COM", tenant.to_uppercase()),
            ),
            dup("email"),
        ),
    ];
    for (body, expect) in cases {
        world
            .expect("look-alike duplicate", &create, body, expect)
            .await;
    }
    let update = Target {
        method: "POST",
        path: "/identity/v1/user/update".into(),
        token: world.admin(),
    };
    let verify = Target {
        method: "POST",
        path: "/identity/v1/user/verify-email".into(),
        token: world.admin(),
    };
    for email in [
        "ame\u{301}lie@example.com",
        "AMÉLIE@example.com",
        "ＡＭÉＬＩＥ@example.com",
    ] {
        for target in [&update, &verify] {
            let body = json!({"user_id": "bob@example.com", "domain_id": tenant, "email": email});
            world
                .expect(
                    "look-alike duplicate",
                    target,
                    body.to_string(),
                    dup("email"),
                )
                .await;
        }
    }
    let modify = Target {
        method: "PUT",
        path: format!("/v2/{tenant}/users/bob@example.com"),
        token: world.admin(),
    };
    for email in ["AMÉLIE@example.com", "ame\u{301}lie@EXAMPLE.com"] {
        world
            .expect(
                "look-alike duplicate",
                &modify,
                json!({"user_email": email}).to_string(),
                Expect::Code(409, "ALREADY_EXISTS"),
            )
            .await;
    }
    let iam = Target {
        method: "PUT",
        path: "/v3.0/OS-USER/users/bob@example.com".into(),
        token: world.admin(),
    };
    for (user, code) in [
        (json!({"name": "ADMIN"}), "1109"),
        (json!({"name": "Admin"}), "1109"),
        (json!({"name": "ROBOT"}), "1109"),
        (json!({"name": "roBot"}), "1109"),
        (json!({"name": "ＡＤＭＩＮ"}), "1101"),
        (json!({"name": "ADMİN"}), "1101"),
        (json!({"email": "ame\u{301}lie@example.com"}), "1110"),
        (json!({"email": "AMÉLIE@EXAMPLE.COM"}), "1110"),
    ] {
        world
            .expect(
                "look-alike duplicate",
                &iam,
                json!({ "user": user }).to_string(),
                Expect::Code(400, code),
            )
            .await;
    }
    world.checkpoint("look-alike duplicates").await;
    // The lookup finds a user by any spelling of its name or email (documented), reading only.
    let lookup = Target {
        method: "POST",
        path: "/AdminInterface/restapi/v1/users/lookup".into(),
        token: world.admin(),
    };
    for body in [
        json!({"username": "ＡＤＭＩＮ"}),
        json!({"username": "Admin"}),
        json!({"email": "AME\u{301}LIE@EXAMPLE.COM"}),
    ] {
        let reply = world
            .expect(
                "look-alike lookup (read)",
                &lookup,
                body.to_string(),
                Expect::Success(200),
            )
            .await;
        if reply.status == 200
            && !["admin", "amelie@example.com"]
                .contains(&reply.body["id"].as_str().unwrap_or_default())
        {
            world.fail(format!("lookup {body} found {}", reply.raw));
        }
    }
    world.checkpoint("look-alike lookups").await;
    world
        .finish("look_alike_names_and_emails_are_duplicates")
        .await;
}

#[tokio::test]
async fn list_and_stat_queries_are_refused_or_match_nothing() {
    let world = World::new("query").await;
    for endpoint in list_and_stat_endpoints(&world) {
        bodies(&world, &endpoint).await;
    }
    let tenant = world.tenant().to_owned();
    let list = Target {
        method: "POST",
        path: "/identity/v1/user/list".into(),
        token: world.admin(),
    };
    let stat = Target {
        method: "POST",
        path: "/identity/v1/user/stat".into(),
        token: world.admin(),
    };
    let list_query = |query: Value| json!({"domain_id": tenant, "query": query}).to_string();
    let stat_query = |mut query: Value| {
        if query.get("aggregate").is_none() && query.get("distinct").is_none() {
            query["aggregate"] = json!([{"count": {"name": "n"}}]);
        }
        json!({"domain_id": tenant, "query": query}).to_string()
    };
    let filter = |condition: Value| json!({ "filter": [condition] });

    // Injection-looking values are values: they match nothing.
    let injections = [
        json!({"k": "name", "v": "' OR 1=1 --", "o": "eq"}),
        json!({"k": "name", "v": "\" OR \"\"=\"", "o": "eq"}),
        json!({"k": "user_id", "v": "' OR 1=1 --", "o": "eq"}),
        json!({"k": "email", "v": "x' OR 'a'='a", "o": "eq"}),
        json!({"k": "state", "v": "ENABLED' OR '1'='1", "o": "eq"}),
        json!({"k": "$where", "v": "this.name == 'admin' || true", "o": "eq"}),
        json!({"k": "name", "v": {"$ne": null}, "o": "eq"}),
        json!({"k": "name", "v": {"$gt": ""}, "o": "eq"}),
        json!({"k": "name", "v": {"$regex": ".*"}}),
        json!({"k": "user_id", "v": ["' OR 1=1 --", {"$ne": 1}], "o": "in"}),
        json!({"k": "name", "v": "'; DROP TABLE users; --", "o": "contain"}),
        json!({"k": "__proto__.polluted", "v": "x", "o": "eq"}),
        json!({"k": "constructor.prototype", "v": "x", "o": "eq"}),
        json!({"k": "tags.$where", "v": "1", "o": "eq"}),
        json!({"k": "name", "v": "\u{0}", "o": "eq"}),
        json!({"k": "name", "v": "Bob\u{202e}Baker", "o": "eq"}),
        json!({"k": "name", "v": "a".repeat(60_000), "o": "eq"}),
        json!({"k": "email", "v": "a".repeat(60_000), "o": "eq"}),
        json!({"k": "user_id", "v": "a".repeat(60_000), "o": "eq"}),
        json!({"k": "name", "v": "\u{fdfa}".repeat(10_000), "o": "eq"}),
        json!({"k": "email", "v": "\u{fdfa}".repeat(10_000), "o": "eq"}),
    ];
    for condition in &injections {
        world
            .expect(
                "filter injection (list/stat)",
                &list,
                list_query(filter(condition.clone())),
                Expect::NoMatch,
            )
            .await;
        world
            .expect(
                "filter injection (list/stat)",
                &list,
                list_query(json!({"filter_or": [condition]})),
                Expect::NoMatch,
            )
            .await;
        world
            .expect(
                "filter injection (list/stat)",
                &stat,
                stat_query(filter(condition.clone())),
                Expect::Success(200),
            )
            .await;
    }
    // Operators and shapes that are no query: refused.
    let refused_conditions = [
        json!({"k": "name", "v": "x", "o": "$where"}),
        json!({"k": "name", "v": "x", "o": "$ne"}),
        json!({"k": "name", "v": "x", "o": "EQ"}),
        json!({"k": "name", "v": "x", "o": "eq "}),
        json!({"k": "name", "v": "x", "o": "eq\u{0}"}),
        json!({"k": "name", "v": "x", "o": 7}),
        json!({"k": "", "v": "x"}),
        json!({"k": "na\u{0}me", "v": "x"}),
        json!({"k": "na\u{1b}me", "v": "x"}),
        json!({"k": "n".repeat(257), "v": "x"}),
        json!({"k": 7, "v": "x"}),
        json!({"v": "x", "o": "eq"}),
        json!({"k": "name", "v": "x", "o": "eq", "$where": "1"}),
        json!({"k": "name", "v": "x", "operator": "eq", "o": "eq", "zz": 1}),
        json!({"k": "name", "v": "x", "o": "in"}),
        json!({"k": "name", "v": ["x"], "o": "eq"}),
        json!({"k": "name", "v": ["x"], "o": "regex"}),
        json!({"k": "name", "v": "yes", "o": "exists"}),
        json!({"k": "created_at", "v": "yesterday", "o": "datetime_lt"}),
        json!({"k": "created_at", "v": 7, "o": "datetime_gt"}),
        json!("name = 'x' OR 1=1"),
        json!(["name", "x", "eq"]),
        json!(null),
        json!(7),
    ];
    for condition in &refused_conditions {
        for (target, body) in [
            (&list, list_query(filter(condition.clone()))),
            (&stat, stat_query(filter(condition.clone()))),
        ] {
            world
                .expect(
                    "filter injection (list/stat)",
                    target,
                    body,
                    Expect::Status(400),
                )
                .await;
        }
    }
    world.checkpoint("filter injections").await;

    // Fields UserInfo does not show cannot be read, filtered on (an oracle) or projected.
    for condition in [
        json!({"k": "password_hash", "v": true, "o": "exists"}),
        json!({"k": "password_hash", "v": "^\\$argon2", "o": "regex"}),
        json!({"k": "password_hash", "v": "$argon2", "o": "contain"}),
        json!({"k": "token_version", "v": 0, "o": "gte"}),
        json!({"k": "email_verification.code_digest", "v": true, "o": "exists"}),
        json!({"k": "failed_logins", "v": 0, "o": "gte"}),
        json!({"k": "pk", "v": "T#", "o": "contain"}),
    ] {
        world
            .expect(
                "hidden fields (oracle)",
                &list,
                list_query(filter(condition)),
                Expect::NoMatch,
            )
            .await;
    }
    for (target, body) in [
        (
            &list,
            list_query(json!({"only": ["password_hash", "token_version", "pk", "sk"]})),
        ),
        (
            &list,
            list_query(json!({"sort": [{"key": "password_hash"}]})),
        ),
        (&stat, stat_query(json!({"distinct": "password_hash"}))),
        (
            &stat,
            stat_query(
                json!({"aggregate": [{"group": {"keys": [{"key": "password_hash"}],
                "fields": [{"name": "h", "key": "password_hash", "operator": "add_to_set"}]}}]}),
            ),
        ),
    ] {
        let reply = world
            .expect(
                "hidden fields (oracle)",
                target,
                body.clone(),
                Expect::Success(200),
            )
            .await;
        if ["argon2", "token_version\":", "\"T#"]
            .iter()
            .any(|secret| reply.raw.contains(secret))
        {
            world.fail(format!(
                "hidden field answered for {body}: {}",
                preview(&reply.raw)
            ));
        }
    }
    let other = world.other.tenant.clone();
    for (target, body) in [
        (&list, json!({"domain_id": other}).to_string()),
        (
            &stat,
            json!({"domain_id": other, "query": {"distinct": "user_id"}}).to_string(),
        ),
    ] {
        world
            .expect(
                "another tenant's id",
                target,
                body,
                Expect::Code(403, "ERROR_PERMISSION_DENIED"),
            )
            .await;
    }
    world.checkpoint("hidden fields and another tenant").await;

    // Catastrophic patterns answer at once (a linear-time engine); bad ones are refused.
    for pattern in [
        "(a+)+$",
        "^(a+)+$",
        "(a|a)*b",
        "(a|aa)+$",
        "(.*a){20}",
        "((a+)+)+b",
        "^(([a-z])+.)+[A-Z]([a-z])+$",
        "(\\w+\\s?)+$",
    ] {
        for key in ["name", "user_id", "email"] {
            world
                .expect(
                    "regex (catastrophic or invalid)",
                    &list,
                    list_query(filter(json!({"k": key, "v": pattern, "o": "regex"}))),
                    Expect::Success(200),
                )
                .await;
        }
        world
            .expect(
                "regex (catastrophic or invalid)",
                &stat,
                stat_query(filter(json!({"k": "name", "v": pattern, "o": "regex"}))),
                Expect::Success(200),
            )
            .await;
    }
    for pattern in [
        "(".to_owned(),
        "[".to_owned(),
        "a{2,1}".to_owned(),
        "(a)\\1".to_owned(),
        "(?<=a)b".to_owned(),
        "a{1000}{1000}".to_owned(),
        "\\p{NoSuchClass}".to_owned(),
        "a".repeat(1025),
    ] {
        for target in [&list, &stat] {
            let body = if target.path.ends_with("list") {
                list_query(filter(json!({"k": "name", "v": pattern, "o": "regex"})))
            } else {
                stat_query(filter(json!({"k": "name", "v": pattern, "o": "regex"})))
            };
            world
                .expect(
                    "regex (catastrophic or invalid)",
                    target,
                    body,
                    Expect::Code(400, "ERROR_INVALID_PARAMETER"),
                )
                .await;
        }
    }
    world.checkpoint("regular expressions").await;

    // Issue 35, item 5: `regex_in`, `match`, `timediff_*` and the new `stat` stages are bounded
    // like conditions: catastrophic input answers at once, oversized input is refused.
    let catastrophic: Vec<String> = (0..64).map(|i| format!("^((a+)+)+{i}$")).collect();
    world
        .expect(
            "query dialect (regex_in, match, timediff, stages)",
            &list,
            list_query(filter(
                json!({"k": "name", "v": catastrophic, "o": "regex_in"}),
            )),
            Expect::NoMatch,
        )
        .await;
    let one_too_many: Vec<String> = (0..65).map(|i| format!("^{i}$")).collect();
    let nested_calculation = (0..9).fold(
        json!(["n"]),
        |inner, _| json!([{"operator": "add", "fields": inner}]),
    );
    let many_conditions: Vec<Value> = (0..65)
        .map(|i| json!({"k": "name", "v": i, "o": "not"}))
        .collect();
    let many_tests: serde_json::Map<String, Value> =
        (0..65).map(|i| (format!("f{i}"), json!(i))).collect();
    for condition in [
        json!({"k": "name", "v": one_too_many, "o": "regex_in"}),
        json!({"k": "name", "v": [], "o": "regex_in"}),
        json!({"k": "name", "v": ["a", "("], "o": "regex_in"}),
        json!({"k": "name", "v": ["a".repeat(1025)], "o": "regex_in"}),
        json!({"k": "name", "v": [{"$ne": 1}], "o": "regex_in"}),
        json!({"k": "required_actions", "v": {"$where": "sleep(10000)"}, "o": "match"}),
        json!({"k": "required_actions", "v": {"$regex": "(a+)+$"}, "o": "match"}),
        json!({"k": "required_actions", "v": {"x": {"$function": {}}}, "o": "match"}),
        json!({"k": "required_actions", "v": many_tests, "o": "match"}),
        json!({"k": "required_actions", "v": "UPDATE_PASSWORD", "o": "match"}),
        json!({"k": "created_at", "v": "now - 99999999999999999999999999d", "o": "timediff_gt"}),
        json!({"k": "created_at", "v": "now - 9999999999w", "o": "timediff_gt"}),
        json!({"k": "created_at", "v": "now - \u{0663}d", "o": "timediff_gt"}),
        // The vendor strips the spaces around a bare `now`, but not around anything else.
        json!({"k": "created_at", "v": format!("now{}x", " ".repeat(60_000)), "o": "timediff_lt"}),
        json!({"k": "created_at", "v": "now; db.dropDatabase()", "o": "timediff_lt"}),
        json!({"k": "created_at", "v": ["now"], "o": "timediff_lt"}),
    ] {
        for (target, body) in [
            (&list, list_query(filter(condition.clone()))),
            (&stat, stat_query(filter(condition.clone()))),
        ] {
            world
                .expect(
                    "query dialect (regex_in, match, timediff, stages)",
                    target,
                    body,
                    Expect::Code(400, "ERROR_INVALID_PARAMETER"),
                )
                .await;
        }
    }
    for condition in [
        json!({"k": "name", "v": {"$ne": null}, "o": "match"}),
        json!({"k": "required_actions", "v": {"$in": ["' OR 1=1 --"]}, "o": "match"}),
        json!({"k": "tags", "v": {}, "o": "match"}),
        json!({"k": "created_at", "v": "now + 1w", "o": "timediff_gt"}),
    ] {
        world
            .expect(
                "query dialect (regex_in, match, timediff, stages)",
                &list,
                list_query(filter(condition)),
                Expect::NoMatch,
            )
            .await;
    }
    let group_all = |fields: Value| json!({"group": {"fields": fields}});
    for aggregate in [
        json!([{"unwind": {"path": "user_id"}}, {"count": {"name": "n"}}]),
        json!([{"unwind": {"path": "__proto__.x"}}]),
        json!([
            group_all(json!([{"key": "user_id", "name": "a", "operator": "push"},
                             {"key": "user_id", "name": "b", "operator": "push"}])),
            {"unwind": {"path": "a"}}, {"unwind": {"path": "b"}}, {"count": {"name": "n"}}
        ]),
        json!([{"project": {"fields": [{"key": "__proto__", "name": "constructor"}]}}]),
    ] {
        world
            .expect(
                "query dialect (regex_in, match, timediff, stages)",
                &stat,
                stat_query(json!({ "aggregate": aggregate })),
                Expect::Success(200),
            )
            .await;
    }
    for aggregate in [
        json!([{"unwind": {"path": "n".repeat(257)}}]),
        json!([{"unwind": {"path": "x", "$where": "1"}}]),
        json!([{"project": {"fields": [{"name": "x", "operator": "add", "fields": nested_calculation}]}}]),
        json!([{"project": {"fields": [{"name": "x", "operator": "add", "fields": vec![1; 65]}]}}]),
        json!([{"project": {"fields": [{"name": "x", "operator": "divide", "fields": [1, 0]}]}}]),
        json!([{"project": {"fields": [{"name": "x", "operator": "$function", "key": "name"}]}}]),
        json!([{"project": {"fields": [{"key": "name", "name": "x", "operator": "size"}]}}]),
        json!([{"group": {"keys": [{"key": "created_at", "date_format": "%Q"}]}}]),
        json!([{"group": {"keys": [{"key": "created_at", "date_format": "%Y".repeat(200)}]}}]),
        json!([{"group": {"keys": [{"key": "name", "date_format": "year"}]}}]),
        json!([group_all(
            json!([{"name": "x", "operator": "count", "conditions": many_conditions}])
        )]),
        json!([group_all(json!([{"name": "x", "operator": "count",
            "conditions": [{"k": "name", "v": "x", "o": "$where"}]}]))]),
        json!([group_all(json!([{"name": "x", "operator": "push",
            "fields": vec![json!({"key": "name", "name": "n"}); 65]}]))]),
    ] {
        world
            .expect(
                "query dialect (regex_in, match, timediff, stages)",
                &stat,
                stat_query(json!({ "aggregate": aggregate })),
                Expect::Code(400, "ERROR_INVALID_PARAMETER"),
            )
            .await;
    }
    world
        .expect(
            "query dialect (regex_in, match, timediff, stages)",
            &stat,
            stat_query(json!({"aggregate": [{"unwind": {}}]})),
            Expect::Code(400, "ERROR_REQUIRED_PARAMETER"),
        )
        .await;
    world.checkpoint("query dialect").await;

    // Huge `in` lists: as many values as fit in the body limit, one more than the store reads by
    // key, exactly as many, long values; and one over the body limit.
    let values = |count: usize, width: usize| -> Vec<String> {
        (0..count)
            .map(|i| format!("{i:0width$}@nobody.example"))
            .collect()
    };
    for (count, width) in [(2_500, 1), (101, 8), (100, 8), (100, 500)] {
        for key in ["user_id", "email", "name", "state", "tags.team"] {
            for operator in ["in", "not_in", "contain_in"] {
                let condition = json!({"k": key, "v": values(count, width), "o": operator});
                let expect = if operator == "not_in" {
                    Expect::Success(200)
                } else {
                    Expect::NoMatch
                };
                world
                    .expect("huge in list", &list, list_query(filter(condition)), expect)
                    .await;
            }
        }
    }
    let many = json!({"k": "name", "v": values(5_000, 10), "o": "in"});
    world
        .expect(
            "huge in list",
            &list,
            list_query(filter(many.clone())),
            Expect::Code(413, "PAYLOAD_TOO_LARGE"),
        )
        .await;
    world
        .expect(
            "huge in list",
            &stat,
            stat_query(filter(many)),
            Expect::Code(413, "PAYLOAD_TOO_LARGE"),
        )
        .await;
    let many_conditions: Vec<Value> = (0..1_200)
        .map(|i| json!({"k": "name", "v": format!("{i}"), "o": "contain"}))
        .collect();
    // More conditions than a filter may hold (each is evaluated on every row read).
    for key in ["filter", "filter_or"] {
        world
            .expect(
                "huge in list",
                &list,
                list_query(json!({key: many_conditions})),
                Expect::CodeNaming(400, "ERROR_INVALID_PARAMETER", "at most 64 conditions"),
            )
            .await;
    }
    world
        .expect(
            "huge in list",
            &list,
            list_query(json!({"filter_or": many_conditions[..64]})),
            Expect::NoMatch,
        )
        .await;
    world.checkpoint("huge in lists").await;

    // Pages: negative, zero and huge starts and limits.
    let page_refused = Expect::Code(400, "ERROR_INVALID_PARAMETER");
    for page in [
        json!({"start": -1}),
        json!({"start": 0}),
        json!({"start": "0"}),
        json!({"start": "-5"}),
        json!({"start": 1_000_001}),
        json!({"start": i64::MAX}),
        json!({"start": i64::MIN}),
        json!({"start": u64::MAX}),
        json!({"start": 1e300}),
        json!({"start": 2.5}),
        json!({"start": "1e3"}),
        json!({"start": " 1"}),
        json!({"limit": -1}),
        json!({"limit": 1001}),
        json!({"limit": "1001"}),
        json!({"limit": 99_999_999_999_i64}),
        json!({"limit": i64::MIN}),
        json!({"limit": 1e20}),
        json!({"start": 1, "limit": 10, "zz": 1}),
    ] {
        for target in [&list, &stat] {
            let body = if target.path.ends_with("list") {
                list_query(json!({ "page": page }))
            } else {
                stat_query(json!({ "page": page }))
            };
            world
                .expect("page start/limit", target, body, page_refused)
                .await;
        }
    }
    for page in [
        json!({"start": 1, "limit": 0}),
        json!({"start": 1_000_000, "limit": 1000}),
        json!({"start": "999999", "limit": "1"}),
    ] {
        for target in [&list, &stat] {
            let body = if target.path.ends_with("list") {
                list_query(json!({ "page": page }))
            } else {
                stat_query(json!({ "page": page }))
            };
            world
                .expect("page start/limit", target, body, Expect::Success(200))
                .await;
        }
    }
    for sort in [
        json!("name"),
        json!({"key": ""}),
        json!({"key": "name", "desc": "yes"}),
        json!({"key": "name\u{0}"}),
        json!({"key": "name", "zz": 1}),
        json!([{"key": "name"}, 7]),
        json!({"keys": "name"}),
    ] {
        world
            .expect(
                "page start/limit",
                &list,
                list_query(json!({ "sort": sort })),
                Expect::Status(400),
            )
            .await;
    }
    world.checkpoint("pages").await;

    // Stat stages that are no stages.
    for aggregate in [
        json!([{"$lookup": {"from": "users"}}]),
        json!([{"$where": "1"}]),
        json!([{"group": {"keys": [{"key": "state"}], "fields": [{"name": "n", "operator": "$function"}]}}]),
        json!([{"group": {"keys": [{"key": "state"}], "fields": [{"name": "n", "operator": "sum"}]}}]),
        json!([{"group": {"keys": "state"}}]),
        json!([{"group": {"keys": [{"key": "state", "zz": 1}]}}]),
        json!([{"group": {}}]),
        json!([{"group": {"keys": [{"key": ""}]}}]),
        json!([{"count": {}}]),
        json!([{"count": "n"}]),
        json!([{"limit": -1}]),
        json!([{"limit": 1_000_001}]),
        json!([{"limit": 1.5}]),
        json!([{"skip": "1"}]),
        json!([{"skip": u64::MAX}]),
        json!([{"sort": {}}]),
        json!([{"sort": {"key": "name"}, "limit": 1}]),
        json!([{}]),
        json!([7]),
        json!(7),
    ] {
        world
            .expect(
                "stat stages",
                &stat,
                json!({"domain_id": tenant, "query": {"aggregate": aggregate}}).to_string(),
                Expect::Status(400),
            )
            .await;
    }
    for query in [
        json!({}),
        json!({"distinct": ""}),
        json!({"distinct": "n".repeat(257)}),
        json!({"distinct": "state\u{0}"}),
        json!({"distinct": "state", "$where": "1"}),
    ] {
        world
            .expect(
                "stat stages",
                &stat,
                json!({"domain_id": tenant, "query": query}).to_string(),
                Expect::Status(400),
            )
            .await;
    }
    world.checkpoint("stat stages").await;
    world
        .finish("list_and_stat_queries_are_refused_or_match_nothing")
        .await;
}

/// Path ids with `/`, `%2F`, `..`, `%2e%2e`, control characters, look-alikes, empty segments and
/// very long ids, on every route with a path parameter; hostile query strings; methods a route
/// does not serve.
#[tokio::test]
async fn hostile_path_ids_and_methods_are_refused() {
    let world = World::new("paths").await;
    let tenant = world.tenant().to_owned();
    let other = world.other.tenant.clone();
    let long_129 = "a".repeat(129);
    let long_5000 = "a".repeat(5000);
    let hostile_ids: Vec<&str> = vec![
        "bob%2Fx",
        "%2F",
        "%2f",
        "bob@example.com%2F..%2Fadmin",
        "..",
        "%2e%2e",
        "%2E%2E",
        ".",
        "%2e",
        "..%2F..%2Fadmin",
        "%2e%2e%2fadmin",
        "bob@example.com%00",
        "%00",
        "%1b",
        "%E2%80%AE",
        "%FF",
        "%C0%AF",
        "%EF%BC%A1DMIN",
        "%EF%BD%82ob@example.com",
        "ADMIN",
        "Bob@example.com",
        "BOB@EXAMPLE.COM",
        "bob@example.com%2520",
        "%252e%252e",
        "%20",
        "%09",
        "*",
        "bob@example.com'%20OR%20'1'='1",
        &long_129,
        &long_5000,
        // Padded ids are other ids (http::path_param passes them on untrimmed): 404, never bob.
        "bob@example.com%20",
        "%20bob@example.com",
        "bob@example.com%0A",
        "%09bob@example.com",
    ];
    let routes: Vec<(&'static str, String, String, Option<String>)> = vec![
        (
            "POST",
            format!("/v2/{tenant}/users/{{id}}/actions"),
            json!({"op_type": "LOCK"}).to_string(),
            world.admin(),
        ),
        (
            "GET",
            format!("/v2/{tenant}/users/{{id}}/random-password"),
            String::new(),
            world.admin(),
        ),
        (
            "PUT",
            format!("/v2/{tenant}/users/{{id}}"),
            json!({"disabled": true}).to_string(),
            world.admin(),
        ),
        (
            "PUT",
            "/v3.0/OS-USER/users/{id}".into(),
            json!({"user": {"enabled": false}}).to_string(),
            world.admin(),
        ),
        (
            "PUT",
            "/AdminInterface/restapi/v1/users/{id}/userStatus".into(),
            json!({"userStatus": "Disabled"}).to_string(),
            world.admin(),
        ),
        (
            "GET",
            "/AdminInterface/restapi/v1/users/{id}/auditTrail".into(),
            String::new(),
            world.admin(),
        ),
        (
            "POST",
            "/v3/users/{id}/password".into(),
            json!({"user": {"original_password": PW_PASSWORD, "password": PW_NEW_PASSWORD}})
                .to_string(),
            Some(world.pw_token.clone()),
        ),
    ];
    for (method, template, body, token) in &routes {
        for id in &hostile_ids {
            let target = Target {
                method,
                path: template.replace("{id}", id),
                token: token.clone(),
            };
            world
                .expect("path id", &target, body.clone(), Expect::Refused)
                .await;
        }
        // Raw `/` and empty segments never reach a function.
        for id in [
            "bob/x",
            "../admin",
            "",
            "bob@example.com/",
            "/bob@example.com",
        ] {
            let path = template.replace("{id}", id);
            if path.ends_with('/') {
                // The local router, like API Gateway's greedy-free routes, ignores one trailing
                // slash: `.../users/` is the route without its id.
                continue;
            }
            let target = Target {
                method,
                path,
                token: token.clone(),
            };
            world
                .expect(
                    "path id",
                    &target,
                    body.clone(),
                    Expect::Code(404, "NOT_FOUND"),
                )
                .await;
        }
        world
            .checkpoint(&format!("path ids of {method} {template}"))
            .await;
    }
    let upper = tenant.to_uppercase();
    let long_65 = "t".repeat(65);
    let project_ids: Vec<&str> = vec![
        "..",
        "%2e%2e",
        "%2F",
        ".",
        &other,
        &upper,
        &long_65,
        &long_5000,
        "%00",
        "%E2%80%AE",
        "%EF%BC%B4",
        "*",
        "%2A",
        "'%20OR%201=1%20--",
    ];
    // Padded project ids name no tenant: 404, never the caller's own.
    let padded = [format!("{tenant}%20"), format!("%0A{tenant}")];
    for (method, suffix, body) in [
        ("POST", "/actions", json!({"op_type": "LOCK"}).to_string()),
        ("GET", "/random-password", String::new()),
        ("PUT", "", json!({"disabled": true}).to_string()),
    ] {
        for project in project_ids
            .iter()
            .copied()
            .chain(padded.iter().map(String::as_str))
        {
            let target = Target {
                method,
                path: format!("/v2/{project}/users/bob@example.com{suffix}"),
                token: world.admin(),
            };
            world
                .expect("project id", &target, body.clone(), Expect::Refused)
                .await;
        }
        for path in [
            format!("/v2//users/bob@example.com{suffix}"),
            format!("/v2/{tenant}/{other}/users/bob@example.com{suffix}"),
            format!("/v2/../users/bob@example.com{suffix}"),
        ] {
            let target = Target {
                method,
                path,
                token: world.admin(),
            };
            world
                .expect(
                    "project id",
                    &target,
                    body.clone(),
                    Expect::Code(404, "NOT_FOUND"),
                )
                .await;
        }
    }
    world.checkpoint("project ids").await;

    let random = format!("/v2/{tenant}/users/bob@example.com/random-password");
    for query in [
        "notification_type=fax".to_owned(),
        "notification_type=email,fax".to_owned(),
        "notification_type=%00".to_owned(),
        "notification_type=email%00".to_owned(),
        "notification_type=%E2%80%AEemail".to_owned(),
        "notification_type=e%CC%81mail".to_owned(),
        "notification_type=%EF%BD%85mail".to_owned(),
        "notification_type=phone".to_owned(),
        "notification_type=email,phone".to_owned(),
        format!("notification_type={}", "x".repeat(5000)),
        format!("notification_type={}", "email,".repeat(1000) + "fax"),
    ] {
        let target = Target {
            method: "GET",
            path: format!("{random}?{query}"),
            token: world.admin(),
        };
        world
            .expect("query string", &target, String::new(), Expect::Status(400))
            .await;
    }
    world.checkpoint("query strings").await;

    // Every route with a method it does not serve: the router's 405, in the error shape.
    let routes = local_stack::template::routes(&local_stack::template::load().unwrap());
    assert_eq!(routes.len(), 26, "template.yaml serves 26 routes");
    // The hostile bodies of the other tests and the path ids above cover every route.
    let mut covered: Vec<String> = spaceone_user_endpoints(&world)
        .into_iter()
        .chain(list_and_stat_endpoints(&world))
        .chain(huawei_and_rsa_endpoints(&world))
        .map(|endpoint| endpoint.name)
        .chain([
            "GET /v2/{project_id}/users/{user_id}/random-password".to_owned(),
            "GET /AdminInterface/restapi/v1/users/{userId}/auditTrail".to_owned(),
            // Version discovery takes no input: only the methods below.
            "GET /".to_owned(),
            "GET /v3".to_owned(),
        ])
        .collect();
    covered.sort();
    let mut served: Vec<String> = routes
        .iter()
        .map(|route| format!("{} {}", route.method, route.path))
        .collect();
    served.sort();
    assert_eq!(covered, served, "hostile input covers every route");
    for route in &routes {
        let path = route
            .path
            .replace("{project_id}", &tenant)
            .replace("{user_id}", "bob@example.com")
            .replace("{userId}", "bob@example.com");
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            if method.eq_ignore_ascii_case(&route.method) {
                continue;
            }
            let target = Target {
                method,
                path: path.clone(),
                token: world.admin(),
            };
            world
                .expect(
                    "method not allowed",
                    &target,
                    "{}".into(),
                    Expect::Code(405, "METHOD_NOT_ALLOWED"),
                )
                .await;
        }
    }
    world.checkpoint("methods").await;
    world
        .finish("hostile_path_ids_and_methods_are_refused")
        .await;
}

/// Issue 30, finding 3: the last of two equal keys won, so `{"domain_id": "other", "domain_id":
/// "local"}` was served as the tenant's own request and a login with `"name": "nobody", "name":
/// "admin"` signed the administrator in.
#[tokio::test]
async fn a_key_given_twice_is_refused_as_malformed() {
    let env = TestEnv::new().await;
    let get = format!(
        r#"{{"user_id": "admin", "domain_id": "other", "domain_id": "{}"}}"#,
        env.tenant
    );
    let reply = env
        .request(
            "POST",
            "/identity/v1/user/get",
            &[("x-auth-token", &env.admin_token)],
            get,
        )
        .await;
    assert_eq!(reply.expect_error(400), "ERROR_INVALID_PARAMETER");
    assert!(reply.raw.contains("more than once"), "{}", reply.raw);
    let login = format!(
        r#"{{"auth": {{"identity": {{"methods": ["password"], "password": {{"user": {{"name": "nobody", "name": "admin", "password": "{}", "domain": {{"name": "{}"}}}}}}}}}}}}"#,
        common::ADMIN_PASSWORD,
        env.tenant
    );
    let reply = env.request("POST", "/v3/auth/tokens", &[], login).await;
    assert_eq!(reply.expect_error(400), "MALFORMED_REQUEST");
    assert!(!reply.headers.contains_key("x-subject-token"));
}
