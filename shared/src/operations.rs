//! The three operations every caller uses (the functions, the command line): start an export,
//! start a sync, check tasks. Requests are validated before anything is sent; the work is done
//! by each cloud's `api` module.

use std::collections::BTreeMap;

use crate::client::CloudClient;
use crate::error::{CloudError, ValidationError};
use crate::idempotence::{Attempt, StartItem};
use crate::model::{ExportRequest, StartFailure, StartOutcome, SyncRequest, TaskRef, TaskStatus};
use crate::select::{self, ListedImage, Selector};
use crate::signing::Timestamp;
use crate::{Cloud, alibaba, huawei, tencent, volcengine};

/// Why a start did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// The request breaks a documented rule: nothing was sent.
    #[error("invalid request: {0}")]
    Invalid(#[from] ValidationError),
    /// The cloud refused, or the outcome is unknown (`kind: unknown_outcome`).
    #[error("{0}")]
    Cloud(#[from] CloudError),
}

impl CloudClient {
    /// Validates `request`, then starts the export. Nothing is looked up first: use
    /// [`start_export_item`](Self::start_export_item) for a start that may run twice.
    pub async fn start_export(&self, request: &ExportRequest) -> Result<StartOutcome, StartError> {
        request.validate()?;
        let attempt = Attempt::fresh(Timestamp::now().unix_seconds());
        self.export_with(request, attempt).await
    }

    /// Validates `request`, then starts the export of `item` so that every attempt of the
    /// same item starts at most one export: an earlier attempt's export is found and adopted
    /// (see [`crate::idempotence`]).
    pub async fn start_export_item(
        &self,
        request: &ExportRequest,
        item: &StartItem,
    ) -> Result<StartOutcome, StartError> {
        request.validate()?;
        let request = with_item_token(request.clone(), item);
        self.export_with(&request, Attempt::of(item)).await
    }

    async fn export_with(
        &self,
        request: &ExportRequest,
        attempt: Attempt,
    ) -> Result<StartOutcome, StartError> {
        request.check_regions(self.endpoints())?;
        let started_at = attempt.since;
        let tasks = match request {
            ExportRequest::Tencent(r) if r.select.is_some() => {
                let mut tasks = Vec::new();
                for batch in self.resolve_tencent_export(r, attempt.since).await? {
                    tasks.extend(tencent::api::start_export(self, &batch, attempt).await?);
                }
                tasks
            }
            ExportRequest::Tencent(r) => tencent::api::start_export(self, r, attempt).await?,
            ExportRequest::Alibaba(r) if r.select.is_some() => {
                let mut tasks = Vec::new();
                for id in self
                    .chosen_ids(Cloud::Alibaba, &r.region, r.select.as_ref(), started_at)
                    .await?
                {
                    let one = alibaba::request::ExportImage {
                        client_token: r
                            .client_token
                            .as_deref()
                            .map(|t| alibaba::request::token_for_image(t, &id)),
                        image_id: id,
                        select: None,
                        ..r.clone()
                    };
                    one.validate()?;
                    tasks.extend(alibaba::api::start_export(self, &one, started_at).await?);
                }
                tasks
            }
            ExportRequest::Alibaba(r) => alibaba::api::start_export(self, r, started_at).await?,
            ExportRequest::Volcengine(r) if r.select.is_some() => {
                let mut tasks = Vec::new();
                let ids = self
                    .chosen_ids(Cloud::Volcengine, &r.region, r.select.as_ref(), started_at)
                    .await?;
                for id in ids {
                    let one = volcengine::request::ExportImage {
                        image_id: id,
                        select: None,
                        ..r.clone()
                    };
                    one.validate()?;
                    tasks.extend(volcengine::api::start_export(self, &one, attempt).await?);
                }
                tasks
            }
            ExportRequest::Volcengine(r) => volcengine::api::start_export(self, r, attempt).await?,
            ExportRequest::Huawei(r) => huawei::api::start_export(self, r, attempt).await?,
        };
        Ok(StartOutcome {
            tasks,
            failures: Vec::new(),
        })
    }

    /// Validates `request`, then starts one copy per destination region. Regions that fail
    /// are reported in `failures`; the call fails only when no region started.
    pub async fn start_sync(&self, request: &SyncRequest) -> Result<StartOutcome, StartError> {
        request.validate()?;
        let attempt = Attempt::fresh(Timestamp::now().unix_seconds());
        self.sync_with(request, attempt).await
    }

    /// Validates `request`, then starts the copies of `item` so that every attempt of the
    /// same item starts at most one copy per destination region (see
    /// [`crate::idempotence`]). A region that failed retryably fails the whole attempt with
    /// that error, so that the caller retries it: the retry adopts the regions that started.
    pub async fn start_sync_item(
        &self,
        request: &SyncRequest,
        item: &StartItem,
    ) -> Result<StartOutcome, StartError> {
        request.validate()?;
        let request = with_item_token_sync(request.clone(), item);
        let outcome = self.sync_with(&request, Attempt::of(item)).await?;
        match outcome.failures.iter().find(|f| f.error.retryable) {
            Some(retryable) => Err(StartError::Cloud(retryable.error.clone())),
            None => Ok(outcome),
        }
    }

    async fn sync_with(
        &self,
        request: &SyncRequest,
        attempt: Attempt,
    ) -> Result<StartOutcome, StartError> {
        request.check_regions(self.endpoints())?;
        let started_at = attempt.since;
        let (tasks, failures): (Vec<TaskRef>, Vec<StartFailure>) = match request {
            SyncRequest::Tencent(r) if r.select.is_some() => {
                let (mut tasks, mut failures) = (Vec::new(), Vec::new());
                for one in self.resolve_tencent_sync(r, attempt.since).await? {
                    let (started, failed) = tencent::api::start_sync(self, &one, attempt).await;
                    tasks.extend(started);
                    failures.extend(failed);
                }
                (tasks, failures)
            }
            SyncRequest::Tencent(r) => tencent::api::start_sync(self, r, attempt).await,
            SyncRequest::Alibaba(r) if r.select.is_some() => {
                let (mut tasks, mut failures) = (Vec::new(), Vec::new());
                for id in self
                    .chosen_ids(Cloud::Alibaba, &r.region, r.select.as_ref(), started_at)
                    .await?
                {
                    let one = alibaba::request::CopyImage {
                        client_token: r
                            .client_token
                            .as_deref()
                            .map(|t| alibaba::request::token_for_image(t, &id)),
                        image_id: id,
                        select: None,
                        ..r.clone()
                    };
                    one.validate()?;
                    let (started, failed) = alibaba::api::start_sync(self, &one, started_at).await;
                    tasks.extend(started);
                    failures.extend(failed);
                }
                (tasks, failures)
            }
            SyncRequest::Alibaba(r) => alibaba::api::start_sync(self, r, started_at).await,
            SyncRequest::Volcengine(r) => volcengine::api::start_sync(self, r, attempt).await,
            SyncRequest::Huawei(r) => huawei::api::start_sync(self, r, attempt).await,
        };
        match (tasks.is_empty(), failures.first()) {
            (true, Some(first)) => Err(StartError::Cloud(first.error.clone())),
            _ => Ok(StartOutcome { tasks, failures }),
        }
    }

    /// The images `selector` selects in `region` of `cloud`, as of `now` (the start item's
    /// window, the same on every attempt, so that a retry selects the same images), sorted
    /// deterministically, with the number of list calls it took. Too many matches is an
    /// invalid request naming the count.
    pub async fn select_images(
        &self,
        cloud: Cloud,
        region: &str,
        selector: &Selector,
        now: u64,
    ) -> Result<(Vec<ListedImage>, usize), StartError> {
        let (listed, calls) = match cloud {
            Cloud::Tencent => tencent::api::list::list(self, region, selector).await?,
            Cloud::Alibaba => alibaba::api::list::list(self, region, selector).await?,
            Cloud::Volcengine => volcengine::api::list::list(self, region, selector).await?,
            other => {
                return Err(StartError::Invalid(ValidationError::new(
                    "select",
                    format!("is not supported on {} yet", other.name()),
                )));
            }
        };
        Ok((select::choose(selector, listed, now)?, calls))
    }

    /// The ids of the images `selector` selects (see [`select_images`](Self::select_images)).
    async fn chosen_ids(
        &self,
        cloud: Cloud,
        region: &str,
        selector: Option<&Selector>,
        now: u64,
    ) -> Result<Vec<String>, StartError> {
        let Some(selector) = selector else {
            return Ok(Vec::new());
        };
        let (chosen, _) = self.select_images(cloud, region, selector, now).await?;
        Ok(chosen.into_iter().map(|image| image.id).collect())
    }

    /// A Tencent export with `select` as ExportImages calls of at most
    /// [`tencent::request::MAX_EXPORT_IMAGES`] images each, the selector's one prefix (if
    /// any) given to every image.
    async fn resolve_tencent_export(
        &self,
        request: &tencent::request::ExportImages,
        now: u64,
    ) -> Result<Vec<tencent::request::ExportImages>, StartError> {
        let Some(selector) = &request.select else {
            return Ok(vec![request.clone()]);
        };
        let (chosen, _) = self
            .select_images(Cloud::Tencent, &request.region, selector, now)
            .await?;
        let ids: Vec<String> = chosen.into_iter().map(|image| image.id).collect();
        let mut batches = Vec::new();
        for chunk in ids.chunks(tencent::request::MAX_EXPORT_IMAGES) {
            let batch = tencent::request::ExportImages {
                image_ids: chunk.to_vec(),
                select: None,
                file_name_prefixes: request
                    .file_name_prefixes
                    .first()
                    .map(|prefix| vec![prefix.clone(); chunk.len()])
                    .unwrap_or_default(),
                ..request.clone()
            };
            batch.validate()?;
            batches.push(batch);
        }
        Ok(batches)
    }

    /// A Tencent copy with `select` as one SyncImages request per selected image.
    async fn resolve_tencent_sync(
        &self,
        request: &tencent::request::SyncImages,
        now: u64,
    ) -> Result<Vec<tencent::request::SyncImages>, StartError> {
        let Some(selector) = &request.select else {
            return Ok(vec![request.clone()]);
        };
        let (chosen, _) = self
            .select_images(Cloud::Tencent, &request.region, selector, now)
            .await?;
        chosen
            .into_iter()
            .map(|image| {
                let one = tencent::request::SyncImages {
                    image_id: image.id,
                    select: None,
                    ..request.clone()
                };
                one.validate()?;
                Ok(one)
            })
            .collect()
    }

    /// The statuses of one cloud's tasks (its module batches them); none asked for none.
    async fn status_of_cloud(
        &self,
        cloud: Cloud,
        tasks: &[TaskRef],
    ) -> Vec<Result<TaskStatus, CloudError>> {
        if tasks.is_empty() {
            return Vec::new();
        }
        match cloud {
            Cloud::Tencent => tencent::api::status(self, tasks).await,
            Cloud::Alibaba => alibaba::api::status(self, tasks).await,
            Cloud::Volcengine => volcengine::api::status(self, tasks).await,
            Cloud::Huawei => huawei::api::status(self, tasks).await,
        }
    }

    /// The status of each task, in the order given: tasks are grouped per cloud so that each
    /// cloud batches its calls, and the clouds are asked at the same time (a slow or
    /// unreachable cloud costs its own time, not the others'). A reference that breaks a rule
    /// ([`TaskRef::validate`]) is answered with an invalid-request error naming the field, and
    /// nothing is sent for it.
    pub async fn status(&self, tasks: &[TaskRef]) -> Vec<Result<TaskStatus, CloudError>> {
        let mut by_cloud: BTreeMap<Cloud, Vec<usize>> = BTreeMap::new();
        let mut results: Vec<Option<Result<TaskStatus, CloudError>>> = vec![None; tasks.len()];
        for (index, task) in tasks.iter().enumerate() {
            match task.validate(self.endpoints()) {
                Ok(()) => by_cloud.entry(task.cloud).or_default().push(index),
                Err(invalid) => {
                    results[index] = Some(Err(CloudError::new(
                        task.cloud,
                        crate::error::ErrorKind::InvalidRequest,
                        "Request.Invalid",
                        invalid.to_string(),
                    )));
                }
            }
        }
        let group = |cloud: Cloud| -> (Vec<usize>, Vec<TaskRef>) {
            let indexes = by_cloud.get(&cloud).cloned().unwrap_or_default();
            let refs = indexes.iter().map(|i| tasks[*i].clone()).collect();
            (indexes, refs)
        };
        let groups = [
            group(Cloud::Tencent),
            group(Cloud::Alibaba),
            group(Cloud::Volcengine),
            group(Cloud::Huawei),
        ];
        let [tencent, alibaba, volcengine, huawei] = &groups;
        let answers = tokio::join!(
            self.status_of_cloud(Cloud::Tencent, &tencent.1),
            self.status_of_cloud(Cloud::Alibaba, &alibaba.1),
            self.status_of_cloud(Cloud::Volcengine, &volcengine.1),
            self.status_of_cloud(Cloud::Huawei, &huawei.1),
        );
        let answers = [answers.0, answers.1, answers.2, answers.3];
        for ((indexes, _), statuses) in groups.into_iter().zip(answers) {
            for (index, status) in indexes.into_iter().zip(statuses) {
                results[index] = Some(status);
            }
        }
        results
            .into_iter()
            .zip(tasks)
            .map(|(result, task)| {
                result.unwrap_or_else(|| {
                    Err(CloudError::new(
                        task.cloud,
                        crate::error::ErrorKind::Transient,
                        "Status.Missing",
                        "the cloud module returned no status for this task",
                    ))
                })
            })
            .collect()
    }
}

/// An Alibaba start without a client token gets the item's: ECS then answers every attempt
/// with the same task. A token the user gave is kept.
fn with_item_token(mut request: ExportRequest, item: &StartItem) -> ExportRequest {
    if let ExportRequest::Alibaba(r) = &mut request {
        r.client_token.get_or_insert_with(|| item.client_token());
    }
    request
}

fn with_item_token_sync(mut request: SyncRequest, item: &StartItem) -> SyncRequest {
    if let SyncRequest::Alibaba(r) = &mut request {
        r.client_token.get_or_insert_with(|| item.client_token());
    }
    request
}
