//! Volcengine ECS operations: start an export (`ExportImage` to TOS), start a copy
//! (`CopyImage`, one call per destination region), and the status of what they started.
//!
//! # Status
//! - Exports: `DescribeTasks` with `TaskIds.N` (at most 100 per call) in the task's region.
//!   `Pending`/`Running` report `Process` as progress; `Failed` is a failure whose reason is
//!   the task's state (DescribeTasks gives no reason text); `Succeeded` counts only once a TOS
//!   `HEAD` shows every object with its size, and until then it is `Running` at 100 %.
//! - Copies: `DescribeImages` with `ImageIds.N` in the destination region decides
//!   (`available`, `creating`, `error`); `DescribeTasks` there with `ResourceIds.N` gives the
//!   progress of images that are not yet available. An available image is `Running` with one
//!   confirmation at first and `Succeeded` at the next consistent answer.
//! - An unknown state word is an `Unsupported` error (`State.Unknown`); a task or image the
//!   cloud does not know is a `NotFound` error (`Task.NotFound`).
//!
//! # What a start guarantees when its answer is lost
//! Neither ExportImage nor CopyImage takes an idempotency token, so both are sent once
//! ([`Repeat::Never`](crate::client::Repeat::Never)); an answer that may hide a started task
//! (a timeout, a reset, a cut-off or 5xx answer) is an `UnknownOutcome`, and then:
//! - ExportImage: `DescribeTasks` with `ResourceIds.1=<image>` in the region. Exactly one
//!   `ExportImage` task of the image created at or after `started_at` is adopted. The task does
//!   not name its bucket or prefix, so an export of the same image started by someone else in
//!   the same second would be indistinguishable; Volcengine locks an image while an export of
//!   it runs (`OperationDenied.ResourceLocked`), which keeps that to one candidate.
//! - CopyImage: the copy is listed only in the destination region and names the new image,
//!   so `DescribeImages` there with `ImageName=<name>` must show exactly one image of that
//!   exact name created at or after `started_at`, and `DescribeTasks` there must show a
//!   `CopyImage` task making it; then it is adopted (with its task id).
//! - Anything else (no match, several, a failed lookup, a cloud clock behind ours) returns
//!   the `UnknownOutcome` error unchanged: a start is never sent twice, at the cost of the
//!   caller having to decide about an outcome that stays unknown.
//!
//! - With a start item (the state machine's), both lookups run *before* sending too, over
//!   the window that opens at the execution's start: one match is adopted, several are
//!   unconfirmed (`Start.Unconfirmed`), a failed lookup sends nothing, and an unknown
//!   outcome whose lookup shows nothing is retryable (`Transient`): the retry looks first.
//!
//! Data-disk objects: Volcengine documents only `<TOSPrefix>_<ImageId>_system.qcow2`. For an
//! image with data disks (read from DescribeImages before exporting) the objects are expected
//! as `<TOSPrefix>_<ImageId>_data_<N>.qcow2`, the naming the emulator uses; if the real cloud
//! names them otherwise, such an export stays `Running` instead of succeeding unproven.

mod copy;
mod export;
pub mod list;
mod wire;

pub use copy::start_copy;
pub use export::start_export;

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
        Cloud::Volcengine,
        tasks,
        |region, group| async move { export::statuses(client, region, &group).await },
        |destination, group| async move { copy::statuses(client, destination, &group).await },
    )
    .await
}
