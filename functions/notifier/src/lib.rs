//! The notifier (DynamoDB Streams source in template.yaml): delivers the messages written into user
//! items with Amazon SES v2 and removes them from the items. A message that cannot be delivered is
//! reported as a batch item failure, so Lambda retries it and finally hands it to the on-failure
//! destination.

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use lambda::App;
use lambda::notify::{self, Delivery, Mailer, OutgoingMessage};
use lambda::outbox::{Channel, Notification};
use serde::Deserialize;

#[derive(Deserialize)]
struct Keys {
    sk: String,
}

/// The messages a record's new image of a user item holds; `None` when one is unreadable.
/// Records of other items, and removals, hold none.
fn messages_in(record: &EventRecord) -> Option<Vec<Notification>> {
    let is_user = serde_dynamo::from_item::<_, Keys>(record.change.keys.clone())
        .is_ok_and(|keys| keys.sk.starts_with("U#"));
    if !is_user || !matches!(record.event_name.as_str(), "INSERT" | "MODIFY") {
        return Some(Vec::new());
    }
    let image: lambda::dynamo::Item = record.change.new_image.clone().into();
    lambda::dynamo::messages_of(&image)
        .inspect_err(|error| tracing::error!(%error, "stored message unreadable"))
        .ok()
}

/// Delivers the messages among the stream's records; other records are not the notifier's.
pub async fn handle(app: &App, mailer: &impl Mailer, event: Event) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    let mut sent = 0;
    for record in event.records {
        let mut delivered = true;
        match messages_in(&record) {
            None => delivered = false,
            Some(messages) => {
                for notification in messages {
                    let outcome = notify::deliver(app, mailer, &notification).await;
                    match &outcome {
                        Ok(Delivery::Sent) => {
                            sent += 1;
                            tracing::info!(
                                notification_id = notification.notification_id,
                                template = ?notification.template,
                                channel = ?notification.channel,
                                "notification delivered"
                            )
                        }
                        Ok(Delivery::Stale) => tracing::warn!(
                            notification_id = notification.notification_id,
                            template = ?notification.template,
                            "notification too old to send: removed"
                        ),
                        Ok(Delivery::NotPending) => {}
                        Err(error) => {
                            delivered = false;
                            tracing::warn!(
                                notification_id = notification.notification_id,
                                error_code = error.own_code(),
                                "notification not delivered"
                            )
                        }
                    }
                }
            }
        }
        if !delivered {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = record.change.sequence_number.clone();
            response.batch_item_failures.push(failure);
        }
    }
    let function = lambda::telemetry::function_name("notifier");
    lambda::telemetry::emit_metrics(&lambda::telemetry::counter_metrics(
        &function,
        &[
            ("NotificationsSent", sent),
            (
                "NotificationsFailed",
                response.batch_item_failures.len() as u64,
            ),
        ],
    ));
    response
}

/// Email through Amazon SES v2 from `MAIL_FROM`.
pub struct SesMailer {
    pub client: aws_sdk_sesv2::Client,
    pub from: String,
}

impl Mailer for SesMailer {
    async fn send(&self, message: &OutgoingMessage) -> Result<(), String> {
        if message.channel != Channel::Email {
            return Err("no SMS sender is configured".into());
        }
        let text = |data: &str| {
            Content::builder()
                .data(data)
                .charset("UTF-8")
                .build()
                .map_err(|e| e.to_string())
        };
        let email = Message::builder()
            .subject(text(&message.subject)?)
            .body(Body::builder().text(text(&message.text)?).build())
            .build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&message.to).build())
            .content(EmailContent::builder().simple(email).build())
            .send()
            .await
            .map(drop)
            .map_err(|e| aws_sdk_sesv2::error::DisplayErrorContext(e).to_string())
    }
}
