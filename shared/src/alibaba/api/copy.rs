//! CopyImage, once per destination region: the start (with the search for a copy whose answer
//! was lost), the status from the new image in the destination region, and CancelCopyImage.
//! Copies are not tasks on Alibaba: CopyImage answers the new image's id, and that image's
//! `Status` and `Progress` in the destination region are the copy's.

use std::collections::HashMap;

use serde_json::Value;

use super::wire::{
    self, CANCEL_COPY_IMAGE, COPY_IMAGE, DESCRIBE_IMAGES, MAX_IDS, PAGE_SIZE, Query, non_empty,
    rows, text,
};
use crate::alibaba::request::CopyImage;
use crate::client::{CloudClient, Repeat};
use crate::error::{CloudError, ErrorKind};
use crate::model::{
    CloudReason, RegionImage, StartFailure, TaskKind, TaskRef, TaskResult, TaskState, TaskStatus,
};

const CLOUD: crate::Cloud = wire::CLOUD;

/// Every state a copy's image can be in. Without `Status`, DescribeImages lists only
/// `Available` images, which would hide a copy in progress or failed.
const COPY_STATUSES: &str = "Creating,Waiting,Available,UnAvailable,CreateFailed";

pub(super) async fn start(
    client: &CloudClient,
    request: &CopyImage,
    started_at: u64,
) -> (Vec<TaskRef>, Vec<StartFailure>) {
    crate::batch::per_destination(&request.destination_regions, |destination| {
        start_one(client, request, destination, started_at)
    })
    .await
}

async fn start_one(
    client: &CloudClient,
    request: &CopyImage,
    destination: &str,
    started_at: u64,
) -> Result<TaskRef, CloudError> {
    let token = request.client_token_for(destination);
    // ECS answers a repeat with the same ClientToken with the same image and copies nothing,
    // so only a start with a token may be re-sent after an unknown outcome.
    let repeat = match token {
        Some(_) => Repeat::Safe,
        None => Repeat::Never,
    };
    let query = Query::region(&request.region)
        .with("ImageId", request.image_id.as_str())
        .with("DestinationRegionId", destination)
        .with_optional("DestinationImageName", request.image_name.as_deref())
        .with_optional("DestinationDescription", request.description.as_deref())
        .with_optional("ClientToken", token.as_deref());
    let answer = wire::call(client, COPY_IMAGE, &request.region, &query, repeat)
        .await
        .and_then(|document| image_id_of(&document));
    match answer {
        Ok(image_id) => Ok(task_ref(request, destination, image_id, started_at)),
        Err(error) if error.kind == ErrorKind::UnknownOutcome => {
            match find_lost_copy(client, request, destination, started_at).await {
                Some(image_id) => Ok(task_ref(request, destination, image_id, started_at)),
                None => Err(error),
            }
        }
        Err(error) => Err(error),
    }
}

/// The new image's id. An answer without one may still have started a copy, so it counts
/// as an unknown outcome, not as a failure.
fn image_id_of(document: &Value) -> Result<String, CloudError> {
    non_empty(document, "ImageId")
        .map(str::to_owned)
        .ok_or_else(|| {
            CloudError::new(
                CLOUD,
                ErrorKind::UnknownOutcome,
                "Response.NoImageId",
                "CopyImage answered without an ImageId",
            )
            .with_request_id(wire::request_id(document))
        })
}

/// No task id: CopyImage gives none; the destination image is what is followed.
fn task_ref(request: &CopyImage, destination: &str, image_id: String, started_at: u64) -> TaskRef {
    TaskRef {
        cloud: CLOUD,
        region: request.region.clone(),
        kind: TaskKind::Copy,
        image_id: request.image_id.clone(),
        task_id: None,
        destination_region: Some(destination.to_owned()),
        destination_image_id: Some(image_id),
        objects: Vec::new(),
        started_at,
        confirmations: 0,
        skipped: false,
    }
}

async fn describe_images(
    client: &CloudClient,
    region: &str,
    query: Query,
) -> Result<Value, CloudError> {
    let query = query
        .with("Status", COPY_STATUSES)
        .with("PageSize", PAGE_SIZE);
    wire::call(client, DESCRIBE_IMAGES, region, &query, Repeat::Safe).await
}

