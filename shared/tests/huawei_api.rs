//! Huawei Cloud IMS operations against the emulator: exports and cross-region copies to
//! their end, failures with the cloud's reason, seed error codes, faults survived, and lost
//! start answers that never lead to a second job.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::*;
use cloud_emulator::world::TaskKind as EmulatedTask;
use cloud_emulator::{Fault, FaultKind, RunningEmulator};
use imgflow_shared::Cloud;
use imgflow_shared::client::CloudClient;
use imgflow_shared::error::{CloudError, ErrorKind};
use imgflow_shared::huawei::api;
use imgflow_shared::huawei::request::{CopyImage, ExportImage, FileFormat};
use imgflow_shared::model::{
    ExportedObject, ObjectRef, TaskKind, TaskRef, TaskResult, TaskState, TaskStatus,
};
use imgflow_shared::signing::HttpRequest;
use imgflow_shared::transport::Scheme;

const REGION: &str = "cn-north-4";
const EAST: &str = "cn-east-3";
const SOUTHEAST: &str = "ap-southeast-1";
/// A region the test credentials have no project for.
const NO_PROJECT: &str = "cn-south-1";

const WEB: &str = "4d0ab5e2-3114-578f-81d7-2d843f36e39b";
const DATABASE: &str = "d7cb727a-cfad-513a-bede-a2a0da0cd389";
const ENCRYPTED: &str = "bd3f54c8-756b-5e61-bcc1-d9464c9bcb95";
const WINDOWS: &str = "0fc101bb-c464-587e-b340-f6ca7cc3f49d";
const BUSY: &str = "fec82bc1-fb57-5315-aae8-4cd1a775bf38";
const LARGE: &str = "86d4a640-62c0-5242-bb4d-d269a65a56de";
const FAILS: &str = "1a5c6615-fa49-5428-a91a-5e09f60c4e36";
const UNKNOWN: &str = "00000000-0000-4000-8000-000000000000";

const BUCKET: &str = "imgflow-obs-backup";
const READONLY: &str = "imgflow-obs-readonly";
const GIB: u64 = 1 << 30;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn export_request(image: &str, key: &str) -> ExportImage {
    ExportImage {
        region: REGION.into(),
        image_id: image.into(),
        select: None,
        skip_existing: false,
        bucket: BUCKET.into(),
        object_key: key.into(),
        file_format: Some(FileFormat::Qcow2),
        quick_export: false,
    }
}

fn copy_request(image: &str, destinations: &[&str]) -> CopyImage {
    CopyImage {
        region: REGION.into(),
        image_id: image.into(),
        select: None,
        skip_existing: false,
        destination_regions: destinations.iter().map(|r| (*r).to_owned()).collect(),
        image_name: "web copy 2025".into(),
        description: Some("nightly copy".into()),
        agency_name: "ims_admin_agency".into(),
        vault_id: None,
    }
}

async fn export_one(client: &CloudClient, request: &ExportImage) -> TaskRef {
    request.validate().expect("a valid request");
    let mut tasks = api::start_export(client, request, now())
        .await
        .expect("the export starts");
    assert_eq!(tasks.len(), 1);
    tasks.remove(0)
}

async fn status_one(client: &CloudClient, task: &TaskRef) -> Result<TaskStatus, CloudError> {
    let mut statuses = api::status(client, std::slice::from_ref(task)).await;
    assert_eq!(statuses.len(), 1);
    statuses.remove(0)
}

#[track_caller]
fn assert_cloud_error(error: &CloudError, kind: ErrorKind, code: &str, http_status: u16) {
    assert_eq!(
        (
            error.cloud,
            error.kind,
            error.code.as_str(),
            error.http_status
        ),
        (Cloud::Huawei, kind, code, Some(http_status)),
        "{error}"
    );
    let request_id = error.request_id.as_deref().expect("a request id");
    assert_eq!(request_id.len(), 32, "{request_id}");
    assert!(!error.message.is_empty(), "{error}");
}

