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
use crate::error::{CloudError, ValidationError};
use crate::idempotence::Attempt;
use crate::model::{CopyRequest, ExportRequest, ObjectRef, StartFailure, TaskRef};
use crate::names::NameValues;
use crate::select::Selector;

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
