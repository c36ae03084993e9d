//! A job's state between two checks: what the state machine passes from one check-status
//! call to the next. It keeps only what the next check needs (the task references, the
//! last answer, when progress last moved) so that a hundred tasks fit in one payload.

use serde::{Deserialize, Serialize};

use super::chunk::ChunkRef;
use super::spec::{EVENTS_PER_CHECK, JobOptions, MAX_REQUESTS, MAX_TASKS, validate_job_id};
use super::summary::JobSummary;
use super::task::{JobPhase, StartErrorRecord, TrackedTask};
use super::text::capped;
use crate::endpoints::Endpoints;
use crate::error::{CloudError, ValidationError};
use crate::model::{QueuedStart, StartFailure, TaskKind, TaskRef};

/// The job's state after a check: check-status's output and its next input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobState {
    pub job_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TaskKind>,
    pub options: JobOptions,
    pub started_at: u64,
    pub deadline_at: u64,
    pub checks: u32,
    /// Seconds to wait before the next check (0 once the job is final).
    pub wait_seconds: u64,
    pub state: JobPhase,
    /// Why the job failed or timed out, in words, with the clouds' codes (null otherwise).
    pub reason: Option<String>,
    /// Absent from a final job's document ([`JobState::to_document`]).
    #[serde(default)]
    pub tasks: Vec<TrackedTask>,
    pub start_errors: Vec<StartErrorRecord>,
    /// What each selector matched, per request (carried while the job runs; the summary
    /// holds it once the job has ended).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub selections: Vec<crate::select::Selection>,
    /// Absent from a running job's document ([`JobState::to_document`]).
    #[serde(default)]
    pub summary: JobSummary,
    /// The chunk of a larger job this state follows (a child execution of the Distributed
    /// Map), carried from check to check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<ChunkRef>,
    /// Starts waiting behind a cloud's concurrency limit (see [`super::queue`]); empty once
    /// the job has ended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queued: Vec<QueuedStart>,
}

/// The most bytes a job's state may take between two states of the state machine: Step
/// Functions refuses more than 256 KiB (262,144 B) with `States.DataLimitExceeded`, which no
/// Catch can handle; the rest is room for what the states add (`check_error`, `notify_error`).
pub const STATE_BYTES_LIMIT: usize = 240 * 1024;

impl JobState {
    /// The state as the state machine carries it: while the job runs, the tasks (the next
    /// check's input) without the summary; once it has ended, the summary (the completion
    /// event's detail and the execution's output) without the tasks. Each thing is held once.
    pub fn to_document(&self) -> serde_json::Value {
        let mut document = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(fields) = document.as_object_mut() {
            if self.state == JobPhase::Running {
                fields.remove("summary");
            } else {
                fields.remove("tasks");
                fields.remove("selections");
                fields.remove("queued");
            }
        }
        document
    }

    /// The document's size in bytes as JSON.
    pub fn document_bytes(&self) -> usize {
        serde_json::to_vec(&self.to_document()).map_or(usize::MAX, |bytes| bytes.len())
    }
}

/// A task in check-status's input: tracked (from a previous check) or a bare reference (from
/// a start, or from a caller's own workflow).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum TaskEntry {
    Tracked(Box<TrackedTask>),
    Bare(Box<TaskRef>),
}

/// The error the state machine's Catch recorded for a start (`{"Error", "Cause"}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

impl CaughtError {
    /// The function's own message when the cause is Lambda's `{"errorType","errorMessage"}`.
    pub fn message(&self) -> String {
        let cause = self.cause.clone().unwrap_or_default();
        serde_json::from_str::<serde_json::Value>(&cause)
            .ok()
            .and_then(|v| {
                v.get("errorMessage")
                    .and_then(|m| m.as_str())
                    .map(str::to_owned)
            })
            .unwrap_or(cause)
    }
}

/// One item of the state machine's start Map: what the start function answered, or the
/// error its Catch recorded.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum StartEntry {
    Started {
        #[serde(default)]
        index: usize,
        tasks: Vec<TaskRef>,
        #[serde(default)]
        failures: Vec<StartFailure>,
        /// With `select`: what the selector matched.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        selected: Option<Vec<crate::select::SelectedImage>>,
        /// Starts that wait behind the cloud's concurrency limit.
        #[serde(default)]
        queued: Vec<QueuedStart>,
    },
    Caught {
        #[serde(default)]
        index: usize,
        error: CaughtError,
    },
}

