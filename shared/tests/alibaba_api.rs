//! Alibaba Cloud ECS operations against the emulator: exports to OSS and copies followed to
//! their end, failures with ECS's reasons, ECS's error codes, faults the client must survive,
//! lost start answers that must never start a second task, and the request rate.

use crate::common::*;
use cloud_emulator::catalog::{BucketSpec, ImageFlags, ImageSpec, ImageState};
use cloud_emulator::stats::StatsSnapshot;
use cloud_emulator::{Catalog, EmulatorConfig, Fault, FaultKind, RunningEmulator};
use imgflow_shared::Cloud;
use imgflow_shared::alibaba::api;
use imgflow_shared::alibaba::request::{CopyImage, ExportImage, ImageFormat};
use imgflow_shared::client::CloudClient;
use imgflow_shared::error::ErrorKind;
use imgflow_shared::model::{TaskKind, TaskRef, TaskResult, TaskState, TaskStatus};
use imgflow_shared::signing::HttpRequest;
use imgflow_shared::transport::Scheme;
use serde_json::Value;

const REGION: &str = "cn-hangzhou";
const SHANGHAI: &str = "cn-shanghai";
const BEIJING: &str = "cn-beijing";
const BUCKET: &str = "imgflow-oss-backup";
const READONLY_BUCKET: &str = "imgflow-oss-readonly";

