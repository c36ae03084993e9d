//! `ExportImages` and the status of what it started. CVM has no export task API: an export
//! is followed through its COS objects (`CosPaths`) and its source image.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::wire::{self, Image, incomplete};
use crate::Cloud;
use crate::batch::plain_status;
use crate::client::{CloudClient, Repeat};
use crate::error::{CloudError, ErrorKind};
use crate::error_name::ErrorName;
use crate::idempotence::{self, Attempt};
use crate::model::{
    CloudReason, ExportedObject, ObjectRef, TaskKind, TaskRef, TaskResult, TaskState, TaskStatus,
};
use crate::tencent::request::ExportImages;

/// Starts the export; one TaskRef per image, all with the call's `TaskId`, each with the
/// objects of its own disks.
///
/// With `attempt.look_first` (a start item that may have run before): CVM has no export task
/// listing, so an earlier attempt is found only once it has finished, by a `HEAD` of the
/// objects its images' snapshots name, written since the window opened. If every object of
/// any image exists, the call ran, and all its images are adopted (without a task id: none
/// is needed to follow an export). Otherwise it is sent; a refusal because an image is busy
/// (`InvalidParameterValue.InvalidImageState`, which a running export of it gives) is a
/// conflict coded `Start.Unconfirmed`, because the export that holds the image may be this
/// item's: the state machine waits it out, and each retry looks first; and
/// an unknown outcome is retryable (the retry looks first, and CVM refuses a second export
/// of a busy image, so it never starts two).
pub async fn start_export(
    client: &CloudClient,
    request: &ExportImages,
    attempt: impl Into<Attempt>,
) -> Result<Vec<TaskRef>, CloudError> {
    let attempt: Attempt = attempt.into();
    let started_at = attempt.since;
    if attempt.look_first && !request.dry_run {
        match finished_earlier(client, request, started_at).await {
            Ok(Some(tasks)) => return Ok(tasks),
            Ok(None) => {}
            Err(err) if err.retryable => return Err(idempotence::lookup_failed(err)),
            // Unreadable for good (a bucket we may not read, say): CVM refuses a second
            // export while one runs, so sending lets CVM name the problem.
            Err(_) => {}
        }
    }
    // No idempotency token: sent once.
    let answer = match wire::call(
        client,
        "ExportImages",
        &request.region,
        &body(request),
        Repeat::Never,
    )
    .await
    {
        Ok(answer) => answer,
        // A dry run that passed is answered as an error; nothing was started.
        Err(err) if request.dry_run && err.code == "DryRunOperation" => return Ok(Vec::new()),
        Err(err) if attempt.look_first && err.code == BUSY => {
            return Err(idempotence::busy_unconfirmed(
                Cloud::Tencent,
                format!(
                    "CVM refuses the export because an image is busy ({}): an export an \
                     earlier attempt of this start made may hold it, and CVM cannot list it; \
                     its objects prove it once it is done",
                    err.message
                ),
            ));
        }
        Err(err) if attempt.look_first && err.kind == ErrorKind::UnknownOutcome => {
            return match running_unanswered(client, request, started_at).await {
                Ok(Some(tasks)) => Ok(tasks),
                // Nothing holds the images (or the look failed): nothing of ours runs now.
                Ok(None) | Err(_) => Err(idempotence::retry_safely(err)),
            };
        }
        Err(err) => return Err(err),
    };
    let started = Started::read(&answer)?;
    Ok(task_refs(request, &started, started_at))
}

/// After a start whose answer was lost: its export, if it runs. CVM lists no running export,
/// but refuses a dry run of an image an export holds (`BUSY`), so a dry run sent at once tells
/// whether the call took effect. A held image is taken for this start's export and adopted
/// without a task id, followed by its objects (and by [`image_is_free`] should it end without
/// them); the retry that would have started a second export, had the first failed before it,
/// never happens. A dry run that passes means nothing holds the images: `None`, and the start
/// is retried (looking first). Another export of the same image started in that moment cannot
/// be told from ours (the idempotence table's row for Tencent exports).
async fn running_unanswered(
    client: &CloudClient,
    request: &ExportImages,
    since: u64,
) -> Result<Option<Vec<TaskRef>>, CloudError> {
    let dry_run = ExportImages {
        dry_run: true,
        ..request.clone()
    };
    match wire::call(
        client,
        "ExportImages",
        &request.region,
        &body(&dry_run),
        Repeat::Safe,
    )
    .await
    {
        Err(err) if err.code == BUSY => {}
        _ => return Ok(None),
    }
    let images = wire::describe_by_ids(
        client,
        &request.region,
        request.image_ids.iter().map(String::as_str),
    )
    .await?;
    let mut keys = Vec::new();
    for image in &request.image_ids {
        let Some(found) = images.get(image) else {
            return Ok(None);
        };
        let planned = planned_keys(request, image, found);
        if planned.is_empty() {
            return Ok(None);
        }
        keys.extend(planned);
    }
    let started = Started {
        task_id: String::new(),
        keys,
    };
    let mut tasks = task_refs(request, &started, since);
    for task in &mut tasks {
        // The TaskId went with the lost answer; an export is followed without it.
        task.task_id = None;
    }
    Ok(Some(tasks))
}