/// No action was throttled and none went above its rate limit.
fn assert_within_rate_limits(emulator: &RunningEmulator) {
    assert_eq!(
        assert_rates_kept(emulator, Cloud::Huawei),
        0,
        "no Huawei request was throttled"
    );
}

/// Faults not used yet, from the emulator's control API.
async fn pending_faults(emulator: &RunningEmulator, client: &CloudClient) -> usize {
    let request = HttpRequest::new("GET", emulator.addr.to_string(), "/_emulator/faults");
    let response = client
        .transport()
        .send(Scheme::Http, &request)
        .await
        .expect("the control API answers");
    let pending: Vec<serde_json::Value> =
        serde_json::from_slice(&response.body).expect("a list of faults");
    pending.len()
}

fn tasks_created(emulator: &RunningEmulator, kind: &str) -> u64 {
    let stats = emulator.world().stats.snapshot();
    stats
        .tasks_created
        .get(&format!("huawei:{kind}"))
        .copied()
        .unwrap_or(0)
}

fn requests(emulator: &RunningEmulator, action: &str) -> u64 {
    let stats = emulator.world().stats.snapshot();
    stats
        .actions
        .get(&format!("huawei:{action}"))
        .map_or(0, |a| a.requests)
}

/// The emulator's copy jobs: (job id, destination region, destination image).
fn copy_jobs(emulator: &RunningEmulator) -> Vec<(String, String, String)> {
    let world = emulator.world();
    world
        .tasks
        .iter()
        .filter(|task| task.cloud == Cloud::Huawei)
        .filter_map(|task| match &task.kind {
            EmulatedTask::Copy {
                destination_region,
                destination_image_id,
                ..
            } => Some((
                task.id.clone(),
                destination_region.clone(),
                destination_image_id.clone(),
            )),
            EmulatedTask::Export { .. } => None,
        })
        .collect()
}

#[tokio::test]
async fn an_export_runs_to_its_object_with_progress_on_the_way() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let started_at = now();
    let request = export_request(WEB, "exports/web-2025.qcow2");
    let task = export_one(&client, &request).await;
    assert_eq!(
        (
            task.cloud,
            task.kind,
            task.region.as_str(),
            task.image_id.as_str()
        ),
        (Cloud::Huawei, TaskKind::Export, REGION, WEB)
    );
    assert!(task.started_at >= started_at);
    assert_eq!(
        task.objects,
        [ObjectRef {
            bucket: BUCKET.into(),
            key: "exports/web-2025.qcow2".into()
        }]
    );
    let job_id = task.task_id.clone().expect("the job id");
    {
        // The body reached IMS with its wire names: bucket_url split, file_format kept.
        let world = emulator.world();
        let job = world
            .task(Cloud::Huawei, &job_id)
            .expect("the emulated job");
        let EmulatedTask::Export {
            image_id,
            bucket,
            format,
            objects,
        } = &job.kind
        else {
            panic!("an export job: {job:?}");
        };
        assert_eq!(
            (image_id.as_str(), bucket.as_str(), format.as_str()),
            (WEB, BUCKET, "qcow2")
        );
        assert_eq!(objects[0].key, "exports/web-2025.qcow2");
    }

    let statuses = poll(&emulator, &client, &task, 240.0).await;
    let progress: Vec<u8> = statuses.iter().filter_map(|s| s.progress).collect();
    assert!(
        progress.windows(2).all(|w| w[0] <= w[1]),
        "progress only moves forward: {progress:?}"
    );
    assert!(
        statuses
            .iter()
            .any(|s| s.state == TaskState::Running && matches!(s.progress, Some(1..=99))),
        "a running status with partial progress: {statuses:?}"
    );
    let last = statuses.last().expect("a final status");
    assert_eq!(
        (last.state, last.progress, last.cloud_state.as_str()),
        (TaskState::Succeeded, Some(100), "SUCCESS")
    );
    let size = emulator
        .world()
        .object(BUCKET, "exports/web-2025.qcow2")
        .expect("the object is in the bucket")
        .size;
    assert!(size > 0);
    assert_eq!(
        last.result,
        Some(TaskResult::Export {
            objects: vec![ExportedObject {
                bucket: BUCKET.into(),
                key: "exports/web-2025.qcow2".into(),
                size,
            }]
        })
    );
    assert_within_rate_limits(&emulator);
}