const WEB: &str = "m-bp1web000000000000001";
const DB: &str = "m-bp1db0000000000000001";
const MID: &str = "m-bp1mid000000000000001";
const ENCRYPTED: &str = "m-bp1enc000000000000001";
const SHARED: &str = "m-bp1shr000000000000001";
const FAILING: &str = "m-bp1fail00000000000001";
const MISSING: &str = "m-bp1gone00000000000001";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// An emulator whose cloud clock moves only with the real one (1×) and `advance`, so
/// progress can be watched step by step.
async fn slow_emulator() -> RunningEmulator {
    emulator_with(EmulatorConfig {
        time_scale: 1.0,
        ..EmulatorConfig::default()
    })
    .await
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

fn export(image_id: &str) -> ExportImage {
    ExportImage {
        region: REGION.into(),
        image_id: image_id.into(),
        select: None,
        skip_existing: false,
        bucket: BUCKET.into(),
        prefix: Some("exp01".into()),
        format: ImageFormat::Qcow2,
        role_name: None,
        client_token: None,
    }
}

fn copy(image_id: &str, destinations: &[&str]) -> CopyImage {
    CopyImage {
        region: REGION.into(),
        image_id: image_id.into(),
        select: None,
        skip_existing: false,
        destination_regions: destinations.iter().map(|d| (*d).to_owned()).collect(),
        image_name: None,
        description: Some("copied by imgflow".into()),
        client_token: None,
    }
}

fn stats(emulator: &RunningEmulator) -> StatsSnapshot {
    emulator.world().stats.snapshot()
}

fn tasks_created(emulator: &RunningEmulator, kind: &str) -> u64 {
    stats(emulator)
        .tasks_created
        .get(&format!("alibaba:{kind}"))
        .copied()
        .unwrap_or(0)
}

fn requests(emulator: &RunningEmulator, action: &str) -> u64 {
    stats(emulator)
        .actions
        .get(&format!("alibaba:{action}"))
        .map_or(0, |a| a.requests)
}

/// No Alibaba action went over the emulator's rate, and none was throttled by it (beyond
/// `injected` throttles a test asked for).
fn assert_within_limits(emulator: &RunningEmulator, injected: u64) {
    assert_eq!(assert_rates_kept(emulator, Cloud::Alibaba), injected);
}

/// The ids of the Alibaba tasks the emulator holds.
fn emulator_task_ids(emulator: &RunningEmulator) -> Vec<String> {
    emulator
        .world()
        .tasks
        .iter()
        .filter(|task| task.cloud == Cloud::Alibaba)
        .map(|task| task.id.clone())
        .collect()
}

/// Calls `status` until every task is final, carrying each returned TaskRef into the next
/// call and advancing the cloud clock by `step` seconds between calls. Returns every status
/// seen, per task.
async fn follow(
    emulator: &RunningEmulator,
    client: &CloudClient,
    mut tasks: Vec<TaskRef>,
    step: f64,
) -> Vec<Vec<TaskStatus>> {
    let mut history = vec![Vec::new(); tasks.len()];
    for _ in 0..200 {
        let results = api::status(client, &tasks).await;
        assert_eq!(results.len(), tasks.len());
        for (index, result) in results.into_iter().enumerate() {
            let status = result.expect("a status");
            tasks[index] = status.task.clone();
            history[index].push(status);
        }
        if history
            .iter()
            .all(|seen| seen.last().is_some_and(|s| s.state.is_final()))
        {
            return history;
        }
        advance(emulator, step);
    }
    panic!("tasks did not finish: {history:?}");
}

fn final_status(history: &[TaskStatus]) -> &TaskStatus {
    history.last().expect("at least one status")
}

// ---------------------------------------------------------------------------------------
// Exports
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_export_runs_to_completion_with_objects_that_exist() {
    let emulator = slow_emulator().await;
    let client = client(&emulator);
    let started_at = now();
    let tasks = api::start_export(&client, &export(DB), started_at)
        .await
        .expect("the export starts");
    assert_eq!(tasks.len(), 1);
    let task = &tasks[0];
    assert_eq!(
        (
            task.cloud,
            task.kind,
            task.region.as_str(),
            task.image_id.as_str()
        ),
        (Cloud::Alibaba, TaskKind::Export, REGION, DB)
    );
    assert_eq!(
        task.task_id.as_deref(),
        emulator_task_ids(&emulator).first().map(String::as_str)
    );
    assert!(task.objects.is_empty(), "ECS names the objects later");
    assert_eq!(task.started_at, started_at);

    // 300 GiB at 72 s/GiB: 21 600 s, watched in steps of 1 800 s.
    let history = follow(&emulator, &client, tasks, 1_800.0).await;
    let seen = &history[0];
    assert_eq!(seen[0].state, TaskState::Pending, "{:?}", seen[0]);
    assert_eq!(seen[0].cloud_state, "Waiting");
    let progress: Vec<u8> = seen.iter().filter_map(|s| s.progress).collect();
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    let distinct = {
        let mut p = progress.clone();
        p.dedup();
        p.len()
    };
    assert!(distinct >= 5, "progress should move: {progress:?}");
    assert!(
        seen.iter()
            .any(|s| s.cloud_state == "Processing" && s.state == TaskState::Running)
    );

    let done = final_status(seen);
    assert_eq!(done.state, TaskState::Succeeded, "{done:?}");
    assert_eq!(
        (done.cloud_state.as_str(), done.progress),
        ("Finished", Some(100))
    );
    let Some(TaskResult::Export { objects }) = &done.result else {
        panic!("an export result: {done:?}");
    };
    let task_id = done.task.task_id.clone().expect("task id");
    // cn-hangzhou does not honour ImageFormat: the names come from ECS, not from the request.
    let expected = [
        format!("exp01_{DB}_{task_id}.raw"),
        format!("exp01_{DB}_{task_id}_data_xvdb.raw"),
    ];
    let in_bucket = emulator.world().objects(BUCKET);
    assert_eq!(objects.len(), 2);
    for (object, key) in objects.iter().zip(&expected) {
        assert_eq!((object.bucket.as_str(), &object.key), (BUCKET, key));
        assert!(object.size > 0);
        assert_eq!(in_bucket.get(key), Some(&object.size), "{in_bucket:?}");
    }
    assert_eq!(done.task.objects.len(), 2, "the TaskRef now names them");
    assert_eq!(tasks_created(&emulator, "export"), 1);
    assert_within_limits(&emulator, 0);
}

#[tokio::test]
async fn statuses_are_batched_per_region_and_keep_the_callers_order() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let started_at = now();
    let mut tasks = Vec::new();
    for image in [WEB, DB, MID] {
        tasks.extend(
            api::start_export(&client, &export(image), started_at)
                .await
                .expect("starts"),
        );
    }
    let (copies, failures) =
        api::start_copy(&client, &copy(FAILING, &[SHANGHAI, BEIJING]), started_at).await;
    assert!(failures.is_empty(), "{failures:?}");
    let mut broken = tasks[0].clone();
    broken.task_id = None;
    let mixed = vec![
        copies[0].clone(),
        tasks[0].clone(),
        broken,
        tasks[1].clone(),
        copies[1].clone(),
        tasks[2].clone(),
    ];
    let before = (
        requests(&emulator, "DescribeTasks"),
        requests(&emulator, "DescribeImages"),
    );
    let results = api::status(&client, &mixed).await;
    assert_eq!(results.len(), mixed.len());
    for (index, result) in results.iter().enumerate() {
        match (index, result) {
            (2, Err(error)) => assert_eq!(
                (error.kind, error.code.as_str()),
                (ErrorKind::InvalidRequest, "TaskRef.Invalid")
            ),
            (_, Ok(status)) => {
                let asked = &mixed[index];
                assert_eq!(
                    (
                        &status.task.image_id,
                        &status.task.task_id,
                        &status.task.destination_image_id
                    ),
                    (&asked.image_id, &asked.task_id, &asked.destination_image_id)
                );
            }
            (_, Err(error)) => panic!("task {index}: {error}"),
        }
    }
    // One DescribeTasks for the three exports of cn-hangzhou, one DescribeImages per
    // destination region.
    assert_eq!(requests(&emulator, "DescribeTasks") - before.0, 1);
    assert_eq!(requests(&emulator, "DescribeImages") - before.1, 2);
    assert_within_limits(&emulator, 0);
}

