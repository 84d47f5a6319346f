//! Races: concurrent writes to one user, concurrent claims of one unique value (user id, email,
//! login name, mobile number), and a mixed storm of 1,000 operations, each ending with the
//! invariant checker (shared/dynamo/src/invariants.rs) finding nothing.

use crate::common;

use common::TestEnv;
use futures::future::join_all;
use serde_json::json;

/// The invariant checker's findings for the test's tenant, as text.
async fn broken_invariants(env: &TestEnv) -> Vec<String> {
    lambda::invariants::check_tenant(&env.app.store, &env.tenant)
        .await
        .unwrap()
        .findings
        .iter()
        .map(|f| format!("{:?} {}: {}", f.rule, f.item, f.detail))
        .collect()
}

#[tokio::test]
async fn concurrent_updates_of_one_user_are_each_applied_or_refused() {
    let env = TestEnv::new().await;
    env.create_user("target@example.com", "Target-Passw0rd", json!({}))
        .await;
    let before = env.stored("target@example.com").await.version;
    let replies = join_all((0..64).map(|i| {
        env.spaceone(
            "update",
            &env.admin_token,
            json!({"user_id": "target@example.com", "domain_id": env.tenant,
                   "name": format!("Name {i}")}),
        )
    }))
    .await;
    let mut applied = Vec::new();
    for (i, reply) in replies.iter().enumerate() {
        match reply.status {
            200 => applied.push(format!("Name {i}")),
            409 => assert_eq!(
                reply.error_code(),
                "CONCURRENT_MODIFICATION",
                "{}",
                reply.raw
            ),
            other => panic!("update {i} answered {other}: {}", reply.raw),
        }
    }
    assert!(!applied.is_empty());
    let after = env.stored("target@example.com").await;
    // Every acknowledged write is one version; none was lost silently.
    assert_eq!(after.version, before + applied.len() as u64);
    assert!(applied.contains(after.display_name.as_ref().unwrap()));
    assert_eq!(broken_invariants(&env).await, Vec::<String>::new());
}

#[tokio::test]
async fn concurrent_creates_of_one_id_or_one_email_let_exactly_one_win() {
    let env = TestEnv::new().await;
    let same_id = join_all((0..32).map(|i| {
        env.spaceone(
            "create",
            &env.admin_token,
            json!({"user_id": "same@example.com", "backend": "LOCAL", "domain_id": env.tenant,
                   "password": format!("Same-Passw0rd-{i}")}),
        )
    }))
    .await;
    let same_email = join_all((0..32).map(|i| {
        env.spaceone(
            "create",
            &env.admin_token,
            json!({"user_id": format!("u{i}@example.com"), "backend": "LOCAL",
                   "domain_id": env.tenant, "password": "Mail-Passw0rd-1",
                   "email": "shared@example.com"}),
        )
    }))
    .await;
    for replies in [&same_id, &same_email] {
        let won = replies.iter().filter(|r| r.status == 200).count();
        assert_eq!(won, 1, "exactly one create wins");
        for reply in replies.iter().filter(|r| r.status != 200) {
            assert_eq!(reply.status, 409, "{}", reply.raw);
        }
    }
    assert_eq!(broken_invariants(&env).await, Vec::<String>::new());
}

/// Seed 001's administrator modify of one user.
async fn iam_modify(env: &TestEnv, user_id: &str, user: serde_json::Value) -> common::Reply {
    env.request(
        "PUT",
        &format!("/v3.0/OS-USER/users/{user_id}"),
        &[("x-auth-token", &env.admin_token)],
        json!({ "user": user }).to_string(),
    )
    .await
}

