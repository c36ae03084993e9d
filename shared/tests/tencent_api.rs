//! Tencent operations against the emulator: exports proven by their COS objects, copies
//! confirmed twice on the destination image, failures in the cloud's words, the seed's error
//! codes, faults survived, and lost start answers adopted (copies) or reported unknown
//! (exports) rather than repeated.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::*;
use cloud_emulator::world::{Image, Phase, TaskKind as EmulatedKind};
use cloud_emulator::{EmulatorConfig, Fault, FaultKind, RunningEmulator};
use imgflow_shared::Cloud;
use imgflow_shared::client::CloudClient;
use imgflow_shared::error::{CloudError, ErrorKind};
use imgflow_shared::model::{RegionImage, TaskKind, TaskRef, TaskResult, TaskState, TaskStatus};
use imgflow_shared::signing::HttpRequest;
use imgflow_shared::tencent::api::{start_copy, start_export, status};
use imgflow_shared::tencent::request::{ExportFormat, ExportImages, SyncImages};
use imgflow_shared::transport::{Scheme, Transport};

const REGION: &str = "ap-guangzhou";
const SHANGHAI: &str = "ap-shanghai";
const BEIJING: &str = "ap-beijing";
const BUCKET: &str = "imgflow-backup-1250000000";
const READONLY_BUCKET: &str = "imgflow-readonly-1250000000";
const MISSING_BUCKET: &str = "nosuch-1250000000";

const WEB: &str = "img-web00001";
const DB: &str = "img-db000001";
const ENCRYPTED: &str = "img-enc00001";
const WINDOWS: &str = "img-win00001";
const BUSY: &str = "img-busy0001";
const BIG: &str = "img-big00001";
const MID: &str = "img-mid00001";
const FAILING: &str = "img-fail0001";
const OTHER_ACCOUNT: &str = "img-oth00001";
const MISSING: &str = "img-none0001";

const GIB: u64 = 1 << 30;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// An emulator whose cloud clock only moves when a test advances it, so progress is exact.
async fn still_emulator() -> RunningEmulator {
    emulator_with(EmulatorConfig {
        time_scale: 1.0,
        ..EmulatorConfig::default()
    })
    .await
}

fn export_of(images: &[&str], bucket: &str) -> ExportImages {
    let request = ExportImages {
        region: REGION.into(),
        bucket: bucket.into(),
        image_ids: images.iter().map(|i| (*i).to_owned()).collect(),
        select: None,
        skip_existing: false,
        format: ExportFormat::Qcow2,
        file_name_prefixes: Vec::new(),
        only_export_root_disk: false,
        dry_run: false,
        role_name: None,
    };
    request.validate().expect("a valid request");
    request
}

fn sync_of(image: &str, destinations: &[&str], name: Option<&str>) -> SyncImages {
    let request = SyncImages {
        region: REGION.into(),
        image_id: image.into(),
        select: None,
        skip_existing: false,
        destination_regions: destinations.iter().map(|d| (*d).to_owned()).collect(),
        image_name: name.map(str::to_owned),
        image_set_required: true,
        dry_run: false,
    };
    request.validate().expect("a valid request");
    request
}

/// Checks every task in one status call until all are final, advancing the cloud clock by
/// `step` seconds between checks; returns the statuses seen, per task, up to its final one.
async fn poll_together(
    emulator: &RunningEmulator,
    client: &CloudClient,
    tasks: &[TaskRef],
    step: f64,
) -> Vec<Vec<TaskStatus>> {
    let mut current: Vec<TaskRef> = tasks.to_vec();
    let mut seen: Vec<Vec<TaskStatus>> = vec![Vec::new(); tasks.len()];
    for _ in 0..200 {
        let open: Vec<usize> = (0..tasks.len())
            .filter(|i| !seen[*i].last().is_some_and(|s| s.state.is_final()))
            .collect();
        if open.is_empty() {
            return seen;
        }
        let asked: Vec<TaskRef> = open.iter().map(|i| current[*i].clone()).collect();
        for (index, answer) in open.iter().zip(status(client, &asked).await) {
            let answer = answer.expect("a status");
            current[*index] = answer.task.clone();
            seen[*index].push(answer);
        }
        advance(emulator, step);
    }
    panic!("not all final after 200 checks");
}

