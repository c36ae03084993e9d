//! Starts that are safe to run twice (issue 12, items 2 and 3), for each of the nine start
//! kinds, against the emulator. Cloud tasks are counted in the emulator's own state, never
//! from our answers:
//! - the same start item run twice makes one cloud task, and both runs name it;
//! - a start whose answer is lost, run again, adopts the first task;
//! - a server error with nothing created is retryable, and the retry makes one task;
//! - a task from before the item's window (an earlier execution) is never adopted.
//!
//! Tencent and Huawei exports cannot be listed while they run: a second run then reports
//! the start as unconfirmed (never "did not start", never a second task), and adopts the
//! export once its objects prove it.

use crate::common::*;
use cloud_emulator::world::TaskKind as EmulatedKind;
use cloud_emulator::{Fault, FaultKind, RunningEmulator};
use imgflow_shared::Cloud;
use imgflow_shared::client::CloudClient;
use imgflow_shared::error::ErrorKind;
use imgflow_shared::idempotence::{StartItem, UNCONFIRMED};
use imgflow_shared::model::{CopyRequest, ExportRequest, StartOutcome, TaskRef};
use imgflow_shared::operations::StartError;
use imgflow_shared::{alibaba, huawei, tencent, volcengine};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    TencentExport,
    TencentSync,
    AlibabaExport,
    /// An Alibaba export whose request carries the user's own client token.
    AlibabaExportWithToken,
    AlibabaCopy,
    VolcengineExport,
    VolcengineCopy,
    HuaweiExport,
    HuaweiCopy,
}

const ALL: [Kind; 9] = [
    Kind::TencentExport,
    Kind::TencentSync,
    Kind::AlibabaExport,
    Kind::AlibabaExportWithToken,
    Kind::AlibabaCopy,
    Kind::VolcengineExport,
    Kind::VolcengineCopy,
    Kind::HuaweiExport,
    Kind::HuaweiCopy,
];

enum Start {
    Export(ExportRequest),
    Sync(CopyRequest),
}

impl Kind {
    fn cloud(self) -> Cloud {
        match self {
            Kind::TencentExport | Kind::TencentSync => Cloud::Tencent,
            Kind::AlibabaExport | Kind::AlibabaExportWithToken | Kind::AlibabaCopy => {
                Cloud::Alibaba
            }
            Kind::VolcengineExport | Kind::VolcengineCopy => Cloud::Volcengine,
            Kind::HuaweiExport | Kind::HuaweiCopy => Cloud::Huawei,
        }
    }

    fn is_export(self) -> bool {
        matches!(
            self,
            Kind::TencentExport
                | Kind::AlibabaExport
                | Kind::AlibabaExportWithToken
                | Kind::VolcengineExport
                | Kind::HuaweiExport
        )
    }

