//! `SyncImages` and the status of the copies it started: one copy per destination region,
//! each followed on its destination image.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::wire::{self, Image, ImageState, incomplete};
use crate::Cloud;
use crate::batch::plain_status;
use crate::client::{CloudClient, Repeat};
use crate::error::{CloudError, ErrorKind};
use crate::idempotence::{self, Attempt, Found};
use crate::model::{
    CloudReason, RegionImage, StartFailure, TaskKind, TaskRef, TaskResult, TaskState, TaskStatus,
};
use crate::tencent::request::SyncImages;

/// Starts the copies; one TaskRef per destination region, or that region's failure.
///
/// With `attempt.look_first` (a start item that may have run before), each destination is
/// searched first for the copy an earlier attempt made (the one image of the copy's name
/// created since the window opened): found ones are adopted, regions with several
/// candidates are unconfirmed, and only the others are sent. A failed search sends nothing
/// (every region fails with its error, retryable when it was a server error or throttling);
/// an unknown outcome whose regions show no copy is retryable, because the retry looks first.
pub async fn start_copy(
    client: &CloudClient,
    request: &SyncImages,
    attempt: impl Into<Attempt>,
) -> (Vec<TaskRef>, Vec<StartFailure>) {
    let attempt: Attempt = attempt.into();
    let started_at = attempt.since;
    let mut tasks = Vec::new();
    let mut failures = Vec::new();
    let mut name: Option<String> = None;
    let mut pending = request.clone();
    if attempt.look_first && !request.dry_run {
        pending.destination_regions.clear();
        for region in &request.destination_regions {
            match find_copy(client, request, &mut name, region, started_at).await {
                Ok(Found::One(id)) => tasks.push(task_ref(request, region, Some(id), started_at)),
                Ok(Found::Several(count)) => failures.push(StartFailure {
                    destination_region: Some(region.clone()),
                    error: idempotence::ambiguous(
                        Cloud::Tencent,
                        "images of the copy's name",
                        count,
                    ),
                }),
                Ok(Found::Nothing) => pending.destination_regions.push(region.clone()),
                Err(err) => {
                    let err = idempotence::lookup_failed(err);
                    return (Vec::new(), fail_all(request, &err));
                }
            }
        }
        if pending.destination_regions.is_empty() {
            return (tasks, failures);
        }
    }
    let (started, failed) = send(client, &pending, attempt).await;
    tasks.extend(started);
    failures.extend(failed);
    (tasks, failures)
}

async fn send(
    client: &CloudClient,
    request: &SyncImages,
    attempt: Attempt,
) -> (Vec<TaskRef>, Vec<StartFailure>) {
    let started_at = attempt.since;
    // No idempotency token: sent once, and a lost answer is looked for, never resent.
    let sent = wire::call(
        client,
        "SyncImages",
        &request.region,
        &body(request),
        Repeat::Never,
    )
    .await;
    match sent {
        Ok(answer) => accepted(client, request, &answer, started_at).await,
        Err(err) if err.kind == ErrorKind::UnknownOutcome => {
            recover(client, request, attempt, err).await
        }
        // A dry run that passed is answered as an error; nothing was started.
        Err(err) if request.dry_run && err.code == "DryRunOperation" => (Vec::new(), Vec::new()),
        Err(err) => (Vec::new(), fail_all(request, &err)),
    }
}

/// Every field of the request, under its wire name: one image per call, as the API allows.
fn body(request: &SyncImages) -> Value {
    let mut body = Map::new();
    body.insert("ImageIds".into(), json!([request.image_id]));
    body.insert(
        "DestinationRegions".into(),
        json!(request.destination_regions),
    );
    if let Some(name) = &request.image_name {
        body.insert("ImageName".into(), json!(name));
    }
    body.insert("ImageSetRequired".into(), json!(request.image_set_required));
    body.insert("DryRun".into(), json!(request.dry_run));
    Value::Object(body)
}

/// The call is all or nothing, so its error is every region's.
fn fail_all(request: &SyncImages, err: &CloudError) -> Vec<StartFailure> {
    request
        .destination_regions
        .iter()
        .map(|region| StartFailure {
            destination_region: Some(region.clone()),
            error: err.clone(),
        })
        .collect()
}

fn task_ref(
    request: &SyncImages,
    region: &str,
    destination_image_id: Option<String>,
    started_at: u64,
) -> TaskRef {
    TaskRef {
        cloud: Cloud::Tencent,
        region: request.region.clone(),
        kind: TaskKind::Copy,
        image_id: request.image_id.clone(),
        // SyncImages gives no task id: the destination image is the copy's handle.
        task_id: None,
        destination_region: Some(region.to_owned()),
        destination_image_id,
        objects: Vec::new(),
        started_at,
        confirmations: 0,
        skipped: false,
    }
}