fn requests(emulator: &RunningEmulator, action: &str) -> u64 {
    emulator
        .world()
        .stats
        .snapshot()
        .actions
        .get(&format!("tencent:{action}"))
        .map_or(0, |stats| stats.requests)
}

fn tasks_created(emulator: &RunningEmulator, kind: &str) -> u64 {
    emulator
        .world()
        .stats
        .snapshot()
        .tasks_created
        .get(&format!("tencent:{kind}"))
        .copied()
        .unwrap_or(0)
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

fn fault(action: &str, kind: FaultKind, times: u32) -> Fault {
    Fault {
        cloud: Some(Cloud::Tencent),
        action: Some(action.into()),
        kind,
        times,
        delay_ms: 0,
    }
}

/// The destination images the emulator made as copies of `source`, by region.
fn copies_in_world(emulator: &RunningEmulator, source: &str) -> Vec<(String, String)> {
    let world = emulator.world();
    let mut copies: Vec<(String, String)> = world
        .tasks
        .iter()
        .filter(|task| task.cloud == Cloud::Tencent)
        .filter_map(|task| match &task.kind {
            EmulatedKind::Copy {
                image_id,
                destination_region,
                destination_image_id,
            } if image_id == source => {
                Some((destination_region.clone(), destination_image_id.clone()))
            }
            _ => None,
        })
        .collect();
    copies.sort();
    copies
}

/// No Tencent action went over its rate, and (in a run without injected throttling)
/// nothing was throttled.
fn assert_within_rate_limits(emulator: &RunningEmulator, expect_throttled: bool) {
    let throttled = assert_rates_kept(emulator, Cloud::Tencent);
    if !expect_throttled {
        assert_eq!(throttled, 0, "no Tencent request was throttled");
    }
}

fn assert_cloud_error(error: &CloudError, kind: ErrorKind, code: &str) {
    assert_eq!(
        (error.cloud, error.kind, error.code.as_str()),
        (Cloud::Tencent, kind, code),
        "{error}"
    );
    assert!(
        error.request_id.as_deref().is_some_and(|id| id.len() == 36),
        "the cloud's request id is kept: {error:?}"
    );
    assert!(!error.message.is_empty(), "{error:?}");
}

#[tokio::test]
async fn an_export_of_two_images_succeeds_once_every_object_exists() {
    let emulator = still_emulator().await;
    let client = client(&emulator);
    let mut request = export_of(&[WEB, DB], BUCKET);
    request.file_name_prefixes = vec!["nightly".into(), String::new()];
    let started_at = now();
    let tasks = start_export(&client, &request, started_at)
        .await
        .expect("the export starts");
    assert_eq!(tasks.len(), 2, "one TaskRef per image: {tasks:?}");
    let task_id = tasks[0].task_id.clone().expect("the call's TaskId");
    assert!(
        task_id.parse::<u64>().is_ok(),
        "an integer TaskId: {task_id}"
    );
    for (task, image) in tasks.iter().zip([WEB, DB]) {
        assert_eq!(
            (
                task.cloud,
                task.kind,
                task.region.as_str(),
                task.image_id.as_str()
            ),
            (Cloud::Tencent, TaskKind::Export, REGION, image)
        );
        assert_eq!(task.task_id.as_deref(), Some(task_id.as_str()));
        assert_eq!(task.started_at, started_at);
        assert!(task.objects.iter().all(|o| o.bucket == BUCKET));
    }
    let keys =
        |task: &TaskRef| -> Vec<String> { task.objects.iter().map(|o| o.key.clone()).collect() };
    let web_keys = keys(&tasks[0]);
    assert_eq!(web_keys.len(), 1, "{web_keys:?}");
    assert!(
        web_keys[0].starts_with(&format!("nightly_{WEB}_system_"))
            && web_keys[0].ends_with(".qcow2"),
        "{web_keys:?}"
    );
    let db_keys = keys(&tasks[1]);
    assert_eq!(db_keys.len(), 2, "system and data disk: {db_keys:?}");
    assert!(
        db_keys[0].starts_with(&format!("{DB}_system_")),
        "{db_keys:?}"
    );
    assert!(
        db_keys[1].starts_with(&format!("{DB}_data_")),
        "{db_keys:?}"
    );

    // Both sources in one DescribeImages; no progress, since CVM reports none for exports.
    let before = requests(&emulator, "DescribeImages");
    let first = status(&client, &tasks).await;
    assert_eq!(requests(&emulator, "DescribeImages"), before + 1);
    for answer in &first {
        let current = answer.as_ref().expect("a status");
        assert_eq!(
            (
                current.state,
                current.progress,
                current.cloud_state.as_str()
            ),
            (TaskState::Running, None, "NORMAL")
        );
    }

    let web = poll(&emulator, &client, &tasks[0], 600.0).await;
    let db = poll(&emulator, &client, &tasks[1], 600.0).await;
    let bucket = emulator.world().objects(BUCKET);
    for (seen, task) in [(&web, &tasks[0]), (&db, &tasks[1])] {
        let last = seen.last().expect("statuses");
        assert_eq!(last.state, TaskState::Succeeded, "{last:?}");
        assert!(
            seen[..seen.len() - 1]
                .iter()
                .all(|s| s.state == TaskState::Running)
        );
        let Some(TaskResult::Export { objects }) = &last.result else {
            panic!("an export result: {last:?}");
        };
        assert_eq!(objects.len(), task.objects.len());
        for (object, expected) in objects.iter().zip(&task.objects) {
            assert_eq!(
                (&object.bucket, &object.key),
                (&expected.bucket, &expected.key)
            );
            assert!(object.size > 0);
            assert_eq!(
                bucket.get(&object.key),
                Some(&object.size),
                "{object:?} is in the bucket"
            );
        }
    }
    let Some(TaskResult::Export { objects }) = &web.last().expect("statuses").result else {
        unreachable!()
    };
    assert_eq!(
        objects[0].size,
        (50.0 * GIB as f64 * 0.35) as u64,
        "qcow2 of 50 GiB"
    );
    // The larger image took longer: the web export finished first.
    assert!(db.len() > 1);
    assert_within_rate_limits(&emulator, false);
}

#[tokio::test]
async fn every_export_parameter_reaches_the_cloud() {
    let emulator = emulator().await;
    let client = client(&emulator);
    // Root disk only, RAW, the documented role: one object, `.raw`.
    let mut request = export_of(&[DB], BUCKET);
    request.format = ExportFormat::Raw;
    request.only_export_root_disk = true;
    request.role_name = Some("CVM_QcsRole".into());
    let tasks = start_export(&client, &request, now())
        .await
        .expect("starts");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].objects.len(), 1, "{tasks:?}");
    let key = &tasks[0].objects[0].key;
    assert!(
        key.starts_with(&format!("{DB}_system_")) && key.ends_with(".raw"),
        "{key}"
    );

    // A role the account lacks: the cloud's refusal proves RoleName is sent.
    let mut request = export_of(&[WEB], BUCKET);
    request.role_name = Some("SomeOtherRole".into());
    let err = start_export(&client, &request, now())
        .await
        .expect_err("refused");
    assert_cloud_error(
        &err,
        ErrorKind::Permission,
        "AuthFailure.CamRoleNameAuthenticateFailed",
    );

    // A dry run that passes starts nothing.
    let mut request = export_of(&[WEB], BUCKET);
    request.dry_run = true;
    let tasks = start_export(&client, &request, now())
        .await
        .expect("a passing dry run");
    assert!(tasks.is_empty());
    assert_eq!(
        tasks_created(&emulator, "export"),
        1,
        "only the root-disk export"
    );
    assert_within_rate_limits(&emulator, false);
}

