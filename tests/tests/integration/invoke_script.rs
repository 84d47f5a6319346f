//! `scripts/invoke.sh`, the README's way to run one function on one event: against a local stack
//! started as `scripts/local.sh` starts it (the local server's binary on DynamoDB Local), every event
//! file runs through the script with its documented success; failures give the documented exit
//! status; `events/sam-local-env.json` sets only variables the template declares.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use local_stack::local::{self, StackSettings};
use local_stack::template;
use serde_json::Value;

/// With a quote and a backslash, which the events' JSON must hold escaped (twice in a body).
const PASSWORD: &str = r#"Invoke-"Pass\w0rd!"#;

/// A local stack of the test's own: its table, state folder and ports.
struct Stack {
    server: Child,
    state: PathBuf,
}

impl Stack {
    fn start() -> Stack {
        let state = std::env::temp_dir().join(common::unique_tenant("invoke-stack"));
        std::fs::create_dir_all(&state).unwrap();
        let log = std::fs::File::create(state.join("server.log")).unwrap();
        let server = Command::new(env!("CARGO_BIN_EXE_local_server"))
            .current_dir(local::repository())
            .env_remove("EXTERNAL_DIRECTORY_URL")
            .env_remove("TOKEN_SIGNING_KEY")
            .env_remove("TOKEN_SIGNING_KEY_SECRET_ARN")
            .env("DYNAMODB_ENDPOINT", common::endpoint())
            .env("TABLE_NAME", common::unique_tenant("useradmin-invoke"))
            .env("LOCAL_STATE_DIR", &state)
            .env("MAIL_FOLDER", state.join("mail"))
            .env("DEAD_LETTER_FOLDER", state.join("dead-letters"))
            .env("PORT", "0")
            .env("DIRECTORY_PORT", "0")
            .env("ADMIN_PASSWORD", PASSWORD)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the local server starts");
        let mut stack = Stack { server, state };
        let started = Instant::now();
        while !stack.state.join("stack.json").exists() {
            if let Ok(Some(status)) = stack.server.try_wait() {
                panic!("the local server exited ({status}): {}", stack.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the local server did not start within 60 s: {}",
                stack.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        stack
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.state.join("server.log")).unwrap_or_default()
    }

    /// `scripts/invoke.sh ARGS` against this stack, no terminal on stdin.
    fn invoke(&self, args: &[&str]) -> Invocation {
        invoke_with(&self.state, args, &[("ADMIN_PASSWORD", PASSWORD)])
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = std::fs::remove_dir_all(&self.state);
    }
}

/// What one run of the script printed and how it ended.
struct Invocation {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Invocation {
    /// The answer on stdout: exactly one JSON document.
    fn answer(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", self.stdout))
    }
}

/// `scripts/invoke.sh ARGS` with `LOCAL_STATE_DIR=state` and the variables `env`, no terminal on stdin.
fn invoke_with(state: &Path, args: &[&str], env: &[(&str, &str)]) -> Invocation {
    let mut command = Command::new(local::repository().join("scripts/invoke.sh"));
    command
        .args(args)
        .current_dir(local::repository())
        .env("INVOKE_BIN", env!("CARGO_BIN_EXE_invoke"))
        .env("LOCAL_STATE_DIR", state)
        .env_remove("TOKEN_SIGNING_KEY")
        .env_remove("ADMIN_PASSWORD")
        .stdin(Stdio::null());
    command.envs(env.iter().copied());
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("scripts/invoke.sh runs");
    Invocation {
        code: status.code(),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

/// What a run must show: an HTTP function's status, or a check of another function's answer.
enum Success {
    Status(i64),
    Answer(fn(&Value) -> bool),
}

#[test]
fn every_event_file_runs_through_scripts_invoke_with_its_documented_success() {
    let stack = Stack::start();
    // In the order a person would try them: each leaves what the next needs (the user the events
    // name, its verification code, the EXTERNAL user sync refreshes).
    let runs: Vec<(&str, Option<&str>, Success)> = vec![
        ("iam_version_discovery", None, Success::Status(300)),
        ("IamAuthTokensFunction", None, Success::Status(201)),
        // On a fresh stack: the administrator.
        ("spaceone_user_get", None, Success::Status(200)),
        ("spaceone_user_create", None, Success::Status(200)),
        (
            "spaceone_user_create",
            Some("events/spaceone_user_create_external.json"),
            Success::Status(200),
        ),
        ("spaceone_user_sync", None, Success::Status(200)),
        ("spaceone_user_update", None, Success::Status(200)),
        ("spaceone_user_list", None, Success::Status(200)),
        ("spaceone_user_stat", None, Success::Status(200)),
        ("spaceone_user_find", None, Success::Status(200)),
        (
            "spaceone_user_set_required_actions",
            None,
            Success::Status(200),
        ),
        ("spaceone_user_verify_email", None, Success::Status(200)),
        // Its code is the one the stack's notifier mailed.
        ("spaceone_user_confirm_email", None, Success::Status(200)),
        (
            "notifier",
            None,
            Success::Answer(|a| a["batchItemFailures"] == serde_json::json!([])),
        ),
        ("spaceone_user_reset_password", None, Success::Status(200)),
        ("spaceone_user_disable", None, Success::Status(200)),
        ("spaceone_user_enable", None, Success::Status(200)),
        ("rsa_user_status", None, Success::Status(200)),
        ("rsa_user_lookup", None, Success::Status(200)),
        ("rsa_audit_trail", None, Success::Status(200)),
        ("workspace_user_actions", None, Success::Status(200)),
        ("workspace_random_password", None, Success::Status(200)),
        ("workspace_user_modify", None, Success::Status(200)),
        ("iam_user_modify", None, Success::Status(200)),
        (
            "user_resource",
            None,
            Success::Answer(|a| a["Status"] == "SUCCESS" && a["Data"]["TenantId"] == "local"),
        ),
        ("token_key_rotation", None, Success::Answer(|a| a.is_null())),
        (
            "housekeeping",
            None,
            Success::Answer(|a| {
                a["tenants"].as_u64() >= Some(1) && a["errors"] == serde_json::json!([])
            }),
        ),
        (
            "housekeeping",
            Some("events/housekeeping_check.json"),
            Success::Answer(|a| a["findings"] == 0 && a["tenants"][0]["tenant_id"] == "local"),
        ),
        // The stack's tenant exists: an answer that changed nothing.
        (
            "bootstrap",
            None,
            Success::Answer(|a| a["created"] == false && a["tenant_id"] == "local"),
        ),
        ("spaceone_user_delete", None, Success::Status(200)),
        // Last: it changes the password the others log in with.
        ("iam_user_password", None, Success::Status(204)),
    ];

    let mut run_files: Vec<String> = runs
        .iter()
        .map(|(function, file, _)| {
            file.map(str::to_owned).unwrap_or_else(|| {
                let directory = template::functions(&template::load().unwrap())
                    .into_iter()
                    .find(|f| f.directory == *function || f.resource == *function)
                    .map(|f| f.directory)
                    .unwrap();
                format!("events/{directory}.json")
            })
        })
        .collect();
    run_files.sort();
    run_files.dedup();
    let mut event_files: Vec<String> = std::fs::read_dir(local::repository().join("events"))
        .unwrap()
        .map(|entry| {
            format!(
                "events/{}",
                entry.unwrap().file_name().into_string().unwrap()
            )
        })
        .filter(|file| file != local::SAM_LOCAL_ENV)
        .collect();
    event_files.sort();
    assert_eq!(run_files, event_files, "every event file runs here");

    // The README's first step: a fresh stack's user, by the function's short name.
    let run = stack.invoke(&["user_get"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let answer = run.answer();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let user: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        (&user["user_id"], &user["domain_id"]),
        (&"admin".into(), &"local".into())
    );
    assert!(
        run.stderr.contains("functions/spaceone_user_get"),
        "{}",
        run.stderr
    );

    for (function, file, success) in &runs {
        let mut args = vec![*function];
        args.extend(file);
        let run = stack.invoke(&args);
        assert_eq!(
            run.code,
            Some(0),
            "scripts/invoke.sh {}: {}{}",
            args.join(" "),
            run.stdout,
            run.stderr
        );
        let answer = run.answer();
        match success {
            Success::Status(status) => {
                assert_eq!(
                    answer["statusCode"].as_i64(),
                    Some(*status),
                    "{function}: {answer}"
                );
                // Its access line on stderr: the log lines, as sam local invoke shows them.
                let access = run
                    .stderr
                    .lines()
                    .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                    .find(|line| line["target"] == "access")
                    .unwrap_or_else(|| panic!("{function}: no access line in {}", run.stderr));
                assert_eq!(access["status"].as_i64(), Some(*status));
            }
            Success::Answer(check) => assert!(check(&answer), "{function}: {answer}"),
        }
        assert!(
            !run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD),
            "{function}: the password shows"
        );
    }
    assert!(
        !stack.log().contains(" ERROR ") && !stack.log().contains("\"level\":\"ERROR\""),
        "{}",
        stack.log()
    );
}

#[test]
fn the_printed_event_is_filled_for_sam_local_invoke() {
    let stack = Stack::start();
    let run = stack.invoke(&["--print-event", "SpaceOneUserGetFunction"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!run.stdout.contains("{{"), "{}", run.stdout);
    let event = run.answer();
    let token = event["headers"]["X-Auth-Token"].as_str().unwrap();
    // Signed with the key events/sam-local-env.json gives the functions under sam local.
    let key = local::signing_key().unwrap();
    let config = lambda::app::Config::defaults("useradmin-local");
    let verifier =
        lambda::token::TokenService::new(&config.token_key_id, key.as_bytes(), 3600).unwrap();
    let caller = verifier
        .verify(token)
        .unwrap_or_else(|e| panic!("a token the sam-local key verifies: {}", e.describe()));
    assert_eq!(
        (caller.claims.sub.as_str(), caller.claims.ten.as_str()),
        ("admin", local::TENANT)
    );
    let body: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["domain_id"], local::TENANT);
}

#[test]
fn a_failing_function_or_a_missing_stack_ends_the_script_with_its_exit_status() {
    // No stack with this state folder: 2, and how to start one.
    let nowhere = std::env::temp_dir().join(common::unique_tenant("invoke-none"));
    let run = invoke_with(&nowhere, &["spaceone_user_get"], &[]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("scripts/local.sh"), "{}", run.stderr);
    assert!(run.stdout.is_empty());

    let stack = Stack::start();
    // An unknown function, a missing event file: 2, the function never ran.
    let run = stack.invoke(&["spaceone_user_frobnicate"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let run = stack.invoke(&["spaceone_user_get", "events/none.json"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    // A short name of two functions: 2, it names both.
    let run = stack.invoke(&["user_modify"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("iam_user_modify") && run.stderr.contains("workspace_user_modify"),
        "{}",
        run.stderr
    );
    // An event with the password but none given, and no terminal to ask on: 2, it says which.
    let run = invoke_with(&stack.state, &["iam_auth_tokens"], &[]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("ADMIN_PASSWORD"), "{}", run.stderr);

    // A token for another key than the stack's would be refused: 2, before anything runs.
    let run = invoke_with(
        &stack.state,
        &["spaceone_user_get"],
        &[(
            "TOKEN_SIGNING_KEY",
            "another-local-key-0123456789abcdef-0123",
        )],
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("TOKEN_SIGNING_KEY"), "{}", run.stderr);
    // A custom resource answers only to this run's listener, never to a URL left in an event
    // (a real stack's): 2, the function never ran.
    let captured = stack.state.join("captured-user-resource.json");
    let text = std::fs::read_to_string(local::repository().join("events/user_resource.json"))
        .unwrap()
        .replace(
            "{{RESPONSE_URL}}",
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/stack",
        );
    std::fs::write(&captured, text).unwrap();
    let run = stack.invoke(&["user_resource", captured.to_str().unwrap()]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("{{RESPONSE_URL}}"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("\"target\":\"access\""),
        "{}",
        run.stderr
    );
    // Its listener lives only while the script runs: no event to print.
    let run = stack.invoke(&["--print-event", "user_resource"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    // A placeholder the script does not know: 2, named.
    let odd = stack.state.join("odd.json");
    std::fs::write(&odd, r#"{"tenant_id": "{{TENANT_NAME}}"}"#).unwrap();
    let run = stack.invoke(&["bootstrap", odd.to_str().unwrap()]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("{{TENANT_NAME}}"), "{}", run.stderr);

    // The function refuses its event: 1, Lambda's error on stdout.
    let bad = stack.state.join("bad-bootstrap.json");
    std::fs::write(&bad, r#"{"tenant_id": ""}"#).unwrap();
    let run = stack.invoke(&["bootstrap", bad.to_str().unwrap()]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.answer()["error_code"], "MISSING_PARAMETER");

    // A 5xx: the stack's DynamoDB gone (a port nothing listens on) while its server runs.
    let settings = StackSettings::read(&stack.state).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let broken = stack.state.join("broken");
    StackSettings {
        dynamodb_endpoint: format!("http://127.0.0.1:{port}"),
        ..settings
    }
    .write(&broken)
    .unwrap();
    let run = invoke_with(
        &broken,
        &["iam_auth_tokens"],
        &[("ADMIN_PASSWORD", PASSWORD)],
    );
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    let status = run.answer()["statusCode"].as_i64().unwrap();
    assert!((500..600).contains(&status), "{}", run.stdout);
}

#[test]
fn the_sam_local_env_file_sets_only_what_the_template_declares() {
    let template = template::load().unwrap();
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(local::repository().join(local::SAM_LOCAL_ENV)).unwrap(),
    )
    .unwrap();
    let globals = template["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap();
    let declared_by = |resource: &str| -> Vec<String> {
        let own = template["Resources"][resource]["Properties"]["Environment"]["Variables"]
            .as_mapping()
            .cloned()
            .unwrap_or_default();
        globals
            .keys()
            .chain(own.keys())
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect()
    };
    let functions = template::functions(&template);
    let sections = file.as_object().unwrap();
    assert!(sections.contains_key("Parameters"));
    for (section, variables) in sections {
        let resources: Vec<String> = if section == "Parameters" {
            functions.iter().map(|f| f.resource.clone()).collect()
        } else {
            assert!(
                functions.iter().any(|f| &f.resource == section),
                "{section} is no function of template.yaml"
            );
            vec![section.clone()]
        };
        for (name, value) in variables.as_object().unwrap() {
            assert!(value.is_string(), "{name}: sam takes strings");
            assert!(
                resources
                    .iter()
                    .any(|resource| declared_by(resource).contains(name)),
                "{section}.{name} is declared by no function of template.yaml: sam local would ignore it"
            );
        }
    }
    let parameters = &file["Parameters"];
    // The local overrides are declared empty: the deployed default.
    for name in ["DYNAMODB_ENDPOINT", "TOKEN_SIGNING_KEY"] {
        assert_eq!(
            template["Globals"]["Function"]["Environment"]["Variables"][name].as_str(),
            Some(""),
            "template.yaml declares {name} empty"
        );
        assert!(!parameters[name].as_str().unwrap().is_empty());
    }
    // Under sam local the one key is the file's, not a secret's; it is the local stack's too.
    assert_eq!(parameters["TOKEN_SIGNING_KEY_SECRET_ARN"], "");
    assert_eq!(
        parameters["TOKEN_SIGNING_KEY"].as_str(),
        local::signing_key().ok().as_deref()
    );
    assert!(
        lambda::keys::KeyRing::single("local", parameters["TOKEN_SIGNING_KEY"].as_str().unwrap())
            .is_ok()
    );
    // scripts/local.sh's defaults: its table, DynamoDB Local's port and the sample directory's.
    assert_eq!(parameters["TABLE_NAME"], "useradmin-local");
    assert_eq!(parameters["DYNAMODB_ENDPOINT"], "http://127.0.0.1:8000");
    assert_eq!(
        parameters["EXTERNAL_DIRECTORY_URL"],
        "http://127.0.0.1:3001/find"
    );
}
