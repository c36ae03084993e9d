//! What a caller asks for: the job document (state machine input, webhook body, scheduled
//! event detail), checked field by field before anything starts.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::endpoints::Endpoints;
use crate::error::ValidationError;
pub use crate::limits::{MAX_CHECKS_LIMIT, MAX_TASKS};
use crate::model::{CopyRequest, ExportRequest, TaskKind};
use crate::wait::WaitPolicy;

/// At most this many requests per job: the state machine's payload (256 KiB) must hold the
/// state of every task they start.
pub const MAX_REQUESTS: usize = 100;
/// At most this many requests per job. A job larger than one execution's limits
/// ([`MAX_REQUESTS`], [`MAX_TASKS`]) is split into chunks ([`super::plan`]), each run as a
/// child execution of a Distributed Map.
pub const MAX_JOB_REQUESTS: usize = 10_000;
/// At most this many tasks per job: a Distributed Map runs at most 10,000 child executions
/// at once, and a job's chunks hold at least one task each.
pub const MAX_JOB_TASKS: usize = 10_000;
/// The most chunks of a job that run at once when the job does not say
/// (`options.chunks_at_once`).
pub const DEFAULT_CHUNKS_AT_ONCE: u32 = 10;
/// The most chunks of a job that may run at once: each runs its own start Map and check
/// loop, so this bounds the job's concurrent cloud calls.
pub const MAX_CHUNKS_AT_ONCE: u32 = 100;
/// Step Functions keeps at most 25,000 events in one execution's history; an execution that
/// needs more fails without a completion event.
pub const HISTORY_EVENT_LIMIT: u32 = 25_000;
/// History events of one check: the Task (entered, Lambda scheduled, started, succeeded,
/// exited), the Choice and the Wait (entered, exited).
pub const EVENTS_PER_CHECK: u32 = 9;
/// History events of one start item when every Retry of the start states is used up: the
/// item's own nine (iteration, Choice, Task, Lambda) and three per failed attempt (5 + 6 + 6).
pub const EVENTS_PER_START_ITEM: u32 = 9 + 3 * (5 + 6 + 6);
/// Events outside the loop and the Map: Validate with its retries, Prepare, Notify with its
/// retries, the outcome.
pub const EVENTS_OUTSIDE_LOOP: u32 = 120;

const _: () = assert!(
    MAX_CHECKS_LIMIT * EVENTS_PER_CHECK
        + MAX_REQUESTS as u32 * EVENTS_PER_START_ITEM
        + EVENTS_OUTSIDE_LOOP
        + 250 * 3
        <= HISTORY_EVENT_LIMIT
);
/// A Standard workflow runs for at most a year.
pub const MAX_DEADLINE_SECONDS: u64 = 365 * 24 * 3600;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobOptions {
    /// Seconds after the job's start when unfinished tasks fail as timed out.
    pub deadline_seconds: u64,
    /// Seconds a task's reported progress may stay unchanged before it fails as stalled
    /// (0 turns the rule off). Only running tasks whose cloud reports progress can stall.
    pub stall_seconds: u64,
    /// The most status checks the job may make before it fails as timed out.
    pub max_checks: u32,
    pub wait: WaitPolicy,
    /// How many of the job's chunks (child executions) run at once: the Distributed Map's
    /// MaxConcurrency. Lower it to stay under a cloud's limit on tasks at once (Huawei: 5
    /// cross-region copies per tenant; Alibaba: 5 copies per region).
    pub chunks_at_once: u32,
}

impl Default for JobOptions {
    fn default() -> Self {
        Self {
            deadline_seconds: 3 * 24 * 3600,
            stall_seconds: 6 * 3600,
            max_checks: MAX_CHECKS_LIMIT,
            wait: WaitPolicy::default(),
            chunks_at_once: DEFAULT_CHUNKS_AT_ONCE,
        }
    }
}

