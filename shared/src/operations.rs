//! The three operations every caller uses (the functions, the command line): start an export,
//! start a sync, check tasks. Requests are validated before anything is sent; the work is done
//! by each cloud's `api` module.

use std::collections::BTreeMap;

use crate::client::CloudClient;
use crate::error::{CloudError, ValidationError};
use crate::model::{ExportRequest, StartFailure, StartOutcome, SyncRequest, TaskRef, TaskStatus};
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
    /// Validates `request`, then starts the export.
    pub async fn start_export(&self, request: &ExportRequest) -> Result<StartOutcome, StartError> {
        request.validate()?;
        request.check_regions(self.endpoints())?;
        let started_at = Timestamp::now().unix_seconds();
        let tasks = match request {
            ExportRequest::Tencent(r) => tencent::api::start_export(self, r, started_at).await?,
            ExportRequest::Alibaba(r) => alibaba::api::start_export(self, r, started_at).await?,
            ExportRequest::Volcengine(r) => {
                volcengine::api::start_export(self, r, started_at).await?
            }
            ExportRequest::Huawei(r) => huawei::api::start_export(self, r, started_at).await?,
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
        request.check_regions(self.endpoints())?;
        let started_at = Timestamp::now().unix_seconds();
        let (tasks, failures): (Vec<TaskRef>, Vec<StartFailure>) = match request {
            SyncRequest::Tencent(r) => tencent::api::start_sync(self, r, started_at).await,
            SyncRequest::Alibaba(r) => alibaba::api::start_sync(self, r, started_at).await,
            SyncRequest::Volcengine(r) => volcengine::api::start_sync(self, r, started_at).await,
            SyncRequest::Huawei(r) => huawei::api::start_sync(self, r, started_at).await,
        };
        match (tasks.is_empty(), failures.first()) {
            (true, Some(first)) => Err(StartError::Cloud(first.error.clone())),
            _ => Ok(StartOutcome { tasks, failures }),
        }
    }

    /// The status of each task, in the order given: tasks are grouped per cloud so that each
    /// cloud batches its calls. A reference that breaks a rule ([`TaskRef::validate`]) is
    /// answered with an invalid-request error naming the field, and nothing is sent for it.
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
        for (cloud, indexes) in by_cloud {
            let group: Vec<TaskRef> = indexes.iter().map(|i| tasks[*i].clone()).collect();
            let statuses = match cloud {
                Cloud::Tencent => tencent::api::status(self, &group).await,
                Cloud::Alibaba => alibaba::api::status(self, &group).await,
                Cloud::Volcengine => volcengine::api::status(self, &group).await,
                Cloud::Huawei => huawei::api::status(self, &group).await,
            };
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
