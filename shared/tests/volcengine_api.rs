//! Volcengine operations against the emulator: exports proven by their TOS objects, copies
//! confirmed twice on the destination image, failures with the cloud's words, the seed's
//! error codes, faults survived, and lost start answers adopted rather than repeated.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::*;
use cloud_emulator::{Fault, FaultKind, RunningEmulator};
use imgflow_shared::Cloud;
use imgflow_shared::client::CloudClient;
use imgflow_shared::error::{CloudError, ErrorKind};
use imgflow_shared::model::{ObjectRef, RegionImage, TaskKind, TaskRef, TaskResult, TaskState};
use imgflow_shared::signing::HttpRequest;
use imgflow_shared::transport::{Scheme, Transport};
use imgflow_shared::volcengine::api::{start_copy, start_export, status};
use imgflow_shared::volcengine::request::{CopyImage, ExportImage};

const REGION: &str = "cn-beijing";
const SHANGHAI: &str = "cn-shanghai";
const GUANGZHOU: &str = "cn-guangzhou";
const BUCKET: &str = "imgflow-tos-backup";
const READONLY_BUCKET: &str = "imgflow-tos-readonly";

const WEB: &str = "image-ycweb000000000000001";
const DB: &str = "image-ycdb0000000000000001";
const ENCRYPTED: &str = "image-ycenc000000000000001";
const WINDOWS: &str = "image-ycwin000000000000001";
const SHARED: &str = "image-ycshr000000000000001";
const BUSY: &str = "image-ycbusy00000000000001";
const BIG: &str = "image-ycbig000000000000001";
const FAILING: &str = "image-ycfail00000000000001";
const CREATING: &str = "image-ycnew000000000000001";
const MISSING: &str = "image-ycnone00000000000001";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

fn export_of(image: &str, bucket: &str, prefix: &str) -> ExportImage {
    let request = ExportImage {
        region: REGION.into(),
        image_id: image.into(),
        select: None,
        skip_existing: false,
        bucket: bucket.into(),
        prefix: prefix.into(),
    };
    request.validate().expect("a valid request");
    request
}

fn copy_of(image: &str, destinations: &[&str]) -> CopyImage {
    let request = CopyImage {
        region: REGION.into(),
        image_id: image.into(),
        select: None,
        skip_existing: false,
        destination_regions: destinations.iter().map(|d| (*d).to_owned()).collect(),
        image_name: "web-copy-2025".into(),
        description: Some("nightly copy".into()),
        project_name: Some("default".into()),
    };
    request.validate().expect("a valid request");
    request
}

async fn one_export(client: &CloudClient, request: &ExportImage) -> TaskRef {
    let mut tasks = start_export(client, request, now())
        .await
        .expect("the export starts");
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    tasks.remove(0)
}

fn requests(emulator: &RunningEmulator, action: &str) -> u64 {
    emulator
        .world()
        .stats
        .snapshot()
        .actions
        .get(&format!("volcengine:{action}"))
        .map_or(0, |stats| stats.requests)
}

/// Faults injected but not yet met, from the control API.
async fn pending_faults(emulator: &RunningEmulator) -> usize {
    let transport = Transport::new(Duration::from_secs(2), Duration::from_secs(5)).expect("client");
    let request = HttpRequest::new("GET", emulator.addr.to_string(), "/_emulator/faults");
    let response = transport
        .send(Scheme::Http, &request)
        .await
        .expect("the control API answers");
    serde_json::from_slice::<Vec<serde_json::Value>>(&response.body)
        .expect("a list of faults")
        .len()
}

fn tasks_created(emulator: &RunningEmulator, kind: &str) -> u64 {
    emulator
        .world()
        .stats
        .snapshot()
        .tasks_created
        .get(&format!("volcengine:{kind}"))
        .copied()
        .unwrap_or(0)
}

/// No Volcengine action went over its rate, and (in a run without injected throttling)
/// nothing was throttled.
fn assert_within_rate_limits(emulator: &RunningEmulator, expect_throttled: bool) {
    let throttled = assert_rates_kept(emulator, Cloud::Volcengine);
    if !expect_throttled {
        assert_eq!(throttled, 0, "no Volcengine request was throttled");
    }
}

