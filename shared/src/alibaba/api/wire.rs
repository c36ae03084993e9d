//! The ECS 2014-05-26 RPC wire as the official SDK speaks it: `POST /` with every business
//! parameter in the query string (RFC 3986-encoded), the action in `x-acs-action`, the version
//! in `x-acs-version`, an empty body. The signer adds the date, nonce, content hash and token.
//! Also the small readers of ECS answers the operations share.

use serde_json::Value;

use crate::Cloud;
use crate::batch;
use crate::client::{CloudClient, Repeat};
use crate::error::{CloudError, ErrorKind};
use crate::model::{TaskRef, TaskState, TaskStatus};
use crate::signing::{HttpRequest, Timestamp, uri_encode};

pub(super) const CLOUD: Cloud = Cloud::Alibaba;
/// Unused by ACS3 (no scope in the signature); kept for the client's interface.
const SERVICE: &str = "ecs";
const VERSION: &str = "2014-05-26";

/// DescribeTasks takes at most 100 `TaskIds`/`ResourceIds`, and pages hold at most 100 rows.
pub(super) const MAX_IDS: usize = 100;
pub(super) const PAGE_SIZE: &str = "100";

// Action names: the client paces by them and the emulator's stats count by them.
pub(super) const EXPORT_IMAGE: &str = "ExportImage";
pub(super) const COPY_IMAGE: &str = "CopyImage";
pub(super) const CANCEL_COPY_IMAGE: &str = "CancelCopyImage";
pub(super) const DESCRIBE_TASKS: &str = "DescribeTasks";
pub(super) const DESCRIBE_TASK_ATTRIBUTE: &str = "DescribeTaskAttribute";
pub(super) const DESCRIBE_IMAGES: &str = "DescribeImages";

/// RPC parameters in the order they are added; encoded once, when the request is built.
#[derive(Clone, Debug, Default)]
pub(super) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(super) fn region(region: &str) -> Self {
        Self::default().with("RegionId", region)
    }

    pub(super) fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.pairs.push((name.to_owned(), value.into()));
        self
    }

    /// Adds `name` only when there is a value: an absent optional parameter is not sent.
    pub(super) fn with_optional(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.with(name, value),
            None => self,
        }
    }

    fn encoded(&self) -> String {
        self.pairs
            .iter()
            .map(|(name, value)| format!("{}={}", uri_encode(name), uri_encode(value)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Sends `action` to ECS in `region` and returns the answer's body.
pub(super) async fn call(
    client: &CloudClient,
    action: &str,
    region: &str,
    query: &Query,
    repeat: Repeat,
) -> Result<Value, CloudError> {
    // The client fills in the host (from `region`); the signer adds its headers per attempt.
    let mut request = HttpRequest::new("POST", "", "/");
    request.query = query.encoded();
    request.set_header("x-acs-action", action);
    request.set_header("x-acs-version", VERSION);
    request.set_header("accept", "application/json");
    client
        .call(CLOUD, action, region, SERVICE, &request, repeat)
        .await
}

/// A string field of an answer.
pub(super) fn text<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).and_then(Value::as_str)
}

/// A non-empty string field of an answer.
pub(super) fn non_empty<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    text(value, key).filter(|s| !s.is_empty())
}

pub(super) fn request_id(document: &Value) -> Option<String> {
    text(document, "RequestId").map(str::to_owned)
}

