//! Huawei Cloud IMS operations: start an export to OBS, start cross-region copies, and follow
//! them to their end.
//!
//! Wire: REST paths with JSON bodies (`Content-Type: application/json;charset=utf-8`), and
//! `X-Project-Id` on every call: the project of the region the call is about. The job query
//! (`GET /v1/cloudimages/job/{job_id}`, the SDK's `ShowJobProgress`) has no project in its
//! path, yet IMS only finds a job in the project it was started in, so it carries the source
//! region's project; the copy's image is looked up with the destination region's project.
//!
//! How a status is decided:
//! - export: the job (`INIT`/`RUNNING`/`SUCCESS`/`FAIL`, `entities.process_percent` as a 0–1
//!   fraction), then, once it says `SUCCESS`, a HEAD of the OBS object `bucket_url` named; the
//!   export succeeds only when the object exists, with its size. A finished job whose object
//!   is not visible yet is still running (OBS listing is eventually consistent).
//! - copy: the job (its `entities.image_id` names the new image), then, once it says
//!   `SUCCESS`, the new image through `ListImages` in the destination region. An `active`
//!   image is a finished answer; a copy succeeds on the second finished answer in a row
//!   (`TaskRef::confirmations`).
//! - a state word this module does not know is an error (`State.Unknown`), never "running";
//!   a job IMS no longer knows is its `IMG.0121` error.
//!
//! Guarantees when the answer to a start is lost (IMS has no idempotency token, so every start
//! is sent once, `Repeat::Never`):
//! - export: IMS has no API that lists jobs, so a job whose answer was lost cannot be found
//!   again, and its job id is gone. The `UnknownOutcome` error is returned unchanged. What
//!   remains: IMS refuses a second export of the same image or into the same object key while
//!   the first runs (`IMG.0148`, `IMG.0070`), and once it has run the key holds the object
//!   (`IMG.0070` again), so a caller who starts again cannot get two exports writing one
//!   object; a HEAD of the object tells whether the lost export ran.
//! - copy: the copy creates its image in the destination region at once (`queued`, then
//!   `saving`), named as asked and marked `__data_origin: image,<source id>`. After a lost
//!   answer the destination is searched for exactly one such image created since the start;
//!   it is adopted (a `TaskRef` with `destination_image_id` and no job id, followed through
//!   the image alone: no progress and no job failure reason). No match, several matches or a
//!   failed search return the `UnknownOutcome` error unchanged.
//! - with a start item (the state machine's), the window opens at the execution's start and
//!   every attempt looks first: an export is adopted once its object has been written in the
//!   window (a HEAD; the task has no job id and is followed through its object); a running
//!   export cannot be found, so IMS's refusal of a second one (`IMG.0148`, or `IMG.0070`
//!   while no object exists) is reported as unconfirmed (`Start.Unconfirmed`), never as "did
//!   not start". A copy is searched for as above before it is sent. An unknown outcome the
//!   lookup cannot resolve is retryable (`Transient`): the retry looks first.
//! - a destination region without a configured project is refused before anything is sent:
//!   its copy could never be followed.

pub mod list;

use serde_json::{Value, json};

use crate::Cloud;
use crate::client::{CloudClient, Repeat};
use crate::error::{CloudError, ErrorKind};
use crate::huawei::request::{CopyImage, ExportImage};
use crate::idempotence::{self, Attempt, Found};
use crate::model::{
    CloudReason, ExportedObject, ObjectRef, RegionImage, StartFailure, TaskKind, TaskRef,
    TaskResult, TaskState, TaskStatus,
};
use crate::signing::{HttpRequest, Timestamp, uri_encode};

const CLOUD: Cloud = Cloud::Huawei;
/// The signer ignores it; kept for the client's interface.
const SERVICE: &str = "ims";
const CONTENT_TYPE: &str = "application/json;charset=utf-8";

// Action names are the SDK's operation names: pacing and the emulator's stats use them.
const EXPORT_IMAGE: &str = "ExportImage";
const COPY_IMAGE: &str = "CopyImageCrossRegion";
const SHOW_JOB_PROGRESS: &str = "ShowJobProgress";
const LIST_IMAGES: &str = "ListImages";

/// `job_type` of an export job: its `entities.image_id` is the source, not a new image.
const EXPORT_JOB_TYPE: &str = "imsNativeExportImageJob";

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

