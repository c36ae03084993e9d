//! Start records: what a start item's accepted start answered, kept in S3 before the function
//! returns, so that a retry whose earlier answer was lost adopts it without asking the cloud.
//!
//! Look-before-submit (`imgflow_shared::idempotence`) cannot find every earlier task: a
//! Tencent or Huawei export that has already *failed* left no object to `HEAD` and no listing,
//! and the cloud then takes a second export (soak seed 1, job soak-0131: one duplicate, one
//! orphan). The start function therefore writes, after the cloud accepted the start and before
//! it answers, `s3://$IMGFLOW_JOBS_BUCKET/starts/<key>.json`:
//!
//! ```json
//! {"version": 1, "job_id": "nightly", "index": 0, "execution_start": 1796400000,
//!  "kind": "export", "request_sha256": "…", "written_at": 1796400012,
//!  "tasks": [<TaskRef>…], "failures": [<StartFailure>…]}
//! ```
//!
//! A start that waited behind a cloud's concurrency limit and is started later by check-status
//! (`imgflow_shared::job::queue`) has a record of its own: its key adds the start's identity
//! (its images and destinations, `part` in the record) to the item's.
//!
//! `<key>` is the SHA-256 (hex) of the job id, the index, the execution's start and the kind:
//! the same on every attempt of the item, new for each execution, and safe as an S3 key
//! whatever the job id holds. Every attempt with a start item reads it first: a record whose
//! identity (job, index, execution start, kind, and the request's SHA-256) matches is the
//! answer, returned as it is, and nothing is sent to the cloud. A record that is not JSON of
//! this shape, or names another item or request, is ignored with a warning (never trusted),
//! and the look-before-submit runs as without one. The record is written with
//! `If-None-Match: *`, so an existing record is never replaced. A failed write is logged (the
//! bucket, key and S3's code; nothing secret) and retried within the invocation's deadline; the
//! answer is returned either way.
//!
//! A read that fails retryably sends nothing and answers `Cloud.Transient`, so the state
//! machine retries the item; one that fails for good (access denied, no such bucket) answers
//! `Config.Invalid` (nothing was sent). Without `IMGFLOW_JOBS_BUCKET` or AWS credentials (the
//! command line, local runs) no record is kept, as before.

use imgflow_shared::error::{CloudError, ErrorKind};
use imgflow_shared::error_name::ErrorName;
use imgflow_shared::idempotence::StartItem;
use imgflow_shared::job::queue::StartLedger;
use imgflow_shared::model::{QueuedStart, StartFailure, StartOutcome, TaskKind, TaskRef};
use imgflow_shared::select::SelectedImage;
use imgflow_shared::signing::sha256_hex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::app::App;
use crate::aws::{AwsClient, Put};
use crate::errors::FunctionError;

/// The record format's version.
pub const VERSION: u32 = 1;
/// The prefix of the records in the jobs bucket (the template's IAM grants only this).
pub const PREFIX: &str = "starts/";
/// Attempts at writing a record (each bounded by the deadline).
const WRITE_ATTEMPTS: u32 = 5;

/// A start record, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub version: u32,
    pub job_id: String,
    pub index: u64,
    /// The execution's start in unix seconds (the item's window).
    pub execution_start: u64,
    pub kind: TaskKind,
    /// SHA-256 (hex) of the request's JSON text.
    pub request_sha256: String,
    pub written_at: u64,
    pub tasks: Vec<TaskRef>,
    #[serde(default)]
    pub failures: Vec<StartFailure>,
    /// With `select`: the images the selector matched, returned again by a retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected: Option<Vec<SelectedImage>>,
    /// Starts that wait behind the cloud's concurrency limit, returned again by a retry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queued: Vec<QueuedStart>,
    /// For a queued start: its identity within the item (its images and destinations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
}

/// The key of an item's record: `starts/<sha256 hex>.json`.
pub fn key(item: &StartItem, kind: TaskKind) -> String {
    part_key(item, kind, None)
}

