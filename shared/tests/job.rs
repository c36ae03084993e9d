//! `check_job` against the emulator: jobs followed check by check as the state machine does
//! (each `JobState` passed on as JSON), the job's own rules (deadline, stalled progress, check
//! budget), cancelling what it gives up on, batching, and failed checks.
//!
//! Every emulator here has a frozen cloud clock: tasks move only when a test advances it, and
//! the `now` each check gets is the cloud's time.

use crate::common::*;
use cloud_emulator::world::{Phase, TaskKind as EmulatedTask};
use cloud_emulator::{Fault, FaultKind, RunningEmulator};
use imgflow_shared::Cloud;
use imgflow_shared::client::CloudClient;
use imgflow_shared::error::ErrorKind;
use imgflow_shared::job::{
    CHECKS_PER_LAMBDA_OUTAGE, CheckInput, CheckMode, JobOptions, JobPhase, JobState, StartEntry,
    StartErrorRecord, TrackedState, check_job,
};
use imgflow_shared::model::{CopyRequest, ExportRequest, TaskKind, TaskResult};
use imgflow_shared::retry::Jitter;
use imgflow_shared::wait::WaitPolicy;
use serde_json::{Value, json};

fn export(request: Value) -> ExportRequest {
    serde_json::from_value(request).expect("a valid export request")
}

fn sync(request: Value) -> CopyRequest {
    serde_json::from_value(request).expect("a valid sync request")
}

fn volcengine_web_export() -> ExportRequest {
    export(json!({
        "cloud": "volcengine", "region": "cn-beijing", "image_id": "image-ycweb000000000000001",
        "bucket": "imgflow-tos-backup", "prefix": "web"
    }))
}

fn tencent_web_export() -> ExportRequest {
    export(json!({
        "cloud": "tencent", "region": "ap-guangzhou", "bucket": "imgflow-backup-1250000000",
        "image_ids": ["img-web00001"], "format": "QCOW2", "file_name_prefixes": ["web"]
    }))
}

fn huawei_export(image_id: &str, object_key: &str) -> ExportRequest {
    export(json!({
        "cloud": "huawei", "region": "cn-north-4", "image_id": image_id,
        "bucket": "imgflow-obs-backup", "object_key": object_key, "file_format": "qcow2"
    }))
}

const HUAWEI_WEB: &str = "4d0ab5e2-3114-578f-81d7-2d843f36e39b";
const HUAWEI_FAILS_MIDWAY: &str = "1a5c6615-fa49-5428-a91a-5e09f60c4e36";

/// Starts every request; one start Map item per request, as StartAll returns them.
async fn start_exports(client: &CloudClient, requests: &[ExportRequest]) -> Vec<StartEntry> {
    let mut starts = Vec::new();
    for (index, request) in requests.iter().enumerate() {
        let outcome = client
            .start_export(request)
            .await
            .expect("the export starts");
        assert!(!outcome.tasks.is_empty(), "{request:?}");
        starts.push(StartEntry::Started {
            queued: Vec::new(),
            index,
            tasks: outcome.tasks,
            failures: outcome.failures,
            selected: outcome.selected,
        });
    }
    starts
}

/// check-status's first input: the job with the start Map's results.
fn first_input(
    job_id: &str,
    kind: TaskKind,
    options: JobOptions,
    starts: Vec<StartEntry>,
) -> CheckInput {
    CheckInput {
        queued: Vec::new(),
        job_id: job_id.to_owned(),
        kind: Some(kind),
        options,
        started_at: None,
        deadline_at: None,
        checks: 0,
        tasks: Vec::new(),
        starts,
        start_errors: Vec::new(),
        selections: Vec::new(),
        chunk: None,
        outages: None,
    }
}

/// The next check's input as the state machine passes it: the JobState, as JSON.
fn next_input(state: &JobState) -> CheckInput {
    serde_json::from_value(state.to_document()).expect("a running job's document is a CheckInput")
}

async fn check(client: &CloudClient, input: CheckInput, now: u64, mode: CheckMode) -> JobState {
    check_job(client, input, now, mode, &mut Jitter::seeded(7)).await
}

/// Checks the job as the state machine does until it is final: each check at the cloud's
/// time, the JobState through JSON to the next check, and the cloud clock moved on by the
/// wait the check asked for. Returns every state, the final one last.
async fn drive(
    emulator: &RunningEmulator,
    client: &CloudClient,
    mut input: CheckInput,
) -> Vec<JobState> {
    let mut jitter = Jitter::seeded(11);
    let mut states: Vec<JobState> = Vec::new();
    for _ in 0..100 {
        let now = cloud_now(emulator);
        let state = check_job(client, input, now, CheckMode::Drive, &mut jitter).await;
        assert_eq!(
            state.summary.finished_at, now,
            "the summary is as of the check"
        );
        let (running, wait) = (state.state == JobPhase::Running, state.wait_seconds);
        if !running {
            // The final document is the summary: what the completion event carries.
            let document = state.to_document();
            assert_eq!(
                document["summary"],
                serde_json::to_value(&state.summary).expect("json")
            );
            assert!(document.get("tasks").is_none(), "{document}");
            states.push(state);
            return states;
        }
        input = next_input(&state);
        assert_eq!(
            CheckInput::from(state.clone()),
            input,
            "the state as the next input, without JSON"
        );
        states.push(state);
        advance(emulator, wait as f64);
    }
    panic!("the job is not final after 100 checks: {:?}", states.last());
}

fn code_of(state: &JobState, task: usize) -> Option<&str> {
    state.tasks[task]
        .reason
        .as_ref()
        .and_then(|r| r.code.as_deref())
}

fn requests_of(emulator: &RunningEmulator, action: &str) -> u64 {
    emulator
        .world()
        .stats
        .snapshot()
        .actions
        .get(action)
        .map_or(0, |a| a.requests)
}

fn throttled_of(emulator: &RunningEmulator, action: &str) -> u64 {
    emulator
        .world()
        .stats
        .snapshot()
        .actions
        .get(action)
        .map_or(0, |a| a.throttled)
}

