//! A job's tasks as the job sees them: each task's state and last answer, the requests
//! that did not start, and where the job as a whole stands. The state, the checks, the queue
//! and the summary all read these.

use serde::{Deserialize, Serialize};

use crate::error::CloudError;
use crate::model::{CloudReason, TaskRef, TaskResult, TaskState, TaskStatus};

/// Where a job stands. Every state but `Running` is final.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobPhase {
    #[default]
    Running,
    /// Every task succeeded.
    Succeeded,
    /// Some tasks succeeded, others failed or timed out.
    Partial,
    /// No task succeeded and at least one failed.
    Failed,
    /// The deadline or the check budget ran out with tasks unfinished (and none failed).
    TimedOut,
}

/// One task's state as the job sees it: the cloud's state plus the job's own verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackedState {
    Pending,
    Running,
    Succeeded,
    Failed,
    /// Progress did not move for `stall_seconds`.
    Stalled,
    /// The job's deadline or check budget ran out first.
    TimedOut,
}

impl TrackedState {
    pub fn is_open(self) -> bool {
        matches!(self, TrackedState::Pending | TrackedState::Running)
    }
}

impl From<TaskState> for TrackedState {
    fn from(state: TaskState) -> Self {
        match state {
            TaskState::Pending => TrackedState::Pending,
            TaskState::Running => TrackedState::Running,
            TaskState::Succeeded => TrackedState::Succeeded,
            TaskState::Failed => TrackedState::Failed,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedTask {
    /// The index of the job's request that started this task.
    pub item: usize,
    pub task: TaskRef,
    pub state: TrackedState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CloudReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<TaskResult>,
    /// When the cloud's state or progress last changed (unix seconds).
    pub changed_at: u64,
    /// Status checks of this task that failed in a row.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub check_failures: u32,
    /// The last failed status check's error, while checks fail (and after the job gave the
    /// task up because of them); cleared by the next answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_error: Option<CloudError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<u64>,
    /// Whether the job asked the cloud to cancel this task (when it stalled or timed out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<bool>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl TrackedTask {
    /// A task not checked yet. `now` stands in for a start the caller did not know.
    pub fn new(item: usize, task: TaskRef, now: u64) -> Self {
        let changed_at = task.known_start().unwrap_or(now);
        Self {
            item,
            task,
            state: TrackedState::Pending,
            progress: None,
            cloud_state: None,
            reason: None,
            result: None,
            changed_at,
            check_failures: 0,
            check_error: None,
            finished_at: None,
            cancelled: None,
        }
    }

    /// The last answer as a [`TaskStatus`] (what the wait policy reads).
    pub fn status(&self) -> TaskStatus {
        TaskStatus {
            task: self.task.clone(),
            state: match self.state {
                TrackedState::Pending => TaskState::Pending,
                TrackedState::Running => TaskState::Running,
                TrackedState::Succeeded => TaskState::Succeeded,
                _ => TaskState::Failed,
            },
            progress: self.progress,
            cloud_state: self.cloud_state.clone().unwrap_or_default(),
            reason: self.reason.clone(),
            result: self.result.clone(),
        }
    }
}

/// A request whose start failed (the whole request, or one destination region of a copy).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartErrorRecord {
    pub item: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_region: Option<String>,
    /// The error's name (`Cloud.Rejected`) or the cloud's code.
    pub error: String,
    pub message: String,
}
