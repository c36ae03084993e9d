//! Grouping a status check's tasks the way the clouds batch their calls (exports per region,
//! copies per destination region), and putting the answers back in the caller's order.

use std::collections::BTreeMap;

use crate::Cloud;
use crate::error::{CloudError, ErrorKind};
use crate::model::{TaskKind, TaskRef, TaskState, TaskStatus};

pub(crate) type Answer = Result<TaskStatus, CloudError>;

pub(crate) struct RegionBatches<'t> {
    /// Region → indexes of the export tasks there.
    pub(crate) exports: BTreeMap<&'t str, Vec<usize>>,
    /// Destination region → indexes of the copies into it.
    pub(crate) copies: BTreeMap<&'t str, Vec<usize>>,
    cloud: Cloud,
    answers: Vec<Option<Answer>>,
}

impl<'t> RegionBatches<'t> {
    /// Groups `tasks`; a task of another cloud, or a copy without its destination, is
    /// answered at once with an error.
    pub(crate) fn new(cloud: Cloud, tasks: &'t [TaskRef]) -> Self {
        let mut batches = Self {
            exports: BTreeMap::new(),
            copies: BTreeMap::new(),
            cloud,
            answers: vec![None; tasks.len()],
        };
        for (index, task) in tasks.iter().enumerate() {
            if task.cloud != cloud {
                batches.answers[index] = Some(Err(foreign(cloud, task)));
                continue;
            }
            match (task.kind, task.destination_region.as_deref()) {
                (TaskKind::Export, _) => batches
                    .exports
                    .entry(task.region.as_str())
                    .or_default()
                    .push(index),
                (TaskKind::Sync, Some(destination)) => {
                    batches.copies.entry(destination).or_default().push(index)
                }
                (TaskKind::Sync, None) => {
                    batches.answers[index] =
                        Some(Err(incomplete(cloud, task, "destination_region")));
                }
            }
        }
        batches
    }

    /// Records the answers of one batch (`found[i]` answers `indexes[i]`).
    pub(crate) fn place(&mut self, indexes: &[usize], found: Vec<Answer>) {
        for (index, answer) in indexes.iter().zip(found) {
            self.answers[*index] = Some(answer);
        }
    }

    /// The answers in the caller's order; a task no batch answered gets an error.
    pub(crate) fn finish(self) -> Vec<Answer> {
        let cloud = self.cloud;
        self.answers
            .into_iter()
            .map(|answer| {
                answer.unwrap_or_else(|| {
                    Err(CloudError::new(
                        cloud,
                        ErrorKind::Transient,
                        "Status.Unanswered",
                        "no status was determined for this task",
                    ))
                })
            })
            .collect()
    }
}

/// A task reference that lacks what its status check needs.
pub(crate) fn incomplete(cloud: Cloud, task: &TaskRef, field: &str) -> CloudError {
    CloudError::new(
        cloud,
        ErrorKind::InvalidRequest,
        "TaskRef.Incomplete",
        format!(
            "the {:?} task of {} has no {field}",
            task.kind, task.image_id
        ),
    )
}

/// A task of another cloud given to this cloud's status check.
pub(crate) fn foreign(cloud: Cloud, task: &TaskRef) -> CloudError {
    CloudError::new(
        cloud,
        ErrorKind::InvalidRequest,
        "TaskRef.WrongCloud",
        format!(
            "a {} task was given to the {cloud} status check",
            task.cloud
        ),
    )
}

/// A status with no reason and no result yet.
pub(crate) fn plain_status(
    task: TaskRef,
    state: TaskState,
    progress: Option<u8>,
    cloud_state: &str,
) -> TaskStatus {
    TaskStatus {
        task,
        state,
        progress,
        cloud_state: cloud_state.to_owned(),
        reason: None,
        result: None,
    }
}
