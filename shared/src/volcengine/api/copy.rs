//! `CopyImage`, one call per destination region, and a copy's status from the destination
//! image (`DescribeImages` in the destination region), with `DescribeTasks` there for
//! progress while the image is not yet available.

use std::collections::HashMap;

use super::wire::{self, MAX_IDS, Query, WireImage, WireTask, incomplete, not_found};
use crate::Cloud;
use crate::batch::plain_status;
use crate::client::{CloudClient, Repeat};
use crate::error::{CloudError, ErrorKind};
use crate::idempotence::{self, Attempt, Found};
use crate::model::{
    CloudReason, RegionImage, StartFailure, TaskKind, TaskRef, TaskResult, TaskState, TaskStatus,
};
use crate::volcengine::request::CopyImage;

const TASK_TYPE: &str = "CopyImage";

/// Starts one copy per destination region. With `attempt.look_first` (a start item that may
/// have run before), each region's copy an earlier attempt made is adopted instead (see
/// [`find_copy`]); several candidates are unconfirmed, and a failed lookup sends nothing.
/// An unknown outcome is looked up at once, and is retryable when it shows no copy.
pub async fn start_copy(
    client: &CloudClient,
    request: &CopyImage,
    attempt: impl Into<Attempt>,
) -> (Vec<TaskRef>, Vec<StartFailure>) {
    let attempt: Attempt = attempt.into();
    crate::batch::per_destination(&request.destination_regions, |destination| {
        start_to_destination(client, request, destination, attempt)
    })
    .await
}

async fn start_to_destination(
    client: &CloudClient,
    request: &CopyImage,
    destination: &str,
    attempt: Attempt,
) -> Result<TaskRef, CloudError> {
    let started_at = attempt.since;
    let task_ref = |(destination_image, task_id): (String, Option<String>)| TaskRef {
        cloud: Cloud::Volcengine,
        region: request.region.clone(),
        kind: TaskKind::Copy,
        image_id: request.image_id.clone(),
        task_id,
        destination_region: Some(destination.to_owned()),
        destination_image_id: Some(destination_image),
        objects: Vec::new(),
        started_at,
        confirmations: 0,
        skipped: false,
    };
    if attempt.look_first {
        match find_copy(client, request, destination, started_at)
            .await
            .map_err(idempotence::lookup_failed)?
        {
            Found::One(found) => return Ok(task_ref(found)),
            Found::Several(count) => {
                return Err(idempotence::ambiguous(
                    Cloud::Volcengine,
                    "copies of the image's name",
                    count,
                ));
            }
            Found::Nothing => {}
        }
    }
    let query = Query::new()
        .param("ImageId", &request.image_id)
        .param("DestinationRegion", destination)
        .param("ImageName", &request.image_name)
        .optional("Description", request.description.as_deref())
        .optional("ProjectName", request.project_name.as_deref());
    // CopyImage has no idempotency token: sent once, signed for the source region.
    let started = wire::call(client, TASK_TYPE, &request.region, &query, Repeat::Never)
        .await
        .and_then(|result| destination_image_of(&result));
    match started {
        Ok(image_id) => Ok(task_ref((image_id, None))),
        Err(error) if error.kind == ErrorKind::UnknownOutcome => {
            match find_copy(client, request, destination, started_at).await {
                Ok(Found::One(found)) => Ok(task_ref(found)),
                Ok(Found::Nothing) if attempt.look_first => Err(idempotence::retry_safely(error)),
                _ => Err(error),
            }
        }
        Err(error) => Err(error),
    }
}

/// `Result.ImageId`, the destination image. Without it the copy may still have started,
/// so it is an unknown outcome, looked for like a lost answer.
fn destination_image_of(result: &serde_json::Value) -> Result<String, CloudError> {
    result
        .get("ImageId")
        .and_then(serde_json::Value::as_str)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            CloudError::new(
                Cloud::Volcengine,
                ErrorKind::UnknownOutcome,
                "Response.NoImageId",
                "CopyImage answered without an ImageId",
            )
        })
}

