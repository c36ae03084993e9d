//! The part of a job's state people read: per request, what each task produced or why it
//! failed, and the job's totals. It is the completion event's detail and the state
//! machine's output.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::task::{JobPhase, StartErrorRecord, TrackedState, TrackedTask};
use crate::Cloud;
use crate::model::{CloudReason, TaskKind, TaskResult};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSummary {
    pub cloud: Cloud,
    pub region: String,
    pub image_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_region: Option<String>,
    pub state: TrackedState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<TaskResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CloudReason>,
    /// From the start to the check that saw the task end (or to now while it runs).
    pub duration_seconds: u64,
    /// Whether the job asked the cloud to cancel the task it gave up on (Alibaba copies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<bool>,
    /// Already done when the job started (`skip_existing`): nothing was started, and `result`
    /// is what was found. A skipped task is a succeeded one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemSummary {
    /// The index of the request in the job's `requests`.
    pub item: usize,
    pub state: JobPhase,
    pub tasks: Vec<TaskSummary>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub start_errors: Vec<StartErrorRecord>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSummary {
    pub job_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TaskKind>,
    pub state: JobPhase,
    pub reason: Option<String>,
    pub checks: u32,
    pub started_at: u64,
    /// The last check's time: when the job ended, once it has.
    pub finished_at: u64,
    pub duration_seconds: u64,
    /// Succeeded tasks, the skipped ones included.
    pub tasks_succeeded: usize,
    /// Of the succeeded tasks, those already done when the job started (`skip_existing`).
    #[serde(default)]
    pub tasks_skipped: usize,
    pub tasks_total: usize,
    pub items: Vec<ItemSummary>,
    /// What each request's selector matched when it started (`item` is its index).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub selections: Vec<crate::select::Selection>,
    /// How many items were left out because the summary would not fit in a state (256 KiB).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub details_omitted: usize,
    /// A job run in chunks ([`super::plan`]): tasks that failed (or stalled), timed out, and
    /// requests or destinations that did not start, summed over the chunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks_failed: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks_timed_out: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_errors: Option<usize>,
    /// Starts waiting behind a cloud's concurrency limit (a running job's).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tasks_queued: usize,
    /// How many chunks (child executions) the job ran in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks: Option<usize>,
    /// Where every task's result lies: one JSON Lines file per chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<ResultsLocation>,
}

/// The per-task results of a job in the jobs bucket: `s3://<bucket>/<prefix><chunk>.jsonl`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultsLocation {
    pub bucket: String,
    pub prefix: String,
    /// How many chunk files were written.
    pub files: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl JobSummary {
    #[allow(clippy::too_many_arguments)]
    pub fn of(
        job_id: &str,
        kind: Option<TaskKind>,
        state: JobPhase,
        reason: &Option<String>,
        checks: u32,
        started_at: u64,
        now: u64,
        tasks: &[TrackedTask],
        start_errors: &[StartErrorRecord],
    ) -> Self {
        let mut items: BTreeMap<usize, ItemSummary> = BTreeMap::new();
        let item = |index: usize| ItemSummary {
            item: index,
            state: JobPhase::Running,
            tasks: Vec::new(),
            start_errors: Vec::new(),
        };
        for task in tasks {
            let end = task.finished_at.unwrap_or(now);
            items
                .entry(task.item)
                .or_insert_with(|| item(task.item))
                .tasks
                .push(TaskSummary {
                    cloud: task.task.cloud,
                    region: task.task.region.clone(),
                    image_id: task.task.image_id.clone(),
                    task_id: task.task.task_id.clone(),
                    destination_region: task.task.destination_region.clone(),
                    state: task.state,
                    progress: task.progress,
                    result: task.result.clone(),
                    reason: task.reason.clone(),
                    // A start the caller did not know counts from the job's start.
                    duration_seconds: end.saturating_sub(task.task.started_at.max(started_at)),
                    cancelled: task.cancelled,
                    skipped: task.task.skipped,
                });
        }
        for error in start_errors {
            items
                .entry(error.item)
                .or_insert_with(|| item(error.item))
                .start_errors
                .push(error.clone());
        }
        let mut items: Vec<ItemSummary> = items.into_values().collect();
        for item in &mut items {
            item.state = item_phase(item);
        }
        Self {
            job_id: job_id.to_owned(),
            kind,
            state,
            reason: reason.clone(),
            checks,
            started_at,
            finished_at: now,
            duration_seconds: now.saturating_sub(started_at),
            tasks_succeeded: tasks
                .iter()
                .filter(|t| t.state == TrackedState::Succeeded)
                .count(),
            tasks_skipped: tasks
                .iter()
                .filter(|t| t.task.skipped && t.state == TrackedState::Succeeded)
                .count(),
            tasks_total: tasks.len(),
            items,
            selections: Vec::new(),
            details_omitted: 0,
            tasks_failed: None,
            tasks_timed_out: None,
            start_errors: None,
            chunks: None,
            tasks_queued: 0,
            results: None,
        }
    }
}

fn item_phase(item: &ItemSummary) -> JobPhase {
    let states: Vec<TrackedState> = item.tasks.iter().map(|t| t.state).collect();
    if states.iter().any(|s| s.is_open()) {
        return JobPhase::Running;
    }
    let succeeded = states.contains(&TrackedState::Succeeded);
    let failed = !item.start_errors.is_empty()
        || states
            .iter()
            .any(|s| matches!(s, TrackedState::Failed | TrackedState::Stalled));
    let timed_out = states.contains(&TrackedState::TimedOut);
    match (succeeded, failed || timed_out) {
        (true, false) => JobPhase::Succeeded,
        (true, true) => JobPhase::Partial,
        (false, _) if failed => JobPhase::Failed,
        (false, _) if timed_out => JobPhase::TimedOut,
        (false, _) => JobPhase::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::spec::{JobOptions, MAX_TASKS};
    use crate::job::state::JobState;
    use crate::model::{ExportedObject, ObjectRef, TaskRef};

    /// The largest job state: the most tasks, each an export of a system and a data disk with
    /// long names, finished. The state machine passes it between states, which take 256 KiB.
    #[test]
    fn the_largest_job_state_fits_the_state_machines_payload() {
        let key = |i: usize, disk: &str| {
            format!(
                "{}/{i:03}_img-{i:08}_{disk}_snap-0de59bf0.qcow2",
                "p".repeat(60)
            )
        };
        let tasks: Vec<TrackedTask> = (0..MAX_TASKS)
            .map(|i| {
                let objects = ["system", "data"].map(|disk| ObjectRef {
                    bucket: "imgflow-backup-1250000000".into(),
                    key: key(i, disk),
                });
                let mut task = TrackedTask::new(
                    i,
                    TaskRef {
                        cloud: Cloud::Tencent,
                        region: "ap-guangzhou".into(),
                        kind: TaskKind::Export,
                        image_id: format!("img-{i:08}"),
                        task_id: Some(format!("1050{i:05}")),
                        destination_region: None,
                        destination_image_id: None,
                        objects: objects.to_vec(),
                        started_at: 1_795_485_600,
                        confirmations: 0,
                        skipped: false,
                    },
                    1_795_485_600,
                );
                task.state = TrackedState::Succeeded;
                task.progress = Some(100);
                task.cloud_state = Some("NORMAL".into());
                task.finished_at = Some(1_795_507_200);
                task.result = Some(TaskResult::Export {
                    objects: objects
                        .iter()
                        .map(|o| ExportedObject {
                            bucket: o.bucket.clone(),
                            key: o.key.clone(),
                            size: 107_374_182_400,
                        })
                        .collect(),
                });
                task
            })
            .collect();
        let summary = JobSummary::of(
            &"j".repeat(64),
            Some(TaskKind::Export),
            JobPhase::Succeeded,
            &None,
            2_500,
            1_795_485_600,
            1_795_507_200,
            &tasks,
            &[],
        );
        // Every task's image selected, with the longest names.
        let selections = vec![crate::select::Selection {
            item: 0,
            images: (0..MAX_TASKS)
                .map(|i| crate::select::SelectedImage {
                    id: format!("{i:0>64}"),
                    name: "n".repeat(128),
                    created_at: 1_795_485_600,
                })
                .collect(),
        }];
        let state = JobState {
            queued: Vec::new(),
            job_id: "j".repeat(64),
            kind: Some(TaskKind::Export),
            options: JobOptions::default(),
            started_at: 1_795_485_600,
            deadline_at: 1_795_744_800,
            checks: 2_500,
            wait_seconds: 0,
            state: JobPhase::Succeeded,
            reason: None,
            tasks,
            start_errors: vec![],
            selections: selections.clone(),
            summary: JobSummary {
                selections,
                ..summary
            },
            chunk: None,
        };
        let size = serde_json::to_vec(&state).expect("serialises").len();
        assert!(size < 200 * 1024, "{size} bytes for {MAX_TASKS} tasks");
    }
}
