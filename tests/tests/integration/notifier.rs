//! The notifier: the messages written into user items go out through a mailer and leave the items;
//! a failed delivery is a batch item failure and keeps the message; a retried record, or a later
//! change of the user repeating the message, does not send it twice; a replaced or stale message is
//! never sent; and end to end, the table's stream on DynamoDB Local feeds the notifier, whose mail
//! folder the user reads.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_sdk_dynamodb::types::AttributeValue;
use common::TestEnv;
use lambda::mailer::FolderMailer;
use lambda::notify::{Mailer, OutgoingMessage};
use serde_json::{Value, json};

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

type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// A stream record of `item` as it is now (`NEW_IMAGE`).
fn stream_record(item: Item, event_name: &str, sequence: usize) -> EventRecord {
    let mut record = EventRecord::default();
    record.event_name = event_name.into();
    let keys: Item = item
        .iter()
        .filter(|(k, _)| *k == "pk" || *k == "sk")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    record.change.keys = serde_dynamo::Item::from(keys);
    record.change.new_image = serde_dynamo::Item::from(item);
    record.change.sequence_number = Some(format!("{sequence:021}"));
    record
}

/// Hands `event` to the notifier with a mailer writing into a fresh folder; every record must be
/// handled. Returns what was mailed.
async fn deliver_into_folder(env: &TestEnv, name: &str, event: Event) -> Vec<Value> {
    let folder = mail_folder(name);
    let mailer = FolderMailer {
        folder: folder.clone(),
    };
    let response = notifier::handle(env.app, &mailer, event).await;
    assert!(response.batch_item_failures.is_empty());
    let sent = messages(&folder);
    std::fs::remove_dir_all(&folder).ok();
    sent
}

/// The tenant's user items that hold messages, as the stream would carry them.
async fn stream_event(env: &TestEnv) -> Event {
    let mut event = Event::default();
    for (i, item) in env
        .partition()
        .await
        .into_iter()
        .filter(|item| item["sk"].as_s().unwrap().starts_with("U#"))
        .filter(|item| !lambda::dynamo::messages_of(item).unwrap().is_empty())
        .enumerate()
    {
        event.records.push(stream_record(item, "INSERT", i + 1));
    }
    event
}