/// Starts one cross-region copy per destination region; a region that could not start is a
/// failure of its own and does not stop the others. With `attempt.look_first` (a start item
/// that may have run before), each region's copy an earlier attempt made is adopted instead
/// (see [`find_copy`]); several candidates are unconfirmed, and a failed lookup sends
/// nothing. An unknown outcome is looked up at once, and is retryable when it shows no copy.
pub async fn start_sync(
    client: &CloudClient,
    request: &CopyImage,
    attempt: impl Into<Attempt>,
) -> (Vec<TaskRef>, Vec<StartFailure>) {
    let attempt: Attempt = attempt.into();
    crate::batch::per_destination(&request.destination_regions, |destination| {
        start_copy(client, request, destination, attempt)
    })
    .await
}

/// The status of each task, in the order given. IMS has no batch query: one job query per
/// task, plus the object HEAD or the image lookup once the job says it is done.
pub async fn status(
    client: &CloudClient,
    tasks: &[TaskRef],
) -> Vec<Result<TaskStatus, CloudError>> {
    let mut statuses = Vec::with_capacity(tasks.len());
    for task in tasks {
        statuses.push(status_of(client, task).await);
    }
    statuses
}

// ---------------------------------------------------------------------------------------
// Requests

/// The project of `region`: IMS finds everything through it.
fn project<'c>(client: &'c CloudClient, region: &str) -> Result<&'c str, CloudError> {
    client.credentials().huawei_project(region).ok_or_else(|| {
        CloudError::new(
            CLOUD,
            ErrorKind::Permission,
            "Config.NoProject",
            format!("no Huawei Cloud project is configured for region {region}"),
        )
    })
}

/// An unsigned IMS request; the client fills the host and signs it.
fn ims_request(
    method: &str,
    path: String,
    query: String,
    body: Option<&Value>,
    project: &str,
) -> HttpRequest {
    let mut request = HttpRequest::new(method, "", path);
    request.query = query;
    request.set_header("Content-Type", CONTENT_TYPE);
    request.set_header("X-Project-Id", project);
    if let Some(body) = body {
        request.body = body.to_string().into_bytes();
    }
    request
}

/// `{bucket_url, file_format | is_quick_export}`: `file_format` only when given, as the SDK
/// omits absent fields; `is_quick_export` always, so the choice is explicit on the wire.
fn export_body(request: &ExportImage) -> Value {
    let mut body = json!({
        "bucket_url": request.bucket_url(),
        "is_quick_export": request.quick_export,
    });
    if let Some(format) = request.file_format {
        body["file_format"] = json!(format.api_name());
    }
    body
}

