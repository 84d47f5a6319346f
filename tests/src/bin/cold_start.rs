//! Cold starts and memory of the Lambda binaries (issue 14, items 3 and 4). A benchmark: it prints
//! figures and writes them as JSON; it asserts no timings.
//!
//! It serves a minimal Lambda Runtime API on 127.0.0.1 (`invocation/next` hands out one API Gateway
//! event at a time with the `Lambda-Runtime-*` headers; `invocation/{id}/response`, `.../error` and
//! `init/error` record the answer) and starts each given binary (a release build for this machine;
//! its file name is the function's name) with the environment a deployed function gets: the
//! runtime API, `AWS_LAMBDA_*`, region and fake credentials, `TABLE_NAME`, the template's settings
//! (`TENANT_USER_QUOTA` raised so that a warm loop of creates is not refused), DynamoDB Local as
//! `DYNAMODB_ENDPOINT`, the signing key in `TOKEN_SIGNING_KEY` (so no Secrets Manager) and, for the
//! functions whose template environment names `EXTERNAL_DIRECTORY_URL`, an external directory this
//! tool serves on 127.0.0.1 (`--directory`, default the local stack's sample,
//! `scripts/sample-directory.json`). The event is queued before the exec, as Lambda has it when it
//! starts a function.
//!
//! For each of `--starts` starts it measures, from just before the exec: **init** (to the first
//! `next`), **first answer** (to the first answer posted), and the **first request** on its own
//! (from `next` handing out the event to the answer); then kills the process. The last start goes
//! on with `--warm` events: their latency, and the process's peak RSS (`VmHWM` in
//! `/proc/<pid>/status`) and `VmRSS` at the end. **First answer − warm p50** is what starting cold
//! adds to a request: for the functions whose request hashes a password, the hash itself (about
//! 35 ms of CPU) is in both.
//!
//! Every measured request is one that succeeds: a figure counts only for the work it names. The
//! events are `events/<function>.json` (left as a person would send them) in a tenant bootstrapped
//! here for each function (its administrator logged in through the `iam_auth_tokens` handler, the user
//! the events name created through `spaceone_user_create`'s; for `spaceone_user_sync`, the EXTERNAL user its event
//! names, who is in the directory; `spaceone_user_get` reads that user, not the administrator its event
//! names). Where a request uses its target up, each start and each warm
//! event gets a fresh one, made through the handlers in this process before the function's first
//! start: `spaceone_user_create` a new user id and email; `spaceone_user_delete` and `spaceone_user_verify_email` (one code a
//! minute per user) a new user; `spaceone_user_reset_password` a new user whose address is verified
//! (`verify-email` with `force`); `spaceone_user_confirm_email` a new user and the code `verify-email` sent
//! them, read from their item as the notifier reads it; `iam_user_password` a new user with the
//! event's original password, changing it with their own token on their own path. `spaceone_user_find`'s
//! keyword matches people in the directory. Each function has a success status (201 for
//! `iam_auth_tokens`, 204 for `iam_user_password`, 300 for `iam_version_discovery`'s `GET /`, 200 for the
//! rest): a function any of whose measured requests (first or warm, or a start that failed)
//! answered another is **refused**: its row says so with the statuses it got and no figure, the
//! JSON names it, and the tool exits non-zero after the table (`scripts/bench.sh` then keeps the
//! old `cold.md` and `cold.json`). The breakdown's variants are held to the same.
//!
//! For each `--breakdown` function (default: the first) it then runs, interleaved start by start,
//! the variants that show what init spends its time on: the binary as above; the binary with an
//! empty TLS trust store (`SSL_CERT_FILE` naming an empty file: no roots to load and parse); a
//! hello-world function built into this binary (`lambda_runtime::run` and nothing else: the floor);
//! and this binary replaying `lambda::http::run`'s init phase by phase with timestamps, the lazy
//! costs of the first request (the first `GetItem`: connector and connection; the first random
//! bytes from aws-lc: its CPU-jitter entropy, which a first TLS handshake pays; the first argon2id
//! run) and what the deployed init adds (the second `aws-config` load and the Secrets Manager
//! client). The last two are only meaningful when this
//! binary is built with `--release` (the table says which profile it was).
//!
//! Usage (DynamoDB Local up, e.g. `DDB_PORT=8770 DDB_IN_MEMORY=1 scripts/dynamodb-local.sh start`):
//!
//! ```sh
//! cargo build --release -p spaceone_user_get -p iam_auth_tokens -p spaceone_user_create -p spaceone_user_list
//! cargo run --release -p local-stack --bin cold_start -- --ddb-endpoint http://127.0.0.1:8770 \
//!     --starts 20 --warm 200 --json cold_start.json \
//!     target/release/spaceone_user_get target/release/iam_auth_tokens target/release/spaceone_user_create target/release/spaceone_user_list
//! ```
//!
//! Options: `--table NAME` (default `useradmin-bench`), `--events DIR` (default the repository's
//! `events/`), `--directory FILE` (the directory's people, `{"users": [...]}`), `--breakdown
//! FUNCTION` (repeatable; `--breakdown none` skips it), `--env NAME=VALUE`
//! (repeatable: a setting added to every function's environment, to try one, e.g.
//! `--env MALLOC_MMAP_THRESHOLD_=131072` or `--env SSL_CERT_FILE=roots.pem`).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use lambda::App;
use lambda::app::Config;
use lambda::store::prelude::*;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The bench's signing key, given to the functions as `TOKEN_SIGNING_KEY`.
const SIGNING_KEY: &str = "cold-start-signing-key-0123456789abcdef";
const ADMIN_PASSWORD: &str = "Cold-Start-Passw0rd!";
/// The template's `Timeout`.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);
/// The template's `TenantUserQuota` is 50; the warm loop of `spaceone_user_create` needs more.
const TENANT_USER_QUOTA: u64 = 1_000_000;
const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
/// How long a start may take to answer before it counts as failed (a login at full CPU takes
/// about 50 ms; this leaves room for a loaded machine).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a start that has not answered yet is checked for having ended.
const EXIT_POLL: Duration = Duration::from_millis(20);
const PHASES_PREFIX: &str = "COLD_START_PHASES ";
const SPAWNED_AT_VAR: &str = "COLD_START_SPAWNED_AT_NS";

fn main() -> Result<(), String> {
    match std::env::args().nth(1).as_deref() {
        Some("--hello") => hello(),
        Some("--phases") => phases(),
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(bench(parse_args()?)),
    }
}

// ---------------------------------------------------------------------------------------------
// Command line

struct Args {
    ddb_endpoint: String,
    starts: usize,
    warm: usize,
    json: Option<PathBuf>,
    table: String,
    events: PathBuf,
    breakdown: Vec<String>,
    /// Added to (or replacing in) every function's environment, to try a setting.
    env: Vec<(String, String)>,
    /// The external directory's people (`{"users": [...]}`).
    directory: PathBuf,
    binaries: Vec<PathBuf>,
}