#[tokio::test]
async fn a_failing_export_fails_with_ecs_reason() {
    let emulator = slow_emulator().await;
    let client = client(&emulator);
    let tasks = api::start_export(&client, &export(FAILING), now())
        .await
        .expect("starts");
    let history = follow(&emulator, &client, tasks, 300.0).await;
    let failed = final_status(&history[0]);
    assert_eq!(failed.state, TaskState::Failed, "{failed:?}");
    assert_eq!(failed.cloud_state, "Failed");
    let reason = failed.reason.as_ref().expect("a reason");
    assert_eq!(reason.code.as_deref(), Some("ExportImageFailed"));
    assert_eq!(reason.message, "Failed to export image.");
    assert_eq!(
        failed.progress,
        Some(50),
        "ECS keeps the percent it failed at"
    );
    assert!(failed.result.is_none());
    assert_within_limits(&emulator, 0);
}

// ---------------------------------------------------------------------------------------
// Copies
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_copy_to_two_regions_succeeds_on_the_second_finished_answer() {
    let emulator = slow_emulator().await;
    let client = client(&emulator);
    let started_at = now();
    let mut request = copy(WEB, &[SHANGHAI, BEIJING]);
    request.image_name = Some("web-copy".into());
    let (tasks, failures) = api::start_copy(&client, &request, started_at).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(tasks.len(), 2);
    for (task, region) in tasks.iter().zip([SHANGHAI, BEIJING]) {
        assert_eq!(
            (task.kind, task.region.as_str(), task.image_id.as_str()),
            (TaskKind::Copy, REGION, WEB)
        );
        assert_eq!(task.destination_region.as_deref(), Some(region));
        assert_eq!(task.task_id, None, "copies are not tasks on Alibaba");
        let image = task.destination_image_id.as_deref().expect("new image");
        assert_ne!(image, WEB);
    }
    assert_ne!(tasks[0].destination_image_id, tasks[1].destination_image_id);
    assert!(
        tasks[0]
            .destination_image_id
            .as_deref()
            .is_some_and(|id| id.starts_with("m-uf6")),
        "a Shanghai image id: {:?}",
        tasks[0].destination_image_id
    );

    // 50 GiB at 36 s/GiB: 1 800 s, watched in steps of 200 s.
    let history = follow(&emulator, &client, tasks.clone(), 200.0).await;
    for (seen, task) in history.iter().zip(&tasks) {
        let progress: Vec<u8> = seen.iter().filter_map(|s| s.progress).collect();
        assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
        assert!(
            seen.iter()
                .any(|s| s.cloud_state == "Creating" && s.state == TaskState::Running)
        );
        let first_finished = seen
            .iter()
            .position(|s| s.cloud_state == "Available")
            .expect("a finished answer");
        let first = &seen[first_finished];
        assert_eq!(
            (first.state, first.progress, first.task.confirmations),
            (TaskState::Running, Some(100), 1)
        );
        assert!(first.result.is_none());
        let second = &seen[first_finished + 1];
        assert_eq!(second.state, TaskState::Succeeded);
        assert_eq!(second.cloud_state, "Available");
        assert!(
            seen[first_finished + 1..]
                .iter()
                .all(|s| s.state == TaskState::Succeeded),
            "it stays succeeded"
        );
        let Some(TaskResult::Copy { images }) = &second.result else {
            panic!("a sync result: {second:?}");
        };
        assert_eq!(images.len(), 1);
        assert_eq!(
            Some(images[0].region.as_str()),
            task.destination_region.as_deref()
        );
        assert_eq!(
            Some(images[0].image_id.as_str()),
            task.destination_image_id.as_deref()
        );
        // Before the finished answer the count stayed at 0.
        assert!(
            seen[..first_finished]
                .iter()
                .all(|s| s.task.confirmations == 0)
        );
    }
    let world = emulator.world();
    for task in &tasks {
        let image = world
            .images
            .iter()
            .find(|i| Some(i.spec.id.as_str()) == task.destination_image_id.as_deref())
            .expect("the copy exists");
        assert_eq!(
            Some(image.spec.region.as_str()),
            task.destination_region.as_deref()
        );
        assert_eq!(image.spec.name, "web-copy");
    }
    drop(world);
    assert_eq!(tasks_created(&emulator, "copy"), 2);
    assert_within_limits(&emulator, 0);
}