/// The new ids from `ImageSet`; a region whose entry is missing or repeats the source id
/// (what `ImageSetRequired=false` answers) is found by name in its region.
async fn accepted(
    client: &CloudClient,
    request: &SyncImages,
    answer: &Value,
    started_at: u64,
) -> (Vec<TaskRef>, Vec<StartFailure>) {
    let listed = image_set(answer);
    let mut name: Option<String> = None;
    let mut tasks = Vec::with_capacity(request.destination_regions.len());
    for region in &request.destination_regions {
        let given = listed
            .get(region.as_str())
            .filter(|id| **id != request.image_id && wire::is_image_id(id))
            .map(|id| (*id).to_owned());
        let id = match given {
            Some(id) => Some(id),
            None => {
                // The copy runs either way; without its id the status check says so.
                match find_copy(client, request, &mut name, region, started_at).await {
                    Ok(Found::One(id)) => Some(id),
                    _ => None,
                }
            }
        };
        tasks.push(task_ref(request, region, id, started_at));
    }
    (tasks, Vec::new())
}

/// `ImageSet[].{Region, ImageId}` by region; an unreadable set is treated as empty.
fn image_set(answer: &Value) -> HashMap<&str, &str> {
    answer
        .get("ImageSet")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            Some((
                entry.get("Region")?.as_str()?,
                entry.get("ImageId")?.as_str()?,
            ))
        })
        .collect()
}

/// After a lost answer: each destination region whose one copy of the right name created
/// since `started_at` is found is adopted. A region that shows no copy is retryable when the
/// start looks first on its next attempt; every other region keeps the unknown outcome.
async fn recover(
    client: &CloudClient,
    request: &SyncImages,
    attempt: Attempt,
    lost: CloudError,
) -> (Vec<TaskRef>, Vec<StartFailure>) {
    let started_at = attempt.since;
    let mut name: Option<String> = None;
    let mut tasks = Vec::new();
    let mut failures = Vec::new();
    for region in &request.destination_regions {
        let error = match find_copy(client, request, &mut name, region, started_at).await {
            Ok(Found::One(id)) => {
                tasks.push(task_ref(request, region, Some(id), started_at));
                continue;
            }
            Ok(Found::Nothing) if attempt.look_first => idempotence::retry_safely(lost.clone()),
            _ => lost.clone(),
        };
        failures.push(StartFailure {
            destination_region: Some(region.clone()),
            error,
        });
    }
    (tasks, failures)
}

/// The images in `region` named as the copy is named, created at or after `started_at`:
/// exactly one is the copy.
async fn find_copy(
    client: &CloudClient,
    request: &SyncImages,
    name: &mut Option<String>,
    region: &str,
    started_at: u64,
) -> Result<Found<String>, CloudError> {
    if name.is_none() {
        *name = Some(copy_name(client, request).await?);
    }
    let name = name.as_deref().unwrap_or_default();
    let candidates: Vec<String> = wire::describe_by_name(client, region, name)
        .await?
        .into_iter()
        .filter(|image| image.image_id != request.image_id)
        // An unreadable creation time cannot prove the image is this call's copy.
        .filter(|image| image.created_at().is_some_and(|at| at >= started_at))
        .map(|image| image.image_id)
        .collect();
    Ok(Found::from_matches(candidates))
}

/// The copies' name: `ImageName`, or else the source image's name.
async fn copy_name(client: &CloudClient, request: &SyncImages) -> Result<String, CloudError> {
    if let Some(name) = &request.image_name {
        return Ok(name.clone());
    }
    let found = wire::describe_by_ids(client, &request.region, [request.image_id.as_str()]).await?;
    found
        .get(&request.image_id)
        .and_then(|image| image.image_name.clone())
        .filter(|name| !name.is_empty())
        .ok_or_else(|| {
            CloudError::new(
                Cloud::Tencent,
                ErrorKind::NotFound,
                "Image.NameUnknown",
                format!(
                    "the name of the source image {} cannot be read",
                    request.image_id
                ),
            )
        })
}

/// The status of copies into one region: one `DescribeImages` per 100 destination images.
pub async fn statuses(
    client: &CloudClient,
    region: &str,
    tasks: &[&TaskRef],
) -> Vec<Result<TaskStatus, CloudError>> {
    let ids = tasks
        .iter()
        .filter_map(|task| task.destination_image_id.as_deref());
    let images = match wire::describe_by_ids(client, region, ids).await {
        Ok(images) => images,
        Err(err) => return tasks.iter().map(|_| Err(err.clone())).collect(),
    };
    tasks
        .iter()
        .map(|task| status_of(task, region, &images))
        .collect()
}

fn status_of(
    task: &TaskRef,
    region: &str,
    images: &HashMap<String, Image>,
) -> Result<TaskStatus, CloudError> {
    let Some(id) = task
        .destination_image_id
        .as_deref()
        .filter(|id| wire::is_image_id(id))
    else {
        return Err(incomplete(task, "destination_image_id"));
    };
    let Some(image) = images.get(id) else {
        return Err(CloudError::task_not_found(
            Cloud::Tencent,
            format!(
                "the copy {id} of {} is not listed in {region}",
                task.image_id
            ),
        ));
    };
    let word = image.state_word();
    Ok(match image.state()? {
        ImageState::Normal => finished(task, region, id, word),
        ImageState::Syncing | ImageState::Creating | ImageState::Importing => {
            let mut task = task.clone();
            // Not finished: any earlier finished answer no longer counts.
            task.confirmations = 0;
            plain_status(task, TaskState::Running, image.percent(), word)
        }
        ImageState::CreateFailed | ImageState::ImportFailed => {
            let mut status = plain_status(task.clone(), TaskState::Failed, None, word);
            status.reason = Some(CloudReason {
                code: Some(word.to_owned()),
                message: format!("the copy {id} of {} in {region} is {word}", task.image_id),
            });
            status
        }
    })
}