fn assert_cloud_error(error: &CloudError, kind: ErrorKind, code: &str) {
    assert_eq!(
        (error.cloud, error.kind, error.code.as_str()),
        (Cloud::Volcengine, kind, code),
        "{error}"
    );
    assert!(
        error.request_id.as_deref().is_some_and(|id| id.len() == 34),
        "the cloud's request id is kept: {error:?}"
    );
    assert!(!error.message.is_empty(), "{error:?}");
}

#[tokio::test]
async fn an_export_with_a_data_disk_succeeds_once_every_object_exists() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let started_at = now();
    let tasks = start_export(&client, &export_of(DB, BUCKET, "backup01"), started_at)
        .await
        .expect("the export starts");
    assert_eq!(tasks.len(), 1);
    let task = &tasks[0];
    let system = format!("backup01_{DB}_system.qcow2");
    let data = format!("backup01_{DB}_data_1.qcow2");
    assert_eq!(
        (
            task.cloud,
            task.kind,
            task.region.as_str(),
            task.image_id.as_str()
        ),
        (Cloud::Volcengine, TaskKind::Export, REGION, DB)
    );
    assert_eq!(task.started_at, started_at);
    assert_eq!(
        task.objects,
        [
            ObjectRef {
                bucket: BUCKET.into(),
                key: system.clone()
            },
            ObjectRef {
                bucket: BUCKET.into(),
                key: data.clone()
            },
        ]
    );
    let task_id = task.task_id.clone().expect("the TaskId");
    assert!(
        emulator.world().task(Cloud::Volcengine, &task_id).is_some(),
        "the TaskRef names the cloud's task"
    );

    // 300 GiB at 72 s per GiB is 21 600 s: checks every 1 500 s see it move.
    let seen = poll(&emulator, &client, task, 1_500.0).await;
    let last = seen.last().expect("a status");
    assert_eq!(last.state, TaskState::Succeeded, "{last:?}");
    assert_eq!(
        (last.progress, last.cloud_state.as_str()),
        (Some(100), "Succeeded")
    );
    let running: Vec<u8> = seen
        .iter()
        .filter(|s| s.state == TaskState::Running)
        .filter_map(|s| s.progress)
        .collect();
    assert!(running.windows(2).all(|w| w[0] <= w[1]), "{running:?}");
    let distinct: std::collections::BTreeSet<u8> =
        running.iter().copied().filter(|p| *p < 100).collect();
    assert!(distinct.len() >= 3, "progress moves: {running:?}");
    assert!(seen.iter().all(|s| s.cloud_state != "Failed"));

    let Some(TaskResult::Export { objects }) = &last.result else {
        panic!("an export result: {last:?}");
    };
    let world = emulator.world();
    let keys: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, [system.as_str(), data.as_str()]);
    for object in objects {
        let stored = world.object(BUCKET, &object.key).expect("in the bucket");
        assert_eq!(object.bucket, BUCKET);
        assert!(object.size > 0);
        assert_eq!(object.size, stored.size, "{}", object.key);
    }
    drop(world);
    assert_eq!(tasks_created(&emulator, "export"), 1);
    assert_within_rate_limits(&emulator, false);
}

#[tokio::test]
async fn a_finished_task_whose_object_is_missing_is_still_running() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let mut task = one_export(&client, &export_of(WEB, BUCKET, "web01")).await;
    assert_eq!(
        task.objects.len(),
        1,
        "one object for an image without data disks"
    );
    task.objects.push(ObjectRef {
        bucket: BUCKET.into(),
        key: format!("web01_{WEB}_data_9.qcow2"),
    });
    advance(&emulator, 4_000.0);
    let current = status_of(&client, &task).await;
    assert_eq!(
        (
            current.state,
            current.progress,
            current.cloud_state.as_str()
        ),
        (TaskState::Running, Some(100), "Succeeded"),
        "the task is done but TOS does not show every object: {current:?}"
    );
    assert!(current.result.is_none());

    task.objects.pop();
    let proven = status_of(&client, &task).await;
    assert_eq!(proven.state, TaskState::Succeeded, "{proven:?}");
    let Some(TaskResult::Export { objects }) = proven.result else {
        panic!("a result");
    };
    assert_eq!(objects[0].key, format!("web01_{WEB}_system.qcow2"));
    assert_eq!(objects[0].size, (50u64 << 30) * 35 / 100);
}

