//! Starts that are safe to run twice: "look before you submit".
//!
//! The state machine re-invokes a start when Lambda loses its answer and when the cloud asks
//! for a retry, with the same Map item every time. A [`StartItem`] names that item (the job,
//! the request's index, and the execution's start time, which opens its window) so that
//! every attempt of it can find what an earlier attempt made, and adopt it instead of
//! starting a second task:
//!
//! | cloud, kind | how an earlier attempt's task is found | what is left |
//! | --- | --- | --- |
//! | Alibaba export, copy | a `ClientToken` derived from the item (the user's, if given): ECS answers a repeat with the first task or image | none: every attempt is re-sent safely |
//! | Volcengine export | `DescribeTasks` of the image: one `ExportImage` task created in the window, a finished one only when this start's first object exists (the task names no bucket or prefix) | two running exports of one image in one window cannot be told apart (ECS locks the image while one runs) |
//! | Volcengine copy | `DescribeImages` by name in the destination, created in the window, with its `CopyImage` task | copies of one image under one name into one region in one window |
//! | Tencent copy | `DescribeImages` by name in the destination, created in the window | as above |
//! | Huawei copy | `ListImages` by name in the destination, made from the source (`__data_origin`), created in the window | as above |
//! | Tencent export | no task listing: a finished export is found by a `HEAD` of its objects (their names follow from the image's snapshots) written in the window | a running export cannot be found: CVM refuses the second one (`InvalidParameterValue.InvalidImageState`), a conflict coded unconfirmed |
//! | Huawei export | no job listing: a finished export is found by a `HEAD` of its object written in the window | a running export cannot be found: IMS refuses the second one (`IMG.0148`, `IMG.0070`), a conflict coded unconfirmed |
//! | every cloud and kind, first | the start record `s3://$IMGFLOW_JOBS_BUCKET/starts/<SHA-256 of job, index, window, kind>.json`, written by the start function (`If-None-Match: *`) after the cloud accepted and before it answers, read by every attempt before anything is sent (functions/common/src/records.rs); a record naming another item or request, or not a record, is ignored with a warning | an answer lost *before* the record was written (the cloud's answer to the function lost, or the function dying between the two) falls back to the rows above; a Tencent or Huawei export that failed in that gap cannot be found |
//!
//! The start record (last row) is kept by the start function, not by the cloud modules: it
//! is what closes a lost Lambda answer after the first task already failed (a failed Tencent or
//! Huawei export leaves nothing to find, and the cloud would take a second one). Without
//! `IMGFLOW_JOBS_BUCKET` (the command line, local runs) only the rows above apply.
//!
//! The rules every cloud module follows when it is given a `StartItem`:
//! - It looks first. Exactly one match in the window is adopted; nothing older than the
//!   window ever is. Several matches are [`unconfirmed`]: nothing is sent, and the job shows
//!   the item as "may have started", never as "did not start". A lookup that fails sends
//!   nothing and returns its error ([`lookup_failed`]; a server error or throttling stays
//!   retryable). The exports whose second start the cloud itself refuses (Tencent, Huawei)
//!   are sent anyway when their objects cannot be read for good, so that the cloud names the
//!   problem.
//! - A refusal meaning "already running" that the lookup could not explain, for the clouds
//!   whose running tasks cannot be listed (Tencent and Huawei exports), is
//!   [`busy_unconfirmed`]: a conflict the state machine waits out (each retry looks first,
//!   and adopts the export once it has finished), reported as unconfirmed if the waiting
//!   ends first.
//! - An unknown outcome (a 5xx, a reset, a lost or cut-off answer) is looked up again at
//!   once; when nothing was created it becomes [`retry_safely`]: `Transient`, so the state
//!   machine retries, which is safe because the next attempt looks first.
//!
//! Without a `StartItem` (the command line, a bare request) nothing is looked up first and
//! an unknown outcome that cannot be resolved stays `UnknownOutcome`, as before.

use crate::Cloud;
use crate::error::{CloudError, ErrorKind};
use crate::error_name::ErrorName;
use crate::signing::Timestamp;
use crate::signing::sha256_hex;

/// The code of an unconfirmed start: a task may run that this item cannot prove its own.
pub const UNCONFIRMED: &str = ErrorName::StartUnconfirmed.as_str();

/// The identity of one start item, the same on every attempt of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartItem {
    pub job_id: String,
    /// The request's index in the job.
    pub index: u64,
    /// Unix seconds at which the item's window opens: the execution's start. Nothing created
    /// before it is adopted.
    pub since: u64,
}

impl StartItem {
    /// The item of a Map item's `job_id`, `index` and `execution_start` (RFC 3339, as
    /// `$$.Execution.StartTime` gives it); `None` when the start time cannot be read.
    pub fn new(job_id: &str, index: u64, execution_start: &str) -> Option<Self> {
        Some(Self {
            job_id: job_id.to_owned(),
            index,
            since: rfc3339_seconds(execution_start)?,
        })
    }

    /// A client token for this item: `ifw-` and 32 hex digits of a SHA-256 of the job, the
    /// index and the window (36 ASCII characters, within ECS's 64, and leaving room for a
    /// `-<region>` suffix). A new execution of the same job gets a new token.
    pub fn client_token(&self) -> String {
        let digest =
            sha256_hex(format!("{}\n{}\n{}", self.job_id, self.index, self.since).as_bytes());
        format!("ifw-{}", digest.get(..32).unwrap_or(&digest))
    }
}

/// How a start is run: when its window opens, and whether it looks for an earlier attempt
/// before submitting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The window's start in unix seconds; task references carry it as `started_at`.
    pub since: u64,
    /// Whether an earlier attempt may exist (the start has a [`StartItem`]).
    pub look_first: bool,
}