#[tokio::test]
async fn concurrent_claims_of_one_login_name_or_mobile_number_let_exactly_one_win() {
    let env = &TestEnv::new().await;
    let user = |i: usize| format!("c{i}@example.com");
    join_all(
        (0..32)
            .map(|i| async move { env.create_user(&user(i), "Claim-Passw0rd", json!({})).await }),
    )
    .await;
    // One login name, and one mobile number with its country code spelt three ways (+86, 0086, 86).
    let names =
        join_all((0..32).map(|i| async move {
            iam_modify(env, &user(i), json!({"name": "Shared_Name"})).await
        }))
        .await;
    let phones = join_all((0..32).map(|i| async move {
        let (areacode, phone) = match i % 3 {
            0 => ("+86", "13800000000"),
            1 => ("0086", "13800000000"),
            _ => ("86", "13800000000"),
        };
        iam_modify(env, &user(i), json!({"areacode": areacode, "phone": phone})).await
    }))
    .await;
    for (replies, code) in [(&names, "1109"), (&phones, "1111")] {
        let won: Vec<usize> = (0..32).filter(|i| replies[*i].status == 200).collect();
        assert_eq!(won.len(), 1, "exactly one claim of {code} wins");
        for reply in replies.iter().filter(|r| r.status != 200) {
            assert_eq!(reply.expect_error(400), code, "{}", reply.raw);
        }
    }
    let holders = join_all((0..32).map(|i| async move { env.stored_opt(&user(i)).await })).await;
    let named = holders
        .iter()
        .flatten()
        .filter(|u| u.login_name == "Shared_Name")
        .count();
    let phoned = holders
        .iter()
        .flatten()
        .filter(|u| u.phone.is_some())
        .count();
    assert_eq!((named, phoned), (1, 1));
    assert_eq!(broken_invariants(env).await, Vec::<String>::new());
}

#[tokio::test]
async fn after_a_storm_of_1000_operations_counters_stat_and_uniqueness_records_add_up() {
    // 8 clients, 125 operations each: 12 creates, then creates (3 in 10), updates of the email (2), renames and new
    // mobile numbers (2), disables, enables and deletes (1 each) over 48 shared ids, 96 shared
    // emails, 24 shared login names and 16 shared mobile numbers.
    const CLIENTS: u32 = 8;
    const STEPS: u32 = 125;
    let env = TestEnv::with_config(lambda::app::Config {
        tenant_user_quota: 1_000,
        ..common::config()
    })
    .await;
    let clients = (0..CLIENTS).map(|client| {
        let env = &env;
        async move {
            let mut statuses = Vec::new();
            for step in 0..STEPS {
                let id = format!("s{}@example.com", (client * 7 + step * 5) % 48);
                let mail = format!("mail{}@example.com", (step * 3 + client) % 96);
                // The first 12 steps of every client create, racing for the same ids.
                let kind = if step < 12 { 0 } else { (client + step) % 10 };
                let reply = match kind {
                    0..=2 => {
                        env.spaceone(
                            "create",
                            &env.admin_token,
                            json!({"user_id": id, "backend": "LOCAL", "domain_id": env.tenant,
                                   "password": "Storm-Passw0rd-1", "email": mail}),
                        )
                        .await
                    }
                    3 | 4 => {
                        env.spaceone(
                            "update",
                            &env.admin_token,
                            json!({"user_id": id, "domain_id": env.tenant, "email": mail}),
                        )
                        .await
                    }
                    5 | 6 => {
                        iam_modify(
                            env,
                            &id,
                            json!({"name": format!("storm-name-{}", (step + client) % 24),
                                   "areacode": "+86", "phone": format!("138000000{:02}", (step * 7 + client) % 16)}),
                        )
                        .await
                    }
                    7 => {
                        env.spaceone(
                            "disable",
                            &env.admin_token,
                            json!({"user_id": id, "domain_id": env.tenant}),
                        )
                        .await
                    }
                    8 => {
                        env.spaceone(
                            "enable",
                            &env.admin_token,
                            json!({"user_id": id, "domain_id": env.tenant}),
                        )
                        .await
                    }
                    _ => {
                        env.spaceone(
                            "delete",
                            &env.admin_token,
                            json!({"user_id": id, "domain_id": env.tenant}),
                        )
                        .await
                    }
                };
                // 400 only for seed 001's numbered duplicates (1109-1111), 409 for the others.
                assert!(
                    matches!(reply.status, 200 | 404 | 409)
                        || (reply.status == 400
                            && ["1109", "1110", "1111"].contains(&reply.error_code())),
                    "step {step} of client {client} answered {}: {}",
                    reply.status,
                    reply.raw
                );
                statuses.push((reply.status, reply.body["error_code"].clone()));
            }
            statuses
        }
    });
    let statuses: Vec<(u16, serde_json::Value)> =
        join_all(clients).await.into_iter().flatten().collect();
    assert_eq!(statuses.len(), (CLIENTS * STEPS) as usize);
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for (status, code) in &statuses {
        *outcomes
            .entry(format!("{status} {}", code.as_str().unwrap_or("")))
            .or_default() += 1;
    }
    let applied = statuses.iter().filter(|(s, _)| *s == 200).count();
    println!("storm: {} operations: {outcomes:?}", statuses.len());
    assert!(applied > 200, "the storm applied only {applied} operations");
    assert_eq!(broken_invariants(&env).await, Vec::<String>::new());

    // `stat` counts what a recount of the stored users gives, state by state.
    let reply = env
        .spaceone(
            "stat",
            &env.admin_token,
            json!({"domain_id": env.tenant, "query": {"aggregate": [{"group": {
                "keys": [{"key": "state", "name": "state"}],
                "fields": [{"name": "count", "operator": "count"}]}}]}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    let mut stat: Vec<(String, u64)> = reply.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["state"].as_str().unwrap().to_owned(),
                row["count"].as_u64().unwrap(),
            )
        })
        .collect();
    stat.sort();
    let mut recount = std::collections::BTreeMap::<String, u64>::new();
    for item in env.partition().await {
        if item["sk"].as_s().unwrap().starts_with("U#") {
            let user = lambda::dynamo::user_from_item(item).unwrap();
            if user.state != lambda::model::UserState::PendingDelete {
                *recount.entry(user.state.as_str().to_owned()).or_default() += 1;
            }
        }
    }
    assert_eq!(stat, recount.into_iter().collect::<Vec<_>>());
}

