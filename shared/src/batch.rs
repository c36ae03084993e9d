//! Grouping a status check's tasks the way the clouds batch their calls (exports per region,
//! copies per destination region), and putting the answers back in the caller's order.

use std::collections::BTreeMap;

use crate::Cloud;
use crate::error::{CloudError, ErrorKind};
use crate::model::{StartFailure, TaskKind, TaskRef, TaskState, TaskStatus};

pub(crate) type Answer = Result<TaskStatus, CloudError>;

pub(crate) struct RegionBatches<'t> {
    /// Region → indexes of the export tasks there.
    exports: BTreeMap<&'t str, Vec<usize>>,
    /// Destination region → indexes of the copies into it.
    copies: BTreeMap<&'t str, Vec<usize>>,
    cloud: Cloud,
    answers: Vec<Option<Answer>>,
}

/// The batch a task's status comes from: an export's region, or a copy's destination region.
pub(crate) enum Batch<'t> {
    Export(&'t str),
    Copy(&'t str),
}

/// The batch of `task` on `cloud`: exports by their region, copies by their destination; a
/// task of another cloud, or a copy without its destination, cannot be batched.
fn batch_of(cloud: Cloud, task: &TaskRef) -> Result<Batch<'_>, CloudError> {
    if task.cloud != cloud {
        return Err(foreign(cloud, task));
    }
    match (task.kind, task.destination_region.as_deref()) {
        (TaskKind::Export, _) => Ok(Batch::Export(task.region.as_str())),
        (TaskKind::Copy, Some(destination)) => Ok(Batch::Copy(destination)),
        (TaskKind::Copy, None) => Err(incomplete(cloud, task, "destination_region")),
    }
}

impl<'t> RegionBatches<'t> {
    /// Groups `tasks` by `route`; a task it refuses is answered at once with its error.
    fn new(
        cloud: Cloud,
        tasks: &'t [TaskRef],
        route: impl Fn(&'t TaskRef) -> Result<Batch<'t>, CloudError>,
    ) -> Self {
        let mut batches = Self {
            exports: BTreeMap::new(),
            copies: BTreeMap::new(),
            cloud,
            answers: vec![None; tasks.len()],
        };
        for (index, task) in tasks.iter().enumerate() {
            match route(task) {
                Ok(Batch::Export(region)) => batches.exports.entry(region).or_default().push(index),
                Ok(Batch::Copy(destination)) => {
                    batches.copies.entry(destination).or_default().push(index)
                }
                Err(error) => batches.answers[index] = Some(Err(error)),
            }
        }
        batches
    }

    /// Checks `tasks` in batches, exports per region with `exports`, copies per destination
    /// region with `copies`, and returns the answers in the caller's order. A task of another
    /// cloud, or a copy without its destination, is answered at once with an error.
    pub(crate) async fn check<Exports, Copies>(
        cloud: Cloud,
        tasks: &'t [TaskRef],
        exports: impl Fn(&'t str, Vec<&'t TaskRef>) -> Exports,
        copies: impl Fn(&'t str, Vec<&'t TaskRef>) -> Copies,
    ) -> Vec<Answer>
    where
        Exports: Future<Output = Vec<Answer>>,
        Copies: Future<Output = Vec<Answer>>,
    {
        Self::check_routed(cloud, tasks, |task| batch_of(cloud, task), exports, copies).await
    }

    /// [`check`](Self::check) with the cloud's own `route`, for a cloud that refuses more
    /// tasks up front than the default grouping does.
    pub(crate) async fn check_routed<Exports, Copies>(
        cloud: Cloud,
        tasks: &'t [TaskRef],
        route: impl Fn(&'t TaskRef) -> Result<Batch<'t>, CloudError>,
        exports: impl Fn(&'t str, Vec<&'t TaskRef>) -> Exports,
        copies: impl Fn(&'t str, Vec<&'t TaskRef>) -> Copies,
    ) -> Vec<Answer>
    where
        Exports: Future<Output = Vec<Answer>>,
        Copies: Future<Output = Vec<Answer>>,
    {
        let mut batches = Self::new(cloud, tasks, route);
        let group = |indexes: &[usize]| indexes.iter().map(|i| &tasks[*i]).collect();
        for (region, indexes) in std::mem::take(&mut batches.exports) {
            let found = exports(region, group(&indexes)).await;
            batches.place(&indexes, found);
        }
        for (destination, indexes) in std::mem::take(&mut batches.copies) {
            let found = copies(destination, group(&indexes)).await;
            batches.place(&indexes, found);
        }
        batches.finish()
    }

    /// Records the answers of one batch (`found[i]` answers `indexes[i]`).
    fn place(&mut self, indexes: &[usize], found: Vec<Answer>) {
        for (index, answer) in indexes.iter().zip(found) {
            self.answers[*index] = Some(answer);
        }
    }

    /// The answers in the caller's order; a task no batch answered gets an error.
    fn finish(self) -> Vec<Answer> {
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

/// Starts one copy per destination region, one after the other; a region that could not
/// start is a failure of its own and does not stop the others.
pub(crate) async fn per_destination<'a, Started>(
    destinations: &'a [String],
    start: impl Fn(&'a str) -> Started,
) -> (Vec<TaskRef>, Vec<StartFailure>)
where
    Started: Future<Output = Result<TaskRef, CloudError>>,
{
    let mut tasks = Vec::new();
    let mut failures = Vec::new();
    for destination in destinations {
        match start(destination).await {
            Ok(task) => tasks.push(task),
            Err(error) => failures.push(StartFailure {
                destination_region: Some(destination.clone()),
                error,
            }),
        }
    }
    (tasks, failures)
}

/// A task reference that lacks what its status check needs.
pub(crate) fn incomplete(cloud: Cloud, task: &TaskRef, field: &str) -> CloudError {
    CloudError::task_ref_invalid(
        cloud,
        format!(
            "the {:?} task of {} has no {field}",
            task.kind, task.image_id
        ),
    )
}

/// A task of another cloud given to this cloud's status check.
pub(crate) fn foreign(cloud: Cloud, task: &TaskRef) -> CloudError {
    CloudError::task_ref_invalid(
        cloud,
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
