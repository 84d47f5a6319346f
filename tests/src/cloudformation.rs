//! CloudFormation's side of a custom resource, on 127.0.0.1: the pre-signed URL that receives a
//! response document, and a stand-in for Secrets Manager's `GetSecretValue` (no local Secrets
//! Manager exists; this answers its JSON protocol the way the service documents it).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

type Answer = Arc<dyn Fn(&Received) -> (u16, String) + Send + Sync>;

/// Serves `answer` on a fresh loopback port until the runtime ends; returns `http://127.0.0.1:port`.
async fn serve(answer: Answer) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let answer = answer.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<Incoming>| {
                    let answer = answer.clone();
                    async move {
                        let method = req.method().to_string();
                        let path = req.uri().path().to_owned();
                        let content_type = req
                            .headers()
                            .get("content-type")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        let body = Limited::new(req.into_body(), 1 << 20)
                            .collect()
                            .await
                            .map(|b| b.to_bytes().to_vec())
                            .unwrap_or_default();
                        let (status, text) = answer(&Received {
                            method,
                            path,
                            content_type,
                            body,
                        });
                        let response = hyper::Response::builder()
                            .status(status)
                            .header("content-type", "application/x-amz-json-1.1")
                            .body(Full::new(Bytes::from(text)))
                            .expect("a valid response");
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    url
}

/// The pre-signed response URLs: every PUT is kept, by path.
pub struct ResponseBin {
    base: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl ResponseBin {
    pub async fn start() -> ResponseBin {
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = received.clone();
        let base = serve(Arc::new(move |request: &Received| {
            kept.lock().unwrap().push(request.clone());
            (200, String::new())
        }))
        .await;
        ResponseBin { base, received }
    }

    /// A response URL of its own for one request.
    pub fn url(&self, name: &str) -> String {
        format!(
            "{}/cloudformation-response/{name}?X-Amz-Signature=test",
            self.base
        )
    }

    /// Every request sent to the URL of `name`.
    pub fn received(&self, name: &str) -> Vec<Received> {
        let path = format!("/cloudformation-response/{name}");
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

/// Serves `GetSecretValue` for the given secrets (id → string); returns the endpoint URL.
pub async fn secrets_manager(secrets: HashMap<String, String>) -> String {
    serve(Arc::new(move |request: &Received| {
        let asked: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let id = asked["SecretId"].as_str().unwrap_or_default();
        match secrets.get(id) {
            Some(text) if request.method == "POST" => (
                200,
                json!({"ARN": format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{id}"),
                       "Name": id, "SecretString": text, "VersionId": "v1",
                       "VersionStages": ["AWSCURRENT"], "CreatedDate": 1.7e9})
                .to_string(),
            ),
            _ => (
                400,
                json!({"__type": "ResourceNotFoundException",
                       "message": "Secrets Manager can't find the specified secret."})
                .to_string(),
            ),
        }
    }))
    .await
}
