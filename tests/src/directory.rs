//! A small external directory on 127.0.0.1 speaking the protocol `lambda::directory` documents:
//! the local stack serves a file-backed sample (`scripts/sample-directory.json`, read on every
//! request so edits show at once); tests serve an in-memory one they change as they go.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// One person in the directory; `domain_id` limits them to one tenant (none: every tenant).
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    #[serde(default)]
    pub domain_id: Option<String>,
    #[serde(flatten)]
    pub user: Value,
}

#[derive(Clone)]
pub enum Source {
    /// `{"users": [...]}` in a file.
    File(PathBuf),
    Memory(Arc<Mutex<Vec<Entry>>>),
}

impl Source {
    fn entries(&self) -> Vec<Entry> {
        match self {
            Source::File(path) => std::fs::read(path)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
                .and_then(|doc| serde_json::from_value(doc["users"].clone()).ok())
                .unwrap_or_default(),
            Source::Memory(entries) => entries.lock().unwrap().clone(),
        }
    }
}

#[derive(Deserialize)]
struct Find {
    domain_id: String,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    keyword: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

/// The answer to one find: an exact `user_id`, or a keyword found (any case) in the id, name or
/// email of the tenant's people.
pub fn answer(source: &Source, request: &[u8]) -> Option<Value> {
    let find: Find = serde_json::from_slice(request).ok()?;
    let text = |user: &Value, key: &str| user[key].as_str().unwrap_or_default().to_lowercase();
    let matches: Vec<Value> = source
        .entries()
        .into_iter()
        .filter(|e| e.domain_id.as_deref().is_none_or(|d| d == find.domain_id))
        .map(|e| e.user)
        .filter(|user| match (&find.user_id, &find.keyword) {
            (Some(id), _) => user["user_id"].as_str() == Some(id.as_str()),
            (None, Some(keyword)) => {
                let keyword = keyword.to_lowercase();
                ["user_id", "name", "email"]
                    .iter()
                    .any(|key| text(user, key).contains(&keyword))
            }
            (None, None) => false,
        })
        .collect();
    let total = matches.len();
    let limit = find.limit.unwrap_or(25);
    let results: Vec<Value> = matches.into_iter().take(limit).collect();
    Some(json!({"results": results, "total_count": total}))
}

/// Serves the directory on `listener` until dropped.
pub async fn serve(listener: TcpListener, source: Source) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let source = source.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: hyper::Request<Incoming>| {
                let source = source.clone();
                async move {
                    let body = Limited::new(req.into_body(), 64 * 1024)
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let response = match answer(&source, &body) {
                        Some(found) => hyper::Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from(found.to_string()))),
                        None => hyper::Response::builder()
                            .status(400)
                            .body(Full::new(Bytes::from_static(b"{\"error\":\"bad find\"}"))),
                    };
                    Ok::<_, Infallible>(response.expect("a valid response"))
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
