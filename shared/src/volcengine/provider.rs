//! Volcengine: ECS (HMAC-SHA256 V4), TOS. What imgflow needs to know of the cloud (see [`crate::provider`]).

use serde_json::Value;

use super::VolcSigner;
use crate::Cloud;
use crate::answer::{text, unreadable, with_status};
use crate::error::{CloudError, ValidationError};
use crate::provider::{CredentialVariables, Provider};
use crate::signing::SignerFns;
use crate::transport::RawResponse;
use crate::validate;

/// Volcengine regions served from their own host rather than `open.volcengineapi.com`
/// (the SDK's bootstrap list).
const OWN_HOST_REGIONS: [&str; 5] = [
    "cn-beijing-autodriving",
    "ap-southeast-2",
    "ap-southeast-3",
    "cn-shanghai-autodriving",
    "cn-beijing-selfdrive",
];

pub struct Volcengine;

impl Provider for Volcengine {
    fn cloud(&self) -> Cloud {
        Cloud::Volcengine
    }

    fn display_name(&self) -> &'static str {
        "Volcengine"
    }

    fn regions(&self) -> &'static [&'static str] {
        super::regions::REGIONS
    }

    fn credential_variables(&self) -> CredentialVariables {
        CredentialVariables {
            key_id: "VOLCENGINE_ACCESS_KEY",
            secret: "VOLCENGINE_SECRET_KEY",
            session_token: "VOLCENGINE_SESSION_TOKEN",
        }
    }

    fn api_host(&self, region: &str) -> String {
        if OWN_HOST_REGIONS.contains(&region) {
            format!("ecs.{region}.volcengineapi.com")
        } else {
            "open.volcengineapi.com".to_owned()
        }
    }

    fn object_host(&self, bucket: &str, region: &str) -> String {
        format!("{bucket}.tos-s3-{region}.volces.com")
    }

    fn signer(&self) -> SignerFns {
        SignerFns::of::<VolcSigner>()
    }

    fn parse(&self, response: &RawResponse, json: Option<Value>) -> Result<Value, CloudError> {
        parse_answer(response, json)
    }

    /// `TagFilters.N`; 10 kept, as on Tencent.
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

/// Volcengine: `ResponseMetadata.Error` marks a failure, whatever the status.
fn parse_answer(response: &RawResponse, json: Option<Value>) -> Result<Value, CloudError> {
    let Some(body) = json else {
        return Err(unreadable(Cloud::Volcengine, response));
    };
    let metadata = body.get("ResponseMetadata");
    let request_id = metadata.and_then(|m| text(m, "RequestId"));
    match metadata.and_then(|m| m.get("Error")) {
        None if (200..300).contains(&response.status) => Ok(body
            .get("Result")
            .cloned()
            .unwrap_or(Value::Object(Default::default()))),
        None => Err(unreadable(Cloud::Volcengine, response)),
        Some(error) => {
            let code = text(error, "Code").unwrap_or_default();
            let kind = with_status(super::errors::kind_of(&code), response.status);
            Err(CloudError::new(
                Cloud::Volcengine,
                kind,
                code,
                text(error, "Message").unwrap_or_default(),
            )
            .with_request_id(request_id)
            .with_http_status(response.status))
        }
    }
}

/// `image-` and lowercase letters or digits.
pub fn image_id(field: &str, value: &str) -> Result<(), ValidationError> {
    validate::resource_id(field, value, "image-", 8)
}
