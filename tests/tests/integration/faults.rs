//! Faults: the store goes away in the middle of a write storm. Every request answers 503 in the
//! error shape within the functions' timeout (never a 500, never a hang); once the store is back
//! (file-backed, so it keeps what it acknowledged) the service resumes, no acknowledged write is
//! missing and the invariant checker finds nothing broken.

use crate::common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Reply, TestEnv};
use futures::future::join_all;
use local_stack::dynamodb_local::Instance;
use serde_json::json;

const CLIENTS: usize = 8;
const RUNNING: u8 = 0;
const STOPPED: u8 = 1;
const RESTARTED: u8 = 2;

/// The functions' timeout in template.yaml (Globals), which every answer must beat.
fn function_timeout() -> Duration {
    let template = local_stack::template::load().unwrap();
    let seconds = template["Globals"]["Function"]["Timeout"].as_u64().unwrap();
    Duration::from_secs(seconds)
}

/// What one client saw: acknowledged writes per user (the display names, in order), the names it
/// sent whose answer was not a success (which may or may not have been applied), and the statuses
/// of the requests it sent while the store was down.
#[derive(Default)]
struct Seen {
    acknowledged: Vec<(String, Vec<String>)>,
    unacknowledged: Vec<(String, String)>,
    during_outage: Vec<Duration>,
    after_restart: usize,
}

