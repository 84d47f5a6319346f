//! The bootstrap function and the store's transactions against DynamoDB Local.

use crate::common;

use common::{TestEnv, app_with, config, unique_tenant};
use lambda::ApiError;
use lambda::error::UniqueField;
use lambda::model::UserState;
use lambda::store::prelude::*;
use serde_json::json;

#[tokio::test]
async fn bootstrap_creates_the_first_admin_once_and_says_so_the_second_time() {
    let (app, router) = app_with(config()).await;
    let tenant = unique_tenant("boot");
    let event = || bootstrap::BootstrapEvent {
        tenant_id: tenant.clone(),
        user_id: "root".into(),
        password: None,
        email: None,
        name: None,
    };
    let first = bootstrap::handle(app, event()).await.unwrap();
    assert!(first.created);
    let password = first
        .generated_password
        .clone()
        .expect("a generated password is handed over once");
    let second = bootstrap::handle(app, event()).await.unwrap();
    assert!(!second.created);
    assert!(second.message.contains("already exists"));
    assert_eq!(second.generated_password, None);

    let stored = app.store.get_tenant(&tenant).await.unwrap().unwrap();
    assert_eq!(
        (stored.first_admin.as_str(), stored.user_count),
        ("root", 1)
    );
    let env = common::TestEnv {
        app,
        router,
        tenant: tenant.clone(),
        admin_token: String::new(),
    };
    env.login("root", &password).await;
}

#[tokio::test]
async fn bootstrap_refuses_bad_events_with_the_error_shape() {
    let (app, _) = app_with(config()).await;
    let bad_tenant = bootstrap::BootstrapEvent {
        tenant_id: "../etc".into(),
        user_id: "admin".into(),
        password: Some("Admin-Passw0rd!".into()),
        email: None,
        name: None,
    };
    let error = bootstrap::handle(app, bad_tenant).await.unwrap_err();
    assert_eq!(error.error_code, "INVALID_PARAMETER");
    let weak = bootstrap::BootstrapEvent {
        tenant_id: unique_tenant("weak"),
        user_id: "admin".into(),
        password: Some("short".into()),
        email: None,
        name: None,
    };
    assert_eq!(
        bootstrap::handle(app, weak).await.unwrap_err().error_code,
        "PASSWORD_POLICY"
    );
    let unknown: Result<bootstrap::BootstrapEvent, _> =
        serde_json::from_value(json!({"tenant_id": "x", "role": "ADMIN"}));
    assert!(unknown.is_err(), "unknown event fields are refused");
}

#[tokio::test]
async fn updates_are_conditional_on_the_version() {
    let env = TestEnv::new().await;
    env.create_user("v@example.com", "User-Passw0rd", json!({}))
        .await;
    let read = env.stored("v@example.com").await;
    let mut first = read.clone();
    first.display_name = Some("first".into());
    first.version += 1;
    let mut second = read.clone();
    second.display_name = Some("second".into());
    second.version += 1;
    env.app
        .store
        .update_user(&lambda::change::UserChange::new(
            &read,
            &first,
            &[],
            &lambda::model::Actor::system("test"),
        ))
        .await
        .unwrap();
    assert_eq!(
        env.app
            .store
            .update_user(&lambda::change::UserChange::new(
                &read,
                &second,
                &[],
                &lambda::model::Actor::system("test")
            ))
            .await
            .unwrap_err(),
        ApiError::ConcurrentModification
    );
    let stored = env.stored("v@example.com").await;
    assert_eq!(stored.display_name.as_deref(), Some("first"));
}

#[tokio::test]
async fn an_email_change_moves_its_uniqueness_record_in_the_same_transaction() {
    let env = TestEnv::new().await;
    env.create_user(
        "a@example.com",
        "User-Passw0rd",
        json!({"email": "old@example.com"}),
    )
    .await;
    env.create_user(
        "b@example.com",
        "User-Passw0rd",
        json!({"email": "taken@example.com"}),
    )
    .await;
    let read = env.stored("a@example.com").await;

    let mut clash = read.clone();
    clash.email = Some("TAKEN@example.com".into());
    clash.version += 1;
    let before = env.partition().await;
    assert_eq!(
        env.app
            .store
            .update_user(&lambda::change::UserChange::new(
                &read,
                &clash,
                &[],
                &lambda::model::Actor::system("test")
            ))
            .await
            .unwrap_err(),
        ApiError::AlreadyExists(UniqueField::Email)
    );
    assert_eq!(env.partition().await, before, "nothing partial");

    let mut moved = read.clone();
    moved.email = Some("new@example.com".into());
    moved.version += 1;
    env.app
        .store
        .update_user(&lambda::change::UserChange::new(
            &read,
            &moved,
            &[],
            &lambda::model::Actor::system("test"),
        ))
        .await
        .unwrap();
    // The old address is free again, the new one is taken.
    env.create_user(
        "c@example.com",
        "User-Passw0rd",
        json!({"email": "old@example.com"}),
    )
    .await;
    let reply = env
        .spaceone(
            "create",
            &env.admin_token,
            json!({"user_id": "d@example.com", "email": "new@example.com",
        "backend": "LOCAL", "domain_id": env.tenant, "password": "User-Passw0rd"}),
        )
        .await;
    assert_eq!(reply.expect_error(409), "ERROR_SAVE_UNIQUE_VALUES");
}

