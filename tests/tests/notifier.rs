//! The notifier: outbox messages go out through a mailer and leave the table; a failed delivery is a
//! batch item failure and keeps the message; a retried record is not sent twice; and end to end, the
//! table's stream on DynamoDB Local feeds the notifier, whose mail folder the user reads.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use common::TestEnv;
use serde_json::{Value, json};
use shared::notify::{FolderMailer, Mailer, OutgoingMessage};

fn mail_folder(name: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!(
        "useradmin-mail-{name}-{}",
        common::unique_tenant("m")
    ));
    std::fs::create_dir_all(&folder).unwrap();
    folder
}

fn messages(folder: &Path) -> Vec<Value> {
    let mut found: Vec<Value> = std::fs::read_dir(folder)
        .unwrap()
        .filter_map(|entry| {
            let path = entry.unwrap().path();
            (path.extension().is_some_and(|e| e == "json"))
                .then(|| serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap())
        })
        .collect();
    found.sort_by_key(|m| m["subject"].as_str().unwrap_or_default().to_owned());
    found
}

/// The tenant's outbox items as the stream would carry them (INSERT records).
async fn stream_event(env: &TestEnv) -> Event {
    let mut event = Event::default();
    for (i, item) in env
        .partition()
        .await
        .into_iter()
        .filter(|item| item["sk"].as_s().unwrap().starts_with("OUTBOX#"))
        .enumerate()
    {
        let mut record = EventRecord::default();
        record.event_name = "INSERT".into();
        let keys: std::collections::HashMap<_, _> = item
            .iter()
            .filter(|(k, _)| *k == "pk" || *k == "sk")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        record.change.keys = serde_dynamo::Item::from(keys);
        record.change.new_image = serde_dynamo::Item::from(item);
        record.change.sequence_number = Some(format!("{:021}", i + 1));
        event.records.push(record);
    }
    event
}