#[tokio::test]
async fn a_failing_copy_fails_with_the_image_state() {
    let emulator = slow_emulator().await;
    let client = client(&emulator);
    let (tasks, failures) = api::start_copy(&client, &copy(FAILING, &[SHANGHAI]), now()).await;
    assert!(failures.is_empty(), "{failures:?}");
    let history = follow(&emulator, &client, tasks, 120.0).await;
    let failed = final_status(&history[0]);
    assert_eq!(failed.state, TaskState::Failed, "{failed:?}");
    assert_eq!(failed.cloud_state, "CreateFailed");
    let reason = failed.reason.as_ref().expect("a reason");
    assert_eq!(reason.code.as_deref(), Some("CreateFailed"));
    assert!(reason.message.contains(FAILING), "{}", reason.message);
    assert_eq!(failed.task.confirmations, 0);
    assert_within_limits(&emulator, 0);
}

#[tokio::test]
async fn a_copy_can_be_cancelled_and_then_is_gone() {
    let emulator = slow_emulator().await;
    let client = client(&emulator);
    let (tasks, _) = api::start_copy(&client, &copy(MID, &[SHANGHAI]), now()).await;
    let task = tasks.first().expect("a copy");
    advance(&emulator, 1_000.0);
    let running = api::status(&client, std::slice::from_ref(task)).await;
    assert_eq!(
        running[0].as_ref().expect("status").state,
        TaskState::Running
    );

    api::cancel_copy(&client, task).await.expect("cancelled");
    let gone = api::status(&client, std::slice::from_ref(task)).await;
    let error = gone[0].as_ref().expect_err("the image is gone");
    assert_eq!(
        (error.kind, error.code.as_str()),
        (ErrorKind::NotFound, "InvalidImageId.NotFound")
    );
    assert!(error.request_id.is_some());

    let again = api::cancel_copy(&client, task)
        .await
        .expect_err("already cancelled");
    assert_eq!(
        (again.kind, again.code.as_str()),
        (ErrorKind::NotFound, "InvalidImageId.NotFound")
    );
    assert!(again.request_id.is_some());

    // A finished copy cannot be cancelled; an export is not a copy.
    let (done, _) = api::start_copy(&client, &copy(WEB, &[BEIJING]), now()).await;
    advance(&emulator, 5_000.0);
    let error = api::cancel_copy(&client, &done[0])
        .await
        .expect_err("finished");
    assert_eq!(
        (error.kind, error.code.as_str()),
        (ErrorKind::Conflict, "IncorrectImageStatus")
    );
    let exports = api::start_export(&client, &export(WEB), now())
        .await
        .expect("starts");
    let error = api::cancel_copy(&client, &exports[0])
        .await
        .expect_err("not a copy");
    assert_eq!(error.code, "TaskRef.Invalid");
    assert_within_limits(&emulator, 0);
}

