//! Huawei's two error shapes and every code the emulator answers with.
//!
//! The API gateway answers flat: `{"error_code","error_msg","request_id"}`; IMS answers nested:
//! `{"error":{"code","message"}}`. The SDK (`DefaultExceptionHandler`) reads either, and takes
//! the request id only from the `X-Request-Id` header, so every answer carries that header.
//! IMS codes and messages are those of the IMS error-code page (ims_03_0908); the HTTP status
//! is that page's 400 unless the seed page documents another status for the condition.

use serde_json::{Value, json};

use crate::http::ApiResponse;

/// An IMS business error with its documented code and message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImsError {
    pub status: u16,
    pub code: &'static str,
    pub message: &'static str,
}

const fn ims(status: u16, code: &'static str, message: &'static str) -> ImsError {
    ImsError {
        status,
        code,
        message,
    }
}

pub const MALFORMED_REQUEST: ImsError =
    ims(400, "IMG.0001", "The request message format is invalid.");
pub const NAME_TOO_LONG: ImsError = ims(
    400,
    "IMG.0002",
    "The image name contains more than 128 characters.",
);
pub const NAME_INVALID: ImsError = ims(400, "IMG.0003", "The image name format is invalid.");
pub const DESCRIPTION_TOO_LONG: ImsError = ims(
    400,
    "IMG.0004",
    "The description contains more than 1024 characters.",
);
pub const EMPTY_BODY: ImsError = ims(400, "IMG.0007", "The request body is empty.");
pub const NAME_MISSING: ImsError = ims(400, "IMG.0013", "The image name is not specified.");
pub const URL_INVALID: ImsError = ims(400, "IMG.0017", "The URL format is incorrect.");
pub const IMAGE_TYPE_INVALID: ImsError = ims(400, "IMG.0024", "The imagetype is invalid.");
/// The seed's "403 Forbidden: no permission": the caller may not write into the bucket (the
/// seed requires OBS Tenant Administrator).
pub const NO_BUCKET_PERMISSION: ImsError = ims(
    403,
    "IMG.0026",
    "The role is invalid,maybe need to apply for permission or real-name authentication.",
);
/// The seed's "404 Not Found".
pub const IMAGE_NOT_FOUND: ImsError = ims(
    404,
    "IMG.0027",
    "The image ID in the request does not exist.",
);
pub const IMAGE_UNAVAILABLE: ImsError = ims(400, "IMG.0046", "The image is unavailable.");
pub const DESCRIPTION_INVALID: ImsError =
    ims(400, "IMG.0054", "The image description format is invalid.");
pub const BUCKET_OTHER_REGION: ImsError = ims(
    400,
    "IMG.0058",
    "The region of the bucket where the image file is stored is inconsistent with that of the user.",
);
pub const IMAGE_TOO_LARGE: ImsError = ims(
    400,
    "IMG.0059",
    "The size of the image file exceeds the maximum allowed.",
);
pub const TOO_MANY_TASKS: ImsError = ims(
    400,
    "IMG.0060",
    "The number of tasks exceeds the flow control limit.",
);
pub const IMAGE_ID_INVALID: ImsError = ims(400, "IMG.0066", "The image ID is incorrect.");
pub const PROJECT_ID_INVALID: ImsError = ims(400, "IMG.0067", "The project ID is incorrect.");
pub const BUCKET_NAME_EMPTY: ImsError = ims(400, "IMG.0068", "The specified bucket name is empty.");
pub const BUCKET_INACCESSIBLE: ImsError =
    ims(400, "IMG.0069", "The specified bucket cannot be accessed.");
pub const FILE_EXISTS: ImsError = ims(
    400,
    "IMG.0070",
    "The image file already exists. Confirm the file in the corresponding directory of the OBS bucket or in the OBS bucket.",
);
pub const NOT_EXPORTABLE: ImsError = ims(400, "IMG.0071", "The image cannot be exported.");
pub const FORMAT_UNSUPPORTED: ImsError = ims(
    400,
    "IMG.0072",
    "The specified image format is not supported.",
);
pub const FILE_NAME_EMPTY: ImsError =
    ims(400, "IMG.0073", "The name of the exported file is empty.");
pub const FILE_NAME_TOO_LONG: ImsError =
    ims(400, "IMG.0074", "The file name length exceeds the limit.");
