//! The housekeeping sweep: users pending deletion past the retention are purged and their unique
//! values freed; expired passwords become a required change; the tenant registry lists tenants.

use crate::common;

use common::{TestEnv, config};
use lambda::housekeeping;
use lambda::model::RequiredAction;
use lambda::store::prelude::*;
use serde_json::json;

const DAY: i64 = 86_400_000;

/// A shorter retention than the other tests' 30 days, so that their sweeps (the housekeeping event
/// replay sweeps every tenant) never purge this file's users.
async fn short_retention() -> TestEnv {
    let mut settings = config();
    settings.deleted_user_retention_ms = 10 * DAY;
    TestEnv::with_config(settings).await
}

async fn delete(env: &TestEnv, user_id: &str) {
    let reply = env
        .spaceone(
            "delete",
            &env.admin_token,
            json!({"user_id": user_id, "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
}

fn unique_records_of(
    items: &[std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>],
    user_id: &str,
) -> usize {
    items
        .iter()
        .filter(|item| item["sk"].as_s().unwrap().starts_with("UNIQUE#"))
        .filter(|item| item["user_id"].as_s().unwrap() == user_id)
        .count()
}

#[tokio::test]
async fn deletions_past_the_retention_are_purged_and_free_their_email() {
    let env = short_retention().await;
    for id in ["old@example.com", "recent@example.com"] {
        env.create_user(id, "User-Passw0rd", json!({"email": id}))
            .await;
        delete(&env, id).await;
    }
    let now = lambda::ops::now();
    env.change_user("old@example.com", |u| {
        u.deleted_at = Some(now - 20 * DAY);
    })
    .await;
    let counters_before = counters_of(&env).await;
    assert_eq!(counters_before["PENDING_DELETE#USER#LOCAL"], 2);
    assert_eq!(
        unique_records_of(&env.partition().await, "old@example.com"),
        2
    );

    let report = housekeeping::run_for(env.app, std::slice::from_ref(&env.tenant), now).await;
    assert_eq!(
        (report.purged, report.skipped, report.errors.len()),
        (1, 0, 0),
        "{report:?}"
    );

    let items = env.partition().await;
    assert!(
        env.app
            .store
            .get_user(&env.tenant, "old@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(unique_records_of(&items, "old@example.com"), 0);
    assert_eq!(
        unique_records_of(&items, "recent@example.com"),
        2,
        "a recent deletion keeps its values until its own purge"
    );
    let counters = counters_of(&env).await;
    assert_eq!(counters["PENDING_DELETE#USER#LOCAL"], 1);
    assert_eq!(counters["user_count"], counters_before["user_count"]);

    // The freed address now belongs to whoever claims it next.
    env.create_user(
        "successor@example.com",
        "User-Passw0rd",
        json!({"email": "old@example.com"}),
    )
    .await;
    let taken = env
        .spaceone(
            "create",
            &env.admin_token,
            json!({"user_id": "late@example.com", "backend": "LOCAL", "password": "User-Passw0rd",
                   "email": "recent@example.com", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(taken.expect_error(409), "ERROR_SAVE_UNIQUE_VALUES");

    let again = housekeeping::run_for(env.app, std::slice::from_ref(&env.tenant), now).await;
    assert_eq!(again.purged, 0, "a purge happens once");
}

#[tokio::test]
async fn a_deleted_user_re_created_before_the_purge_is_left_alone() {
    let env = short_retention().await;
    env.create_user("back@example.com", "User-Passw0rd", json!({}))
        .await;
    delete(&env, "back@example.com").await;
    let now = lambda::ops::now();
    env.change_user("back@example.com", |u| u.deleted_at = Some(now - 20 * DAY))
        .await;
    env.create_user("back@example.com", "Other-Passw0rd", json!({}))
        .await;
    let report = housekeeping::run_for(env.app, std::slice::from_ref(&env.tenant), now).await;
    assert_eq!(report.purged, 0, "{report:?}");
    assert_eq!(env.get_info("back@example.com").await.status, 200);
}

#[tokio::test]
async fn expired_passwords_become_a_required_change_unless_they_never_expire() {
    let mut settings = config();
    settings.password_max_age_ms = Some(90 * DAY);
    let env = TestEnv::with_config(settings).await;
    let now = lambda::ops::now();
    for id in [
        "stale@example.com",
        "exempt@example.com",
        "fresh@example.com",
    ] {
        env.create_user(id, "User-Passw0rd", json!({})).await;
    }
    for id in ["stale@example.com", "exempt@example.com"] {
        env.change_user(id, |u| u.password_changed_at = Some(now - 91 * DAY))
            .await;
    }
    env.change_user("exempt@example.com", |u| u.password_never_expired = true)
        .await;
    // A first administrator who may not change their password (as stored before that was refused
    // for them): requiring a change would shut them out.
    env.change_user("admin", |u| u.password_changed_at = Some(now - 91 * DAY))
        .await;
    env.set_in_user_item(
        "admin",
        "SET #attribute = :value",
        "enable_change_password",
        aws_sdk_dynamodb::types::AttributeValue::Bool(false),
    )
    .await;

    let report = housekeeping::run_for(env.app, std::slice::from_ref(&env.tenant), now).await;
    assert_eq!(
        (
            report.passwords_expired,
            report.skipped,
            report.errors.len()
        ),
        (1, 1, 0),
        "{report:?}"
    );
    for (id, expected) in [
        ("stale@example.com", true),
        ("exempt@example.com", false),
        ("fresh@example.com", false),
        ("admin", false),
    ] {
        let required = env
            .stored(id)
            .await
            .required_actions
            .contains(&RequiredAction::UpdatePassword);
        assert_eq!(required, expected, "{id}");
    }

    let again = housekeeping::run_for(env.app, std::slice::from_ref(&env.tenant), now).await;
    assert_eq!(again.passwords_expired, 0, "marked once");
}

#[tokio::test]
async fn the_registry_lists_every_bootstrapped_tenant_and_the_function_sweeps_them() {
    let env = TestEnv::new().await;
    let tenants = env.app.store.list_tenants().await.unwrap();
    assert!(tenants.contains(&env.tenant));
    let ::housekeeping::Answer::Sweep(report) =
        ::housekeeping::handle(env.app, json!({"source": "aws.scheduler"}))
            .await
            .unwrap()
    else {
        panic!("a scheduled event sweeps");
    };
    assert!(report.tenants >= 1, "{report:?}");
}

async fn counters_of(env: &TestEnv) -> std::collections::HashMap<String, u64> {
    env.app.store.tenant_counters(&env.tenant).await.unwrap()
}
