//! Starting an export to OBS and following it: the job, then the object it wrote.

use serde_json::{Value, json};

use super::wire::{
    CLOUD, EXPORT_IMAGE, JobState, SERVICE, ims_request, invalid_task, job_id_of, project,
    show_job, unfinished,
};
use crate::batch::plain_status;
use crate::client::{CloudClient, Repeat};
use crate::error::{CloudError, ErrorKind};
use crate::huawei::request::ExportImage;
use crate::idempotence::{self, Attempt};
use crate::model::{
    ExportedObject, ObjectRef, TaskKind, TaskRef, TaskResult, TaskState, TaskStatus,
};
use crate::signing::uri_encode;

/// Starts the export of one image into `bucket:object_key`; one task, whose object is known
/// up front.
///
/// With `attempt.look_first` (a start item that may have run before): IMS lists no jobs, so
/// an earlier attempt's export is found only once it has finished, by a `HEAD` of its object
/// written since the window opened; it is then adopted without a job id (see
/// [`adopted_export_status`]). A refusal because the image is being exported (`IMG.0148`),
/// or because the object is being written (`IMG.0070` while no object exists), is a conflict
/// coded `Start.Unconfirmed`: the export that holds it may be this item's, so the state
/// machine waits it out and each retry looks first. An unknown outcome is
/// retryable (the retry looks first, and IMS refuses a second export of the image while one
/// runs, so it never starts two).
pub async fn start_export(
    client: &CloudClient,
    request: &ExportImage,
    attempt: impl Into<Attempt>,
) -> Result<Vec<TaskRef>, CloudError> {
    let attempt: Attempt = attempt.into();
    let started_at = attempt.since;
    let project = project(client, &request.region)?;
    let object = ObjectRef {
        bucket: request.bucket.clone(),
        key: request.object_key.clone(),
    };
    let task_ref = |job_id: Option<String>| TaskRef {
        cloud: CLOUD,
        region: request.region.clone(),
        kind: TaskKind::Export,
        image_id: request.image_id.clone(),
        task_id: job_id,
        destination_region: None,
        destination_image_id: None,
        objects: vec![object.clone()],
        started_at,
        confirmations: 0,
        skipped: false,
    };
    if attempt.look_first {
        match client
            .head_object(CLOUD, &request.region, &object, Some(started_at))
            .await
        {
            Ok(Some(_)) => return Ok(vec![task_ref(None)]),
            Ok(None) => {}
            Err(err) if err.retryable => return Err(idempotence::lookup_failed(err)),
            // Unreadable for good (a bucket we may not read, say): IMS refuses a second
            // export of the image or into the object, so sending lets IMS name the problem.
            Err(_) => {}
        }
    }
    let path = format!("/v1/cloudimages/{}/file", uri_encode(&request.image_id));
    let http = ims_request(
        "POST",
        path,
        String::new(),
        Some(&export_body(request)),
        project,
    );
    // No job listing exists to find a lost job again: see the module documentation.
    let answer = client
        .call(
            CLOUD,
            EXPORT_IMAGE,
            &request.region,
            SERVICE,
            &http,
            Repeat::Never,
        )
        .await;
    let answer = match answer {
        Ok(answer) => answer,
        Err(error) if attempt.look_first && error.code == IMAGE_EXPORTING => {
            return Err(export_unconfirmed(&error));
        }
        Err(error) if attempt.look_first && error.code == FILE_EXISTS => {
            // An older object of that name is a plain refusal; no object yet means an export
            // is writing it.
            let older = client
                .head_object(CLOUD, &request.region, &object, None)
                .await;
            return Err(match older {
                Ok(Some(_)) => error,
                _ => export_unconfirmed(&error),
            });
        }
        Err(error) if attempt.look_first && error.kind == ErrorKind::UnknownOutcome => {
            return Err(idempotence::retry_safely(error));
        }
        Err(error) => return Err(error),
    };
    let job_id = job_id_of(&answer)?;
    Ok(vec![task_ref(Some(job_id))])
}

/// IMS refuses an export of an image being exported.
const IMAGE_EXPORTING: &str = "IMG.0148";
/// IMS refuses an export into an object that exists or is being written.
const FILE_EXISTS: &str = "IMG.0070";

fn export_unconfirmed(error: &CloudError) -> CloudError {
    idempotence::busy_unconfirmed(
        CLOUD,
        format!(
            "IMS refuses the export ({}: {}): an export an earlier attempt of this start made \
             may be running, and IMS cannot list it; its object proves it once it is done",
            error.code, error.message
        ),
    )
}

/// `{bucket_url, file_format | is_quick_export}`: `file_format` only when given, as the SDK
/// omits absent fields; `is_quick_export` always, so the choice is explicit on the wire.
pub(super) fn export_body(request: &ExportImage) -> Value {
    let mut body = json!({
        "bucket_url": request.bucket_url(),
        "is_quick_export": request.quick_export,
    });
    if let Some(format) = request.file_format {
        body["file_format"] = json!(format.api_name());
    }
    body
}

pub(super) async fn export_status(
    client: &CloudClient,
    task: &TaskRef,
    job_id: &str,
) -> Result<TaskStatus, CloudError> {
    let job = show_job(client, &task.region, job_id).await?;
    if job.state != JobState::Success {
        return Ok(unfinished(task.clone(), job));
    }
    let status = match exported_objects(client, task).await? {
        Some(objects) => TaskStatus {
            result: Some(TaskResult::Export { objects }),
            ..plain_status(task.clone(), TaskState::Succeeded, Some(100), &job.raw)
        },
        // The job is done but the object is not visible yet: OBS will show it.
        None => plain_status(task.clone(), TaskState::Running, Some(100), &job.raw),
    };
    Ok(status)
}

/// An export adopted without its job (see [`start_export`]): it was adopted because its
/// object had been written, so the object decides alone.
pub(super) async fn adopted_export_status(
    client: &CloudClient,
    task: &TaskRef,
) -> Result<TaskStatus, CloudError> {
    const WORD: &str = "OBJECT";
    match exported_objects(client, task).await? {
        Some(objects) => Ok(TaskStatus {
            result: Some(TaskResult::Export { objects }),
            ..plain_status(task.clone(), TaskState::Succeeded, Some(100), WORD)
        }),
        None => Err(CloudError::task_not_found(
            CLOUD,
            format!(
                "the export of {} has no IMS job id and its object is no longer there",
                task.image_id
            ),
        )),
    }
}

/// Each object of the export with its size, or `None` while one of them is missing.
async fn exported_objects(
    client: &CloudClient,
    task: &TaskRef,
) -> Result<Option<Vec<ExportedObject>>, CloudError> {
    if task.objects.is_empty() {
        return Err(invalid_task(format!(
            "the export of {} names no object to check, so its success cannot be proven",
            task.image_id
        )));
    }
    let mut found = Vec::with_capacity(task.objects.len());
    for object in &task.objects {
        let size = client
            .head_object(CLOUD, &task.region, object, task.known_start())
            .await?;
        let Some(size) = size else {
            return Ok(None);
        };
        found.push(ExportedObject {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            size,
        });
    }
    Ok(Some(found))
}
