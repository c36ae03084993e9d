//! `ExportImage`, and an export's status from `DescribeTasks` plus a TOS `HEAD` of each object.

use std::collections::HashMap;

use super::wire::{self, MAX_IDS, Query, WireTask, incomplete, not_found};
use crate::Cloud;
use crate::batch::plain_status;
use crate::client::{CloudClient, Repeat};
use crate::error::{CloudError, ErrorKind};
use crate::idempotence::{self, Attempt, Found};
use crate::model::{
    CloudReason, ExportedObject, ObjectRef, TaskKind, TaskRef, TaskResult, TaskState, TaskStatus,
};
use crate::volcengine::request::ExportImage;

const TASK_TYPE: &str = "ExportImage";

/// Starts the export. With `attempt.look_first` (a start item that may have run before),
/// the export task an earlier attempt made (the one `ExportImage` task of the image created
/// since the window opened) is adopted instead; several are unconfirmed, and a failed
/// lookup sends nothing. An unknown outcome is looked up at once, and is retryable when it
/// shows no task, because the retry looks first.
pub async fn start_export(
    client: &CloudClient,
    request: &ExportImage,
    attempt: impl Into<Attempt>,
) -> Result<Vec<TaskRef>, CloudError> {
    let attempt: Attempt = attempt.into();
    let started_at = attempt.since;
    let objects = planned_objects(client, request).await?;
    let task_ref = |task_id: String| TaskRef {
        cloud: Cloud::Volcengine,
        region: request.region.clone(),
        kind: TaskKind::Export,
        image_id: request.image_id.clone(),
        task_id: Some(task_id),
        destination_region: None,
        destination_image_id: None,
        objects: objects.clone(),
        started_at,
        confirmations: 0,
        skipped: false,
    };
    if attempt.look_first {
        match find_export(client, request, &objects, started_at)
            .await
            .map_err(idempotence::lookup_failed)?
        {
            Found::One(task_id) => return Ok(vec![task_ref(task_id)]),
            Found::Several(count) => {
                return Err(idempotence::ambiguous(
                    Cloud::Volcengine,
                    "export tasks of the image",
                    count,
                ));
            }
            Found::Nothing => {}
        }
    }
    let query = Query::new()
        .param("ImageId", &request.image_id)
        .param("TOSBucket", &request.bucket)
        .param("TOSPrefix", &request.prefix);
    // ExportImage has no idempotency token: it is sent once, never repeated blindly.
    let started = wire::call(client, TASK_TYPE, &request.region, &query, Repeat::Never)
        .await
        .and_then(|result| task_id_of(&result));
    let task_id = match started {
        Ok(task_id) => task_id,
        Err(error) if error.kind == ErrorKind::UnknownOutcome => {
            match find_export(client, request, &objects, started_at).await {
                Ok(Found::One(task_id)) => task_id,
                Ok(Found::Nothing) if attempt.look_first => {
                    return Err(idempotence::retry_safely(error));
                }
                _ => return Err(error),
            }
        }
        Err(error) => return Err(error),
    };
    Ok(vec![task_ref(task_id)])
}

/// `Result.TaskId`. An accepted export whose answer carries no id may still have started a
/// task, so it is an unknown outcome (looked for like a lost answer), not a plain failure.
fn task_id_of(result: &serde_json::Value) -> Result<String, CloudError> {
    result
        .get("TaskId")
        .and_then(serde_json::Value::as_str)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            CloudError::new(
                Cloud::Volcengine,
                ErrorKind::UnknownOutcome,
                "Response.NoTaskId",
                "ExportImage answered without a TaskId",
            )
        })
}

/// The objects the export will write. The system disk's name is documented; data disks
/// (one `data` snapshot each, read from DescribeImages before starting) are named as the
/// emulator names them, `<TOSPrefix>_<ImageId>_data_<N>.qcow2`, because Volcengine does not
/// document their naming and DescribeTasks does not list objects.
async fn planned_objects(
    client: &CloudClient,
    request: &ExportImage,
) -> Result<Vec<ObjectRef>, CloudError> {
    let filter = Query::new().list("ImageIds", [request.image_id.as_str()]);
    let images = wire::describe_images(client, &request.region, filter).await?;
    // An image DescribeImages does not list is left to ExportImage, whose error names it.
    let data_disks = images
        .iter()
        .find(|image| image.image_id == request.image_id)
        .map_or(0, wire::WireImage::data_disks);
    Ok(object_keys(request, data_disks)
        .into_iter()
        .map(|key| ObjectRef {
            bucket: request.bucket.clone(),
            key,
        })
        .collect())
}

fn object_keys(request: &ExportImage, data_disks: usize) -> Vec<String> {
    let data =
        (1..=data_disks).map(|n| format!("{}_{}_data_{n}.qcow2", request.prefix, request.image_id));
    std::iter::once(request.object_key()).chain(data).collect()
}

