//! What a cloud's own export and copy requests do, so that the shared code (the model, the
//! operations, `skip_existing`, the job) never matches on the cloud: each cloud's request
//! types implement [`ExportOperation`] and [`CopyOperation`] in `<cloud>/operation.rs`, and
//! [`crate::model::ExportRequest`] / [`crate::model::CopyRequest`] (the tagged documents that
//! travel through Step Functions) hand out their variant as one of these.
//!
//! The traits stay dyn-compatible: their asynchronous calls return a [`BoxFuture`].

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;

use crate::Cloud;
use crate::client::CloudClient;
use crate::endpoints::Endpoints;
use crate::error::{CloudError, ValidationError};
use crate::idempotence::Attempt;
use crate::model::{CopyRequest, ExportRequest, ObjectRef, StartFailure, TaskRef, TaskStatus};
use crate::names::NameValues;
use crate::select::{ListedImage, Selector};
use crate::validate;

/// A future a trait object can return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An image of a plan: its id, and its name where a selector listed it.
pub type PlannedImage = (String, Option<String>);

/// Images whose export is already done, each with the objects it wrote.
pub type Exported = Vec<(String, Vec<ObjectRef>)>;

/// One cloud's export request.
pub trait ExportOperation: Send + Sync {
    fn cloud(&self) -> Cloud;

    fn region(&self) -> &str;

    fn select(&self) -> Option<&Selector>;

    /// Whether work already done is reported as skipped (see [`crate::skip`]).
    fn skip_existing(&self) -> bool;

    /// The images the request names (none with `select`, several on a cloud whose call
    /// exports several).
    fn image_ids(&self) -> Vec<String>;

    /// The cloud's documented rules; a violation names the field and the rule.
    fn validate(&self) -> Result<(), ValidationError>;

    /// The request as the tagged document.
    fn to_request(&self) -> ExportRequest;

    /// The same export, one request per image (a call of several images is refused whole
    /// when the cloud's limit cannot take them all).
    fn one_per_image(&self) -> Vec<ExportRequest> {
        vec![self.to_request()]
    }

    /// One concrete request per call for `images`, every name rendered for its image
    /// (`{date}`/`{time}` from `since`, `{job_id}` from `job_id`; see [`NameValues::of`]) and
    /// checked. `selected`: the images come from a selector, so a token the user gave is
    /// derived per image.
    fn plan(
        &self,
        images: &[PlannedImage],
        selected: bool,
        since: u64,
        job_id: Option<&str>,
    ) -> Result<Vec<ExportRequest>, ValidationError>;

    /// Gives the request the start item's client token, where the cloud takes one and the
    /// user gave none: the cloud then answers every attempt with the same task.
    fn set_item_token(&mut self, _token: String) {}

    /// Starts this concrete export (images resolved, names rendered).
    fn start<'a>(
        &'a self,
        client: &'a CloudClient,
        attempt: Attempt,
    ) -> BoxFuture<'a, Result<Vec<TaskRef>, CloudError>>;

    /// With `skip_existing`: the images of this concrete request whose export is already done
    /// (every object it would write exists, written at or after the image's creation in
    /// `created`), each with its objects. A cloud that cannot know its objects up front
    /// finds none.
    fn already_exported<'a>(
        &'a self,
        _client: &'a CloudClient,
        _created: &'a HashMap<String, u64>,
    ) -> BoxFuture<'a, Result<Exported, CloudError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// The request without the images in `done`; `None` when nothing is left.
    fn without_images(&self, done: &HashSet<String>) -> Option<ExportRequest> {
        let ids = self.image_ids();
        (!ids.iter().all(|id| done.contains(id))).then(|| self.to_request())
    }
}

/// One cloud's copy request: one source image to one or more destination regions.
pub trait CopyOperation: Send + Sync {
    fn cloud(&self) -> Cloud;

    fn region(&self) -> &str;

    fn select(&self) -> Option<&Selector>;

