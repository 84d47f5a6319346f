//! Prints what each shape of store call costs on DynamoDB Local, side by side in one run: the shapes
//! the operations could be built from (one read, two reads in a batch, in parallel, in a read
//! transaction; a write transaction of one, two and three items, a plain conditional update). The
//! design picks its round trips from these figures (docs/benchmarks.md, "Round trips"). Run with
//! DynamoDB Local up:
//! `DYNAMODB_ENDPOINT=http://127.0.0.1:8000 cargo run --release -p local-stack --example store_shapes`

use std::collections::HashMap;
use std::time::Instant;

use aws_sdk_dynamodb::types::{AttributeValue, Get, TransactGetItem, TransactWriteItem, Update};

const ROUNDS: usize = 600;
const WARM_UP: usize = 50;

type Key = HashMap<String, AttributeValue>;

fn key(pk: &str, sk: &str) -> Key {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
        ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

struct Probe {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl Probe {
    async fn get(&self, sk: &str) -> Result<(), String> {
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key("PROBE", sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    fn update(&self, sk: &str, round: usize) -> Result<Update, String> {
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(key("PROBE", sk)))
            .update_expression("SET description = :d ADD version :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":d", AttributeValue::S(format!("round {round}")))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .build()
            .map_err(|e| e.to_string())
    }

    async fn transact(&self, sks: &[&str], round: usize) -> Result<(), String> {
        let mut items = Vec::new();
        for sk in sks {
            items.push(
                TransactWriteItem::builder()
                    .update(self.update(sk, round)?)
                    .build(),
            );
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn batch_get_two(&self) -> Result<(), String> {
        let keys = vec![key("PROBE", "a"), key("PROBE", "b")];
        local_stack::consistent_batch_get(&self.client, &self.table, keys).await
    }

    async fn update_alone(&self, round: usize) -> Result<(), String> {
        let update = self.update("c", round)?;
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(update.key))
            .update_expression(update.update_expression)
            .set_condition_expression(update.condition_expression)
            .set_expression_attribute_values(update.expression_attribute_values)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn shape(&self, name: &str, round: usize) -> Result<(), String> {
        match name {
            "GetItem" => self.get("a").await,
            "GetItem, then GetItem" => {
                self.get("a").await?;
                self.get("b").await
            }
            "2 GetItem in parallel" => {
                let (a, b) = tokio::join!(self.get("a"), self.get("b"));
                a.and(b)
            }
            "BatchGetItem of 2" => self.batch_get_two().await,
            "TransactGetItems of 2" => {
                let mut gets = Vec::new();
                for sk in ["a", "b"] {
                    let get = Get::builder()
                        .table_name(&self.table)
                        .set_key(Some(key("PROBE", sk)))
                        .build()
                        .map_err(|e| e.to_string())?;
                    gets.push(TransactGetItem::builder().get(get).build());
                }
                self.client
                    .transact_get_items()
                    .set_transact_items(Some(gets))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(())
            }
            "UpdateItem (conditional)" => self.update_alone(round).await,
            "GetItem, then UpdateItem (conditional)" => {
                self.get("a").await?;
                self.update_alone(round).await
            }
            "BatchGetItem of 2, then UpdateItem (conditional)" => {
                self.batch_get_two().await?;
                self.update_alone(round).await
            }
            "TransactWriteItems of 1" => self.transact(&["c"], round).await,
            "TransactWriteItems of 2" => self.transact(&["c", "d"], round).await,
            "TransactWriteItems of 3" => self.transact(&["c", "d", "e"], round).await,
            "GetItem, then TransactWriteItems of 1" => {
                self.get("a").await?;
                self.transact(&["c"], round).await
            }
            other => Err(format!("no shape {other}")),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let app = local_stack::bench_app(|_| {}).await?;
    let probe = Probe {
        client: app.store.client().clone(),
        table: app.store.table().to_owned(),
    };
    // Items the size of a user record (about 700 bytes).
    for sk in ["a", "b", "c", "d", "e"] {
        let mut item = key("PROBE", sk);
        item.insert("description".into(), AttributeValue::S("x".repeat(600)));
        item.insert("version".into(), AttributeValue::N("1".into()));
        probe
            .client
            .put_item()
            .table_name(&probe.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| e.to_string())?;
    }
    let shapes = [
        "GetItem",
        "GetItem, then GetItem",
        "2 GetItem in parallel",
        "BatchGetItem of 2",
        "TransactGetItems of 2",
        "UpdateItem (conditional)",
        "TransactWriteItems of 1",
        "TransactWriteItems of 2",
        "TransactWriteItems of 3",
        "GetItem, then TransactWriteItems of 1",
        "GetItem, then UpdateItem (conditional)",
        "BatchGetItem of 2, then UpdateItem (conditional)",
    ];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); shapes.len()];
    // Interleaved rounds, so that the machine's noise falls on every shape alike.
    for round in 0..WARM_UP + ROUNDS {
        for (shape, taken) in shapes.iter().zip(samples.iter_mut()) {
            let started = Instant::now();
            probe.shape(shape, round).await?;
            if round >= WARM_UP {
                taken.push(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
    let base = percentile(&mut samples[0].clone(), 0.5);
    println!("| shape | p50 (ms) | p99 (ms) | p50 / GetItem p50 |");
    println!("|---|---|---|---|");
    for (shape, taken) in shapes.iter().zip(samples.iter_mut()) {
        let p50 = percentile(taken, 0.5);
        let p99 = percentile(taken, 0.99);
        println!("| {shape} | {p50:.2} | {p99:.2} | {:.2} |", p50 / base);
    }
    Ok(())
}