/// What check-status accepts: a previous [`JobState`], the job document with the start
/// Map's results (`starts`), or just `tasks` from another workflow.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct CheckInput {
    #[serde(default)]
    pub job_id: String,
    #[serde(default)]
    pub kind: Option<TaskKind>,
    #[serde(default)]
    pub options: JobOptions,
    #[serde(default)]
    pub started_at: Option<u64>,
    #[serde(default)]
    pub deadline_at: Option<u64>,
    #[serde(default)]
    pub checks: u32,
    #[serde(default)]
    pub tasks: Vec<TaskEntry>,
    #[serde(default)]
    pub starts: Vec<StartEntry>,
    #[serde(default)]
    pub start_errors: Vec<StartErrorRecord>,
    #[serde(default)]
    pub selections: Vec<crate::select::Selection>,
    pub chunk: Option<ChunkRef>,
    /// Rounds in a row in which the state machine could not reach check-status at all (the
    /// Check state's Catch counts them, a check that answers resets them). Each round is
    /// charged to the check budget ([`CHECKS_PER_LAMBDA_OUTAGE`]), which keeps the
    /// execution's history within its limit however often the function is unreachable.
    #[serde(default)]
    pub outages: Option<LambdaOutages>,
    /// Starts waiting behind a cloud's concurrency limit, carried from check to check.
    #[serde(default)]
    pub queued: Vec<QueuedStart>,
}

/// The state machine's count of rounds in which check-status could not be reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct LambdaOutages {
    #[serde(default)]
    pub count: u32,
}

/// History events of one round in which check-status cannot be reached: the Check state with
/// its seven failed attempts (three events each), the Catch's Choice and Pass states and a Wait.
pub const EVENTS_PER_LAMBDA_OUTAGE: u32 = 32;
/// Checks charged to the budget for each such round.
pub const CHECKS_PER_LAMBDA_OUTAGE: u32 = EVENTS_PER_LAMBDA_OUTAGE.div_ceil(EVENTS_PER_CHECK);

impl CheckInput {
    /// Checks everything in the input that reaches a cloud before any call: the job id (when
    /// given), the options, and every task reference ([`TaskRef::validate`]: regions from the
    /// closed lists or configuration in `endpoints`, ids, buckets, keys). A state can come from
    /// anyone who may start an execution, so it is held to the same rules as a job.
    pub fn validate(&self, endpoints: &Endpoints) -> Result<(), ValidationError> {
        if !self.job_id.is_empty() {
            validate_job_id(&self.job_id)?;
        }
        self.options.validate()?;
        let named = |prefix: String| {
            move |err: ValidationError| {
                ValidationError::new(format!("{prefix}.{}", err.field), err.rule)
            }
        };
        let started: usize = self
            .starts
            .iter()
            .map(|entry| match entry {
                StartEntry::Started { tasks, queued, .. } => tasks.len() + queued.len(),
                StartEntry::Caught { .. } => 0,
            })
            .sum();
        let tracked = self.tasks.len().saturating_add(self.queued.len());
        if tracked.saturating_add(started) > MAX_TASKS || self.starts.len() > MAX_REQUESTS {
            return Err(ValidationError::new(
                "tasks",
                format!(
                    "a job tracks at most {MAX_TASKS} tasks from at most {MAX_REQUESTS} starts"
                ),
            ));
        }
        for (index, entry) in self.tasks.iter().enumerate() {
            match entry {
                TaskEntry::Tracked(tracked) => tracked
                    .task
                    .validate(endpoints)
                    .map_err(named(format!("tasks[{index}].task")))?,
                TaskEntry::Bare(task) => task
                    .validate(endpoints)
                    .map_err(named(format!("tasks[{index}]")))?,
            }
        }
        for (index, entry) in self.starts.iter().enumerate() {
            if let StartEntry::Started { tasks, queued, .. } = entry {
                for (position, task) in tasks.iter().enumerate() {
                    task.validate(endpoints)
                        .map_err(named(format!("starts[{index}].tasks[{position}]")))?;
                }
                for (position, queued) in queued.iter().enumerate() {
                    queued
                        .request
                        .validate(endpoints)
                        .map_err(named(format!("starts[{index}].queued[{position}].request")))?;
                }
            }
        }
        for (index, queued) in self.queued.iter().enumerate() {
            queued
                .request
                .validate(endpoints)
                .map_err(named(format!("queued[{index}].request")))?;
        }
        Ok(())
    }