#[tokio::test]
async fn counters_follow_creates_and_state_changes() {
    let env = TestEnv::new().await;
    env.create_user("one@example.com", "User-Passw0rd", json!({}))
        .await;
    env.create_user("two@example.com", "User-Passw0rd", json!({}))
        .await;
    assert_eq!(
        env.app
            .store
            .get_tenant(&env.tenant)
            .await
            .unwrap()
            .unwrap()
            .user_count,
        3
    );
    env.change_user("two@example.com", |u| {
        u.state = UserState::PendingDelete;
    })
    .await;
    assert_eq!(
        env.app
            .store
            .get_tenant(&env.tenant)
            .await
            .unwrap()
            .unwrap()
            .user_count,
        2
    );
    let tenant_item = env
        .partition()
        .await
        .into_iter()
        .find(|item| item["sk"].as_s().unwrap() == "TENANT")
        .unwrap();
    assert_eq!(tenant_item["count#ENABLED#USER#LOCAL"].as_n().unwrap(), "2");
    assert_eq!(
        tenant_item["count#PENDING_DELETE#USER#LOCAL"]
            .as_n()
            .unwrap(),
        "1"
    );
}

#[tokio::test]
async fn the_first_administrator_can_be_neither_disabled_nor_deleted() {
    let env = TestEnv::new().await;
    let before = env.partition().await;
    for state in [UserState::Disabled, UserState::PendingDelete] {
        let admin = env.stored("admin").await;
        let mut changed = admin.clone();
        changed.state = state;
        let refused = env
            .app
            .store
            .update_user(&lambda::change::UserChange::new(
                &admin,
                &changed,
                &[],
                &lambda::model::Actor::system("test"),
            ))
            .await
            .unwrap_err();
        assert_eq!(refused, ApiError::FirstAdminProtected);
        assert_eq!(refused.status(), 400);
    }
    assert_eq!(env.partition().await, before, "nothing changed");

    // Any other user can be.
    env.create_user("second@example.com", "User-Passw0rd", json!({}))
        .await;
    env.change_user("second@example.com", |u| u.state = UserState::Disabled)
        .await;
    assert_eq!(
        env.stored("second@example.com").await.state,
        UserState::Disabled
    );
}

#[tokio::test]
async fn a_write_keeps_one_message_per_kind_the_last_given() {
    let env = TestEnv::new().await;
    env.create_user(
        "kind@example.com",
        "User-Passw0rd",
        json!({"email": "kind@example.com"}),
    )
    .await;
    let before = env.stored("kind@example.com").await;
    let mut after = before.clone();
    after.display_name = Some("Two messages".into());
    let now = lambda::ops::now();
    let message = |password: &str| {
        env.app
            .sealer
            .temporary_password(&after, password, lambda::outbox::Channel::Email, now)
            .unwrap()
    };
    let (first, last) = (message("First-Passw0rd"), message("Last-Passw0rd"));
    env.app
        .store
        .update_user(&lambda::change::UserChange::new(
            &before,
            &after,
            &[first, last.clone()],
            &lambda::model::Actor::system("test"),
        ))
        .await
        .unwrap();
    assert_eq!(env.outbox().await, vec![last]);
}

#[tokio::test]
async fn opening_the_store_says_nothing_of_a_table_not_yet_made_and_one_line_of_an_unreachable_store()
 {
    let endpoint = common::config().dynamodb_endpoint;
    let before = common::captured_lines().len();
    let client = lambda::app::dynamodb_client(endpoint.as_deref()).await;
    let missing = common::unique_tenant("not-yet-made");
    lambda::dynamo::DynamoStore::new(client, missing)
        .open_connection()
        .await;
    let said: Vec<String> = common::captured_lines().split_off(before);
    assert!(
        said.iter()
            .all(|line| !line.contains("\"WARN\"") && !line.contains("ResourceNotFound")),
        "{said:#?}"
    );

    // Nothing listens on port 9 of the loopback address.
    let before = common::captured_lines().len();
    let client = lambda::app::dynamodb_client(Some("http://127.0.0.1:9")).await;
    lambda::dynamo::DynamoStore::new(client, "users")
        .open_connection()
        .await;
    let said: Vec<String> = common::captured_lines().split_off(before);
    let warnings: Vec<&String> = said
        .iter()
        .filter(|line| line.contains("could not reach DynamoDB during init"))
        .collect();
    assert_eq!(warnings.len(), 1, "{said:#?}");
    assert!(warnings[0].len() < 400, "one short line: {}", warnings[0]);
}