// ---------------------------------------------------------------------------------------
// ECS's error codes
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn export_errors_keep_ecs_code_message_and_request_id() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let cases = [
        (export(MISSING), ErrorKind::NotFound, "ImageId.NotFound"),
        (
            export(ENCRYPTED),
            ErrorKind::Unsupported,
            "ImageNotSupported",
        ),
        (
            ExportImage {
                bucket: "imgflow-no-such-bucket".into(),
                ..export(WEB)
            },
            ErrorKind::NotFound,
            "OssBucket.NotFound",
        ),
        (
            ExportImage {
                bucket: READONLY_BUCKET.into(),
                ..export(WEB)
            },
            ErrorKind::Permission,
            "ExportImageFailed",
        ),
        (export(SHARED), ErrorKind::Permission, "Forbidden"),
    ];
    for (request, kind, code) in cases {
        let error = api::start_export(&client, &request, now())
            .await
            .expect_err(code);
        assert_eq!(
            (error.cloud, error.kind, error.code.as_str()),
            (Cloud::Alibaba, kind, code)
        );
        assert!(!error.message.is_empty());
        assert!(error.request_id.is_some(), "{error}");
    }
    assert_eq!(tasks_created(&emulator, "export"), 0);
    assert_within_limits(&emulator, 0);
}

#[tokio::test]
async fn copy_errors_are_per_region_failures_with_ecs_code() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let (tasks, failures) =
        api::start_copy(&client, &copy(SHARED, &[SHANGHAI, BEIJING]), now()).await;
    assert!(tasks.is_empty());
    assert_eq!(failures.len(), 2);
    for (failure, region) in failures.iter().zip([SHANGHAI, BEIJING]) {
        assert_eq!(failure.destination_region.as_deref(), Some(region));
        assert_eq!(
            (failure.error.kind, failure.error.code.as_str()),
            (ErrorKind::Conflict, "OperationDenied.SameRegionOnly")
        );
        assert!(failure.error.request_id.is_some());
    }
    let (_, failures) = api::start_copy(&client, &copy(MISSING, &[SHANGHAI]), now()).await;
    assert_eq!(
        (failures[0].error.kind, failures[0].error.code.as_str()),
        (ErrorKind::NotFound, "InvalidImageId.NotFound")
    );
    // One region fails, the other starts.
    let (tasks, failures) =
        api::start_copy(&client, &copy(WEB, &["cn-atlantis", SHANGHAI]), now()).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].destination_region.as_deref(), Some(SHANGHAI));
    assert_eq!(
        failures[0].destination_region.as_deref(),
        Some("cn-atlantis")
    );
    assert_eq!(failures[0].error.code, "DestinationRegion.NotFound");
    assert_within_limits(&emulator, 0);
}

#[tokio::test]
async fn tasks_ecs_does_not_know_are_errors() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let export_ref = TaskRef {
        cloud: Cloud::Alibaba,
        region: REGION.into(),
        kind: TaskKind::Export,
        image_id: WEB.into(),
        task_id: Some("t-bp1unknowntask000000".into()),
        destination_region: None,
        destination_image_id: None,
        objects: vec![],
        started_at: now(),
        confirmations: 0,
        skipped: false,
    };
    let copy_ref = TaskRef {
        kind: TaskKind::Copy,
        task_id: None,
        destination_region: Some(SHANGHAI.into()),
        destination_image_id: Some("m-uf6unknownimage00000".into()),
        ..export_ref.clone()
    };
    let other_cloud = TaskRef {
        cloud: Cloud::Tencent,
        ..export_ref.clone()
    };
    let results = api::status(&client, &[export_ref, copy_ref, other_cloud]).await;
    let errors: Vec<_> = results
        .iter()
        .map(|r| r.as_ref().expect_err("unknown"))
        .collect();
    assert_eq!(
        (errors[0].kind, errors[0].code.as_str()),
        (ErrorKind::NotFound, "InvalidTaskId.NotFound")
    );
    assert_eq!(
        (errors[1].kind, errors[1].code.as_str()),
        (ErrorKind::NotFound, "InvalidImageId.NotFound")
    );
    assert!(errors[0].request_id.is_some() && errors[1].request_id.is_some());
    assert_eq!(errors[2].code, "TaskRef.Invalid");
}

// ---------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------

