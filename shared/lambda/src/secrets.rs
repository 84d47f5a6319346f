//! Secrets Manager, for what the functions read at run time rather than from their environment:
//! the token key ring (which rotates under them) and the password of a user declared as code; and
//! the rotation of the key ring itself.

use std::collections::HashMap;

use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};

use crate::app::Secret;
use crate::error::{ApiError, ApiResult};

pub const CURRENT: &str = "AWSCURRENT";
pub const PENDING: &str = "AWSPENDING";

/// An SDK failure by its error code; never the request (which may hold a secret).
fn describe<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> String {
    match error {
        SdkError::ServiceError(_) => error.code().unwrap_or("error").to_owned(),
        SdkError::TimeoutError(_) => "timed out".into(),
        _ => "unreachable".into(),
    }
}

pub struct SecretStore {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretStore {
    /// A reader on the SDK configuration; `endpoint` overrides Secrets Manager's (a local stand-in).
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: Option<&str>) -> SecretStore {
        let mut config = aws_sdk_secretsmanager::config::Builder::from(sdk);
        if let Some(endpoint) = endpoint {
            config = config.endpoint_url(endpoint);
        }
        SecretStore {
            client: aws_sdk_secretsmanager::Client::from_conf(config.build()),
        }
    }

    /// The secret's current string, or one key of it when `json_key` names one of its JSON
    /// object's string members. `key` names the request field in errors, which never carry the
    /// secret's value.
    pub async fn read(
        &self,
        key: &str,
        secret_id: &str,
        json_key: Option<&str>,
    ) -> ApiResult<Secret> {
        let answer = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| {
                let code = e.code().unwrap_or("unreachable").to_owned();
                match code.as_str() {
                    "ResourceNotFoundException" | "AccessDeniedException" => ApiError::invalid(
                        key,
                        format!("the secret {secret_id} cannot be read ({code})"),
                    ),
                    _ => ApiError::Unavailable(format!("Secrets Manager: {code}")),
                }
            })?;
        let text = answer.secret_string().ok_or_else(|| {
            ApiError::invalid(key, format!("the secret {secret_id} holds no string"))
        })?;
        let Some(json_key) = json_key else {
            return Ok(Secret(text.to_owned()));
        };
        serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|value| value.get(json_key)?.as_str().map(str::to_owned))
            .map(Secret)
            .ok_or_else(|| {
                ApiError::invalid(
                    key,
                    format!("the secret {secret_id} has no string member {json_key:?}"),
                )
            })
    }

    /// The string of one version (by stage and/or id); `None` when there is no such version or it
    /// holds no value yet.
    pub async fn version(
        &self,
        secret_id: &str,
        stage: Option<&str>,
        version_id: Option<&str>,
    ) -> Result<Option<String>, String> {
        match self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .set_version_stage(stage.map(str::to_owned))
            .set_version_id(version_id.map(str::to_owned))
            .send()
            .await
        {
            Ok(answer) => Ok(answer.secret_string().map(str::to_owned)),
            Err(error) if error.code() == Some("ResourceNotFoundException") => Ok(None),
            Err(error) => Err(format!("reading {secret_id}: {}", describe(&error))),
        }
    }

    /// Stores `text` as the version `version_id`, staged AWSPENDING.
    pub async fn put_pending(
        &self,
        secret_id: &str,
        version_id: &str,
        text: &str,
    ) -> Result<(), String> {
        self.client
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(version_id)
            .secret_string(text)
            .version_stages(PENDING)
            .send()
            .await
            .map(drop)
            .map_err(|error| format!("writing {secret_id}: {}", describe(&error)))
    }

    /// Each version's stages, and whether rotation is on.
    pub async fn versions(
        &self,
        secret_id: &str,
    ) -> Result<(HashMap<String, Vec<String>>, bool), String> {
        let answer = self
            .client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|error| format!("describing {secret_id}: {}", describe(&error)))?;
        Ok((
            answer.version_ids_to_stages().cloned().unwrap_or_default(),
            answer.rotation_enabled().unwrap_or(false),
        ))
    }

    /// Moves AWSCURRENT to `version_id` (from `from_version`).
    pub async fn promote(
        &self,
        secret_id: &str,
        version_id: &str,
        from_version: Option<&str>,
    ) -> Result<(), String> {
        self.client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(CURRENT)
            .move_to_version_id(version_id)
            .set_remove_from_version_id(from_version.map(str::to_owned))
            .send()
            .await
            .map(drop)
            .map_err(|error| format!("promoting {secret_id}: {}", describe(&error)))
    }
}

/// One step of Secrets Manager's rotation of the token key ring (the rotation function's event):
/// `createSecret` stores the rotated ring as AWSPENDING, `setSecret` has nothing to tell (the
/// functions read the ring themselves), `testSecret` checks the pending ring, `finishSecret`
/// makes it AWSCURRENT. Each step is safe to repeat.
pub async fn rotate_key_ring(
    store: &SecretStore,
    secret_id: &str,
    token: &str,
    step: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), String> {
    use crate::keys::{KeyRing, SigningKey, new_kid};
    let (versions, rotation_enabled) = store.versions(secret_id).await?;
    if !rotation_enabled {
        return Err(format!("rotation is not enabled for {secret_id}"));
    }
    let stages = versions
        .get(token)
        .ok_or_else(|| format!("version {token} of {secret_id} has no stage for rotation"))?;
    if stages.iter().any(|stage| stage == CURRENT) {
        return Ok(());
    }
    if !stages.iter().any(|stage| stage == PENDING) {
        return Err(format!("version {token} of {secret_id} is not AWSPENDING"));
    }
    match step {
        "createSecret" => {
            if store
                .version(secret_id, Some(PENDING), Some(token))
                .await?
                .is_some()
            {
                return Ok(());
            }
            let current = store
                .version(secret_id, Some(CURRENT), None)
                .await?
                .ok_or_else(|| format!("{secret_id} has no current version"))?;
            let ring = KeyRing::parse(&current)?;
            let rotated = ring.rotated(SigningKey::generate(&new_kid(now)));
            store
                .put_pending(secret_id, token, &rotated.to_secret_string())
                .await
        }
        "setSecret" => Ok(()),
        "testSecret" => {
            let pending = store
                .version(secret_id, Some(PENDING), Some(token))
                .await?
                .ok_or_else(|| format!("version {token} of {secret_id} holds no ring"))?;
            KeyRing::parse(&pending).map(drop)
        }
        "finishSecret" => {
            let current = versions
                .iter()
                .find(|(_, stages)| stages.iter().any(|stage| stage == CURRENT))
                .map(|(version, _)| version.as_str());
            store.promote(secret_id, token, current).await
        }
        other => Err(format!("unknown rotation step {other:?}")),
    }
}