/// The refusal CVM gives for an image an export (or another operation) holds.
const BUSY: &str = "InvalidParameterValue.InvalidImageState";

/// The export an earlier attempt made, if it has finished since `since`: every object of one
/// image exists, written since then. `None` when no image's objects are all there.
async fn finished_earlier(
    client: &CloudClient,
    request: &ExportImages,
    since: u64,
) -> Result<Option<Vec<TaskRef>>, CloudError> {
    let images = wire::describe_by_ids(
        client,
        &request.region,
        request.image_ids.iter().map(String::as_str),
    )
    .await?;
    let mut keys = Vec::new();
    for image in &request.image_ids {
        // An image CVM does not list cannot be planned: ExportImages will name the problem.
        let Some(found) = images.get(image) else {
            return Ok(None);
        };
        let planned = planned_keys(request, image, found);
        if planned.is_empty() {
            return Ok(None);
        }
        keys.push(planned);
    }
    let mut any_done = false;
    for planned in &keys {
        let mut done = true;
        for key in planned {
            let object = ObjectRef {
                bucket: request.bucket.clone(),
                key: key.clone(),
            };
            if client
                .head_object(Cloud::Tencent, &request.region, &object, Some(since))
                .await?
                .is_none()
            {
                done = false;
                break;
            }
        }
        any_done |= done;
    }
    if !any_done {
        return Ok(None);
    }
    let started = Started {
        task_id: String::new(),
        keys: keys.into_iter().flatten().collect(),
    };
    let mut tasks = task_refs(request, &started, since);
    for task in &mut tasks {
        // The TaskId went with the lost answer; an export is followed without it.
        task.task_id = None;
    }
    Ok(Some(tasks))
}

/// For `skip_existing`: the images of `request` whose every object already exists, written
/// at or after the image's creation (an older file of that name belongs to another image), by
/// id, with their objects. An image CVM does not list, or whose snapshots it does not name,
/// is never taken as done.
pub async fn done_earlier(
    client: &CloudClient,
    request: &ExportImages,
) -> Result<HashMap<String, Vec<ObjectRef>>, CloudError> {
    let images = wire::describe_by_ids(
        client,
        &request.region,
        request.image_ids.iter().map(String::as_str),
    )
    .await?;
    let mut done = HashMap::new();
    'images: for id in &request.image_ids {
        let Some(found) = images.get(id) else {
            continue;
        };
        let (Some(created), keys) = (found.created_at(), planned_keys(request, id, found)) else {
            continue;
        };
        if keys.is_empty() {
            continue;
        }
        let mut objects = Vec::new();
        for key in keys {
            let object = ObjectRef {
                bucket: request.bucket.clone(),
                key,
            };
            if client
                .head_object(Cloud::Tencent, &request.region, &object, Some(created))
                .await?
                .is_none()
            {
                continue 'images;
            }
            objects.push(object);
        }
        done.insert(id.clone(), objects);
    }
    Ok(done)
}

/// The objects CVM writes for `image_id`: `[<prefix>_]<ImageId>_system|data_<SnapshotId>.<fmt>`,
/// one per disk (the system disk only with `OnlyExportRootDisk`). Empty when the image names
/// no readable snapshots.
fn planned_keys(request: &ExportImages, image_id: &str, image: &Image) -> Vec<String> {
    let index = request.image_ids.iter().position(|id| id == image_id);
    let prefix = index
        .and_then(|i| request.file_name_prefixes.get(i))
        .filter(|p| !p.is_empty());
    let ext = request.format.api_name().to_ascii_lowercase();
    image
        .snapshot_set
        .iter()
        .flatten()
        .filter_map(|snapshot| {
            let id = snapshot
                .snapshot_id
                .as_deref()
                .filter(|id| !id.is_empty())?;
            let usage = match snapshot.disk_usage.as_deref() {
                Some("SYSTEM_DISK") => "system",
                Some("DATA_DISK") if !request.only_export_root_disk => "data",
                _ => return None,
            };
            let name = format!("{image_id}_{usage}_{id}.{ext}");
            Some(match prefix {
                Some(prefix) => format!("{prefix}_{name}"),
                None => name,
            })
        })
        .collect()
}