/// The export tasks of the image created at or after `started_at`: exactly one is the
/// start's. A task does not name its bucket or prefix, so one that has already succeeded
/// counts only when this start's first object exists, written since the start: an export of
/// the same image into another place (another job, or a cloud clock ahead of ours) is never
/// adopted, where its objects would be waited for in vain.
async fn find_export(
    client: &CloudClient,
    request: &ExportImage,
    objects: &[ObjectRef],
    started_at: u64,
) -> Result<Found<String>, CloudError> {
    let filter = Query::new().list("ResourceIds", [request.image_id.as_str()]);
    let tasks = wire::describe_tasks(client, &request.region, filter).await?;
    let mut candidates = Vec::new();
    for task in candidates_since(&tasks, &request.image_id, started_at) {
        if task.status == "Succeeded" {
            let Some(first) = objects.first() else {
                continue;
            };
            let written = client
                .head_object(Cloud::Volcengine, &request.region, first, Some(started_at))
                .await?;
            if written.is_none() {
                continue;
            }
        }
        candidates.push(task.id.clone());
    }
    Ok(Found::from_matches(candidates))
}

fn candidates_since<'a>(
    tasks: &'a [WireTask],
    image_id: &'a str,
    started_at: u64,
) -> impl Iterator<Item = &'a WireTask> {
    tasks.iter().filter(move |task| {
        task.kind == TASK_TYPE
            && task.resource_id == image_id
            && task.created().is_some_and(|created| created >= started_at)
    })
}

#[cfg(test)]
fn exports_since(tasks: &[WireTask], image_id: &str, started_at: u64) -> Found<String> {
    Found::from_matches(
        candidates_since(tasks, image_id, started_at)
            .map(|task| task.id.clone())
            .collect(),
    )
}

/// The status of export tasks of one region: one DescribeTasks per 100 task ids, then a
/// HEAD of each object of the tasks the cloud calls finished.
pub(super) async fn statuses(
    client: &CloudClient,
    region: &str,
    tasks: &[&TaskRef],
) -> Vec<Result<TaskStatus, CloudError>> {
    let mut ids: Vec<&str> = tasks.iter().filter_map(|t| t.task_id.as_deref()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut listed: HashMap<String, WireTask> = HashMap::new();
    let mut failed: HashMap<&str, CloudError> = HashMap::new();
    for chunk in ids.chunks(MAX_IDS) {
        let filter = Query::new().list("TaskIds", chunk.iter().copied());
        match wire::describe_tasks(client, region, filter).await {
            Ok(found) => listed.extend(found.into_iter().map(|task| (task.id.clone(), task))),
            Err(error) => failed.extend(chunk.iter().map(|id| (*id, error.clone()))),
        }
    }
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        let answer = match task.task_id.as_deref() {
            None => Err(incomplete(task, "task_id")),
            Some(id) => match (failed.get(id), listed.get(id)) {
                (Some(error), _) => Err(error.clone()),
                (None, None) => Err(not_found(format!(
                    "DescribeTasks in {region} does not know the export task {id}"
                ))),
                (None, Some(wire)) => status_of(client, task, wire).await,
            },
        };
        out.push(answer);
    }
    out
}

async fn status_of(
    client: &CloudClient,
    task: &TaskRef,
    wire: &WireTask,
) -> Result<TaskStatus, CloudError> {
    match task_says(task, wire)? {
        Some(status) => Ok(status),
        None => proven(client, task.clone(), wire).await,
    }
}

/// The status the task alone decides, or `None` when it says it succeeded (which the
/// objects must then prove).
fn task_says(task: &TaskRef, wire: &WireTask) -> Result<Option<TaskStatus>, CloudError> {
    let progress = wire.progress();
    let state = match wire.status.as_str() {
        "Pending" => TaskState::Pending,
        "Running" => TaskState::Running,
        "Failed" => TaskState::Failed,
        "Succeeded" => return Ok(None),
        other => {
            return Err(wire::unknown_state(
                &format!("export task {}", wire.id),
                other,
            ));
        }
    };
    let mut status = plain_status(task.clone(), state, progress, &wire.status);
    if state == TaskState::Failed {
        status.reason = Some(failure_reason(task, wire));
    }
    Ok(Some(status))
}

/// DescribeTasks gives a failed task no reason: the reason is its state, with what it says
/// about how far the task got.
fn failure_reason(task: &TaskRef, wire: &WireTask) -> CloudReason {
    let reached = wire
        .progress()
        .map_or_else(String::new, |p| format!(" at {p}%"));
    let ended = if wire.end_at.is_empty() {
        String::new()
    } else {
        format!(", ended {}", wire.end_at)
    };
    CloudReason {
        code: Some(wire.status.clone()),
        message: format!(
            "DescribeTasks: export task {} of {} is {}{reached}{ended}; Volcengine gives no further reason",
            wire.id, task.image_id, wire.status
        ),
    }
}