/// Runs an export job of `request` to its end and checks what every state says on the way.
async fn an_export_job_succeeds(request: ExportRequest, options: JobOptions, objects: usize) {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let starts = start_exports(&client, std::slice::from_ref(&request)).await;
    let input = first_input("nightly", TaskKind::Export, options, starts);
    let states = drive(&emulator, &client, input).await;
    let last = states.last().expect("a state");
    let cloud = request.cloud();

    assert_eq!(
        last.state,
        JobPhase::Succeeded,
        "{cloud}: {:?}",
        last.reason
    );
    assert_eq!(last.reason, None);
    assert_eq!(last.wait_seconds, 0, "a final job waits for nothing");
    assert!(
        states.len() >= 2,
        "{cloud}: an export takes more than one check"
    );
    let policy = options.wait;
    for (index, state) in states.iter().enumerate() {
        assert_eq!(
            state.options, options,
            "{cloud}: the options travel with the state"
        );
        assert_eq!(
            state.checks as usize,
            index + 1,
            "{cloud}: every check counts"
        );
        assert_eq!(state.summary.checks, state.checks);
        assert_eq!(
            (state.started_at, state.deadline_at),
            (states[0].started_at, states[0].deadline_at),
            "{cloud}: the start and the deadline are kept from check to check"
        );
        if index + 1 < states.len() {
            assert_eq!(
                state.state,
                JobPhase::Running,
                "{cloud}: {:?}",
                state.reason
            );
            assert!(
                (policy.min_seconds..=policy.max_seconds).contains(&state.wait_seconds),
                "{cloud}: check {}: waits {} s",
                state.checks,
                state.wait_seconds
            );
        }
    }
    assert_eq!(
        states[0].deadline_at,
        states[0].started_at + options.deadline_seconds
    );
    // Where the cloud reports progress, it only moves forward.
    for task in 0..last.tasks.len() {
        let progress: Vec<u8> = states
            .iter()
            .filter_map(|s| s.tasks[task].progress)
            .collect();
        assert!(
            progress.windows(2).all(|w| w[0] <= w[1]),
            "{cloud}: {progress:?}"
        );
    }

    let summary = &last.summary;
    assert_eq!(summary.job_id, "nightly");
    assert_eq!(summary.kind, Some(TaskKind::Export));
    assert_eq!(summary.state, JobPhase::Succeeded);
    assert_eq!(summary.checks, states.len() as u32);
    assert_eq!((summary.tasks_succeeded, summary.tasks_total), (1, 1));
    assert_eq!(
        summary.duration_seconds,
        summary.finished_at - summary.started_at
    );
    assert_eq!(summary.items.len(), 1);
    let item = &summary.items[0];
    assert_eq!((item.item, item.state), (0, JobPhase::Succeeded));
    assert!(item.start_errors.is_empty());
    let task = &item.tasks[0];
    assert_eq!((task.cloud, task.state), (cloud, TrackedState::Succeeded));
    assert!(
        task.duration_seconds >= 600,
        "{cloud}: an export takes at least 600 cloud seconds: {task:?}"
    );
    let Some(TaskResult::Export { objects: listed }) = &task.result else {
        panic!("{cloud}: no export result: {task:?}")
    };
    assert_eq!(listed.len(), objects, "{cloud}: {listed:?}");
    for object in listed {
        assert!(object.size > 0, "{object:?}");
        let stored = emulator.world().object(&object.bucket, &object.key);
        assert_eq!(stored.map(|o| o.size), Some(object.size), "{object:?}");
    }
    assert_eq!(last.tasks[0].finished_at, Some(summary.finished_at));
}

/// For the six-hour exports of the 300 GiB database image: waits of up to half an hour.
fn long_waits() -> JobOptions {
    JobOptions {
        wait: WaitPolicy {
            min_seconds: 10,
            max_seconds: 1800,
            base_seconds: 30,
        },
        ..JobOptions::default()
    }
}

#[tokio::test]
async fn a_tencent_export_job_with_a_selector_runs_to_success() {
    // `web-server-*` selects the one ready custom image of that name at the start.
    let request = export(json!({
        "cloud": "tencent", "region": "ap-guangzhou", "bucket": "imgflow-backup-1250000000",
        "select": {"name": "web-server-*", "created_within_days": 2}, "format": "QCOW2",
        "file_name_prefixes": ["web"]
    }));
    an_export_job_succeeds(request, JobOptions::default(), 1).await;
}

#[tokio::test]
async fn an_alibaba_export_job_with_a_selector_runs_to_success() {
    let request = export(json!({
        "cloud": "alibaba", "region": "cn-hangzhou", "bucket": "imgflow-oss-backup",
        "prefix": "db2025", "select": {"name": "database-*", "newest_per_name": 1}
    }));
    an_export_job_succeeds(request, long_waits(), 2).await;
}

#[tokio::test]
async fn a_tencent_export_job_runs_to_success_and_lists_its_objects() {
    an_export_job_succeeds(tencent_web_export(), JobOptions::default(), 1).await;
}

#[tokio::test]
async fn an_alibaba_export_job_runs_to_success_and_lists_its_objects() {
    let request = export(json!({
        "cloud": "alibaba", "region": "cn-hangzhou", "image_id": "m-bp1db0000000000000001",
        "bucket": "imgflow-oss-backup", "prefix": "db2025"
    }));
    an_export_job_succeeds(request, long_waits(), 2).await;
}

#[tokio::test]
async fn a_volcengine_export_job_runs_to_success_and_lists_its_objects() {
    let request = export(json!({
        "cloud": "volcengine", "region": "cn-beijing", "image_id": "image-ycdb0000000000000001",
        "bucket": "imgflow-tos-backup", "prefix": "db2025"
    }));
    an_export_job_succeeds(request, long_waits(), 2).await;
}

#[tokio::test]
async fn a_huawei_export_job_runs_to_success_and_lists_its_objects() {
    let request = huawei_export(HUAWEI_WEB, "exports/web.qcow2");
    an_export_job_succeeds(request, JobOptions::default(), 1).await;
}

#[tokio::test]
async fn tencent_tasks_in_one_region_are_checked_with_one_describe_images_per_check() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let requests = [
        export(json!({
            "cloud": "tencent", "region": "ap-guangzhou", "bucket": "imgflow-backup-1250000000",
            "image_ids": ["img-web00001", "img-db000001"], "format": "QCOW2",
            "file_name_prefixes": ["web", "db"]
        })),
        export(json!({
            "cloud": "tencent", "region": "ap-guangzhou", "bucket": "imgflow-backup-1250000000",
            "image_ids": ["img-mid00001"], "format": "QCOW2", "file_name_prefixes": ["mid"]
        })),
    ];
    let starts = start_exports(&client, &requests).await;
    let mut input = first_input("batched", TaskKind::Export, JobOptions::default(), starts);
    let mut open_per_check = Vec::new();
    let mut open = 3;
    let last = loop {
        let before = requests_of(&emulator, "tencent:DescribeImages");
        let state = check(&client, input, cloud_now(&emulator), CheckMode::Drive).await;
        assert_eq!(
            requests_of(&emulator, "tencent:DescribeImages") - before,
            1,
            "check {}: one DescribeImages for the {open} open tasks of ap-guangzhou",
            state.checks
        );
        open_per_check.push(open);
        open = state.tasks.iter().filter(|t| t.state.is_open()).count();
        if state.state != JobPhase::Running {
            break state;
        }
        assert!(state.checks < 20, "{state:?}");
        input = next_input(&state);
        // An hour of cloud time per check: the 300 GiB image takes six.
        advance(&emulator, 3600.0);
    };
    assert_eq!(open_per_check[0], 3, "the first check asks about all three");
    assert!(
        open_per_check.iter().any(|open| *open < 3),
        "finished tasks are not asked about again: {open_per_check:?}"
    );
    assert_eq!(last.state, JobPhase::Succeeded, "{:?}", last.reason);
    assert_eq!(
        requests_of(&emulator, "tencent:DescribeImages"),
        u64::from(last.checks)
    );
    assert_eq!(
        (last.summary.tasks_succeeded, last.summary.tasks_total),
        (3, 3)
    );
    let items: Vec<(usize, usize)> = last
        .summary
        .items
        .iter()
        .map(|item| (item.item, item.tasks.len()))
        .collect();
    assert_eq!(items, [(0, 2), (1, 1)], "tasks are summed up per request");
    let objects: usize = last
        .summary
        .items
        .iter()
        .flat_map(|item| &item.tasks)
        .map(|task| match &task.result {
            Some(TaskResult::Export { objects }) => objects.len(),
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(objects, 4, "web 1, db 2 (system and data), mid 1");
}

#[tokio::test]
async fn a_task_the_cloud_fails_fails_the_job_with_the_clouds_code() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let starts = start_exports(
        &client,
        &[huawei_export(HUAWEI_FAILS_MIDWAY, "exports/fails.qcow2")],
    )
    .await;
    let input = first_input("fails", TaskKind::Export, JobOptions::default(), starts);
    let states = drive(&emulator, &client, input).await;
    let last = states.last().expect("a state");

    assert_eq!(last.state, JobPhase::Failed);
    let reason = last.reason.as_deref().expect("a failed job says why");
    assert!(reason.contains("IMG.0014"), "{reason}");
    assert!(reason.contains("huawei export"), "{reason}");
    assert_eq!(last.tasks[0].state, TrackedState::Failed);
    assert_eq!(code_of(last, 0), Some("IMG.0014"));
    assert_eq!(
        last.tasks[0].cancelled, None,
        "the cloud ended it: nothing to cancel"
    );
    assert_eq!(last.wait_seconds, 0);
    assert_eq!(last.summary.items[0].state, JobPhase::Failed);
    assert_eq!(
        (last.summary.tasks_succeeded, last.summary.tasks_total),
        (0, 1)
    );
}

