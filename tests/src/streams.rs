//! The local stand-in for the notifier's event source mapping: reads the table's stream on DynamoDB
//! Local and hands each batch to the notifier's handler as Lambda would, trying failed records
//! again on the next round as often as the template's `MaximumRetryAttempts`, then writing what
//! Lambda sends its on-failure destination (the dead-letter queue) to a folder.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_sdk_dynamodbstreams::types::{OperationType, ShardIteratorType};
use lambda::App;
use lambda::notify::Mailer;

/// How often the stream is read when it had nothing new.
const IDLE: Duration = Duration::from_millis(200);

/// The streams client for the same DynamoDB Local endpoint (and the same local credentials).
pub async fn client(endpoint: &str) -> aws_sdk_dynamodbstreams::Client {
    aws_sdk_dynamodbstreams::Client::new(&lambda::app::sdk_config(Some(endpoint)).await)
}

fn event_record(record: aws_sdk_dynamodbstreams::types::Record) -> Option<EventRecord> {
    let change = record.dynamodb?;
    let mut event = EventRecord::default();
    event.event_name = match record.event_name? {
        OperationType::Insert => "INSERT",
        OperationType::Modify => "MODIFY",
        OperationType::Remove => "REMOVE",
        _ => return None,
    }
    .to_owned();
    event.change.keys = serde_dynamo::Item::from(change.keys.unwrap_or_default());
    event.change.new_image = serde_dynamo::Item::from(change.new_image.unwrap_or_default());
    event.change.sequence_number = change.sequence_number;
    Some(event)
}

/// What happens to a record the notifier keeps failing.
#[derive(Debug, Clone)]
pub struct OnFailure {
    /// Retries after the first attempt (the template's `MaximumRetryAttempts`).
    pub max_retries: u32,
    /// Where the on-failure records go, one JSON file each (the deployed queue's messages).
    pub dead_letters: PathBuf,
}

impl OnFailure {
    /// The template's retry count, with dead letters in `folder`.
    pub fn from_template(folder: PathBuf) -> Result<OnFailure, String> {
        let template = crate::template::load()?;
        let retries = &template["Resources"]["NotifierFunction"]["Properties"]["Events"]["Outbox"]
            ["Properties"]["MaximumRetryAttempts"];
        Ok(OnFailure {
            max_retries: retries
                .as_u64()
                .ok_or("the notifier's stream source has no MaximumRetryAttempts")?
                as u32,
            dead_letters: folder,
        })
    }

    /// Writes the invocation record Lambda sends the destination of a stream source: where the
    /// failed records are in the stream (the message itself stays in its user's item).
    fn keep(&self, record: &EventRecord, stream_arn: &str, invocations: u32) {
        let sequence = record.change.sequence_number.clone().unwrap_or_default();
        let document = serde_json::json!({
            "requestContext": {
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": invocations,
                "functionArn": "arn:aws:lambda:local:000000000000:function:notifier",
            },
            "responseContext": {"statusCode": 200, "functionError": null},
            "version": "1.0",
            "timestamp": unix_seconds(),
            "DDBStreamBatchInfo": {
                "shardId": "local",
                "startSequenceNumber": sequence,
                "endSequenceNumber": sequence,
                "batchSize": 1,
                "streamArn": stream_arn,
            },
        });
        let _ = std::fs::create_dir_all(&self.dead_letters);
        let path = self.dead_letters.join(format!("{sequence}.json"));
        if let Err(error) = std::fs::write(&path, document.to_string()) {
            tracing::error!(%error, path = %path.display(), "dead letter not written");
        }
    }
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Delivers the messages written into user items until the task is dropped. With `only_partition`, the
/// records of other partitions are left alone (tests share one table).
pub async fn run_notifier(
    app: &'static App,
    streams: aws_sdk_dynamodbstreams::Client,
    mailer: impl Mailer + 'static,
    only_partition: Option<String>,
    on_failure: OnFailure,
) {
    let mut iterators: HashMap<String, Option<String>> = HashMap::new();
    let mut retry: Vec<EventRecord> = Vec::new();
    let mut invocations: HashMap<String, u32> = HashMap::new();
    loop {
        let Ok(table) = app
            .store
            .client()
            .describe_table()
            .table_name(app.store.table())
            .send()
            .await
        else {
            tokio::time::sleep(IDLE).await;
            continue;
        };
        let Some(arn) = table.table.and_then(|t| t.latest_stream_arn) else {
            tokio::time::sleep(IDLE).await;
            continue;
        };
        if let Ok(stream) = streams.describe_stream().stream_arn(&arn).send().await {
            for shard in stream
                .stream_description
                .map(|d| d.shards.unwrap_or_default())
                .unwrap_or_default()
            {
                let Some(id) = shard.shard_id else { continue };
                if iterators.contains_key(&id) {
                    continue;
                }
                let iterator = streams
                    .get_shard_iterator()
                    .stream_arn(&arn)
                    .shard_id(&id)
                    .shard_iterator_type(ShardIteratorType::TrimHorizon)
                    .send()
                    .await
                    .ok()
                    .and_then(|o| o.shard_iterator);
                iterators.insert(id, iterator);
            }
        }
        let mut batch: Vec<EventRecord> = std::mem::take(&mut retry);
        let mut unreadable = Vec::new();
        for (shard, iterator) in iterators.iter_mut() {
            let Some(current) = iterator.clone() else {
                continue;
            };
            match streams.get_records().shard_iterator(current).send().await {
                Ok(output) => {
                    *iterator = output.next_shard_iterator;
                    batch.extend(
                        output
                            .records
                            .unwrap_or_default()
                            .into_iter()
                            .filter_map(event_record),
                    );
                }
                Err(error) => {
                    tracing::warn!(
                        error = %aws_sdk_dynamodbstreams::error::DisplayErrorContext(error),
                        "stream read failed; the shard is read again from its start"
                    );
                    unreadable.push(shard.clone());
                }
            }
        }
        // Read again from the start next round: delivered messages are skipped, none is lost.
        for shard in unreadable {
            iterators.remove(&shard);
        }
        if let Some(partition) = &only_partition {
            batch.retain(|record| {
                serde_dynamo::from_item::<_, HashMap<String, String>>(record.change.keys.clone())
                    .is_ok_and(|keys| keys.get("pk") == Some(partition))
            });
        }
        if batch.is_empty() {
            tokio::time::sleep(IDLE).await;
            continue;
        }
        let mut event = Event::default();
        event.records = batch.clone();
        let response = notifier::handle(app, &mailer, event).await;
        for failure in response.batch_item_failures {
            let Some(record) = batch
                .iter()
                .find(|r| r.change.sequence_number == failure.item_identifier)
            else {
                continue;
            };
            let sequence = record.change.sequence_number.clone().unwrap_or_default();
            let count = invocations.entry(sequence.clone()).or_default();
            *count += 1;
            if *count > on_failure.max_retries {
                on_failure.keep(record, &arn, *count);
                invocations.remove(&sequence);
            } else {
                retry.push(record.clone());
            }
        }
        if !retry.is_empty() {
            tokio::time::sleep(IDLE).await;
        }
    }
}