pub const FILE_NAME_INVALID: ImsError = ims(
    400,
    "IMG.0075",
    "The file name contains invalid characters.",
);
pub const PUBLIC_NOT_EXPORTABLE: ImsError =
    ims(400, "IMG.0077", "The public image cannot be exported.");
pub const MARKET_NOT_EXPORTABLE: ImsError = ims(
    400,
    "IMG.0078",
    "The Marketplace image or private image created from a Marketplace image cannot be exported.",
);
pub const MARKER_NOT_FOUND: ImsError = ims(400, "IMG.0086", "No image was found.");
pub const OPERATION_UNSUPPORTED: ImsError = ims(400, "IMG.0105", "The operation is not supported.");
pub const OWNED_BY_OTHER_TENANT: ImsError =
    ims(400, "IMG.0106", "The image owner is another tenant.");
pub const BUCKET_NAME_INVALID: ImsError = ims(
    400,
    "IMG.0109",
    "The bucket name contains invalid characters.",
);
pub const JOB_NOT_FOUND: ImsError = ims(404, "IMG.0121", "The object cannot be found.");
pub const FULL_ECS_NOT_EXPORTABLE: ImsError =
    ims(400, "IMG.0128", "The full-ECS image cannot be exported.");
pub const FULL_ECS_NOT_COPYABLE: ImsError = ims(
    400,
    "IMG.0130",
    "The full-ECS image cannot be exported or replicated.",
);
pub const PROJECT_NAME_INVALID: ImsError = ims(400, "IMG.0145", "The project name is incorrect.");
pub const IMAGE_BUSY: ImsError = ims(400, "IMG.0148", "The image is being exported.");
pub const ONLY_SMALL_EXPORTS: ImsError = ims(
    400,
    "IMG.0160",
    "Only images less than 128 GB can be exported.",
);
pub const FILE_NAME_HAS_SPACE: ImsError = ims(
    400,
    "IMG.0175",
    "The folder name and image file name cannot contain spaces.",
);
/// What an injected server error answers.
pub const INTERNAL: ImsError = ims(500, "IMG.0061", "Unknown system error.");

/// Why a job failed partway (`export_fails` / `copy_fails` images).
pub const JOB_FAILURE: ImsError = ims(
    400,
    "IMG.0014",
    "An exception occurred when IaaS OpenStack was executing the task.",
);

/// An API-gateway error: routing, authentication, throttling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

/// `APIGW.0301`, with the sub-reason after the colon as the gateway words it.
pub fn unauthorized(reason: &str) -> GatewayError {
    GatewayError {
        status: 401,
        code: "APIGW.0301",
        message: format!("Incorrect IAM authentication information: {reason}"),
    }
}

pub fn api_not_found() -> GatewayError {
    GatewayError {
        status: 404,
        code: "APIGW.0101",
        message: "The API does not exist or has not been published in the environment.".to_owned(),
    }
}

pub fn throttled(limit: u32) -> GatewayError {
    GatewayError {
        status: 429,
        code: "APIGW.0308",
        message: format!(
            "The throttling threshold has been reached: policy user over ratelimit,limit:{limit},time:1 second"
        ),
    }
}

/// Either shape, as a handler fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    Gateway(GatewayError),
    Ims(ImsError),
}

impl From<ImsError> for ApiError {
    fn from(error: ImsError) -> Self {
        ApiError::Ims(error)
    }
}

impl From<GatewayError> for ApiError {
    fn from(error: GatewayError) -> Self {
        ApiError::Gateway(error)
    }
}

impl ApiError {
    pub fn into_response(self, request_id: &str) -> ApiResponse {
        match self {
            ApiError::Gateway(error) => answer(
                error.status,
                &json!({
                    "error_code": error.code,
                    "error_msg": error.message,
                    "request_id": request_id,
                }),
                request_id,
            ),
            ApiError::Ims(error) => answer(
                error.status,
                &json!({"error": {"code": error.code, "message": error.message}}),
                request_id,
            ),
        }
    }
}

/// A JSON answer with the request id where the SDK looks for it.
pub fn answer(status: u16, body: &Value, request_id: &str) -> ApiResponse {
    ApiResponse::json(status, body)
        .with_header("Content-Type", "application/json;charset=UTF-8")
        .with_header("X-Request-Id", request_id)
}