#[tokio::test]
async fn one_success_and_one_failure_make_a_partial_job() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let starts = start_exports(
        &client,
        &[
            huawei_export(HUAWEI_WEB, "exports/web.qcow2"),
            huawei_export(HUAWEI_FAILS_MIDWAY, "exports/fails.qcow2"),
        ],
    )
    .await;
    let input = first_input("partial", TaskKind::Export, JobOptions::default(), starts);
    let states = drive(&emulator, &client, input).await;
    let last = states.last().expect("a state");

    assert_eq!(last.state, JobPhase::Partial, "{:?}", last.reason);
    let states_of: Vec<TrackedState> = last.tasks.iter().map(|t| t.state).collect();
    assert_eq!(states_of, [TrackedState::Succeeded, TrackedState::Failed]);
    let reason = last
        .reason
        .as_deref()
        .expect("a partial job says what failed");
    let job_of = |task: usize| last.tasks[task].task.task_id.clone().expect("a job id");
    assert!(reason.contains("IMG.0014"), "{reason}");
    assert!(reason.contains(&job_of(1)), "{reason}");
    assert!(
        !reason.contains(&job_of(0)),
        "the reason names only what failed: {reason}"
    );
    let items: Vec<(usize, JobPhase)> = last
        .summary
        .items
        .iter()
        .map(|item| (item.item, item.state))
        .collect();
    assert_eq!(items, [(0, JobPhase::Succeeded), (1, JobPhase::Failed)]);
    assert_eq!(
        (last.summary.tasks_succeeded, last.summary.tasks_total),
        (1, 2)
    );
}

fn caught_start(index: usize, request: Value, message: &str) -> Value {
    let cause = json!({"errorType": "Cloud.Rejected", "errorMessage": message}).to_string();
    // StartFailed passes the item's input on with the Catch's {Error, Cause} in $.error.
    json!({
        "job_id": "rejected", "kind": "export", "index": index, "request": request,
        "error": {"Error": "Cloud.Rejected", "Cause": cause}
    })
}

/// A start caught as an unknown outcome, or a conflict coded unconfirmed, may hide a running
/// task: the job must not say it did not start.
#[tokio::test]
async fn a_start_that_may_have_run_is_reported_unconfirmed_not_as_not_started() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let request = json!({
        "cloud": "tencent", "region": "ap-guangzhou", "bucket": "imgflow-backup-1250000000",
        "image_ids": ["img-web00001"], "format": "QCOW2"
    });
    for (name, message) in [
        (
            "Cloud.UnknownOutcome",
            "tencent unknown_outcome: Transport.OutcomeUnknown (reset)",
        ),
        (
            "Cloud.Conflict",
            "tencent conflict: Start.Unconfirmed (CVM refuses the export)",
        ),
    ] {
        let cause = json!({"errorType": name, "errorMessage": message}).to_string();
        let caught = json!({
            "job_id": "lost", "kind": "export", "index": 0, "request": request.clone(),
            "error": {"Error": name, "Cause": cause}
        });
        let document = json!({
            "job_id": "lost", "kind": "export", "requests": [request.clone()],
            "starts": [caught]
        });
        let input: CheckInput = serde_json::from_value(document).expect("StartAll's output");
        let state = check(&client, input, cloud_now(&emulator), CheckMode::Drive).await;
        let reason = state.reason.as_deref().expect("a reason");
        assert!(
            reason.contains("request 0 may have started (unconfirmed)"),
            "{reason}"
        );
        assert!(!reason.contains("did not start"), "{reason}");
    }
}

const REJECTED: &str = "tencent UnsupportedOperation.EncryptedImagesNotSupported: \
                        encrypted images cannot be exported";

#[tokio::test]
async fn a_start_the_state_machine_caught_fails_the_job_with_its_message() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let request = json!({
        "cloud": "tencent", "region": "ap-guangzhou", "bucket": "imgflow-backup-1250000000",
        "image_ids": ["img-enc00001"], "format": "QCOW2", "file_name_prefixes": ["enc"]
    });
    let document = json!({
        "job_id": "rejected", "kind": "export", "requests": [request.clone()],
        "starts": [caught_start(0, request, REJECTED)]
    });
    let input: CheckInput = serde_json::from_value(document).expect("StartAll's output");
    assert!(
        matches!(input.starts[0], StartEntry::Caught { index: 0, .. }),
        "{input:?}"
    );
    let now = cloud_now(&emulator);
    let state = check(&client, input, now, CheckMode::Drive).await;

    assert_eq!(state.state, JobPhase::Failed);
    let reason = state.reason.as_deref().expect("a reason");
    assert!(reason.contains(REJECTED), "{reason}");
    assert!(reason.contains("Cloud.Rejected"), "{reason}");
    assert!(reason.contains("request 0 did not start"), "{reason}");
    assert_eq!(
        state.start_errors,
        [StartErrorRecord {
            item: 0,
            destination_region: None,
            error: "Cloud.Rejected".into(),
            message: REJECTED.into(),
        }]
    );
    assert!(state.tasks.is_empty());
    assert_eq!(state.checks, 0, "there was no task to check");
    assert_eq!(state.wait_seconds, 0);
    assert_eq!(state.summary.items.len(), 1);
    assert_eq!(state.summary.items[0].state, JobPhase::Failed);
    assert_eq!(state.summary.items[0].start_errors, state.start_errors);
    assert!(
        emulator.world().stats.snapshot().actions.is_empty(),
        "nothing was asked of the clouds"
    );
}