/// After an unknown outcome: the one copied image in the destination region created since the
/// start, with the name the copy gets (the requested one, else the source's) and the source's
/// size. ECS records no source id on a copy, so these are the traits to go by. Any doubt (no
/// match, several, more than one page, a failed lookup) gives `None`, and the caller keeps
/// the unknown outcome.
async fn find_lost_copy(
    client: &CloudClient,
    request: &CopyImage,
    destination: &str,
    started_at: u64,
) -> Option<String> {
    let sources = describe_images(
        client,
        &request.region,
        Query::region(&request.region).with("ImageId", request.image_id.as_str()),
    )
    .await
    .ok()?;
    let source = rows(&sources, "Images", "Image")
        .find(|image| text(image, "ImageId") == Some(request.image_id.as_str()))?;
    let name = request
        .image_name
        .as_deref()
        .or_else(|| non_empty(source, "ImageName"))?;
    let listing = describe_images(
        client,
        destination,
        Query::region(destination)
            .with("ImageName", name)
            .with("ImageOwnerAlias", "self"),
    )
    .await
    .ok()?;
    let listed: Vec<&Value> = rows(&listing, "Images", "Image").collect();
    let total = listing.get("TotalCount").and_then(Value::as_u64);
    if total.is_some_and(|total| total > listed.len() as u64) {
        return None;
    }
    let matching: Vec<&str> = listed
        .into_iter()
        .filter(|image| image.get("IsCopied").and_then(Value::as_bool) == Some(true))
        .filter(|image| text(image, "ImageName") == Some(name))
        .filter(|image| image.get("Size") == source.get("Size"))
        .filter(|image| {
            text(image, "CreationTime").is_some_and(|t| wire::created_since(t, started_at))
        })
        .filter_map(|image| non_empty(image, "ImageId"))
        .collect();
    match matching.as_slice() {
        [only] => Some((*only).to_owned()),
        _ => None,
    }
}

/// The destination region and image of a copy's TaskRef.
pub(super) fn target(task: &TaskRef) -> Result<(&str, &str), CloudError> {
    if task.cloud != CLOUD || task.kind != TaskKind::Copy {
        return Err(wire::unusable_task(format!(
            "not an Alibaba copy: a {} {:?} task",
            task.cloud, task.kind
        )));
    }
    match (
        task.destination_region.as_deref(),
        task.destination_image_id.as_deref(),
    ) {
        (Some(region), Some(image)) if !region.is_empty() && !image.is_empty() => {
            Ok((region, image))
        }
        _ => Err(wire::unusable_task(format!(
            "the copy of {} names no destination region and image",
            task.image_id
        ))),
    }
}

/// The statuses of copies into one destination region, in the order given: one
/// DescribeImages per 100 image ids.
pub(super) async fn statuses(
    client: &CloudClient,
    destination: &str,
    tasks: &[&TaskRef],
) -> Vec<Result<TaskStatus, CloudError>> {
    let images = list_images(client, destination, tasks).await;
    tasks
        .iter()
        .map(|task| {
            let image_id = task.destination_image_id.as_deref().unwrap_or_default();
            match images.get(image_id) {
                Some(Ok((image, request_id))) => status_of(task, image, request_id),
                Some(Err(error)) => Err(error.clone()),
                None => Err(wire::unusable_task(format!(
                    "image {image_id} was not looked up"
                ))),
            }
        })
        .collect()
}

/// An image's DescribeImages row, with the answer's request id.
type Listed = (Value, Option<String>);

/// Each destination image's row, or the error that kept it from being read (a call's failure,
/// or the image missing: the copy was cancelled or the image deleted).
async fn list_images(
    client: &CloudClient,
    destination: &str,
    tasks: &[&TaskRef],
) -> HashMap<String, Result<Listed, CloudError>> {
    let mut ids: Vec<&str> = tasks
        .iter()
        .filter_map(|task| task.destination_image_id.as_deref())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut found = HashMap::new();
    for chunk in ids.chunks(MAX_IDS) {
        let query = Query::region(destination).with("ImageId", chunk.join(","));
        let answer = describe_images(client, destination, query).await;
        for id in chunk {
            let row = match &answer {
                Ok(document) => row_of(document, destination, id),
                Err(error) => Err(error.clone()),
            };
            found.insert((*id).to_owned(), row);
        }
    }
    found
}

fn row_of(document: &Value, destination: &str, image_id: &str) -> Result<Listed, CloudError> {
    rows(document, "Images", "Image")
        .find(|image| text(image, "ImageId") == Some(image_id))
        .map(|image| (image.clone(), wire::request_id(document)))
        .ok_or_else(|| {
            CloudError::new(
                CLOUD,
                ErrorKind::NotFound,
                "InvalidImageId.NotFound",
                format!(
                    "image {image_id} is not in {destination}: the copy was cancelled or the image deleted"
                ),
            )
            .with_request_id(wire::request_id(document))
        })
}