#[tokio::test]
async fn a_quick_export_sends_is_quick_export_without_a_format() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let mut request = export_request(LARGE, "exports/large.zvhd2");
    request.file_format = None;
    request.quick_export = true;
    let task = export_one(&client, &request).await;
    let statuses = poll(&emulator, &client, &task, 1800.0).await;
    let last = statuses.last().expect("final");
    assert_eq!(last.state, TaskState::Succeeded);
    // A quick export copies the zvhd2 disk whole: 200 GiB.
    assert_eq!(
        last.result,
        Some(TaskResult::Export {
            objects: vec![ExportedObject {
                bucket: BUCKET.into(),
                key: "exports/large.zvhd2".into(),
                size: 200 * GIB,
            }]
        })
    );
}

#[tokio::test]
async fn a_finished_job_whose_object_is_missing_is_still_running() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let task = export_one(&client, &export_request(WEB, "exports/late.qcow2")).await;
    advance(&emulator, 7200.0);
    // The object is not visible yet: the job wrote it under another key, as far as OBS shows.
    let hide = |key: &str| {
        let mut world = emulator.world();
        for job in world.tasks.iter_mut() {
            if let EmulatedTask::Export { objects, .. } = &mut job.kind {
                objects[0].key = key.to_owned();
            }
        }
    };
    hide("exports/elsewhere.qcow2");
    let status = status_one(&client, &task).await.expect("a status");
    assert_eq!(
        (status.state, status.progress, status.cloud_state.as_str()),
        (TaskState::Running, Some(100), "SUCCESS")
    );
    assert_eq!(status.result, None);
    hide("exports/late.qcow2");
    let status = status_one(&client, &status.task).await.expect("a status");
    assert_eq!(status.state, TaskState::Succeeded);
}

#[tokio::test]
async fn copies_reach_each_region_and_succeed_on_the_second_finished_answer() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let request = copy_request(WEB, &[EAST, SOUTHEAST]);
    request.validate().expect("valid");
    let (tasks, failures) = api::start_copy(&client, &request, now()).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(tasks.len(), 2);
    let jobs = copy_jobs(&emulator);
    assert_eq!(jobs.len(), 2);
    let mut new_ids = Vec::new();
    for (task, destination) in tasks.iter().zip([EAST, SOUTHEAST]) {
        assert_eq!(
            (
                task.kind,
                task.region.as_str(),
                task.image_id.as_str(),
                task.destination_region.as_deref()
            ),
            (TaskKind::Copy, REGION, WEB, Some(destination))
        );
        let job = task.task_id.as_deref().expect("a job id");
        let (_, region, new_image) = jobs
            .iter()
            .find(|(id, _, _)| id == job)
            .expect("the job exists")
            .clone();
        assert_eq!(region, destination);

        let statuses = poll(&emulator, &client, task, 120.0).await;
        let [.., before_last, last] = statuses.as_slice() else {
            panic!("at least two checks: {statuses:?}");
        };
        assert_eq!(
            (
                before_last.state,
                before_last.progress,
                before_last.task.confirmations
            ),
            (TaskState::Running, Some(100), 1),
            "the first finished answer is not enough"
        );
        assert_eq!(before_last.cloud_state, "active");
        assert_eq!(
            (last.state, last.task.confirmations),
            (TaskState::Succeeded, 2)
        );
        assert!(
            statuses[..statuses.len() - 2]
                .iter()
                .all(|s| s.task.confirmations == 0),
            "unfinished answers keep confirmations at 0: {statuses:?}"
        );
        assert_eq!(last.task.destination_image_id.as_deref(), Some(&*new_image));
        let Some(TaskResult::Copy { images }) = &last.result else {
            panic!("a sync result: {last:?}");
        };
        assert_eq!(images.len(), 1);
        assert_eq!(
            (images[0].region.as_str(), images[0].image_id.as_str()),
            (destination, new_image.as_str())
        );
        let world = emulator.world();
        let image = world
            .image(Cloud::Huawei, &new_image)
            .expect("the new image");
        assert_eq!(
            (image.spec.region.as_str(), image.spec.name.as_str()),
            (destination, "web copy 2025")
        );
        new_ids.push(new_image);
    }
    assert_ne!(new_ids[0], new_ids[1]);
    assert_ne!(new_ids[0], WEB);
    assert_within_rate_limits(&emulator);
}