#[tokio::test]
async fn a_copy_to_two_regions_succeeds_on_the_second_finished_answer() {
    let emulator = still_emulator().await;
    let client = client(&emulator);
    let started_at = now();
    let (tasks, failures) = start_copy(
        &client,
        &sync_of(WEB, &[SHANGHAI, BEIJING], Some("web-copy-2025")),
        started_at,
    )
    .await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(tasks.len(), 2);
    let made = copies_in_world(&emulator, WEB);
    for task in &tasks {
        let region = task.destination_region.clone().expect("a destination");
        let id = task.destination_image_id.clone().expect("the new image id");
        assert_ne!(id, WEB);
        assert!(
            made.contains(&(region.clone(), id.clone())),
            "{made:?} has {region}/{id}"
        );
        assert_eq!(
            (
                task.cloud,
                task.kind,
                task.region.as_str(),
                task.image_id.as_str()
            ),
            (Cloud::Tencent, TaskKind::Copy, REGION, WEB)
        );
        assert_eq!((task.started_at, task.confirmations), (started_at, 0));
    }
    assert_eq!(
        tasks
            .iter()
            .map(|t| t.destination_region.as_deref())
            .collect::<Vec<_>>(),
        [Some(SHANGHAI), Some(BEIJING)]
    );
    assert_ne!(tasks[0].destination_image_id, tasks[1].destination_image_id);

    // One DescribeImages per destination region.
    let before = requests(&emulator, "DescribeImages");
    let both = status(&client, &tasks).await;
    assert_eq!(requests(&emulator, "DescribeImages"), before + 2);
    assert!(
        both.iter()
            .all(|s| s.as_ref().is_ok_and(|s| s.cloud_state == "SYNCING"))
    );

    let histories = poll_together(&emulator, &client, &tasks, 300.0).await;
    for (task, seen) in tasks.iter().zip(&histories) {
        let progress: Vec<u8> = seen.iter().filter_map(|s| s.progress).collect();
        assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
        assert!(
            seen.iter().any(|s| s.cloud_state == "SYNCING"
                && s.progress.is_some_and(|p| p > 0 && p < 100)),
            "progress was seen moving: {seen:?}"
        );
        let [.., first_done, last] = seen.as_slice() else {
            panic!("at least two checks: {seen:?}");
        };
        assert_eq!(
            (
                first_done.state,
                first_done.progress,
                first_done.task.confirmations,
                first_done.cloud_state.as_str()
            ),
            (TaskState::Running, Some(100), 1, "NORMAL")
        );
        assert_eq!(last.state, TaskState::Succeeded, "{last:?}");
        assert_eq!(
            last.result,
            Some(TaskResult::Copy {
                images: vec![RegionImage {
                    region: task.destination_region.clone().expect("region"),
                    image_id: task.destination_image_id.clone().expect("id"),
                }]
            })
        );
    }
    assert_within_rate_limits(&emulator, false);
}

