//! Alibaba Cloud: ECS (ACS3-HMAC-SHA256), OSS. What imgflow needs to know of the cloud (see [`crate::provider`]).

use std::time::Duration;

use serde_json::Value;

use super::Acs3Signer;
use crate::Cloud;
use crate::client::CloudClient;
use crate::error::{CloudError, ValidationError};
use crate::model::{TaskKind, TaskRef, TaskStatus};
use crate::operation::BoxFuture;
use crate::protocol::{text, unreadable, with_status};
use crate::provider::{CredentialVariables, Provider};
use crate::select::{ListedImage, Selector};
use crate::signing::{HttpRequest, Signature, Signer, SigningError, SigningParams};
use crate::transport::RawResponse;

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

    fn sign(
        &self,
        request: &HttpRequest,
        signed_headers: &[&str],
        params: &SigningParams<'_>,
    ) -> Result<Signature, SigningError> {
        Acs3Signer::sign(request, signed_headers, params)
    }

    fn prepare(
        &self,
        request: &mut HttpRequest,
        params: &SigningParams<'_>,
    ) -> Result<Signature, SigningError> {
        Acs3Signer::prepare(request, params)
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
        super::request::image_id(field, value)
    }

    fn list<'a>(
        &'a self,
        client: &'a CloudClient,
        region: &'a str,
        selector: &'a Selector,
        _now: u64,
    ) -> BoxFuture<'a, Result<(Vec<ListedImage>, usize), CloudError>> {
        Box::pin(super::api::list::list(client, region, selector))
    }

    fn describe<'a>(
        &'a self,
        client: &'a CloudClient,
        region: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ListedImage>, CloudError>> {
        Box::pin(super::api::list::describe(client, region, id))
    }

    fn status<'a>(
        &'a self,
        client: &'a CloudClient,
        tasks: &'a [TaskRef],
    ) -> BoxFuture<'a, Vec<Result<TaskStatus, CloudError>>> {
        Box::pin(super::api::status(client, tasks))
    }

    /// CancelCopyImage stops a copy; ECS has no cancel for an export.
    fn cancel<'a>(
        &'a self,
        client: &'a CloudClient,
        task: &'a TaskRef,
    ) -> Option<BoxFuture<'a, Result<(), CloudError>>> {
        (task.kind == TaskKind::Copy).then(|| {
            Box::pin(super::api::cancel_copy(client, task)) as BoxFuture<'a, Result<(), CloudError>>
        })
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
