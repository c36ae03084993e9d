//! ExportImage: the start (with the search for a task whose answer was lost) and the status
//! from DescribeTasks, DescribeTaskAttribute and a HEAD of every object the task names.

use std::collections::HashMap;

use serde_json::Value;

use super::wire::{
    self, DESCRIBE_TASK_ATTRIBUTE, DESCRIBE_TASKS, EXPORT_IMAGE, MAX_IDS, PAGE_SIZE, Query,
    non_empty, rows, text,
};
use crate::alibaba::request::ExportImage;
use crate::client::{CloudClient, Repeat};
use crate::error::{CloudError, ErrorKind};
use crate::model::{
    CloudReason, ExportedObject, ObjectRef, TaskKind, TaskRef, TaskResult, TaskState, TaskStatus,
};

const CLOUD: crate::Cloud = wire::CLOUD;

pub(super) async fn start(
    client: &CloudClient,
    request: &ExportImage,
    started_at: u64,
) -> Result<Vec<TaskRef>, CloudError> {
    // ECS gives the same TaskId to a repeat with the same ClientToken, so only a start with a
    // token may be re-sent after an unknown outcome.
    let repeat = match request.client_token {
        Some(_) => Repeat::Safe,
        None => Repeat::Never,
    };
    let answer = wire::call(
        client,
        EXPORT_IMAGE,
        &request.region,
        &export_query(request),
        repeat,
    )
    .await
    .and_then(|document| task_id_of(&document));
    match answer {
        Ok(task_id) => Ok(vec![task_ref(request, task_id, started_at)]),
        Err(error) if error.kind == ErrorKind::UnknownOutcome => {
            match find_lost_export(client, request, started_at).await {
                Some(task_id) => Ok(vec![task_ref(request, task_id, started_at)]),
                None => Err(error),
            }
        }
        Err(error) => Err(error),
    }
}

fn export_query(request: &ExportImage) -> Query {
    Query::region(&request.region)
        .with("ImageId", request.image_id.as_str())
        .with("OSSBucket", request.bucket.as_str())
        .with_optional("OSSPrefix", request.prefix.as_deref())
        .with("ImageFormat", request.format.api_name())
        .with_optional("RoleName", request.role_name.as_deref())
        .with_optional("ClientToken", request.client_token.as_deref())
}

/// The TaskId of an ExportImage answer. An answer without one may still have started an
/// export, so it counts as an unknown outcome, not as a failure.
fn task_id_of(document: &Value) -> Result<String, CloudError> {
    non_empty(document, "TaskId")
        .map(str::to_owned)
        .ok_or_else(|| {
            CloudError::new(
                CLOUD,
                ErrorKind::UnknownOutcome,
                "Response.NoTaskId",
                "ExportImage answered without a TaskId",
            )
            .with_request_id(wire::request_id(document))
        })
}

/// The objects are not named up front: ECS picks the names (and honours `ImageFormat` only in
/// some regions), and DescribeTaskAttribute reports them.
fn task_ref(request: &ExportImage, task_id: String, started_at: u64) -> TaskRef {
    TaskRef {
        cloud: CLOUD,
        region: request.region.clone(),
        kind: TaskKind::Export,
        image_id: request.image_id.clone(),
        task_id: Some(task_id),
        destination_region: None,
        destination_image_id: None,
        objects: Vec::new(),
        started_at,
        confirmations: 0,
        skipped: false,
    }
}

/// After an unknown outcome: the one export of this image, created since the start, that
/// writes into the requested bucket (and under the requested prefix). Any doubt (no match,
/// several, a failed lookup) gives `None`, and the caller keeps the unknown outcome.
async fn find_lost_export(
    client: &CloudClient,
    request: &ExportImage,
    started_at: u64,
) -> Option<String> {
    let query = Query::region(&request.region)
        .with("TaskAction", EXPORT_IMAGE)
        .with("ResourceIds.1", request.image_id.as_str())
        .with("StartTime", wire::start_time_filter(started_at))
        .with("PageSize", PAGE_SIZE);
    let listing = wire::call(
        client,
        DESCRIBE_TASKS,
        &request.region,
        &query,
        Repeat::Safe,
    )
    .await
    .ok()?;
    let candidates: Vec<String> = rows(&listing, "TaskSet", "Task")
        .filter(|task| text(task, "TaskAction") == Some(EXPORT_IMAGE))
        .filter(|task| text(task, "ResourceId") == Some(request.image_id.as_str()))
        .filter(|task| {
            text(task, "CreationTime").is_some_and(|t| wire::created_since(t, started_at))
        })
        .filter_map(|task| non_empty(task, "TaskId").map(str::to_owned))
        .collect();
    let mut matching = Vec::new();
    for task_id in candidates {
        let attribute = describe_attribute(client, &request.region, &task_id)
            .await
            .ok()?;
        if writes_where_asked(&attribute, request) {
            matching.push(task_id);
        }
    }
    match <[String; 1]>::try_from(matching) {
        Ok([only]) => Some(only),
        Err(_) => None,
    }
}

