//! The deployed external directory (`domain::directory`).
//!
//! It speaks HTTPS JSON (docs/design.md, "External directory"):
//! `POST <EXTERNAL_DIRECTORY_URL>` with `{"domain_id", "user_id"?, "keyword"?, "limit"}` and an
//! optional `Authorization: Bearer <EXTERNAL_DIRECTORY_TOKEN>`, answered by
//! `{"results": [{"user_id", "name", "email", "state", "tags"}], "total_count"}`. Plain HTTP is
//! accepted for loopback addresses only (the local stack's sample directory).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::https::{self, HttpsClient};

pub use domain::directory::*;

/// Longer than any answer of 25 users should be.
const ANSWER_MAX_BYTES: usize = 1 << 20;
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Serialize)]
struct FindRequest<'a> {
    domain_id: &'a str,
    #[serde(flatten)]
    search: &'a DirectorySearch,
    limit: usize,
}

#[derive(Deserialize)]
struct FindAnswer {
    #[serde(default)]
    results: Vec<DirectoryUser>,
    #[serde(default)]
    total_count: Option<u64>,
}

/// The HTTPS JSON directory.
pub struct HttpDirectory {
    url: hyper::Uri,
    token: Option<String>,
    /// Made at the first call: loading the system's TLS roots takes about 4 ms, which only the
    /// three functions that call the directory should pay, and only when they do.
    client: std::sync::OnceLock<HttpsClient>,
}

impl HttpDirectory {
    pub fn new(url: &str, token: Option<String>) -> Result<HttpDirectory, String> {
        let url = https::outbound_url("EXTERNAL_DIRECTORY_URL", url)?;
        Ok(HttpDirectory {
            url,
            token,
            client: std::sync::OnceLock::new(),
        })
    }

    fn client(&self) -> ApiResult<&HttpsClient> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = https::client()
            .map_err(|e| ApiError::Internal(format!("external directory client: {e}")))?;
        Ok(self.client.get_or_init(|| client))
    }

    async fn call(&self, body: Vec<u8>) -> ApiResult<FindAnswer> {
        let unavailable = |what: &str| ApiError::Unavailable(format!("external directory: {what}"));
        let mut request = Request::post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ApiError::Internal(format!("directory request: {e}")))?;
        if let Some(token) = &self.token {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                ApiError::Internal("EXTERNAL_DIRECTORY_TOKEN is not a header".into())
            })?;
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        let response = self
            .client()?
            .request(request)
            .await
            .map_err(|_| unavailable("unreachable"))?;
        if !response.status().is_success() {
            return Err(unavailable(&format!("answered {}", response.status())));
        }
        let body = Limited::new(response.into_body(), ANSWER_MAX_BYTES)
            .collect()
            .await
            .map_err(|_| unavailable("answer unreadable or too large"))?
            .to_bytes();
        serde_json::from_slice(&body).map_err(|_| unavailable("answer is not the expected JSON"))
    }
}

impl Directory for HttpDirectory {
    fn find<'a>(&'a self, tenant_id: &'a str, search: &'a DirectorySearch) -> Found<'a> {
        Box::pin(self.find_users(tenant_id, search))
    }
}

impl HttpDirectory {
    async fn find_users(
        &self,
        tenant_id: &str,
        search: &DirectorySearch,
    ) -> ApiResult<(Vec<DirectoryUser>, u64)> {
        let body = serde_json::to_vec(&FindRequest {
            domain_id: tenant_id,
            search,
            limit: FIND_LIMIT,
        })
        .map_err(|e| ApiError::Internal(format!("directory request: {e}")))?;
        let answer = tokio::time::timeout(TIMEOUT, self.call(body))
            .await
            .map_err(|_| ApiError::Unavailable("external directory: timed out".into()))??;
        let total = answer.total_count.unwrap_or(answer.results.len() as u64);
        let mut users = answer.results;
        users.truncate(FIND_LIMIT);
        Ok((users, total))
    }
}