const USAGE: &str = "usage: cold_start --ddb-endpoint http://127.0.0.1:PORT [--starts 20] [--warm 200] \
[--json PATH] [--table NAME] [--events DIR] [--directory FILE] [--breakdown FUNCTION|none]... \
[--env NAME=VALUE]... BINARY...";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        ddb_endpoint: String::new(),
        starts: 20,
        warm: 200,
        json: None,
        table: "useradmin-bench".into(),
        events: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("events"),
        breakdown: Vec::new(),
        env: Vec::new(),
        directory: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("scripts")
            .join("sample-directory.json"),
        binaries: Vec::new(),
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        let mut value = |name: &str| given.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--ddb-endpoint" => args.ddb_endpoint = value(&arg)?,
            "--starts" => {
                args.starts = value(&arg)?
                    .parse()
                    .map_err(|_| "--starts: a number".to_owned())?
            }
            "--warm" => {
                args.warm = value(&arg)?
                    .parse()
                    .map_err(|_| "--warm: a number".to_owned())?
            }
            "--json" => args.json = Some(PathBuf::from(value(&arg)?)),
            "--table" => args.table = value(&arg)?,
            "--events" => args.events = PathBuf::from(value(&arg)?),
            "--directory" => args.directory = PathBuf::from(value(&arg)?),
            "--breakdown" => args.breakdown.push(value(&arg)?),
            "--env" => {
                let pair = value(&arg)?;
                let (name, setting) = pair
                    .split_once('=')
                    .ok_or(format!("--env NAME=VALUE, got {pair:?}"))?;
                args.env.push((name.to_owned(), setting.to_owned()));
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other if other.starts_with("--") => return Err(format!("unknown {other}\n{USAGE}")),
            binary => args.binaries.push(PathBuf::from(binary)),
        }
    }
    if args.binaries.is_empty() || args.starts == 0 {
        return Err(USAGE.into());
    }
    // DynamoDB Local on this machine only: nothing here talks to another.
    let loopback = args
        .ddb_endpoint
        .strip_prefix("http://")
        .and_then(|rest| rest.split(['/', ':']).next())
        .is_some_and(|host| host == "127.0.0.1" || host == "localhost");
    if !loopback {
        return Err(format!(
            "--ddb-endpoint must be http://127.0.0.1:PORT (DynamoDB Local)\n{USAGE}"
        ));
    }
    if args.breakdown.is_empty() {
        args.breakdown.push(function_name(&args.binaries[0]));
    }
    args.breakdown.retain(|name| name != "none");
    Ok(args)
}

fn function_name(binary: &Path) -> String {
    binary
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The Lambda Runtime API

struct Invocation {
    id: String,
    event: String,
}

enum Signal {
    /// A `next` request arrived.
    Next(Instant),
    /// `next` handed out this invocation.
    Handed(String, Instant),
    /// The function posted its answer (`error`: to `.../error`).
    Answered {
        id: String,
        at: Instant,
        error: bool,
        body: Bytes,
    },
    InitError(Bytes),
}

struct ApiState {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    signals: mpsc::UnboundedSender<Signal>,
    function_arn: String,
}

/// One runtime API for one process: its own port, queue and signals.
struct RuntimeApi {
    address: SocketAddr,
    queue: mpsc::UnboundedSender<Invocation>,
    signals: mpsc::UnboundedReceiver<Signal>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // Its connections are in the server's JoinSet and end with it.
        self.server.abort();
    }
}