    /// Whether copies already made are reported as skipped (see [`crate::skip`]).
    fn skip_existing(&self) -> bool;

    fn image_id(&self) -> &str;

    fn destination_regions(&self) -> &[String];

    /// The copy's name as written (before rendering, where the cloud lets it be left out).
    fn image_name(&self) -> Option<&str>;

    /// The cloud's documented rules; a violation names the field and the rule.
    fn validate(&self) -> Result<(), ValidationError>;

    /// The same copy to `destinations` only.
    fn to_destinations(&self, destinations: Vec<String>) -> CopyRequest;

    /// The concrete copy of one image, its names rendered with `values` and checked.
    /// `selected`: the image comes from a selector (a token the user gave is derived).
    fn for_image(
        &self,
        values: &NameValues<'_>,
        selected: bool,
    ) -> Result<CopyRequest, ValidationError>;

    /// See [`ExportOperation::set_item_token`].
    fn set_item_token(&mut self, _token: String) {}

    /// Starts this concrete copy: the tasks of the destinations that started, and the
    /// destinations that did not.
    fn start<'a>(
        &'a self,
        client: &'a CloudClient,
        attempt: Attempt,
    ) -> BoxFuture<'a, (Vec<TaskRef>, Vec<StartFailure>)>;
}

/// What a cloud does besides starting one request: listing images, following tasks and
/// cancelling them. Kept apart from [`crate::provider::Provider`] (hosts, keys,
/// signature), which the client below these calls uses.
pub trait CloudOperations: Sync {
    /// The images of `region` a selector may choose from (the listing sends what it can of
    /// `selector` as filters; [`crate::select::choose`] decides), with the list calls it took.
    /// `now` is the selection's clock (the start item's window).
    fn list<'a>(
        &'a self,
        client: &'a CloudClient,
        region: &'a str,
        selector: &'a Selector,
        now: u64,
    ) -> BoxFuture<'a, Result<(Vec<ListedImage>, usize), CloudError>>;

    /// One image of `region` by id, as the listing gives it (`None`: not listed).
    fn describe<'a>(
        &'a self,
        client: &'a CloudClient,
        region: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ListedImage>, CloudError>>;

    /// The status of each of the cloud's `tasks`, in the order given (the cloud batches its
    /// calls as it can).
    fn status<'a>(
        &'a self,
        client: &'a CloudClient,
        tasks: &'a [TaskRef],
    ) -> BoxFuture<'a, Vec<Result<TaskStatus, CloudError>>>;

    /// Asks the cloud to stop a task the job gave up on, where the cloud has a way to
    /// (`None`: it has none for this task).
    fn cancel<'a>(
        &'a self,
        _client: &'a CloudClient,
        _task: &'a TaskRef,
    ) -> Option<BoxFuture<'a, Result<(), CloudError>>> {
        None
    }
}

/// For a cloud whose export of one image writes `objects` known up front: the image, with
/// them, when every one exists, written at or after the image's creation in `created`.
pub async fn exported_if_all_exist(
    client: &CloudClient,
    cloud: Cloud,
    region: &str,
    image_id: &str,
    objects: Vec<ObjectRef>,
    created: &HashMap<String, u64>,
) -> Result<Exported, CloudError> {
    let Some(at) = created.get(image_id) else {
        return Ok(Vec::new());
    };
    for object in &objects {
        if client
            .head_object(cloud, region, object, Some(*at))
            .await?
            .is_none()
        {
            return Ok(Vec::new());
        }
    }
    if objects.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![(image_id.to_owned(), objects)])
}

impl ExportRequest {
    /// The cloud's own request (the one place that matches on the variant).
    pub fn operation(&self) -> &dyn ExportOperation {
        match self {
            ExportRequest::Tencent(r) => r,
            ExportRequest::Alibaba(r) => r,
            ExportRequest::Volcengine(r) => r,
            ExportRequest::Huawei(r) => r,
        }
    }

