//! Tencent Cloud CVM 2017-03-12 operations: start an export (`ExportImages` to COS), start a
//! copy (`SyncImages`, one call for every destination region), and the status of what they
//! started. Every call is `POST /` with a JSON body and the `X-TC-*` headers (see `wire`).
//!
//! # Status
//! - Exports: CVM has **no export task API** (nothing takes the `TaskId`), so an export is
//!   proven from its COS objects and its source image, never from the image alone. Per region,
//!   one `DescribeImages` (at most 100 ids per call) lists the source images, then each object
//!   of the export gets a COS `HEAD` in the request's bucket and region:
//!   - every object exists with its size → `Succeeded` with `TaskResult::Export`;
//!   - an object is missing → an `ExportImages` dry run of the image (`DryRun`, documented as
//!     "checks whether the image can be exported") asks whether an export of it still runs:
//!     refused `InvalidParameterValue.InvalidImageState` (CVM's refusal of a second export
//!     while one runs) → `Running` (no progress: CVM reports none for exports); passed
//!     (`DryRunOperation`) on two checks in a row, the objects still missing →
//!     `Failed`, coded `Export.EndedWithoutObjects` (inferred: no API names a failed export);
//!     any other answer proves nothing → `Running`;
//!   - the source is `CREATEFAILED`/`IMPORTFAILED` → `Failed`, the state word as the reason;
//!   - the source is no longer listed → `Succeeded` if every object exists (an image may be
//!     deleted once exported), else `Failed`.
//!
//!   An export that fails inside CVM leaves its source `NORMAL` and never writes its objects;
//!   no API says so (the SDK's `ImageState` values have no export word, `DescribeTaskInfo` is
//!   about maintenance tasks, and nothing takes the `TaskId`). What is observable is that the
//!   image is free again: the dry run above. The rule is inferred from those documented
//!   behaviours, not from a documented failure state. An image another export holds keeps the
//!   task `Running` until the job's deadline. `cloud_state` is the source image's `ImageState`.
//! - Copies: per destination region, one `DescribeImages` (at most 100 ids per call) of the
//!   destination images: `SYNCING`/`CREATING` is `Running` with `SyncPercent`, `CREATEFAILED`
//!   is `Failed` (the state word is the only reason CVM gives), and `NORMAL` is `Running` at
//!   100 % with one confirmation the first time and `Succeeded` at the next consistent answer;
//!   an unfinished answer resets the confirmations.
//! - An `ImageState` outside the documented six is an `Unsupported` error (`State.Unknown`);
//!   a destination image CVM does not list is a `NotFound` error (`Task.NotFound`).
//!
//! # What a start guarantees when its answer is lost
//! Neither action takes an idempotency token, so both are sent once
//! ([`Repeat::Never`](crate::client::Repeat::Never)); an answer that may hide a started task
//! (a timeout, a reset, a cut-off or failed answer) is an `UnknownOutcome`, and then:
//! - `ExportImages`: there is no task listing, the `TaskId` is gone with the answer, and the
//!   source image does not change state while it is exported, so the export cannot be found
//!   again: the `UnknownOutcome` error is returned unchanged. What remains: CVM refuses a
//!   second export of an image while one runs (`InvalidParameterValue.InvalidImageState`), so
//!   a blind restart cannot run two at once, and the objects of a lost export appear at their
//!   documented names (`[<prefix>_]<ImageId>_system|data_<SnapshotId>.<fmt>`) when it is done.
//! - `SyncImages`: each copy is a new image in its destination region, named `ImageName` (or
//!   the source's name). For each destination region, `DescribeImages` with the `image-name`
//!   filter must show exactly one image of exactly that name, created at or after
//!   `started_at`; it is adopted. Every other region (no match, several, a failed lookup, a
//!   cloud clock behind ours) keeps the `UnknownOutcome` error unchanged as its
//!   `StartFailure`. CVM refuses a second sync of an image into a region while one runs
//!   (`FailedOperation.InvalidImageState`), which keeps a same-named copy made by someone
//!   else at the same moment unlikely; an image of that name created after `started_at` by
//!   other means would make the lookup ambiguous, and then nothing is adopted.
//!
//! - With a start item, an export looks first for a *finished* earlier attempt: a HEAD of the
//!   objects its images' snapshots name (DescribeImages `SnapshotSet`), written since the
//!   window opened. A running one cannot be found; CVM's refusal of a second export of the
//!   image (`InvalidParameterValue.InvalidImageState`) is then reported as unconfirmed
//!   (`Start.Unconfirmed`), never as a conflict to wait out and never as "did not start".
//!   Copies look first by name per destination and send only the regions with no copy.
//!   An unknown outcome that the lookup cannot resolve is retryable (`Transient`), because
//!   the retry looks first.
//!
//! A copy started with `image_set_required: false` gets the source id back in `ImageSet`; its
//! destination image is then found by name as above, and a TaskRef without it reports
//! `TaskRef.Invalid`. A dry run that passes (`DryRunOperation`) starts nothing and returns
//! no task.

mod copy;
mod export;
pub mod list;
mod wire;

pub use copy::start_copy;
pub use export::{done_earlier, start_export};

use crate::Cloud;
use crate::batch::RegionBatches;
use crate::client::CloudClient;
use crate::error::CloudError;
use crate::model::{TaskRef, TaskStatus};

/// The status of each task, in the order given: exports batched per region, copies per
/// destination region.
pub async fn status(
    client: &CloudClient,
    tasks: &[TaskRef],
) -> Vec<Result<TaskStatus, CloudError>> {
    RegionBatches::check(
        Cloud::Tencent,
        tasks,
        |region, group| async move { export::statuses(client, region, &group).await },
        |destination, group| async move { copy::statuses(client, destination, &group).await },
    )
    .await
}