impl JobOptions {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if !(10..=MAX_DEADLINE_SECONDS).contains(&self.deadline_seconds) {
            return Err(ValidationError::new(
                "options.deadline_seconds",
                format!("must be between 10 and {MAX_DEADLINE_SECONDS} (one year)"),
            ));
        }
        if self.stall_seconds != 0 && self.stall_seconds < 60 {
            return Err(ValidationError::new(
                "options.stall_seconds",
                "must be 0 (off) or at least 60",
            ));
        }
        // Two at least: the first check comes right after the start, the last at the deadline.
        if !(2..=MAX_CHECKS_LIMIT).contains(&self.max_checks) {
            return Err(ValidationError::new(
                "options.max_checks",
                format!("must be between 2 and {MAX_CHECKS_LIMIT}"),
            ));
        }
        if !(1..=MAX_CHUNKS_AT_ONCE).contains(&self.chunks_at_once) {
            return Err(ValidationError::new(
                "options.chunks_at_once",
                format!("must be between 1 and {MAX_CHUNKS_AT_ONCE}"),
            ));
        }
        let wait = &self.wait;
        if wait.min_seconds == 0 || wait.min_seconds > wait.max_seconds {
            return Err(ValidationError::new(
                "options.wait.min_seconds",
                "must be at least 1 and at most options.wait.max_seconds",
            ));
        }
        if wait.max_seconds > 3600 {
            return Err(ValidationError::new(
                "options.wait.max_seconds",
                "must be at most 3600",
            ));
        }
        if wait.base_seconds == 0 {
            return Err(ValidationError::new(
                "options.wait.base_seconds",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// The requests of a job: all exports or all copies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobRequests {
    Export(Vec<ExportRequest>),
    Copy(Vec<CopyRequest>),
}

impl JobRequests {
    pub fn kind(&self) -> TaskKind {
        match self {
            JobRequests::Export(_) => TaskKind::Export,
            JobRequests::Copy(_) => TaskKind::Copy,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            JobRequests::Export(r) => r.len(),
            JobRequests::Copy(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A validated job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub job_id: String,
    pub requests: JobRequests,
    pub options: JobOptions,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJob {
    job_id: Option<Value>,
    kind: Option<Value>,
    requests: Option<Value>,
    #[serde(default)]
    options: Option<Value>,
}

impl Job {
    /// Parses and checks a job document. `kind` is the operation of the function that
    /// received it (a start-export webhook takes export jobs): the document may omit its
    /// `kind`, but may not name another one. Every error names the field and the rule.
    pub fn parse(document: &Value, kind: Option<TaskKind>) -> Result<Job, ValidationError> {
        if !document.is_object() {
            return Err(ValidationError::new("$", "the job must be a JSON object"));
        }
        let raw: RawJob = serde_json::from_value(document.clone()).map_err(|err| {
            ValidationError::new(
                "$",
                format!(
                    "{} (known fields: job_id, kind, requests, options)",
                    strip_position(&err)
                ),
            )
        })?;
        let job_id = match raw.job_id {
            Some(Value::String(id)) => id,
            Some(_) => return Err(ValidationError::new("job_id", "must be a string")),
            None => return Err(ValidationError::new("job_id", "is required")),
        };
        validate_job_id(&job_id)?;
        let declared = match raw.kind {
            None => None,
            Some(value) => Some(
                serde_json::from_value::<TaskKind>(value)
                    .map_err(|_| ValidationError::new("kind", "must be \"export\" or \"sync\""))?,
            ),
        };
        let kind = match (declared, kind) {
            (Some(declared), Some(expected)) if declared != expected => {
                return Err(ValidationError::new(
                    "kind",
                    format!(
                        "this function starts {} jobs, the job says {}",
                        expected.name(),
                        declared.name()
                    ),
                ));
            }
            (Some(k), _) | (None, Some(k)) => k,
            (None, None) => return Err(ValidationError::new("kind", "is required")),
        };
        let items = match raw.requests {
            Some(Value::Array(items)) => items,
            Some(_) => return Err(ValidationError::new("requests", "must be an array")),
            None => return Err(ValidationError::new("requests", "is required")),
        };
        if items.is_empty() || items.len() > MAX_JOB_REQUESTS {
            return Err(ValidationError::new(
                "requests",
                format!("must hold between 1 and {MAX_JOB_REQUESTS} requests"),
            ));
        }
        let requests = match kind {
            TaskKind::Export => {
                JobRequests::Export(parse_items(&items, |r: &ExportRequest| r.validate())?)
            }
            TaskKind::Copy => {
                JobRequests::Copy(parse_items(&items, |r: &CopyRequest| r.validate())?)
            }
        };
        let counts: Vec<usize> = match &requests {
            JobRequests::Export(r) => r.iter().map(ExportRequest::task_count).collect(),
            JobRequests::Copy(r) => r.iter().map(CopyRequest::task_count).collect(),
        };
        // A request is never split: its tasks run in one child execution.
        if let Some((index, count)) = counts.iter().enumerate().find(|(_, n)| **n > MAX_TASKS) {
            return Err(ValidationError::new(
                format!("requests[{index}]"),
                format!(
                    "would start {count} tasks; one request starts at most {MAX_TASKS} \
                     (what one execution tracks): split it"
                ),
            ));
        }
        let tasks: usize = counts.iter().sum();
        if tasks > MAX_JOB_TASKS {
            return Err(ValidationError::new(
                "requests",
                format!(
                    "would start {tasks} tasks; a job tracks at most {MAX_JOB_TASKS} \
                     (the child executions of one Distributed Map): split the job"
                ),
            ));
        }
        let options = match raw.options {
            None | Some(Value::Null) => JobOptions::default(),
            Some(value) => serde_json::from_value::<JobOptions>(value)
                .map_err(|err| ValidationError::new("options", strip_position(&err)))?,
        };
        options.validate()?;
        Ok(Job {
            job_id,
            requests,
            options,
        })
    }

    pub fn kind(&self) -> TaskKind {
        self.requests.kind()
    }

    /// Checks every region of the job against the regions `endpoints` may send to (the
    /// clouds' closed lists and configuration); [`Job::parse`] checks their form.
    pub fn check_regions(&self, endpoints: &Endpoints) -> Result<(), ValidationError> {
        let checked = match &self.requests {
            JobRequests::Export(r) => r
                .iter()
                .enumerate()
                .try_for_each(|(i, r)| r.check_regions(endpoints).map_err(|e| (i, e))),
            JobRequests::Copy(r) => r
                .iter()
                .enumerate()
                .try_for_each(|(i, r)| r.check_regions(endpoints).map_err(|e| (i, e))),
        };
        checked.map_err(|(index, err)| {
            ValidationError::new(format!("requests[{index}].{}", err.field), err.rule)
        })
    }

    /// The job as a JSON document (the state machine's input), with `kind` always present.
    pub fn to_value(&self) -> Value {
        let requests = match &self.requests {
            JobRequests::Export(r) => serde_json::to_value(r),
            JobRequests::Copy(r) => serde_json::to_value(r),
        }
        .unwrap_or(Value::Null);
        serde_json::json!({
            "job_id": self.job_id,
            "kind": self.kind(),
            "requests": requests,
            "options": self.options,
        })
    }
}

/// The longest job id: its execution's name, `<job_id>--<12 hex digits>`, must fit Step
/// Functions' 80 characters.
pub const MAX_JOB_ID_LENGTH: usize = 64;

/// A job id: 1 to 64 of `A-Z a-z 0-9 - _`, without `--`. Its executions are named
/// `<job_id>--<12 hex digits>`, a name Step Functions accepts (1 to 80 characters, none of
/// whitespace, `<>{}[]?*"#%\^|~`$&,;:/` or control characters); `--` would make job `a`'s
/// lookup find job `a--b`'s executions.
pub fn validate_job_id(job_id: &str) -> Result<(), ValidationError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if job_id.is_empty() || job_id.len() > MAX_JOB_ID_LENGTH || !job_id.chars().all(allowed) {
        return Err(ValidationError::new(
            "job_id",
            "must be 1 to 64 characters of A-Z, a-z, 0-9, `-` and `_`",
        ));
    }
    if job_id.contains("--") {
        return Err(ValidationError::new(
            "job_id",
            "must not contain `--` (it separates the job id from the rest of its executions' names)",
        ));
    }
    Ok(())
}

fn parse_items<T: serde::de::DeserializeOwned>(
    items: &[Value],
    validate: impl Fn(&T) -> Result<(), ValidationError>,
) -> Result<Vec<T>, ValidationError> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let request: T = serde_json::from_value(item.clone()).map_err(|err| {
                ValidationError::new(format!("requests[{index}]"), strip_position(&err))
            })?;
            validate(&request).map_err(|err| {
                ValidationError::new(format!("requests[{index}].{}", err.field), err.rule)
            })?;
            Ok(request)
        })
        .collect()
}

/// serde_json's message without "at line 1 column 80": the document was a value, not text, and
/// the field path is said by the caller.
pub fn strip_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn export_job() -> Value {
        json!({
            "job_id": "nightly-web",
            "kind": "export",
            "requests": [{
                "cloud": "volcengine", "region": "cn-beijing",
                "image_id": "image-ycweb000000000000001", "bucket": "imgflow-tos-backup",
                "prefix": "web"
            }]
        })
    }

    #[test]
    fn a_valid_job_parses_with_default_options() {
        let job = Job::parse(&export_job(), Some(TaskKind::Export)).expect("valid");
        assert_eq!(job.job_id, "nightly-web");
        assert_eq!(job.kind(), TaskKind::Export);
        assert_eq!(job.options, JobOptions::default());
        assert_eq!(job.to_value()["kind"], "export");
        let again = Job::parse(&job.to_value(), None).expect("round trip");
        assert_eq!(again, job);
    }

    #[test]
    fn errors_name_the_field_and_the_rule() {
        let cases = [
            (
                json!({"kind": "export", "requests": []}),
                "job_id",
                "is required",
            ),
            (
                json!({"job_id": "a b", "kind": "export", "requests": []}),
                "job_id",
                "1 to 64",
            ),
            (
                json!({"job_id": "a--b", "kind": "export", "requests": []}),
                "job_id",
                "must not contain `--`",
            ),
            (
                json!({"job_id": "j", "kind": "copy", "requests": [{}]}),
                "kind",
                "\"export\" or \"sync\"",
            ),
            (
                json!({"job_id": "j", "kind": "sync", "requests": [{}]}),
                "kind",
                "this function starts export jobs",
            ),
            (
                json!({"job_id": "j", "requests": []}),
                "requests",
                "between 1 and 10000",
            ),
            (
                json!({"job_id": "j", "requests": [{"cloud": "aws"}]}),
                "requests[0]",
                "unknown variant `aws`",
            ),
            (
                json!({"job_id": "j", "requests": [{"cloud": "volcengine", "region": "cn-beijing", "image_id": "image-ycweb000000000000001", "bucket": "B!", "prefix": "p"}]}),
                "requests[0].bucket",
                "",
            ),
            (
                json!({"job_id": "j", "requests": export_job()["requests"], "options": {"deadline_seconds": 5}}),
                "options.deadline_seconds",
                "between 10",
            ),
            (
                json!({"job_id": "j", "requests": export_job()["requests"], "options": {"wait": {"min_seconds": 0}}}),
                "options.wait.min_seconds",
                "at least 1",
            ),
            (
                json!({"job_id": "j", "requests": export_job()["requests"], "options": {"chunks_at_once": 0}}),
                "options.chunks_at_once",
                "between 1 and 100",
            ),
            (
                json!({"job_id": "j", "requests": export_job()["requests"], "options": {"speed": 1}}),
                "options",
                "unknown field `speed`",
            ),
            (
                json!({"job_id": "j", "requests": [], "extra": 1}),
                "$",
                "unknown field `extra`",
            ),
            (json!([1]), "$", "JSON object"),
            (
                json!({"job_id": "j", "requests": (0..1001).map(|r| json!({
                    "cloud": "tencent", "region": "ap-guangzhou", "bucket": "b-1250000000",
                    "format": "QCOW2",
                    "image_ids": (0..10).map(|i| format!("img-{r:04}{i:04}")).collect::<Vec<_>>()
                })).collect::<Vec<_>>()}),
                "requests",
                "would start 10010 tasks",
            ),
        ];
        for (document, field, rule) in cases {
            let err = Job::parse(&document, Some(TaskKind::Export)).expect_err("invalid");
            assert_eq!(err.field, field, "{document}: {err}");
            assert!(err.rule.contains(rule), "{document}: {err}");
        }
    }
}