    pub fn operation_mut(&mut self) -> &mut dyn ExportOperation {
        match self {
            ExportRequest::Tencent(r) => r,
            ExportRequest::Alibaba(r) => r,
            ExportRequest::Volcengine(r) => r,
            ExportRequest::Huawei(r) => r,
        }
    }

    /// Whether work already done is reported as skipped (see [`crate::skip`]).
    pub fn skip_existing(&self) -> bool {
        self.operation().skip_existing()
    }

    /// How many tasks the request starts: one per image it names. With `select`, the most it
    /// may start: `max_images`.
    pub fn task_count(&self) -> usize {
        match self.operation().select() {
            Some(selector) => selector.max_images,
            None => self.operation().image_ids().len(),
        }
    }

    pub fn cloud(&self) -> Cloud {
        self.operation().cloud()
    }

    pub fn region(&self) -> &str {
        self.operation().region()
    }

    /// The images it names (none with `select`).
    pub fn image_ids(&self) -> Vec<String> {
        self.operation().image_ids()
    }

    /// The same export, one request per image (see [`ExportOperation::one_per_image`]).
    pub fn one_per_image(&self) -> Vec<ExportRequest> {
        self.operation().one_per_image()
    }

    /// Checks the cloud's documented rules; a violation names the field and the rule.
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.operation().validate()
    }

    /// Checks that the request's region is one `endpoints` may send to (the cloud's closed
    /// list or configuration); [`ExportRequest::validate`] checks its form.
    pub fn check_regions(&self, endpoints: &Endpoints) -> Result<(), ValidationError> {
        endpoints.check_region(self.cloud(), "region", self.region())
    }
}

impl CopyRequest {
    /// The cloud's own request (the one place that matches on the variant).
    pub fn operation(&self) -> &dyn CopyOperation {
        match self {
            CopyRequest::Tencent(r) => r,
            CopyRequest::Alibaba(r) => r,
            CopyRequest::Volcengine(r) => r,
            CopyRequest::Huawei(r) => r,
        }
    }

    pub fn operation_mut(&mut self) -> &mut dyn CopyOperation {
        match self {
            CopyRequest::Tencent(r) => r,
            CopyRequest::Alibaba(r) => r,
            CopyRequest::Volcengine(r) => r,
            CopyRequest::Huawei(r) => r,
        }
    }

    /// Whether copies already made are reported as skipped (see [`crate::skip`]).
    pub fn skip_existing(&self) -> bool {
        self.operation().skip_existing()
    }

    /// The regions of the request and its destinations as `endpoints` may send to them.
    pub fn check_regions(&self, endpoints: &Endpoints) -> Result<(), ValidationError> {
        let cloud = self.cloud();
        endpoints.check_region(cloud, "region", self.region())?;
        validate::each(
            "destination_regions",
            self.destination_regions(),
            |field, region| endpoints.check_region(cloud, field, region),
        )
    }

    /// How many tasks the request starts: one per destination region (and, with `select`,
    /// per image it may select: `max_images`).
    pub fn task_count(&self) -> usize {
        let regions = self.destination_regions().len();
        regions.saturating_mul(self.operation().select().map_or(1, |s| s.max_images))
    }

    pub fn cloud(&self) -> Cloud {
        self.operation().cloud()
    }

    pub fn region(&self) -> &str {
        self.operation().region()
    }

    pub fn image_id(&self) -> &str {
        self.operation().image_id()
    }

    pub fn destination_regions(&self) -> &[String] {
        self.operation().destination_regions()
    }

    /// The same copy to `destination` alone (a region that has to wait for its start).
    pub fn to_destination(&self, destination: &str) -> CopyRequest {
        self.operation()
            .to_destinations(vec![destination.to_owned()])
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        self.operation().validate()?;
        if self.skip_existing() {
            // The copy's name as written (before rendering) is how a later run finds it.
            crate::names::copy_name("image_name", self.operation().image_name())?;
        }
        Ok(())
    }
}
