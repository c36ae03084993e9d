//! `DescribeTasks` and `DescribeTaskAttribute` over the caller's export tasks in a region.
//! Copies are not tasks on Alibaba (their progress is the destination image's), so neither
//! call lists them.
//!
//! `TaskStatus`: `Waiting` → `Processing` → `Finished` | `Failed` (`Cancelled` if ever
//! cancelled). `TaskProcess` is `"NN%"`; a failed task keeps the percent it failed at.

use imgflow_shared::Cloud;
use serde_json::{Map, Value, json};

use crate::world::{Caller, ExportObject, Phase, Task, TaskKind, World};

use super::error::AcsError;
use super::ids;
use super::params::Params;
use super::regions;

const MAX_IDS: usize = 100;
/// The only `TaskStatus` values DescribeTasks filters on; others "do not take effect".
const FILTERING_STATUSES: &[&str] = &["Finished", "Processing", "Failed"];

fn invalid(name: &str) -> AcsError {
    AcsError::new(
        400,
        "InvalidParameter",
        format!("The specified parameter \"{name}\" is not valid."),
    )
}

fn status(phase: &Phase) -> &'static str {
    match phase {
        Phase::Pending => "Waiting",
        Phase::Running { .. } => "Processing",
        Phase::Succeeded => "Finished",
        Phase::Failed(_) => "Failed",
        Phase::Cancelled => "Cancelled",
    }
}

/// The progress shown: a failed task stops where it failed rather than dropping to 0.
fn percent(task: &Task, phase: &Phase) -> u8 {
    match (phase, &task.failure) {
        (Phase::Failed(_), Some((fail_at, _))) => ((fail_at * 100.0) as u8).min(99),
        _ => phase.percent(),
    }
}

fn finished_time(task: &Task, phase: &Phase) -> String {
    let end = match phase {
        Phase::Succeeded => task.created + task.duration,
        Phase::Failed(_) => {
            task.created + task.duration * task.failure.as_ref().map_or(1.0, |f| f.0)
        }
        Phase::Cancelled => task.cancelled.unwrap_or(task.created),
        Phase::Pending | Phase::Running { .. } => return String::new(),
    };
    ids::minute_time(end)
}

fn export_parts(task: &Task) -> Option<(&str, &str, &str, &[ExportObject])> {
    match &task.kind {
        TaskKind::Export {
            image_id,
            bucket,
            format,
            objects,
        } => Some((image_id, bucket, format, objects)),
        TaskKind::Copy { .. } => None,
    }
}

fn visible(task: &Task, caller: &Caller, region: &str) -> bool {
    task.cloud == Cloud::Alibaba
        && task.account == caller.account
        && task.region == region
        && export_parts(task).is_some()
}

pub fn describe_tasks(
    world: &mut World,
    caller: &Caller,
    params: &Params,
) -> Result<Map<String, Value>, AcsError> {
    let region = params.required(&["RegionId"], "RegionId")?;
    if !regions::exists(region) {
        return Err(AcsError::region_not_found(400));
    }
    let task_ids = params.comma_list("TaskIds");
    if task_ids.len() > MAX_IDS {
        return Err(invalid("TaskIds"));
    }
    let resource_ids = params.list("ResourceIds");
    if resource_ids.len() > MAX_IDS {
        return Err(invalid("ResourceIds"));
    }
    let page_number = params
        .number_in("PageNumber", 1, 1..=1_000_000)
        .ok_or_else(|| invalid("PageNumber"))?;
    let page_size = params
        .number_in("PageSize", 10, 1..=100)
        .ok_or_else(|| invalid("PageSize"))?;
    let time_filter = |name: &str| {
        params
            .get(name)
            .map(|text| ids::parse_filter_time(text).ok_or_else(|| invalid(name)))
            .transpose()
    };
    let start = time_filter("StartTime")?;
    let end = time_filter("EndTime")?;
    let status_filter = params
        .get("TaskStatus")
        .filter(|s| FILTERING_STATUSES.contains(s));
    let action_filter = params.get("TaskAction");

    let mut matching: Vec<&Task> = world
        .tasks
        .iter()
        .filter(|task| visible(task, caller, region))
        .filter(|task| task_ids.is_empty() || task_ids.contains(&task.id.as_str()))
        .filter(|task| resource_ids.is_empty() || resource_ids.contains(&task.image_id()))
        .filter(|_| action_filter.is_none_or(|a| a == "ExportImage"))
        .filter(|task| status_filter.is_none_or(|s| s == status(&world.phase(task))))
        .filter(|task| start.is_none_or(|t| task.created >= t as f64))
        .filter(|task| end.is_none_or(|t| task.created <= t as f64))
        .collect();
    matching.sort_by(|a, b| b.created.total_cmp(&a.created).then(b.id.cmp(&a.id)));
    let total = matching.len();
    let skip = ((page_number - 1) * page_size) as usize;
    let page: Vec<Value> = matching
        .into_iter()
        .skip(skip)
        .take(page_size as usize)
        .map(|task| {
            let phase = world.phase(task);
            json!({
                "TaskId": task.id,
                "TaskAction": "ExportImage",
                "TaskStatus": status(&phase),
                "ResourceId": task.image_id(),
                "SupportCancel": if phase.is_active() { "true" } else { "false" },
                "CreationTime": ids::minute_time(task.created),
                "FinishedTime": finished_time(task, &phase),
            })
        })
        .collect();
    let mut fields = Map::new();
    fields.insert("RegionId".into(), json!(region));
    fields.insert("TotalCount".into(), json!(total));
    fields.insert("PageNumber".into(), json!(page_number));
    fields.insert("PageSize".into(), json!(page_size));
    fields.insert("TaskSet".into(), json!({ "Task": page }));
    Ok(fields)
}