    /// The start's action, as the emulator names it for faults.
    fn action(self) -> &'static str {
        match self {
            Kind::TencentExport => "ExportImages",
            Kind::TencentSync => "SyncImages",
            Kind::AlibabaExport
            | Kind::AlibabaExportWithToken
            | Kind::VolcengineExport
            | Kind::HuaweiExport => "ExportImage",
            Kind::AlibabaCopy | Kind::VolcengineCopy => "CopyImage",
            Kind::HuaweiCopy => "CopyImageCrossRegion",
        }
    }

    /// Exports no API lists while they run: found again only once finished.
    fn found_only_when_done(self) -> bool {
        matches!(self, Kind::TencentExport | Kind::HuaweiExport)
    }

    /// Starts re-sent by the client itself under a client token.
    fn has_token(self) -> bool {
        self.cloud() == Cloud::Alibaba
    }

    fn start(self) -> Start {
        match self {
            Kind::TencentExport => {
                Start::Export(ExportRequest::Tencent(tencent::request::ExportImages {
                    region: "ap-guangzhou".into(),
                    bucket: "imgflow-backup-1250000000".into(),
                    image_ids: vec!["img-web00001".into()],
                    select: None,
                    skip_existing: false,
                    format: tencent::request::ExportFormat::Qcow2,
                    file_name_prefixes: Vec::new(),
                    only_export_root_disk: false,
                    dry_run: false,
                    role_name: None,
                }))
            }
            Kind::TencentSync => Start::Sync(CopyRequest::Tencent(tencent::request::SyncImages {
                region: "ap-guangzhou".into(),
                image_id: "img-web00001".into(),
                select: None,
                skip_existing: false,
                destination_regions: vec!["ap-shanghai".into()],
                image_name: Some("web-copy".into()),
                image_set_required: true,
                dry_run: false,
            })),
            Kind::AlibabaExport | Kind::AlibabaExportWithToken => {
                Start::Export(ExportRequest::Alibaba(alibaba::request::ExportImage {
                    region: "cn-hangzhou".into(),
                    image_id: "m-bp1web000000000000001".into(),
                    select: None,
                    skip_existing: false,
                    bucket: "imgflow-oss-backup".into(),
                    prefix: Some("exp01".into()),
                    format: alibaba::request::ImageFormat::Qcow2,
                    role_name: None,
                    client_token: (self == Kind::AlibabaExportWithToken)
                        .then(|| "users-own-token-1".to_owned()),
                }))
            }
            Kind::AlibabaCopy => Start::Sync(CopyRequest::Alibaba(alibaba::request::CopyImage {
                region: "cn-hangzhou".into(),
                image_id: "m-bp1web000000000000001".into(),
                select: None,
                skip_existing: false,
                destination_regions: vec!["cn-shanghai".into()],
                image_name: None,
                description: Some("copied by imgflow".into()),
                client_token: None,
            })),
            Kind::VolcengineExport => Start::Export(ExportRequest::Volcengine(
                volcengine::request::ExportImage {
                    region: "cn-beijing".into(),
                    image_id: "image-ycweb000000000000001".into(),
                    select: None,
                    skip_existing: false,
                    bucket: "imgflow-tos-backup".into(),
                    prefix: "idem01".into(),
                },
            )),
            Kind::VolcengineCopy => {
                Start::Sync(CopyRequest::Volcengine(volcengine::request::CopyImage {
                    region: "cn-beijing".into(),
                    image_id: "image-ycweb000000000000001".into(),
                    select: None,
                    skip_existing: false,
                    destination_regions: vec!["cn-shanghai".into()],
                    image_name: "web-copy-2025".into(),
                    description: Some("nightly copy".into()),
                    project_name: Some("default".into()),
                }))
            }
            Kind::HuaweiExport => {
                Start::Export(ExportRequest::Huawei(huawei::request::ExportImage {
                    region: "cn-north-4".into(),
                    image_id: "4d0ab5e2-3114-578f-81d7-2d843f36e39b".into(),
                    select: None,
                    skip_existing: false,
                    bucket: "imgflow-obs-backup".into(),
                    object_key: "exports/idem.qcow2".into(),
                    file_format: Some(huawei::request::FileFormat::Qcow2),
                    quick_export: false,
                }))
            }
            Kind::HuaweiCopy => Start::Sync(CopyRequest::Huawei(huawei::request::CopyImage {
                region: "cn-north-4".into(),
                image_id: "4d0ab5e2-3114-578f-81d7-2d843f36e39b".into(),
                select: None,
                skip_existing: false,
                destination_regions: vec!["cn-east-3".into()],
                image_name: "web copy 2025".into(),
                description: Some("nightly copy".into()),
                agency_name: "ims_admin_agency".into(),
                vault_id: None,
            })),
        }
    }
}

/// The item of request 3 of job `idem`, whose window opens at the emulator's present.
fn item(emulator: &RunningEmulator) -> StartItem {
    StartItem {
        job_id: "idem".into(),
        index: 3,
        since: cloud_now(emulator),
    }
}

async fn run(
    client: &CloudClient,
    kind: Kind,
    item: &StartItem,
) -> Result<StartOutcome, StartError> {
    match kind.start() {
        Start::Export(request) => client.start_export_item(&request, item).await,
        Start::Sync(request) => client.start_copy_item(&request, item).await,
    }
}