#[tokio::test]
async fn vault_id_is_sent_and_a_region_without_a_project_is_refused_before_sending() {
    let emulator = emulator().await;
    let client = client(&emulator);
    // A full-ECS image copies only with its vault (IMG.0130 without).
    let mut request = copy_request(DATABASE, &[EAST]);
    let (_, failures) = api::start_copy(&client, &request, now()).await;
    assert_eq!(failures.len(), 1);
    assert_cloud_error(
        &failures[0].error,
        ErrorKind::InvalidRequest,
        "IMG.0130",
        400,
    );
    request.vault_id = Some("3b5816b5-f29c-4172-9d9a-76c719a659ce".into());
    request.destination_regions = vec![EAST.into(), NO_PROJECT.into()];
    let (tasks, failures) = api::start_copy(&client, &request, now()).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].destination_region.as_deref(), Some(EAST));
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].destination_region.as_deref(), Some(NO_PROJECT));
    assert_eq!(
        (failures[0].error.kind, failures[0].error.code.as_str()),
        (ErrorKind::Permission, "Config.NoProject")
    );
    assert_eq!(tasks_created(&emulator, "copy"), 1);
    assert_eq!(requests(&emulator, "CopyImageCrossRegion"), 2);
}

#[tokio::test]
async fn a_failing_image_fails_with_the_jobs_reason() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let export = export_one(&client, &export_request(FAILS, "exports/fails.qcow2")).await;
    let (copies, failures) = api::start_copy(&client, &copy_request(FAILS, &[EAST]), now()).await;
    assert!(failures.is_empty(), "{failures:?}");
    for task in [&export, &copies[0]] {
        let statuses = poll(&emulator, &client, task, 120.0).await;
        let last = statuses.last().expect("final");
        assert_eq!(
            (last.state, last.cloud_state.as_str(), last.progress),
            (TaskState::Failed, "FAIL", Some(50)),
            "{last:?}"
        );
        let reason = last.reason.as_ref().expect("the cloud's reason");
        assert_eq!(reason.code.as_deref(), Some("IMG.0014"));
        assert!(
            reason.message.contains("exception occurred"),
            "{}",
            reason.message
        );
        assert_eq!(last.result, None);
    }
}