#[tokio::test]
async fn statuses_keep_their_order_and_are_batched_per_region() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let web = one_export(&client, &export_of(WEB, BUCKET, "a1")).await;
    let windows = one_export(&client, &export_of(WINDOWS, BUCKET, "a2")).await;
    let (copies, failures) = start_copy(&client, &copy_of(BIG, &[SHANGHAI]), now()).await;
    assert!(failures.is_empty(), "{failures:?}");
    let mut foreign = web.clone();
    foreign.cloud = Cloud::Alibaba;
    let tasks = vec![web.clone(), copies[0].clone(), foreign, windows.clone()];

    let (tasks_before, images_before) = (
        requests(&emulator, "DescribeTasks"),
        requests(&emulator, "DescribeImages"),
    );
    let answers = status(&client, &tasks).await;
    assert_eq!(answers.len(), 4);
    let first = answers[0].as_ref().expect("web");
    assert_eq!(first.task.task_id, web.task_id);
    let copy = answers[1].as_ref().expect("copy");
    assert_eq!(
        copy.task.destination_image_id,
        copies[0].destination_image_id
    );
    assert!(
        matches!(copy.state, TaskState::Pending | TaskState::Running),
        "{copy:?}"
    );
    assert_eq!(copy.cloud_state, "creating");
    assert!(
        copy.task.task_id.is_some(),
        "the copy task is found for its progress"
    );
    let wrong = answers[2].as_ref().expect_err("another cloud's task");
    assert_eq!(
        (wrong.kind, wrong.code.as_str()),
        (ErrorKind::InvalidRequest, "TaskRef.Invalid")
    );
    assert_eq!(
        answers[3].as_ref().expect("windows").task.task_id,
        windows.task_id
    );
    // Two exports of cn-beijing in one DescribeTasks; the copy needs its destination's
    // DescribeImages and, not yet available, DescribeTasks there.
    assert_eq!(requests(&emulator, "DescribeTasks") - tasks_before, 2);
    assert_eq!(requests(&emulator, "DescribeImages") - images_before, 1);
}

#[tokio::test]
async fn a_copy_to_two_regions_succeeds_on_the_second_finished_answer() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let started_at = now();
    let (tasks, failures) =
        start_copy(&client, &copy_of(WEB, &[SHANGHAI, GUANGZHOU]), started_at).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(tasks.len(), 2);
    for (task, region) in tasks.iter().zip([SHANGHAI, GUANGZHOU]) {
        assert_eq!(
            (task.kind, task.region.as_str(), task.image_id.as_str()),
            (TaskKind::Copy, REGION, WEB)
        );
        assert_eq!(task.destination_region.as_deref(), Some(region));
        assert_eq!((task.started_at, task.confirmations), (started_at, 0));
        let id = task.destination_image_id.as_deref().expect("the new image");
        let world = emulator.world();
        let image = world.image(Cloud::Volcengine, id).expect("emulated");
        assert_eq!(
            (image.spec.region.as_str(), image.spec.name.as_str()),
            (region, "web-copy-2025")
        );
    }
    assert_ne!(tasks[0].destination_image_id, tasks[1].destination_image_id);

    for task in &tasks {
        let seen = poll(&emulator, &client, task, 300.0).await;
        let first_finished = seen
            .iter()
            .position(|s| s.cloud_state == "available")
            .expect("the image becomes available");
        let first = &seen[first_finished];
        assert_eq!(
            (first.state, first.progress, first.task.confirmations),
            (TaskState::Running, Some(100), 1),
            "one finished answer is not enough: {first:?}"
        );
        assert_eq!(seen.len(), first_finished + 2, "the next answer confirms");
        let last = seen.last().expect("final");
        assert_eq!(last.state, TaskState::Succeeded);
        assert_eq!(last.task.confirmations, 2);
        let region = task.destination_region.clone().expect("region");
        let image_id = task.destination_image_id.clone().expect("image");
        assert_eq!(
            last.result,
            Some(TaskResult::Copy {
                images: vec![RegionImage { region, image_id }]
            })
        );
        assert!(
            seen[..first_finished]
                .iter()
                .all(|s| s.task.confirmations == 0)
        );
    }
    assert_eq!(tasks_created(&emulator, "copy"), 2);
    assert_within_rate_limits(&emulator, false);
}