/// The cloud tasks of `kind`'s cloud and sort, from the emulator's state.
fn cloud_tasks(emulator: &RunningEmulator, kind: Kind) -> usize {
    emulator
        .world()
        .tasks
        .iter()
        .filter(|task| task.cloud == kind.cloud())
        .filter(|task| matches!(task.kind, EmulatedKind::Export { .. }) == kind.is_export())
        .count()
}

/// Whether `task` names the emulator's one task of `kind`: by its task id (Tencent's
/// emulator names an export's task `<TaskId>-<ImageId>`), the copy's image, or the export's
/// objects. Each reference is checked against the cloud's state, not against our answers.
fn names_the_cloud_task(emulator: &RunningEmulator, kind: Kind, task: &TaskRef) -> bool {
    let world = emulator.world();
    let tasks: Vec<_> = world
        .tasks
        .iter()
        .filter(|t| t.cloud == kind.cloud())
        .filter(|t| matches!(t.kind, EmulatedKind::Export { .. }) == kind.is_export())
        .collect();
    let [cloud_task] = tasks.as_slice() else {
        return false;
    };
    let by_id = task
        .task_id
        .as_deref()
        .is_some_and(|id| cloud_task.id == id || cloud_task.id.starts_with(&format!("{id}-")));
    let by_content = match &cloud_task.kind {
        EmulatedKind::Copy {
            destination_image_id,
            ..
        } => task.destination_image_id.as_deref() == Some(destination_image_id.as_str()),
        EmulatedKind::Export { objects, .. } => {
            !task.objects.is_empty()
                && task
                    .objects
                    .iter()
                    .all(|o| objects.iter().any(|written| written.key == o.key))
        }
    };
    by_id || by_content
}

/// Both answers name the one cloud task, for the same image and destination.
fn assert_same_task(
    emulator: &RunningEmulator,
    kind: Kind,
    first: &StartOutcome,
    again: &StartOutcome,
) {
    assert_eq!(first.tasks.len(), 1, "{kind:?}: {first:?}");
    assert_eq!(again.tasks.len(), 1, "{kind:?}: {again:?}");
    let (a, b) = (&first.tasks[0], &again.tasks[0]);
    assert_eq!(
        (&a.image_id, &a.destination_region),
        (&b.image_id, &b.destination_region),
        "{kind:?}"
    );
    for task in [a, b] {
        assert!(
            names_the_cloud_task(emulator, kind, task),
            "{kind:?}: {task:?} is not the cloud's one task"
        );
    }
    if let (Some(x), Some(y)) = (&a.task_id, &b.task_id) {
        assert_eq!(x, y, "{kind:?}");
    }
    if let (Some(x), Some(y)) = (&a.destination_image_id, &b.destination_image_id) {
        assert_eq!(x, y, "{kind:?}");
    }
}

fn assert_unconfirmed(kind: Kind, result: Result<StartOutcome, StartError>) {
    match result {
        Err(StartError::Cloud(error)) => {
            // A conflict the state machine waits out (each retry looks first), coded so the
            // job reports it as unconfirmed, never as "did not start".
            assert_eq!(error.kind, ErrorKind::Conflict, "{kind:?}: {error}");
            assert_eq!(error.code, UNCONFIRMED, "{kind:?}: {error}");
        }
        other => panic!("{kind:?}: expected an unconfirmed start, got {other:?}"),
    }
}

/// Lets every task run to its end.
fn finish_everything(emulator: &RunningEmulator) {
    advance(emulator, 30.0 * 86_400.0);
}

fn fault(kind: Kind, fault: FaultKind, times: u32) -> Fault {
    Fault {
        cloud: Some(kind.cloud()),
        action: Some(kind.action().into()),
        kind: fault,
        times,
        delay_ms: 0,
    }
}