#[tokio::test]
async fn a_caught_start_next_to_a_successful_task_makes_a_partial_job() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let started = start_exports(&client, &[volcengine_web_export()]).await;
    let StartEntry::Started { tasks, .. } = &started[0] else {
        panic!("{started:?}")
    };
    let rejected = json!({
        "cloud": "tencent", "region": "ap-guangzhou", "bucket": "imgflow-backup-1250000000",
        "image_ids": ["img-enc00001"], "format": "QCOW2", "file_name_prefixes": ["enc"]
    });
    let document = json!({
        "job_id": "rejected", "kind": "export",
        "requests": [serde_json::to_value(volcengine_web_export()).expect("json"), rejected],
        "starts": [
            {"index": 0, "tasks": tasks, "failures": []},
            caught_start(1, rejected, REJECTED),
        ]
    });
    let input: CheckInput = serde_json::from_value(document).expect("StartAll's output");
    let states = drive(&emulator, &client, input).await;
    let last = states.last().expect("a state");

    assert!(states.len() >= 2, "the running task keeps the job running");
    assert!(
        states[..states.len() - 1]
            .iter()
            .all(|s| s.state == JobPhase::Running && s.start_errors.len() == 1),
        "the start error is carried from check to check"
    );
    assert_eq!(last.state, JobPhase::Partial);
    let reason = last.reason.as_deref().expect("a reason");
    assert!(reason.contains("request 1 did not start"), "{reason}");
    assert!(reason.contains(REJECTED), "{reason}");
    let items: Vec<(usize, JobPhase, usize)> = last
        .summary
        .items
        .iter()
        .map(|item| (item.item, item.state, item.start_errors.len()))
        .collect();
    assert_eq!(
        items,
        [(0, JobPhase::Succeeded, 0), (1, JobPhase::Failed, 1)]
    );
}

#[tokio::test]
async fn past_the_deadline_an_alibaba_copy_times_out_and_is_cancelled_unless_only_observed() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let request = sync(json!({
        "cloud": "alibaba", "region": "cn-hangzhou", "image_id": "m-bp1web000000000000001",
        "destination_regions": ["cn-shanghai"], "image_name": "web-copy",
        "client_token": "job-deadline"
    }));
    let outcome = client.start_copy(&request).await.expect("the copy starts");
    let copy_image = outcome.tasks[0]
        .destination_image_id
        .clone()
        .expect("the new image's id");
    let options = JobOptions {
        deadline_seconds: 600,
        ..JobOptions::default()
    };
    let starts = vec![StartEntry::Started {
        queued: Vec::new(),
        index: 0,
        tasks: outcome.tasks,
        failures: outcome.failures,
        selected: outcome.selected,
    }];
    let input = first_input("deadline", TaskKind::Copy, options, starts);

    // 300 of the copy's 1800 s.
    advance(&emulator, 300.0);
    let now = cloud_now(&emulator);
    let running = check(&client, input, now, CheckMode::Drive).await;
    assert_eq!(running.state, JobPhase::Running);
    assert_eq!(running.tasks[0].state, TrackedState::Running);
    assert!(
        running.tasks[0].progress.is_some_and(|p| p < 100),
        "{:?}",
        running.tasks[0]
    );
    assert_eq!(running.deadline_at, running.started_at + 600);
    assert!(
        running.wait_seconds <= running.deadline_at - now,
        "the next check is not after the deadline: {}",
        running.wait_seconds
    );
    let late = running.deadline_at + 1;
    let copy_phase = || {
        let world = emulator.world();
        let task = world
            .tasks
            .iter()
            .find(|t| {
                matches!(&t.kind, EmulatedTask::Copy { destination_image_id, .. }
                    if *destination_image_id == copy_image)
            })
            .expect("the copy's task")
            .clone();
        (world.phase(&task), task.cancelled.is_some())
    };

    // A look from outside (the status webhook) past the deadline changes nothing.
    let observed = check(&client, next_input(&running), late, CheckMode::Observe).await;
    assert_eq!(observed.state, JobPhase::Running);
    assert_eq!(observed.reason, None);
    assert_eq!(observed.tasks[0].state, TrackedState::Running);
    assert_eq!(observed.tasks[0].cancelled, None);
    assert_eq!(
        observed.checks, 1,
        "an observation is not one of the job's checks"
    );
    assert_eq!(requests_of(&emulator, "alibaba:CancelCopyImage"), 0);
    assert!(matches!(copy_phase(), (Phase::Running { .. }, false)));

    // The job's own check past the deadline gives up and cancels the copy.
    let driven = check(&client, next_input(&running), late, CheckMode::Drive).await;
    assert_eq!(driven.state, JobPhase::TimedOut, "{:?}", driven.reason);
    assert_eq!(driven.wait_seconds, 0);
    assert_eq!(driven.checks, 2);
    let task = &driven.tasks[0];
    assert_eq!(task.state, TrackedState::TimedOut);
    assert_eq!(code_of(&driven, 0), Some("Task.TimedOut"));
    assert_eq!(task.cancelled, Some(true), "{task:?}");
    assert_eq!(task.finished_at, Some(late));
    let reason = driven.reason.as_deref().expect("a reason");
    assert!(reason.contains("Task.TimedOut"), "{reason}");
    assert!(reason.contains("deadline"), "{reason}");
    assert!(reason.contains("alibaba copy"), "{reason}");
    assert_eq!(driven.summary.items[0].state, JobPhase::TimedOut);
    assert_eq!(requests_of(&emulator, "alibaba:CancelCopyImage"), 1);
    assert_eq!(copy_phase(), (Phase::Cancelled, true));
}

#[tokio::test]
async fn progress_that_does_not_move_stalls_the_task_and_fails_the_job() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let starts = start_exports(&client, &[volcengine_web_export()]).await;
    let options = JobOptions {
        stall_seconds: 600,
        ..JobOptions::default()
    };
    let input = first_input("stall", TaskKind::Export, options, starts);

    // 1000 of the export's 3600 s, then the cloud clock stands still.
    advance(&emulator, 1000.0);
    let now = cloud_now(&emulator);
    let first = check(&client, input, now, CheckMode::Drive).await;
    assert_eq!(first.tasks[0].state, TrackedState::Running);
    let progress = first.tasks[0]
        .progress
        .expect("Volcengine reports progress");
    assert!((1..100).contains(&progress), "{progress}");
    assert_eq!(
        first.tasks[0].changed_at, now,
        "the progress moved at this check"
    );

    let almost = check(&client, next_input(&first), now + 599, CheckMode::Drive).await;
    assert_eq!(almost.state, JobPhase::Running, "{:?}", almost.reason);
    assert_eq!(almost.tasks[0].progress, Some(progress));
    assert_eq!(almost.tasks[0].changed_at, now, "nothing moved");

    let stalled = check(&client, next_input(&almost), now + 600, CheckMode::Drive).await;
    assert_eq!(stalled.tasks[0].state, TrackedState::Stalled);
    assert_eq!(code_of(&stalled, 0), Some("Task.Stalled"));
    assert_eq!(stalled.tasks[0].finished_at, Some(now + 600));
    assert_eq!(
        stalled.tasks[0].cancelled, None,
        "Volcengine has no way to cancel an export"
    );
    assert_eq!(stalled.state, JobPhase::Failed);
    let reason = stalled.reason.as_deref().expect("a reason");
    assert!(reason.contains("Task.Stalled"), "{reason}");
    assert!(reason.contains("600 s"), "{reason}");
    assert_eq!(stalled.wait_seconds, 0);
    assert_eq!(stalled.summary.items[0].state, JobPhase::Failed);
}

