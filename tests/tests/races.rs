//! Races (issue 7, first slice): concurrent writes to one user, concurrent creates of one value, and
//! a mixed storm, ending with a recount of the tenant's partition against its counters and
//! uniqueness records.

mod common;

use std::collections::{HashMap, HashSet};

use common::TestEnv;
use futures::future::join_all;
use serde_json::json;
use shared::model::{Facet, User};
use shared::store::UserStore;

/// What the tenant's partition says against itself: counters equal to a recount of the users,
/// every uniqueness record owned by a stored user, every user holding its records.
async fn broken_invariants(env: &TestEnv) -> Vec<String> {
    let items = env.partition().await;
    let mut users: Vec<User> = Vec::new();
    let mut unique: HashMap<String, String> = HashMap::new();
    for item in items {
        let sk = item["sk"].as_s().unwrap().clone();
        if sk.starts_with("U#") {
            users.push(serde_dynamo::from_item(item).unwrap());
        } else if let Some(value) = sk.strip_prefix("UNIQUE#") {
            let owner = item["user_id"].as_s().unwrap().clone();
            unique.insert(value.to_owned(), owner);
        }
    }
    let mut findings = Vec::new();
    let ids: HashSet<&str> = users.iter().map(|u| u.user_id.as_str()).collect();
    for (value, owner) in &unique {
        if !ids.contains(owner.as_str()) {
            findings.push(format!(
                "uniqueness record {value} points at missing user {owner}"
            ));
        }
    }
    let mut recount: HashMap<String, u64> = HashMap::new();
    for user in &users {
        *recount.entry(Facet::of(user).key()).or_default() += 1;
        // The user's own item holds its id; the other unique values have records.
        let mut held = vec![format!(
            "LOGIN#{}",
            shared::validate::uniqueness_key(&user.login_name)
        )];
        if let Some(email) = &user.email {
            held.push(format!("EMAIL#{}", shared::validate::uniqueness_key(email)));
        }
        for value in held {
            if unique.get(&value) != Some(&user.user_id) {
                findings.push(format!("{} does not hold {value}", user.user_id));
            }
        }
    }
    let counters = env.app.store.tenant_counters(&env.tenant).await.unwrap();
    let counted: HashMap<String, u64> = counters
        .iter()
        .filter(|(name, count)| *name != "user_count" && **count > 0)
        .map(|(name, count)| (name.clone(), *count))
        .collect();
    if counted != recount {
        findings.push(format!("counters {counted:?} != recount {recount:?}"));
    }
    if counters.get("user_count").copied() != Some(users.len() as u64) {
        findings.push(format!(
            "user_count {:?} != {} users",
            counters.get("user_count"),
            users.len()
        ));
    }
    findings
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

#[tokio::test]
async fn after_a_mixed_storm_the_counters_and_uniqueness_records_add_up() {
    // 8 clients, 40 operations each: creates, updates, disables and deletes over 12 shared ids.
    let env = TestEnv::with_config(shared::app::Config {
        tenant_user_quota: 1_000,
        ..common::config()
    })
    .await;
    let clients = (0..8).map(|client| {
        let env = &env;
        async move {
            let mut statuses = Vec::new();
            for step in 0..40u32 {
                let id = format!("s{}@example.com", (client * 7 + step * 5) % 12);
                let body = match (client + step) % 4 {
                    0 => json!({"user_id": id, "backend": "LOCAL", "domain_id": env.tenant,
                               "password": "Storm-Passw0rd-1",
                               "email": format!("mail{}@example.com", step % 6)}),
                    1 => json!({"user_id": id, "domain_id": env.tenant,
                               "email": format!("mail{}@example.com", (step + client) % 6)}),
                    2 => json!({"user_id": id, "domain_id": env.tenant}),
                    _ => json!({"user_id": id, "domain_id": env.tenant}),
                };
                let verb =
                    ["create", "update", "disable", "delete"][((client + step) % 4) as usize];
                let reply = env.spaceone(verb, &env.admin_token, body).await;
                assert!(
                    matches!(reply.status, 200 | 404 | 409),
                    "{verb} answered {}: {}",
                    reply.status,
                    reply.raw
                );
                statuses.push(reply.status);
            }
            statuses
        }
    });
    let statuses: Vec<u16> = join_all(clients).await.into_iter().flatten().collect();
    assert_eq!(statuses.len(), 320);
    assert!(statuses.contains(&200));
    assert_eq!(broken_invariants(&env).await, Vec::<String>::new());
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
    let pk = AttributeValue::S(shared::dynamo::tenant_pk(&env.tenant));
    client
        .update_item()
        .table_name(table)
        .key("pk", pk.clone())
        .key("sk", AttributeValue::S(shared::dynamo::TENANT_SK.into()))
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
    assert!(findings.iter().any(|f| f.contains("user_count")));
    assert!(findings.iter().any(|f| f.contains("ghost@example.com")));
}