pub fn describe_task_attribute(
    world: &mut World,
    caller: &Caller,
    params: &Params,
) -> Result<Map<String, Value>, AcsError> {
    let region = params.required(&["RegionId"], "RegionId")?;
    let task_id = params.required(&["TaskId"], "TaskId")?;
    if !regions::exists(region) {
        return Err(AcsError::region_not_found(400));
    }
    let (task, (_, bucket, format, objects)) = world
        .task(Cloud::Alibaba, task_id)
        .filter(|task| visible(task, caller, region))
        .and_then(|task| Some((task, export_parts(task)?)))
        .ok_or_else(|| {
            AcsError::new(
                400,
                "InvalidTaskId.NotFound",
                "The specified \"TaskId\" is not found.",
            )
        })?;
    let phase = world.phase(task);
    let (operation_status, error_code, error_message) = match &phase {
        Phase::Pending => ("Waiting", "", ""),
        Phase::Running { .. } => ("Processing", "", ""),
        Phase::Succeeded => ("Success", "", ""),
        Phase::Failed(failure) => ("Failed", failure.code.as_str(), failure.message.as_str()),
        Phase::Cancelled => ("Cancelled", "", ""),
    };
    let operations: Vec<Value> = objects
        .iter()
        .map(|object| {
            json!({
                "OperationStatus": operation_status,
                "ErrorCode": error_code,
                "ErrorMsg": error_message,
                "RelatedItemSet": { "RelatedItem": [
                    { "Name": "OSSBucket", "Value": bucket },
                    { "Name": "OSSObject", "Value": object.key },
                    { "Name": "ImageFormat", "Value": format },
                ]},
            })
        })
        .collect();
    let count = objects.len();
    let mut fields = Map::new();
    fields.insert("RegionId".into(), json!(region));
    fields.insert("TaskId".into(), json!(task.id));
    fields.insert("TaskAction".into(), json!("ExportImage"));
    fields.insert("TaskStatus".into(), json!(status(&phase)));
    fields.insert(
        "TaskProcess".into(),
        json!(format!("{}%", percent(task, &phase))),
    );
    fields.insert(
        "SupportCancel".into(),
        json!(if phase.is_active() { "true" } else { "false" }),
    );
    fields.insert("TotalCount".into(), json!(count));
    let succeeded = if phase == Phase::Succeeded { count } else { 0 };
    let failed = if matches!(phase, Phase::Failed(_)) {
        count
    } else {
        0
    };
    fields.insert("SuccessCount".into(), json!(succeeded));
    fields.insert("FailedCount".into(), json!(failed));
    fields.insert("CreationTime".into(), json!(ids::minute_time(task.created)));
    fields.insert("FinishedTime".into(), json!(finished_time(task, &phase)));
    fields.insert(
        "OperationProgressSet".into(),
        json!({ "OperationProgress": operations }),
    );
    Ok(fields)
}