#[tokio::test]
async fn a_task_whose_cloud_reports_no_progress_does_not_stall() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    // CVM reports no progress for exports: the task is running until its objects appear.
    let starts = start_exports(&client, &[tencent_web_export()]).await;
    let options = JobOptions {
        stall_seconds: 600,
        ..JobOptions::default()
    };
    let mut input = first_input("no-progress", TaskKind::Export, options, starts);
    let now = cloud_now(&emulator);
    for later in [0, 700, 7_200, 36_000] {
        let state = check(&client, input, now + later, CheckMode::Drive).await;
        assert_eq!(
            state.state,
            JobPhase::Running,
            "{later}: {:?}",
            state.reason
        );
        assert_eq!(state.tasks[0].state, TrackedState::Running);
        assert_eq!(state.tasks[0].progress, None);
        assert_eq!(
            state.tasks[0].changed_at, now,
            "nothing moved after the first check"
        );
        assert!(state.wait_seconds > 0);
        input = next_input(&state);
    }
}

#[tokio::test]
async fn a_spent_check_budget_times_the_job_out() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let starts = start_exports(&client, &[volcengine_web_export()]).await;
    let options = JobOptions {
        max_checks: 1,
        ..JobOptions::default()
    };
    let input = first_input("budget", TaskKind::Export, options, starts);
    advance(&emulator, 600.0);
    let state = check(&client, input, cloud_now(&emulator), CheckMode::Drive).await;

    assert_eq!(state.checks, 1);
    assert_eq!(state.tasks[0].state, TrackedState::TimedOut);
    assert_eq!(code_of(&state, 0), Some("Task.TimedOut"));
    assert_eq!(state.state, JobPhase::TimedOut);
    let reason = state.reason.as_deref().expect("a reason");
    assert!(reason.contains("budget"), "{reason}");
    assert!(reason.contains("1 status checks"), "{reason}");
    assert_eq!(state.wait_seconds, 0);
    assert_eq!(state.summary.items[0].state, JobPhase::TimedOut);
}

/// Rounds in which the state machine could not reach check-status (its Catch counts them in
/// `outages`) cost history like checks, so they are paid from the check budget: a job whose
/// function was unreachable too often ends as timed out by its budget, with a completion,
/// instead of outgrowing its history.
#[tokio::test]
async fn rounds_in_which_check_status_was_unreachable_are_paid_from_the_check_budget() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let starts = start_exports(&client, &[volcengine_web_export()]).await;
    let state = check(
        &client,
        first_input(
            "unreachable",
            TaskKind::Export,
            JobOptions::default(),
            starts,
        ),
        cloud_now(&emulator),
        CheckMode::Drive,
    )
    .await;
    assert_eq!((state.state, state.checks), (JobPhase::Running, 1));

    // The state machine's input after three rounds without an answer: the last state and
    // its count (the Catch's error is in check_unavailable).
    let mut document = state.to_document();
    document["outages"] = json!({"count": 3});
    document["check_unavailable"] = json!({"Error": "Lambda.ServiceException", "Cause": "down"});
    let input: CheckInput = serde_json::from_value(document).expect("a check input");
    let state = check(&client, input, cloud_now(&emulator), CheckMode::Drive).await;
    assert_eq!(state.state, JobPhase::Running);
    assert_eq!(state.checks, 1 + 1 + 3 * CHECKS_PER_LAMBDA_OUTAGE);
    assert!(
        state.to_document().get("outages").is_none(),
        "a check that answers resets the count"
    );

    let mut document = state.to_document();
    let rounds = JobOptions::default().max_checks / CHECKS_PER_LAMBDA_OUTAGE + 1;
    document["outages"] = json!({ "count": rounds });
    let input: CheckInput = serde_json::from_value(document).expect("a check input");
    let state = check(&client, input, cloud_now(&emulator), CheckMode::Drive).await;
    assert_eq!(state.state, JobPhase::TimedOut);
    assert!(
        state
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("budget")),
        "{:?}",
        state.reason
    );
}

fn alibaba_db_export() -> ExportRequest {
    export(json!({
        "cloud": "alibaba", "region": "cn-hangzhou", "image_id": "m-bp1db0000000000000001",
        "bucket": "imgflow-oss-backup", "prefix": "db2025"
    }))
}

/// Issue 12.1: an Alibaba-only job under an outage of Alibaba's status calls used to fail as a
/// whole (`Cloud.Transient`, retried for a minute by the state machine, then CheckFailed).
/// Now the outage only pauses it: every check of the outage keeps the tasks open with the
/// cloud's error, backs off, and the job runs to success once the cloud answers again.
#[tokio::test]
async fn an_outage_of_every_status_call_pauses_the_job_until_the_cloud_answers_again() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let starts = start_exports(&client, &[alibaba_db_export()]).await;
    let options = JobOptions {
        deadline_seconds: 86_400,
        ..long_waits()
    };
    let mut input = first_input("outage", TaskKind::Export, options, starts);
    let mut jitter = Jitter::seeded(23);
    // The client tries each call 4 times: 4 × 12 server errors outlast twelve checks.
    const OUTAGE_CHECKS: u32 = 12;
    emulator.add_fault(Fault {
        cloud: Some(Cloud::Alibaba),
        action: None,
        kind: FaultKind::ServerError,
        times: 4 * OUTAGE_CHECKS,
        delay_ms: 0,
    });
    let mut waits = Vec::new();
    for check_number in 1..=OUTAGE_CHECKS {
        let now = cloud_now(&emulator);
        let state = check_job(&client, input, now, CheckMode::Drive, &mut jitter).await;
        assert_eq!(state.state, JobPhase::Running, "check {check_number}");
        assert_eq!(state.checks, check_number, "an outage check counts");
        for task in &state.tasks {
            assert!(task.state.is_open(), "{task:?}");
            assert_eq!(task.check_failures, check_number);
            let error = task
                .check_error
                .as_ref()
                .expect("the cloud's error is kept");
            assert!(error.retryable, "{error:?}");
            assert_eq!(error.http_status, Some(500), "{error:?}");
        }
        waits.push(state.wait_seconds);
        // The cloud's clock moves on with the waits: the tasks keep running meanwhile.
        advance(&emulator, state.wait_seconds as f64);
        input = next_input(&state);
    }
    let policy = long_waits().wait;
    assert!(
        waits
            .iter()
            .all(|w| (policy.min_seconds..=policy.max_seconds).contains(w)),
        "{waits:?}"
    );
    let early: u64 = waits[..3].iter().sum();
    let late: u64 = waits[OUTAGE_CHECKS as usize - 3..].iter().sum();
    assert!(late > early, "the waits back off: {waits:?}");

    // The cloud is back: the job goes on from where it was and succeeds.
    for _ in 0..200 {
        let state = check_job(
            &client,
            input,
            cloud_now(&emulator),
            CheckMode::Drive,
            &mut jitter,
        )
        .await;
        assert!(state.tasks.iter().all(|t| t.check_error.is_none()));
        if state.state != JobPhase::Running {
            assert_eq!(state.state, JobPhase::Succeeded, "{:?}", state.reason);
            return;
        }
        advance(&emulator, state.wait_seconds as f64);
        input = next_input(&state);
    }
    panic!("the job did not end");
}