/// `{region, project_name, agency_name, name, description?, vault_id?}`; the destination's
/// project is named after its region.
fn copy_body(request: &CopyImage, destination: &str) -> Value {
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

/// The `job_id` of a start's answer. IMS answered with success, so a job may exist even when
/// the answer does not name it: that is an unknown outcome, not a failure.
fn job_id_of(answer: &Value) -> Result<String, CloudError> {
    text(answer, "job_id").map(str::to_owned).ok_or_else(|| {
        CloudError::new(
            CLOUD,
            ErrorKind::UnknownOutcome,
            "Response.NoJobId",
            "IMS accepted the request but its answer names no job_id",
        )
    })
}

fn text<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn invalid_task(code: &str, message: String) -> CloudError {
    CloudError::new(CLOUD, ErrorKind::InvalidRequest, code, message)
}

fn unknown_state(what: &str, raw: &str) -> CloudError {
    CloudError::new(
        CLOUD,
        ErrorKind::Unsupported,
        "State.Unknown",
        format!("{what} reports the unknown state `{raw}`"),
    )
}

// ---------------------------------------------------------------------------------------
// Copy start

async fn start_copy(
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
        kind: TaskKind::Sync,
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

fn images(answer: &Value) -> impl Iterator<Item = &Value> {
    answer
        .get("images")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

// ---------------------------------------------------------------------------------------
// Status

async fn status_of(client: &CloudClient, task: &TaskRef) -> Result<TaskStatus, CloudError> {
    if task.cloud != CLOUD {
        return Err(invalid_task(
            "Task.WrongCloud",
            format!("a {} task cannot be checked on Huawei Cloud", task.cloud),
        ));
    }
    match (task.kind, task.task_id.as_deref()) {
        (TaskKind::Export, Some(job_id)) => export_status(client, task, job_id).await,
        (TaskKind::Sync, Some(job_id)) => copy_status(client, task, job_id).await,
        // A copy adopted after a lost answer: only its image is known.
        (TaskKind::Sync, None) => adopted_copy_status(client, task).await,
        // An export adopted from its object: only the object is known.
        (TaskKind::Export, None) => adopted_export_status(client, task).await,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JobState {
    Init,
    Running,
    Success,
    Fail,
}

/// What a job query says, read defensively: every field may be missing.
#[derive(Debug, PartialEq)]
struct Job {
    state: JobState,
    /// The raw `status` word.
    raw: String,
    job_type: Option<String>,
    progress: Option<u8>,
    /// `entities.image_id`: the new image of a copy.
    image_id: Option<String>,
    reason: CloudReason,
}

fn read_job(job_id: &str, answer: &Value) -> Result<Job, CloudError> {
    let raw = text(answer, "status").unwrap_or_default();
    let state = match raw {
        "INIT" => JobState::Init,
        "RUNNING" => JobState::Running,
        "SUCCESS" => JobState::Success,
        "FAIL" => JobState::Fail,
        _ => return Err(unknown_state(&format!("IMS job {job_id}"), raw)),
    };
    let entities = answer.get("entities").unwrap_or(&Value::Null);
    let progress = entities
        .get("process_percent")
        .and_then(Value::as_f64)
        .and_then(percent)
        // Only a finished job is at 100: a rounded 0.996 is still running.
        .map(|p| {
            if state == JobState::Success {
                100
            } else {
                p.min(99)
            }
        });
    let reason = CloudReason {
        code: text(answer, "error_code").map(str::to_owned),
        message: text(answer, "fail_reason")
            .map_or_else(|| format!("IMS job {job_id} failed"), str::to_owned),
    };
    Ok(Job {
        state,
        raw: raw.to_owned(),
        job_type: text(answer, "job_type").map(str::to_owned),
        progress,
        image_id: text(entities, "image_id").map(str::to_owned),
        reason,
    })
}

/// `process_percent` as a percentage. IMS documents a finished job as `1`, a 0–1 fraction;
/// whether running values could come as 0–100 is undocumented, so a value above 1 is read as
/// a percentage already rather than clamped to "done".
fn percent(value: f64) -> Option<u8> {
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let percent = if value <= 1.0 { value * 100.0 } else { value };
    Some(percent.round().min(100.0) as u8)
}

async fn show_job(client: &CloudClient, region: &str, job_id: &str) -> Result<Job, CloudError> {
    let project = project(client, region)?;
    let path = format!("/v1/cloudimages/job/{}", uri_encode(job_id));
    let http = ims_request("GET", path, String::new(), None, project);
    let answer = client
        .call(
            CLOUD,
            SHOW_JOB_PROGRESS,
            region,
            SERVICE,
            &http,
            Repeat::Safe,
        )
        .await?;
    read_job(job_id, &answer)
}

fn plain(task: TaskRef, state: TaskState, progress: Option<u8>, cloud_state: &str) -> TaskStatus {
    TaskStatus {
        task,
        state,
        progress,
        cloud_state: cloud_state.to_owned(),
        reason: None,
        result: None,
    }
}

fn failed(
    task: TaskRef,
    progress: Option<u8>,
    cloud_state: &str,
    reason: CloudReason,
) -> TaskStatus {
    TaskStatus {
        reason: Some(reason),
        ..plain(task, TaskState::Failed, progress, cloud_state)
    }
}

/// The job's state while it has not succeeded: `INIT` is pending, `RUNNING` running, `FAIL`
/// failed with the job's own code and reason.
fn unfinished(task: TaskRef, job: Job) -> TaskStatus {
    match job.state {
        JobState::Init => plain(task, TaskState::Pending, job.progress, &job.raw),
        JobState::Fail => failed(task, job.progress, &job.raw, job.reason),
        JobState::Running | JobState::Success => {
            plain(task, TaskState::Running, job.progress, &job.raw)
        }
    }
}

async fn export_status(
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
            ..plain(task.clone(), TaskState::Succeeded, Some(100), &job.raw)
        },
        // The job is done but the object is not visible yet: OBS will show it.
        None => plain(task.clone(), TaskState::Running, Some(100), &job.raw),
    };
    Ok(status)
}

/// An export adopted without its job (see [`start_export`]): it was adopted because its
/// object had been written, so the object decides alone.
async fn adopted_export_status(
    client: &CloudClient,
    task: &TaskRef,
) -> Result<TaskStatus, CloudError> {
    const WORD: &str = "OBJECT";
    match exported_objects(client, task).await? {
        Some(objects) => Ok(TaskStatus {
            result: Some(TaskResult::Export { objects }),
            ..plain(task.clone(), TaskState::Succeeded, Some(100), WORD)
        }),
        None => Err(CloudError::new(
            CLOUD,
            ErrorKind::NotFound,
            "Task.NotFound",
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
        return Err(invalid_task(
            "Task.NoObjects",
            format!(
                "the export of {} names no object to check, so its success cannot be proven",
                task.image_id
            ),
        ));
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

async fn copy_status(
    client: &CloudClient,
    task: &TaskRef,
    job_id: &str,
) -> Result<TaskStatus, CloudError> {
    let job = show_job(client, &task.region, job_id).await?;
    if job.job_type.as_deref() == Some(EXPORT_JOB_TYPE) {
        return Err(invalid_task(
            "Task.KindMismatch",
            format!("IMS job {job_id} is an export, not a copy"),
        ));
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
            plain(task, TaskState::Running, Some(100), &job.raw)
        }
    })
}

/// A copy adopted without a job id: the destination image is all there is to follow.
async fn adopted_copy_status(
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
        return Err(invalid_task(
            "Task.NoDestinationImage",
            format!(
                "the copy of {} names no destination region and image",
                task.image_id
            ),
        ));
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
            Ok(plain(task, TaskState::Running, progress, raw))
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
        return plain(task, TaskState::Running, Some(100), raw);
    }
    TaskStatus {
        result: Some(TaskResult::Sync {
            images: vec![RegionImage { region, image_id }],
        }),
        ..plain(task, TaskState::Succeeded, Some(100), raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::huawei::request::FileFormat;

    fn copy_ref(confirmations: u32) -> TaskRef {
        TaskRef {
            cloud: CLOUD,
            region: "cn-north-4".into(),
            kind: TaskKind::Sync,
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
    fn bodies_use_the_wire_names_and_omit_absent_fields() {
        let export = ExportImage {
            region: "cn-north-4".into(),
            image_id: "4d0ab5e2-3114-578f-81d7-2d843f36e39b".into(),
            select: None,
            skip_existing: false,
            bucket: "imgflow-obs-backup".into(),
            object_key: "exports/web.qcow2".into(),
            file_format: Some(FileFormat::Vmdk),
            quick_export: false,
        };
        assert_eq!(
            export_body(&export),
            json!({"bucket_url": "imgflow-obs-backup:exports/web.qcow2", "file_format": "vmdk", "is_quick_export": false})
        );
        let copy = CopyImage {
            region: "cn-north-4".into(),
            image_id: export.image_id.clone(),
            select: None,
            skip_existing: false,
            destination_regions: vec!["cn-east-3".into()],
            image_name: "web copy".into(),
            description: None,
            agency_name: "ims_admin_agency".into(),
            vault_id: Some("v-1".into()),
        };
        assert_eq!(
            copy_body(&copy, "cn-east-3"),
            json!({"region": "cn-east-3", "project_name": "cn-east-3", "agency_name": "ims_admin_agency", "name": "web copy", "vault_id": "v-1"})
        );
    }

    #[test]
    fn job_states_map_and_an_unknown_one_is_an_error() {
        let job = read_job(
            "j",
            &json!({"status": "RUNNING", "entities": {"process_percent": 0.45}}),
        )
        .expect("known");
        assert_eq!((job.state, job.progress), (JobState::Running, Some(45)));
        let done = read_job(
            "j",
            &json!({"status": "SUCCESS", "entities": {"process_percent": 1}}),
        )
        .expect("known");
        assert_eq!(done.progress, Some(100));
        let failed = read_job("j", &json!({"status": "FAIL", "error_code": "IMG.0014", "fail_reason": "boom", "entities": {"process_percent": 0.5}}))
            .expect("known");
        assert_eq!(
            (failed.state, failed.progress, failed.reason.code.as_deref()),
            (JobState::Fail, Some(50), Some("IMG.0014"))
        );
        let err = read_job("j", &json!({"status": "PAUSED"})).expect_err("unknown");
        assert_eq!(
            (err.kind, err.code.as_str()),
            (ErrorKind::Unsupported, "State.Unknown")
        );
        assert!(err.message.contains("PAUSED"), "{}", err.message);
        let err = read_job("j", &json!({})).expect_err("no status");
        assert_eq!(err.code, "State.Unknown");
    }

    #[test]
    fn progress_is_a_fraction_and_never_reads_done_while_running() {
        assert_eq!(percent(0.0), Some(0));
        assert_eq!(percent(0.5), Some(50));
        assert_eq!(percent(1.0), Some(100));
        assert_eq!(percent(42.0), Some(42));
        assert_eq!(percent(f64::NAN), None);
        let job = read_job(
            "j",
            &json!({"status": "RUNNING", "entities": {"process_percent": 0.999}}),
        )
        .expect("known");
        assert_eq!(job.progress, Some(99));
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
            Some(TaskResult::Sync {
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