/// The copies an earlier attempt may have made into `destination`: images of the requested
/// name created there at or after `started_at`, each kept only if DescribeTasks there shows
/// a CopyImage task making it. Exactly one is the start's (with its task id).
async fn find_copy(
    client: &CloudClient,
    request: &CopyImage,
    destination: &str,
    started_at: u64,
) -> Result<Found<(String, Option<String>)>, CloudError> {
    let filter = Query::new().param("ImageName", &request.image_name);
    let images = wire::describe_images(client, destination, filter).await?;
    let ids = images_since(&images, &request.image_name, started_at);
    if ids.is_empty() {
        return Ok(Found::Nothing);
    }
    let filter = Query::new().list("ResourceIds", ids.iter().map(String::as_str));
    let tasks = wire::describe_tasks(client, destination, filter).await?;
    let copies: Vec<(String, Option<String>)> = ids
        .into_iter()
        .filter_map(|image_id| {
            let copy = tasks
                .iter()
                .find(|task| task.kind == TASK_TYPE && task.resource_id == image_id)?;
            Some((image_id, Some(copy.id.clone())))
        })
        .collect();
    Ok(Found::from_matches(copies))
}

fn images_since(images: &[WireImage], name: &str, started_at: u64) -> Vec<String> {
    // The name filter of DescribeImages may match loosely: compare exactly here.
    images
        .iter()
        .filter(|image| {
            image.image_name == name && image.created().is_some_and(|created| created >= started_at)
        })
        .map(|image| image.image_id.clone())
        .collect()
}

/// What the destination region says about the copies into it.
#[derive(Default)]
struct Destination {
    images: HashMap<String, WireImage>,
    /// The newest CopyImage task per destination image.
    tasks: HashMap<String, WireTask>,
    /// Images whose lookups failed, with the error.
    failed: HashMap<String, CloudError>,
}

/// The status of the copies into `destination`: one DescribeImages per 100 images, then one
/// DescribeTasks per 100 of those not yet available.
pub(super) async fn statuses(
    client: &CloudClient,
    destination: &str,
    tasks: &[&TaskRef],
) -> Vec<Result<TaskStatus, CloudError>> {
    let mut ids: Vec<&str> = tasks
        .iter()
        .filter_map(|task| task.destination_image_id.as_deref())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let seen = look_up(client, destination, &ids).await;
    tasks
        .iter()
        .map(|task| match task.destination_image_id.as_deref() {
            None => Err(incomplete(task, "destination_image_id")),
            Some(id) => match seen.failed.get(id) {
                Some(error) => Err(error.clone()),
                None => copy_status(task, destination, seen.images.get(id), seen.tasks.get(id)),
            },
        })
        .collect()
}

async fn look_up(client: &CloudClient, destination: &str, ids: &[&str]) -> Destination {
    let mut seen = Destination::default();
    for chunk in ids.chunks(MAX_IDS) {
        let filter = Query::new().list("ImageIds", chunk.iter().copied());
        match wire::describe_images(client, destination, filter).await {
            Ok(images) => seen.images.extend(
                images
                    .into_iter()
                    .map(|image| (image.image_id.clone(), image)),
            ),
            Err(error) => seen.fail(chunk, &error),
        }
    }
    // An available image needs nothing more; the others need their task's progress or state.
    let unfinished: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| !seen.failed.contains_key(*id))
        .filter(|id| seen.images.get(*id).is_none_or(|i| i.status != "available"))
        .collect();
    for chunk in unfinished.chunks(MAX_IDS) {
        let filter = Query::new().list("ResourceIds", chunk.iter().copied());
        match wire::describe_tasks(client, destination, filter).await {
            Ok(tasks) => tasks
                .into_iter()
                .filter(|task| task.kind == TASK_TYPE)
                .for_each(|task| seen.keep_newest(task)),
            Err(error) => seen.fail(chunk, &error),
        }
    }
    seen
}

impl Destination {
    fn fail(&mut self, ids: &[&str], error: &CloudError) {
        self.failed
            .extend(ids.iter().map(|id| ((*id).to_owned(), error.clone())));
    }

    fn keep_newest(&mut self, task: WireTask) {
        let newer = self
            .tasks
            .get(&task.resource_id)
            .is_none_or(|kept| task.created() > kept.created());
        if newer {
            self.tasks.insert(task.resource_id.clone(), task);
        }
    }
}