async fn create_with_temporary_password(env: &TestEnv, user_id: &str) {
    let reply = env
        .spaceone(
            "create",
            &env.admin_token,
            json!({"user_id": user_id, "email": user_id, "backend": "LOCAL", "reset_password": true, "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
}

#[tokio::test]
async fn a_delivered_message_reaches_the_mail_folder_and_leaves_the_table() {
    let env = TestEnv::new().await;
    create_with_temporary_password(&env, "new@example.com").await;
    let event = stream_event(&env).await;
    assert_eq!(event.records.len(), 1);
    let folder = mail_folder("deliver");
    let mailer = FolderMailer {
        folder: folder.clone(),
    };

    let response = notifier::handle(env.app, &mailer, event.clone()).await;
    assert!(response.batch_item_failures.is_empty());
    let sent = messages(&folder);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["to"], "new@example.com");
    assert_eq!(sent[0]["subject"], "Your temporary password");
    assert!(
        env.outbox().await.is_empty(),
        "the sealed secret left the table"
    );
    // The password in the mail is the one that signs the user in.
    let text = sent[0]["text"].as_str().unwrap();
    let password = text
        .split(": ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap();
    assert_eq!(env.try_login("new@example.com", password).await.status, 201);

    // The same record again (a retried batch) sends nothing more.
    std::fs::remove_dir_all(&folder).unwrap();
    let again = notifier::handle(env.app, &mailer, event).await;
    assert!(again.batch_item_failures.is_empty());
    assert!(!folder.exists() || messages(&folder).is_empty());
}

struct BrokenMailer;

impl Mailer for BrokenMailer {
    async fn send(&self, _message: &OutgoingMessage) -> Result<(), String> {
        Err("mail server refused".into())
    }
}

#[tokio::test]
async fn a_failed_delivery_is_reported_for_retry_and_the_message_is_kept() {
    let env = TestEnv::new().await;
    create_with_temporary_password(&env, "a@example.com").await;
    create_with_temporary_password(&env, "b@example.com").await;
    let event = stream_event(&env).await;
    let sequence: Vec<Option<String>> = event
        .records
        .iter()
        .map(|r| r.change.sequence_number.clone())
        .collect();
    let response = notifier::handle(env.app, &BrokenMailer, event).await;
    let failed: Vec<Option<String>> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, sequence);
    assert_eq!(env.outbox().await.len(), 2, "nothing is lost");
}

#[tokio::test]
async fn records_that_are_not_new_outbox_messages_are_left_alone() {
    let env = TestEnv::new().await;
    create_with_temporary_password(&env, "c@example.com").await;
    let mut event = stream_event(&env).await;
    event.records[0].event_name = "REMOVE".into();
    let response = notifier::handle(env.app, &BrokenMailer, event).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(env.outbox().await.len(), 1);
}

#[tokio::test]
async fn the_stream_feeds_the_notifier_and_the_user_confirms_with_the_mailed_code() {
    let env = TestEnv::new().await;
    env.create_user(
        "reader@example.com",
        "User-Passw0rd",
        json!({"email": "reader@example.com"}),
    )
    .await;
    let folder = mail_folder("stream");
    let poller = tokio::spawn(local_stack::streams::run_notifier(
        env.app,
        local_stack::streams::client(&common::endpoint()).await,
        FolderMailer {
            folder: folder.clone(),
        },
        Some(shared::dynamo::tenant_pk(&env.tenant)),
        local_stack::streams::OnFailure::from_template(mail_folder("stream-dead-letters")).unwrap(),
    ));
    let verify = env
        .spaceone(
            "verify-email",
            &env.admin_token,
            json!({"user_id": "reader@example.com", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(verify.status, 200, "{}", verify.raw);

    let mut mail = Vec::new();
    for _ in 0..150 {
        mail = messages(&folder);
        if !mail.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The notifier deletes a message from the outbox after it sent it: let it finish.
    for _ in 0..50 {
        if env.outbox().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    poller.abort();
    assert_eq!(mail.len(), 1, "the code arrived within 15 s");
    assert_eq!(mail[0]["to"], "reader@example.com");
    let code: String = mail[0]["text"]
        .as_str()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    let confirmed = env
        .spaceone(
            "confirm-email",
            &env.admin_token,
            json!({"user_id": "reader@example.com", "verify_code": code, "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.raw);
    assert_eq!(confirmed.body["email_verified"], true);
    assert!(env.outbox().await.is_empty());
    std::fs::remove_dir_all(&folder).ok();
}

#[tokio::test]
async fn an_undeliverable_message_ends_in_the_dead_letter_destination_after_the_retries() {
    let env = TestEnv::new().await;
    env.create_user(
        "lost@example.com",
        "User-Passw0rd",
        json!({"email": "lost@example.com"}),
    )
    .await;
    let dead_letters = mail_folder("dead-letters");
    let on_failure = local_stack::streams::OnFailure::from_template(dead_letters.clone()).unwrap();
    assert_eq!(
        on_failure.max_retries, 5,
        "the template's MaximumRetryAttempts"
    );
    let poller = tokio::spawn(local_stack::streams::run_notifier(
        env.app,
        local_stack::streams::client(&common::endpoint()).await,
        BrokenMailer,
        Some(shared::dynamo::tenant_pk(&env.tenant)),
        on_failure,
    ));
    let verify = env
        .spaceone(
            "verify-email",
            &env.admin_token,
            json!({"user_id": "lost@example.com", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(verify.status, 200, "{}", verify.raw);

    let mut kept = Vec::new();
    for _ in 0..200 {
        kept = std::fs::read_dir(&dead_letters)
            .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        if !kept.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    poller.abort();
    assert_eq!(kept.len(), 1, "one dead letter within 20 s");
    let letter: Value = serde_json::from_slice(&std::fs::read(&kept[0]).unwrap()).unwrap();
    assert_eq!(
        letter["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(
        letter["requestContext"]["approximateInvokeCount"], 6,
        "one attempt and five retries"
    );
    assert!(letter["DDBStreamBatchInfo"]["startSequenceNumber"].is_string());
    let failed: u64 = common::metric_lines()
        .iter()
        .filter(|m| m["Function"] == "notifier")
        .filter_map(|m| m["NotificationsFailed"].as_u64())
        .sum();
    assert!(failed >= 6, "every failed attempt is counted: {failed}");
    // The message itself is still in the outbox (until its TTL), not lost.
    let outbox = env.outbox().await;
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].user_id, "lost@example.com");
    std::fs::remove_dir_all(&dead_letters).ok();
}
