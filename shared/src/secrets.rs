//! Secrets Manager, read by the functions that need a secret at run time rather than from their
//! environment: the password of a user declared as code.

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;

use crate::app::Secret;
use crate::error::{ApiError, ApiResult};

pub struct SecretReader {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretReader {
    /// A reader on the SDK configuration; `endpoint` overrides Secrets Manager's (a local stand-in).
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: Option<&str>) -> SecretReader {
        let mut config = aws_sdk_secretsmanager::config::Builder::from(sdk);
        if let Some(endpoint) = endpoint {
            config = config.endpoint_url(endpoint);
        }
        SecretReader {
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
}