/// Every field of the request, under its wire name.
fn body(request: &ExportImages) -> Value {
    let mut body = Map::new();
    body.insert("BucketName".into(), json!(request.bucket));
    body.insert("ImageIds".into(), json!(request.image_ids));
    body.insert("ExportFormat".into(), json!(request.format.api_name()));
    if !request.file_name_prefixes.is_empty() {
        body.insert(
            "FileNamePrefixList".into(),
            json!(request.file_name_prefixes),
        );
    }
    body.insert(
        "OnlyExportRootDisk".into(),
        json!(request.only_export_root_disk),
    );
    body.insert("DryRun".into(), json!(request.dry_run));
    if let Some(role) = &request.role_name {
        body.insert("RoleName".into(), json!(role));
    }
    Value::Object(body)
}

/// What an accepted export answered: its task id and the object keys.
struct Started {
    task_id: String,
    keys: Vec<String>,
}

impl Started {
    /// The export runs even when its answer cannot be read, so an unreadable answer is an
    /// unknown outcome: the caller must not start it again blindly.
    fn read(answer: &Value) -> Result<Self, CloudError> {
        let task_id = match answer.get("TaskId") {
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        };
        let keys: Option<Vec<String>> =
            answer
                .get("CosPaths")
                .and_then(Value::as_array)
                .map(|paths| {
                    paths
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|path| path.trim_start_matches('/').to_owned())
                        .filter(|key| !key.is_empty())
                        .collect()
                });
        match (task_id, keys) {
            (Some(task_id), Some(keys)) if !keys.is_empty() => Ok(Self { task_id, keys }),
            _ => Err(wire::unexpected(
                ErrorKind::UnknownOutcome,
                answer,
                "ExportImages was accepted but its answer lacks TaskId or CosPaths: \
                 the export may run, and cannot be followed"
                    .to_owned(),
            )),
        }
    }
}

fn task_refs(request: &ExportImages, started: &Started, started_at: u64) -> Vec<TaskRef> {
    let mut owned: Vec<Vec<ObjectRef>> = vec![Vec::new(); request.image_ids.len()];
    let mut unattributed = Vec::new();
    for key in &started.keys {
        let object = ObjectRef {
            bucket: request.bucket.clone(),
            key: key.clone(),
        };
        match owner(request, key) {
            Some(index) => owned[index].push(object),
            None => unattributed.push(object),
        }
    }
    request
        .image_ids
        .iter()
        .zip(owned)
        .map(|(image_id, mut objects)| {
            // A key whose image cannot be told is required by every image of the call:
            // no image is reported done before it exists.
            objects.extend(unattributed.iter().cloned());
            TaskRef {
                cloud: Cloud::Tencent,
                region: request.region.clone(),
                kind: TaskKind::Export,
                image_id: image_id.clone(),
                task_id: Some(started.task_id.clone()),
                destination_region: None,
                destination_image_id: None,
                objects,
                started_at,
                confirmations: 0,
                skipped: false,
            }
        })
        .collect()
}

/// The image whose objects start `[<prefix>_]<ImageId>_` (the SDK's naming), if exactly one.
fn owner(request: &ExportImages, key: &str) -> Option<usize> {
    let mut owners = request
        .image_ids
        .iter()
        .enumerate()
        .filter(|(index, id)| {
            let head = match request
                .file_name_prefixes
                .get(*index)
                .filter(|p| !p.is_empty())
            {
                Some(prefix) => format!("{prefix}_{id}_"),
                None => format!("{id}_"),
            };
            key.starts_with(&head)
        })
        .map(|(index, _)| index);
    match (owners.next(), owners.next()) {
        (Some(index), None) => Some(index),
        _ => None,
    }
}