/// An outage that lasts past the deadline ends the job as timed out (not failed by a count
/// of failed checks), with the cloud's last error on each task.
#[tokio::test]
async fn an_outage_past_the_deadline_times_the_job_out_with_the_clouds_error() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let starts = start_exports(&client, &[alibaba_db_export()]).await;
    let options = JobOptions {
        deadline_seconds: 3_600,
        ..long_waits()
    };
    let mut input = first_input("outage-deadline", TaskKind::Export, options, starts);
    emulator.add_fault(Fault {
        cloud: Some(Cloud::Alibaba),
        action: None,
        kind: FaultKind::ServerError,
        times: 100_000,
        delay_ms: 0,
    });
    let mut jitter = Jitter::seeded(29);
    for _ in 0..200 {
        let now = cloud_now(&emulator);
        let state = check_job(&client, input, now, CheckMode::Drive, &mut jitter).await;
        if state.state != JobPhase::Running {
            assert_eq!(state.state, JobPhase::TimedOut, "{:?}", state.reason);
            let task = &state.tasks[0];
            assert_eq!(code_of(&state, 0), Some("Task.TimedOut"));
            let error = task.check_error.as_ref().expect("the last error is kept");
            assert_eq!(error.kind, ErrorKind::Transient, "{error:?}");
            assert_eq!(error.http_status, Some(500), "{error:?}");
            assert!(task.check_failures > 5, "{}", task.check_failures);
            return;
        }
        advance(&emulator, state.wait_seconds as f64);
        input = next_input(&state);
    }
    panic!("the job did not end");
}

#[tokio::test]
async fn when_only_some_tasks_cannot_be_checked_the_others_go_on() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let starts = start_exports(&client, &[tencent_web_export(), volcengine_web_export()]).await;
    let input = first_input("throttled", TaskKind::Export, JobOptions::default(), starts);
    let now = cloud_now(&emulator);
    let state = check(&client, input, now, CheckMode::Drive).await;
    assert_eq!(state.state, JobPhase::Running);
    assert_eq!(state.checks, 1);
    assert!(state.tasks.iter().all(|t| t.check_failures == 0));

    // The client tries 4 times: 4 throttles fail one check of the Volcengine task.
    emulator.add_fault(Fault {
        cloud: Some(Cloud::Volcengine),
        action: Some("DescribeTasks".into()),
        kind: FaultKind::Throttle,
        times: 4,
        delay_ms: 0,
    });
    let next = check(&client, next_input(&state), now + 60, CheckMode::Drive).await;
    assert_eq!(next.state, JobPhase::Running);
    assert_eq!(next.checks, 2);
    assert_eq!(throttled_of(&emulator, "volcengine:DescribeTasks"), 4);
    let failures: Vec<(Cloud, u32, TrackedState)> = next
        .tasks
        .iter()
        .map(|t| (t.task.cloud, t.check_failures, t.state))
        .collect();
    assert_eq!(
        failures,
        [
            (Cloud::Tencent, 0, TrackedState::Running),
            (Cloud::Volcengine, 1, state.tasks[1].state),
        ]
    );
}

#[tokio::test]
async fn a_job_state_round_trips_through_json_and_the_next_check_takes_it() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let request = sync(json!({
        "cloud": "alibaba", "region": "cn-hangzhou", "image_id": "m-bp1web000000000000001",
        "destination_regions": ["cn-shanghai"], "image_name": "web-copy",
        "client_token": "job-round-trip"
    }));
    let outcome = client.start_copy(&request).await.expect("the copy starts");
    let starts = vec![StartEntry::Started {
        queued: Vec::new(),
        index: 0,
        tasks: outcome.tasks,
        failures: outcome.failures,
        selected: outcome.selected,
    }];
    let options = JobOptions {
        stall_seconds: 0,
        ..JobOptions::default()
    };
    let input = first_input("round-trip", TaskKind::Copy, options, starts);
    let states = drive(&emulator, &client, input).await;

    for state in &states {
        let json = serde_json::to_value(state).expect("serialises");
        let back: JobState = serde_json::from_value(json.clone()).expect("deserialises");
        assert_eq!(&back, state, "a JobState round-trips");
        assert_eq!(json["job_id"], "round-trip");
        assert_eq!(json["kind"], "sync");
        assert_eq!(json["options"]["stall_seconds"], 0);
        assert_eq!(json["checks"], state.checks);
        assert_eq!(json["wait_seconds"], state.wait_seconds);
        assert!(json["state"].is_string() && json["tasks"][0]["state"].is_string());
        assert_eq!(json["summary"]["state"], json["state"]);
        let input: CheckInput = serde_json::from_value(json).expect("a CheckInput");
        assert_eq!(
            (input.started_at, input.deadline_at, input.checks),
            (
                Some(state.started_at),
                Some(state.deadline_at),
                state.checks
            )
        );
        assert_eq!(input.options, state.options);
    }
    // A copy succeeds on its second finished answer: the first one's confirmation travelled
    // through JSON to the next check.
    let last = states.last().expect("a state");
    assert_eq!(last.state, JobPhase::Succeeded, "{:?}", last.reason);
    let confirming = &states[states.len() - 2];
    assert_eq!(
        (
            confirming.tasks[0].state,
            confirming.tasks[0].progress,
            confirming.tasks[0].task.confirmations
        ),
        (TrackedState::Running, Some(100), 1)
    );
    let json = serde_json::to_value(confirming).expect("serialises");
    assert_eq!(json["tasks"][0]["task"]["confirmations"], 1);
    assert_eq!(json["state"], "running");
    let Some(TaskResult::Copy { images }) = &last.tasks[0].result else {
        panic!("{:?}", last.tasks[0])
    };
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].region, "cn-shanghai");
    assert_eq!(
        Some(&images[0].image_id),
        last.tasks[0].task.destination_image_id.as_ref()
    );

    // A status webhook reads the last JobState the same way and only looks.
    let observed = check(
        &client,
        next_input(confirming),
        confirming.summary.finished_at,
        CheckMode::Observe,
    )
    .await;
    assert_eq!(observed.checks, confirming.checks);
    assert_eq!(observed.started_at, confirming.started_at);
}

