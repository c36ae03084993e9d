//! Tencent's export and copy requests as the shared code drives them (see
//! [`crate::operation`]).

use std::collections::{HashMap, HashSet};

use super::api;
use super::request::{ExportImages, MAX_EXPORT_IMAGES, SyncImages};
use crate::Cloud;
use crate::client::CloudClient;
use crate::error::{CloudError, ValidationError};
use crate::idempotence::Attempt;
use crate::model::{CopyRequest, ExportRequest, StartFailure, TaskRef};
use crate::names::NameValues;
use crate::operation::{BoxFuture, CopyOperation, ExportOperation, Exported, PlannedImage};
use crate::select::Selector;

impl ExportOperation for ExportImages {
    fn cloud(&self) -> Cloud {
        Cloud::Tencent
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
        self.image_ids.clone()
    }

    fn validate(&self) -> Result<(), ValidationError> {
        ExportImages::validate(self)
    }

    fn to_request(&self) -> ExportRequest {
        ExportRequest::Tencent(self.clone())
    }

    /// ExportImages of several images is one call, which CVM refuses whole when its limit
    /// cannot take them all.
    fn one_per_image(&self) -> Vec<ExportRequest> {
        if self.image_ids.len() <= 1 {
            return vec![self.to_request()];
        }
        self.image_ids
            .iter()
            .enumerate()
            .map(|(index, id)| {
                ExportRequest::Tencent(ExportImages {
                    image_ids: vec![id.clone()],
                    file_name_prefixes: self
                        .file_name_prefixes
                        .get(index)
                        .map(|prefix| vec![prefix.clone()])
                        .unwrap_or_default(),
                    ..self.clone()
                })
            })
            .collect()
    }

    /// One ExportImages per [`MAX_EXPORT_IMAGES`] images.
    fn plan(
        &self,
        images: &[PlannedImage],
        _selected: bool,
        since: u64,
        job_id: Option<&str>,
    ) -> Result<Vec<ExportRequest>, ValidationError> {
        images
            .chunks(MAX_EXPORT_IMAGES)
            .map(|chunk| {
                self.for_images(chunk, since, job_id)
                    .map(ExportRequest::Tencent)
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

    /// The objects are named after the image's snapshots, which DescribeImages lists.
    fn already_exported<'a>(
        &'a self,
        client: &'a CloudClient,
        _created: &'a HashMap<String, u64>,
    ) -> BoxFuture<'a, Result<Exported, CloudError>> {
        Box::pin(async move {
            let mut done = api::done_earlier(client, self).await?;
            Ok(self
                .image_ids
                .iter()
                .filter_map(|id| done.remove(id).map(|objects| (id.clone(), objects)))
                .collect())
        })
    }

    fn without_images(&self, done: &HashSet<String>) -> Option<ExportRequest> {
        let keep: Vec<usize> = (0..self.image_ids.len())
            .filter(|i| !done.contains(&self.image_ids[*i]))
            .collect();
        if keep.is_empty() {
            return None;
        }
        Some(ExportRequest::Tencent(ExportImages {
            image_ids: keep.iter().map(|i| self.image_ids[*i].clone()).collect(),
            file_name_prefixes: keep
                .iter()
                .filter_map(|i| self.file_name_prefixes.get(*i).cloned())
                .collect(),
            ..self.clone()
        }))
    }
}

impl CopyOperation for SyncImages {
    fn cloud(&self) -> Cloud {
        Cloud::Tencent
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
        SyncImages::validate(self)
    }

    fn to_destinations(&self, destinations: Vec<String>) -> CopyRequest {
        CopyRequest::Tencent(SyncImages {
            destination_regions: destinations,
            ..self.clone()
        })
    }

    fn for_image(
        &self,
        values: &NameValues<'_>,
        _selected: bool,
    ) -> Result<CopyRequest, ValidationError> {
        SyncImages::for_image(self, values).map(CopyRequest::Tencent)
    }

    fn start<'a>(
        &'a self,
        client: &'a CloudClient,
        attempt: Attempt,
    ) -> BoxFuture<'a, (Vec<TaskRef>, Vec<StartFailure>)> {
        Box::pin(api::start_copy(client, self, attempt))
    }
}
