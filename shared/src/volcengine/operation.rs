//! Volcengine's export and copy requests as the shared code drives them (see
//! [`crate::operation`]).

use std::collections::HashMap;

use super::api;
use super::request::{CopyImage, ExportImage};
use crate::Cloud;
use crate::client::CloudClient;
use crate::error::{CloudError, ValidationError};
use crate::idempotence::Attempt;
use crate::model::{CopyRequest, ExportRequest, ObjectRef, StartFailure, TaskRef};
use crate::names::NameValues;
use crate::operation::{BoxFuture, CopyOperation, ExportOperation, Exported, PlannedImage};
use crate::select::Selector;

impl ExportOperation for ExportImage {
    fn cloud(&self) -> Cloud {
        Cloud::Volcengine
    }

    fn region(&self) -> &str {
        &self.region
    }

    fn select(&self) -> Option<&Selector> {
        self.select.as_ref()
    }

    fn skip_existing(&self) -> bool {
        self.skip_existing
    }

    fn image_ids(&self) -> Vec<String> {
        vec![self.image_id.clone()]
    }

    fn validate(&self) -> Result<(), ValidationError> {
        ExportImage::validate(self)
    }

    fn to_request(&self) -> ExportRequest {
        ExportRequest::Volcengine(self.clone())
    }

    fn plan(
        &self,
        images: &[PlannedImage],
        _selected: bool,
        since: u64,
        job_id: Option<&str>,
    ) -> Result<Vec<ExportRequest>, ValidationError> {
        images
            .iter()
            .map(|image| {
                self.for_image(&NameValues::of(image, since, job_id))
                    .map(ExportRequest::Volcengine)
            })
            .collect()
    }

    fn start<'a>(
        &'a self,
        client: &'a CloudClient,
        attempt: Attempt,
    ) -> BoxFuture<'a, Result<Vec<TaskRef>, CloudError>> {
        Box::pin(api::start_export(client, self, attempt))
    }

    /// The export writes `<prefix>_<image>_system.qcow2`: known up front.
    fn already_exported<'a>(
        &'a self,
        client: &'a CloudClient,
        created: &'a HashMap<String, u64>,
    ) -> BoxFuture<'a, Result<Exported, CloudError>> {
        let object = ObjectRef {
            bucket: self.bucket.clone(),
            key: self.object_key(),
        };
        Box::pin(crate::skip::exported_since_created(
            client,
            Cloud::Volcengine,
            &self.region,
            &self.image_id,
            vec![object],
            created,
        ))
    }
}

impl CopyOperation for CopyImage {
    fn cloud(&self) -> Cloud {
        Cloud::Volcengine
    }

    fn region(&self) -> &str {
        &self.region
    }

    fn select(&self) -> Option<&Selector> {
        self.select.as_ref()
    }

    fn skip_existing(&self) -> bool {
        self.skip_existing
    }

    fn image_id(&self) -> &str {
        &self.image_id
    }

    fn destination_regions(&self) -> &[String] {
        &self.destination_regions
    }

    fn image_name(&self) -> Option<&str> {
        Some(self.image_name.as_str())
    }

    fn validate(&self) -> Result<(), ValidationError> {
        CopyImage::validate(self)
    }

    fn to_destinations(&self, destinations: Vec<String>) -> CopyRequest {
        CopyRequest::Volcengine(CopyImage {
            destination_regions: destinations,
            ..self.clone()
        })
    }

    fn for_image(
        &self,
        values: &NameValues<'_>,
        _selected: bool,
    ) -> Result<CopyRequest, ValidationError> {
        CopyImage::for_image(self, values).map(CopyRequest::Volcengine)
    }

    fn start<'a>(
        &'a self,
        client: &'a CloudClient,
        attempt: Attempt,
    ) -> BoxFuture<'a, (Vec<TaskRef>, Vec<StartFailure>)> {
        Box::pin(api::start_copy(client, self, attempt))
    }
}