#[tokio::test]
async fn an_unfinished_answer_resets_the_confirmations() {
    let emulator = still_emulator().await;
    let client = client(&emulator);
    let (tasks, _) = start_copy(&client, &sync_of(WEB, &[SHANGHAI], None), now()).await;
    let mut task = tasks[0].clone();
    task.confirmations = 1;
    let current = status_of(&client, &task).await;
    assert_eq!(
        (current.state, current.task.confirmations),
        (TaskState::Running, 0),
        "{current:?}"
    );
}

#[tokio::test]
async fn copies_without_an_image_set_are_found_by_name() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let mut request = sync_of(WEB, &[SHANGHAI, BEIJING], None);
    request.image_set_required = false;
    let (tasks, failures) = start_copy(&client, &request, now()).await;
    assert!(failures.is_empty(), "{failures:?}");
    let found: Vec<(String, String)> = tasks
        .iter()
        .map(|t| {
            (
                t.destination_region.clone().expect("region"),
                t.destination_image_id.clone().expect("found by its name"),
            )
        })
        .collect();
    let mut sorted = found.clone();
    sorted.sort();
    assert_eq!(sorted, copies_in_world(&emulator, WEB));
    assert_eq!(tasks_created(&emulator, "copy"), 2);
}

#[tokio::test]
async fn a_failing_copy_fails_with_the_image_state() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let (tasks, failures) = start_copy(&client, &sync_of(FAILING, &[SHANGHAI], None), now()).await;
    assert!(failures.is_empty(), "{failures:?}");
    let seen = poll(&emulator, &client, &tasks[0], 300.0).await;
    let last = seen.last().expect("statuses");
    assert_eq!(
        (last.state, last.cloud_state.as_str()),
        (TaskState::Failed, "CREATEFAILED")
    );
    let reason = last.reason.clone().expect("a reason");
    assert_eq!(reason.code.as_deref(), Some("CREATEFAILED"));
    assert!(reason.message.contains(SHANGHAI), "{reason:?}");
    assert!(last.result.is_none());
}