async fn user_item(env: &TestEnv, user_id: &str) -> Item {
    env.partition()
        .await
        .into_iter()
        .find(|item| item["sk"].as_s().unwrap() == &format!("U#{user_id}"))
        .unwrap()
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
async fn records_that_are_not_user_items_with_messages_are_left_alone() {
    let env = TestEnv::new().await;
    create_with_temporary_password(&env, "c@example.com").await;
    let mut event = stream_event(&env).await;
    event.records[0].event_name = "REMOVE".into();
    // The tenant item and a user without messages hold nothing to send.
    for (i, item) in env
        .partition()
        .await
        .into_iter()
        .filter(|item| {
            let sk = item["sk"].as_s().unwrap();
            sk == "TENANT" || sk == "U#admin"
        })
        .enumerate()
    {
        event.records.push(stream_record(item, "MODIFY", i + 10));
    }
    assert_eq!(event.records.len(), 3);
    let response = notifier::handle(env.app, &BrokenMailer, event).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(env.outbox().await.len(), 1);
}

#[tokio::test]
async fn a_message_repeated_by_later_changes_of_its_user_is_sent_once() {
    let env = TestEnv::new().await;
    create_with_temporary_password(&env, "twice@example.com").await;
    let created = user_item(&env, "twice@example.com").await;
    let renamed = env
        .spaceone(
            "update",
            &env.admin_token,
            json!({"user_id": "twice@example.com", "name": "Renamed", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.raw);
    let modified = user_item(&env, "twice@example.com").await;
    assert_eq!(
        lambda::dynamo::messages_of(&modified).unwrap(),
        lambda::dynamo::messages_of(&created).unwrap(),
        "a change that sends nothing keeps the waiting message"
    );
    let mut event = Event::default();
    event.records = vec![
        stream_record(created, "INSERT", 1),
        stream_record(modified, "MODIFY", 2),
    ];
    let sent = deliver_into_folder(&env, "once", event).await;
    assert_eq!(sent.len(), 1);
    assert!(env.outbox().await.is_empty());
}

#[tokio::test]
async fn a_replaced_message_is_never_sent_and_the_newer_one_is() {
    let env = TestEnv::new().await;
    create_with_temporary_password(&env, "again@example.com").await;
    let first = user_item(&env, "again@example.com").await;
    let reset = env
        .request(
            "POST",
            &format!("/v2/{}/users/again@example.com/actions", env.tenant),
            &[("x-auth-token", &env.admin_token)],
            r#"{"op_type": "RESET_PWD"}"#,
        )
        .await;
    assert_eq!(reset.status, 200, "{}", reset.raw);
    let second = user_item(&env, "again@example.com").await;
    let waiting = env.outbox().await;
    assert_eq!(waiting.len(), 1, "one temporary password by email waits");
    let newest = env.app.sealer.open(&waiting[0]).unwrap().unwrap();

    let mut event = Event::default();
    event.records = vec![
        stream_record(first, "INSERT", 1),
        stream_record(second, "MODIFY", 2),
    ];
    let sent = deliver_into_folder(&env, "replaced", event).await;
    assert_eq!(sent.len(), 1, "the replaced password is not sent");
    assert!(sent[0]["text"].as_str().unwrap().contains(&newest));
    assert_eq!(
        env.try_login("again@example.com", &newest).await.status,
        201
    );
}

#[tokio::test]
async fn a_message_older_than_a_day_is_removed_unsent() {
    let env = TestEnv::new().await;
    create_with_temporary_password(&env, "late@example.com").await;
    let message = env.outbox().await.remove(0);
    let two_days_ago = lambda::ops::now() - 2 * lambda::outbox::DELIVERY_WINDOW_MS;
    env.set_in_user_item(
        "late@example.com",
        "SET #attribute.created_at = :value",
        &lambda::dynamo::message_attribute(&message),
        AttributeValue::N(two_days_ago.to_string()),
    )
    .await;
    let event = stream_event(&env).await;
    let sent = deliver_into_folder(&env, "stale", event).await;
    assert!(sent.is_empty());
    assert!(
        env.outbox().await.is_empty(),
        "the stale secret left the table"
    );
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
        Some(lambda::dynamo::tenant_pk(&env.tenant)),
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
    // The notifier removes a message from its user's item after it sent it: let it finish.
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
        Some(lambda::dynamo::tenant_pk(&env.tenant)),
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
    // The message itself still waits in the user's item, not lost.
    let outbox = env.outbox().await;
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].user_id, "lost@example.com");
    std::fs::remove_dir_all(&dead_letters).ok();
}

/// Whether a Lambda event filter pattern matches an event, for the rules the template uses: lists
/// of exact strings, `prefix` and `exists` (which, as in Lambda, matches only a leaf value).
fn filter_matches(pattern: &Value, event: &Value) -> bool {
    let Some(fields) = pattern.as_object() else {
        return false;
    };
    fields.iter().all(|(name, rule)| {
        let Some(value) = event.get(name) else {
            return false;
        };
        match rule {
            Value::Array(alternatives) => {
                !value.is_object()
                    && !value.is_array()
                    && alternatives.iter().any(|alternative| match alternative {
                        Value::String(exact) => value.as_str() == Some(exact),
                        Value::Object(test) => {
                            if let Some(prefix) = test.get("prefix").and_then(Value::as_str) {
                                value.as_str().is_some_and(|v| v.starts_with(prefix))
                            } else {
                                test.get("exists") == Some(&Value::Bool(true))
                            }
                        }
                        _ => false,
                    })
            }
            nested => filter_matches(nested, value),
        }
    })
}

#[tokio::test]
async fn the_template_filter_passes_exactly_the_records_that_hold_messages() {
    let template = local_stack::template::load().unwrap();
    let filters: Vec<Value> = template["Resources"]["NotifierFunction"]["Properties"]["Events"]
        ["Outbox"]["Properties"]["FilterCriteria"]["Filters"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|filter| serde_json::from_str(filter["Pattern"].as_str().unwrap()).unwrap())
        .collect();
    let passes = |record: &EventRecord| {
        let event = serde_json::to_value(record).unwrap();
        filters
            .iter()
            .any(|pattern| filter_matches(pattern, &event))
    };

    let env = TestEnv::new().await;
    // Every kind of message: a temporary password by email and by SMS, a verification code.
    env.create_user(
        "kinds@example.com",
        "User-Passw0rd",
        json!({"email": "kinds@example.com"}),
    )
    .await;
    let path = format!(
        "/v2/{}/users/kinds@example.com/random-password?notification_type=email,phone",
        env.tenant
    );
    let phone = env
        .request(
            "PUT",
            &format!("/v2/{}/users/kinds@example.com", env.tenant),
            &[("x-auth-token", &env.admin_token)],
            json!({"user_phone": "+8612345678910"}).to_string(),
        )
        .await;
    assert_eq!(phone.status, 200, "{}", phone.raw);
    let random = env
        .request("GET", &path, &[("x-auth-token", &env.admin_token)], "")
        .await;
    assert_eq!(random.status, 200, "{}", random.raw);
    let verify = env
        .spaceone(
            "verify-email",
            &env.admin_token,
            json!({"user_id": "kinds@example.com", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(verify.status, 200, "{}", verify.raw);
    let holder = user_item(&env, "kinds@example.com").await;
    let held = lambda::dynamo::messages_of(&holder).unwrap();
    assert_eq!(held.len(), 3, "{held:?}");
    for message in &held {
        let mut alone = holder.clone();
        alone.retain(|name, _| {
            !name.starts_with(lambda::dynamo::MESSAGE_ATTRIBUTE_PREFIX)
                || *name == lambda::dynamo::message_attribute(message)
        });
        for event_name in ["INSERT", "MODIFY"] {
            assert!(
                passes(&stream_record(alone.clone(), event_name, 1)),
                "{event_name} of a user holding {:?} by {:?}",
                message.template,
                message.channel
            );
        }
        assert!(!passes(&stream_record(alone, "REMOVE", 1)));
    }
    let admin = user_item(&env, "admin").await;
    assert!(!passes(&stream_record(admin, "MODIFY", 1)));
    let tenant = env
        .partition()
        .await
        .into_iter()
        .find(|item| item["sk"].as_s().unwrap() == "TENANT")
        .unwrap();
    assert!(!passes(&stream_record(tenant, "MODIFY", 1)));
}