#[tokio::test]
async fn an_unfinished_answer_resets_the_confirmations() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let (tasks, _) = start_copy(&client, &copy_of(BIG, &[SHANGHAI]), now()).await;
    let mut task = tasks[0].clone();
    task.confirmations = 1;
    let current = status_of(&client, &task).await;
    assert!(
        matches!(current.state, TaskState::Pending | TaskState::Running),
        "{current:?}"
    );
    assert_eq!(
        (current.task.confirmations, current.cloud_state.as_str()),
        (0, "creating")
    );
    advance(&emulator, 36_000.0);
    let later = status_of(&client, &current.task).await;
    assert_eq!(later.state, TaskState::Running);
    assert!(
        later.progress.is_some_and(|p| (40..100).contains(&p)),
        "{later:?}"
    );
}

#[tokio::test]
async fn a_failing_image_fails_with_the_cloud_reason() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let export = one_export(&client, &export_of(FAILING, BUCKET, "fail01")).await;
    let seen = poll(&emulator, &client, &export, 300.0).await;
    let last = seen.last().expect("final");
    assert_eq!(
        (last.state, last.cloud_state.as_str()),
        (TaskState::Failed, "Failed"),
        "{last:?}"
    );
    assert_eq!(last.progress, Some(50), "the progress the task reached");
    let reason = last.reason.as_ref().expect("a reason");
    assert_eq!(reason.code.as_deref(), Some("Failed"));
    assert!(
        reason
            .message
            .contains(export.task_id.as_deref().expect("id")),
        "{reason:?}"
    );
    assert!(last.result.is_none());

    let (copies, failures) = start_copy(&client, &copy_of(FAILING, &[SHANGHAI]), now()).await;
    assert!(failures.is_empty(), "{failures:?}");
    let seen = poll(&emulator, &client, &copies[0], 200.0).await;
    let last = seen.last().expect("final");
    assert_eq!(
        (last.state, last.cloud_state.as_str()),
        (TaskState::Failed, "error"),
        "{last:?}"
    );
    let reason = last.reason.as_ref().expect("a reason");
    assert_eq!(reason.code.as_deref(), Some("error"));
    assert!(reason.message.contains("Failed at 50%"), "{reason:?}");
    assert_eq!(last.task.confirmations, 0);
}

#[tokio::test]
async fn refused_starts_keep_the_cloud_code_kind_and_request_id() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let export_cases = [
        (
            MISSING,
            BUCKET,
            ErrorKind::NotFound,
            "InvalidImage.NotFound",
        ),
        (
            ENCRYPTED,
            BUCKET,
            ErrorKind::Unsupported,
            "InvalidImageForExportImage.UnSupported",
        ),
        (
            WEB,
            "imgflow-tos-nosuch",
            ErrorKind::NotFound,
            "InvalidTOSBucket.NotFound",
        ),
        (
            WEB,
            READONLY_BUCKET,
            ErrorKind::Permission,
            "InvalidTosPutObject.AccessDenied",
        ),
        (
            BUSY,
            BUCKET,
            ErrorKind::Conflict,
            "OperationDenied.ResourceLocked",
        ),
        (CREATING, BUCKET, ErrorKind::Conflict, "InvalidImageStatus"),
    ];
    for (image, bucket, kind, code) in export_cases {
        let error = start_export(&client, &export_of(image, bucket, "x1"), now())
            .await
            .expect_err(code);
        assert_cloud_error(&error, kind, code);
    }

    let (tasks, failures) =
        start_copy(&client, &copy_of(BUSY, &[SHANGHAI, GUANGZHOU]), now()).await;
    assert!(tasks.is_empty());
    assert_eq!(failures.len(), 2);
    for (failure, region) in failures.iter().zip([SHANGHAI, GUANGZHOU]) {
        assert_eq!(failure.destination_region.as_deref(), Some(region));
        assert_cloud_error(
            &failure.error,
            ErrorKind::Conflict,
            "OperationDenied.ResourceLocked",
        );
    }
    let (_, failures) = start_copy(&client, &copy_of(MISSING, &[SHANGHAI]), now()).await;
    assert_cloud_error(
        &failures[0].error,
        ErrorKind::NotFound,
        "InvalidImage.NotFound",
    );
    let (_, failures) = start_copy(&client, &copy_of(SHARED, &[SHANGHAI]), now()).await;
    assert_eq!(
        failures[0].error.code,
        "InvalidImageForCopyImage.UnSupported"
    );
    assert!(failures[0].error.request_id.is_some());

    // The Description travels: one the cloud's rule refuses (it must start with a letter).
    let mut described = copy_of(WEB, &[SHANGHAI]);
    described.description = Some("9 starts with a digit".into());
    let (_, failures) = start_copy(&client, &described, now()).await;
    assert_cloud_error(
        &failures[0].error,
        ErrorKind::InvalidRequest,
        "InvalidArgument",
    );

    // One region refused, the other started.
    let (tasks, failures) =
        start_copy(&client, &copy_of(WEB, &["cn-nowhere-1", SHANGHAI]), now()).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].destination_region.as_deref(), Some(SHANGHAI));
    assert_eq!(
        failures[0].destination_region.as_deref(),
        Some("cn-nowhere-1")
    );
    assert_cloud_error(
        &failures[0].error,
        ErrorKind::InvalidRequest,
        "InvalidArgument",
    );

    assert_eq!(tasks_created(&emulator, "export"), 0);
    assert_eq!(tasks_created(&emulator, "copy"), 1);
}