/// Runs `check` for every kind, each on its own emulator, and names every kind that fails.
async fn every_kind<F, Fut>(check: F)
where
    F: Fn(Kind) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut failed = Vec::new();
    for kind in ALL {
        if tokio::spawn(check(kind)).await.is_err() {
            failed.push(kind);
        }
    }
    assert!(
        failed.is_empty(),
        "failed for {} of 9 kinds: {failed:?}",
        failed.len()
    );
}

#[tokio::test]
async fn the_same_item_run_twice_makes_one_task_and_names_it_both_times() {
    every_kind(the_same_item_run_twice_makes_one_task_and_names_it_both_times_for).await;
}

async fn the_same_item_run_twice_makes_one_task_and_names_it_both_times_for(kind: Kind) {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let item = item(&emulator);
    let first = run(&client, kind, &item)
        .await
        .unwrap_or_else(|e| panic!("{kind:?}: the first run starts: {e}"));
    assert_eq!(cloud_tasks(&emulator, kind), 1, "{kind:?}");
    let again = run(&client, kind, &item).await;
    let again = if kind.found_only_when_done() {
        // Running and unlisted: unconfirmed, and nothing more is started.
        assert_unconfirmed(kind, again);
        assert_eq!(cloud_tasks(&emulator, kind), 1, "{kind:?}");
        finish_everything(&emulator);
        run(&client, kind, &item)
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: the finished export is adopted: {e}"))
    } else {
        again.unwrap_or_else(|e| panic!("{kind:?}: the second run adopts: {e}"))
    };
    assert_same_task(&emulator, kind, &first, &again);
    assert_eq!(cloud_tasks(&emulator, kind), 1, "{kind:?}: one cloud task");
    // The adopted reference can be followed (an export adopted from its objects too).
    for status in client.status(&again.tasks).await {
        let status =
            status.unwrap_or_else(|e| panic!("{kind:?}: the adopted task is followed: {e}"));
        assert_eq!(status.task.image_id, again.tasks[0].image_id, "{kind:?}");
    }
}

#[tokio::test]
async fn a_start_whose_answer_is_lost_is_adopted_when_run_again() {
    every_kind(a_start_whose_answer_is_lost_is_adopted_when_run_again_for).await;
}

async fn a_start_whose_answer_is_lost_is_adopted_when_run_again_for(kind: Kind) {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let item = item(&emulator);
    emulator.add_fault(fault(kind, FaultKind::Lost, 1));
    let first = run(&client, kind, &item).await;
    assert_eq!(
        cloud_tasks(&emulator, kind),
        1,
        "{kind:?}: the lost start ran"
    );
    let again = match first {
        // Found at once (a listing, the client token's repeat, or a Tencent dry run that
        // finds the image held by the export just sent).
        Ok(first) if kind.found_only_when_done() => {
            // The retry that follows a lost answer cannot list the running export: it must
            // neither start a second one nor call it "did not start"; once done, it adopts.
            assert_unconfirmed(kind, run(&client, kind, &item).await);
            finish_everything(&emulator);
            let again = run(&client, kind, &item)
                .await
                .unwrap_or_else(|e| panic!("{kind:?}: adopted once done: {e}"));
            assert_same_task(&emulator, kind, &first, &again);
            again
        }
        Ok(first) => {
            let again = run(&client, kind, &item)
                .await
                .unwrap_or_else(|e| panic!("{kind:?}: adopted again: {e}"));
            assert_same_task(&emulator, kind, &first, &again);
            again
        }
        Err(StartError::Cloud(error)) => {
            // Only an unlisted export may stay unfound: then the retry is allowed, and
            // it must neither start a second export nor call it "did not start".
            assert!(kind.found_only_when_done(), "{kind:?}: {error}");
            assert!(error.retryable, "{kind:?}: {error}");
            assert_unconfirmed(kind, run(&client, kind, &item).await);
            finish_everything(&emulator);
            run(&client, kind, &item)
                .await
                .unwrap_or_else(|e| panic!("{kind:?}: adopted once done: {e}"))
        }
        Err(other) => panic!("{kind:?}: {other}"),
    };
    assert_eq!(again.tasks.len(), 1, "{kind:?}");
    assert_eq!(cloud_tasks(&emulator, kind), 1, "{kind:?}: one cloud task");
}