#[tokio::test]
async fn seed_errors_keep_the_clouds_code_message_and_request_id() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let start = |request: ExportImage| {
        let client = &client;
        async move {
            api::start_export(client, &request, now())
                .await
                .expect_err("refused")
        }
    };
    let err = start(export_request(UNKNOWN, "exports/a.qcow2")).await;
    assert_cloud_error(&err, ErrorKind::NotFound, "IMG.0027", 404);
    let err = start(export_request(WINDOWS, "exports/b.qcow2")).await;
    assert_cloud_error(&err, ErrorKind::Unsupported, "IMG.0071", 400);
    let mut quick_encrypted = export_request(ENCRYPTED, "exports/c.zvhd2");
    quick_encrypted.file_format = None;
    quick_encrypted.quick_export = true;
    let err = start(quick_encrypted).await;
    assert_cloud_error(&err, ErrorKind::Unsupported, "IMG.0071", 400);
    let mut readonly = export_request(WEB, "exports/d.qcow2");
    readonly.bucket = READONLY.into();
    let err = start(readonly).await;
    assert_cloud_error(&err, ErrorKind::Permission, "IMG.0026", 403);
    let mut unknown_bucket = export_request(WEB, "exports/e.qcow2");
    unknown_bucket.bucket = "no-such-bucket".into();
    let err = start(unknown_bucket).await;
    assert_cloud_error(&err, ErrorKind::NotFound, "IMG.0069", 400);
    let err = start(export_request(BUSY, "exports/f.qcow2")).await;
    assert_cloud_error(&err, ErrorKind::Conflict, "IMG.0148", 400);

    let (tasks, failures) =
        api::start_copy(&client, &copy_request(ENCRYPTED, &[EAST]), now()).await;
    assert!(tasks.is_empty());
    assert_eq!(failures[0].destination_region.as_deref(), Some(EAST));
    assert_cloud_error(&failures[0].error, ErrorKind::Unsupported, "IMG.0105", 400);

    let mut elsewhere = export_request(WEB, "exports/g.qcow2");
    elsewhere.region = NO_PROJECT.into();
    let err = start(elsewhere).await;
    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::Permission, "Config.NoProject")
    );
    assert_eq!(tasks_created(&emulator, "export"), 0);
}

#[tokio::test]
async fn statuses_keep_their_order_and_an_unknown_job_is_an_error() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let task = export_one(&client, &export_request(WEB, "exports/order.qcow2")).await;
    let forgotten = TaskRef {
        task_id: Some("ff8080820000000000000000deadbeef".into()),
        ..task.clone()
    };
    let statuses = api::status(&client, &[task.clone(), forgotten, task.clone()]).await;
    assert_eq!(statuses.len(), 3);
    assert!(statuses[0].is_ok() && statuses[2].is_ok(), "{statuses:?}");
    let err = statuses[1].as_ref().expect_err("unknown job");
    assert_cloud_error(err, ErrorKind::NotFound, "IMG.0121", 404);
}

#[tokio::test]
async fn faults_on_status_reads_are_retried() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let task = export_one(&client, &export_request(WEB, "exports/faults.qcow2")).await;
    let (copies, _) = api::start_copy(&client, &copy_request(WEB, &[EAST]), now()).await;
    let kinds = [
        FaultKind::Throttle,
        FaultKind::ServerError,
        FaultKind::Reset,
        FaultKind::Lost,
        FaultKind::Truncated,
    ];
    for kind in kinds {
        emulator.add_fault(Fault {
            cloud: Some(Cloud::Huawei),
            action: Some("ShowJobProgress".into()),
            kind,
            times: 1,
            delay_ms: 0,
        });
        let status = status_one(&client, &task)
            .await
            .unwrap_or_else(|err| panic!("{kind:?} is survived: {err}"));
        assert_eq!(status.task.task_id, task.task_id);
        assert_eq!(
            pending_faults(&emulator, &client).await,
            0,
            "{kind:?} was used"
        );
    }
    // The copy's image lookup is a read too.
    advance(&emulator, 7200.0);
    for kind in [FaultKind::Reset, FaultKind::Truncated, FaultKind::Throttle] {
        emulator.add_fault(Fault {
            cloud: Some(Cloud::Huawei),
            action: Some("ListImages".into()),
            kind,
            times: 1,
            delay_ms: 0,
        });
        let status = status_one(&client, &copies[0])
            .await
            .unwrap_or_else(|err| panic!("{kind:?} is survived: {err}"));
        assert_eq!(status.cloud_state, "active");
        assert_eq!(
            pending_faults(&emulator, &client).await,
            0,
            "{kind:?} was used"
        );
    }
    let stats = emulator.world().stats.snapshot();
    assert_eq!(stats.actions["huawei:ShowJobProgress"].throttled, 1);
    assert_eq!(stats.actions["huawei:ListImages"].throttled, 1);
}

fn start_fault(action: &str, kind: FaultKind) -> Fault {
    Fault {
        cloud: Some(Cloud::Huawei),
        action: Some(action.into()),
        kind,
        times: 1,
        delay_ms: 0,
    }
}

