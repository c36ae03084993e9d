//! `DescribeTasks`, and how Volcengine sees a task: where it is visible, which resource it
//! names, its status and `Process`.
//!
//! An export task lives in the image's region and names the source image. A copy task is
//! visible in the **destination** region and names the destination image (doc 6396/124454:
//! "call DescribeTasks in the destination region with ResourceIds.N = the new image id").

use imgflow_shared::Cloud;
use serde_json::{Value, json};

use super::auth::Authenticated;
use super::errors::{self, ApiError};
use super::params::Params;
use super::render::beijing_time;
use crate::world::{Phase, Task, TaskKind, World};

/// At most this many ids in `TaskIds.N` and in `ResourceIds.N`.
const MAX_IDS: usize = 100;
const DEFAULT_PAGE_SIZE: usize = 20;

pub fn describe_tasks(
    world: &World,
    who: &Authenticated,
    params: &Params,
) -> Result<Value, ApiError> {
    let task_ids = params.list("TaskIds");
    let mut resource_ids = params.list("ResourceIds");
    if task_ids.len() > MAX_IDS || resource_ids.len() > MAX_IDS {
        return Err(errors::invalid_argument());
    }
    // `ResourceId` is the deprecated single form of `ResourceIds.N`.
    resource_ids.extend(params.non_empty("ResourceId").map(str::to_owned));
    let page = params.page(DEFAULT_PAGE_SIZE)?;
    let mut matching: Vec<&Task> = world
        .tasks
        .iter()
        .filter(|task| task.cloud == Cloud::Volcengine && task.account == who.caller.account)
        .filter(|task| visible_region(task) == who.region)
        .filter(|task| task_ids.is_empty() || task_ids.contains(&task.id))
        .filter(|task| {
            resource_ids.is_empty() || resource_ids.iter().any(|id| id == resource_id(task))
        })
        .collect();
    // Newest first, as the console lists them.
    matching.sort_by(|a, b| b.created.total_cmp(&a.created).then(b.id.cmp(&a.id)));
    let (tasks, next_token) = page.cut(matching);
    let tasks: Vec<Value> = tasks.into_iter().map(|task| render(world, task)).collect();
    Ok(json!({"NextToken": next_token, "Tasks": tasks}))
}

/// The region whose `DescribeTasks` lists the task.
fn visible_region(task: &Task) -> &str {
    match &task.kind {
        TaskKind::Export { .. } => &task.region,
        TaskKind::Copy {
            destination_region, ..
        } => destination_region,
    }
}

/// `Task.ResourceId`: the exported image, or the image a copy creates.
fn resource_id(task: &Task) -> &str {
    match &task.kind {
        TaskKind::Export { image_id, .. } => image_id,
        TaskKind::Copy {
            destination_image_id,
            ..
        } => destination_image_id,
    }
}

fn render(world: &World, task: &Task) -> Value {
    let phase = world.phase(task);
    let failed_at = task.failure.as_ref().map_or(1.0, |(share, _)| *share);
    let (status, process, ended_at) = match &phase {
        Phase::Pending => ("Pending", 0, None),
        Phase::Running { percent } => ("Running", *percent, None),
        Phase::Succeeded => ("Succeeded", 100, Some(task.created + task.duration)),
        // A failed task keeps the progress it had reached.
        Phase::Failed(_) => (
            "Failed",
            (failed_at * 100.0).clamp(0.0, 99.0) as u8,
            Some(task.created + task.duration * failed_at),
        ),
        // Volcengine has no way to cancel an export or a copy; a cancelled task reads as failed.
        Phase::Cancelled => ("Failed", 0, task.cancelled.or(Some(task.created))),
    };
    let kind = match task.kind {
        TaskKind::Export { .. } => "ExportImage",
        TaskKind::Copy { .. } => "CopyImage",
    };
    json!({
        "Id": task.id,
        "Type": kind,
        "Status": status,
        "Process": process,
        "ResourceId": resource_id(task),
        "CreatedAt": beijing_time(task.created),
        "UpdatedAt": beijing_time(ended_at.unwrap_or_else(|| world.now())),
        "EndAt": ended_at.map(beijing_time).unwrap_or_default(),
    })
}

/// Which running tasks keep an image from starting another one.
#[derive(Clone, Copy, Debug)]
pub enum Lock<'a> {
    /// An export waits for every export and copy of the image (seed 001, 412).
    AnyTask,
    /// A copy waits for exports, and for a copy of the image into the same region.
    ExportsAndCopiesInto(&'a str),
}

/// Whether a pending or running task of `account` holds `image_id` under `lock`.
pub fn image_is_locked(world: &World, account: &str, image_id: &str, lock: Lock<'_>) -> bool {
    world
        .tasks
        .iter()
        .filter(|task| task.cloud == Cloud::Volcengine && task.account == account)
        .filter(|task| task.image_id() == image_id)
        .filter(|task| match (&task.kind, lock) {
            (_, Lock::AnyTask) | (TaskKind::Export { .. }, _) => true,
            (
                TaskKind::Copy {
                    destination_region, ..
                },
                Lock::ExportsAndCopiesInto(region),
            ) => destination_region == region,
        })
        .any(|task| world.phase(task).is_active())
}