/// The key of an item's record, or of one of its queued starts (`part`).
fn part_key(item: &StartItem, kind: TaskKind, part: Option<&str>) -> String {
    let mut identity = format!(
        "{}\n{}\n{}\n{}",
        item.job_id,
        item.index,
        item.since,
        kind.name()
    );
    if let Some(part) = part {
        identity.push_str("\nqueued\n");
        identity.push_str(part);
    }
    format!("{PREFIX}{}.json", sha256_hex(identity.as_bytes()))
}

/// The SHA-256 (hex) of a request's JSON text, as the record names it.
pub fn request_sha256(request: &Value) -> String {
    sha256_hex(request.to_string().as_bytes())
}

/// The records of one start item.
pub struct StartRecords<'a> {
    aws: &'a AwsClient,
    bucket: &'a str,
    item: StartItem,
    kind: TaskKind,
    part: Option<String>,
    key: String,
    request_sha256: String,
}

impl<'a> StartRecords<'a> {
    /// `None` when this deployment keeps no records (no bucket or no AWS credentials).
    pub fn new(app: &'a App, item: &StartItem, kind: TaskKind, request: &Value) -> Option<Self> {
        Self::of_part(app, item, kind, None, request)
    }

    /// The records of one queued start of `item` (`part`: its identity within the item).
    pub fn of_queued(app: &'a App, job_id: &str, queued: &QueuedStart) -> Option<Self> {
        let item = StartItem {
            job_id: job_id.to_owned(),
            index: queued.item as u64,
            since: queued.since,
        };
        let request = serde_json::to_value(&queued.request).unwrap_or(Value::Null);
        let part = queued.request.identity();
        Self::of_part(app, &item, queued.request.kind(), Some(part), &request)
    }

    fn of_part(
        app: &'a App,
        item: &StartItem,
        kind: TaskKind,
        part: Option<String>,
        request: &Value,
    ) -> Option<Self> {
        let bucket = app.settings.jobs_bucket.as_deref()?;
        let Some(aws) = app.aws.as_ref() else {
            tracing::warn!(
                bucket,
                "IMGFLOW_JOBS_BUCKET is set but there are no AWS credentials: no start records"
            );
            return None;
        };
        Some(Self {
            aws,
            bucket,
            item: item.clone(),
            kind,
            key: part_key(item, kind, part.as_deref()),
            part,
            request_sha256: request_sha256(request),
        })
    }

