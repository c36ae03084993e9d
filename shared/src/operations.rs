//! The three operations every caller uses (the functions, the command line): start an export,
//! start a sync, check tasks. Requests are validated before anything is sent; the work is done
//! by each cloud's `api` module.

use std::collections::{BTreeMap, VecDeque};

use crate::client::CloudClient;
use crate::error::{CloudError, ValidationError};
use crate::error_name::ErrorName;
use crate::idempotence::{Attempt, StartItem};
use crate::model::{
    CopyRequest, ExportRequest, QueuedRequest, QueuedStart, StartFailure, StartOutcome, TaskRef,
    TaskStatus,
};
use crate::names::NameValues;
use crate::select::{self, ListedImage, Selector};
use crate::signing::Timestamp;
use futures_util::future::join_all;

use crate::Cloud;
use crate::operation::PlannedImage;

/// What a request resolves to before anything is sent (see [`CloudClient::plan_export`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Plan<R> {
    /// One concrete request per call: image ids set, names rendered, each checked.
    pub requests: Vec<R>,
    /// With `select`, the images it matched (sorted by name, creation time and id).
    pub matched: Option<Vec<ListedImage>>,
    /// The list calls the selection took (0 without `select`).
    pub list_calls: usize,
}

impl<R> Plan<R> {
    /// The matched images as the job reports them.
    pub fn selected(&self) -> Option<Vec<crate::select::SelectedImage>> {
        self.matched
            .as_ref()
            .map(|images| images.iter().map(Into::into).collect())
    }
}

/// The image ids of one concrete request.
pub trait PlanRequest {
    fn image_ids(&self) -> Vec<String>;
}

impl PlanRequest for ExportRequest {
    fn image_ids(&self) -> Vec<String> {
        ExportRequest::image_ids(self)
    }
}