#[tokio::test]
async fn a_server_error_with_nothing_created_is_retryable_and_the_retry_starts_one_task() {
    every_kind(a_server_error_with_nothing_created_is_retryable_and_the_retry_starts_one_task_for)
        .await;
}

async fn a_server_error_with_nothing_created_is_retryable_and_the_retry_starts_one_task_for(
    kind: Kind,
) {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let item = item(&emulator);
    // A start under a client token is re-sent by the client: fail every attempt.
    let times = if kind.has_token() { 4 } else { 1 };
    emulator.add_fault(fault(kind, FaultKind::ServerError, times));
    let error = match run(&client, kind, &item).await {
        Err(StartError::Cloud(error)) => error,
        other => panic!("{kind:?}: expected a cloud error, got {other:?}"),
    };
    assert_eq!(error.kind, ErrorKind::Transient, "{kind:?}: {error}");
    assert!(error.retryable, "{kind:?}");
    assert_eq!(
        cloud_tasks(&emulator, kind),
        0,
        "{kind:?}: nothing was created"
    );
    let retried = run(&client, kind, &item)
        .await
        .unwrap_or_else(|e| panic!("{kind:?}: the retry starts: {e}"));
    assert_eq!(retried.tasks.len(), 1, "{kind:?}");
    assert_eq!(cloud_tasks(&emulator, kind), 1, "{kind:?}: one cloud task");
}

#[tokio::test]
async fn a_task_from_before_the_window_is_never_adopted() {
    every_kind(a_task_from_before_the_window_is_never_adopted_for).await;
}

async fn a_task_from_before_the_window_is_never_adopted_for(kind: Kind) {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let yesterday = item(&emulator);
    let earlier = run(&client, kind, &yesterday)
        .await
        .unwrap_or_else(|e| panic!("{kind:?}: starts: {e}"));
    finish_everything(&emulator);
    // The next execution of the same job: a new window.
    let today = item(&emulator);
    let result = run(&client, kind, &today).await;
    match kind {
        // The user's own token names the same start in every execution: ECS answers it
        // with the first task, as documented for `client_token`.
        Kind::AlibabaExportWithToken => {
            assert_same_task(
                &emulator,
                kind,
                &earlier,
                &result.expect("the token's task"),
            );
            assert_eq!(cloud_tasks(&emulator, kind), 1, "{kind:?}");
        }
        // IMS refuses to overwrite the earlier object, and CVM to give a second image
        // the copy's name: plain refusals, nothing adopted.
        Kind::HuaweiExport | Kind::TencentSync => {
            let Err(StartError::Cloud(error)) = result else {
                panic!("{kind:?}: {result:?}");
            };
            let expected = match kind {
                Kind::HuaweiExport => "IMG.0070",
                _ => "InvalidImageName.Duplicate",
            };
            assert_eq!(error.code, expected, "{kind:?}: {error}");
            assert_ne!(error.kind, ErrorKind::UnknownOutcome, "{kind:?}: {error}");
            assert_eq!(cloud_tasks(&emulator, kind), 1, "{kind:?}");
        }
        _ => {
            let today = result.unwrap_or_else(|e| panic!("{kind:?}: starts anew: {e}"));
            assert_eq!(today.tasks.len(), 1, "{kind:?}");
            assert_ne!(
                (
                    &earlier.tasks[0].task_id,
                    &earlier.tasks[0].destination_image_id
                ),
                (
                    &today.tasks[0].task_id,
                    &today.tasks[0].destination_image_id
                ),
                "{kind:?}: the earlier task is not adopted"
            );
            assert_eq!(cloud_tasks(&emulator, kind), 2, "{kind:?}: a new task");
        }
    }
}