#[tokio::test]
async fn a_copy_queued_behind_the_clouds_limit_does_not_stall() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    // Alibaba runs 5 copies per destination region and queues the rest: the sixth waits at
    // `Waiting` 0 % until a slot frees, which is not progress that stopped.
    let images = [
        "m-bp1web000000000000001",
        "m-bp1win000000000000001",
        "m-bp1mkt000000000000001",
        "m-bp1mid000000000000001",
        "m-bp1fail00000000000001",
        "m-bp1db0000000000000001",
    ];
    let mut starts = Vec::new();
    for (index, image) in images.iter().enumerate() {
        let request = sync(json!({
            "cloud": "alibaba", "region": "cn-hangzhou", "image_id": image,
            "destination_regions": ["cn-shanghai"], "image_name": format!("copy-{index}")
        }));
        let outcome = client.start_copy(&request).await.expect("the copy starts");
        starts.push(StartEntry::Started {
            queued: Vec::new(),
            index,
            tasks: outcome.tasks,
            failures: outcome.failures,
            selected: outcome.selected,
        });
    }
    let options = JobOptions {
        stall_seconds: 300,
        ..JobOptions::default()
    };
    let input = first_input("queued", TaskKind::Copy, options, starts);
    advance(&emulator, 100.0);
    let first = check(&client, input, cloud_now(&emulator), CheckMode::Drive).await;
    let queued = &first.tasks[5];
    assert_eq!(
        (queued.state, queued.progress, queued.cloud_state.as_deref()),
        (TrackedState::Pending, Some(0), Some("Waiting"))
    );

    // The five running copies move on (the failing one fails at 540 s and frees a slot);
    // the queued one has not started.
    advance(&emulator, 350.0);
    let later = check(
        &client,
        next_input(&first),
        cloud_now(&emulator),
        CheckMode::Drive,
    )
    .await;
    assert!(
        later.tasks[..5]
            .iter()
            .all(|t| t.state == TrackedState::Running),
        "{:?}",
        later.tasks
    );
    let queued = &later.tasks[5];
    assert_eq!(queued.state, TrackedState::Pending, "{queued:?}");
    assert_eq!(queued.cancelled, None);
    assert_eq!(later.state, JobPhase::Running, "{:?}", later.reason);
    assert_eq!(requests_of(&emulator, "alibaba:CancelCopyImage"), 0);
    let still_queued = emulator
        .world()
        .tasks
        .iter()
        .filter(|t| t.queued_behind_limit)
        .count();
    assert_eq!(still_queued, 1, "the sixth copy still waits for a slot");
}

/// Issue 12.5: a cloud that does not answer used to cost each call its whole timeout and
/// retries, one call after another, past the function's time. Inside an invocation's
/// deadline the check asks the clouds at the same time, stops waiting in time, and answers a
/// state the next check resumes from: the unanswered tasks stay open with the error.
#[tokio::test]
async fn a_check_answers_before_the_invocations_deadline_when_the_clouds_hang() {
    use std::time::{Duration, Instant};
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let starts = start_exports(&client, &[tencent_web_export(), volcengine_web_export()]).await;
    let input = first_input("slow", TaskKind::Export, JobOptions::default(), starts);
    for cloud in [Cloud::Tencent, Cloud::Volcengine] {
        emulator.add_fault(Fault {
            cloud: Some(cloud),
            action: None,
            kind: FaultKind::Slow,
            times: 1_000,
            delay_ms: 60_000,
        });
    }
    let began = Instant::now();
    let budget = Duration::from_secs(9);
    let state = imgflow_shared::deadline::within(
        began + budget,
        check(&client, input, cloud_now(&emulator), CheckMode::Drive),
    )
    .await;
    let took = began.elapsed();
    // The deadline keeps a reserve for the answer: the check ends before it.
    assert!(
        took < budget - imgflow_shared::deadline::RESERVE / 2,
        "took {took:?}"
    );
    assert_eq!(state.state, JobPhase::Running);
    assert_eq!(state.checks, 1);
    for task in &state.tasks {
        assert!(task.state.is_open(), "{task:?}");
        let error = task.check_error.as_ref().expect("the timeout is kept");
        assert!(error.retryable, "{error:?}");
    }
    assert!(state.wait_seconds >= 1);
}

/// Issue 12.4: the state of the largest job must fit between two states. A finished job's
/// document is its summary; a running job's the tasks; messages are kept short, and a state
/// that would still outgrow the limit ends the job with a reason instead of being cut off by
/// Step Functions without a completion event.
#[tokio::test]
async fn the_largest_job_fits_in_a_state_and_an_oversized_one_ends_with_a_reason() {
    use imgflow_shared::job::{MAX_TASKS, STATE_BYTES_LIMIT, TaskEntry, TrackedTask};
    use imgflow_shared::model::{ObjectRef, TaskRef};
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let long_message = "x".repeat(2_000);
    let task = |index: usize, objects: usize, key_len: usize| {
        let mut tracked = TrackedTask::new(
            index,
            TaskRef {
                cloud: Cloud::Tencent,
                region: "ap-guangzhou".into(),
                kind: TaskKind::Export,
                image_id: format!("img-{index:08}"),
                task_id: Some(format!("{:09}", 100_000_000 + index)),
                destination_region: None,
                destination_image_id: None,
                objects: (0..objects)
                    .map(|disk| ObjectRef {
                        bucket: "imgflow-backup-1250000000".into(),
                        key: format!("{disk}{}", "k".repeat(key_len)),
                    })
                    .collect(),
                started_at: 0,
                confirmations: 0,
                skipped: false,
            },
            1_000,
        );
        tracked.state = TrackedState::Failed;
        tracked.finished_at = Some(2_000);
        tracked.reason = Some(imgflow_shared::model::CloudReason {
            code: Some("InvalidImageId.Malformed".into()),
            message: imgflow_shared::job::capped(&long_message),
        });
        tracked
    };
    let input = |objects: usize, key_len: usize| CheckInput {
        queued: Vec::new(),
        job_id: "big".into(),
        kind: Some(TaskKind::Export),
        options: JobOptions::default(),
        started_at: Some(1_000),
        deadline_at: Some(1_000_000),
        checks: 3,
        tasks: (0..MAX_TASKS)
            .map(|i| TaskEntry::Tracked(Box::new(task(i, objects, key_len))))
            .collect(),
        starts: Vec::new(),
        start_errors: Vec::new(),
        selections: Vec::new(),
        chunk: None,
        outages: None,
    };
    let reopen = |input: &mut CheckInput| {
        for entry in &mut input.tasks {
            if let TaskEntry::Tracked(task) = entry {
                task.state = TrackedState::Running;
                task.finished_at = None;
                task.reason = None;
            }
        }
    };
    emulator.add_fault(Fault {
        cloud: Some(Cloud::Tencent),
        action: None,
        kind: FaultKind::Throttle,
        times: 100_000,
        delay_ms: 0,
    });
    // A hundred running exports of five disks with long keys, their checks failing.
    let mut running = input(5, 200);
    reopen(&mut running);
    let state = check(&client, running, 3_000, CheckMode::Drive).await;
    assert_eq!(state.state, JobPhase::Running);
    let bytes = state.document_bytes();
    assert!(bytes <= STATE_BYTES_LIMIT, "{bytes} B");
    assert!(state.to_document().get("summary").is_none());

    // A hundred failed exports with long messages: the final document is the summary.
    let state = check(&client, input(5, 200), 3_000, CheckMode::Drive).await;
    assert_eq!(state.state, JobPhase::Failed);
    let bytes = state.document_bytes();
    assert!(bytes <= STATE_BYTES_LIMIT, "{bytes} B");
    assert_eq!(state.summary.details_omitted, 0, "the details fit");
    let reason = state.reason.as_deref().expect("a reason");
    assert!(reason.len() < 8_000, "{} characters", reason.len());
    assert!(reason.contains("and 90 more"), "{reason}");
    let document = state.to_document();
    assert!(
        document.get("tasks").is_none(),
        "a final document is its summary"
    );

    // Far more objects than any request names: the job ends, and says why.
    let mut oversized = input(40, 200);
    reopen(&mut oversized);
    let state = check(&client, oversized, 3_000, CheckMode::Drive).await;
    assert_eq!(state.state, JobPhase::Failed);
    assert!(state.document_bytes() <= STATE_BYTES_LIMIT);
    assert!(
        state
            .tasks
            .iter()
            .all(|t| t.reason.as_ref().and_then(|r| r.code.as_deref()) == Some("Job.StateTooLarge"))
    );
    let reason = state.reason.as_deref().expect("a reason");
    assert!(reason.contains("Job.StateTooLarge"), "{reason}");
}