impl RuntimeApi {
    async fn start(function: &str) -> Result<RuntimeApi, String> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| format!("binding the runtime API: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let (queue, queued) = mpsc::unbounded_channel();
        let (signal, signals) = mpsc::unbounded_channel();
        let state = Arc::new(ApiState {
            queue: tokio::sync::Mutex::new(queued),
            signals: signal,
            function_arn: format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"),
        });
        let server = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                connections.spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req| runtime_api(state.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(RuntimeApi {
            address,
            queue,
            signals,
            server,
        })
    }

    fn invoke(&self, invocation: Invocation) {
        let _ = self.queue.send(invocation);
    }
}

fn reply(status: u16, body: &'static str) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("a static response")
}

async fn runtime_api(
    state: Arc<ApiState>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return Ok(reply(404, r#"{"errorType":"NotFound"}"#));
    };
    if req.method() == hyper::Method::GET && rest == "invocation/next" {
        let _ = state.signals.send(Signal::Next(Instant::now()));
        let Some(invocation) = state.queue.lock().await.recv().await else {
            return Ok(reply(500, r#"{"errorType":"ShuttingDown"}"#));
        };
        let deadline = (SystemTime::now() + FUNCTION_TIMEOUT)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let response = hyper::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("lambda-runtime-aws-request-id", &invocation.id)
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header("lambda-runtime-invoked-function-arn", &state.function_arn)
            .header("lambda-runtime-trace-id", trace_id())
            .body(Full::new(Bytes::from(invocation.event)))
            .expect("a valid response");
        let _ = state
            .signals
            .send(Signal::Handed(invocation.id, Instant::now()));
        return Ok(response);
    }
    if req.method() != hyper::Method::POST {
        return Ok(reply(405, r#"{"errorType":"MethodNotAllowed"}"#));
    }
    let answer = if rest == "init/error" {
        None
    } else if let Some(id) = rest
        .strip_prefix("invocation/")
        .and_then(|tail| tail.strip_suffix("/response"))
    {
        Some((id.to_owned(), false))
    } else if let Some(id) = rest
        .strip_prefix("invocation/")
        .and_then(|tail| tail.strip_suffix("/error"))
    {
        Some((id.to_owned(), true))
    } else {
        return Ok(reply(404, r#"{"errorType":"NotFound"}"#));
    };
    let body = req
        .into_body()
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let at = Instant::now();
    let _ = state.signals.send(match answer {
        Some((id, error)) => Signal::Answered {
            id,
            at,
            error,
            body,
        },
        None => Signal::InitError(body),
    });
    Ok(reply(202, r#"{"status":"OK"}"#))
}

fn hex(bits: u128, digits: usize) -> String {
    let text = format!("{bits:032x}");
    text[32 - digits..].to_owned()
}

fn request_id() -> String {
    let h = hex(rand::random(), 32);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn trace_id() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    format!(
        "Root=1-{seconds:08x}-{};Parent={};Sampled=0",
        hex(rand::random(), 24),
        hex(rand::random(), 16)
    )
}

// ---------------------------------------------------------------------------------------------
// The function processes

/// A started process, its output drained (the functions log a line and a metric per request).
struct Process {
    child: std::process::Child,
    pid: u32,
    spawned: Instant,
    output: Arc<Mutex<Vec<String>>>,
}

impl Process {
    fn spawn(program: &Path, args: &[&str], env: &[(String, String)]) -> Result<Process, String> {
        let mut command = std::process::Command::new(program);
        command
            .args(args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // `spawn` returns once the exec has happened (or failed).
        let spawned = Instant::now();
        let mut child = command
            .spawn()
            .map_err(|e| format!("{}: {e}", program.display()))?;
        let pid = child.id();
        let output = Arc::new(Mutex::new(Vec::new()));
        if let Some(stdout) = child.stdout.take() {
            drain(stdout, output.clone());
        }
        if let Some(stderr) = child.stderr.take() {
            drain(stderr, output.clone());
        }
        Ok(Process {
            child,
            pid,
            spawned,
            output,
        })
    }

    fn last_output(&self, lines: usize) -> String {
        let output = self.output.lock().unwrap_or_else(|e| e.into_inner());
        output[output.len().saturating_sub(lines)..].join("\n")
    }

    /// How it ended, if it has.
    fn ended(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(e.to_string()),
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn drain(stream: impl std::io::Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let mut kept = into.lock().unwrap_or_else(|e| e.into_inner());
            if kept.len() < 10_000 {
                kept.push(line);
            }
        }
    });
}

/// `VmHWM` and `VmRSS` of a process, in KiB.
fn memory_kib(pid: u32) -> (Option<u64>, Option<u64>) {
    let (hwm, rss, _) = memory_and_threads(pid);
    (hwm, rss)
}

/// `VmHWM` and `VmRSS` in KiB, and the number of threads.
fn memory_and_threads(pid: u32) -> (Option<u64>, Option<u64>, Option<u64>) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    };
    (field("VmHWM:"), field("VmRSS:"), field("Threads:"))
}

/// The environment Lambda gives a `provided.al2023` function of the template (`Globals`), with
/// DynamoDB Local and a fixed signing key in place of the deployed table and secret.
fn function_env(
    function: &str,
    runtime: SocketAddr,
    args: &Args,
    directory: &Directory,
) -> Vec<(String, String)> {
    let pairs = [
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".to_owned()),
        (
            "LD_LIBRARY_PATH",
            "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
                .to_owned(),
        ),
        ("LANG", "en_US.UTF-8".to_owned()),
        ("TZ", ":UTC".to_owned()),
        ("_HANDLER", "bootstrap".to_owned()),
        ("LAMBDA_TASK_ROOT", "/var/task".to_owned()),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime".to_owned()),
        ("AWS_LAMBDA_RUNTIME_API", runtime.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", function.to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function}")),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/24/[$LATEST]0123456789abcdef0123456789abcdef".to_owned(),
        ),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO".to_owned()),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_DEFAULT_REGION", REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "ASIACOLDSTARTBENCH00".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "cold-start-bench-secret".to_owned()),
        ("AWS_SESSION_TOKEN", "cold-start-bench-session".to_owned()),
        // Nothing may ask a metadata service off this machine.
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("TABLE_NAME", args.table.clone()),
        ("DYNAMODB_ENDPOINT", args.ddb_endpoint.clone()),
        ("TOKEN_SIGNING_KEY", SIGNING_KEY.to_owned()),
        ("TOKEN_LIFETIME_SECONDS", "86400".to_owned()),
        ("TENANT_USER_QUOTA", TENANT_USER_QUOTA.to_string()),
        ("LOCKOUT_THRESHOLD", "5".to_owned()),
        ("LOCKOUT_WINDOW_SECONDS", "900".to_owned()),
        ("LOCKOUT_DURATION_SECONDS", "900".to_owned()),
        ("PASSWORD_MAX_AGE_DAYS", "0".to_owned()),
        ("DELETED_USER_RETENTION_DAYS", "30".to_owned()),
        ("METRICS_NAMESPACE", "UserAdmin/cold-start".to_owned()),
    ];
    let mut env: Vec<(String, String)> =
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    if directory.functions.iter().any(|f| f == function) {
        env.push(("EXTERNAL_DIRECTORY_URL".into(), directory.url.clone()));
    }
    for (name, value) in &args.env {
        env.retain(|(k, _)| k != name);
        env.push((name.clone(), value.clone()));
    }
    env
}

// ---------------------------------------------------------------------------------------------
// Events

/// The status a function answers when its request does what it names; the tool reports a
/// function only if every measured request answered it.
fn success_status(function: &str) -> &'static str {
    match function {
        // A token issued (Keystone).
        "iam_auth_tokens" => "201",
        // Huawei IAM's own password change: no content.
        "iam_user_password" => "204",
        // `GET /`: Keystone's version list is Multiple Choices.
        "iam_version_discovery" => "300",
        _ => "200",
    }
}

/// The external directory the tool serves (the local stack's sample) to the functions whose
/// template environment names `EXTERNAL_DIRECTORY_URL`.
struct Directory {
    url: String,
    functions: Vec<String>,
}

impl Directory {
    async fn serve(file: &Path) -> Result<Directory, String> {
        let template = local_stack::template::load()?;
        let functions = local_stack::template::functions(&template)
            .into_iter()
            .filter(|f| {
                !template["Resources"][f.resource.as_str()]["Properties"]["Environment"]
                    ["Variables"]["EXTERNAL_DIRECTORY_URL"]
                    .is_null()
            })
            .map(|f| f.directory)
            .collect();
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| format!("binding the directory: {e}"))?;
        let url = format!(
            "http://{}/find",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        tokio::spawn(local_stack::directory::serve(
            listener,
            local_stack::directory::Source::File(file.to_owned()),
        ));
        Ok(Directory { url, functions })
    }
}

/// The tenant the events act in, its administrator's token, and what the events of one function
/// need to succeed.
struct Fixture {
    app: &'static App,
    tenant: String,
    token: String,
    events: PathBuf,
    /// Numbers the users made for the events.
    sequence: std::sync::atomic::AtomicU64,
}

impl Fixture {
    fn template(&self, function: &str) -> Result<String, String> {
        let path = self.events.join(format!("{function}.json"));
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: {e} (no event for {function})", path.display()))?;
        Ok(text
            .replace("{{DOMAIN_ID}}", &self.tenant)
            .replace("{{PASSWORD}}", ADMIN_PASSWORD)
            .replace("{{TOKEN}}", &self.token))
    }

    fn event(&self, function: &str) -> Result<Value, String> {
        serde_json::from_str(&self.template(function)?)
            .map_err(|e| format!("events/{function}.json: {e}"))
    }

    fn next_user(&self) -> String {
        let n = self
            .sequence
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("cold{n}@bench.example")
    }

    /// A new user like the one the events name (`spaceone_user_create`'s event with a fresh id and
    /// email, through its handler), with `password`, or the event's own.
    async fn new_user(&self, password: Option<&str>) -> Result<String, String> {
        let user = self.next_user();
        let mut event = self.event("spaceone_user_create")?;
        edit_body(&mut event, |body| {
            body["user_id"] = json!(user);
            body["email"] = json!(user);
            if let Some(password) = password {
                body["password"] = json!(password);
            }
        })?;
        self.call(spaceone_user_create::handle, event, 200, "creating a user")
            .await?;
        Ok(user)
    }

    /// Calls a handler in this process with `event`, expecting `status`.
    async fn call<F>(
        &self,
        handler: impl FnOnce(&'static App, lambda_http::Request) -> F,
        event: Value,
        status: u16,
        what: &str,
    ) -> Result<lambda_http::Response<lambda_http::Body>, String>
    where
        F: std::future::Future<Output = lambda_http::Response<lambda_http::Body>>,
    {
        let request = lambda_http::request::from_str(&event.to_string())
            .map_err(|e| format!("{what}: {e}"))?;
        let response = handler(self.app, request).await;
        if response.status() != status {
            let body = match response.body() {
                lambda_http::Body::Text(text) => text.clone(),
                lambda_http::Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                _ => String::new(),
            };
            return Err(format!("{what} answered {}: {body}", response.status()));
        }
        Ok(response)
    }

    /// Sends `user` a verification code (`verify_email`'s event through its handler, `force`:
    /// the address marked verified at once instead) and returns the code, read from the user's
    /// item as the notifier reads it.
    async fn verify_email(&self, user: &str, force: bool) -> Result<Option<String>, String> {
        let mut event = self.event("spaceone_user_verify_email")?;
        edit_body(&mut event, |body| {
            body["user_id"] = json!(user);
            if force {
                body["force"] = json!(true);
            }
        })?;
        self.call(
            spaceone_user_verify_email::handle,
            event,
            200,
            "verify-email",
        )
        .await?;
        if force {
            return Ok(None);
        }
        let item = self
            .app
            .store
            .client()
            .get_item()
            .table_name(self.app.store.table())
            .key(
                "pk",
                AttributeValue::S(lambda::dynamo::tenant_pk(&self.tenant)),
            )
            .key("sk", AttributeValue::S(lambda::dynamo::user_sk(user)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| format!("reading {user}: {e}"))?
            .item
            .ok_or_else(|| format!("no user {user}"))?;
        let messages = lambda::dynamo::messages_of(&item).map_err(|e| e.to_string())?;
        let message = messages
            .iter()
            .find(|m| m.template == lambda::outbox::Template::VerificationCode)
            .ok_or_else(|| format!("no verification code for {user}"))?;
        let code = self
            .app
            .sealer
            .open(message)
            .map_err(|e| e.to_string())?
            .ok_or("the code is not sealed in its message")?;
        Ok(Some(code))
    }

    /// `user`'s token, from `iam_auth_tokens`'s event (that user's name) through its handler.
    async fn login(&self, user: &str) -> Result<String, String> {
        let mut event = self.event("iam_auth_tokens")?;
        edit_body(&mut event, |body| {
            body["auth"]["identity"]["password"]["user"]["name"] = json!(user);
        })?;
        let response = self
            .call(iam_auth_tokens::handle, event, 201, "logging in")
            .await?;
        response
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| "the login answered no token".to_owned())
    }

    /// One event of the function, made to succeed: a fresh target per event where a request
    /// changes or uses up its target (a user to delete, a password to change, an address to
    /// verify, a code to confirm, a password to reset), the event otherwise as it is. Stamped
    /// when it is handed out ([`Fixture::invocation`]).
    async fn prepare_event(&self, function: &str) -> Result<Value, String> {
        let mut event = self.event(function)?;
        match function {
            // A new user each.
            "spaceone_user_create" => {
                let user = self.next_user();
                edit_body(&mut event, |body| {
                    body["user_id"] = json!(user);
                    body["email"] = json!(user);
                })?;
            }
            // One user each: deleted; one code a minute per user.
            "spaceone_user_delete" | "spaceone_user_verify_email" => {
                let user = self.new_user(None).await?;
                edit_body(&mut event, |body| body["user_id"] = json!(user))?;
            }
            // A temporary password goes to a verified address only.
            "spaceone_user_reset_password" => {
                let user = self.new_user(None).await?;
                self.verify_email(&user, true).await?;
                edit_body(&mut event, |body| body["user_id"] = json!(user))?;
            }
            // The code mailed to a new user.
            "spaceone_user_confirm_email" => {
                let user = self.new_user(None).await?;
                let code = self
                    .verify_email(&user, false)
                    .await?
                    .ok_or("no verification code")?;
                edit_body(&mut event, |body| {
                    body["user_id"] = json!(user);
                    body["verify_code"] = json!(code);
                })?;
            }
            // The event reads the administrator (the one user of a fresh local stack); measured
            // as an administrator reading another user, the user the events name.
            "spaceone_user_get" => {
                let user =
                    local_stack::event_body(&self.event("spaceone_user_create")?)?["user_id"]
                        .clone();
                edit_body(&mut event, |body| body["user_id"] = user)?;
            }
            // A user with the event's original password changes it with their own token.
            "iam_user_password" => {
                let user = self.new_user(Some(ADMIN_PASSWORD)).await?;
                let token = self.login(&user).await?;
                act_as(&mut event, "admin", &user, &token)?;
            }
            _ => {}
        }
        Ok(event)
    }

    /// `count` events of the function, prepared two at a time.
    async fn prepare_events(
        &self,
        function: &str,
        count: usize,
    ) -> Result<std::collections::VecDeque<Value>, String> {
        use futures::StreamExt;
        futures::stream::iter(0..count)
            .map(|_| self.prepare_event(function))
            .buffered(2)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .map(|prepared| prepared.map_err(|e| format!("preparing {function}'s events: {e}")))
            .collect()
    }

    /// A prepared event as it is handed out: a fresh request id and time.
    fn invocation(event: Option<Value>) -> Result<Invocation, String> {
        let mut event = event.ok_or("no prepared event left")?;
        let id = request_id();
        event["requestContext"]["requestId"] = json!(request_id());
        event["requestContext"]["requestTimeEpoch"] = json!(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as u64
        );
        Ok(Invocation {
            id,
            event: event.to_string(),
        })
    }
}

/// Changes the JSON in an event's `body`.
fn edit_body(event: &mut Value, edit: impl FnOnce(&mut Value)) -> Result<(), String> {
    let mut body = local_stack::event_body(event)?;
    edit(&mut body);
    event["body"] = json!(body.to_string());
    Ok(())
}

/// The event sent by `user` with `token` on their own path, where it names `named`.
fn act_as(event: &mut Value, named: &str, user: &str, token: &str) -> Result<(), String> {
    let own = |path: &str| path.replace(&format!("/users/{named}/"), &format!("/users/{user}/"));
    for path in ["/path", "/requestContext/path"] {
        let field = event.pointer_mut(path).ok_or("the event has no path")?;
        let own_path = own(field.as_str().ok_or("the event has no path")?);
        *field = json!(own_path);
    }
    event["pathParameters"]["user_id"] = json!(user);
    event["headers"]["X-Auth-Token"] = json!(token);
    event["multiValueHeaders"]["X-Auth-Token"] = json!([token]);
    Ok(())
}

/// The table, a tenant with its administrator, the administrator's token (through the
/// `iam_auth_tokens` handler, as the event logs in), the user the events name (through
/// `spaceone_user_create`'s) and, for `spaceone_user_sync`, the EXTERNAL user its event refreshes from the
/// directory (`spaceone_user_create_external`'s).
async fn prepare(args: &Args, app: &'static App, function: &str) -> Result<Fixture, String> {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    static PREPARED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tenant = format!(
        "cold-{}-{}-{}",
        std::process::id(),
        seconds % 1_000_000,
        PREPARED.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    local_stack::bootstrap_admin(app, &tenant, ADMIN_PASSWORD).await?;
    let mut fixture = Fixture {
        app,
        tenant,
        token: String::new(),
        events: args.events.clone(),
        sequence: std::sync::atomic::AtomicU64::new(0),
    };
    fixture.token = fixture.login("admin").await?;
    let create = fixture.event("spaceone_user_create")?;
    fixture
        .call(
            spaceone_user_create::handle,
            create,
            200,
            "creating the events' user",
        )
        .await?;
    if function == "spaceone_user_sync" {
        let create = fixture.event("spaceone_user_create_external")?;
        fixture
            .call(
                spaceone_user_create::handle,
                create,
                200,
                "creating the directory's user",
            )
            .await?;
    }
    Ok(fixture)
}

// ---------------------------------------------------------------------------------------------
// One start

/// What one answer took, from the process's start and from its `next`.
struct Answered {
    /// Since the exec, when it came.
    at_ms: f64,
    /// From `next` handing out the event.
    latency_ms: f64,
    status: String,
}

/// Waits for the answer to `id`, noting the first `next` (the end of init) when `init` is unset.
async fn answer(
    api: &mut RuntimeApi,
    process: &mut Process,
    id: &str,
    init: &mut Option<f64>,
) -> Result<Answered, String> {
    let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
    let mut handed = None;
    loop {
        let signal = tokio::select! {
            signal = api.signals.recv() => signal.ok_or("the runtime API stopped")?,
            _ = tokio::time::sleep(EXIT_POLL) => {
                if let Some(status) = process.ended() {
                    return Err(format!(
                        "the process ended ({status}) before answering: {}",
                        process.last_output(5)
                    ));
                }
                continue;
            }
            _ = tokio::time::sleep_until(deadline) => {
                return Err(format!("no answer within {ANSWER_TIMEOUT:?}: {}", process.last_output(5)));
            }
        };
        match signal {
            Signal::Next(at) => {
                if init.is_none() {
                    *init = Some(ms(at - process.spawned));
                }
            }
            Signal::Handed(handed_id, at) if handed_id == id => handed = Some(at),
            Signal::Handed(..) => {}
            Signal::Answered {
                id: answered,
                at,
                error,
                body,
            } if answered == id => {
                let status = if error {
                    "error".to_owned()
                } else {
                    serde_json::from_slice::<Value>(&body)
                        .ok()
                        .and_then(|v| v["statusCode"].as_u64())
                        .map_or_else(|| "?".to_owned(), |code| code.to_string())
                };
                return Ok(Answered {
                    at_ms: ms(at - process.spawned),
                    latency_ms: ms(at - handed.unwrap_or(at)),
                    status,
                });
            }
            Signal::Answered { .. } => {}
            Signal::InitError(body) => {
                return Err(format!(
                    "init failed: {}",
                    String::from_utf8_lossy(&body)
                        .chars()
                        .take(300)
                        .collect::<String>()
                ));
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Start {
    init_ms: f64,
    first_answer_ms: f64,
    first_request_ms: f64,
    status: String,
    /// After the first event.
    hwm_kib: Option<u64>,
    rss_kib: Option<u64>,
}

#[derive(Debug, Clone, Default)]
struct Warm {
    latencies_ms: Vec<f64>,
    statuses: BTreeMap<String, usize>,
    hwm_kib: Option<u64>,
    rss_kib: Option<u64>,
    threads: Option<u64>,
    /// The function's CPU time per warm event (all its threads), what Lambda's share of a vCPU
    /// stretches.
    cpu_ms_per_event: Option<f64>,
}

/// Starts `program` against a fresh runtime API with one event queued, measures it to its first
/// answer, then answers `warm` more events; kills it.
async fn start_once(
    program: &Path,
    program_args: &[&str],
    function: &str,
    env: impl FnOnce(SocketAddr) -> Vec<(String, String)>,
    mut event: impl FnMut() -> Result<Invocation, String>,
    warm: usize,
) -> Result<(Start, Option<Warm>), String> {
    let mut api = RuntimeApi::start(function).await?;
    let first = event()?;
    let first_id = first.id.clone();
    api.invoke(first);
    let mut process = Process::spawn(program, program_args, &env(api.address))?;
    let mut init = None;
    let outcome = async {
        let first = answer(&mut api, &mut process, &first_id, &mut init).await?;
        let (hwm_kib, rss_kib) = memory_kib(process.pid);
        let start = Start {
            init_ms: init.unwrap_or(f64::NAN),
            first_answer_ms: first.at_ms,
            first_request_ms: first.latency_ms,
            status: first.status,
            hwm_kib,
            rss_kib,
        };
        if warm == 0 {
            return Ok((start, None));
        }
        let mut loop_ = Warm::default();
        let cpu_before = local_stack::process_cpu_ns(process.pid);
        for _ in 0..warm {
            let invocation = event()?;
            let id = invocation.id.clone();
            api.invoke(invocation);
            let answered = answer(&mut api, &mut process, &id, &mut init).await?;
            loop_.latencies_ms.push(answered.latency_ms);
            *loop_.statuses.entry(answered.status).or_default() += 1;
        }
        (loop_.hwm_kib, loop_.rss_kib, loop_.threads) = memory_and_threads(process.pid);
        if let (Some(before), Some(after)) = (cpu_before, local_stack::process_cpu_ns(process.pid))
        {
            loop_.cpu_ms_per_event = Some(after.saturating_sub(before) as f64 / 1e6 / warm as f64);
        }
        Ok((start, Some(loop_)))
    }
    .await;
    drop(process);
    outcome
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------------------------
// Figures

fn sorted(samples: &[f64]) -> Vec<f64> {
    let mut samples: Vec<f64> = samples.iter().copied().filter(|s| s.is_finite()).collect();
    samples.sort_by(f64::total_cmp);
    samples
}

/// The nearest-rank percentile (`p` in 0..=100); the median of an even count is the mean of the
/// middle two.
fn percentile(samples: &[f64], p: f64) -> f64 {
    let s = sorted(samples);
    if s.is_empty() {
        return f64::NAN;
    }
    if p == 50.0 && s.len() % 2 == 0 {
        return (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0;
    }
    let rank = ((p / 100.0) * s.len() as f64).ceil().max(1.0) as usize;
    s[rank.min(s.len()) - 1]
}

fn median(samples: &[f64]) -> f64 {
    percentile(samples, 50.0)
}

fn round(value: f64) -> Value {
    if value.is_finite() {
        json!((value * 100.0).round() / 100.0)
    } else {
        Value::Null
    }
}

fn summary(samples: &[f64]) -> Value {
    let s = sorted(samples);
    json!({
        "median": round(median(&s)),
        "min": round(s.first().copied().unwrap_or(f64::NAN)),
        "max": round(s.last().copied().unwrap_or(f64::NAN)),
        "samples": s.len(),
    })
}

fn median_u64(values: impl Iterator<Item = Option<u64>>) -> Option<u64> {
    let mut values: Vec<u64> = values.flatten().collect();
    values.sort_unstable();
    values.get(values.len() / 2).copied()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "-".into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

fn statuses(list: impl Iterator<Item = String>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for status in list {
        *counts.entry(status).or_default() += 1;
    }
    counts
}

fn show_statuses(counts: &BTreeMap<String, usize>) -> String {
    counts
        .iter()
        .map(|(status, n)| format!("{status}×{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------------
// The benchmark

async fn bench(args: Args) -> Result<(), String> {
    let load_before = load_average();
    let directory = Directory::serve(&args.directory).await?;
    let config = Config {
        dynamodb_endpoint: Some(args.ddb_endpoint.clone()),
        tenant_user_quota: TENANT_USER_QUOTA,
        external_directory_url: Some(directory.url.clone()),
        ..Config::defaults(&args.table)
    };
    let client = lambda::app::dynamodb_client(Some(&args.ddb_endpoint)).await;
    local_stack::template::create_table(&client, &args.table).await?;
    let app: &'static App = Box::leak(Box::new(lambda::app::new(
        config,
        client,
        SIGNING_KEY.as_bytes(),
    )?));
    eprintln!(
        "{} (table {}), directory {}; load average {load_before}",
        args.ddb_endpoint, args.table, directory.url
    );
    let mut rows = Vec::new();
    let mut report = Vec::new();
    // The functions whose measured requests did not all succeed: named, never given a figure.
    let mut refused = Vec::new();
    for binary in &args.binaries {
        let function = function_name(binary);
        // A tenant of its own for each function: the events of one (a password change, a delete)
        // would otherwise revoke the token or remove the user the next one's events name.
        let fixture = prepare(&args, app, &function).await?;
        let size = std::fs::metadata(binary)
            .map_err(|e| format!("{}: {e}", binary.display()))?
            .len();
        // Every event made to succeed before the first start, so that nothing is prepared
        // while the function runs.
        let preparing = Instant::now();
        let mut events = fixture
            .prepare_events(&function, args.starts + args.warm)
            .await?;
        eprintln!(
            "{function}: tenant {}, {} events prepared in {:.1} s",
            fixture.tenant,
            events.len(),
            preparing.elapsed().as_secs_f64()
        );
        let mut starts = Vec::new();
        let mut warm = None;
        let mut failures = Vec::new();
        for n in 0..args.starts {
            let last = n + 1 == args.starts;
            let outcome = start_once(
                binary,
                &[],
                &function,
                |runtime| function_env(&function, runtime, &args, &directory),
                || Fixture::invocation(events.pop_front()),
                if last { args.warm } else { 0 },
            )
            .await;
            match outcome {
                Ok((start, loop_)) => {
                    starts.push(start);
                    if loop_.is_some() {
                        warm = loop_;
                    }
                }
                Err(error) => {
                    eprintln!("{function}: start {n}: {error}");
                    failures.push(error);
                }
            }
        }
        let init: Vec<f64> = starts.iter().map(|s| s.init_ms).collect();
        let first: Vec<f64> = starts.iter().map(|s| s.first_answer_ms).collect();
        let request: Vec<f64> = starts.iter().map(|s| s.first_request_ms).collect();
        let first_statuses = statuses(starts.iter().map(|s| s.status.clone()));
        let success = success_status(&function);
        // Every measured request, cold and warm, answered the function's success status, or the
        // figures would describe something else (an error path): then none is given.
        let mut answered = first_statuses.clone();
        for (status, n) in warm.iter().flat_map(|w| &w.statuses) {
            *answered.entry(status.clone()).or_default() += n;
        }
        if !failures.is_empty() {
            answered.insert("failed start".into(), failures.len());
        }
        if answered.keys().any(|status| status != success) {
            let message = format!(
                "{function}: its measured requests answered {} (first requests {}, warm {}), \
                 not {success} each",
                show_statuses(&answered),
                show_statuses(&first_statuses),
                warm.as_ref()
                    .map_or("-".into(), |w| show_statuses(&w.statuses)),
            );
            eprintln!("refused {message}");
            let mut row = vec!["-".to_owned(); 13];
            row[0] = function.clone();
            row[1] = format!("{:.2}", size as f64 / 1_048_576.0);
            row[2] = "refused".into();
            row[6] = show_statuses(&first_statuses);
            row[8] = warm
                .as_ref()
                .map_or("-".into(), |w| show_statuses(&w.statuses));
            rows.push(row);
            report.push(json!({
                "function": function,
                "binary": binary.display().to_string(),
                "binary_bytes": size,
                "success_status": success,
                "refused": message,
                "first_statuses": first_statuses,
                "warm_statuses": warm.as_ref().map(|w| &w.statuses),
                "failed_starts": failures,
            }));
            refused.push(message);
            continue;
        }
        let hwm_first = median_u64(starts.iter().map(|s| s.hwm_kib));
        let warm_json = warm.as_ref().map(|w| {
            json!({
                "events": w.latencies_ms.len(),
                "p50_ms": round(median(&w.latencies_ms)),
                "p90_ms": round(percentile(&w.latencies_ms, 90.0)),
                "p99_ms": round(percentile(&w.latencies_ms, 99.0)),
                "max_ms": round(sorted(&w.latencies_ms).last().copied().unwrap_or(f64::NAN)),
                "statuses": w.statuses,
                "vm_hwm_kib": w.hwm_kib,
                "vm_rss_kib": w.rss_kib,
                "threads": w.threads,
                "cpu_ms_per_event": w.cpu_ms_per_event.map(round),
            })
        });
        // What starting cold adds to the answer: the first answer beyond what the same request
        // takes warm (for the functions whose request hashes a password, the hash is the warm part).
        let cold_extra = warm
            .as_ref()
            .map(|w| median(&first) - median(&w.latencies_ms));
        rows.push(vec![
            function.clone(),
            format!("{:.2}", size as f64 / 1_048_576.0),
            format!(
                "{:.1} ({:.1}–{:.1})",
                median(&init),
                percentile(&init, 0.0),
                percentile(&init, 100.0)
            ),
            format!("{:.1}", median(&first)),
            cold_extra.map_or("-".into(), |extra| format!("{extra:.1}")),
            format!("{:.1}", median(&request)),
            show_statuses(&first_statuses),
            warm.as_ref().map_or("-".into(), |w| {
                format!(
                    "{:.1} / {:.1}",
                    median(&w.latencies_ms),
                    percentile(&w.latencies_ms, 99.0)
                )
            }),
            warm.as_ref()
                .map_or("-".into(), |w| show_statuses(&w.statuses)),
            warm.as_ref()
                .and_then(|w| w.cpu_ms_per_event)
                .map_or("-".into(), |cpu| format!("{cpu:.2}")),
            mib(hwm_first),
            mib(warm.as_ref().and_then(|w| w.hwm_kib)),
            mib(warm.as_ref().and_then(|w| w.rss_kib)),
        ]);
        report.push(json!({
            "function": function,
            "binary": binary.display().to_string(),
            "binary_bytes": size,
            "success_status": success,
            "starts": starts.len(),
            "failed_starts": failures,
            "init_ms": summary(&init),
            "first_answer_ms": summary(&first),
            "cold_extra_ms": cold_extra.map(round),
            "first_request_ms": summary(&request),
            "first_statuses": first_statuses,
            "vm_hwm_kib_after_first_event": hwm_first,
            "warm": warm_json,
            "samples": starts.iter().map(|s| json!({
                "init_ms": round(s.init_ms),
                "first_answer_ms": round(s.first_answer_ms),
                "first_request_ms": round(s.first_request_ms),
                "status": s.status,
                "vm_hwm_kib": s.hwm_kib,
                "vm_rss_kib": s.rss_kib,
            })).collect::<Vec<_>>(),
        }));
    }

    println!(
        "\nCold starts: median of {} starts per function (min–max), times in ms from the exec; \
         warm: {} events on the last start; memory in MiB. Each event one that succeeds (a fresh \
         target where a request uses one up); a function is given figures only if every measured \
         request answered its success status",
        args.starts, args.warm
    );
    if !args.env.is_empty() {
        let extra: Vec<String> = args.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("with {}", extra.join(" "));
    }
    print_table(
        &[
            "function",
            "binary MiB",
            "init",
            "first answer",
            "first answer − warm p50",
            "first request",
            "first status",
            "warm p50 / p99",
            "warm status",
            "warm CPU / event",
            "VmHWM 1st",
            "VmHWM warm",
            "VmRSS end",
        ],
        &rows,
    );

    if !refused.is_empty() {
        println!("\nRefused (no figures: not every measured request succeeded)");
        for message in &refused {
            println!("- {message}");
        }
    }

    let mut breakdowns = Vec::new();
    for function in &args.breakdown {
        let Some(binary) = args.binaries.iter().find(|b| function_name(b) == *function) else {
            eprintln!("--breakdown {function}: not among the binaries");
            continue;
        };
        let fixture = prepare(&args, app, function).await?;
        match breakdown(&args, &fixture, &directory, binary, function).await? {
            Ok(value) => breakdowns.push(value),
            Err(message) => {
                eprintln!("refused the breakdown of {message}");
                refused.push(format!("the breakdown of {message}"));
            }
        }
    }

    let load_after = load_average();
    eprintln!("load average after: {load_after}");
    if let Some(path) = &args.json {
        let document = json!({
            "benchmark": "cold_start",
            "unix_time": SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs(),
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "load_average_before": load_before,
            "load_average_after": load_after,
            "starts": args.starts,
            "warm_events": args.warm,
            "dynamodb": args.ddb_endpoint,
            "memory_size_mb": 128,
            "extra_env": args.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
            "functions": report,
            "breakdown": breakdowns,
        });
        let text = serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if !refused.is_empty() {
        return Err(format!(
            "refused {} (their requests did not all succeed): {}",
            refused.len(),
            refused.join("; ")
        ));
    }
    Ok(())
}

fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|row| row[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("| {} |", padded.join(" | "));
    };
    line(header.to_vec());
    println!(
        "|{}|",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("|")
    );
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

// ---------------------------------------------------------------------------------------------
// The breakdown of init

/// Runs the variants interleaved, `args.starts` rounds, and prints what init spends its time on.
/// `Err` inside: refused, naming the statuses the function's requests answered.
async fn breakdown(
    args: &Args,
    fixture: &Fixture,
    directory: &Directory,
    binary: &Path,
    function: &str,
) -> Result<Result<Value, String>, String> {
    // The two variants that run the function: an event each per round.
    let mut events = fixture.prepare_events(function, 2 * args.starts).await?;
    let this = std::env::current_exe().map_err(|e| e.to_string())?;
    let empty_roots =
        std::env::temp_dir().join(format!("cold-start-empty-roots-{}.pem", std::process::id()));
    std::fs::write(&empty_roots, "").map_err(|e| e.to_string())?;
    let mut variants: BTreeMap<&str, Vec<Start>> = BTreeMap::new();
    let mut phase_runs: Vec<Value> = Vec::new();
    for _ in 0..args.starts {
        for variant in ["binary", "binary, no TLS roots", "hello world (floor)"] {
            let (program, program_args): (&Path, &[&str]) = match variant {
                "hello world (floor)" => (&this, &["--hello"]),
                _ => (binary, &[]),
            };
            let outcome = start_once(
                program,
                program_args,
                function,
                |runtime| {
                    let mut env = function_env(function, runtime, args, directory);
                    if variant == "binary, no TLS roots" {
                        env.push(("SSL_CERT_FILE".into(), empty_roots.display().to_string()));
                    }
                    env
                },
                || match variant {
                    // It answers whatever it is sent.
                    "hello world (floor)" => Fixture::invocation(fixture.event(function).ok()),
                    _ => Fixture::invocation(events.pop_front()),
                },
                0,
            )
            .await;
            match outcome {
                Ok((start, _)) => variants.entry(variant).or_default().push(start),
                Err(error) => eprintln!("breakdown {function} ({variant}): {error}"),
            }
        }
        match run_phases(&this, function, args, fixture, directory) {
            Ok(run) => phase_runs.push(run),
            Err(error) => eprintln!("breakdown {function} (phases): {error}"),
        }
    }
    let _ = std::fs::remove_file(&empty_roots);
    for (variant, starts) in &variants {
        let success = match *variant {
            "hello world (floor)" => "200",
            _ => success_status(function),
        };
        let answered = statuses(starts.iter().map(|s| s.status.clone()));
        if answered.keys().any(|status| status != success) {
            return Ok(Err(format!(
                "{function} ({variant}): its requests answered {}, not {success} each",
                show_statuses(&answered)
            )));
        }
    }

    let profile = if cfg!(debug_assertions) {
        "debug (build cold_start with --release for meaningful phase and floor figures)"
    } else {
        "release"
    };
    println!(
        "\nInit of {function}, what it goes to (median of {} interleaved rounds; cold_start built {profile})",
        args.starts
    );
    let mut rows = Vec::new();
    let mut variant_json = serde_json::Map::new();
    for (variant, starts) in &variants {
        let init: Vec<f64> = starts.iter().map(|s| s.init_ms).collect();
        let first: Vec<f64> = starts.iter().map(|s| s.first_answer_ms).collect();
        let request: Vec<f64> = starts.iter().map(|s| s.first_request_ms).collect();
        let hwm = median_u64(starts.iter().map(|s| s.hwm_kib));
        rows.push(vec![
            variant.to_string(),
            format!("{:.1}", median(&init)),
            format!("{:.1}", median(&first)),
            format!("{:.1}", median(&request)),
            mib(hwm),
        ]);
        variant_json.insert(
            variant.to_string(),
            json!({
                "init_ms": summary(&init),
                "first_answer_ms": summary(&first),
                "first_request_ms": summary(&request),
                "vm_hwm_kib_after_first_event": hwm,
            }),
        );
    }
    print_table(
        &[
            "variant",
            "init",
            "first answer",
            "first request",
            "VmHWM 1st",
        ],
        &rows,
    );

    // The phases: medians over the runs, in the order they ran.
    let mut names: Vec<String> = Vec::new();
    let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for run in &phase_runs {
        for phase in run["phases"].as_array().into_iter().flatten() {
            let (Some(name), Some(ms)) = (phase["name"].as_str(), phase["ms"].as_f64()) else {
                continue;
            };
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
            values.entry(name.to_owned()).or_default().push(ms);
        }
    }
    let mut phase_json = Vec::new();
    let rows: Vec<Vec<String>> = names
        .iter()
        .map(|name| {
            let samples = &values[name];
            phase_json.push(json!({"phase": name, "ms": summary(samples)}));
            vec![
                name.clone(),
                format!("{:.2}", median(samples)),
                format!("{:.2}", percentile(samples, 0.0)),
                format!("{:.2}", percentile(samples, 100.0)),
            ]
        })
        .collect();
    println!(
        "\nInit replayed phase by phase in a fresh process (lambda::http::run's steps, then the first request's lazy costs), ms"
    );
    print_table(&["phase", "median", "min", "max"], &rows);
    Ok(Ok(json!({
        "function": function,
        "rounds": args.starts,
        "cold_start_profile": profile,
        "variants": variant_json,
        "phases": phase_json,
    })))
}

/// Runs this binary's `--phases` in a fresh process with the function's environment.
fn run_phases(
    this: &Path,
    function: &str,
    args: &Args,
    fixture: &Fixture,
    directory: &Directory,
) -> Result<Value, String> {
    let mut env = function_env(
        function,
        "127.0.0.1:9".parse().expect("an address"),
        args,
        directory,
    );
    env.push(("COLD_START_TENANT".into(), fixture.tenant.clone()));
    let spawned_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    env.push((SPAWNED_AT_VAR.into(), spawned_at.to_string()));
    // Nothing else runs meanwhile: waiting here blocks no measurement.
    let output = std::process::Command::new(this)
        .arg("--phases")
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix(PHASES_PREFIX))
        .ok_or_else(|| {
            format!(
                "no phases ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    serde_json::from_str(line).map_err(|e| e.to_string())
}

/// The phases of `--phases`, each timed from the end of the one before.
struct Laps {
    phases: Vec<Value>,
    lap: Instant,
}

impl Laps {
    fn push(&mut self, name: &str, ms: f64) {
        self.phases.push(json!({"name": name, "ms": ms}));
    }

    fn note(&mut self, name: &str) {
        let elapsed = ms(self.lap.elapsed());
        self.push(name, elapsed);
        self.lap = Instant::now();
    }

    fn restart(&mut self) {
        self.lap = Instant::now();
    }
}

/// `--phases`: `lambda::http::run`'s init step by step with timestamps, then what the deployed init
/// adds and the lazy costs of a first request. Prints one JSON line.
fn phases() -> Result<(), String> {
    let entered = SystemTime::now();
    let mut laps = Laps {
        phases: Vec::new(),
        lap: Instant::now(),
    };
    if let Some(spawned) = std::env::var(SPAWNED_AT_VAR)
        .ok()
        .and_then(|ns| ns.parse::<u64>().ok())
    {
        let since = entered
            .duration_since(UNIX_EPOCH + Duration::from_nanos(spawned))
            .unwrap_or_default();
        laps.push("exec to main (this binary)", ms(since));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    laps.note("tokio runtime (current thread, as the functions run it)");
    runtime.block_on(async {
        lambda::telemetry::init();
        laps.note("telemetry::init (per-target filter, JSON subscriber)");
        let config = Config::from_env()?;
        laps.note("Config::from_env");
        let endpoint = config.dynamodb_endpoint.clone();
        let sdk = lambda::app::sdk_config(endpoint.as_deref()).await;
        laps.note("SDK config (fixed endpoint and credentials)");
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        laps.note("DynamoDB Client::new (HTTPS connector, AWS roots)");
        let key = std::env::var("TOKEN_SIGNING_KEY").map_err(|e| e.to_string())?;
        let app = lambda::app::new(config, client, key.as_bytes())?;
        laps.note("app::new (key ring, token service, sealer)");
        app.store.open_connection().await;
        laps.note("store connection opened (a GetItem of no item: connector, TCP, first signing)");
        let in_main: f64 = laps
            .phases
            .iter()
            .skip(1)
            .filter_map(|p| p["ms"].as_f64())
            .sum();
        laps.push("= init in main, as lambda::http::run does it", in_main);
        laps.restart();

        // What the deployed init adds: app::from_env builds the SDK configuration a second time for
        // the Secrets Manager client, then reads the key ring while the store connection opens (a
        // TLS connection and a call to Secrets Manager, not measurable here).
        let deployed = lambda::app::sdk_config(None).await;
        laps.note("deployed only: second SDK config (credentials from the environment)");
        let _secrets = lambda::secrets::SecretStore::new(&deployed, None);
        laps.note("deployed only: Secrets Manager client (a second HTTPS connector)");

        // The first request's lazy costs.
        let tenant = std::env::var("COLD_START_TENANT").unwrap_or_else(|_| "none".into());
        let _ = app.store.get_user(&tenant, "nobody@bench.example").await;
        laps.note("first GetItem of a request (connection open)");
        let _ = app.store.get_user(&tenant, "nobody@bench.example").await;
        laps.note("second GetItem");
        let mut user = lambda::model::User::new(
            &tenant,
            "nobody@bench.example",
            lambda::model::UserType::User,
            lambda::model::Backend::Local,
            0,
        );
        user.email = Some("nobody@bench.example".into());
        let _ = app.sealer.verification_code(&user, "123456", 0);
        laps.note("first aws-lc random bytes (CPU-jitter entropy: global seed + this thread's)");
        let _ = app.sealer.verification_code(&user, "123456", 0);
        laps.note("aws-lc random bytes again");
        let elsewhere = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let started = Instant::now();
                    let _ = app.sealer.verification_code(&user, "123456", 0);
                    ms(started.elapsed())
                })
                .join()
                .unwrap_or(f64::NAN)
        });
        laps.push("first aws-lc random bytes on another thread", elsewhere);
        laps.restart();
        lambda::password::verify_against_nothing("Cold-Start-Passw0rd!");
        laps.note("first argon2id verification (19 MiB allocated and touched)");
        lambda::password::verify_against_nothing("Cold-Start-Passw0rd!");
        laps.note("argon2id verification again");
        Ok::<(), String>(())
    })?;
    println!("{PHASES_PREFIX}{}", json!({"phases": laps.phases}));
    Ok(())
}

/// `--hello`: a function that only answers `{}`, on the same runtime crate: the floor of a cold
/// start (exec, tokio, the runtime client) for a binary of this size.
fn hello() -> Result<(), String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(lambda_runtime::run(lambda_runtime::service_fn(
            |_: lambda_runtime::LambdaEvent<Value>| async {
                Ok::<Value, lambda_runtime::Error>(json!({"statusCode": 200, "body": "{}"}))
            },
        )))
        .map_err(|e| e.to_string())
}
