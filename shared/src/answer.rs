//! What every cloud's answer parser (its provider's `parse`) shares: reading a text field,
//! an answer that is not the cloud's JSON, and the HTTP status's say over an error's kind.

use serde_json::Value;

use crate::Cloud;
use crate::error::{CloudError, ErrorKind};
use crate::transport::RawResponse;

pub(crate) fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// An answer that is not the cloud's JSON: a proxy page, a cut-off body, an unexpected status.
pub(crate) fn unreadable(cloud: Cloud, response: &RawResponse) -> CloudError {
    let kind = match response.status {
        429 => ErrorKind::Throttled,
        // A 2xx whose body cannot be read may have done its work: the caller must look.
        200..=299 => ErrorKind::UnknownOutcome,
        _ => ErrorKind::Transient,
    };
    CloudError::new(
        cloud,
        kind,
        "Response.Unreadable",
        format!(
            "HTTP {} with an answer that is not the expected JSON",
            response.status
        ),
    )
    .with_http_status(response.status)
}

/// 429 is throttling and a 5xx transient whatever the code says; other statuses keep the
/// code's kind.
pub(crate) fn with_status(kind: ErrorKind, status: u16) -> ErrorKind {
    match status {
        429 => ErrorKind::Throttled,
        500..=599 if kind == ErrorKind::InvalidRequest => ErrorKind::Transient,
        _ => kind,
    }
}