    /// The starts waiting behind a cloud's concurrency limit: carried from a previous check,
    /// then those the starts queued, in item order.
    pub fn queued(&self) -> Vec<QueuedStart> {
        let mut queued = self.queued.clone();
        let mut from_starts: Vec<QueuedStart> = self
            .starts
            .iter()
            .flat_map(|entry| match entry {
                StartEntry::Started { queued, .. } => queued.clone(),
                StartEntry::Caught { .. } => Vec::new(),
            })
            .collect();
        from_starts.sort_by_key(|q| q.item);
        queued.extend(from_starts);
        queued
    }

    /// What the selectors matched: carried from a previous check, and from the starts.
    pub fn selections(&self) -> Vec<crate::select::Selection> {
        let mut selections = self.selections.clone();
        for entry in &self.starts {
            if let StartEntry::Started {
                index,
                selected: Some(images),
                ..
            } = entry
            {
                selections.push(crate::select::Selection {
                    item: *index,
                    images: images.clone(),
                });
            }
        }
        selections.sort_by_key(|s| s.item);
        selections
    }

    /// The tracked tasks and start errors this input describes, read at `now`.
    pub fn into_parts(self, now: u64) -> (Vec<TrackedTask>, Vec<StartErrorRecord>) {
        let mut tasks: Vec<TrackedTask> = self
            .tasks
            .into_iter()
            .map(|entry| match entry {
                TaskEntry::Tracked(tracked) => *tracked,
                TaskEntry::Bare(task) => TrackedTask::new(0, *task, now),
            })
            .collect();
        let mut errors = self.start_errors;
        for entry in self.starts {
            match entry {
                StartEntry::Started {
                    index,
                    tasks: started,
                    failures,
                    ..
                } => {
                    tasks.extend(started.into_iter().map(|t| TrackedTask::new(index, t, now)));
                    errors.extend(failures.into_iter().map(|f| failure_record(index, f)));
                }
                StartEntry::Caught { index, error } => errors.push(StartErrorRecord {
                    item: index,
                    destination_region: None,
                    message: capped(&error.message()),
                    error: capped(&error.error),
                }),
            }
        }
        (tasks, errors)
    }
}

impl From<JobState> for CheckInput {
    /// The next check's input: the state as the state machine passes it on (the same as the
    /// state through JSON), without the round trip.
    fn from(state: JobState) -> Self {
        Self {
            job_id: state.job_id,
            kind: state.kind,
            options: state.options,
            started_at: Some(state.started_at),
            deadline_at: Some(state.deadline_at),
            checks: state.checks,
            tasks: state
                .tasks
                .into_iter()
                .map(|task| TaskEntry::Tracked(Box::new(task)))
                .collect(),
            starts: Vec::new(),
            start_errors: state.start_errors,
            selections: state.selections,
            chunk: state.chunk,
            outages: None,
            queued: state.queued,
        }
    }
}

/// A start failure of `item` as the job keeps it (code and message capped).
pub(super) fn failure_record(item: usize, failure: StartFailure) -> StartErrorRecord {
    let error: CloudError = failure.error;
    StartErrorRecord {
        item,
        destination_region: failure.destination_region,
        error: capped(&error.code),
        message: capped(&error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A task reference without `started_at` (a caller's own workflow, the check-status
    /// example) starts its clocks at the check that first reads it, not at 1970.
    #[test]
    fn a_task_without_a_start_time_is_timed_from_its_first_check() {
        let input: CheckInput = serde_json::from_value(serde_json::json!({
            "job_id": "j",
            "tasks": [{"cloud": "tencent", "region": "ap-guangzhou", "kind": "export",
                       "image_id": "img-web00001", "task_id": "105000001"}]
        }))
        .expect("parses");
        let (tasks, errors) = input.into_parts(5_000);
        assert!(errors.is_empty());
        assert_eq!(tasks[0].task.known_start(), None);
        assert_eq!(tasks[0].changed_at, 5_000);
        let json = serde_json::to_value(&tasks[0].task).expect("serialises");
        assert!(json.get("started_at").is_none(), "{json}");
    }
}