/// Sends `kind`'s start for two destination regions.
fn two_regions(kind: Kind) -> CopyRequest {
    let Start::Sync(mut request) = kind.start() else {
        panic!("{kind:?} is not a copy");
    };
    let (regions, extra) = match &mut request {
        CopyRequest::Alibaba(r) => (&mut r.destination_regions, "cn-beijing"),
        CopyRequest::Volcengine(r) => (&mut r.destination_regions, "cn-guangzhou"),
        CopyRequest::Huawei(r) => (&mut r.destination_regions, "ap-southeast-1"),
        CopyRequest::Tencent(r) => (&mut r.destination_regions, "ap-beijing"),
    };
    regions.push(extra.to_owned());
    request
}

/// A copy into two regions whose first region meets a server error: the item fails
/// retryably as a whole (a region reported "did not start" would never be retried), and the
/// retry adopts the region that started and starts the other: two cloud tasks, not three.
#[tokio::test]
async fn a_copy_region_that_failed_retryably_is_retried_and_the_started_one_adopted() {
    for kind in [Kind::AlibabaCopy, Kind::VolcengineCopy, Kind::HuaweiCopy] {
        let emulator = frozen_emulator().await;
        let client = client(&emulator);
        let item = item(&emulator);
        let request = two_regions(kind);
        let times = if kind.has_token() { 4 } else { 1 };
        emulator.add_fault(fault(kind, FaultKind::ServerError, times));
        let error = match client.start_copy_item(&request, &item).await {
            Err(StartError::Cloud(error)) => error,
            other => panic!("{kind:?}: expected a retryable error, got {other:?}"),
        };
        assert!(error.retryable, "{kind:?}: {error}");
        assert_eq!(
            cloud_tasks(&emulator, kind),
            1,
            "{kind:?}: the other region started"
        );
        let retried = client
            .start_copy_item(&request, &item)
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: the retry starts: {e}"));
        assert_eq!(retried.tasks.len(), 2, "{kind:?}: {retried:?}");
        assert!(retried.failures.is_empty(), "{kind:?}: {retried:?}");
        assert_eq!(
            cloud_tasks(&emulator, kind),
            2,
            "{kind:?}: one task per region"
        );
    }
}

/// Two copies of the same image and name in the window (started outside this item): neither
/// can be told to be this item's, so nothing is adopted and nothing more is started.
#[tokio::test]
async fn several_candidates_in_the_window_are_unconfirmed_and_nothing_is_started() {
    let kind = Kind::HuaweiCopy;
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let item = item(&emulator);
    let Start::Sync(request) = kind.start() else {
        panic!("a copy");
    };
    for _ in 0..2 {
        client
            .start_copy(&request)
            .await
            .expect("a copy without an item");
    }
    assert_eq!(cloud_tasks(&emulator, kind), 2);
    match client.start_copy_item(&request, &item).await {
        Err(StartError::Cloud(error)) => {
            assert_eq!(error.kind, ErrorKind::UnknownOutcome, "{error}");
            assert_eq!(error.code, UNCONFIRMED, "{error}");
        }
        other => panic!("expected an unconfirmed start, got {other:?}"),
    }
    assert_eq!(cloud_tasks(&emulator, kind), 2, "nothing more was started");
}

/// A lookup that fails sends nothing: the start is retryable, and no task exists.
#[tokio::test]
async fn a_failed_lookup_sends_nothing_and_is_retryable() {
    for (kind, lookup) in [
        (Kind::VolcengineExport, "DescribeTasks"),
        (Kind::VolcengineCopy, "DescribeImages"),
        (Kind::TencentSync, "DescribeImages"),
        (Kind::HuaweiCopy, "ListImages"),
    ] {
        let emulator = frozen_emulator().await;
        let client = client(&emulator);
        let item = item(&emulator);
        // More than the client's own retries of a read.
        emulator.add_fault(Fault {
            cloud: Some(kind.cloud()),
            action: Some(lookup.into()),
            kind: FaultKind::ServerError,
            times: 20,
            delay_ms: 0,
        });
        let error = match run(&client, kind, &item).await {
            Err(StartError::Cloud(error)) => error,
            other => panic!("{kind:?}: expected a retryable error, got {other:?}"),
        };
        assert!(error.retryable, "{kind:?}: {error}");
        let sent = emulator
            .world()
            .stats
            .snapshot()
            .actions
            .get(&format!("{}:{}", kind.cloud(), kind.action()))
            .map_or(0, |stats| stats.requests);
        assert_eq!(sent, 0, "{kind:?}: the start was not sent");
        assert_eq!(cloud_tasks(&emulator, kind), 0, "{kind:?}");
    }
}