/// CVM reports nothing about a failed export: the source stays NORMAL and the objects never
/// appear. What it does say is whether an export of the image runs: it refuses another one
/// (`InvalidParameterValue.InvalidImageState`) until then, which an `ExportImages` dry run
/// asks. An export whose image is free again while its objects are missing, on two checks in
/// a row, has failed (this used to stay `Running` until the job's deadline: soak.py's
/// KNOWN_GAPS). While it runs it stays `Running`, and a finished one succeeds.
#[tokio::test]
async fn a_failed_export_is_seen_once_its_image_is_free_and_its_objects_missing() {
    let emulator = still_emulator().await;
    let client = client(&emulator);
    let tasks = start_export(&client, &export_of(&[FAILING], BUCKET), now())
        .await
        .expect("the export starts");
    // Running: the image is held, so two checks in a row stay running, unconfirmed.
    let mut task = tasks[0].clone();
    for _ in 0..2 {
        let current = status_of(&client, &task).await;
        assert_eq!(
            (current.state, current.task.confirmations),
            (TaskState::Running, 0),
            "{current:?}"
        );
        task = current.task;
    }
    advance(&emulator, 3.0 * 86_400.0);
    let failed_in_cloud = {
        let world = emulator.world();
        world
            .tasks
            .iter()
            .filter(|t| t.cloud == Cloud::Tencent && t.image_id() == FAILING)
            .all(|t| matches!(world.phase(t), Phase::Failed(_)))
    };
    assert!(failed_in_cloud, "the emulated export failed");
    let first = status_of(&client, &task).await;
    assert_eq!(
        (first.state, first.task.confirmations, first.result.clone()),
        (TaskState::Running, 1, None),
        "seen once: not yet failed"
    );
    let second = status_of(&client, &first.task).await;
    assert_eq!(
        (second.state, second.cloud_state.as_str()),
        (TaskState::Failed, "NORMAL"),
        "{second:?}"
    );
    let reason = second.reason.expect("a reason");
    assert_eq!(reason.code.as_deref(), Some("Export.EndedWithoutObjects"));
    assert!(reason.message.contains(FAILING), "{reason:?}");
    assert_eq!(
        tasks_created(&emulator, "export"),
        1,
        "a dry run starts nothing"
    );

    // An export that finishes between a check's HEAD and its dry run is seen once at most,
    // and succeeds at the next check.
    let tasks = start_export(&client, &export_of(&[WEB], BUCKET), now())
        .await
        .expect("the export starts");
    let mut unlucky = tasks[0].clone();
    unlucky.confirmations = 1;
    let running = status_of(&client, &unlucky).await;
    assert_eq!(
        (running.state, running.task.confirmations),
        (TaskState::Running, 0),
        "a running export resets the count"
    );
    advance(&emulator, 3.0 * 86_400.0);
    let done = status_of(&client, &unlucky).await;
    assert_eq!(done.state, TaskState::Succeeded, "{done:?}");
}