    /// The answer of an earlier attempt of this item, if a record of it can be trusted.
    pub async fn read(&self) -> Result<Option<StartOutcome>, FunctionError> {
        let bytes = match self.aws.get_object(self.bucket, &self.key).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Ok(None),
            Err(error) => {
                let message = format!(
                    "reading the start record s3://{}/{} failed, so nothing was sent: {error}",
                    self.bucket, self.key
                );
                return Err(if error.retryable() {
                    FunctionError::new(ErrorName::CloudTransient, message)
                } else {
                    FunctionError::config(message)
                });
            }
        };
        match self.check(&bytes) {
            Ok(record) => Ok(Some(StartOutcome {
                tasks: record.tasks,
                failures: record.failures,
                selected: record.selected,
                queued: record.queued,
            })),
            Err(why) => {
                tracing::warn!(
                    job_id = %self.item.job_id,
                    index = self.item.index,
                    bucket = self.bucket,
                    key = %self.key,
                    why,
                    "a start record was ignored: it is not this item's"
                );
                Ok(None)
            }
        }
    }

    /// The record in `bytes`, when it is one and names this item and request.
    fn check(&self, bytes: &[u8]) -> Result<Record, String> {
        let record: Record = serde_json::from_slice(bytes).map_err(|err| {
            format!(
                "not a start record (line {}, column {}: {})",
                err.line(),
                err.column(),
                imgflow_shared::job::strip_position(&err)
            )
        })?;
        let mismatch = [
            (record.version != VERSION, "version"),
            (record.job_id != self.item.job_id, "job_id"),
            (record.index != self.item.index, "index"),
            (record.execution_start != self.item.since, "execution_start"),
            (record.kind != self.kind, "kind"),
            (record.part != self.part, "part"),
            (
                record.request_sha256 != self.request_sha256,
                "request_sha256",
            ),
            (
                record.tasks.is_empty() && record.failures.is_empty() && record.queued.is_empty(),
                "tasks",
            ),
            (
                record.tasks.iter().any(|task| task.kind != self.kind),
                "tasks[].kind",
            ),
        ];
        match mismatch.iter().find(|(differs, _)| *differs) {
            Some((_, field)) => Err(format!("its {field} is not this item's")),
            None => Ok(record),
        }
    }

    /// Keeps what this attempt answers. Never fails the start: a write that cannot be made is
    /// logged, and the answer goes back anyway.
    pub async fn write(&self, outcome: &StartOutcome) {
        let record = Record {
            version: VERSION,
            job_id: self.item.job_id.clone(),
            index: self.item.index,
            execution_start: self.item.since,
            kind: self.kind,
            request_sha256: self.request_sha256.clone(),
            written_at: crate::app::unix_now(),
            tasks: outcome.tasks.clone(),
            failures: outcome.failures.clone(),
            selected: outcome.selected.clone(),
            queued: outcome.queued.clone(),
            part: self.part.clone(),
        };
        let body = match serde_json::to_vec(&record) {
            Ok(body) => body,
            Err(err) => {
                tracing::warn!(error = %err, "a start record could not be serialized");
                return;
            }
        };
        let written = self
            .aws
            .put_object_if_absent(
                self.bucket,
                &self.key,
                &body,
                "application/json",
                WRITE_ATTEMPTS,
            )
            .await;
        match written {
            Ok(Put::Written) => tracing::info!(
                job_id = %self.item.job_id,
                index = self.item.index,
                key = %self.key,
                "start record written"
            ),
            Ok(Put::AlreadyThere) => tracing::warn!(
                job_id = %self.item.job_id,
                index = self.item.index,
                bucket = self.bucket,
                key = %self.key,
                "a start record of this item already exists and was kept"
            ),
            Err(error) => tracing::warn!(
                job_id = %self.item.job_id,
                index = self.item.index,
                bucket = self.bucket,
                key = %self.key,
                code = %error.code,
                status = error.status.unwrap_or(0),
                "the start record could not be written; the answer is returned anyway"
            ),
        }
    }
}

/// check-status's records of the starts it takes from a job's queue.
pub struct QueueRecords<'a> {
    pub app: &'a App,
}

impl StartLedger for QueueRecords<'_> {
    async fn recorded(
        &self,
        job_id: &str,
        queued: &QueuedStart,
    ) -> Result<Option<StartOutcome>, CloudError> {
        let Some(records) = StartRecords::of_queued(self.app, job_id, queued) else {
            return Ok(None);
        };
        records.read().await.map_err(|err| {
            // Nothing is sent: the start keeps its place and is tried at the next check.
            let kind = if err.name == ErrorName::CloudTransient {
                ErrorKind::Transient
            } else {
                ErrorKind::Permission
            };
            CloudError::new(queued.request.cloud(), kind, err.name, err.message)
        })
    }

    async fn record(&self, job_id: &str, queued: &QueuedStart, outcome: &StartOutcome) {
        if let Some(records) = StartRecords::of_queued(self.app, job_id, queued) {
            records.write(outcome).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_the_same_for_every_attempt_safe_and_new_for_each_item() {
        let item = StartItem::new("nightly web/../ü?", 2, "2026-12-04T18:00:00.5Z").expect("item");
        let again = StartItem::new("nightly web/../ü?", 2, "2026-12-04T18:00:00Z").expect("item");
        let key = key(&item, TaskKind::Export);
        assert_eq!(key, super::key(&again, TaskKind::Export));
        assert!(
            key.starts_with("starts/") && key.ends_with(".json"),
            "{key}"
        );
        let name = &key["starts/".len()..key.len() - ".json".len()];
        assert!(
            name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()),
            "{key}"
        );
        for other in [
            super::key(
                &StartItem {
                    index: 3,
                    ..item.clone()
                },
                TaskKind::Export,
            ),
            super::key(
                &StartItem {
                    since: item.since + 1,
                    ..item.clone()
                },
                TaskKind::Export,
            ),
            super::key(&item, TaskKind::Copy),
        ] {
            assert_ne!(key, other);
        }
    }
}