/// A finished answer counts only when it follows another: the first is `Running` at 100 %.
fn finished(task: &TaskRef, region: &str, id: &str, word: &str) -> TaskStatus {
    let mut task = task.clone();
    let seen_before = task.confirmations >= 1;
    task.confirmations = task.confirmations.saturating_add(1);
    if !seen_before {
        return plain_status(task, TaskState::Running, Some(100), word);
    }
    let mut status = plain_status(task, TaskState::Succeeded, Some(100), word);
    status.result = Some(TaskResult::Copy {
        images: vec![RegionImage {
            region: region.to_owned(),
            image_id: id.to_owned(),
        }],
    });
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> SyncImages {
        SyncImages {
            region: "ap-guangzhou".into(),
            image_id: "img-web00001".into(),
            select: None,
            skip_existing: false,
            destination_regions: vec!["ap-shanghai".into(), "ap-beijing".into()],
            image_name: Some("web copy".into()),
            image_set_required: true,
            dry_run: false,
        }
    }

    fn image(state: &str, percent: Option<u8>) -> HashMap<String, Image> {
        let image: Image = serde_json::from_value(json!({
            "ImageId": "img-new00002", "ImageState": state, "SyncPercent": percent
        }))
        .expect("an image");
        HashMap::from([(image.image_id.clone(), image)])
    }

    fn copy(confirmations: u32) -> TaskRef {
        let mut task = task_ref(&request(), "ap-shanghai", Some("img-new00002".into()), 1);
        task.confirmations = confirmations;
        task
    }

    #[test]
    fn every_field_is_sent_under_its_wire_name() {
        assert_eq!(
            body(&request()),
            json!({
                "ImageIds": ["img-web00001"],
                "DestinationRegions": ["ap-shanghai", "ap-beijing"],
                "ImageName": "web copy",
                "ImageSetRequired": true,
                "DryRun": false,
            })
        );
    }

    #[test]
    fn a_copy_succeeds_on_the_second_finished_answer() {
        let first = status_of(&copy(0), "ap-shanghai", &image("NORMAL", Some(100))).expect("ok");
        assert_eq!(
            (first.state, first.progress, first.task.confirmations),
            (TaskState::Running, Some(100), 1)
        );
        assert!(first.result.is_none());
        let second =
            status_of(&first.task, "ap-shanghai", &image("NORMAL", Some(100))).expect("ok");
        assert_eq!(second.state, TaskState::Succeeded);
        assert_eq!(
            second.result,
            Some(TaskResult::Copy {
                images: vec![RegionImage {
                    region: "ap-shanghai".into(),
                    image_id: "img-new00002".into()
                }]
            })
        );
        let reset = status_of(&copy(1), "ap-shanghai", &image("SYNCING", Some(40))).expect("ok");
        assert_eq!(
            (reset.state, reset.progress, reset.task.confirmations),
            (TaskState::Running, Some(40), 0)
        );
    }

    #[test]
    fn failed_unknown_and_missing_copies() {
        let failed =
            status_of(&copy(0), "ap-shanghai", &image("CREATEFAILED", Some(0))).expect("ok");
        assert_eq!(failed.state, TaskState::Failed);
        assert_eq!(
            failed.reason.and_then(|r| r.code).as_deref(),
            Some("CREATEFAILED")
        );
        let err = status_of(&copy(0), "ap-shanghai", &image("PAUSED", None)).expect_err("unknown");
        assert_eq!(err.code, "State.Unknown");
        let err = status_of(&copy(0), "ap-shanghai", &HashMap::new()).expect_err("gone");
        assert_eq!(
            (err.kind, err.code.as_str()),
            (ErrorKind::NotFound, "Task.NotFound")
        );
        let mut no_id = copy(0);
        no_id.destination_image_id = None;
        let err = status_of(&no_id, "ap-shanghai", &HashMap::new()).expect_err("incomplete");
        assert_eq!(err.code, crate::error::TASK_REF_INVALID);
    }

    #[test]
    fn image_set_is_read_by_region() {
        let answer = json!({"ImageSet": [
            {"ImageId": "img-aaaa0001", "Region": "ap-shanghai"},
            {"ImageId": null, "Region": "ap-beijing"}
        ]});
        let set = image_set(&answer);
        assert_eq!(set.get("ap-shanghai"), Some(&"img-aaaa0001"));
        assert_eq!(set.get("ap-beijing"), None);
    }
}
