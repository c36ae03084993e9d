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

use std::collections::HashMap;

use crate::Cloud;
use crate::client::CloudClient;
use crate::error::{CloudError, ErrorKind};
use crate::model::{
    ExportRequest, ExportedObject, ObjectRef, RegionImage, SyncRequest, TaskKind, TaskRef,
    TaskResult, TaskState, TaskStatus,
};
use crate::select::{self, ListedImage, Selector};
use crate::{huawei, tencent};

/// The creation times of `ids` in `region` (an image the cloud does not list is left out).
pub async fn creation_times(
    client: &CloudClient,
    cloud: Cloud,
    region: &str,
    ids: impl IntoIterator<Item = &str>,
) -> Result<HashMap<String, u64>, CloudError> {
    let mut times = HashMap::new();
    for id in ids {
        let found = match cloud {
            Cloud::Tencent => tencent::api::list::describe(client, region, id).await?,
            Cloud::Alibaba => crate::alibaba::api::list::describe(client, region, id).await?,
            Cloud::Volcengine => crate::volcengine::api::list::describe(client, region, id).await?,
            Cloud::Huawei => huawei::api::list::describe(client, region, id).await?,
        };
        if let Some(image) = found {
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

/// Splits an export's concrete requests into what still has to start and what is skipped.
pub async fn exports(
    client: &CloudClient,
    requests: Vec<ExportRequest>,
    created: &HashMap<String, u64>,
    since: u64,
) -> Result<(Vec<ExportRequest>, Vec<TaskRef>), CloudError> {
    let (mut start, mut skipped) = (Vec::new(), Vec::new());
    for request in requests {
        match request {
            ExportRequest::Tencent(r) => {
                let done = tencent::api::done_earlier(client, &r).await?;
                for (id, objects) in &done {
                    skipped.push(skipped_export(
                        Cloud::Tencent,
                        &r.region,
                        id,
                        objects.clone(),
                        since,
                    ));
                }
                let keep: Vec<usize> = (0..r.image_ids.len())
                    .filter(|i| !done.contains_key(&r.image_ids[*i]))
                    .collect();
                if keep.is_empty() {
                    continue;
                }
                let rest = tencent::request::ExportImages {
                    image_ids: keep.iter().map(|i| r.image_ids[*i].clone()).collect(),
                    file_name_prefixes: keep
                        .iter()
                        .filter_map(|i| r.file_name_prefixes.get(*i).cloned())
                        .collect(),
                    ..r
                };
                start.push(ExportRequest::Tencent(rest));
            }
            ExportRequest::Volcengine(r) => {
                let object = ObjectRef {
                    bucket: r.bucket.clone(),
                    key: r.object_key(),
                };
                match created.get(&r.image_id) {
                    Some(at)
                        if all_exist(
                            client,
                            Cloud::Volcengine,
                            &r.region,
                            std::slice::from_ref(&object),
                            *at,
                        )
                        .await? =>
                    {
                        skipped.push(skipped_export(
                            Cloud::Volcengine,
                            &r.region,
                            &r.image_id,
                            vec![object],
                            since,
                        ));
                    }
                    _ => start.push(ExportRequest::Volcengine(r)),
                }
            }
            ExportRequest::Huawei(r) => {
                let object = ObjectRef {
                    bucket: r.bucket.clone(),
                    key: r.object_key.clone(),
                };
                match created.get(&r.image_id) {
                    Some(at)
                        if all_exist(
                            client,
                            Cloud::Huawei,
                            &r.region,
                            std::slice::from_ref(&object),
                            *at,
                        )
                        .await? =>
                    {
                        skipped.push(skipped_export(
                            Cloud::Huawei,
                            &r.region,
                            &r.image_id,
                            vec![object],
                            since,
                        ));
                    }
                    _ => start.push(ExportRequest::Huawei(r)),
                }
            }
            // Refused by validation (objects named after the task); never skipped.
            ExportRequest::Alibaba(r) => start.push(ExportRequest::Alibaba(r)),
        }
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
    let (listed, _) = match cloud {
        Cloud::Tencent => tencent::api::list::list(client, destination, &selector).await?,
        Cloud::Alibaba => crate::alibaba::api::list::list(client, destination, &selector).await?,
        Cloud::Volcengine => {
            crate::volcengine::api::list::list(client, destination, &selector).await?
        }
        Cloud::Huawei => huawei::api::list::list(client, destination, &selector, since).await?,
    };
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
    requests: Vec<SyncRequest>,
    created: &HashMap<String, u64>,
    since: u64,
) -> Result<(Vec<SyncRequest>, Vec<TaskRef>), CloudError> {
    let (mut start, mut skipped) = (Vec::new(), Vec::new());
    for mut request in requests {
        let cloud = request.cloud();
        let (region, image_id, name, destinations) = match &request {
            SyncRequest::Tencent(r) => (
                &r.region,
                &r.image_id,
                r.image_name.clone(),
                &r.destination_regions,
            ),
            SyncRequest::Alibaba(r) => (
                &r.region,
                &r.image_id,
                r.image_name.clone(),
                &r.destination_regions,
            ),
            SyncRequest::Volcengine(r) => (
                &r.region,
                &r.image_id,
                Some(r.image_name.clone()),
                &r.destination_regions,
            ),
            SyncRequest::Huawei(r) => (
                &r.region,
                &r.image_id,
                Some(r.image_name.clone()),
                &r.destination_regions,
            ),
        };
        let (Some(name), Some(source_created)) = (name, created.get(image_id).copied()) else {
            start.push(request);
            continue;
        };
        let mut remaining = Vec::new();
        for destination in destinations {
            match existing_copy(client, cloud, destination, &name, source_created, since).await? {
                Some(copy) => skipped.push(TaskRef {
                    cloud,
                    region: region.clone(),
                    kind: TaskKind::Sync,
                    image_id: image_id.clone(),
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
        match &mut request {
            SyncRequest::Tencent(r) => r.destination_regions = remaining,
            SyncRequest::Alibaba(r) => r.destination_regions = remaining,
            SyncRequest::Volcengine(r) => r.destination_regions = remaining,
            SyncRequest::Huawei(r) => r.destination_regions = remaining,
        }
        start.push(request);
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
        TaskKind::Sync => Ok(done(TaskResult::Sync {
            images: vec![RegionImage {
                region: task.destination_region.clone().unwrap_or_default(),
                image_id: task.destination_image_id.clone().unwrap_or_default(),
            }],
        })),
    }
}
