//! Tencent's error answer: always HTTP 200, `Content-Type: application/json` exactly (the SDK
//! skips error detection for any other value), `{"Response":{"Error":{Code,Message},RequestId}}`.

use serde_json::{Map, Value, json};

use crate::http::ApiResponse;

/// One API 3.0 error: the code clients branch on and a human-readable message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcError {
    pub code: &'static str,
    pub message: String,
}

impl TcError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn missing(parameter: &str) -> Self {
        Self::new(
            "MissingParameter",
            format!("The request is missing a required parameter `{parameter}`."),
        )
    }

    /// A value of the wrong JSON type (or, in the query form, one that does not parse).
    pub fn wrong_type(parameter: &str, expected: &str) -> Self {
        Self::new(
            "InvalidParameter",
            format!("The value type of parameter `{parameter}` is invalid; expected {expected}."),
        )
    }

    pub fn invalid_value(parameter: &str, why: impl std::fmt::Display) -> Self {
        Self::new(
            "InvalidParameterValue",
            format!("The value of parameter `{parameter}` is invalid: {why}."),
        )
    }

    /// `DryRun=true` and every check passed: Tencent answers with this error.
    pub fn dry_run() -> Self {
        Self::new(
            "DryRunOperation",
            "The request would have succeeded, but the DryRun parameter was used.",
        )
    }
}

/// The error answer.
pub fn error_response(request_id: &str, error: &TcError) -> ApiResponse {
    ApiResponse::json(
        200,
        &json!({
            "Response": {
                "Error": {"Code": error.code, "Message": error.message},
                "RequestId": request_id,
            }
        }),
    )
}

/// The success answer: the action's fields plus `RequestId`, under `Response`.
pub fn success_response(request_id: &str, mut fields: Map<String, Value>) -> ApiResponse {
    fields.insert("RequestId".into(), Value::String(request_id.to_owned()));
    ApiResponse::json(200, &json!({ "Response": fields }))
}
