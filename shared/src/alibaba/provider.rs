//! Alibaba Cloud: ECS (ACS3-HMAC-SHA256), OSS. What imgflow needs to know of the cloud (see [`crate::provider`]).

use std::time::Duration;

use serde_json::Value;

use super::Acs3Signer;
use crate::Cloud;
use crate::answer::{text, unreadable, with_status};
use crate::error::{CloudError, ValidationError};
use crate::provider::{CredentialVariables, Provider};
use crate::signing::SignerFns;
use crate::transport::RawResponse;
use crate::validate;

pub struct AlibabaCloud;

impl Provider for AlibabaCloud {
    fn cloud(&self) -> Cloud {
        Cloud::Alibaba
    }

    fn display_name(&self) -> &'static str {
        "Alibaba Cloud"
    }

    fn regions(&self) -> &'static [&'static str] {
        super::regions::REGIONS
    }

    fn credential_variables(&self) -> CredentialVariables {
        CredentialVariables {
            key_id: "ALIBABA_CLOUD_ACCESS_KEY_ID",
            secret: "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            session_token: "ALIBABA_CLOUD_SECURITY_TOKEN",
        }
    }

    fn api_host(&self, region: &str) -> String {
        if region == "cn-hangzhou" {
            "ecs-cn-hangzhou.aliyuncs.com".to_owned()
        } else {
            format!("ecs.{region}.aliyuncs.com")
        }
    }

    fn object_host(&self, bucket: &str, region: &str) -> String {
        format!("{bucket}.oss-{region}.aliyuncs.com")
    }

    fn signer(&self) -> SignerFns {
        SignerFns::of::<Acs3Signer>()
    }

    fn parse(&self, response: &RawResponse, json: Option<Value>) -> Result<Value, CloudError> {
        parse_answer(response, json)
    }

    /// DescribeImages takes `Tag.N` with N ≤ 20.
    fn selector_tags(&self) -> Option<usize> {
        Some(20)
    }

    fn concurrency_limits(&self) -> &'static [&'static str] {
        super::errors::CONCURRENCY_LIMITS
    }

    fn validate_image_id(&self, field: &str, value: &str) -> Result<(), ValidationError> {
        image_id(field, value)
    }
}

/// Alibaba: a flat document; HTTP 4xx/5xx with `Code` and `Message` on failure. Throttling
/// can come with `x-acs-retry-after` (milliseconds, as the official SDK reads it).
fn parse_answer(response: &RawResponse, json: Option<Value>) -> Result<Value, CloudError> {
    let Some(body) = json else {
        return Err(unreadable(Cloud::Alibaba, response));
    };
    let code = text(&body, "Code").or_else(|| text(&body, "code"));
    if (200..300).contains(&response.status) && code.is_none() {
        return Ok(body);
    }
    let code = code.unwrap_or_else(|| format!("HTTP{}", response.status));
    let retry_after = response
        .header("x-acs-retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis);
    let kind = with_status(super::errors::kind_of(&code), response.status);
    Err(CloudError::new(
        Cloud::Alibaba,
        kind,
        code,
        text(&body, "Message")
            .or_else(|| text(&body, "message"))
            .unwrap_or_default(),
    )
    .with_request_id(text(&body, "RequestId").or_else(|| text(&body, "requestId")))
    .with_http_status(response.status)
    .with_retry_after(retry_after))
}

/// `m-` and lowercase letters or digits.
pub fn image_id(field: &str, value: &str) -> Result<(), ValidationError> {
    validate::resource_id(field, value, "m-", 8)
}
