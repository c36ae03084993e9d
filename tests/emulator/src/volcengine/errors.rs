//! Volcengine's error codes, with the HTTP status and `CodeN` each is documented with.
//!
//! Gateway codes and their messages follow the platform's common error page
//! (volcengine.com/docs/6408/78947) and `CodeN` values the platform page 6369/68677;
//! the ExportImage codes and messages are the seed page's (001). `CodeN` is 0 where no
//! source gives a number (the SDK never reads it).

/// An error answer: `ResponseMetadata.Error{Code, CodeN, Message}` with its HTTP status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub code_n: u32,
    pub message: String,
}

impl ApiError {
    fn new(status: u16, code: &'static str, code_n: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            code_n,
            message: message.into(),
        }
    }
}

// Gateway (authentication, routing, throttling).

pub fn missing_parameter(name: &str) -> ApiError {
    ApiError::new(
        400,
        "MissingParameter",
        100_002,
        format!("The request is missing {name} parameter."),
    )
}

pub fn missing_request_info(what: &str) -> ApiError {
    ApiError::new(
        400,
        "MissingRequestInfo",
        100_004,
        format!("The request is missing {what} information."),
    )
}

pub fn invalid_authorization() -> ApiError {
    ApiError::new(
        400,
        "InvalidAuthorization",
        0,
        "Invalid 'Authorization' header, Pls check authorization header.",
    )
}

pub fn invalid_credential() -> ApiError {
    ApiError::new(
        400,
        "InvalidCredential",
        0,
        "Invalid credential in 'Authorization', Pls check credential in authorization header.",
    )
}

pub fn missing_authentication_token() -> ApiError {
    ApiError::new(
        401,
        "MissingAuthenticationToken",
        0,
        "Request is missing Authentication Token",
    )
}

pub fn missing_signature() -> ApiError {
    ApiError::new(
        401,
        "MissingSignature",
        0,
        "The request is missing signature.",
    )
}

pub fn invalid_access_key(access_key_id: &str) -> ApiError {
    ApiError::new(
        401,
        "InvalidAccessKey",
        100_009,
        format!("The accesskey [{access_key_id}] included in the request is invalid."),
    )
}

pub fn signature_does_not_match() -> ApiError {
    ApiError::new(
        401,
        "SignatureDoesNotMatch",
        100_010,
        "The request signature we calculated does not match the signature you provided. \
         Check your Secret Access Key and signing method. Consult the service documentation \
         for details.",
    )
}

pub fn invalid_secret_token(reason: &str) -> ApiError {
    ApiError::new(
        401,
        "InvalidSecretToken",
        100_026,
        format!("Invalid secret token, msg: {reason}."),
    )
}

pub fn invalid_timestamp() -> ApiError {
    ApiError::new(
        403,
        "InvalidTimestamp",
        100_006,
        "The Signature of the request is expired",
    )
}

pub fn service_not_found(service: &str) -> ApiError {
    ApiError::new(
        404,
        "ServiceNotFound",
        100_007,
        format!("Could not find the service {service}."),
    )
}

pub fn invalid_action_or_version(action: &str, version: &str) -> ApiError {
    ApiError::new(
        404,
        "InvalidActionOrVersion",
        100_008,
        format!("Could not find operation {action} for version {version}"),
    )
}

/// The throttling answer: the emulator's choice of code (WIRE.md §3.6), HTTP 429 which the
/// SDK retries.
pub fn flow_limit_exceeded() -> ApiError {
    ApiError::new(
        429,
        "AccountFlowLimitExceeded",
        100_027,
        "Request was rejected because the request speed of the account is beyond the current \
         flow control limit.",
    )
}

pub fn internal_error() -> ApiError {
    ApiError::new(
        500,
        "InternalError",
        100_014,
        "An internal error has occurred.",
    )
}

// ECS business codes (seed 001, and the CopyImage page 6396/124454).

/// `MissingParameter.<Name>` for a required business parameter absent or empty.
pub fn missing_business_parameter(name: &'static str) -> ApiError {
    let code = match name {
        "ImageId" => "MissingParameter.ImageId",
        "TOSBucket" => "MissingParameter.TOSBucket",
        "TOSPrefix" => "MissingParameter.TOSPrefix",
        "DestinationRegion" => "MissingParameter.DestinationRegion",
        "ImageName" => "MissingParameter.ImageName",
        _ => "MissingParameter",
    };
    ApiError::new(
        400,
        code,
        0,
        format!("The required parameter {name} is not supplied."),
    )
}

pub fn image_not_supported_for_export() -> ApiError {
    ApiError::new(
        400,
        "InvalidImageForExportImage.UnSupported",
        0,
        "The specified image cannot be used for ExportImage.",
    )
}

/// Emulator choice, by analogy with the ExportImage code: public and shared images are not
/// the caller's custom images and cannot be copied.
pub fn image_not_supported_for_copy() -> ApiError {
    ApiError::new(
        400,
        "InvalidImageForCopyImage.UnSupported",
        0,
        "The specified image cannot be used for CopyImage.",
    )
}

pub fn invalid_image_status() -> ApiError {
    ApiError::new(
        400,
        "InvalidImageStatus",
        0,
        "The specified image is not in the correct status for the request.",
    )
}

pub fn invalid_tos_prefix() -> ApiError {
    ApiError::new(
        400,
        "InvalidTOSPrefix.Malformed",
        0,
        "The specified TOSPrefix is malformed.",
    )
}

pub fn tos_put_object_denied() -> ApiError {
    ApiError::new(
        400,
        "InvalidTosPutObject.AccessDenied",
        0,
        "The Action tos:PutObject is not authorized for ecs, please check your IAM policy of ecs.",
    )
}

pub fn image_not_found() -> ApiError {
    ApiError::new(
        404,
        "InvalidImage.NotFound",
        0,
        "The specified image does not exist.",
    )
}

pub fn tos_bucket_not_found() -> ApiError {
    ApiError::new(
        404,
        "InvalidTOSBucket.NotFound",
        0,
        "The specified TOSBucket does not exist.",
    )
}

pub fn resource_locked() -> ApiError {
    ApiError::new(
        412,
        "OperationDenied.ResourceLocked",
        0,
        "The specified operation is denied as your resource is locked for another operation.",
    )
}

/// The one code the CopyImage page documents; used for every malformed argument that has
/// no code of its own (CopyImage names and regions, list lengths, page sizes, tokens).
pub fn invalid_argument() -> ApiError {
    ApiError::new(
        400,
        "InvalidArgument",
        0,
        "The specified argument is invalid.",
    )
}

/// Emulator choice: no source names the code for too many export tasks at once.
pub fn export_quota_exceeded(limit: usize) -> ApiError {
    ApiError::new(
        400,
        "QuotaExceeded.ExportImageTask",
        0,
        format!("The number of running ExportImage tasks exceeds the quota of {limit}."),
    )
}
