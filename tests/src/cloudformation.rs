//! CloudFormation's side of a custom resource, on 127.0.0.1: the pre-signed URL that receives a
//! response document, and a stand-in for the Secrets Manager operations the functions use
//! (`GetSecretValue`, `PutSecretValue`, `DescribeSecret`, `UpdateSecretVersionStage`, with version
//! stages as the service keeps them). No local Secrets Manager exists; this answers its JSON
//! protocol the way the service documents it.

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
    /// `X-Amz-Target`: the operation of an AWS JSON protocol call.
    pub target: Option<String>,
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
                        let target = req
                            .headers()
                            .get("x-amz-target")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
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
                            target,
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

/// Serves the given secrets (id → string, each one version staged AWSCURRENT); returns the
/// endpoint URL.
pub async fn secrets_manager(secrets: HashMap<String, String>) -> String {
    let service = SecretsManager::default();
    for (name, text) in secrets {
        service.create(&name, &text);
    }
    service.start().await
}

#[derive(Debug, Clone)]
struct Version {
    id: String,
    value: Option<String>,
    stages: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct StoredSecret {
    versions: Vec<Version>,
    rotation_enabled: bool,
}

/// Secrets with versions and stages, shared with the server that answers for them.
#[derive(Clone, Default)]
pub struct SecretsManager {
    secrets: Arc<Mutex<HashMap<String, StoredSecret>>>,
}

fn arn(name: &str) -> String {
    format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}")
}

fn not_found() -> (u16, String) {
    (
        400,
        json!({"__type": "ResourceNotFoundException",
               "message": "Secrets Manager can't find the specified secret."})
        .to_string(),
    )
}

impl SecretsManager {
    /// A secret with one version, AWSCURRENT.
    pub fn create(&self, name: &str, text: &str) {
        self.secrets.lock().unwrap().insert(
            name.to_owned(),
            StoredSecret {
                versions: vec![Version {
                    id: format!("v-{name}-1"),
                    value: Some(text.to_owned()),
                    stages: vec!["AWSCURRENT".into()],
                }],
                rotation_enabled: false,
            },
        );
    }

    /// What Secrets Manager does before it calls the rotation function: rotation on, and a new
    /// version `token` staged AWSPENDING, without a value yet.
    pub fn start_rotation(&self, name: &str, token: &str) {
        let mut secrets = self.secrets.lock().unwrap();
        let secret = secrets.get_mut(name).expect("the secret exists");
        secret.rotation_enabled = true;
        for version in &mut secret.versions {
            version.stages.retain(|s| s != "AWSPENDING");
        }
        secret.versions.push(Version {
            id: token.to_owned(),
            value: None,
            stages: vec!["AWSPENDING".into()],
        });
    }

    /// The string staged AWSCURRENT.
    pub fn current(&self, name: &str) -> Option<String> {
        self.secrets.lock().unwrap().get(name).and_then(|secret| {
            secret
                .versions
                .iter()
                .find(|v| v.stages.iter().any(|s| s == "AWSCURRENT"))
                .and_then(|v| v.value.clone())
        })
    }

    pub async fn start(&self) -> String {
        let service = self.clone();
        serve(Arc::new(move |request: &Received| service.answer(request))).await
    }

    fn answer(&self, request: &Received) -> (u16, String) {
        let asked: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let id = asked["SecretId"].as_str().unwrap_or_default();
        let name = id.rsplit(':').next().unwrap_or_default().to_owned();
        let mut secrets = self.secrets.lock().unwrap();
        let Some(secret) = secrets.get_mut(&name) else {
            return not_found();
        };
        let operation = request.target.as_deref().unwrap_or_default();
        match operation.trim_start_matches("secretsmanager.") {
            "GetSecretValue" => {
                let stage = asked["VersionStage"].as_str();
                let version_id = asked["VersionId"].as_str();
                let stage = stage.or(version_id.is_none().then_some("AWSCURRENT"));
                let found = secret.versions.iter().find(|v| {
                    version_id.is_none_or(|id| v.id == id)
                        && stage.is_none_or(|stage| v.stages.iter().any(|s| s == stage))
                });
                match found.and_then(|v| v.value.clone().map(|value| (v, value))) {
                    Some((version, value)) => (
                        200,
                        json!({"ARN": arn(&name), "Name": name, "SecretString": value,
                               "VersionId": version.id, "VersionStages": version.stages,
                               "CreatedDate": 1.7e9})
                        .to_string(),
                    ),
                    None => not_found(),
                }
            }
            "PutSecretValue" => {
                let token = asked["ClientRequestToken"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let value = asked["SecretString"].as_str().map(str::to_owned);
                let stages: Vec<String> = asked["VersionStages"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_else(|| vec!["AWSCURRENT".into()]);
                for version in &mut secret.versions {
                    version.stages.retain(|s| !stages.contains(s));
                }
                match secret.versions.iter_mut().find(|v| v.id == token) {
                    Some(version) => {
                        version.value = value;
                        version.stages.extend(stages);
                    }
                    None => secret.versions.push(Version {
                        id: token.clone(),
                        value,
                        stages,
                    }),
                }
                (
                    200,
                    json!({"ARN": arn(&name), "Name": name, "VersionId": token}).to_string(),
                )
            }
            "DescribeSecret" => {
                let stages: serde_json::Map<String, Value> = secret
                    .versions
                    .iter()
                    .filter(|v| !v.stages.is_empty())
                    .map(|v| (v.id.clone(), json!(v.stages)))
                    .collect();
                (
                    200,
                    json!({"ARN": arn(&name), "Name": name, "RotationEnabled": secret.rotation_enabled,
                           "VersionIdsToStages": stages})
                    .to_string(),
                )
            }
            "UpdateSecretVersionStage" => {
                let stage = asked["VersionStage"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let to = asked["MoveToVersionId"].as_str().map(str::to_owned);
                let from = asked["RemoveFromVersionId"].as_str().map(str::to_owned);
                let holder = secret
                    .versions
                    .iter()
                    .find(|v| v.stages.contains(&stage))
                    .map(|v| v.id.clone());
                if holder.is_some() && to.is_some() && holder != from && holder != to {
                    return (
                        400,
                        json!({"__type": "InvalidParameterException",
                               "message": "the stage is attached to another version"})
                        .to_string(),
                    );
                }
                for version in &mut secret.versions {
                    if Some(&version.id) == from.as_ref() {
                        version.stages.retain(|s| *s != stage);
                        if stage == "AWSCURRENT" {
                            version.stages.push("AWSPREVIOUS".into());
                        }
                    } else if stage == "AWSCURRENT" {
                        version.stages.retain(|s| s != "AWSPREVIOUS");
                    }
                }
                if let Some(version) = secret
                    .versions
                    .iter_mut()
                    .find(|v| Some(&v.id) == to.as_ref())
                {
                    version.stages.retain(|s| s != "AWSPENDING");
                    version.stages.push(stage);
                }
                (200, json!({"ARN": arn(&name), "Name": name}).to_string())
            }
            _ => (
                400,
                json!({"__type": "InvalidRequestException", "message": "unsupported operation"})
                    .to_string(),
            ),
        }
    }
}