/// The fault rules that still have uses left, from the control API.
async fn pending_faults(emulator: &RunningEmulator, client: &CloudClient) -> Vec<Value> {
    let host = emulator.base_url.trim_start_matches("http://");
    let request = HttpRequest::new("GET", host, "/_emulator/faults");
    let response = client
        .transport()
        .send(Scheme::Http, &request)
        .await
        .expect("the control API answers");
    serde_json::from_slice(&response.body).expect("a JSON list")
}

fn fault(action: &str, kind: FaultKind, times: u32) -> Fault {
    Fault {
        cloud: Some(Cloud::Alibaba),
        action: Some(action.into()),
        kind,
        times,
        delay_ms: 0,
    }
}

#[tokio::test]
async fn throttling_and_server_errors_on_status_calls_are_retried() {
    let emulator = slow_emulator().await;
    let client = client(&emulator);
    let exports = api::start_export(&client, &export(MID), now())
        .await
        .expect("starts");
    let (copies, _) = api::start_copy(&client, &copy(DB, &[SHANGHAI]), now()).await;
    advance(&emulator, 1_000.0);
    let tasks = [exports[0].clone(), copies[0].clone()];

    emulator.add_fault(fault("DescribeTasks", FaultKind::Throttle, 2));
    emulator.add_fault(fault("DescribeTaskAttribute", FaultKind::ServerError, 2));
    emulator.add_fault(fault("DescribeImages", FaultKind::Throttle, 1));
    emulator.add_fault(fault("DescribeImages", FaultKind::ServerError, 1));
    let results = api::status(&client, &tasks).await;
    for result in &results {
        let status = result.as_ref().expect("survived");
        assert_eq!(status.state, TaskState::Running, "{status:?}");
    }
    assert!(
        pending_faults(&emulator, &client).await.is_empty(),
        "every fault was met"
    );
    assert_within_limits(&emulator, 3);
}

#[tokio::test]
async fn resets_lost_and_cut_answers_on_status_calls_are_retried() {
    let emulator = slow_emulator().await;
    let client = client(&emulator);
    let exports = api::start_export(&client, &export(MID), now())
        .await
        .expect("starts");
    let (copies, _) = api::start_copy(&client, &copy(DB, &[SHANGHAI]), now()).await;
    advance(&emulator, 1_000.0);
    let tasks = [exports[0].clone(), copies[0].clone()];
    for kind in [FaultKind::Reset, FaultKind::Lost, FaultKind::Truncated] {
        for action in ["DescribeTasks", "DescribeTaskAttribute", "DescribeImages"] {
            emulator.add_fault(fault(action, kind, 1));
        }
        let results = api::status(&client, &tasks).await;
        for result in &results {
            let status = result.as_ref().unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            assert!(!status.state.is_final(), "{status:?}");
        }
        assert!(
            pending_faults(&emulator, &client).await.is_empty(),
            "{kind:?} was met"
        );
    }
    assert_within_limits(&emulator, 0);
}

// ---------------------------------------------------------------------------------------
// Lost start answers: never a second task
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_lost_export_answer_is_adopted_not_repeated() {
    for kind in [FaultKind::Lost, FaultKind::Truncated] {
        let emulator = emulator().await;
        let client = client(&emulator);
        emulator.add_fault(fault("ExportImage", kind, 1));
        let tasks = api::start_export(&client, &export(DB), now())
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: the lost task is found again: {e}"));
        assert_eq!(tasks_created(&emulator, "export"), 1, "{kind:?}");
        assert_eq!(requests(&emulator, "ExportImage"), 1, "{kind:?}: sent once");
        let created = emulator_task_ids(&emulator);
        assert_eq!(tasks[0].task_id.as_ref(), created.first(), "{kind:?}");
        // The adopted task is followed like any other.
        let history = follow(&emulator, &client, tasks, 3_600.0).await;
        assert_eq!(final_status(&history[0]).state, TaskState::Succeeded);
        assert_within_limits(&emulator, 0);
    }
}