/// The status of exports in one region: one `DescribeImages` (per 100 images) for their
/// sources, then a `HEAD` of each object of the exports whose source is not failed.
pub async fn statuses(
    client: &CloudClient,
    region: &str,
    tasks: &[&TaskRef],
) -> Vec<Result<TaskStatus, CloudError>> {
    let ids = tasks.iter().map(|task| task.image_id.as_str());
    let images = match wire::describe_by_ids(client, region, ids).await {
        Ok(images) => images,
        Err(err) => return tasks.iter().map(|_| Err(err.clone())).collect(),
    };
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        answers.push(status_of(client, task, &images).await);
    }
    answers
}

async fn status_of(
    client: &CloudClient,
    task: &TaskRef,
    images: &HashMap<String, Image>,
) -> Result<TaskStatus, CloudError> {
    if task.objects.is_empty() {
        return Err(incomplete(task, "objects"));
    }
    if !wire::is_image_id(&task.image_id) {
        return Err(incomplete(task, "well-formed image_id"));
    }
    let Some(image) = images.get(&task.image_id) else {
        return source_gone(client, task).await;
    };
    let word = image.state_word();
    if image.state()?.is_failed() {
        let reason = CloudReason {
            code: Some(word.to_owned()),
            message: format!("the source image {} of the export is {word}", task.image_id),
        };
        return Ok(failed(task, word, reason));
    }
    if let Some(objects) = prove_objects(client, task).await? {
        return Ok(succeeded(task, word, objects));
    }
    // The objects appear only when the export is done. Whether it still runs is asked of
    // ExportImages itself: see `image_is_free`.
    let mut seen = task.clone();
    if !image_is_free(client, task).await? {
        seen.confirmations = 0;
        return Ok(plain_status(seen, TaskState::Running, None, word));
    }
    if task.confirmations >= 1 {
        let reason = CloudReason {
            code: Some(ENDED_WITHOUT_OBJECTS.to_owned()),
            message: format!(
                "the export of {} ended without writing its objects: on two checks in a row \
                 CVM would take a new export of the image (ExportImages DryRun passed, so no \
                 export of it runs) and {} did not exist",
                task.image_id,
                task.objects.first().map_or("", |o| o.key.as_str())
            ),
        };
        return Ok(failed(task, word, reason));
    }
    // Once is not enough: the export may have finished between the HEAD and the dry run.
    seen.confirmations = 1;
    Ok(plain_status(seen, TaskState::Running, None, word))
}

/// The code of an export that ended without its objects (no cloud code exists for it).
pub const ENDED_WITHOUT_OBJECTS: &str = ErrorName::ExportEndedWithoutObjects.as_str();

/// Whether no export of the task's image runs, asked the only way CVM answers it: an
/// `ExportImages` dry run of the image into the task's bucket ("检测镜像是否支持导出", the SDK's
/// words for DryRun). CVM refuses an export of an image while one runs
/// (`InvalidParameterValue.InvalidImageState`): `false`. `DryRunOperation` (the dry run
/// passed): `true`. Any other refusal (an export limit, a role or bucket the dry run cannot
/// use) proves nothing: `false`, the export stays running. A retryable failure is the check's
/// error. The dry run is sent without the start's `RoleName`, which the TaskRef does not keep.
async fn image_is_free(client: &CloudClient, task: &TaskRef) -> Result<bool, CloudError> {
    let Some(first) = task.objects.first() else {
        return Ok(false);
    };
    let format = first
        .key
        .rsplit('.')
        .next()
        .map(str::to_ascii_uppercase)
        .filter(|f| matches!(f.as_str(), "RAW" | "QCOW2" | "VHD" | "VMDK"))
        .unwrap_or_else(|| "QCOW2".to_owned());
    let body = json!({
        "BucketName": first.bucket,
        "ImageIds": [task.image_id],
        "ExportFormat": format,
        "DryRun": true,
    });
    match wire::call(client, "ExportImages", &task.region, &body, Repeat::Safe).await {
        Err(err) if err.code == "DryRunOperation" => Ok(true),
        Err(err) if err.code == BUSY => Ok(false),
        Err(err) if err.retryable => Err(err),
        // An answer without an error would be a dry run CVM did not honour: nothing is proven.
        Ok(_) | Err(_) => Ok(false),
    }
}

/// The source is no longer listed. If every object exists the export finished before the
/// image went (deleting an image once exported is normal); otherwise it can never finish.
async fn source_gone(client: &CloudClient, task: &TaskRef) -> Result<TaskStatus, CloudError> {
    const ABSENT: &str = "ABSENT";
    if let Some(objects) = prove_objects(client, task).await? {
        return Ok(succeeded(task, ABSENT, objects));
    }
    let reason = CloudReason {
        code: None,
        message: format!(
            "the source image {} is no longer listed by DescribeImages in {} \
             and not every exported object exists",
            task.image_id, task.region
        ),
    };
    Ok(failed(task, ABSENT, reason))
}

