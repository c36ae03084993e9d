//! Alibaba Cloud ECS 2014-05-26 operations: start an export to OSS, start copies to other
//! regions, follow both to their end, and cancel a copy.
//!
//! Wire (RPC, as the official SDK sends it): `POST /` with every parameter in the query string,
//! the action in `x-acs-action` and `x-acs-version: 2014-05-26`; the ACS3 signer adds the
//! rest. Each call goes to the region its `RegionId` names.
//!
//! How a status is decided:
//! - export: one DescribeTasks per region and per 100 task ids (`Waiting` → `Processing` →
//!   `Finished` | `Failed`; `Cancelled`/`Deleted` end it). A started task is then read with
//!   DescribeTaskAttribute, whose `TaskStatus` is the newer word, `TaskProcess` the progress,
//!   and whose `OperationProgress[].RelatedItem[]` name the OSS bucket and object of each disk
//!   (ECS picks the names, and the format only some regions honour, so a TaskRef of an export
//!   names no objects up front). A `Finished` task succeeds only when a HEAD finds every one
//!   of its objects, with its size; until then it is `Running` at 100 % (OSS may show an
//!   object late). A `Failed` task carries the failed sub-task's `ErrorCode`/`ErrorMsg`.
//! - copy: CopyImage answers the new image's id and no task (copies are not tasks on
//!   Alibaba), so a copy is its image in the destination region: one DescribeImages per
//!   destination region and per 100 image ids, with `Status` listing every copy state (ECS
//!   lists only `Available` images otherwise). `Waiting`/`Creating` with `Progress`, then
//!   `Available`: a finished answer, and the copy succeeds on the second finished answer in
//!   a row (`TaskRef::confirmations`). `CreateFailed`/`UnAvailable` fail it with that state.
//! - a state word this module does not know is an error (`State.Unknown`), never "running";
//!   a task or image ECS no longer lists is a `NotFound` error.
//!
//! Guarantees when the answer to a start is lost (or cut off, or a 5xx leaves it unclear):
//! - with a `ClientToken` (export: the request's; copy: `<token>-<region>` per region), ECS
//!   answers a repeat with the same TaskId / ImageId and starts nothing, so the start is sent
//!   with `Repeat::Safe`: the client re-sends it, and at worst returns a transient error
//!   after which starting again with the same token is still safe.
//! - an export without a token is sent once (`Repeat::Never`). On an unknown outcome,
//!   DescribeTasks (`TaskAction=ExportImage`, `ResourceIds.1` = the image, `StartTime` = the
//!   minute of `started_at`) lists the exports of the image created since, and
//!   DescribeTaskAttribute keeps those writing into the requested bucket (under the requested
//!   prefix). Exactly one is adopted; otherwise the `UnknownOutcome` error is returned as it
//!   came. What remains: task times have minute precision and are compared with our clock,
//!   so a clock running more than that ahead of ECS can miss the task (ECS then still refuses
//!   a second export of the image while the first runs, `OperationDenied.ImageExporting`),
//!   and an export of the same image into the same bucket that someone else started in the
//!   same window would be taken for ours.
//! - a copy without a token is sent once per region (`Repeat::Never`). ECS records no source
//!   on a copied image, so on an unknown outcome the destination region is searched for the
//!   one copied image (`IsCopied`) created since the minute of `started_at` with the name the
//!   copy gets (the requested one, else the source's) and the source's size. Exactly one is
//!   adopted; otherwise the `UnknownOutcome` error is returned as it came. ECS refuses a
//!   second copy of the image into the same region while one runs
//!   (`OperationDenied.ImageCopyConflict`), so a caller who starts again cannot run two at once.
//! - a start with a start item (the state machine's) and no token of its own gets one derived
//!   from the job, the request's index and the execution's start
//!   ([`StartItem::client_token`](crate::idempotence::StartItem::client_token)), so every
//!   attempt of the item is re-sent safely and ECS answers it with the first task.
//! - cancelling a copy is sent with `Repeat::Safe`: repeating it cancels nothing twice, but a
//!   repeat after a lost answer meets `InvalidImageId.NotFound` (the copy is already gone).

mod copy;
mod export;
pub mod list;
mod wire;

use crate::alibaba::request::{CopyImage, ExportImage};
use crate::batch::{Batch, RegionBatches};
use crate::client::CloudClient;
use crate::error::CloudError;
use crate::model::{StartFailure, TaskKind, TaskRef, TaskStatus};

/// Starts the export of one image into its region's OSS bucket: one task, whose objects
/// DescribeTaskAttribute names once it runs.
pub async fn start_export(
    client: &CloudClient,
    request: &ExportImage,
    started_at: u64,
) -> Result<Vec<TaskRef>, CloudError> {
    export::start(client, request, started_at).await
}

/// Starts one CopyImage per destination region: a task per region that started, a failure
/// (with ECS's error) per region that did not.
pub async fn start_copy(
    client: &CloudClient,
    request: &CopyImage,
    started_at: u64,
) -> (Vec<TaskRef>, Vec<StartFailure>) {
    copy::start(client, request, started_at).await
}

/// The status of each task, in the order given, batched per region.
pub async fn status(
    client: &CloudClient,
    tasks: &[TaskRef],
) -> Vec<Result<TaskStatus, CloudError>> {
    // Both batch checks answer every task they are given, so the batches' fallback for a
    // task left unanswered never applies here.
    RegionBatches::check_routed(
        wire::CLOUD,
        tasks,
        batch_of,
        |region, group| async move { export::statuses(client, region, &group).await },
        |destination, group| async move { copy::statuses(client, destination, &group).await },
    )
    .await
}

/// Cancels a copy: CancelCopyImage in the destination region, for the destination image.
pub async fn cancel_copy(client: &CloudClient, task: &TaskRef) -> Result<(), CloudError> {
    copy::cancel(client, task).await
}

/// Which batch a task's status comes from: exports by their region, copies by their
/// destination region. A task this module cannot follow is refused here
/// ([`TASK_REF_INVALID`](crate::error::TASK_REF_INVALID)).
fn batch_of(task: &TaskRef) -> Result<Batch<'_>, CloudError> {
    match task.kind {
        TaskKind::Copy => copy::target(task).map(|(destination, _)| Batch::Copy(destination)),
        TaskKind::Export if task.cloud != wire::CLOUD => Err(wire::unusable_task(format!(
            "not an Alibaba export: a {} task",
            task.cloud
        ))),
        TaskKind::Export => match task.task_id.as_deref() {
            Some(id) if !id.is_empty() => Ok(Batch::Export(&task.region)),
            _ => Err(wire::unusable_task(format!(
                "the export of {} has no task id",
                task.image_id
            ))),
        },
    }
}