/// The copy's status from its destination image (and, while that is not available, its task).
fn copy_status(
    task: &TaskRef,
    destination: &str,
    image: Option<&WireImage>,
    copy: Option<&WireTask>,
) -> Result<TaskStatus, CloudError> {
    let mut task = task.clone();
    if task.task_id.is_none() {
        task.task_id = copy.map(|copy| copy.id.clone());
    }
    let Some(image) = image else {
        return unlisted(task, destination, copy);
    };
    let progress = copy.and_then(WireTask::progress);
    match image.status.as_str() {
        "available" => Ok(finished(task, destination, &image.image_id)),
        "creating" => {
            task.confirmations = 0;
            let pending = copy.is_some_and(|copy| copy.status == "Pending");
            let state = if pending {
                TaskState::Pending
            } else {
                TaskState::Running
            };
            Ok(plain_status(task, state, progress, &image.status))
        }
        "error" => {
            task.confirmations = 0;
            let reason = CloudReason {
                code: Some(image.status.clone()),
                message: image_failure(destination, image, copy),
            };
            let mut status = plain_status(task, TaskState::Failed, progress, &image.status);
            status.reason = Some(reason);
            Ok(status)
        }
        other => Err(wire::unknown_state(
            &format!("image {} in {destination}", image.image_id),
            other,
        )),
    }
}

fn image_failure(destination: &str, image: &WireImage, copy: Option<&WireTask>) -> String {
    let task = copy.map_or_else(String::new, |copy| {
        let reached = copy
            .progress()
            .map_or_else(String::new, |p| format!(" at {p}%"));
        format!(" (CopyImage task {} {}{reached})", copy.id, copy.status)
    });
    format!(
        "DescribeImages in {destination}: image {} is in state {}{task}",
        image.image_id, image.status
    )
}

/// The destination image is available: the first such answer is not trusted alone.
fn finished(mut task: TaskRef, destination: &str, image_id: &str) -> TaskStatus {
    if task.confirmations == 0 {
        task.confirmations = 1;
        return plain_status(task, TaskState::Running, Some(100), "available");
    }
    task.confirmations = task.confirmations.saturating_add(1);
    let images = vec![RegionImage {
        region: destination.to_owned(),
        image_id: image_id.to_owned(),
    }];
    let mut status = plain_status(task, TaskState::Succeeded, Some(100), "available");
    status.result = Some(TaskResult::Copy { images });
    status
}