/// Whether a task's items name the requested bucket, and objects under the requested prefix
/// (ECS starts object names with `OSSPrefix`).
fn writes_where_asked(attribute: &Value, request: &ExportImage) -> bool {
    let objects = objects_of(attribute);
    !objects.is_empty()
        && objects.iter().all(|object| {
            object.bucket == request.bucket
                && request
                    .prefix
                    .as_deref()
                    .is_none_or(|prefix| object.key.starts_with(prefix))
        })
}

async fn describe_attribute(
    client: &CloudClient,
    region: &str,
    task_id: &str,
) -> Result<Value, CloudError> {
    let query = Query::region(region).with("TaskId", task_id);
    wire::call(
        client,
        DESCRIBE_TASK_ATTRIBUTE,
        region,
        &query,
        Repeat::Safe,
    )
    .await
}

/// The statuses of exports in one region, in the order given: one DescribeTasks per 100 ids,
/// then DescribeTaskAttribute for each export that has started.
pub(super) async fn statuses(
    client: &CloudClient,
    region: &str,
    tasks: &[&TaskRef],
) -> Vec<Result<TaskStatus, CloudError>> {
    let listed = list_tasks(client, region, tasks).await;
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        let task_id = task.task_id.as_deref().unwrap_or_default();
        let result = match listed.get(task_id) {
            Some(Ok((row, request_id))) => status_of(client, task, row, request_id).await,
            Some(Err(error)) => Err(error.clone()),
            None => Err(wire::unusable_task(format!(
                "export {task_id} was not looked up"
            ))),
        };
        out.push(result);
    }
    out
}

/// Each task id's DescribeTasks row, or the error that kept it from being read (a call's
/// failure, or the task missing from the answer: ECS no longer knows it).
async fn list_tasks(
    client: &CloudClient,
    region: &str,
    tasks: &[&TaskRef],
) -> HashMap<String, Result<Listed, CloudError>> {
    let mut ids: Vec<&str> = tasks
        .iter()
        .filter_map(|task| task.task_id.as_deref())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut found = HashMap::new();
    for chunk in ids.chunks(MAX_IDS) {
        let query = Query::region(region)
            .with("TaskIds", chunk.join(","))
            .with("PageSize", PAGE_SIZE);
        let answer = wire::call(client, DESCRIBE_TASKS, region, &query, Repeat::Safe).await;
        for id in chunk {
            let row = match &answer {
                Ok(document) => row_of(document, region, id),
                Err(error) => Err(error.clone()),
            };
            found.insert((*id).to_owned(), row);
        }
    }
    found
}

/// A task's DescribeTasks row, with the answer's request id.
type Listed = (Value, Option<String>);

fn row_of(document: &Value, region: &str, task_id: &str) -> Result<Listed, CloudError> {
    rows(document, "TaskSet", "Task")
        .find(|row| text(row, "TaskId") == Some(task_id))
        .map(|row| (row.clone(), wire::request_id(document)))
        .ok_or_else(|| {
            CloudError::new(
                CLOUD,
                ErrorKind::NotFound,
                "InvalidTaskId.NotFound",
                format!("DescribeTasks in {region} does not list export task {task_id}"),
            )
            .with_request_id(wire::request_id(document))
        })
}

/// ECS's export task states, as DescribeTasks and DescribeTaskAttribute print them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// `Waiting` (the emulator and Terraform's word), `Pending` (an older doc's).
    Queued,
    Processing,
    Finished,
    Failed,
    /// `Cancelled`, or `Deleted` (older docs): the export will never produce its objects.
    Ended,
}

fn phase_of(word: &str) -> Option<Phase> {
    match word {
        "Waiting" | "Pending" => Some(Phase::Queued),
        "Processing" => Some(Phase::Processing),
        "Finished" => Some(Phase::Finished),
        "Failed" => Some(Phase::Failed),
        "Cancelled" | "Deleted" => Some(Phase::Ended),
        _ => None,
    }
}