#[tokio::test]
async fn tasks_the_cloud_does_not_know_are_errors() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let export = TaskRef {
        cloud: Cloud::Volcengine,
        region: REGION.into(),
        kind: TaskKind::Export,
        image_id: WEB.into(),
        task_id: Some("t-unknown0000000000000".into()),
        destination_region: None,
        destination_image_id: None,
        objects: vec![ObjectRef {
            bucket: BUCKET.into(),
            key: "k".into(),
        }],
        started_at: now(),
        confirmations: 0,
        skipped: false,
    };
    let copy = TaskRef {
        kind: TaskKind::Copy,
        task_id: None,
        destination_region: Some(SHANGHAI.into()),
        destination_image_id: Some("image-unknown000000000000".into()),
        objects: Vec::new(),
        ..export.clone()
    };
    let answers = status(&client, &[export, copy]).await;
    for answer in answers {
        let error = answer.expect_err("unknown");
        assert_eq!(
            (error.kind, error.code.as_str()),
            (ErrorKind::NotFound, "Task.NotFound"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn status_reads_survive_throttling_server_errors_and_broken_answers() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let export = one_export(&client, &export_of(BIG, BUCKET, "big01")).await;
    let (copies, _) = start_copy(&client, &copy_of(WEB, &[SHANGHAI]), now()).await;
    let copy = copies[0].clone();
    for kind in [
        FaultKind::Throttle,
        FaultKind::ServerError,
        FaultKind::Reset,
        FaultKind::Lost,
        FaultKind::Truncated,
    ] {
        for action in ["DescribeTasks", "DescribeImages"] {
            emulator.add_fault(Fault {
                cloud: Some(Cloud::Volcengine),
                action: Some(action.into()),
                kind,
                times: 1,
                delay_ms: 0,
            });
        }
        let answers = status(&client, &[export.clone(), copy.clone()]).await;
        for answer in &answers {
            let current = answer.as_ref().unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            assert!(!current.state.is_final(), "{kind:?}: {current:?}");
        }
        assert_eq!(
            pending_faults(&emulator).await,
            0,
            "{kind:?} hit both reads"
        );
    }
    assert_within_rate_limits(&emulator, true);
}

fn fault(action: &str, kind: FaultKind) -> Fault {
    Fault {
        cloud: Some(Cloud::Volcengine),
        action: Some(action.into()),
        kind,
        times: 1,
        delay_ms: 0,
    }
}

/// The ids of the export tasks the emulator holds.
fn export_task_ids(emulator: &RunningEmulator) -> Vec<String> {
    emulator
        .world()
        .tasks
        .iter()
        .filter(|task| task.cloud == Cloud::Volcengine)
        .filter(|task| matches!(task.kind, cloud_emulator::world::TaskKind::Export { .. }))
        .map(|task| task.id.clone())
        .collect()
}

#[tokio::test]
async fn a_lost_or_cut_export_answer_adopts_the_one_task_created() {
    for (kind, image) in [(FaultKind::Lost, WEB), (FaultKind::Truncated, DB)] {
        let emulator = emulator().await;
        let client = client(&emulator);
        emulator.add_fault(fault("ExportImage", kind));
        let task = one_export(&client, &export_of(image, BUCKET, "lost01")).await;
        assert_eq!(requests(&emulator, "ExportImage"), 1, "{kind:?}: sent once");
        assert_eq!(tasks_created(&emulator, "export"), 1, "{kind:?}: one task");
        assert_eq!(
            export_task_ids(&emulator),
            [task.task_id.clone().expect("adopted")]
        );
        assert_eq!(task.objects[0].key, format!("lost01_{image}_system.qcow2"));
        let seen = poll(&emulator, &client, &task, 3_000.0).await;
        assert_eq!(
            seen.last().map(|s| s.state),
            Some(TaskState::Succeeded),
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn a_failed_or_reset_export_start_is_an_unknown_outcome_and_never_sent_twice() {
    for kind in [FaultKind::ServerError, FaultKind::Reset] {
        let emulator = emulator().await;
        let client = client(&emulator);
        emulator.add_fault(fault("ExportImage", kind));
        let error = start_export(&client, &export_of(WEB, BUCKET, "reset01"), now())
            .await
            .expect_err("nothing to adopt");
        assert_eq!(error.kind, ErrorKind::UnknownOutcome, "{kind:?}: {error}");
        assert!(!error.retryable);
        if kind == FaultKind::ServerError {
            assert_eq!(error.code, "InternalError", "the cloud's code is kept");
            assert!(error.request_id.is_some(), "{error:?}");
        }
        // The faulted attempt is not counted by the emulator: any count is a repeat.
        assert_eq!(pending_faults(&emulator).await, 0);
        assert_eq!(
            requests(&emulator, "ExportImage"),
            0,
            "{kind:?}: not repeated"
        );
        assert_eq!(tasks_created(&emulator, "export"), 0);
        assert!(
            requests(&emulator, "DescribeTasks") >= 1,
            "{kind:?}: looked for the task"
        );
    }
}

#[tokio::test]
async fn a_throttled_export_start_is_retried_and_starts_once() {
    let emulator = emulator().await;
    let client = client(&emulator);
    emulator.add_fault(fault("ExportImage", FaultKind::Throttle));
    let task = one_export(&client, &export_of(WEB, BUCKET, "slow01")).await;
    // The emulator counts the throttled attempt apart from the accepted one.
    let stats = emulator.world().stats.snapshot();
    let export_stats = &stats.actions["volcengine:ExportImage"];
    assert_eq!((export_stats.requests, export_stats.throttled), (1, 1));
    assert_eq!(tasks_created(&emulator, "export"), 1);
    assert_eq!(export_task_ids(&emulator), [task.task_id.expect("id")]);
}

#[tokio::test]
async fn a_lost_copy_answer_adopts_the_image_created_in_that_region() {
    let emulator = emulator().await;
    let client = client(&emulator);
    emulator.add_fault(fault("CopyImage", FaultKind::Lost));
    let (tasks, failures) = start_copy(&client, &copy_of(WEB, &[SHANGHAI, GUANGZHOU]), now()).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(tasks.len(), 2);
    assert_eq!(
        requests(&emulator, "CopyImage"),
        2,
        "one call per region, none repeated"
    );
    assert_eq!(tasks_created(&emulator, "copy"), 2);
    let lost = &tasks[0];
    let image_id = lost.destination_image_id.as_deref().expect("adopted image");
    {
        let world = emulator.world();
        let image = world
            .image(Cloud::Volcengine, image_id)
            .expect("the copy's image");
        assert_eq!(image.spec.region, SHANGHAI);
        assert_eq!(
            lost.task_id.as_deref(),
            image.made_by.as_deref(),
            "its copy task"
        );
    }
    let seen = poll(&emulator, &client, lost, 600.0).await;
    assert_eq!(seen.last().map(|s| s.state), Some(TaskState::Succeeded));
}

#[tokio::test]
async fn a_failed_copy_start_with_nothing_to_adopt_stays_unknown() {
    let emulator = emulator().await;
    let client = client(&emulator);
    emulator.add_fault(fault("CopyImage", FaultKind::ServerError));
    let (tasks, failures) = start_copy(&client, &copy_of(WEB, &[SHANGHAI]), now()).await;
    assert!(tasks.is_empty());
    let error = &failures[0].error;
    assert_eq!(
        (error.kind, error.code.as_str()),
        (ErrorKind::UnknownOutcome, "InternalError")
    );
    // The faulted attempt is not counted by the emulator: any count is a repeat.
    assert_eq!(pending_faults(&emulator).await, 0);
    assert_eq!(requests(&emulator, "CopyImage"), 0);
    assert_eq!(tasks_created(&emulator, "copy"), 0);
}
