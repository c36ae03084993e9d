//! Huawei Cloud IMS operations: start an export to OBS, start cross-region copies, and follow
//! them to their end.
//!
//! Wire: REST paths with JSON bodies (`Content-Type: application/json;charset=utf-8`), and
//! `X-Project-Id` on every call: the project of the region the call is about. The job query
//! (`GET /v1/cloudimages/job/{job_id}`, the SDK's `ShowJobProgress`) has no project in its
//! path, yet IMS only finds a job in the project it was started in, so it carries the source
//! region's project; the copy's image is looked up with the destination region's project.
//!
//! How a status is decided:
//! - export: the job (`INIT`/`RUNNING`/`SUCCESS`/`FAIL`, `entities.process_percent` as a 0–1
//!   fraction), then, once it says `SUCCESS`, a HEAD of the OBS object `bucket_url` named; the
//!   export succeeds only when the object exists, with its size. A finished job whose object
//!   is not visible yet is still running (OBS listing is eventually consistent).
//! - copy: the job (its `entities.image_id` names the new image), then, once it says
//!   `SUCCESS`, the new image through `ListImages` in the destination region. An `active`
//!   image is a finished answer; a copy succeeds on the second finished answer in a row
//!   (`TaskRef::confirmations`).
//! - a state word this module does not know is an error (`State.Unknown`), never "running";
//!   a job IMS no longer knows is its `IMG.0121` error.
//!
//! Guarantees when the answer to a start is lost (IMS has no idempotency token, so every start
//! is sent once, `Repeat::Never`):
//! - export: IMS has no API that lists jobs, so a job whose answer was lost cannot be found
//!   again, and its job id is gone. The `UnknownOutcome` error is returned unchanged. What
//!   remains: IMS refuses a second export of the same image or into the same object key while
//!   the first runs (`IMG.0148`, `IMG.0070`), and once it has run the key holds the object
//!   (`IMG.0070` again), so a caller who starts again cannot get two exports writing one
//!   object; a HEAD of the object tells whether the lost export ran.
//! - copy: the copy creates its image in the destination region at once (`queued`, then
//!   `saving`), named as asked and marked `__data_origin: image,<source id>`. After a lost
//!   answer the destination is searched for exactly one such image created since the start;
//!   it is adopted (a `TaskRef` with `destination_image_id` and no job id, followed through
//!   the image alone: no progress and no job failure reason). No match, several matches or a
//!   failed search return the `UnknownOutcome` error unchanged.
//! - with a start item (the state machine's), the window opens at the execution's start and
//!   every attempt looks first: an export is adopted once its object has been written in the
//!   window (a HEAD; the task has no job id and is followed through its object); a running
//!   export cannot be found, so IMS's refusal of a second one (`IMG.0148`, or `IMG.0070`
//!   while no object exists) is reported as unconfirmed (`Start.Unconfirmed`), never as "did
//!   not start". A copy is searched for as above before it is sent. An unknown outcome the
//!   lookup cannot resolve is retryable (`Transient`): the retry looks first.
//! - a destination region without a configured project is refused before anything is sent:
//!   its copy could never be followed.

mod copy;
mod export;
pub mod list;
mod wire;

pub use copy::start_copy;
pub use export::start_export;

use crate::client::CloudClient;
use crate::error::CloudError;
use crate::model::{TaskKind, TaskRef, TaskStatus};
use wire::{CLOUD, invalid_task};

/// The status of each task, in the order given. IMS has no batch query: one job query per
/// task, plus the object HEAD or the image lookup once the job says it is done.
pub async fn status(
    client: &CloudClient,
    tasks: &[TaskRef],
) -> Vec<Result<TaskStatus, CloudError>> {
    let mut statuses = Vec::with_capacity(tasks.len());
    for task in tasks {
        statuses.push(status_of(client, task).await);
    }
    statuses
}

async fn status_of(client: &CloudClient, task: &TaskRef) -> Result<TaskStatus, CloudError> {
    if task.cloud != CLOUD {
        return Err(invalid_task(format!(
            "a {} task cannot be checked on Huawei Cloud",
            task.cloud
        )));
    }
    match (task.kind, task.task_id.as_deref()) {
        (TaskKind::Export, Some(job_id)) => export::export_status(client, task, job_id).await,
        (TaskKind::Copy, Some(job_id)) => copy::copy_status(client, task, job_id).await,
        // A copy adopted after a lost answer: only its image is known.
        (TaskKind::Copy, None) => copy::adopted_copy_status(client, task).await,
        // An export adopted from its object: only the object is known.
        (TaskKind::Export, None) => export::adopted_export_status(client, task).await,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::copy::copy_body;
    use super::export::export_body;
    use crate::huawei::request::{CopyImage, ExportImage, FileFormat};

    #[test]
    fn bodies_use_the_wire_names_and_omit_absent_fields() {
        let export = ExportImage {
            region: "cn-north-4".into(),
            image_id: "4d0ab5e2-3114-578f-81d7-2d843f36e39b".into(),
            select: None,
            skip_existing: false,
            bucket: "imgflow-obs-backup".into(),
            object_key: "exports/web.qcow2".into(),
            file_format: Some(FileFormat::Vmdk),
            quick_export: false,
        };
        assert_eq!(
            export_body(&export),
            json!({"bucket_url": "imgflow-obs-backup:exports/web.qcow2", "file_format": "vmdk", "is_quick_export": false})
        );
        let copy = CopyImage {
            region: "cn-north-4".into(),
            image_id: export.image_id.clone(),
            select: None,
            skip_existing: false,
            destination_regions: vec!["cn-east-3".into()],
            image_name: "web copy".into(),
            description: None,
            agency_name: "ims_admin_agency".into(),
            vault_id: Some("v-1".into()),
        };
        assert_eq!(
            copy_body(&copy, "cn-east-3"),
            json!({"region": "cn-east-3", "project_name": "cn-east-3", "agency_name": "ims_admin_agency", "name": "web copy", "vault_id": "v-1"})
        );
    }
}