#[tokio::test]
async fn a_lost_export_answer_is_an_unknown_outcome_and_never_a_second_job() {
    let emulator = emulator().await;
    let client = client(&emulator);
    emulator.add_fault(start_fault("ExportImage", FaultKind::Lost));
    let request = export_request(WEB, "exports/lost.qcow2");
    let err = api::start_export(&client, &request, now())
        .await
        .expect_err("the answer was lost");
    // IMS lists no jobs: the job the lost attempt created cannot be found, so the caller
    // gets the unknown outcome as the client reported it.
    assert_eq!(
        (err.kind, err.code.as_str(), err.retryable),
        (ErrorKind::UnknownOutcome, "Transport.OutcomeUnknown", false)
    );
    assert_eq!(tasks_created(&emulator, "export"), 1);
    assert_eq!(requests(&emulator, "ExportImage"), 1);

    // A server error on a start may have done its work as far as we know: not repeated.
    emulator.add_fault(start_fault("ExportImage", FaultKind::ServerError));
    let other = export_request(DATABASE, "exports/db.qcow2");
    let err = api::start_export(&client, &other, now())
        .await
        .expect_err("a server error");
    assert_eq!(
        (err.kind, err.code.as_str(), err.http_status),
        (ErrorKind::UnknownOutcome, "IMG.0061", Some(500))
    );
    assert!(err.request_id.is_some());
    assert_eq!(tasks_created(&emulator, "export"), 1);
}

#[tokio::test]
async fn a_lost_or_cut_copy_answer_adopts_the_one_copy_it_created() {
    for kind in [FaultKind::Lost, FaultKind::Truncated] {
        let emulator = emulator().await;
        let client = client(&emulator);
        emulator.add_fault(start_fault("CopyImageCrossRegion", kind));
        let (tasks, failures) = api::start_copy(&client, &copy_request(WEB, &[EAST]), now()).await;
        assert!(failures.is_empty(), "{kind:?}: {failures:?}");
        assert_eq!(tasks_created(&emulator, "copy"), 1, "{kind:?}");
        assert_eq!(requests(&emulator, "CopyImageCrossRegion"), 1, "{kind:?}");
        let jobs = copy_jobs(&emulator);
        let task = &tasks[0];
        assert_eq!(task.task_id, None, "{kind:?}: the job id was lost");
        assert_eq!(task.destination_region.as_deref(), Some(EAST));
        assert_eq!(
            task.destination_image_id.as_deref(),
            Some(jobs[0].2.as_str()),
            "{kind:?}"
        );

        // Followed through its image alone, with the same two-answer rule.
        let statuses = poll(&emulator, &client, task, 120.0).await;
        let [.., before_last, last] = statuses.as_slice() else {
            panic!("two checks at least: {statuses:?}");
        };
        assert_eq!(
            (before_last.state, before_last.task.confirmations),
            (TaskState::Running, 1)
        );
        assert_eq!(last.state, TaskState::Succeeded, "{kind:?}");
        assert_eq!(tasks_created(&emulator, "copy"), 1);
    }
}

#[tokio::test]
async fn a_lost_copy_answer_with_two_candidates_stays_unknown() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let started_at = now();
    let request = copy_request(WEB, &[EAST]);
    let (first, _) = api::start_copy(&client, &request, started_at).await;
    assert_eq!(first.len(), 1);
    emulator.add_fault(start_fault("CopyImageCrossRegion", FaultKind::Lost));
    let (tasks, failures) = api::start_copy(&client, &request, started_at).await;
    assert!(tasks.is_empty(), "{tasks:?}");
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].destination_region.as_deref(), Some(EAST));
    assert_eq!(
        (failures[0].error.kind, failures[0].error.code.as_str()),
        (ErrorKind::UnknownOutcome, "Transport.OutcomeUnknown")
    );
    assert_eq!(tasks_created(&emulator, "copy"), 2);
}