fn failed(task: &TaskRef, word: &str, reason: CloudReason) -> TaskStatus {
    let mut status = plain_status(task.clone(), TaskState::Failed, None, word);
    status.reason = Some(reason);
    status
}

fn succeeded(task: &TaskRef, word: &str, objects: Vec<ExportedObject>) -> TaskStatus {
    let mut status = plain_status(task.clone(), TaskState::Succeeded, Some(100), word);
    status.result = Some(TaskResult::Export { objects });
    status
}

/// Every object of `task` with its size, or `None` as soon as one does not exist (yet).
async fn prove_objects(
    client: &CloudClient,
    task: &TaskRef,
) -> Result<Option<Vec<ExportedObject>>, CloudError> {
    let mut exported = Vec::with_capacity(task.objects.len());
    for object in &task.objects {
        let Some(size) = client
            .head_object(Cloud::Tencent, &task.region, object, task.known_start())
            .await?
        else {
            return Ok(None);
        };
        exported.push(ExportedObject {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            size,
        });
    }
    Ok(Some(exported))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tencent::request::ExportFormat;

    fn request(prefixes: &[&str]) -> ExportImages {
        ExportImages {
            region: "ap-guangzhou".into(),
            bucket: "backup-1250000000".into(),
            image_ids: vec!["img-web00001".into(), "img-db000001".into()],
            select: None,
            skip_existing: false,
            format: ExportFormat::Qcow2,
            file_name_prefixes: prefixes.iter().map(|p| (*p).to_owned()).collect(),
            only_export_root_disk: false,
            dry_run: false,
            role_name: None,
        }
    }

    #[test]
    fn every_field_is_sent_under_its_wire_name() {
        let mut full = request(&["web", "db"]);
        full.role_name = Some("CVM_QcsRole".into());
        full.only_export_root_disk = true;
        assert_eq!(
            body(&full),
            json!({
                "BucketName": "backup-1250000000",
                "ImageIds": ["img-web00001", "img-db000001"],
                "ExportFormat": "QCOW2",
                "FileNamePrefixList": ["web", "db"],
                "OnlyExportRootDisk": true,
                "DryRun": false,
                "RoleName": "CVM_QcsRole",
            })
        );
        let plain = body(&request(&[]));
        assert!(plain.get("FileNamePrefixList").is_none());
        assert!(plain.get("RoleName").is_none());
    }

    #[test]
    fn objects_go_to_their_image_and_unknown_keys_to_every_image() {
        let answer = json!({
            "TaskId": 105591590,
            "CosPaths": [
                "/web_img-web00001_system_snap-1.qcow2",
                "/db_img-db000001_system_snap-2.qcow2",
                "/db_img-db000001_data_snap-3.qcow2",
                "/something-else.qcow2",
            ],
            "RequestId": "r",
        });
        let started = Started::read(&answer).expect("readable");
        let refs = task_refs(&request(&["web", "db"]), &started, 7);
        let keys =
            |i: usize| -> Vec<&str> { refs[i].objects.iter().map(|o| o.key.as_str()).collect() };
        assert_eq!(
            keys(0),
            [
                "web_img-web00001_system_snap-1.qcow2",
                "something-else.qcow2"
            ]
        );
        assert_eq!(
            keys(1),
            [
                "db_img-db000001_system_snap-2.qcow2",
                "db_img-db000001_data_snap-3.qcow2",
                "something-else.qcow2"
            ]
        );
        assert!(
            refs.iter()
                .all(|r| r.task_id.as_deref() == Some("105591590"))
        );
        assert!(refs.iter().all(|r| r.started_at == 7));
    }

    #[test]
    fn an_answer_without_its_fields_is_an_unknown_outcome() {
        for answer in [
            json!({"RequestId": "r"}),
            json!({"TaskId": 1, "CosPaths": [], "RequestId": "r"}),
            json!({"TaskId": null, "CosPaths": ["/a"], "RequestId": "r"}),
        ] {
            let err = Started::read(&answer).err().expect("unreadable");
            assert_eq!(err.kind, ErrorKind::UnknownOutcome);
            assert_eq!(err.request_id.as_deref(), Some("r"));
        }
    }
}