/// One export's status from its DescribeTasks row; a started task is read in detail.
async fn status_of(
    client: &CloudClient,
    task: &TaskRef,
    row: &Value,
    request_id: &Option<String>,
) -> Result<TaskStatus, CloudError> {
    let word = text(row, "TaskStatus").unwrap_or_default();
    match phase_of(word) {
        None => Err(wire::unknown_state(
            &export_name(task),
            word,
            request_id.clone(),
        )),
        Some(Phase::Queued) => Ok(wire::status(task, TaskState::Pending, word)),
        Some(Phase::Ended) => Ok(ended(task, word)),
        Some(Phase::Processing | Phase::Finished | Phase::Failed) => {
            let task_id = task.task_id.as_deref().unwrap_or_default();
            let attribute = describe_attribute(client, &task.region, task_id).await?;
            status_from_attribute(client, task, &attribute, word).await
        }
    }
}

fn export_name(task: &TaskRef) -> String {
    format!(
        "export {} of {}",
        task.task_id.as_deref().unwrap_or("?"),
        task.image_id
    )
}

fn ended(task: &TaskRef, word: &str) -> TaskStatus {
    let mut status = wire::status(task, TaskState::Failed, word);
    status.reason = Some(CloudReason {
        code: Some(word.to_owned()),
        message: format!("ECS reports {} as {word}", export_name(task)),
    });
    status
}

/// The status DescribeTaskAttribute gives; its `TaskStatus` is newer than the listing's.
async fn status_from_attribute(
    client: &CloudClient,
    task: &TaskRef,
    attribute: &Value,
    listed_word: &str,
) -> Result<TaskStatus, CloudError> {
    let word = text(attribute, "TaskStatus").unwrap_or(listed_word);
    let progress = text(attribute, "TaskProcess").and_then(wire::percent);
    let phase = phase_of(word).ok_or_else(|| {
        wire::unknown_state(&export_name(task), word, wire::request_id(attribute))
    })?;
    let mut status = match phase {
        Phase::Queued => wire::status(task, TaskState::Pending, word),
        Phase::Processing => wire::status(task, TaskState::Running, word),
        Phase::Ended => ended(task, word),
        Phase::Failed => {
            let mut status = wire::status(task, TaskState::Failed, word);
            status.reason = Some(failure_reason(attribute, task));
            status
        }
        Phase::Finished => return finished(client, task, attribute, word).await,
    };
    status.progress = progress;
    Ok(status)
}

/// The first failed sub-task's `ErrorCode`/`ErrorMsg`, ECS's own words for the failure.
fn failure_reason(attribute: &Value, task: &TaskRef) -> CloudReason {
    rows(attribute, "OperationProgressSet", "OperationProgress")
        .find(|operation| {
            non_empty(operation, "ErrorCode").is_some()
                || non_empty(operation, "ErrorMsg").is_some()
        })
        .map(|operation| CloudReason {
            code: non_empty(operation, "ErrorCode").map(str::to_owned),
            message: text(operation, "ErrorMsg").unwrap_or_default().to_owned(),
        })
        .unwrap_or_else(|| CloudReason {
            code: None,
            message: format!(
                "ECS reports {} as Failed without a reason",
                export_name(task)
            ),
        })
}

/// Every `(OSSBucket, OSSObject)` pair of the task's sub-tasks, one per exported disk.
fn objects_of(attribute: &Value) -> Vec<ObjectRef> {
    rows(attribute, "OperationProgressSet", "OperationProgress")
        .filter_map(|operation| {
            let items: Vec<&Value> = rows(operation, "RelatedItemSet", "RelatedItem").collect();
            let item = |name: &str| {
                items
                    .iter()
                    .find(|item| text(item, "Name") == Some(name))
                    .and_then(|item| non_empty(item, "Value"))
            };
            Some(ObjectRef {
                bucket: item("OSSBucket")?.to_owned(),
                key: item("OSSObject")?.to_owned(),
            })
        })
        .collect()
}

/// A task that says `Finished`: proven by a HEAD of each object it names.
async fn finished(
    client: &CloudClient,
    task: &TaskRef,
    attribute: &Value,
    word: &str,
) -> Result<TaskStatus, CloudError> {
    let objects = objects_of(attribute);
    if objects.is_empty() {
        // Nothing to prove the export by, and waiting will not change that.
        return Err(CloudError::new(
            CLOUD,
            ErrorKind::Unsupported,
            "Export.NoObjects",
            format!(
                "{} is Finished but names no OSSObject to check",
                export_name(task)
            ),
        )
        .with_request_id(wire::request_id(attribute)));
    }
    let mut sizes = Vec::with_capacity(objects.len());
    for object in &objects {
        sizes.push(head(client, task, object).await?);
    }
    Ok(proven(task, word, objects.into_iter().zip(sizes).collect()))
}

async fn head(
    client: &CloudClient,
    task: &TaskRef,
    object: &ObjectRef,
) -> Result<Option<u64>, CloudError> {
    client
        .head_object(CLOUD, &task.region, object, task.known_start())
        .await
}