impl PlanRequest for CopyRequest {
    fn image_ids(&self) -> Vec<String> {
        vec![self.image_id().to_owned()]
    }
}

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
        self.export_with(request, attempt, None).await
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
        self.export_with(&request, Attempt::of(item), Some(item))
            .await
    }

    async fn export_with(
        &self,
        request: &ExportRequest,
        attempt: Attempt,
        item: Option<&StartItem>,
    ) -> Result<StartOutcome, StartError> {
        request.check_regions(self.endpoints())?;
        let job_id = item.map(|item| item.job_id.as_str());
        // Every image resolved, every name rendered and checked, before anything is sent.
        let plan = self.plan_export(request, attempt.since, job_id).await?;
        let started_at = attempt.since;
        let selected = plan.selected();
        let (requests, mut tasks) = if request.skip_existing() {
            let created = self
                .creation_times(request.cloud(), request.region(), &plan)
                .await?;
            crate::skip::exports(self, plan.requests, &created, started_at).await?
        } else {
            (plan.requests, Vec::new())
        };
        let mut pending: VecDeque<ExportRequest> = requests.into();
        let mut queued = Vec::new();
        let mut failures = Vec::new();
        // Whether this attempt has started, queued or given up on any of the item's exports:
        // from then on an error of one export is kept for it alone, never the whole item's
        // (failing the item would leave the started exports to a retry whose lookup, for a
        // Tencent call split below, cannot tell them from the rest).
        let mut progressed = false;
        // Once the cloud's limit is full, the rest of the item waits in order without asking.
        let mut full: Option<CloudError> = None;
        while let Some(one) = pending.pop_front() {
            let Some(item) = item else {
                tasks.extend(self.export_one(&one, attempt).await?);
                continue;
            };
            if let Some(error) = &full {
                // One image per queued start, so that each starts as soon as one slot frees.
                queued.extend(
                    one.one_per_image()
                        .into_iter()
                        .map(|single| queue_export(item, single, error)),
                );
                continue;
            }
            let error = match self.export_one(&one, attempt).await {
                Ok(started) => {
                    tasks.extend(started);
                    progressed = true;
                    continue;
                }
                Err(error) => error,
            };
            if error.is_concurrency_limit() {
                let singles = one.one_per_image();
                if singles.len() > 1 {
                    // A call of several images is refused whole: as many as fit start.
                    for single in singles.into_iter().rev() {
                        pending.push_front(single);
                    }
                    continue;
                }
                queued.push(queue_export(item, one, &error));
                full = Some(error);
                progressed = true;
            } else if keeps_its_place(&error) {
                if !progressed {
                    // Nothing of the item has started yet: the state machine retries the item
                    // (each attempt looks first), as before.
                    return Err(error.into());
                }
                // Tried again by the job's checks, looking first, one image at a time.
                queued.extend(
                    one.one_per_image()
                        .into_iter()
                        .map(|single| queue_export(item, single, &error)),
                );
            } else if !progressed && pending.is_empty() {
                // The item's one export: its refusal is the item's, reported as before.
                return Err(error.into());
            } else {
                // Refused for good: this image alone; the item's others go on.
                failures.extend(one.image_ids().into_iter().map(|image_id| StartFailure {
                    destination_region: None,
                    error: CloudError {
                        message: format!("{image_id}: {}", error.message),
                        ..error.clone()
                    },
                }));
                progressed = true;
            }
        }
        Ok(StartOutcome {
            tasks,
            selected,
            failures,
            queued,
        })
    }

    /// Starts one concrete export (images resolved, names rendered).
    async fn export_one(
        &self,
        one: &ExportRequest,
        attempt: Attempt,
    ) -> Result<Vec<TaskRef>, CloudError> {
        one.operation().start(self, attempt).await
    }

    /// Starts one concrete copy: the tasks of the destinations that started, and the
    /// destinations that did not.
    async fn copy_one(
        &self,
        one: &CopyRequest,
        attempt: Attempt,
    ) -> (Vec<TaskRef>, Vec<StartFailure>) {
        one.operation().start(self, attempt).await
    }

    /// Starts a start that waited behind a concurrency limit, as its item would have: it looks
    /// for an earlier attempt's task first (the item's window) and adopts it. A copy's
    /// destinations that meet the limit again come back in `queued`; an export that meets it
    /// is the error. Never selects, renders or skips again: that was done when it was queued.
    pub async fn start_queued(&self, queued: &QueuedStart) -> Result<StartOutcome, StartError> {
        queued.request.validate(self.endpoints())?;
        let attempt = Attempt {
            since: queued.since,
            look_first: true,
        };
        match &queued.request {
            QueuedRequest::Export(one) => Ok(StartOutcome {
                tasks: self.export_one(one, attempt).await?,
                selected: None,
                failures: Vec::new(),
                queued: Vec::new(),
            }),
            QueuedRequest::Copy(one) => {
                let (tasks, failed) = self.copy_one(one, attempt).await;
                let (failures, again) =
                    queue_copies(Some((queued.item, queued.since)), one, failed);
                match (tasks.is_empty() && again.is_empty(), failures.first()) {
                    (true, Some(first)) => Err(StartError::Cloud(first.error.clone())),
                    _ => Ok(StartOutcome {
                        tasks,
                        selected: None,
                        failures,
                        queued: again,
                    }),
                }
            }
        }
    }

    /// Validates `request`, then starts one copy per destination region. Regions that fail
    /// are reported in `failures`; the call fails only when no region started.
    pub async fn start_copy(&self, request: &CopyRequest) -> Result<StartOutcome, StartError> {
        request.validate()?;
        let attempt = Attempt::fresh(Timestamp::now().unix_seconds());
        self.copy_with(request, attempt, None).await
    }

    /// Validates `request`, then starts the copies of `item` so that every attempt of the
    /// same item starts at most one copy per destination region (see
    /// [`crate::idempotence`]). A region that failed retryably fails the whole attempt with
    /// that error, so that the caller retries it: the retry adopts the regions that started.
    pub async fn start_copy_item(
        &self,
        request: &CopyRequest,
        item: &StartItem,
    ) -> Result<StartOutcome, StartError> {
        request.validate()?;
        let request = with_item_token_copy(request.clone(), item);
        let outcome = self
            .copy_with(&request, Attempt::of(item), Some(item))
            .await?;
        match outcome.failures.iter().find(|f| f.error.retryable) {
            Some(retryable) => Err(StartError::Cloud(retryable.error.clone())),
            None => Ok(outcome),
        }
    }

    async fn copy_with(
        &self,
        request: &CopyRequest,
        attempt: Attempt,
        item: Option<&StartItem>,
    ) -> Result<StartOutcome, StartError> {
        request.check_regions(self.endpoints())?;
        let job_id = item.map(|item| item.job_id.as_str());
        // Every image resolved, every name rendered and checked, before anything is sent.
        let plan = self.plan_copy(request, attempt.since, job_id).await?;
        let started_at = attempt.since;
        let selected = plan.selected();
        let (requests, mut tasks) = if request.skip_existing() {
            let created = self
                .creation_times(request.cloud(), request.region(), &plan)
                .await?;
            crate::skip::copies(self, plan.requests, &created, started_at).await?
        } else {
            (plan.requests, Vec::new())
        };
        let mut failures: Vec<StartFailure> = Vec::new();
        let mut queued = Vec::new();
        for one in &requests {
            let (started, failed) = self.copy_one(one, attempt).await;
            tasks.extend(started);
            let (failed, waiting) = queue_copies(item.map(place_of), one, failed);
            failures.extend(failed);
            queued.extend(waiting);
        }
        match (tasks.is_empty() && queued.is_empty(), failures.first()) {
            (true, Some(first)) => Err(StartError::Cloud(first.error.clone())),
            _ => Ok(StartOutcome {
                tasks,
                selected,
                failures,
                queued,
            }),
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
        let (listed, calls) = crate::provider::of(cloud)
            .list(self, region, selector, now)
            .await?;
        Ok((select::choose(selector, listed, now)?, calls))
    }

    /// The creation time of every image a plan acts on: from the selection, or (image ids)
    /// from the cloud's listing of each.
    pub async fn creation_times<R: PlanRequest>(
        &self,
        cloud: Cloud,
        region: &str,
        plan: &Plan<R>,
    ) -> Result<std::collections::HashMap<String, u64>, StartError> {
        if let Some(matched) = &plan.matched {
            return Ok(matched
                .iter()
                .map(|i| (i.id.clone(), i.created_at))
                .collect());
        }
        let ids: Vec<String> = plan.requests.iter().flat_map(R::image_ids).collect();
        Ok(
            crate::skip::creation_times(self, cloud, region, ids.iter().map(String::as_str))
                .await?,
        )
    }

    /// The images a request's selector matches at `since` (none without `select`), with the
    /// list calls it took.
    async fn matched(
        &self,
        cloud: Cloud,
        region: &str,
        selector: Option<&Selector>,
        since: u64,
    ) -> Result<(Option<Vec<ListedImage>>, usize), StartError> {
        match selector {
            None => Ok((None, 0)),
            Some(selector) => {
                let (chosen, calls) = self.select_images(cloud, region, selector, since).await?;
                Ok((Some(chosen), calls))
            }
        }
    }

    /// What an export would start, without starting anything: the selector resolved (as of
    /// `since`, the execution's start) and one concrete request per call, every name rendered
    /// for its image (`{date}`/`{time}` from `since`, `{job_id}` from `job_id`) and checked.
    /// A Tencent export with `select` is one ExportImages per
    /// [`crate::tencent::request::MAX_EXPORT_IMAGES`] images; an Alibaba export with `select` gives
    /// each image its own ClientToken, derived from the request's.
    pub async fn plan_export(
        &self,
        request: &ExportRequest,
        since: u64,
        job_id: Option<&str>,
    ) -> Result<Plan<ExportRequest>, StartError> {
        request.check_regions(self.endpoints())?;
        let operation = request.operation();
        let (cloud, region, selector) = (operation.cloud(), operation.region(), operation.select());
        let (matched, list_calls) = self.matched(cloud, region, selector, since).await?;
        // (id, name) of every image the request acts on.
        let images: Vec<PlannedImage> = match &matched {
            Some(chosen) => chosen
                .iter()
                .map(|i| (i.id.clone(), Some(i.name.clone())))
                .collect(),
            None => operation
                .image_ids()
                .into_iter()
                .map(|id| (id, None))
                .collect(),
        };
        let requests = operation.plan(&images, matched.is_some(), since, job_id)?;
        Ok(Plan {
            requests,
            matched,
            list_calls,
        })
    }

    /// What a copy would start, without starting anything (see
    /// [`plan_export`](Self::plan_export)): one request per image.
    pub async fn plan_copy(
        &self,
        request: &CopyRequest,
        since: u64,
        job_id: Option<&str>,
    ) -> Result<Plan<CopyRequest>, StartError> {
        request.check_regions(self.endpoints())?;
        let operation = request.operation();
        let (cloud, region, selector) = (operation.cloud(), operation.region(), operation.select());
        let (matched, list_calls) = self.matched(cloud, region, selector, since).await?;
        let images: Vec<PlannedImage> = match &matched {
            Some(chosen) => chosen
                .iter()
                .map(|i| (i.id.clone(), Some(i.name.clone())))
                .collect(),
            None => vec![(operation.image_id().to_owned(), None)],
        };
        let requests = images
            .iter()
            .map(|image| {
                operation.for_image(&NameValues::of(image, since, job_id), matched.is_some())
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Plan {
            requests,
            matched,
            list_calls,
        })
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
        crate::provider::of(cloud).status(self, tasks).await
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
                // Nothing was started: what was found is read again, without the cloud's task.
                Ok(()) if task.skipped => {
                    results[index] = Some(crate::skip::status(self, task).await);
                }
                Ok(()) => by_cloud.entry(task.cloud).or_default().push(index),
                Err(invalid) => {
                    results[index] = Some(Err(CloudError::new(
                        task.cloud,
                        crate::error::ErrorKind::InvalidRequest,
                        ErrorName::RequestInvalid.as_str(),
                        invalid.to_string(),
                    )));
                }
            }
        }
        let groups: Vec<(Cloud, Vec<usize>, Vec<TaskRef>)> = by_cloud
            .into_iter()
            .map(|(cloud, indexes)| {
                let refs = indexes.iter().map(|i| tasks[*i].clone()).collect();
                (cloud, indexes, refs)
            })
            .collect();
        let answers = join_all(
            groups
                .iter()
                .map(|(cloud, _, refs)| self.status_of_cloud(*cloud, refs)),
        )
        .await;
        for ((_, indexes, _), statuses) in groups.into_iter().zip(answers) {
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
/// Whether a start refused with `error` may be tried again later by the job's checks: the
/// cloud's limit, throttling, a failure a retry may cure, or a conflict (the image busy,
/// possibly with this very start after a lost answer: the next try looks first).
pub fn keeps_its_place(error: &CloudError) -> bool {
    error.is_concurrency_limit()
        || error.retryable
        || matches!(
            error.kind,
            crate::error::ErrorKind::Conflict | crate::error::ErrorKind::UnknownOutcome
        )
}

/// Where a queued start of `item` belongs: the item's index in the job and its window.
fn place_of(item: &StartItem) -> (usize, u64) {
    (
        usize::try_from(item.index).unwrap_or(usize::MAX),
        item.since,
    )
}

/// A start that waits for room under the cloud's concurrency limit.
fn queued_start(
    (item, since): (usize, u64),
    request: QueuedRequest,
    error: CloudError,
) -> QueuedStart {
    QueuedStart {
        item,
        since,
        request,
        error,
        attempts: 0,
    }
}

/// An export of `item` that waits for room under the cloud's concurrency limit.
fn queue_export(item: &StartItem, one: ExportRequest, error: &CloudError) -> QueuedStart {
    queued_start(place_of(item), QueuedRequest::Export(one), error.clone())
}

/// Splits a copy's failed destinations: those refused by the cloud's concurrency limit wait
/// for room (with a start item), the others stay failures.
fn queue_copies(
    place: Option<(usize, u64)>,
    one: &CopyRequest,
    failed: Vec<StartFailure>,
) -> (Vec<StartFailure>, Vec<QueuedStart>) {
    let Some(place) = place else {
        return (failed, Vec::new());
    };
    let mut failures = Vec::new();
    let mut queued = Vec::new();
    for failure in failed {
        match &failure.destination_region {
            Some(destination) if failure.error.is_concurrency_limit() => {
                let request = QueuedRequest::Copy(one.to_destination(destination));
                queued.push(queued_start(place, request, failure.error));
            }
            _ => failures.push(failure),
        }
    }
    (failures, queued)
}

fn with_item_token(mut request: ExportRequest, item: &StartItem) -> ExportRequest {
    request.operation_mut().set_item_token(item.client_token());
    request
}

fn with_item_token_copy(mut request: CopyRequest, item: &StartItem) -> CopyRequest {
    request.operation_mut().set_item_token(item.client_token());
    request
}
