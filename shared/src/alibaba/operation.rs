//! Alibaba's export and copy requests as the shared code drives them (see
//! [`crate::operation`]).

use super::api;
use super::request::{CopyImage, ExportImage, token_for_image};
use crate::Cloud;
use crate::client::CloudClient;
use crate::error::{CloudError, ValidationError};
use crate::idempotence::Attempt;
use crate::model::{CopyRequest, ExportRequest, StartFailure, TaskRef};
use crate::names::NameValues;
use crate::operation::{BoxFuture, CopyOperation, ExportOperation, PlannedImage};
use crate::select::Selector;

impl ExportOperation for ExportImage {
    fn cloud(&self) -> Cloud {
        Cloud::Alibaba
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
        ExportRequest::Alibaba(self.clone())
    }

    /// One ExportImage per image; with `select`, each image's ClientToken is derived from
    /// the request's.
    fn plan(
        &self,
        images: &[PlannedImage],
        selected: bool,
        since: u64,
        job_id: Option<&str>,
    ) -> Result<Vec<ExportRequest>, ValidationError> {
        images
            .iter()
            .map(|image| {
                let mut one = self.for_image(&NameValues::of(image, since, job_id))?;
                if selected {
                    one.client_token = self
                        .client_token
                        .as_deref()
                        .map(|token| token_for_image(token, &image.0));
                }
                Ok(ExportRequest::Alibaba(one))
            })
            .collect()
    }

    fn set_item_token(&mut self, token: String) {
        self.client_token.get_or_insert(token);
    }

    fn start<'a>(
        &'a self,
        client: &'a CloudClient,
        attempt: Attempt,
    ) -> BoxFuture<'a, Result<Vec<TaskRef>, CloudError>> {
        Box::pin(api::start_export(client, self, attempt.since))
    }
}

impl CopyOperation for CopyImage {
    fn cloud(&self) -> Cloud {
        Cloud::Alibaba
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
        self.image_name.as_deref()
    }

    fn validate(&self) -> Result<(), ValidationError> {
        CopyImage::validate(self)
    }

    fn to_destinations(&self, destinations: Vec<String>) -> CopyRequest {
        CopyRequest::Alibaba(CopyImage {
            destination_regions: destinations,
            ..self.clone()
        })
    }

    /// With `select`, each image's ClientToken is derived from the request's.
    fn for_image(
        &self,
        values: &NameValues<'_>,
        selected: bool,
    ) -> Result<CopyRequest, ValidationError> {
        let mut one = CopyImage::for_image(self, values)?;
        if selected {
            one.client_token = self
                .client_token
                .as_deref()
                .map(|token| token_for_image(token, values.image_id));
        }
        Ok(CopyRequest::Alibaba(one))
    }

    fn set_item_token(&mut self, token: String) {
        self.client_token.get_or_insert(token);
    }

    fn start<'a>(
        &'a self,
        client: &'a CloudClient,
        attempt: Attempt,
    ) -> BoxFuture<'a, (Vec<TaskRef>, Vec<StartFailure>)> {
        Box::pin(api::start_copy(client, self, attempt.since))
    }
}