#[tokio::test]
async fn a_deleted_source_fails_an_unfinished_export() {
    let emulator = still_emulator().await;
    let client = client(&emulator);
    let tasks = start_export(&client, &export_of(&[WEB], BUCKET), now())
        .await
        .expect("the export starts");
    // The source vanishes before the export is done (another account's image is invisible).
    emulator
        .world()
        .images
        .retain(|image: &Image| image.spec.id != WEB);
    let current = status_of(&client, &tasks[0]).await;
    assert_eq!(current.state, TaskState::Failed, "{current:?}");
    assert!(current.reason.expect("a reason").message.contains(WEB));
}

#[tokio::test]
async fn export_refusals_keep_the_cloud_code_and_request_id() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let cases: [(&str, &str, ErrorKind, &str); 7] = [
        (
            MISSING,
            BUCKET,
            ErrorKind::NotFound,
            "InvalidImageId.NotFound",
        ),
        (
            OTHER_ACCOUNT,
            BUCKET,
            ErrorKind::NotFound,
            "InvalidImageId.NotFound",
        ),
        (
            ENCRYPTED,
            BUCKET,
            ErrorKind::Unsupported,
            "UnsupportedOperation.EncryptedImagesNotSupported",
        ),
        (
            WINDOWS,
            BUCKET,
            ErrorKind::Unsupported,
            "UnsupportedOperation.WindowsImageExportUnsupported",
        ),
        (
            BUSY,
            BUCKET,
            ErrorKind::Conflict,
            "InvalidParameterValue.InvalidImageState",
        ),
        (
            WEB,
            MISSING_BUCKET,
            ErrorKind::NotFound,
            "InvalidParameterValue.BucketNotFound",
        ),
        (
            WEB,
            READONLY_BUCKET,
            ErrorKind::Permission,
            "InvalidParameterValue.InvalidBucketPermissionForExport",
        ),
    ];
    for (image, bucket, kind, code) in cases {
        let err = start_export(&client, &export_of(&[image], bucket), now())
            .await
            .expect_err("refused");
        assert_cloud_error(&err, kind, code);
    }
    assert_eq!(tasks_created(&emulator, "export"), 0);
}

#[tokio::test]
async fn copy_refusals_are_each_regions_failure() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let cases: [(&str, &[&str], ErrorKind, &str); 4] = [
        (
            ENCRYPTED,
            &[SHANGHAI, BEIJING],
            ErrorKind::Unsupported,
            "UnsupportedOperation.EncryptedImagesNotSupported",
        ),
        (
            BIG,
            &[SHANGHAI],
            ErrorKind::Unsupported,
            "InvalidImageId.TooLarge",
        ),
        (
            BUSY,
            &[SHANGHAI],
            ErrorKind::Conflict,
            "InvalidParameterValue.InvalidImageState",
        ),
        (
            WEB,
            &["ap-moon"],
            ErrorKind::NotFound,
            "InvalidRegion.NotFound",
        ),
    ];
    for (image, regions, kind, code) in cases {
        let (tasks, failures) = start_copy(&client, &sync_of(image, regions, None), now()).await;
        assert!(tasks.is_empty());
        assert_eq!(failures.len(), regions.len());
        for (failure, region) in failures.iter().zip(regions) {
            assert_eq!(failure.destination_region.as_deref(), Some(*region));
            assert_cloud_error(&failure.error, kind, code);
        }
    }
    assert_eq!(tasks_created(&emulator, "copy"), 0);
}