#[tokio::test]
async fn the_recount_finds_a_drifted_counter_and_an_orphan_record() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let env = TestEnv::new().await;
    env.create_user("c@example.com", "Count-Passw0rd", json!({}))
        .await;
    assert_eq!(broken_invariants(&env).await, Vec::<String>::new());
    let client = env.app.store.client();
    let table = env.app.store.table();
    let pk = AttributeValue::S(lambda::dynamo::tenant_pk(&env.tenant));
    client
        .update_item()
        .table_name(table)
        .key("pk", pk.clone())
        .key("sk", AttributeValue::S(lambda::dynamo::TENANT_SK.into()))
        .update_expression("ADD user_count :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    client
        .put_item()
        .table_name(table)
        .item("pk", pk)
        .item(
            "sk",
            AttributeValue::S("UNIQUE#EMAIL#ghost@example.com".into()),
        )
        .item("user_id", AttributeValue::S("ghost@example.com".into()))
        .send()
        .await
        .unwrap();
    let findings = broken_invariants(&env).await;
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert!(
        findings
            .iter()
            .any(|f| f.starts_with("CounterDrift") && f.contains("user_count is 3"))
    );
    assert!(
        findings
            .iter()
            .any(|f| f.starts_with("OrphanUniqueRecord") && f.contains("ghost@example.com"))
    );
}

#[tokio::test]
async fn the_checker_finds_a_message_in_another_users_item() {
    let env = TestEnv::new().await;
    for user_id in ["sender@example.com", "other@example.com"] {
        env.create_user(user_id, "Count-Passw0rd", json!({"email": user_id}))
            .await;
    }
    let verify = env
        .spaceone(
            "verify-email",
            &env.admin_token,
            json!({"user_id": "sender@example.com", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(verify.status, 200, "{}", verify.raw);
    assert_eq!(broken_invariants(&env).await, Vec::<String>::new());
    let message = env.outbox().await.remove(0);
    env.set_in_user_item(
        "other@example.com",
        "SET #attribute = :value",
        &lambda::dynamo::message_attribute(&message),
        serde_dynamo::to_attribute_value(&message).unwrap(),
    )
    .await;
    let findings = broken_invariants(&env).await;
    assert_eq!(
        findings,
        vec![format!(
            "InvalidUser U#other@example.com: holds message {} that is not its own",
            message.notification_id
        )]
    );
}
