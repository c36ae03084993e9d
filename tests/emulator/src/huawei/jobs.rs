//! The asynchronous jobs of exports and copies: `ShowJobProgress`
//! (`GET /v1/cloudimages/job/{job_id}`) and the older `ShowJob` (`GET /v1/{project_id}/jobs/{job_id}`).
//!
//! Status `INIT` → `RUNNING` → `SUCCESS` or `FAIL`. `entities.process_percent` is a 0–1
//! fraction (WIRE.md §4.4: the documented finished job shows `1`). For a copy,
//! `entities.image_id` is the new image in the destination region.

use imgflow_shared::Cloud;
use serde_json::{Value, json};

use super::auth::Scope;
use super::errors::{ImsError, JOB_NOT_FOUND, PROJECT_ID_INVALID};
use super::ids::utc_millis;
use crate::world::{Phase, Task, TaskKind, World};

pub fn show_job_progress(world: &World, scope: &Scope, job_id: &str) -> Result<Value, ImsError> {
    let task = own_task(world, scope, job_id)?;
    Ok(render(world, task, false))
}

pub fn show_job(
    world: &World,
    scope: &Scope,
    path_project: &str,
    job_id: &str,
) -> Result<Value, ImsError> {
    if path_project != scope.project_id {
        return Err(PROJECT_ID_INVALID);
    }
    let task = own_task(world, scope, job_id)?;
    Ok(render(world, task, true))
}

/// Jobs belong to the project they were started in.
fn own_task<'w>(world: &'w World, scope: &Scope, job_id: &str) -> Result<&'w Task, ImsError> {
    world
        .task(Cloud::Huawei, job_id)
        .filter(|task| task.account == scope.account && task.region == scope.region)
        .ok_or(JOB_NOT_FOUND)
}

fn status(phase: &Phase) -> &'static str {
    match phase {
        Phase::Pending => "INIT",
        Phase::Running { .. } => "RUNNING",
        Phase::Succeeded => "SUCCESS",
        // IMS jobs cannot be cancelled; should one be, it ended without success.
        Phase::Failed(_) | Phase::Cancelled => "FAIL",
    }
}

/// Progress as a 0–1 fraction; a failed job keeps the progress it had when it failed.
fn process_percent(task: &Task, phase: &Phase) -> f64 {
    match phase {
        Phase::Failed(_) => task.failure.as_ref().map_or(0.0, |(at, _)| at.min(1.0)),
        _ => f64::from(phase.percent()) / 100.0,
    }
}

fn end_time(task: &Task, phase: &Phase) -> String {
    match phase {
        Phase::Succeeded => utc_millis(task.created + task.duration),
        Phase::Failed(_) => {
            let at = task.failure.as_ref().map_or(1.0, |(at, _)| *at);
            utc_millis(task.created + task.duration * at)
        }
        Phase::Cancelled => utc_millis(task.cancelled.unwrap_or(task.created)),
        Phase::Pending | Phase::Running { .. } => String::new(),
    }
}

fn render(world: &World, task: &Task, with_results: bool) -> Value {
    let phase = world.phase(task);
    let (job_type, current_task, image_id, image_name) = match &task.kind {
        TaskKind::Export { image_id, .. } => (
            "imsNativeExportImageJob",
            "exportImage",
            image_id.clone(),
            image_name(world, image_id),
        ),
        TaskKind::Copy {
            destination_image_id,
            ..
        } => (
            "imsCrossRegionCopyImageJob",
            "copyImage",
            destination_image_id.clone(),
            image_name(world, destination_image_id),
        ),
    };
    let running = matches!(phase, Phase::Running { .. });
    let mut entities = json!({
        "image_id": image_id,
        "image_name": image_name,
        "process_percent": process_percent(task, &phase),
        "current_task": if running { current_task } else { "" },
    });
    let (error_code, fail_reason) = match &phase {
        Phase::Failed(failure) => (json!(failure.code), json!(failure.message)),
        Phase::Cancelled => (json!("IMG.0061"), json!("Unknown system error.")),
        _ => (Value::Null, Value::Null),
    };
    if with_results
        && let TaskKind::Copy {
            destination_region,
            destination_image_id,
            ..
        } = &task.kind
    {
        let project = world
            .huawei_project_of(&task.account, destination_region)
            .unwrap_or_default();
        entities["results"] = json!([{
            "image_id": destination_image_id,
            "project_id": project,
            "status": status(&phase),
        }]);
    }
    json!({
        "job_id": task.id,
        "job_type": job_type,
        "begin_time": utc_millis(task.created),
        "end_time": end_time(task, &phase),
        "status": status(&phase),
        "error_code": error_code,
        "fail_reason": fail_reason,
        "entities": entities,
    })
}

fn image_name(world: &World, image_id: &str) -> String {
    world
        .image(Cloud::Huawei, image_id)
        .map(|image| image.spec.name.clone())
        .unwrap_or_default()
}