/// Found by the end-to-end run: a Volcengine export task names no bucket or prefix, so an
/// export of the same image into another place that finished inside the window (another
/// job's, or one a cloud clock running ahead dates into the window) was adopted, and the job
/// then waited for objects that never came. A finished candidate counts only when this
/// start's object exists; otherwise the start exports.
#[tokio::test]
async fn a_finished_export_of_the_image_into_another_place_is_not_adopted() {
    let kind = Kind::VolcengineExport;
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let item = item(&emulator);
    let Start::Export(ExportRequest::Volcengine(ours)) = kind.start() else {
        panic!("a Volcengine export");
    };
    let mut elsewhere = ours.clone();
    elsewhere.prefix = format!("{}other", ours.prefix);
    client
        .start_export(&ExportRequest::Volcengine(elsewhere))
        .await
        .expect("another job's export");
    finish_everything(&emulator);
    assert_eq!(cloud_tasks(&emulator, kind), 1);

    let started = client
        .start_export_item(&ExportRequest::Volcengine(ours), &item)
        .await
        .expect("ours starts");
    assert_eq!(
        cloud_tasks(&emulator, kind),
        2,
        "a new export, not the other one"
    );
    let newest = emulator
        .world()
        .tasks
        .iter()
        .filter(|task| task.cloud == Cloud::Volcengine)
        .map(|task| task.id.clone())
        .next_back()
        .expect("two exports");
    assert_eq!(started.tasks[0].task_id.as_deref(), Some(newest.as_str()));
}

/// Soak seed 1 after issue 15, job soak-0031: a Tencent export of an image whose export fails
/// halfway; ExportImages ran but its answer was lost. The start was retried after the export
/// had failed, when nothing held the image and no object proved it, and CVM took a second
/// export. Now the lost answer is followed at once by a dry run: the image is held, so the
/// export just sent is adopted (without its task id) by the first attempt, followed to its
/// failure, and no second export is ever asked for.
#[tokio::test]
async fn a_lost_tencent_export_answer_is_adopted_at_once_and_followed_to_its_failure() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let item = item(&emulator);
    let request = ExportRequest::Tencent(tencent::request::ExportImages {
        region: "ap-guangzhou".into(),
        bucket: "imgflow-backup-1250000000".into(),
        image_ids: vec!["img-fail0001".into()],
        select: None,
        skip_existing: false,
        format: tencent::request::ExportFormat::Qcow2,
        file_name_prefixes: vec!["lost".into()],
        only_export_root_disk: false,
        dry_run: false,
        role_name: None,
    });
    emulator.add_fault(fault(Kind::TencentExport, FaultKind::Lost, 1));
    let started = client
        .start_export_item(&request, &item)
        .await
        .expect("the export the lost answer hid is adopted");
    assert_eq!(cloud_tasks(&emulator, Kind::TencentExport), 1);
    assert_eq!(started.tasks.len(), 1);
    let task = &started.tasks[0];
    assert_eq!(task.task_id, None, "the TaskId went with the answer");
    assert!(!task.objects.is_empty(), "followed by its planned objects");
    finish_everything(&emulator);
    let mut seen = status_of(&client, task).await;
    for _ in 0..3 {
        if seen.state.is_final() {
            break;
        }
        seen = status_of(&client, &seen.task).await;
    }
    assert_eq!(
        seen.state,
        imgflow_shared::model::TaskState::Failed,
        "{seen:?}"
    );
    assert_eq!(
        seen.reason.and_then(|r| r.code).as_deref(),
        Some("Export.EndedWithoutObjects")
    );
    assert_eq!(
        cloud_tasks(&emulator, Kind::TencentExport),
        1,
        "no second export"
    );
}