#[tokio::test]
async fn an_unclear_export_with_nothing_to_find_stays_an_unknown_outcome() {
    let emulator = emulator().await;
    let client = client(&emulator);
    emulator.add_fault(fault("ExportImage", FaultKind::ServerError, 1));
    let error = api::start_export(&client, &export(WEB), now())
        .await
        .expect_err("unknown outcome");
    assert_eq!(
        (error.kind, error.code.as_str(), error.http_status),
        (ErrorKind::UnknownOutcome, "InternalError", Some(500))
    );
    assert!(error.request_id.is_some(), "ECS's error as it came");
    assert_eq!(tasks_created(&emulator, "export"), 0);
    assert!(requests(&emulator, "DescribeTasks") >= 1, "it looked");
    assert_within_limits(&emulator, 0);
}

#[tokio::test]
async fn a_lost_export_answer_with_a_client_token_is_repeated_safely() {
    let emulator = emulator().await;
    let client = client(&emulator);
    emulator.add_fault(fault("ExportImage", FaultKind::Lost, 2));
    let request = ExportImage {
        client_token: Some("job-42".into()),
        ..export(WEB)
    };
    let tasks = api::start_export(&client, &request, now())
        .await
        .expect("starts");
    assert_eq!(tasks_created(&emulator, "export"), 1);
    assert_eq!(
        requests(&emulator, "ExportImage"),
        3,
        "re-sent with the same token"
    );
    assert_eq!(
        tasks[0].task_id.as_ref(),
        emulator_task_ids(&emulator).first()
    );
    // Starting the same job again returns the same task.
    let again = api::start_export(&client, &request, now())
        .await
        .expect("same");
    assert_eq!(again[0].task_id, tasks[0].task_id);
    assert_eq!(tasks_created(&emulator, "export"), 1);
    assert_within_limits(&emulator, 0);
}

#[tokio::test]
async fn a_lost_copy_answer_is_adopted_not_repeated() {
    let emulator = emulator().await;
    let client = client(&emulator);
    emulator.add_fault(fault("CopyImage", FaultKind::Lost, 1));
    let (tasks, failures) = api::start_copy(&client, &copy(WEB, &[SHANGHAI, BEIJING]), now()).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(tasks.len(), 2);
    assert_eq!(
        tasks_created(&emulator, "copy"),
        2,
        "one per region, none twice"
    );
    assert_eq!(requests(&emulator, "CopyImage"), 2);
    let copies: Vec<String> = emulator
        .world()
        .images
        .iter()
        .filter(|image| image.made_by.is_some())
        .map(|image| image.spec.id.clone())
        .collect();
    for task in &tasks {
        let id = task.destination_image_id.clone().expect("an image");
        assert!(copies.contains(&id), "{id} in {copies:?}");
    }
    let history = follow(&emulator, &client, tasks, 600.0).await;
    assert!(
        history
            .iter()
            .all(|seen| final_status(seen).state == TaskState::Succeeded)
    );
    assert_within_limits(&emulator, 0);
}

#[tokio::test]
async fn a_lost_copy_answer_with_a_client_token_is_repeated_safely() {
    let emulator = emulator().await;
    let client = client(&emulator);
    emulator.add_fault(fault("CopyImage", FaultKind::Lost, 1));
    emulator.add_fault(fault("CopyImage", FaultKind::Truncated, 1));
    let request = CopyImage {
        client_token: Some("job-7".into()),
        ..copy(WEB, &[SHANGHAI])
    };
    let (tasks, failures) = api::start_copy(&client, &request, now()).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(tasks_created(&emulator, "copy"), 1);
    assert_eq!(requests(&emulator, "CopyImage"), 3);
    let (again, _) = api::start_copy(&client, &request, now()).await;
    assert_eq!(again[0].destination_image_id, tasks[0].destination_image_id);
    assert_eq!(tasks_created(&emulator, "copy"), 1);
    assert_within_limits(&emulator, 0);
}