/// Adds a ready custom Volcengine image in cn-beijing tagged `backup=nightly`, created
/// `age_hours` before the cloud's present.
fn add_nightly_build(emulator: &RunningEmulator, id: &str, name: &str, age_hours: f64) {
    use cloud_emulator::catalog::{ImageFlags, ImageSpec, ImageState};
    let mut world = emulator.world();
    let now = world.now();
    world.images.push(cloud_emulator::world::Image {
        spec: ImageSpec {
            cloud: Cloud::Volcengine,
            account: "default".into(),
            region: "cn-beijing".into(),
            id: id.into(),
            name: name.into(),
            size_gb: 1,
            data_disks_gb: Vec::new(),
            os_type: "linux".into(),
            state: ImageState::Available,
            flags: ImageFlags::default(),
            tags: [("backup".to_owned(), "nightly".to_owned())].into(),
        },
        created: now - age_hours * 3600.0,
        made_by: None,
    });
}

/// One scheduled run of the nightly job: its start item (the execution's start is the
/// cloud's present), then checks until it ends.
async fn nightly_run(
    emulator: &RunningEmulator,
    client: &CloudClient,
    request: &ExportRequest,
) -> JobState {
    let item = imgflow_shared::idempotence::StartItem {
        job_id: "nightly".into(),
        index: 0,
        since: cloud_now(emulator),
    };
    let outcome = client
        .start_export_item(request, &item)
        .await
        .expect("the run starts");
    let starts = vec![StartEntry::Started {
        queued: Vec::new(),
        index: 0,
        tasks: outcome.tasks,
        failures: outcome.failures,
        selected: outcome.selected,
    }];
    let input = first_input("nightly", TaskKind::Export, JobOptions::default(), starts);
    let states = drive(emulator, client, input).await;
    states.last().expect("a final state").clone()
}

/// The demo's nightly backup (issue 14, items 4 and 6): one selector job with
/// `skip_existing`, run on two nights with a new build of one image appearing between them.
/// The first run exports every match; the second exports only the new build and reports the
/// rest skipped, with their objects and sizes, as successes.
#[tokio::test]
async fn a_nightly_selector_job_run_twice_exports_only_the_new_build_and_skips_the_rest() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    add_nightly_build(&emulator, "image-ycnb0000000000000001", "app-a", 5.0);
    add_nightly_build(&emulator, "image-ycnb0000000000000002", "app-b", 4.0);
    add_nightly_build(&emulator, "image-ycnb0000000000000003", "app-c", 3.0);
    let request = export(json!({
        "cloud": "volcengine", "region": "cn-beijing", "bucket": "imgflow-tos-backup",
        "prefix": "nightly", "select": {"tags": {"backup": "nightly"}, "newest_per_name": 1},
        "skip_existing": true
    }));
    request.validate().expect("valid");

    let first = nightly_run(&emulator, &client, &request).await;
    assert_eq!(first.state, JobPhase::Succeeded, "{:?}", first.reason);
    assert_eq!(
        (
            first.summary.tasks_succeeded,
            first.summary.tasks_skipped,
            first.summary.tasks_total
        ),
        (3, 0, 3)
    );

    // The next day a new build of app-a appears; the schedule runs the job again.
    advance(&emulator, 86_400.0);
    add_nightly_build(&emulator, "image-ycnb0000000000000004", "app-a", 1.0);
    let exports_before = emulator
        .world()
        .tasks
        .iter()
        .filter(|t| matches!(t.kind, EmulatedTask::Export { .. }))
        .count();
    let second = nightly_run(&emulator, &client, &request).await;
    let exports_after = emulator
        .world()
        .tasks
        .iter()
        .filter(|t| matches!(t.kind, EmulatedTask::Export { .. }))
        .count();
    assert_eq!(exports_after, exports_before + 1, "only the new build");
    assert_eq!(second.state, JobPhase::Succeeded, "{:?}", second.reason);
    let summary = &second.summary;
    assert_eq!(
        (
            summary.tasks_succeeded,
            summary.tasks_skipped,
            summary.tasks_total
        ),
        (3, 2, 3)
    );
    let tasks = &summary.items[0].tasks;
    let mut skipped: Vec<&str> = tasks
        .iter()
        .filter(|t| t.skipped)
        .map(|t| t.image_id.as_str())
        .collect();
    skipped.sort();
    assert_eq!(
        skipped,
        ["image-ycnb0000000000000002", "image-ycnb0000000000000003"]
    );
    for task in tasks {
        assert_eq!(task.state, TrackedState::Succeeded);
        let Some(TaskResult::Export { objects }) = &task.result else {
            panic!("no export result: {task:?}")
        };
        assert_eq!(
            objects[0].key,
            format!("nightly_{}_system.qcow2", task.image_id)
        );
        assert!(objects[0].size > 0, "{objects:?}");
    }
    let exported: Vec<&str> = tasks
        .iter()
        .filter(|t| !t.skipped)
        .map(|t| t.image_id.as_str())
        .collect();
    assert_eq!(exported, ["image-ycnb0000000000000004"]);
    // The summary (the execution's output and completion event) lists what was selected.
    let selected: Vec<(&str, &str)> = summary.selections[0]
        .images
        .iter()
        .map(|i| (i.name.as_str(), i.id.as_str()))
        .collect();
    assert_eq!(
        selected,
        [
            ("app-a", "image-ycnb0000000000000004"),
            ("app-b", "image-ycnb0000000000000002"),
            ("app-c", "image-ycnb0000000000000003")
        ]
    );
    assert_eq!(summary.selections[0].item, 0);
}