/// DescribeImages does not list the destination image (it can lag behind CopyImage): the
/// task in the destination region tells whether the copy is still known.
fn unlisted(
    mut task: TaskRef,
    destination: &str,
    copy: Option<&WireTask>,
) -> Result<TaskStatus, CloudError> {
    let image_id = task.destination_image_id.clone().unwrap_or_default();
    let Some(copy) = copy else {
        return Err(not_found(format!(
            "neither DescribeImages nor DescribeTasks in {destination} knows the copy {image_id}"
        )));
    };
    task.confirmations = 0;
    let progress = copy.progress();
    match copy.status.as_str() {
        "Pending" => Ok(plain_status(
            task,
            TaskState::Pending,
            progress,
            &copy.status,
        )),
        "Running" => Ok(plain_status(
            task,
            TaskState::Running,
            progress,
            &copy.status,
        )),
        // Finished by the task, not yet listed: the image decides, so keep waiting.
        "Succeeded" => Ok(plain_status(
            task,
            TaskState::Running,
            Some(100),
            &copy.status,
        )),
        "Failed" => {
            let reason = CloudReason {
                code: Some(copy.status.clone()),
                message: format!(
                    "DescribeTasks in {destination}: CopyImage task {} for {image_id} is Failed; Volcengine gives no further reason",
                    copy.id
                ),
            };
            let mut status = plain_status(task, TaskState::Failed, progress, &copy.status);
            status.reason = Some(reason);
            Ok(status)
        }
        other => Err(wire::unknown_state(
            &format!("copy task {}", copy.id),
            other,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task_ref(confirmations: u32) -> TaskRef {
        TaskRef {
            cloud: Cloud::Volcengine,
            region: "cn-beijing".into(),
            kind: TaskKind::Copy,
            image_id: "image-ycweb000000000000001".into(),
            task_id: None,
            destination_region: Some("cn-shanghai".into()),
            destination_image_id: Some("image-new".into()),
            objects: Vec::new(),
            started_at: 1_741_076_130,
            confirmations,
            skipped: false,
        }
    }

    fn image(status: &str) -> WireImage {
        WireImage {
            image_id: "image-new".into(),
            image_name: "web".into(),
            status: status.into(),
            created_at: "2025-03-04T16:15:31+08:00".into(),
            snapshots: Vec::new(),
            ..WireImage::default()
        }
    }

    fn copy_task(status: &str, process: u64) -> WireTask {
        WireTask {
            id: "t-copy".into(),
            kind: TASK_TYPE.into(),
            status: status.into(),
            process: serde_json::json!(process),
            resource_id: "image-new".into(),
            ..WireTask::default()
        }
    }

    #[test]
    fn a_copy_succeeds_on_the_second_finished_answer() {
        let first = copy_status(&task_ref(0), "cn-shanghai", Some(&image("available")), None)
            .expect("status");
        assert_eq!(
            (first.state, first.progress, first.task.confirmations),
            (TaskState::Running, Some(100), 1)
        );
        assert!(first.result.is_none());
        let second = copy_status(&first.task, "cn-shanghai", Some(&image("available")), None)
            .expect("status");
        assert_eq!(second.state, TaskState::Succeeded);
        assert_eq!(
            second.result,
            Some(TaskResult::Copy {
                images: vec![RegionImage {
                    region: "cn-shanghai".into(),
                    image_id: "image-new".into()
                }]
            })
        );
    }

    #[test]
    fn an_unfinished_answer_resets_the_confirmations_and_reports_progress() {
        let copy = copy_task("Running", 40);
        let status = copy_status(
            &task_ref(1),
            "cn-shanghai",
            Some(&image("creating")),
            Some(&copy),
        )
        .expect("status");
        assert_eq!(
            (status.state, status.progress, status.task.confirmations),
            (TaskState::Running, Some(40), 0)
        );
        assert_eq!(status.task.task_id.as_deref(), Some("t-copy"));
        assert_eq!(status.cloud_state, "creating");
    }

    #[test]
    fn an_image_in_error_is_a_failure_with_the_cloud_words() {
        let copy = copy_task("Failed", 50);
        let status = copy_status(
            &task_ref(0),
            "cn-shanghai",
            Some(&image("error")),
            Some(&copy),
        )
        .expect("status");
        assert_eq!(status.state, TaskState::Failed);
        let reason = status.reason.expect("reason");
        assert_eq!(reason.code.as_deref(), Some("error"));
        assert!(
            reason.message.contains("t-copy Failed at 50%"),
            "{}",
            reason.message
        );
    }

    #[test]
    fn unknown_states_are_errors_and_an_unknown_copy_is_not_found() {
        let error = copy_status(&task_ref(0), "cn-shanghai", Some(&image("frozen")), None)
            .expect_err("unknown");
        assert_eq!(
            (error.kind, error.code.as_str()),
            (ErrorKind::Unsupported, "State.Unknown")
        );
        assert!(error.message.contains("`frozen`"), "{}", error.message);
        let error = copy_status(&task_ref(0), "cn-shanghai", None, None).expect_err("gone");
        assert_eq!(error.kind, ErrorKind::NotFound);
        let copy = copy_task("UnknownStatus", 0);
        let error =
            copy_status(&task_ref(0), "cn-shanghai", None, Some(&copy)).expect_err("unknown");
        assert_eq!(error.code, "State.Unknown");
    }

    #[test]
    fn an_image_not_yet_listed_follows_its_task() {
        let copy = copy_task("Running", 20);
        let status = copy_status(&task_ref(1), "cn-shanghai", None, Some(&copy)).expect("status");
        assert_eq!(
            (status.state, status.progress, status.task.confirmations),
            (TaskState::Running, Some(20), 0)
        );
    }

    #[test]
    fn only_a_single_image_of_the_name_since_the_start_is_adopted() {
        let started_at = 1_741_076_130;
        let mut older = image("available");
        older.image_id = "image-old".into();
        older.created_at = "2025-03-04T15:00:00+08:00".into();
        let mut other_name = image("creating");
        other_name.image_name = "web2".into();
        let found = images_since(
            &[older.clone(), image("creating"), other_name],
            "web",
            started_at,
        );
        assert_eq!(found, ["image-new"]);
        assert!(images_since(&[older], "web", started_at).is_empty());
        let mut twin = image("creating");
        twin.image_id = "image-twin".into();
        assert_eq!(
            images_since(&[image("creating"), twin], "web", started_at).len(),
            2
        );
    }
}