impl Attempt {
    /// A start with no identity: it opens now and looks for nothing first.
    pub fn fresh(now: u64) -> Self {
        Self {
            since: now,
            look_first: false,
        }
    }

    pub fn of(item: &StartItem) -> Self {
        Self {
            since: item.since,
            look_first: true,
        }
    }
}

/// A bare start time: a start with no identity.
impl From<u64> for Attempt {
    fn from(now: u64) -> Self {
        Self::fresh(now)
    }
}

/// What a lookup for an earlier attempt's task found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found<T> {
    Nothing,
    One(T),
    /// Several candidates in the window: none can be adopted, and none may be added to.
    Several(usize),
}

impl<T> Found<T> {
    /// Exactly one of `matches` is adopted.
    pub fn from_matches(mut matches: Vec<T>) -> Self {
        match matches.len() {
            0 => Found::Nothing,
            1 => matches.pop().map_or(Found::Nothing, Found::One),
            n => Found::Several(n),
        }
    }
}

/// A task may run that this item cannot prove its own: reported as an unknown outcome (the
/// job shows the item as unconfirmed, never as "did not start"), and never retried blindly.
pub fn unconfirmed(cloud: Cloud, message: impl Into<String>) -> CloudError {
    CloudError::new(cloud, ErrorKind::UnknownOutcome, UNCONFIRMED, message)
}

/// The cloud refuses because an export of the image runs, and no API can list it: it may be
/// this item's. A `Conflict` (the state machine waits it out with long retries, each of which
/// looks first and adopts the export once its objects prove it) with the code
/// [`UNCONFIRMED`], which the job reports as "may have started (unconfirmed)" if the waiting
/// ends first, never as "did not start".
pub fn busy_unconfirmed(cloud: Cloud, message: impl Into<String>) -> CloudError {
    CloudError::new(cloud, ErrorKind::Conflict, UNCONFIRMED, message)
}

/// Several tasks in the window that could be this item's.
pub fn ambiguous(cloud: Cloud, what: &str, count: usize) -> CloudError {
    unconfirmed(
        cloud,
        format!(
            "{count} {what} created since this job's execution began could be this start's: \
             none is adopted and nothing more is started"
        ),
    )
}

/// An unknown outcome after which the lookup found nothing: safe to retry, because the next
/// attempt looks first.
pub fn retry_safely(lost: CloudError) -> CloudError {
    CloudError {
        kind: ErrorKind::Transient,
        retryable: true,
        message: format!(
            "{} (nothing this start made is listed: retrying is safe, the next attempt looks first)",
            lost.message
        ),
        ..lost
    }
}

/// A lookup that failed before anything was sent. Nothing was started, so the cloud's error
/// is returned as it is (a retryable one is retried by the caller; a refusal, such as a
/// missing source image or region, is final either way), saying that nothing was sent.
pub fn lookup_failed(error: CloudError) -> CloudError {
    CloudError {
        message: format!(
            "looking for an earlier attempt of this start failed, so nothing was sent: {}",
            error.message
        ),
        ..error
    }
}

/// `YYYY-MM-DDThh:mm:ss[.fff][Z|+00:00]` in unix seconds (fractions dropped); only UTC.
pub fn rfc3339_seconds(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes.get(4) != Some(&b'-') || bytes.get(10) != Some(&b'T') {
        return None;
    }
    let rest = &text[19..];
    let rest = match rest.strip_prefix('.') {
        Some(fraction) => fraction.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => rest,
    };
    if !matches!(rest, "Z" | "+00:00") {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    Timestamp::from_civil(
        number(0..4)?,
        number(5..7)?,
        number(8..10)?,
        number(11..13)?,
        number(14..16)?,
        number(17..19)?,
    )
    .map(Timestamp::unix_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_start_times_are_read_with_or_without_fractions() {
        assert_eq!(rfc3339_seconds("1970-01-01T00:01:40Z"), Some(100));
        assert_eq!(rfc3339_seconds("1970-01-01T00:01:40.192Z"), Some(100));
        assert_eq!(rfc3339_seconds("1970-01-01T00:01:40+00:00"), Some(100));
        // moto's Step Functions hands the Lambda Python's isoformat of its start time.
        assert_eq!(
            rfc3339_seconds("1970-01-01T00:01:40.364823+00:00"),
            Some(100)
        );
        for bad in [
            "",
            "1970-01-01",
            "1970-01-01T00:01:40",
            "1970-01-01T00:01:40+08:00",
            "1970-13-01T00:00:00Z",
        ] {
            assert_eq!(rfc3339_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_token_is_the_same_for_every_attempt_and_new_for_each_item_and_execution() {
        let item = StartItem::new("nightly", 2, "1970-01-01T00:01:40.5Z").expect("item");
        let again = StartItem::new("nightly", 2, "1970-01-01T00:01:40Z").expect("item");
        assert_eq!(item.client_token(), again.client_token());
        assert_eq!(item.client_token().len(), 36);
        assert!(item.client_token().is_ascii());
        let other_index = StartItem {
            index: 3,
            ..item.clone()
        };
        let other_run = StartItem {
            since: 101,
            ..item.clone()
        };
        assert_ne!(item.client_token(), other_index.client_token());
        assert_ne!(item.client_token(), other_run.client_token());
    }

    #[test]
    fn only_a_single_match_is_adopted() {
        assert_eq!(Found::<u8>::from_matches(vec![]), Found::Nothing);
        assert_eq!(Found::from_matches(vec![7]), Found::One(7));
        assert_eq!(Found::from_matches(vec![7, 8]), Found::Several(2));
    }
}
