//! One error type for every cloud: a kind the caller can act on, whether a retry can help,
//! and the cloud's own code, message and request id, kept verbatim.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Cloud;

/// What went wrong, in terms a caller can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request breaks a rule of the cloud's API; sending it again cannot help.
    InvalidRequest,
    /// The image, bucket, task or region does not exist.
    NotFound,
    /// Authentication failed or the caller (or the cloud's service role) may not do this.
    Permission,
    /// The resource is busy with another operation or in the wrong state; later may work.
    Conflict,
    /// An account limit or quota is reached.
    Quota,
    /// The cloud asked us to slow down.
    Throttled,
    /// A server or network failure that a retry may cure.
    Transient,
    /// The cloud does not support this for this image or region.
    Unsupported,
    /// A start request may or may not have taken effect (timeout or reset after sending).
    UnknownOutcome,
}

impl ErrorKind {
    /// Whether repeating the same request after a short backoff is expected to succeed.
    /// A conflict (busy image) may clear, but only on the cloud's own time: callers wait for
    /// it through their status loop, not through a quick retry.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Throttled | ErrorKind::Transient)
    }

    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Permission => "permission",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Quota => "quota",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Transient => "transient",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::UnknownOutcome => "unknown_outcome",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The code, on every cloud, of a task reference that cannot be followed: one of another
/// cloud, one that lacks what its status check needs (a task id, a destination, the objects),
/// or one whose parts do not fit together (a malformed image id, a job of the other kind).
/// Such a reference was not made by these starts, so no retry can help
/// ([`ErrorKind::InvalidRequest`]). A reference the cloud answers about, saying it knows no
/// such task, is `Task.NotFound` ([`ErrorKind::NotFound`]) instead. The message says what
/// was missing or wrong.
///
/// Its wire value is matched by callers and dashboards, like the names of
/// [`crate::error_name`]; it replaced `TaskRef.Incomplete`, `TaskRef.WrongCloud`,
/// `Task.Invalid` (Alibaba) and Huawei's `Task.WrongCloud`, `Task.NoObjects`,
/// `Task.NoDestinationImage` and `Task.KindMismatch`.
pub const TASK_REF_INVALID: &str = "TaskRef.Invalid";

/// The code of a task (or the image a copy makes) the cloud no longer knows, whatever the
/// cloud's own answer was.
pub const TASK_NOT_FOUND: &str = "Task.NotFound";

/// An error a cloud answered (or the transport produced), with the cloud's own words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudError {
    pub cloud: Cloud,
    pub kind: ErrorKind,
    pub retryable: bool,
    /// The cloud's error code (`InvalidImageId.NotFound`), or a transport code of ours
    /// (`Transport.Timeout`) when the cloud never answered.
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    pub http_status: Option<u16>,
    /// How long the cloud asked us to wait, when it said.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "optional_seconds"
    )]
    pub retry_after: Option<Duration>,
}

impl CloudError {
    pub fn new(
        cloud: Cloud,
        kind: ErrorKind,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            cloud,
            kind,
            retryable: kind.is_retryable(),
            code: code.into(),
            message: message.into(),
            request_id: None,
            http_status: None,
            retry_after: None,
        }
    }

    /// A task reference `cloud` cannot follow ([`TASK_REF_INVALID`]); `message` says why.
    pub fn task_ref_invalid(cloud: Cloud, message: impl Into<String>) -> Self {
        Self::new(cloud, ErrorKind::InvalidRequest, TASK_REF_INVALID, message)
    }

    /// A task (or the image a copy makes) `cloud` no longer knows ([`TASK_NOT_FOUND`]).
    pub fn task_not_found(cloud: Cloud, message: impl Into<String>) -> Self {
        Self::new(cloud, ErrorKind::NotFound, TASK_NOT_FOUND, message)
    }

    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    pub fn with_http_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }
}

impl fmt::Display for CloudError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {} ({})",
            self.cloud, self.kind, self.code, self.message
        )?;
        if let Some(request_id) = &self.request_id {
            write!(f, " [request id {request_id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for CloudError {}

/// A request that breaks a documented rule: nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct ValidationError {
    /// The request field, as it is spelled in the request JSON (`file_name_prefixes[1]`).
    pub field: String,
    /// The rule it breaks, in words.
    pub rule: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            rule: rule.into(),
        }
    }
}

mod optional_seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_f64(d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    /// The longest hint kept: a day. A hint only ever delays one retry (by at most a minute,
    /// [`crate::retry::RetryPolicy`]), so anything longer says the same; larger numbers
    /// (`1e20`, which no `Duration` holds) are read as a day instead of failing or panicking.
    pub const MAX_SECONDS: f64 = 86_400.0;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let seconds: Option<f64> = Option::deserialize(d)?;
        Ok(seconds
            .filter(|s| s.is_finite() && *s >= 0.0)
            .and_then(|s| Duration::try_from_secs_f64(s.min(MAX_SECONDS)).ok()))
    }
}

/// Looks `code` up in `exact`, then treats `*.NotFound` as not found, then takes the longest
/// matching prefix (a prefix matches whole dot-separated segments); anything else is an
/// invalid request.
pub(crate) fn kind_by_table(
    code: &str,
    exact: &[(&str, ErrorKind)],
    prefixes: &[(&str, ErrorKind)],
) -> ErrorKind {
    if let Some((_, kind)) = exact.iter().find(|(known, _)| *known == code) {
        return *kind;
    }
    if code.ends_with(".NotFound") {
        return ErrorKind::NotFound;
    }
    prefixes
        .iter()
        .filter(|(prefix, _)| {
            code == *prefix
                || code
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('.'))
        })
        .max_by_key(|(prefix, _)| prefix.len())
        .map_or(ErrorKind::InvalidRequest, |(_, kind)| *kind)
}

/// Credentials that cannot be loaded, naming the variable or document field at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("credentials: {0}")]
    Json(String),
    #[error("credentials: {variable} is set but {missing} is not")]
    Incomplete { variable: String, missing: String },
    #[error("credentials: {variable}: expected `region=project_id,...`, got `{value}`")]
    ProjectList { variable: String, value: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// State input carries errors back in (`check_error`): no number in it may panic.
    #[test]
    fn any_retry_after_number_reads_without_panicking() {
        let read = |seconds: &str| {
            let text = format!(
                r#"{{"cloud":"tencent","kind":"throttled","retryable":true,"code":"C","message":"m",
                    "request_id":null,"http_status":null,"retry_after":{seconds}}}"#
            );
            serde_json::from_str::<CloudError>(&text).map(|e| e.retry_after)
        };
        assert_eq!(read("1.5").ok(), Some(Some(Duration::from_millis(1500))));
        assert_eq!(read("1e20").ok(), Some(Some(Duration::from_secs(86_400))));
        assert_eq!(
            read("1.7e308").ok(),
            Some(Some(Duration::from_secs(86_400)))
        );
        assert_eq!(read("-3").ok(), Some(None));
        assert!(read("\"soon\"").is_err());
    }
}
