//! Tencent Cloud: CVM (API 3.0, TC3-HMAC-SHA256), COS. What imgflow needs to know of the cloud (see [`crate::provider`]).

use serde_json::Value;

use super::Tc3Signer;
use crate::Cloud;
use crate::answer::{text, unreadable};
use crate::error::{CloudError, ValidationError};
use crate::provider::{CredentialVariables, Provider};
use crate::signing::SignerFns;
use crate::transport::RawResponse;
use crate::validate;

pub struct TencentCloud;

impl Provider for TencentCloud {
    fn cloud(&self) -> Cloud {
        Cloud::Tencent
    }

    fn display_name(&self) -> &'static str {
        "Tencent Cloud"
    }

    fn regions(&self) -> &'static [&'static str] {
        super::regions::REGIONS
    }

    fn credential_variables(&self) -> CredentialVariables {
        CredentialVariables {
            key_id: "TENCENTCLOUD_SECRET_ID",
            secret: "TENCENTCLOUD_SECRET_KEY",
            session_token: "TENCENTCLOUD_SESSION_TOKEN",
        }
    }

    /// One global endpoint; the region travels in `X-TC-Region`.
    fn api_host(&self, _region: &str) -> String {
        "cvm.tencentcloudapi.com".to_owned()
    }

    fn object_host(&self, bucket: &str, region: &str) -> String {
        format!("{bucket}.cos.{region}.myqcloud.com")
    }

    /// COS names end in `-<APPID>`.
    fn validate_bucket(&self, field: &str, bucket: &str) -> Result<(), ValidationError> {
        super::request::cos_bucket(field, bucket)
    }

    fn signer(&self) -> SignerFns {
        SignerFns::of::<Tc3Signer>()
    }

    fn parse(&self, response: &RawResponse, json: Option<Value>) -> Result<Value, CloudError> {
        parse_answer(response, json)
    }

    /// CVM's documented limits (the API pages' 请求频率限制).
    fn documented_rate(&self, action: &str) -> Option<f64> {
        match action {
            "ExportImages" => Some(20.0),
            "SyncImages" => Some(10.0),
            "DescribeImages" => Some(40.0),
            _ => None,
        }
    }

    /// 10 filters per DescribeImages, two of them taken by `image-type` and `image-name`.
    fn selector_tags(&self) -> Option<usize> {
        Some(8)
    }

    fn concurrency_limits(&self) -> &'static [&'static str] {
        super::errors::CONCURRENCY_LIMITS
    }

    fn validate_image_id(&self, field: &str, value: &str) -> Result<(), ValidationError> {
        image_id(field, value)
    }
}

/// Tencent: HTTP 200 always; `Response.Error` marks a failure.
fn parse_answer(response: &RawResponse, json: Option<Value>) -> Result<Value, CloudError> {
    let Some(body) = json
        .as_ref()
        .and_then(|j| j.get("Response"))
        .filter(|_| response.status == 200)
    else {
        return Err(unreadable(Cloud::Tencent, response));
    };
    let request_id = text(body, "RequestId");
    match body.get("Error") {
        None => Ok(body.clone()),
        Some(error) => {
            let code = text(error, "Code").unwrap_or_default();
            Err(CloudError::new(
                Cloud::Tencent,
                super::errors::kind_of(&code),
                code,
                text(error, "Message").unwrap_or_default(),
            )
            .with_request_id(request_id)
            .with_http_status(response.status))
        }
    }
}

/// `img-` and eight lowercase letters or digits.
pub fn image_id(field: &str, value: &str) -> Result<(), ValidationError> {
    let ok = value.len() == 12 && validate::resource_id(field, value, "img-", 8).is_ok();
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            format!("must be `img-` followed by 8 lowercase letters or digits, got `{value}`"),
        ))
    }
}