/// A copy's status from its image. `Available` is a finished answer; the copy succeeds on the
/// second in a row, because one answer of an eventually consistent API is not proof.
fn status_of(
    task: &TaskRef,
    image: &Value,
    request_id: &Option<String>,
) -> Result<TaskStatus, CloudError> {
    let word = text(image, "Status").unwrap_or_default();
    let progress = text(image, "Progress").and_then(wire::percent);
    let mut unconfirmed = task.clone();
    unconfirmed.confirmations = 0;
    let mut status = match word {
        "Waiting" => wire::status(&unconfirmed, TaskState::Pending, word),
        "Creating" => wire::status(&unconfirmed, TaskState::Running, word),
        "Available" => return Ok(finished(task, word)),
        "CreateFailed" | "UnAvailable" => {
            let mut status = wire::status(&unconfirmed, TaskState::Failed, word);
            status.reason = Some(CloudReason {
                code: Some(word.to_owned()),
                message: format!(
                    "the copy of {} into {} failed: its image {} is {word}",
                    task.image_id,
                    task.destination_region.as_deref().unwrap_or_default(),
                    task.destination_image_id.as_deref().unwrap_or_default(),
                ),
            });
            status
        }
        _ => {
            let what = format!(
                "image {}, the copy of {},",
                task.destination_image_id.as_deref().unwrap_or_default(),
                task.image_id
            );
            return Err(wire::unknown_state(&what, word, request_id.clone()));
        }
    };
    status.progress = progress;
    Ok(status)
}

fn finished(task: &TaskRef, word: &str) -> TaskStatus {
    let mut confirmed = task.clone();
    confirmed.confirmations = task.confirmations.saturating_add(1);
    let mut status = if task.confirmations >= 1 {
        let mut status = wire::status(&confirmed, TaskState::Succeeded, word);
        status.result = Some(TaskResult::Copy {
            images: vec![RegionImage {
                region: task.destination_region.clone().unwrap_or_default(),
                image_id: task.destination_image_id.clone().unwrap_or_default(),
            }],
        });
        status
    } else {
        wire::status(&confirmed, TaskState::Running, word)
    };
    status.progress = Some(100);
    status
}

/// CancelCopyImage goes to the destination region and names the destination image.
pub(super) async fn cancel(client: &CloudClient, task: &TaskRef) -> Result<(), CloudError> {
    let (destination, image_id) = target(task)?;
    let query = Query::region(destination).with("ImageId", image_id);
    wire::call(client, CANCEL_COPY_IMAGE, destination, &query, Repeat::Safe)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn task(confirmations: u32) -> TaskRef {
        let request = CopyImage {
            region: "cn-hangzhou".into(),
            image_id: "m-bp1web000000000000001".into(),
            select: None,
            skip_existing: false,
            destination_regions: vec!["cn-shanghai".into()],
            image_name: None,
            description: None,
            client_token: None,
        };
        TaskRef {
            confirmations,
            ..task_ref(&request, "cn-shanghai", "m-uf6copy".into(), 1)
        }
    }

    fn image(status: &str, progress: &str) -> Value {
        json!({"ImageId": "m-uf6copy", "Status": status, "Progress": progress})
    }

    #[test]
    fn a_copy_succeeds_on_the_second_finished_answer_only() {
        let first = status_of(&task(0), &image("Available", "100%"), &None).expect("status");
        assert_eq!(
            (first.state, first.progress, first.task.confirmations),
            (TaskState::Running, Some(100), 1)
        );
        let second = status_of(&first.task, &image("Available", "100%"), &None).expect("status");
        assert_eq!(second.state, TaskState::Succeeded);
        assert_eq!(
            second.result,
            Some(TaskResult::Copy {
                images: vec![RegionImage {
                    region: "cn-shanghai".into(),
                    image_id: "m-uf6copy".into()
                }]
            })
        );
        let back = status_of(&task(1), &image("Creating", "40%"), &None).expect("status");
        assert_eq!(
            (back.state, back.progress, back.task.confirmations),
            (TaskState::Running, Some(40), 0)
        );
    }

    #[test]
    fn failed_and_unknown_image_states() {
        let failed = status_of(&task(0), &image("CreateFailed", "50%"), &None).expect("status");
        assert_eq!(failed.state, TaskState::Failed);
        assert_eq!(
            failed.reason.and_then(|r| r.code).as_deref(),
            Some("CreateFailed")
        );
        let error = status_of(&task(0), &image("Deprecated", "100%"), &Some("r-1".into()))
            .expect_err("unknown");
        assert_eq!(
            (error.kind, error.code.as_str(), error.request_id.as_deref()),
            (ErrorKind::Unsupported, "State.Unknown", Some("r-1"))
        );
        assert!(error.message.contains("Deprecated"), "{}", error.message);
    }

    #[test]
    fn only_alibaba_copies_with_a_destination_can_be_followed() {
        assert_eq!(target(&task(0)).ok(), Some(("cn-shanghai", "m-uf6copy")));
        let mut export = task(0);
        export.kind = TaskKind::Export;
        assert_eq!(
            target(&export).map_err(|e| e.code),
            Err(crate::error::TASK_REF_INVALID.into())
        );
        let mut unnamed = task(0);
        unnamed.destination_image_id = None;
        assert!(target(&unnamed).is_err());
    }
}