// ---------------------------------------------------------------------------------------
// Every request field goes out under its ECS name
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn every_request_field_reaches_ecs() {
    const SINGAPORE: &str = "ap-southeast-1";
    const SG_IMAGE: &str = "m-t4nweb000000000000001";
    const SG_BUCKET: &str = "imgflow-oss-singapore";
    let mut catalog = Catalog::default_catalog();
    catalog.images.push(ImageSpec {
        cloud: Cloud::Alibaba,
        account: "default".into(),
        region: SINGAPORE.into(),
        id: SG_IMAGE.into(),
        name: "web-singapore".into(),
        size_gb: 20,
        data_disks_gb: vec![],
        os_type: "linux".into(),
        state: ImageState::Available,
        flags: ImageFlags::default(),
        tags: Default::default(),
    });
    catalog.buckets.push(BucketSpec {
        cloud: Cloud::Alibaba,
        account: "default".into(),
        region: SINGAPORE.into(),
        name: SG_BUCKET.into(),
        writable: true,
    });
    let emulator = emulator_with(EmulatorConfig {
        catalog,
        time_scale: 3600.0,
        ..EmulatorConfig::default()
    })
    .await;
    let client = client(&emulator);

    // Singapore honours ImageFormat: the object is a qcow2 about a third of the disk, under
    // the prefix, written by the named role.
    let request = ExportImage {
        region: SINGAPORE.into(),
        image_id: SG_IMAGE.into(),
        select: None,
        skip_existing: false,
        bucket: SG_BUCKET.into(),
        prefix: Some("sg2025".into()),
        format: ImageFormat::Qcow2,
        role_name: Some("AliyunECSImageExportDefaultRole".into()),
        client_token: Some("job-sg".into()),
    };
    let tasks = api::start_export(&client, &request, now())
        .await
        .expect("starts");
    let history = follow(&emulator, &client, tasks, 3_600.0).await;
    let done = final_status(&history[0]);
    let Some(TaskResult::Export { objects }) = &done.result else {
        panic!("an export result: {done:?}");
    };
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].bucket, SG_BUCKET);
    assert!(objects[0].key.starts_with("sg2025_"), "{}", objects[0].key);
    assert!(objects[0].key.ends_with(".qcow2"), "{}", objects[0].key);
    assert!(
        objects[0].size < 20 << 30,
        "compressed: {}",
        objects[0].size
    );
    let token_reused = ExportImage {
        image_id: WEB.into(),
        select: None,
        region: REGION.into(),
        bucket: BUCKET.into(),
        ..request.clone()
    };
    let error = api::start_export(&client, &token_reused, now())
        .await
        .expect_err("the token was sent");
    assert_eq!(error.code, "IdempotenceParamNotMatch");

    // A role ECS does not accept, and a description it refuses, prove both go out.
    let other_role = ExportImage {
        role_name: Some("SomeOtherRole".into()),
        ..export(WEB)
    };
    let error = api::start_export(&client, &other_role, now())
        .await
        .expect_err("role");
    assert_eq!(error.code, "ExportImageFailed");
    let bad_description = CopyImage {
        description: Some("x".into()),
        ..copy(WEB, &[SHANGHAI])
    };
    let (_, failures) = api::start_copy(&client, &bad_description, now()).await;
    assert_eq!(failures[0].error.code, "InvalidDescription.Malformed");
    assert_within_limits(&emulator, 0);
}

#[tokio::test]
async fn batches_stop_at_one_hundred_ids() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let exports = (0..150).map(|n| TaskRef {
        cloud: Cloud::Alibaba,
        region: REGION.into(),
        kind: TaskKind::Export,
        image_id: WEB.into(),
        task_id: Some(format!("t-bp1unknown{n:010}")),
        destination_region: None,
        destination_image_id: None,
        objects: vec![],
        started_at: now(),
        confirmations: 0,
        skipped: false,
    });
    let copies = (0..150).map(|n| TaskRef {
        cloud: Cloud::Alibaba,
        region: REGION.into(),
        kind: TaskKind::Copy,
        image_id: WEB.into(),
        task_id: None,
        destination_region: Some(SHANGHAI.into()),
        destination_image_id: Some(format!("m-uf6unknown{n:010}")),
        objects: vec![],
        started_at: now(),
        confirmations: 0,
        skipped: false,
    });
    let tasks: Vec<TaskRef> = exports.chain(copies).collect();
    let results = api::status(&client, &tasks).await;
    assert_eq!(results.len(), 300);
    for result in &results {
        // ECS accepted every batch (more than 100 ids would be InvalidParameter) and listed
        // none of these.
        assert_eq!(
            result.as_ref().expect_err("unknown").kind,
            ErrorKind::NotFound
        );
    }
    assert_eq!(requests(&emulator, "DescribeTasks"), 2);
    assert_eq!(requests(&emulator, "DescribeImages"), 2);
    assert_within_limits(&emulator, 0);
}
