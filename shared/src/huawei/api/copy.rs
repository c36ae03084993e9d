//! Starting cross-region copies, finding one whose answer was lost, and following a copy
//! through its job and its destination image.

use serde_json::{Value, json};

use super::wire::{
    CLOUD, COPY_IMAGE, EXPORT_JOB_TYPE, JobState, LIST_IMAGES, SERVICE, failed, images,
    ims_request, invalid_task, job_id_of, project, show_job, text, unfinished, unknown_state,
};
use crate::batch::plain_status;
use crate::client::{CloudClient, Repeat};
use crate::error::{CloudError, ErrorKind};
use crate::huawei::request::CopyImage;
use crate::idempotence::{self, Attempt, Found};
use crate::model::{
    CloudReason, RegionImage, StartFailure, TaskKind, TaskRef, TaskResult, TaskState, TaskStatus,
};
use crate::signing::{Timestamp, uri_encode};

/// Starts one cross-region copy per destination region; a region that could not start is a
/// failure of its own and does not stop the others. With `attempt.look_first` (a start item
/// that may have run before), each region's copy an earlier attempt made is adopted instead
/// (see [`find_copy`]); several candidates are unconfirmed, and a failed lookup sends
/// nothing. An unknown outcome is looked up at once, and is retryable when it shows no copy.
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

/// `{region, project_name, agency_name, name, description?, vault_id?}`; the destination's
/// project is named after its region.
pub(super) fn copy_body(request: &CopyImage, destination: &str) -> Value {
    let mut body = json!({
        "region": destination,
        "project_name": destination,
        "agency_name": request.agency_name,
        "name": request.image_name,
    });
    if let Some(description) = &request.description {
        body["description"] = json!(description);
    }
    if let Some(vault_id) = &request.vault_id {
        body["vault_id"] = json!(vault_id);
    }
    body
}

async fn start_to_destination(
    client: &CloudClient,
    request: &CopyImage,
    destination: &str,
    attempt: Attempt,
) -> Result<TaskRef, CloudError> {
    let started_at = attempt.since;
    let source_project = project(client, &request.region)?;
    // Following the copy needs the destination's project; without it the copy would run unseen.
    project(client, destination)?;
    if attempt.look_first {
        match find_copy(client, request, destination, started_at)
            .await
            .map_err(idempotence::lookup_failed)?
        {
            Found::One(id) => {
                return Ok(copy_task(request, destination, started_at, None, Some(id)));
            }
            Found::Several(count) => {
                return Err(idempotence::ambiguous(
                    CLOUD,
                    "images of the copy's name made from the source",
                    count,
                ));
            }
            Found::Nothing => {}
        }
    }
    let path = format!(
        "/v1/cloudimages/{}/cross_region_copy",
        uri_encode(&request.image_id)
    );
    let body = copy_body(request, destination);
    let http = ims_request("POST", path, String::new(), Some(&body), source_project);
    let outcome = client
        .call(
            CLOUD,
            COPY_IMAGE,
            &request.region,
            SERVICE,
            &http,
            Repeat::Never,
        )
        .await
        .and_then(|answer| job_id_of(&answer));
    match outcome {
        Ok(job_id) => Ok(copy_task(
            request,
            destination,
            started_at,
            Some(job_id),
            None,
        )),
        // After a lost answer the copy's image is in the destination at once.
        Err(lost) if lost.kind == ErrorKind::UnknownOutcome => {
            match find_copy(client, request, destination, started_at).await {
                Ok(Found::One(id)) => {
                    Ok(copy_task(request, destination, started_at, None, Some(id)))
                }
                Ok(Found::Nothing) if attempt.look_first => Err(idempotence::retry_safely(lost)),
                _ => Err(lost),
            }
        }
        Err(error) => Err(error),
    }
}

