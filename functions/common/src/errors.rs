//! The stable error names the functions report ([`ErrorName`], the closed set) (lambda_runtime's `Diagnostic.error_type`):
//! the state machine's Retry and Catch match on them, so they never change.
//!
//! | name | meaning | state machine |
//! | --- | --- | --- |
//! | `Request.Invalid` | the event or job breaks a rule; the message names the field | Catch |
//! | `Config.Invalid` | the function's configuration or secret is missing or malformed | Catch |
//! | `Cloud.Throttled` | the cloud asked us to slow down, retries were spent | Retry |
//! | `Cloud.Transient` | a server or network failure a retry may cure | Retry |
//! | `Cloud.Quota` | an account limit (running exports, queued copies) | Retry, long interval |
//! | `Cloud.Conflict` | the image is busy with another operation (code `Start.Unconfirmed`: an export that cannot be listed holds it, and may be this item's) | Retry, long interval |
//! | `Cloud.UnknownOutcome` | a start may have taken effect and cannot be confirmed: never repeated blindly | Catch |
//! | `Cloud.Rejected` | the cloud refused for good (not found, permission, invalid, unsupported) | Catch |
//! | `Aws.Error` | a Step Functions or Secrets Manager call failed | Lambda retries (events) |
//! | `Trigger.Unsupported` | the event is of a trigger no function takes (envelope.rs) | — (a queue retries, then dead-letters) |
//!
//! The state machine's own Fail states add `Task.Failed`, `Task.PartiallyFailed` and
//! `Task.TimedOut`.

use imgflow_shared::error::{CloudError, ErrorKind, ValidationError};
use imgflow_shared::error_name::ErrorName;
use imgflow_shared::operations::StartError;
use lambda_runtime::Diagnostic;

/// An error a handler returns: its stable name and a message for people.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct FunctionError {
    /// The wire value of an [`ErrorName`] (only [`FunctionError::new`] builds one); kept a
    /// string so that callers and tests compare and log it as the name Lambda reports.
    pub name: &'static str,
    pub message: String,
}

impl FunctionError {
    pub fn new(name: ErrorName, message: impl Into<String>) -> Self {
        Self {
            name: name.as_str(),
            message: message.into(),
        }
    }

    pub fn invalid(error: &ValidationError) -> Self {
        Self::new(ErrorName::RequestInvalid, error.to_string())
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorName::ConfigInvalid, message)
    }

    /// A cloud's error under the name of its kind; the message keeps the cloud's code,
    /// message and request id.
    pub fn cloud(error: &CloudError) -> Self {
        Self::new(cloud_error_name(error.kind), error.to_string())
    }
}

pub fn cloud_error_name(kind: ErrorKind) -> ErrorName {
    match kind {
        ErrorKind::Throttled => ErrorName::CloudThrottled,
        ErrorKind::Transient => ErrorName::CloudTransient,
        ErrorKind::Quota => ErrorName::CloudQuota,
        ErrorKind::Conflict => ErrorName::CloudConflict,
        ErrorKind::UnknownOutcome => ErrorName::CloudUnknownOutcome,
        ErrorKind::InvalidRequest
        | ErrorKind::NotFound
        | ErrorKind::Permission
        | ErrorKind::Unsupported => ErrorName::CloudRejected,
    }
}

impl From<StartError> for FunctionError {
    fn from(error: StartError) -> Self {
        match error {
            StartError::Invalid(invalid) => Self::invalid(&invalid),
            StartError::Cloud(cloud) => Self::cloud(&cloud),
        }
    }
}

impl From<FunctionError> for Diagnostic {
    fn from(error: FunctionError) -> Self {
        Diagnostic {
            error_type: error.name.to_owned(),
            error_message: error.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgflow_shared::Cloud;

    #[test]
    fn every_cloud_error_kind_has_a_stable_name() {
        let cases = [
            (ErrorKind::Throttled, "Cloud.Throttled"),
            (ErrorKind::Transient, "Cloud.Transient"),
            (ErrorKind::Quota, "Cloud.Quota"),
            (ErrorKind::Conflict, "Cloud.Conflict"),
            (ErrorKind::UnknownOutcome, "Cloud.UnknownOutcome"),
            (ErrorKind::InvalidRequest, "Cloud.Rejected"),
            (ErrorKind::NotFound, "Cloud.Rejected"),
            (ErrorKind::Permission, "Cloud.Rejected"),
            (ErrorKind::Unsupported, "Cloud.Rejected"),
        ];
        for (kind, name) in cases {
            let error = CloudError::new(Cloud::Alibaba, kind, "Some.Code", "words")
                .with_request_id(Some("req-1".into()));
            let diagnostic = Diagnostic::from(FunctionError::cloud(&error));
            assert_eq!(diagnostic.error_type, name);
            assert!(diagnostic.error_message.contains("Some.Code"));
            assert!(diagnostic.error_message.contains("words"));
            assert!(diagnostic.error_message.contains("req-1"));
        }
    }
}