/// The rows of ECS's two-level lists (`TaskSet.Task[]`, `Images.Image[]`); none when absent.
pub(super) fn rows<'v>(
    document: &'v Value,
    outer: &str,
    inner: &str,
) -> impl Iterator<Item = &'v Value> + use<'v> {
    document
        .get(outer)
        .and_then(|set| set.get(inner))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// `"37%"` (ECS's `TaskProcess` and `Progress`) as a percent; `None` when unreadable.
pub(super) fn percent(text: &str) -> Option<u8> {
    let number: f64 = text.trim().trim_end_matches('%').trim().parse().ok()?;
    number
        .is_finite()
        .then(|| number.clamp(0.0, 100.0).round() as u8)
}

/// A state word this client does not know: an error, never "still running", since guessing
/// could report a dead task as alive forever.
pub(super) fn unknown_state(what: &str, raw: &str, request_id: Option<String>) -> CloudError {
    CloudError::new(
        CLOUD,
        ErrorKind::Unsupported,
        "State.Unknown",
        format!("{what} is in state `{raw}`, which this client does not know"),
    )
    .with_request_id(request_id)
}

/// A TaskRef this module cannot follow (another cloud's, or one lacking the ids it needs).
pub(super) fn unusable_task(message: impl Into<String>) -> CloudError {
    CloudError::task_ref_invalid(CLOUD, message)
}

/// A status with `task` as given; the caller sets progress, reason and result as known.
pub(super) fn status(task: &TaskRef, state: TaskState, cloud_state: &str) -> TaskStatus {
    batch::plain_status(task.clone(), state, None, cloud_state)
}

/// `yyyy-MM-ddTHH:mm` of `unix`: the minute ECS's task times are precise to.
fn minute_of(unix: u64) -> String {
    let full = Timestamp::from_unix_seconds(unix).extended_iso8601();
    full.get(..16).unwrap_or_default().to_owned()
}

/// `started_at`'s minute as a DescribeTasks `StartTime` (`yyyy-MM-ddTHH:mm:ssZ`, UTC).
pub(super) fn start_time_filter(started_at: u64) -> String {
    Timestamp::from_unix_seconds(started_at - started_at % 60).extended_iso8601()
}

/// Whether an ECS creation time (`yyyy-MM-ddTHH:mmZ` or `yyyy-MM-ddTHH:mm:ssZ`) lies in or
/// after the minute of `started_at`. Both are compared as fixed-width text, which orders as
/// time does; an unreadable time never matches.
pub(super) fn created_since(creation_time: &str, started_at: u64) -> bool {
    let Some(minute) = creation_time.get(..16) else {
        return false;
    };
    let shape_ok = minute.bytes().enumerate().all(|(index, byte)| match index {
        4 | 7 => byte == b'-',
        10 => byte == b'T',
        13 => byte == b':',
        _ => byte.is_ascii_digit(),
    });
    shape_ok && minute >= minute_of(started_at).as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_encoded_as_rfc3986_and_optional_values_are_left_out() {
        let query = Query::region("cn-hangzhou")
            .with("ImageId", "m-1,m-2")
            .with_optional("OSSPrefix", None)
            .with("DestinationImageName", "备份 a/b");
        assert_eq!(
            query.encoded(),
            "RegionId=cn-hangzhou&ImageId=m-1%2Cm-2&DestinationImageName=%E5%A4%87%E4%BB%BD%20a%2Fb"
        );
    }

    #[test]
    fn percents_are_read_from_ecs_text() {
        assert_eq!(percent("37%"), Some(37));
        assert_eq!(percent("100%"), Some(100));
        assert_eq!(percent(" 5 % "), Some(5));
        assert_eq!(percent("250%"), Some(100));
        assert_eq!(percent(""), None);
        assert_eq!(percent("soon"), None);
    }

    #[test]
    fn creation_times_are_compared_by_minute() {
        // 2025-03-04T08:15:30Z
        let started_at = 1_741_076_130;
        assert_eq!(start_time_filter(started_at), "2025-03-04T08:15:00Z");
        assert!(created_since("2025-03-04T08:15Z", started_at));
        assert!(created_since("2025-03-04T08:16:01Z", started_at));
        assert!(created_since("2026-01-01T00:00Z", started_at));
        assert!(!created_since("2025-03-04T08:14Z", started_at));
        assert!(!created_since("2025-03-04", started_at));
        assert!(!created_since("yesterday at noon!", started_at));
    }
}
