//! `skip_existing` (issue 14, item 4): a rerun reports what is already done as `skipped`
//! instead of doing it again, so a nightly job that selects the same images every night
//! exports and copies only the new ones.
//!
//! Decided at start, after the request is resolved and its names rendered
//! ([`crate::operations::Plan`]), per image and destination:
//! - **export**: every object the export would write already exists, written at or after the
//!   image's creation (an older file of that name is another image's). The objects are known
//!   up front on Tencent (named after the image's snapshots: `DescribeImages`), Volcengine
//!   (`<prefix>_<image>_system.qcow2`) and Huawei (`object_key`). Alibaba names its objects
//!   after the export task, which a rerun cannot know: `skip_existing` on an Alibaba export
//!   is refused by name.
//! - **copy**: the destination region holds a ready custom image with the copy's name,
//!   created at or after the source image. The name is the mark the project sets on every
//!   copy it makes: with `skip_existing` a copy's `image_name` must carry `{image_id}` (so the
//!   name says which image it is a copy of) and must not carry `{date}` or `{time}` (a name
//!   that changes every run would never be found again).
//!
//! A skipped task is a [`TaskRef`] with `skipped: true` and what already exists (the objects,
//! or the destination image). Its status is read without any cloud task: an export's objects
//! by a `HEAD` (their sizes), a copy's image as found. Skipped is success in the job's state,
//! its summary and its counts (`tasks_skipped` counts them apart).

use std::collections::{HashMap, HashSet};

use crate::Cloud;
use crate::client::CloudClient;
use crate::error::{CloudError, ErrorKind};
use crate::model::{
    CopyRequest, ExportRequest, ExportedObject, ObjectRef, RegionImage, TaskKind, TaskRef,
    TaskResult, TaskState, TaskStatus,
};
use crate::operation::Exported;
use crate::select::{self, ListedImage, Selector};

/// The creation times of `ids` in `region` (an image the cloud does not list is left out).
pub async fn creation_times(
    client: &CloudClient,
    cloud: Cloud,
    region: &str,
    ids: impl IntoIterator<Item = &str>,
) -> Result<HashMap<String, u64>, CloudError> {
    let provider = crate::provider::of(cloud);
    let mut times = HashMap::new();
    for id in ids {
        if let Some(image) = provider.describe(client, region, id).await? {
            times.insert(image.id, image.created_at);
        }
    }
    Ok(times)
}

fn skipped_export(
    cloud: Cloud,
    region: &str,
    image_id: &str,
    objects: Vec<ObjectRef>,
    since: u64,
) -> TaskRef {
    TaskRef {
        cloud,
        region: region.to_owned(),
        kind: TaskKind::Export,
        image_id: image_id.to_owned(),
        task_id: None,
        destination_region: None,
        destination_image_id: None,
        objects,
        started_at: since,
        confirmations: 0,
        skipped: true,
    }
}

/// Whether every one of `objects` exists, written at or after `created`.
async fn all_exist(
    client: &CloudClient,
    cloud: Cloud,
    region: &str,
    objects: &[ObjectRef],
    created: u64,
) -> Result<bool, CloudError> {
    for object in objects {
        if client
            .head_object(cloud, region, object, Some(created))
            .await?
            .is_none()
        {
            return Ok(false);
        }
    }
    Ok(!objects.is_empty())
}

/// For a cloud whose export of one image writes `objects` known up front: the image, with
/// them, when every one exists, written at or after the image's creation in `created`.
pub async fn exported_since_created(
    client: &CloudClient,
    cloud: Cloud,
    region: &str,
    image_id: &str,
    objects: Vec<ObjectRef>,
    created: &HashMap<String, u64>,
) -> Result<Exported, CloudError> {
    match created.get(image_id) {
        Some(at) if all_exist(client, cloud, region, &objects, *at).await? => {
            Ok(vec![(image_id.to_owned(), objects)])
        }
        _ => Ok(Vec::new()),
    }
}

/// Splits an export's concrete requests into what still has to start and what is skipped.
/// A cloud that names its objects after the task (Alibaba) finds nothing done; its
/// `skip_existing` is refused by validation.
pub async fn exports(
    client: &CloudClient,
    requests: Vec<ExportRequest>,
    created: &HashMap<String, u64>,
    since: u64,
) -> Result<(Vec<ExportRequest>, Vec<TaskRef>), CloudError> {
    let (mut start, mut skipped) = (Vec::new(), Vec::new());
    for request in requests {
        let operation = request.operation();
        let done = operation.already_exported(client, created).await?;
        if done.is_empty() {
            start.push(request);
            continue;
        }
        let ids: HashSet<String> = done.iter().map(|(id, _)| id.clone()).collect();
        for (id, objects) in done {
            skipped.push(skipped_export(
                operation.cloud(),
                operation.region(),
                &id,
                objects,
                since,
            ));
        }
        start.extend(operation.without_images(&ids));
    }
    Ok((start, skipped))
}