/// Success only when every object exists; a missing one means OSS has not shown it yet
/// (eventual consistency), so the export is still running, at 100 %.
fn proven(task: &TaskRef, word: &str, objects: Vec<(ObjectRef, Option<u64>)>) -> TaskStatus {
    let mut named = task.clone();
    named.objects = objects.iter().map(|(object, _)| object.clone()).collect();
    let exported: Option<Vec<ExportedObject>> = objects
        .into_iter()
        .map(|(object, size)| {
            size.map(|size| ExportedObject {
                bucket: object.bucket,
                key: object.key,
                size,
            })
        })
        .collect();
    let mut status = match exported {
        Some(objects) => {
            let mut status = wire::status(&named, TaskState::Succeeded, word);
            status.result = Some(TaskResult::Export { objects });
            status
        }
        None => wire::status(&named, TaskState::Running, word),
    };
    status.progress = Some(100);
    status
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn task() -> TaskRef {
        task_ref(
            &ExportImage {
                region: "cn-hangzhou".into(),
                image_id: "m-bp1db0000000000000001".into(),
                select: None,
                skip_existing: false,
                bucket: "bkt".into(),
                prefix: Some("exp01".into()),
                format: Default::default(),
                role_name: None,
                client_token: None,
            },
            "t-1".into(),
            1_767_225_599,
        )
    }

    fn attribute(status: &str) -> Value {
        let operation = |key: &str| {
            json!({
                "OperationStatus": "Failed", "ErrorCode": "ExportImageFailed",
                "ErrorMsg": "Failed to export image.",
                "RelatedItemSet": {"RelatedItem": [
                    {"Name": "OSSBucket", "Value": "bkt"},
                    {"Name": "OSSObject", "Value": key},
                    {"Name": "ImageFormat", "Value": "raw"},
                ]}
            })
        };
        json!({
            "TaskId": "t-1", "TaskStatus": status, "TaskProcess": "50%",
            "OperationProgressSet": {"OperationProgress": [
                operation("exp01_m-bp1db0000000000000001_t-1.raw"),
                operation("exp01_m-bp1db0000000000000001_t-1_data_xvdb.raw"),
            ]}
        })
    }

    #[test]
    fn objects_and_failure_reasons_are_read_from_the_related_items() {
        let attribute = attribute("Failed");
        let objects = objects_of(&attribute);
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[1].bucket, "bkt");
        assert_eq!(
            objects[1].key,
            "exp01_m-bp1db0000000000000001_t-1_data_xvdb.raw"
        );
        let reason = failure_reason(&attribute, &task());
        assert_eq!(reason.code.as_deref(), Some("ExportImageFailed"));
        assert_eq!(reason.message, "Failed to export image.");
    }

    #[test]
    fn a_finished_task_with_a_missing_object_is_still_running() {
        let objects = objects_of(&attribute("Finished"));
        let status = proven(
            &task(),
            "Finished",
            vec![(objects[0].clone(), Some(10)), (objects[1].clone(), None)],
        );
        assert_eq!(status.state, TaskState::Running);
        assert_eq!(status.progress, Some(100));
        assert_eq!(status.result, None);
        assert_eq!(status.task.objects, objects);

        let status = proven(
            &task(),
            "Finished",
            vec![
                (objects[0].clone(), Some(10)),
                (objects[1].clone(), Some(0)),
            ],
        );
        assert_eq!(status.state, TaskState::Succeeded);
        let Some(TaskResult::Export { objects: exported }) = status.result else {
            panic!("an export result");
        };
        assert_eq!(exported[0].size, 10);
    }

    #[test]
    fn a_lost_start_is_adopted_only_for_the_requested_bucket_and_prefix() {
        let mut request = ExportImage {
            region: "cn-hangzhou".into(),
            image_id: "m-bp1db0000000000000001".into(),
            select: None,
            skip_existing: false,
            bucket: "bkt".into(),
            prefix: Some("exp01".into()),
            format: Default::default(),
            role_name: None,
            client_token: None,
        };
        let attribute = attribute("Processing");
        assert!(writes_where_asked(&attribute, &request));
        request.prefix = Some("other".into());
        assert!(!writes_where_asked(&attribute, &request));
        request.prefix = None;
        request.bucket = "elsewhere".into();
        assert!(!writes_where_asked(&attribute, &request));
    }

    #[test]
    fn unknown_words_are_not_guessed() {
        assert_eq!(phase_of("Paused"), None);
        assert_eq!(phase_of("Waiting"), Some(Phase::Queued));
        assert_eq!(phase_of("Cancelled"), Some(Phase::Ended));
    }
}