/// The task says it succeeded: success only once TOS shows every object with its size.
async fn proven(
    client: &CloudClient,
    task: TaskRef,
    wire: &WireTask,
) -> Result<TaskStatus, CloudError> {
    if task.objects.is_empty() {
        return Err(incomplete(&task, "objects"));
    }
    let mut exported = Vec::with_capacity(task.objects.len());
    for object in &task.objects {
        let size = client
            .head_object(Cloud::Volcengine, &task.region, object, task.known_start())
            .await?;
        let Some(size) = size else {
            // Done by the task, not yet visible in TOS: eventual consistency, so keep waiting.
            return Ok(plain_status(
                task,
                TaskState::Running,
                Some(100),
                &wire.status,
            ));
        };
        exported.push(ExportedObject {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            size,
        });
    }
    let mut status = plain_status(task, TaskState::Succeeded, Some(100), &wire.status);
    status.result = Some(TaskResult::Export { objects: exported });
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ExportImage {
        ExportImage {
            region: "cn-beijing".into(),
            image_id: "image-ycdb0000000000000001".into(),
            select: None,
            skip_existing: false,
            bucket: "imgflow-tos-backup".into(),
            prefix: "nightly".into(),
        }
    }

    fn task(id: &str, kind: &str, image: &str, created_at: &str) -> WireTask {
        WireTask {
            id: id.into(),
            kind: kind.into(),
            status: "Pending".into(),
            resource_id: image.into(),
            created_at: created_at.into(),
            ..WireTask::default()
        }
    }

    #[test]
    fn the_system_disk_comes_first_then_one_object_per_data_disk() {
        assert_eq!(
            object_keys(&request(), 2),
            [
                "nightly_image-ycdb0000000000000001_system.qcow2",
                "nightly_image-ycdb0000000000000001_data_1.qcow2",
                "nightly_image-ycdb0000000000000001_data_2.qcow2",
            ]
        );
        assert_eq!(object_keys(&request(), 0).len(), 1);
    }

    #[test]
    fn only_a_single_export_of_the_image_since_the_start_is_adopted() {
        let image = "image-ycdb0000000000000001";
        // 2025-03-04T08:15:30Z
        let started_at = 1_741_076_130;
        let old = task("t-old", "ExportImage", image, "2025-03-04T16:00:00+08:00");
        let new = task("t-new", "ExportImage", image, "2025-03-04T16:15:31+08:00");
        let copy = task("t-copy", "CopyImage", image, "2025-03-04T16:15:31+08:00");
        let other = task(
            "t-other",
            "ExportImage",
            "image-x",
            "2025-03-04T16:15:31+08:00",
        );
        let adopted = exports_since(&[new.clone(), copy, other, old.clone()], image, started_at);
        assert_eq!(adopted, Found::One("t-new".to_owned()));
        assert_eq!(exports_since(&[old], image, started_at), Found::Nothing);
        let twin = task("t-twin", "ExportImage", image, "2025-03-04T16:15:30+08:00");
        assert_eq!(
            exports_since(&[new, twin], image, started_at),
            Found::Several(2)
        );
    }

    fn task_ref() -> TaskRef {
        TaskRef {
            cloud: Cloud::Volcengine,
            region: "cn-beijing".into(),
            kind: TaskKind::Export,
            image_id: "image-ycdb0000000000000001".into(),
            task_id: Some("t-1".into()),
            destination_region: None,
            destination_image_id: None,
            objects: Vec::new(),
            started_at: 1_741_076_130,
            confirmations: 0,
            skipped: false,
        }
    }

    #[test]
    fn the_task_decides_every_state_but_success() {
        let mut wire = task("t-1", "ExportImage", "image-x", "");
        wire.process = serde_json::json!(30);
        wire.status = "Running".into();
        let status = task_says(&task_ref(), &wire)
            .expect("known")
            .expect("decided");
        assert_eq!(
            (status.state, status.progress, status.cloud_state.as_str()),
            (TaskState::Running, Some(30), "Running")
        );
        wire.status = "Failed".into();
        wire.end_at = "2025-03-04T16:30:00+08:00".into();
        let status = task_says(&task_ref(), &wire)
            .expect("known")
            .expect("decided");
        let reason = status.reason.expect("a reason");
        assert_eq!(reason.code.as_deref(), Some("Failed"));
        assert!(reason.message.contains("at 30%"), "{}", reason.message);
        wire.status = "Succeeded".into();
        assert_eq!(task_says(&task_ref(), &wire), Ok(None));
    }

    #[test]
    fn an_unknown_task_state_is_an_error_naming_it() {
        let mut wire = task("t-1", "ExportImage", "image-x", "");
        wire.status = "UnknownStatus".into();
        let error = task_says(&task_ref(), &wire).expect_err("unknown");
        assert_eq!(
            (error.kind, error.code.as_str()),
            (ErrorKind::Unsupported, "State.Unknown")
        );
        assert!(
            error.message.contains("`UnknownStatus`"),
            "{}",
            error.message
        );
    }
}