/// The copy of `source` already in `destination`: a ready custom image named `name`, created
/// at or after the source (the newest when several).
async fn existing_copy(
    client: &CloudClient,
    cloud: Cloud,
    destination: &str,
    name: &str,
    source_created: u64,
    since: u64,
) -> Result<Option<ListedImage>, CloudError> {
    let selector = Selector {
        name: Some(name.to_owned()),
        tags: Default::default(),
        newest_per_name: None,
        created_within_days: None,
        exclude_ids: Vec::new(),
        max_images: select::MAX_IMAGES,
    };
    let (listed, _) = crate::provider::of(cloud)
        .list(client, destination, &selector, since)
        .await?;
    Ok(listed
        .into_iter()
        .filter(|image| image.private && image.ready && image.name == name)
        .filter(|image| image.created_at >= source_created)
        .max_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id))))
}

/// Splits a copy's concrete requests (one image each) into what still has to start (the
/// destinations without a copy) and what is skipped (one task per destination that has one).
pub async fn copies(
    client: &CloudClient,
    requests: Vec<CopyRequest>,
    created: &HashMap<String, u64>,
    since: u64,
) -> Result<(Vec<CopyRequest>, Vec<TaskRef>), CloudError> {
    let (mut start, mut skipped) = (Vec::new(), Vec::new());
    for request in &requests {
        let operation = request.operation();
        let cloud = operation.cloud();
        let (region, image_id, destinations) = (
            operation.region(),
            operation.image_id(),
            operation.destination_regions(),
        );
        let name = operation.image_name().map(str::to_owned);
        let (Some(name), Some(source_created)) = (name, created.get(image_id).copied()) else {
            start.push(request.clone());
            continue;
        };
        let mut remaining = Vec::new();
        for destination in destinations {
            match existing_copy(client, cloud, destination, &name, source_created, since).await? {
                Some(copy) => skipped.push(TaskRef {
                    cloud,
                    region: region.to_owned(),
                    kind: TaskKind::Copy,
                    image_id: image_id.to_owned(),
                    task_id: None,
                    destination_region: Some(destination.clone()),
                    destination_image_id: Some(copy.id),
                    objects: Vec::new(),
                    started_at: since,
                    confirmations: 0,
                    skipped: true,
                }),
                None => remaining.push(destination.clone()),
            }
        }
        if remaining.is_empty() {
            continue;
        }
        start.push(operation.to_destinations(remaining));
    }
    Ok((start, skipped))
}

/// The status of a skipped task, without any cloud task: an export's objects by a `HEAD`
/// (their sizes; one gone since is a failure naming it), a copy's destination image as found.
pub async fn status(client: &CloudClient, task: &TaskRef) -> Result<TaskStatus, CloudError> {
    let done = |result: TaskResult| TaskStatus {
        task: task.clone(),
        state: TaskState::Succeeded,
        progress: Some(100),
        cloud_state: "skipped".into(),
        reason: None,
        result: Some(result),
    };
    match task.kind {
        TaskKind::Export => {
            let mut objects = Vec::new();
            for object in &task.objects {
                match client
                    .head_object(task.cloud, &task.region, object, None)
                    .await?
                {
                    Some(size) => objects.push(ExportedObject {
                        bucket: object.bucket.clone(),
                        key: object.key.clone(),
                        size,
                    }),
                    None => {
                        return Err(CloudError::new(
                            task.cloud,
                            ErrorKind::NotFound,
                            "Skipped.ObjectGone",
                            format!(
                                "the object {}/{} a skipped export found is gone",
                                object.bucket, object.key
                            ),
                        ));
                    }
                }
            }
            Ok(done(TaskResult::Export { objects }))
        }
        TaskKind::Copy => Ok(done(TaskResult::Copy {
            images: vec![RegionImage {
                region: task.destination_region.clone().unwrap_or_default(),
                image_id: task.destination_image_id.clone().unwrap_or_default(),
            }],
        })),
    }
}