/// Checks an answer of the storm: a success, or a 503 in the error shape with `Retry-After`, in
/// time.
fn check(reply: &Reply, took: Duration, limit: Duration) -> bool {
    assert!(took < limit, "an answer took {took:?}: {}", reply.raw);
    match reply.status {
        200 | 201 => true,
        503 => {
            let code = reply.expect_error(503);
            assert!(
                ["ERROR_UNAVAILABLE", "SERVICE_UNAVAILABLE"].contains(&code),
                "{}",
                reply.raw
            );
            assert!(reply.headers.contains_key("retry-after"), "{}", reply.raw);
            false
        }
        other => panic!("the storm got {other}: {}", reply.raw),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_mid_storm_answers_503_in_time_and_loses_no_acknowledged_write() {
    let store = Instance::start_fresh().expect("a DynamoDB Local of the test's own");
    let env = TestEnv::with_config(lambda::app::Config {
        dynamodb_endpoint: Some(store.endpoint()),
        tenant_user_quota: 1_000,
        ..common::config()
    })
    .await;
    let limit = function_timeout();
    let phase = AtomicU8::new(RUNNING);
    let acknowledged = AtomicUsize::new(0);
    let seen_down = AtomicUsize::new(0);
    let stopped_at: Mutex<Option<Instant>> = Mutex::new(None);
    let restarting_at: Mutex<Option<Instant>> = Mutex::new(None);

    let client = |number: usize| {
        let (env, phase, acknowledged, seen_down, stopped_at, restarting_at) = (
            &env,
            &phase,
            &acknowledged,
            &seen_down,
            &stopped_at,
            &restarting_at,
        );
        async move {
            let mut seen = Seen::default();
            let mut step = 0usize;
            loop {
                let sent_in = phase.load(Ordering::SeqCst);
                let sent_at = Instant::now();
                if sent_in == RESTARTED && seen.after_restart >= 3 {
                    return seen;
                }
                // A new user of this client's own every third step, else an update of its latest
                // user, and now and then a login (the path every caller needs).
                let reply = if step % 3 == 0 || seen.acknowledged.is_empty() {
                    let user_id = format!("c{number}-u{step}@example.com");
                    let reply = env
                        .spaceone(
                            "create",
                            &env.admin_token,
                            json!({"user_id": user_id, "backend": "LOCAL",
                                   "domain_id": env.tenant, "password": "Fault-Passw0rd",
                                   "name": "created"}),
                        )
                        .await;
                    if check(&reply, sent_at.elapsed(), limit) {
                        seen.acknowledged
                            .push((user_id, vec!["created".to_owned()]));
                    } else {
                        seen.unacknowledged.push((user_id, "created".to_owned()));
                    }
                    reply
                } else if step % 7 == 5 {
                    // The client's own first user: parallel logins of one user would use up
                    // its window of tries (ops::login counts each attempt before checking it).
                    let first = &seen.acknowledged[0].0;
                    let reply = env.try_login(first, "Fault-Passw0rd").await;
                    check(&reply, sent_at.elapsed(), limit);
                    reply
                } else {
                    let user_id = seen.acknowledged.last().unwrap().0.clone();
                    let name = format!("name {step}");
                    let reply = env
                        .spaceone(
                            "update",
                            &env.admin_token,
                            json!({"user_id": user_id, "domain_id": env.tenant, "name": name}),
                        )
                        .await;
                    if check(&reply, sent_at.elapsed(), limit) {
                        seen.acknowledged.last_mut().unwrap().1.push(name);
                    } else {
                        seen.unacknowledged.push((user_id, name));
                    }
                    reply
                };
                let succeeded = reply.status < 300;
                if succeeded {
                    acknowledged.fetch_add(1, Ordering::SeqCst);
                }
                // Sent after the stop and answered before the restart began: the store was down
                // for all of it.
                let answered_at = Instant::now();
                let down_throughout = stopped_at
                    .lock()
                    .unwrap()
                    .is_some_and(|stopped| stopped < sent_at)
                    && restarting_at
                        .lock()
                        .unwrap()
                        .is_none_or(|restarting| answered_at < restarting);
                match sent_in {
                    STOPPED if down_throughout => {
                        assert!(
                            !succeeded,
                            "a success while the store was down: {}",
                            reply.raw
                        );
                        seen.during_outage.push(sent_at.elapsed());
                        seen_down.fetch_add(1, Ordering::SeqCst);
                    }
                    RESTARTED if succeeded => seen.after_restart += 1,
                    _ => {}
                }
                step += 1;
            }
        }
    };

    let controller = async {
        while acknowledged.load(Ordering::SeqCst) < 120 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::task::block_in_place(|| store.stop()).unwrap();
        *stopped_at.lock().unwrap() = Some(Instant::now());
        phase.store(STOPPED, Ordering::SeqCst);
        while seen_down.load(Ordering::SeqCst) < 3 * CLIENTS {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        *restarting_at.lock().unwrap() = Some(Instant::now());
        tokio::task::block_in_place(|| store.restart()).unwrap();
        phase.store(RESTARTED, Ordering::SeqCst);
    };
    let (seen, ()) = tokio::join!(join_all((0..CLIENTS).map(client)), controller);

    let during: usize = seen.iter().map(|s| s.during_outage.len()).sum();
    let slowest = seen
        .iter()
        .flat_map(|s| &s.during_outage)
        .max()
        .copied()
        .unwrap_or_default();
    let acked_writes: usize = seen
        .iter()
        .flat_map(|s| &s.acknowledged)
        .map(|(_, names)| names.len())
        .sum();
    println!(
        "faults: 1 outage; {acked_writes} acknowledged writes, {} unacknowledged, {during} \
         requests while the store was down (all 503, the slowest in {slowest:?}; the limit {limit:?})",
        seen.iter().map(|s| s.unacknowledged.len()).sum::<usize>()
    );
    assert!(during >= 3 * CLIENTS);

    // Every acknowledged create exists, and every user holds its last acknowledged name, or one
    // sent after it whose answer got lost in the outage.
    for seen in &seen {
        for (user_id, names) in &seen.acknowledged {
            let stored = env
                .stored_opt(user_id)
                .await
                .unwrap_or_else(|| panic!("acknowledged user {user_id} is missing"));
            let name = stored.display_name.unwrap_or_default();
            let last_acked = names.last().unwrap();
            let later: Vec<&String> = seen
                .unacknowledged
                .iter()
                .filter(|(id, _)| id == user_id)
                .map(|(_, name)| name)
                .collect();
            assert!(
                &name == last_acked || later.contains(&&name),
                "{user_id} holds {name:?}, acknowledged last {last_acked:?}"
            );
            // Each acknowledged update is one more version.
            assert!(stored.version >= (names.len() - 1) as u64);
        }
    }
    let check = lambda::invariants::check_tenant(&env.app.store, &env.tenant)
        .await
        .unwrap();
    assert_eq!(check.findings, vec![], "the checker after the outage");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_stops_answering_gets_503_in_time_not_a_hang() {
    let store = Instance::start_fresh().expect("a DynamoDB Local of the test's own");
    let env = TestEnv::with_config(lambda::app::Config {
        dynamodb_endpoint: Some(store.endpoint()),
        ..common::config()
    })
    .await;
    let limit = function_timeout();
    env.create_user("frozen@example.com", "Frozen-Passw0rd", json!({}))
        .await;
    // Frozen, it still accepts connections (the kernel does), but never answers.
    store.pause().unwrap();
    let sent_at = Instant::now();
    let replies = join_all((0..CLIENTS).map(|i| {
        let env = &env;
        async move {
            let reply = if i % 2 == 0 {
                env.get_info("frozen@example.com").await
            } else {
                env.try_login("frozen@example.com", "Frozen-Passw0rd").await
            };
            (reply, sent_at.elapsed())
        }
    }))
    .await;
    store.resume().unwrap();
    let slowest = replies.iter().map(|(_, took)| *took).max().unwrap();
    println!("faults: 1 frozen store; {CLIENTS} requests, all 503, the slowest in {slowest:?}");
    for (reply, took) in &replies {
        assert_eq!(reply.status, 503, "{}", reply.raw);
        assert!(!check(reply, *took, limit));
    }
    assert_eq!(env.get_info("frozen@example.com").await.status, 200);
    let check = lambda::invariants::check_tenant(&env.app.store, &env.tenant)
        .await
        .unwrap();
    assert_eq!(check.findings, vec![]);
}
