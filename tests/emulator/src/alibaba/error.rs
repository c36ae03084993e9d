//! Alibaba's answers: a flat JSON object with `RequestId` on success, and on error an HTTP
//! 4xx/5xx with `{RequestId, HostId, Code, Message, Recommend}`, which is what the SDK's
//! `do_request` reads (`Code`, `Message`, `RequestId`; WIRE.md §2.1). The request id also goes
//! in the `x-acs-request-id` header, as the service sends it.

use serde_json::{Map, Value, json};

use crate::http::ApiResponse;
use crate::world::World;

use super::regions;

/// An error as the service reports it: HTTP status, code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcsError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl AcsError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// `MissingParameter`, worded as seed 003 words it.
    pub fn missing(name: &str) -> Self {
        Self::new(
            400,
            "MissingParameter",
            format!(
                "An input parameter {name} that is mandatory for processing the request is not supplied."
            ),
        )
    }

    /// The ECS-wide unknown-region error; its HTTP status differs between actions' pages.
    pub fn region_not_found(status: u16) -> Self {
        Self::new(
            status,
            "InvalidRegionId.NotFound",
            "The specified RegionId does not exist.",
        )
    }

    pub fn dry_run_passed() -> Self {
        Self::new(
            400,
            "DryRunOperation",
            "Request validation has been passed with DryRun flag set.",
        )
    }

    pub fn client_token_invalid() -> Self {
        Self::new(
            400,
            "InvalidClientToken.ValueNotSupported",
            "The ClientToken provided is invalid.",
        )
    }

    pub fn client_token_reused() -> Self {
        Self::new(
            400,
            "IdempotenceParamNotMatch",
            "Request uses a client token in a previous request but is not identical to that request.",
        )
    }
}

/// A fresh request id in Alibaba's upper-case form.
pub fn request_id(world: &mut World) -> String {
    world.request_id().to_ascii_uppercase()
}

/// Renders an error; `region` picks the `HostId` the answer names.
pub fn error_response(request_id: &str, region: Option<&str>, error: &AcsError) -> ApiResponse {
    let body = json!({
        "RequestId": request_id,
        "HostId": regions::endpoint(region),
        "Code": error.code,
        "Message": error.message,
        "Recommend": format!(
            "https://api.aliyun.com/troubleshoot?q={}&product=Ecs&requestId={request_id}",
            error.code
        ),
    });
    with_acs_headers(ApiResponse::json(error.status, &body), request_id)
}

/// Renders a success: the action's fields plus `RequestId`, HTTP 200.
pub fn success_response(request_id: &str, mut fields: Map<String, Value>) -> ApiResponse {
    fields.insert("RequestId".to_owned(), Value::String(request_id.to_owned()));
    with_acs_headers(ApiResponse::json(200, &Value::Object(fields)), request_id)
}

fn with_acs_headers(response: ApiResponse, request_id: &str) -> ApiResponse {
    response
        .with_header("Content-Type", "application/json;charset=utf-8")
        .with_header("x-acs-request-id", request_id)
}