#[tokio::test]
async fn status_checks_survive_every_injected_fault() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let (tasks, _) = start_copy(&client, &sync_of(WEB, &[SHANGHAI], None), now()).await;
    let task = &tasks[0];
    for kind in [
        FaultKind::Throttle,
        FaultKind::ServerError,
        FaultKind::Reset,
        FaultKind::Lost,
        FaultKind::Truncated,
    ] {
        emulator.add_fault(fault("DescribeImages", kind, 2));
        let current = status_of(&client, task).await;
        // The check started from no confirmations, so even a finished copy reads Running.
        assert_eq!(current.state, TaskState::Running, "{kind:?}: {current:?}");
        assert!(
            ["SYNCING", "NORMAL"].contains(&current.cloud_state.as_str()),
            "{kind:?}: {current:?}"
        );
        assert_eq!(
            pending_faults(&emulator).await,
            0,
            "{kind:?} was met twice and retried"
        );
    }
    // And an export's check (DescribeImages, then the HEAD) after two server errors.
    let exports = start_export(&client, &export_of(&[WEB], BUCKET), now())
        .await
        .expect("the export starts");
    advance(&emulator, 86_400.0);
    emulator.add_fault(fault("DescribeImages", FaultKind::ServerError, 2));
    let current = status_of(&client, &exports[0]).await;
    assert_eq!(current.state, TaskState::Succeeded, "{current:?}");
    assert_within_rate_limits(&emulator, true);
}

#[tokio::test]
async fn a_lost_export_answer_is_reported_unknown_and_never_repeated() {
    let emulator = emulator().await;
    let client = client(&emulator);
    emulator.add_fault(fault("ExportImages", FaultKind::Lost, 1));
    let err = start_export(&client, &export_of(&[WEB], BUCKET), now())
        .await
        .expect_err("the answer is lost");
    assert_eq!(
        (err.kind, err.retryable),
        (ErrorKind::UnknownOutcome, false),
        "{err}"
    );
    assert_eq!(requests(&emulator, "ExportImages"), 1, "sent once");
    assert_eq!(
        tasks_created(&emulator, "export"),
        1,
        "the lost attempt's task only"
    );

    // A cut-off answer: the export ran, and is not started again.
    emulator.add_fault(fault("ExportImages", FaultKind::Truncated, 1));
    let err = start_export(&client, &export_of(&[DB], BUCKET), now())
        .await
        .expect_err("cut off");
    assert_eq!(err.kind, ErrorKind::UnknownOutcome, "{err}");
    assert_eq!(requests(&emulator, "ExportImages"), 2);
    assert_eq!(tasks_created(&emulator, "export"), 2);

    // A server error on a start is not retried either (it might have run).
    emulator.add_fault(fault("ExportImages", FaultKind::ServerError, 1));
    let err = start_export(&client, &export_of(&[MID], BUCKET), now())
        .await
        .expect_err("unknown");
    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::UnknownOutcome, "InternalError")
    );
    // The fault answers before the emulator counts the request; a repeat would have
    // started this idle image.
    assert_eq!(pending_faults(&emulator).await, 0);
    assert_eq!(tasks_created(&emulator, "export"), 2);

    // Throttling means nothing ran: retried, and one task made.
    emulator.add_fault(fault("ExportImages", FaultKind::Throttle, 1));
    let tasks = start_export(&client, &export_of(&[FAILING], BUCKET), now())
        .await
        .expect("retried after throttling");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks_created(&emulator, "export"), 3);
}

