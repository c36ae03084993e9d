//! A function's configuration, read once per cold start. In AWS the clouds' keys and the
//! webhook secret come from one Secrets Manager secret (`IMGFLOW_SECRET_ARN`); locally they
//! come from the clouds' usual environment variables and `IMGFLOW_WEBHOOK_SECRET`. Secrets
//! are held as [`Secret`], which prints `***`.
//!
//! The secret's JSON document:
//! ```json
//! {"webhook_secret": "…",
//!  "tencent": {"access_key_id": "…", "secret_access_key": "…"},
//!  "alibaba": {...}, "volcengine": {...},
//!  "huawei": {"access_key_id": "…", "secret_access_key": "…", "projects": {"cn-north-4": "…"}}}
//! ```

use imgflow_shared::config::CloudCredentials;
use imgflow_shared::error_name::ErrorName;
use imgflow_shared::signing::Secret;
use serde_json::{Value, json};

use crate::aws::{AwsClient, AwsService};
use crate::errors::FunctionError;

pub struct Settings {
    pub credentials: CloudCredentials,
    pub webhook_secret: Option<Secret>,
    /// The state machine webhooks and events start (`IMGFLOW_STATE_MACHINE_ARN`).
    pub state_machine_arn: Option<String>,
    /// One base URL for every cloud (`IMGFLOW_CLOUD_ENDPOINT`): the emulator.
    pub cloud_endpoint: Option<String>,
    /// The job a fixed schedule starts when its event carries none (`IMGFLOW_SCHEDULED_JOB`).
    pub scheduled_job: Option<Value>,
    /// Regions beyond the clouds' closed lists, `cloud:region,...` (`IMGFLOW_EXTRA_REGIONS`).
    pub extra_regions: Option<String>,
    /// The bucket of the start records (`IMGFLOW_JOBS_BUCKET`, prefix `starts/`); none on the
    /// command line and in local runs, which then keep no records.
    pub jobs_bucket: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("credentials", &self.credentials)
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "***"),
            )
            .field("state_machine_arn", &self.state_machine_arn)
            .field("cloud_endpoint", &self.cloud_endpoint)
            .field("extra_regions", &self.extra_regions)
            .field("jobs_bucket", &self.jobs_bucket)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Reads the configuration through `lookup` (the process environment in practice),
    /// fetching the secret with `aws` when `IMGFLOW_SECRET_ARN` is set.
    pub async fn load(
        lookup: &dyn Fn(&str) -> Option<String>,
        aws: Option<&AwsClient>,
    ) -> Result<Settings, FunctionError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let scheduled_job = match get("IMGFLOW_SCHEDULED_JOB") {
            Some(text) => Some(serde_json::from_str(&text).map_err(|err| {
                FunctionError::config(format!("IMGFLOW_SCHEDULED_JOB is not JSON: {err}"))
            })?),
            None => None,
        };
        let (credentials, webhook_secret) = match get("IMGFLOW_SECRET_ARN") {
            Some(arn) => {
                let aws = aws.ok_or_else(|| {
                    FunctionError::config("IMGFLOW_SECRET_ARN is set but no AWS credentials are")
                })?;
                let answer = aws
                    .call(
                        AwsService::SecretsManager,
                        "GetSecretValue",
                        &json!({"SecretId": arn}),
                    )
                    .await
                    .map_err(|err| {
                        FunctionError::new(
                            ErrorName::AwsError,
                            format!("reading the secret {arn}: {err}"),
                        )
                    })?;
                let text = answer
                    .get("SecretString")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        FunctionError::config(format!("the secret {arn} has no SecretString"))
                    })?;
                parse_secret_document(text)?
            }
            None => {
                let credentials = CloudCredentials::from_env_with(get)
                    .map_err(|err| FunctionError::config(err.to_string()))?;
                (credentials, get("IMGFLOW_WEBHOOK_SECRET").map(Secret::new))
            }
        };
        Ok(Settings {
            credentials,
            webhook_secret,
            state_machine_arn: get("IMGFLOW_STATE_MACHINE_ARN"),
            cloud_endpoint: get("IMGFLOW_CLOUD_ENDPOINT"),
            scheduled_job,
            extra_regions: get("IMGFLOW_EXTRA_REGIONS"),
            jobs_bucket: get("IMGFLOW_JOBS_BUCKET").map(|b| b.trim().to_owned()),
        })
    }
}

/// Splits the secret document into the clouds' credentials and the webhook secret. Errors
/// never quote the document.
pub fn parse_secret_document(
    text: &str,
) -> Result<(CloudCredentials, Option<Secret>), FunctionError> {
    let mut document: serde_json::Map<String, Value> =
        serde_json::from_str(text).map_err(|err| {
            FunctionError::config(format!(
                "the secret is not a JSON object (line {}, column {})",
                err.line(),
                err.column()
            ))
        })?;
    let webhook_secret = match document.remove("webhook_secret") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() => Some(Secret::new(s)),
        Some(_) => {
            return Err(FunctionError::config(
                "the secret's webhook_secret must be a non-empty string",
            ));
        }
    };
    let clouds = Value::Object(document).to_string();
    let credentials = CloudCredentials::from_json(&clouds)
        .map_err(|err| FunctionError::config(format!("the secret: {err}")))?;
    Ok((credentials, webhook_secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgflow_shared::Cloud;

    #[test]
    fn the_secret_document_holds_the_webhook_secret_and_the_clouds() {
        let (credentials, webhook) = parse_secret_document(
            r#"{"webhook_secret": "whsec-1", "alibaba": {"access_key_id": "AK", "secret_access_key": "SK"}}"#,
        )
        .expect("parses");
        assert_eq!(webhook.expect("webhook secret").expose(), "whsec-1");
        assert_eq!(
            credentials
                .get(Cloud::Alibaba)
                .expect("alibaba")
                .access_key_id(),
            "AK"
        );
        assert!(credentials.get(Cloud::Tencent).is_none());
    }

    #[test]
    fn a_malformed_secret_is_reported_without_its_content() {
        let err = parse_secret_document(
            r#"{"alibaba": {"access_key_id": "AK", "secret_access_key": "TOPSECRET", "x": 1}}"#,
        )
        .expect_err("unknown field");
        assert_eq!(err.name, "Config.Invalid");
        assert!(!err.message.contains("TOPSECRET"), "{err}");
        let err =
            parse_secret_document("{\"webhook_secret\": \"TOPSECRET\"").expect_err("truncated");
        assert!(!err.message.contains("TOPSECRET"), "{err}");
    }
}