fn copy_task(
    request: &CopyImage,
    destination: &str,
    started_at: u64,
    job_id: Option<String>,
    destination_image_id: Option<String>,
) -> TaskRef {
    TaskRef {
        cloud: CLOUD,
        region: request.region.clone(),
        kind: TaskKind::Copy,
        image_id: request.image_id.clone(),
        task_id: job_id,
        destination_region: Some(destination.to_owned()),
        destination_image_id,
        objects: Vec::new(),
        started_at,
        confirmations: 0,
        skipped: false,
    }
}

/// The copies an earlier attempt may have made into `destination` (a copy's image appears
/// there at once): images with the asked name, made from the source, created since the
/// start. Exactly one is the start's.
async fn find_copy(
    client: &CloudClient,
    request: &CopyImage,
    destination: &str,
    started_at: u64,
) -> Result<Found<String>, CloudError> {
    let project = project(client, destination)?;
    let query = format!("name={}", uri_encode(&request.image_name));
    let http = ims_request("GET", "/v2/cloudimages".into(), query, None, project);
    let answer = client
        .call(
            CLOUD,
            LIST_IMAGES,
            destination,
            SERVICE,
            &http,
            Repeat::Safe,
        )
        .await?;
    let origin = format!("image,{}", request.image_id);
    // Both times are `YYYY-MM-DDTHH:MM:SS` in UTC, so text order is time order.
    let since = Timestamp::from_unix_seconds(started_at).extended_iso8601();
    let since = since.get(..19).unwrap_or(&since);
    let matches: Vec<String> = images(&answer)
        .filter(|image| text(image, "name") == Some(request.image_name.as_str()))
        .filter(|image| text(image, "__data_origin") == Some(origin.as_str()))
        .filter(|image| {
            text(image, "created_at")
                .and_then(|created| created.get(..19))
                .is_some_and(|created| created >= since)
        })
        .filter_map(|image| text(image, "id").map(str::to_owned))
        .collect();
    Ok(Found::from_matches(matches))
}

pub(super) async fn copy_status(
    client: &CloudClient,
    task: &TaskRef,
    job_id: &str,
) -> Result<TaskStatus, CloudError> {
    let job = show_job(client, &task.region, job_id).await?;
    if job.job_type.as_deref() == Some(EXPORT_JOB_TYPE) {
        return Err(invalid_task(format!(
            "IMS job {job_id} is an export, not a copy"
        )));
    }
    let mut task = task.clone();
    if let Some(image_id) = &job.image_id {
        task.destination_image_id = Some(image_id.clone());
    }
    if job.state != JobState::Success {
        task.confirmations = 0;
        return Ok(unfinished(task, job));
    }
    let image = destination_image(client, &task).await?;
    Ok(match image {
        Some(image) => from_image(task, &image, Some(100))?,
        // The job is done but the destination does not list the image yet.
        None => {
            task.confirmations = 0;
            plain_status(task, TaskState::Running, Some(100), &job.raw)
        }
    })
}

/// A copy adopted without a job id: the destination image is all there is to follow.
pub(super) async fn adopted_copy_status(
    client: &CloudClient,
    task: &TaskRef,
) -> Result<TaskStatus, CloudError> {
    match destination_image(client, task).await? {
        Some(image) => from_image(task.clone(), &image, None),
        None => Err(CloudError::new(
            CLOUD,
            ErrorKind::NotFound,
            "Image.NotListed",
            format!(
                "the copy {} of {} is not listed in {}",
                task.destination_image_id.as_deref().unwrap_or_default(),
                task.image_id,
                task.destination_region.as_deref().unwrap_or_default()
            ),
        )),
    }
}

/// The copy's image as `ListImages` in the destination region shows it (`None`: not listed).
async fn destination_image(
    client: &CloudClient,
    task: &TaskRef,
) -> Result<Option<Value>, CloudError> {
    let (Some(region), Some(image_id)) = (
        task.destination_region.as_deref(),
        task.destination_image_id.as_deref(),
    ) else {
        return Err(invalid_task(format!(
            "the copy of {} names no destination region and image",
            task.image_id
        )));
    };
    let project = project(client, region)?;
    let query = format!("id={}", uri_encode(image_id));
    let http = ims_request("GET", "/v2/cloudimages".into(), query, None, project);
    let answer = client
        .call(CLOUD, LIST_IMAGES, region, SERVICE, &http, Repeat::Safe)
        .await?;
    Ok(images(&answer)
        .find(|image| text(image, "id") == Some(image_id))
        .cloned())
}