#[tokio::test]
async fn a_lost_copy_answer_is_adopted_from_the_destination_images() {
    let emulator = emulator().await;
    let client = client(&emulator);
    for kind in [FaultKind::Lost, FaultKind::Truncated] {
        let image = if kind == FaultKind::Lost { WEB } else { DB };
        emulator.add_fault(fault("SyncImages", kind, 1));
        let before = requests(&emulator, "SyncImages");
        let (tasks, failures) =
            start_copy(&client, &sync_of(image, &[SHANGHAI, BEIJING], None), now()).await;
        assert!(failures.is_empty(), "{kind:?}: {failures:?}");
        assert_eq!(
            requests(&emulator, "SyncImages"),
            before + 1,
            "{kind:?}: sent once"
        );
        let mut adopted: Vec<(String, String)> = tasks
            .iter()
            .map(|t| {
                (
                    t.destination_region.clone().expect("region"),
                    t.destination_image_id.clone().expect("id"),
                )
            })
            .collect();
        adopted.sort();
        assert_eq!(adopted, copies_in_world(&emulator, image), "{kind:?}");
    }
    assert_eq!(
        tasks_created(&emulator, "copy"),
        4,
        "two copies per start, none twice"
    );

    // The adopted copies run to the end like any other.
    let (tasks, _) = {
        emulator.add_fault(fault("SyncImages", FaultKind::Lost, 1));
        start_copy(&client, &sync_of(MID, &[SHANGHAI], Some("mid-copy")), now()).await
    };
    let seen = poll(&emulator, &client, &tasks[0], 3_600.0).await;
    assert_eq!(seen.last().expect("statuses").state, TaskState::Succeeded);
    assert_within_rate_limits(&emulator, false);
}

#[tokio::test]
async fn an_ambiguous_lost_copy_keeps_its_unknown_outcome() {
    let emulator = emulator().await;
    let client = client(&emulator);
    // Another image of the copy's name appears in Shanghai after the start time.
    let started_at = now();
    {
        let mut world = emulator.world();
        let mut twin = world
            .images
            .iter()
            .find(|image| image.spec.id == WEB)
            .cloned()
            .expect("the web image");
        twin.spec.id = "img-twin0001".into();
        twin.spec.region = SHANGHAI.into();
        twin.created = world.now();
        world.images.push(twin);
    }
    emulator.add_fault(fault("SyncImages", FaultKind::Lost, 1));
    let (tasks, failures) = start_copy(
        &client,
        &sync_of(WEB, &[SHANGHAI, BEIJING], None),
        started_at,
    )
    .await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0].destination_region.as_deref(), Some(BEIJING));
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].destination_region.as_deref(), Some(SHANGHAI));
    assert_eq!(failures[0].error.kind, ErrorKind::UnknownOutcome);
    assert_eq!(
        tasks_created(&emulator, "copy"),
        2,
        "nothing was sent again"
    );
}

#[tokio::test]
async fn a_throttled_copy_start_is_retried_once_and_statuses_keep_their_order() {
    let emulator = emulator().await;
    let client = client(&emulator);
    emulator.add_fault(fault("SyncImages", FaultKind::Throttle, 1));
    let (copies, failures) =
        start_copy(&client, &sync_of(WEB, &[SHANGHAI, BEIJING], None), now()).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(tasks_created(&emulator, "copy"), 2);
    let exports = start_export(&client, &export_of(&[DB], BUCKET), now())
        .await
        .expect("starts");
    let mut foreign = copies[0].clone();
    foreign.cloud = Cloud::Alibaba;
    let all = vec![
        copies[1].clone(),
        exports[0].clone(),
        foreign,
        copies[0].clone(),
    ];
    let answers = status(&client, &all).await;
    assert_eq!(answers.len(), 4);
    assert_eq!(answers[0].as_ref().expect("copy").task, all[0]);
    assert_eq!(answers[1].as_ref().expect("export").task, all[1]);
    assert_eq!(
        answers[2].as_ref().expect_err("foreign").code,
        "TaskRef.Invalid"
    );
    assert_eq!(answers[3].as_ref().expect("copy").task, all[3]);
}

#[tokio::test]
async fn a_burst_of_status_checks_stays_within_the_rate_limit() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let (tasks, _) = start_copy(&client, &sync_of(WEB, &[SHANGHAI, BEIJING], None), now()).await;
    // Each call is two DescribeImages (one per destination region): 120 requests at 40/s.
    for _ in 0..60 {
        assert!(status(&client, &tasks).await.iter().all(Result::is_ok));
    }
    assert_eq!(requests(&emulator, "DescribeImages"), 120);
    assert_within_rate_limits(&emulator, false);
}
