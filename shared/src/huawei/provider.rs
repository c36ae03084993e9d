//! Huawei Cloud: IMS (SDK-HMAC-SHA256), OBS. What imgflow needs to know of the cloud (see [`crate::provider`]).

use serde_json::Value;

use super::SdkHmacSigner;
use crate::Cloud;
use crate::answer::{text, unreadable};
use crate::error::{CloudError, ValidationError};
use crate::provider::{CredentialVariables, Provider, RegionalSetting};
use crate::signing::SignerFns;
use crate::transport::RawResponse;

pub struct HuaweiCloud;

impl Provider for HuaweiCloud {
    fn cloud(&self) -> Cloud {
        Cloud::Huawei
    }

    fn display_name(&self) -> &'static str {
        "Huawei Cloud"
    }

    /// IMS addresses every call to a project, one per region.
    fn regional_setting(&self) -> Option<RegionalSetting> {
        Some(RegionalSetting {
            what: "project",
            variable: super::projects::PROJECT_IDS,
            read: super::projects::from_env_with,
        })
    }

    fn regions(&self) -> &'static [&'static str] {
        super::regions::REGIONS
    }

    fn credential_variables(&self) -> CredentialVariables {
        CredentialVariables {
            key_id: "HUAWEICLOUD_SDK_AK",
            secret: "HUAWEICLOUD_SDK_SK",
            session_token: "HUAWEICLOUD_SDK_SECURITY_TOKEN",
        }
    }

    fn api_host(&self, region: &str) -> String {
        format!("ims.{region}.myhuaweicloud.com")
    }

    fn object_host(&self, bucket: &str, region: &str) -> String {
        format!("{bucket}.obs.{region}.myhuaweicloud.com")
    }

    fn signer(&self) -> SignerFns {
        SignerFns::of::<SdkHmacSigner>()
    }

    fn parse(&self, response: &RawResponse, json: Option<Value>) -> Result<Value, CloudError> {
        parse_answer(response, json)
    }

    /// one `tag` filter per ListImages, one listing per tag; 10 kept, as on the others.
    fn selector_tags(&self) -> Option<usize> {
        Some(10)
    }

    fn concurrency_limits(&self) -> &'static [&'static str] {
        super::errors::CONCURRENCY_LIMITS
    }

    fn validate_image_id(&self, field: &str, value: &str) -> Result<(), ValidationError> {
        image_id(field, value)
    }
}

/// Huawei: a flat document on success; on failure IMS's `{"error": {"code", "message"}}` or
/// the gateway's `{"error_code", "error_msg"}`. The request id is in `X-Request-Id`.
fn parse_answer(response: &RawResponse, json: Option<Value>) -> Result<Value, CloudError> {
    let request_id = response.header("x-request-id").map(str::to_owned);
    if (200..300).contains(&response.status) {
        return json.ok_or_else(|| unreadable(Cloud::Huawei, response).with_request_id(request_id));
    }
    let Some(body) = json else {
        return Err(unreadable(Cloud::Huawei, response).with_request_id(request_id));
    };
    let (code, message) = match body.get("error") {
        Some(error) => (text(error, "code"), text(error, "message")),
        None => (text(&body, "error_code"), text(&body, "error_msg")),
    };
    let code = code.unwrap_or_else(|| format!("HTTP{}", response.status));
    let request_id = request_id.or_else(|| text(&body, "request_id"));
    Err(CloudError::new(
        Cloud::Huawei,
        super::errors::kind_of(&code, response.status),
        code,
        message.unwrap_or_default(),
    )
    .with_request_id(request_id)
    .with_http_status(response.status))
}

/// IMS image ids are UUIDs (8-4-4-4-12 hexadecimal digits).
pub fn image_id(field: &str, value: &str) -> Result<(), ValidationError> {
    let groups: Vec<&str> = value.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip(lengths)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            format!("must be an IMS image id (a UUID), got `{value}`"),
        ))
    }
}