/// The copy's state from its image: `active` is a finished answer (success on the second in
/// a row), `queued`/`saving` still running, `killed` (upload failed) and `deleted` failed.
fn from_image(
    mut task: TaskRef,
    image: &Value,
    progress: Option<u8>,
) -> Result<TaskStatus, CloudError> {
    let raw = text(image, "status").unwrap_or_default();
    let region = task.destination_region.clone().unwrap_or_default();
    let image_id = task.destination_image_id.clone().unwrap_or_default();
    match raw {
        "active" => Ok(confirmed(task, raw, region, image_id)),
        "queued" | "saving" => {
            task.confirmations = 0;
            Ok(plain_status(task, TaskState::Running, progress, raw))
        }
        "killed" | "deleted" => {
            task.confirmations = 0;
            let reason = CloudReason {
                code: None,
                message: format!("the copy {image_id} in {region} is `{raw}`"),
            };
            Ok(failed(task, progress, raw, reason))
        }
        _ => Err(unknown_state(&format!("IMS image {image_id}"), raw)),
    }
}

/// A finished answer: the first is reported as running at 100 %, the next one as success.
fn confirmed(mut task: TaskRef, raw: &str, region: String, image_id: String) -> TaskStatus {
    let seen_before = task.confirmations >= 1;
    task.confirmations = task.confirmations.saturating_add(1);
    if !seen_before {
        return plain_status(task, TaskState::Running, Some(100), raw);
    }
    TaskStatus {
        result: Some(TaskResult::Copy {
            images: vec![RegionImage { region, image_id }],
        }),
        ..plain_status(task, TaskState::Succeeded, Some(100), raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy_ref(confirmations: u32) -> TaskRef {
        TaskRef {
            cloud: CLOUD,
            region: "cn-north-4".into(),
            kind: TaskKind::Copy,
            image_id: "4d0ab5e2-3114-578f-81d7-2d843f36e39b".into(),
            task_id: Some("ff80808200000001".into()),
            destination_region: Some("cn-east-3".into()),
            destination_image_id: Some("7a0b4d9c-5e1f-4c83-9d6a-1f2e3d4c5b6a".into()),
            objects: Vec::new(),
            started_at: 1_767_225_599,
            confirmations,
            skipped: false,
        }
    }

    #[test]
    fn a_copy_succeeds_on_the_second_active_answer_and_resets_otherwise() {
        let active = json!({"id": "x", "status": "active"});
        let first = from_image(copy_ref(0), &active, Some(100)).expect("known");
        assert_eq!(
            (first.state, first.progress, first.task.confirmations),
            (TaskState::Running, Some(100), 1)
        );
        let second = from_image(first.task, &active, Some(100)).expect("known");
        assert_eq!(second.state, TaskState::Succeeded);
        assert_eq!(
            second.result,
            Some(TaskResult::Copy {
                images: vec![RegionImage {
                    region: "cn-east-3".into(),
                    image_id: "7a0b4d9c-5e1f-4c83-9d6a-1f2e3d4c5b6a".into()
                }]
            })
        );
        let saving = from_image(copy_ref(1), &json!({"status": "saving"}), None).expect("known");
        assert_eq!(
            (saving.state, saving.task.confirmations),
            (TaskState::Running, 0)
        );
        let killed = from_image(copy_ref(1), &json!({"status": "killed"}), None).expect("known");
        assert_eq!(killed.state, TaskState::Failed);
        assert_eq!(killed.cloud_state, "killed");
        let err = from_image(copy_ref(0), &json!({"status": "pending_delete"}), None)
            .expect_err("unknown");
        assert_eq!(err.code, "State.Unknown");
    }
}
