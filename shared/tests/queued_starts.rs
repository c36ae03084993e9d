//! Starts that meet a cloud's concurrency limit wait in the job's queue (issue 15, item 2):
//! a selection of twelve images on a cloud that runs five exports at once starts five, queues
//! seven, and the job's checks start the seven as room frees up, so that all twelve end
//! exported by exactly twelve cloud tasks, with the limit never exceeded. A start still queued
//! at the deadline ends timed out, naming the limit.

use std::collections::BTreeMap;

use crate::common::*;
use cloud_emulator::RunningEmulator;
use cloud_emulator::catalog::{ImageFlags, ImageSpec, ImageState};
use cloud_emulator::world::{Image, TaskKind as EmulatedKind};
use imgflow_shared::Cloud;
use imgflow_shared::client::CloudClient;
use imgflow_shared::idempotence::StartItem;
use imgflow_shared::job::queue::STILL_QUEUED;
use imgflow_shared::job::{
    CheckInput, CheckMode, JobOptions, JobPhase, JobState, StartEntry, TrackedState, check_job,
};
use imgflow_shared::model::{CopyRequest, ExportRequest, QueuedRequest, StartOutcome, TaskKind};
use imgflow_shared::retry::Jitter;
use serde_json::json;

/// The emulator's default: five exports at once per account and cloud.
const LIMIT: usize = 5;
const IMAGES: u32 = 12;

/// Where each cloud's images and bucket are in the emulator's default catalogue.
fn home(cloud: Cloud) -> (&'static str, &'static str) {
    match cloud {
        Cloud::Tencent => ("ap-guangzhou", "imgflow-backup-1250000000"),
        Cloud::Alibaba => ("cn-hangzhou", "imgflow-oss-backup"),
        Cloud::Volcengine => ("cn-beijing", "imgflow-tos-backup"),
        Cloud::Huawei => ("cn-north-4", "imgflow-obs-backup"),
    }
}

fn image_id(cloud: Cloud, i: u32) -> String {
    match cloud {
        Cloud::Tencent => format!("img-que{i:05}"),
        Cloud::Alibaba => format!("m-bp1que0000000{i:05}"),
        Cloud::Volcengine => format!("image-ycque0000000{i:05}"),
        Cloud::Huawei => format!("5e1bc6f3-4225-689a-92e8-6f2fd81{i:05}"),
    }
}

/// `IMAGES` ready images named `queue-<i>` in the cloud's home region, tagged `batch=q`.
fn add_images(emulator: &RunningEmulator, cloud: Cloud) {
    let (region, _) = home(cloud);
    let mut world = emulator.world();
    let now = world.now();
    for i in 0..IMAGES {
        world.images.push(Image {
            spec: ImageSpec {
                cloud,
                account: "default".into(),
                region: region.into(),
                id: image_id(cloud, i),
                name: format!("queue-{i:02}"),
                size_gb: 1,
                data_disks_gb: Vec::new(),
                os_type: "linux".into(),
                state: ImageState::Available,
                flags: ImageFlags::default(),
                tags: BTreeMap::from([("batch".to_owned(), "q".to_owned())]),
            },
            created: now - f64::from(i) - 60.0,
            made_by: None,
        });
    }
}

/// An export of every image tagged `batch=q`, as a job writes it.
fn export_selection(cloud: Cloud) -> ExportRequest {
    let (region, bucket) = home(cloud);
    let select = json!({"tags": {"batch": "q"}});
    let request = match cloud {
        Cloud::Tencent => json!({"cloud": "tencent", "region": region, "bucket": bucket,
                                 "select": select, "file_name_prefixes": ["queued"]}),
        Cloud::Alibaba => json!({"cloud": "alibaba", "region": region, "bucket": bucket,
                                 "prefix": "queued", "select": select}),
        Cloud::Volcengine => json!({"cloud": "volcengine", "region": region, "bucket": bucket,
                                    "prefix": "queued", "select": select}),
        Cloud::Huawei => json!({"cloud": "huawei", "region": region, "bucket": bucket,
                                "file_format": "qcow2", "select": select,
                                "object_key": "queued/{image_id}.qcow2"}),
    };
    serde_json::from_value(request).expect("an export request")
}

fn exports_made(emulator: &RunningEmulator, cloud: Cloud) -> usize {
    emulator
        .world()
        .tasks
        .iter()
        .filter(|t| t.cloud == cloud && matches!(t.kind, EmulatedKind::Export { .. }))
        .count()
}

fn first_input(outcome: StartOutcome, kind: TaskKind, options: JobOptions) -> CheckInput {
    let entry = json!({
        "index": 0,
        "tasks": outcome.tasks,
        "failures": outcome.failures,
        "queued": outcome.queued,
    });
    let start: StartEntry = serde_json::from_value(entry).expect("a start entry");
    serde_json::from_value(json!({"job_id": "queued", "kind": kind, "options": options}))
        .map(|input: CheckInput| CheckInput {
            starts: vec![start],
            ..input
        })
        .expect("a check input")
}

/// Checks the job as the state machine does until it ends (the state through JSON from one
/// check to the next, the cloud clock moved by each wait), handing every check's state to
/// `after_each` for its assertions. Returns the final state.
async fn drive_until_done(
    emulator: &RunningEmulator,
    client: &CloudClient,
    mut input: CheckInput,
    seed: u64,
    mut after_each: impl FnMut(&JobState),
) -> JobState {
    let mut jitter = Jitter::seeded(seed);
    for _ in 0..400 {
        let state = check_job(
            client,
            input,
            cloud_now(emulator),
            CheckMode::Drive,
            &mut jitter,
        )
        .await;
        after_each(&state);
        if state.state != JobPhase::Running {
            return state;
        }
        input = serde_json::from_value(state.to_document()).expect("the next input");
        advance(emulator, state.wait_seconds.max(1) as f64);
    }
    panic!("the job did not end in 400 checks");
}

/// [`drive_until_done`], asserting after every check that the cloud never ran more than
/// `LIMIT` exports of the job's cloud. Returns the final state and the most exports that ran
/// at once.
async fn drive(
    emulator: &RunningEmulator,
    client: &CloudClient,
    cloud: Cloud,
    input: CheckInput,
) -> (JobState, usize) {
    let mut most_running = 0;
    let state = drive_until_done(emulator, client, input, 15, |_| {
        let running = emulator.world().running_exports(cloud, "default");
        assert!(running <= LIMIT, "{running} exports ran at once");
        most_running = most_running.max(running);
    })
    .await;
    (state, most_running)
}

async fn a_selection_beyond_the_limit_queues_the_rest_and_exports_each_image_once(cloud: Cloud) {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    add_images(&emulator, cloud);
    let item = StartItem {
        job_id: "queued".into(),
        index: 0,
        since: cloud_now(&emulator),
    };
    let request = export_selection(cloud);
    let outcome = client
        .start_export_item(&request, &item)
        .await
        .expect("the start answers with started and queued exports");
    assert_eq!(
        outcome.tasks.len(),
        LIMIT,
        "{cloud}: as many as the limit start"
    );
    assert_eq!(
        outcome.queued.len(),
        IMAGES as usize - LIMIT,
        "{cloud}: the rest wait"
    );
    for queued in &outcome.queued {
        assert!(queued.error.is_concurrency_limit(), "{:?}", queued.error);
        assert_eq!(queued.item, 0);
        assert_eq!(
            queued.request.image_ids().len(),
            1,
            "one image per queued start"
        );
    }
    assert_eq!(exports_made(&emulator, cloud), LIMIT);

    // A retry of the start item (its answer lost) adopts the five and queues the same seven.
    // (Tencent and Huawei cannot list a running export: their retries are answered by the
    // start record, functions/common/tests/start_records.rs.)
    if matches!(cloud, Cloud::Alibaba | Cloud::Volcengine) {
        retry_adopts(&emulator, &client, &request, &item, &outcome).await;
    }

    let (state, most_running) = drive(
        &emulator,
        &client,
        cloud,
        first_input(outcome, TaskKind::Export, JobOptions::default()),
    )
    .await;
    assert_eq!(
        state.state,
        JobPhase::Succeeded,
        "{cloud}: {:?}",
        state.reason
    );
    assert_eq!(state.summary.tasks_succeeded, IMAGES as usize);
    assert_eq!(state.summary.tasks_total, IMAGES as usize);
    assert_eq!(
        exports_made(&emulator, cloud),
        IMAGES as usize,
        "{cloud}: exactly one cloud task per image"
    );
    assert_eq!(
        most_running, LIMIT,
        "{cloud}: the limit was used, never passed"
    );
    let mut exported: Vec<String> = state
        .summary
        .items
        .iter()
        .flat_map(|item| item.tasks.iter().map(|t| t.image_id.clone()))
        .collect();
    exported.sort();
    let mut expected: Vec<String> = (0..IMAGES).map(|i| image_id(cloud, i)).collect();
    expected.sort();
    assert_eq!(exported, expected);
}

async fn retry_adopts(
    emulator: &RunningEmulator,
    client: &CloudClient,
    request: &ExportRequest,
    item: &StartItem,
    outcome: &StartOutcome,
) {
    let cloud = request.cloud();
    let again = client
        .start_export_item(request, item)
        .await
        .expect("the retry answers");
    assert_eq!(
        exports_made(emulator, cloud),
        LIMIT,
        "{cloud}: the retry started nothing"
    );
    let ids = |o: &StartOutcome| {
        let mut ids: Vec<String> = o.tasks.iter().map(|t| t.image_id.clone()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&again), ids(outcome));
    assert_eq!(again.queued.len(), outcome.queued.len());
}

#[tokio::test]
async fn a_tencent_selection_beyond_the_limit_queues_the_rest_and_exports_each_image_once() {
    a_selection_beyond_the_limit_queues_the_rest_and_exports_each_image_once(Cloud::Tencent).await;
}

#[tokio::test]
async fn an_alibaba_selection_beyond_the_limit_queues_the_rest_and_exports_each_image_once() {
    a_selection_beyond_the_limit_queues_the_rest_and_exports_each_image_once(Cloud::Alibaba).await;
}

#[tokio::test]
async fn a_volcengine_selection_beyond_the_limit_queues_the_rest_and_exports_each_image_once() {
    a_selection_beyond_the_limit_queues_the_rest_and_exports_each_image_once(Cloud::Volcengine)
        .await;
}

#[tokio::test]
async fn a_huawei_selection_beyond_the_limit_queues_the_rest_and_exports_each_image_once() {
    a_selection_beyond_the_limit_queues_the_rest_and_exports_each_image_once(Cloud::Huawei).await;
}

/// Explicit ids beyond the limit: a Tencent ExportImages of eight images is refused whole by
/// CVM, so the start splits it and starts as many as fit.
#[tokio::test]
async fn explicit_tencent_ids_beyond_the_limit_start_what_fits_and_queue_the_rest() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    add_images(&emulator, Cloud::Tencent);
    let (region, bucket) = home(Cloud::Tencent);
    let ids: Vec<String> = (0..8).map(|i| image_id(Cloud::Tencent, i)).collect();
    let request: ExportRequest = serde_json::from_value(json!({
        "cloud": "tencent", "region": region, "bucket": bucket, "image_ids": ids,
        "file_name_prefixes": ids.iter().map(|id| format!("p-{id}")).collect::<Vec<_>>(),
    }))
    .expect("an export");
    let item = StartItem {
        job_id: "queued".into(),
        index: 3,
        since: cloud_now(&emulator),
    };
    let outcome = client
        .start_export_item(&request, &item)
        .await
        .expect("the start answers");
    let started: Vec<&str> = outcome.tasks.iter().map(|t| t.image_id.as_str()).collect();
    assert_eq!(
        started,
        ids[..LIMIT].iter().map(String::as_str).collect::<Vec<_>>()
    );
    let queued: Vec<String> = outcome
        .queued
        .iter()
        .flat_map(|q| q.request.image_ids())
        .collect();
    assert_eq!(queued, ids[LIMIT..].to_vec());
    // Each queued export keeps its own image's prefix.
    for q in &outcome.queued {
        let QueuedRequest::Export(ExportRequest::Tencent(r)) = &q.request else {
            panic!("a Tencent export");
        };
        assert_eq!(r.file_name_prefixes, vec![format!("p-{}", r.image_ids[0])]);
        assert_eq!(q.item, 3);
    }
    assert_eq!(exports_made(&emulator, Cloud::Tencent), LIMIT);

    // Without a start item (the command line's bare start) nothing is queued: the cloud's
    // error is the answer, as before.
    let bare = client.start_export(&request).await;
    assert!(bare.is_err(), "{bare:?}");
}

/// A start still queued when the deadline comes ends timed out, naming the limit and the
/// cloud's last refusal; the job is partial (its first five succeeded).
#[tokio::test]
async fn a_start_still_queued_at_the_deadline_times_out_naming_the_limit() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    add_images(&emulator, Cloud::Alibaba);
    // Another user's five long exports hold every slot of the account.
    {
        let mut world = emulator.world();
        world.limits.running_exports_per_account = 10;
    }
    let blockers: Vec<String> = (5..IMAGES).map(|i| image_id(Cloud::Alibaba, i)).collect();
    let (region, bucket) = home(Cloud::Alibaba);
    for id in &blockers[..5] {
        let blocker: ExportRequest = serde_json::from_value(json!({
            "cloud": "alibaba", "region": region, "bucket": bucket, "image_id": id,
        }))
        .expect("an export");
        client
            .start_export(&blocker)
            .await
            .expect("a blocker starts");
    }
    emulator.world().limits.running_exports_per_account = LIMIT;
    let request: ExportRequest = serde_json::from_value(json!({
        "cloud": "alibaba", "region": region, "bucket": bucket, "image_id": image_id(Cloud::Alibaba, 0),
    }))
    .expect("an export");
    let item = StartItem {
        job_id: "queued".into(),
        index: 0,
        since: cloud_now(&emulator),
    };
    let outcome = client
        .start_export_item(&request, &item)
        .await
        .expect("queued, not failed");
    assert!(outcome.tasks.is_empty());
    assert_eq!(outcome.queued.len(), 1);
    // The blockers outlast the job: a deadline of ten minutes.
    let options: JobOptions =
        serde_json::from_value(json!({"deadline_seconds": 600})).expect("options");
    let input = first_input(outcome, TaskKind::Export, options);
    let state = drive_until_done(&emulator, &client, input, 3, |state| {
        if state.state == JobPhase::Running {
            assert_eq!(
                state.summary.tasks_queued, 1,
                "a running job counts its queued start"
            );
        }
    })
    .await;
    assert_eq!(state.state, JobPhase::TimedOut, "{:?}", state.reason);
    let task = &state.summary.items[0].tasks[0];
    assert_eq!(task.state, TrackedState::TimedOut);
    let reason = task.reason.as_ref().expect("a reason");
    assert_eq!(reason.code.as_deref(), Some(STILL_QUEUED));
    assert!(
        reason
            .message
            .contains("still queued behind the cloud's concurrency limit")
            && reason.message.contains("ConcurrentQuotaExceed.ExportImage"),
        "{}",
        reason.message
    );
    assert_eq!(
        exports_made(&emulator, Cloud::Alibaba),
        5,
        "only the blockers ever ran"
    );
}

/// A check whose answer is lost is retried with the same input: the queued start it made is
/// found and adopted, never started twice (Alibaba: its ClientToken; Volcengine: its task in
/// the window).
#[tokio::test]
async fn a_retried_check_adopts_the_queued_start_an_earlier_attempt_made() {
    for cloud in [Cloud::Alibaba, Cloud::Volcengine] {
        let emulator = frozen_emulator().await;
        let client = client(&emulator);
        add_images(&emulator, cloud);
        let item = StartItem {
            job_id: "queued".into(),
            index: 0,
            since: cloud_now(&emulator),
        };
        let outcome = client
            .start_export_item(&export_selection(cloud), &item)
            .await
            .expect("started and queued");
        // Let the first five finish, so the check starts queued ones.
        advance(&emulator, 6.0 * 3600.0);
        let input = first_input(outcome, TaskKind::Export, JobOptions::default());
        let now = cloud_now(&emulator);
        let first = check_job(
            &client,
            input.clone(),
            now,
            CheckMode::Drive,
            &mut Jitter::seeded(1),
        )
        .await;
        let made = exports_made(&emulator, cloud);
        assert_eq!(
            made, 10,
            "{cloud}: five more started once the first five ended"
        );
        let retried = check_job(
            &client,
            input,
            now,
            CheckMode::Drive,
            &mut Jitter::seeded(1),
        )
        .await;
        assert_eq!(
            exports_made(&emulator, cloud),
            made,
            "{cloud}: the retry started nothing"
        );
        let task_ids = |state: &JobState| {
            let mut ids: Vec<String> = state
                .tasks
                .iter()
                .filter_map(|t| t.task.task_id.clone())
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(
            task_ids(&retried),
            task_ids(&first),
            "{cloud}: the same tasks"
        );
        assert_eq!(retried.queued.len(), 2);
    }
}

/// Huawei runs five cross-region copies at once per tenant: the sixth and later destinations
/// wait and start as copies end.
#[tokio::test]
async fn huawei_copies_beyond_the_cross_region_limit_wait_for_room() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    add_images(&emulator, Cloud::Huawei);
    let request: CopyRequest = serde_json::from_value(json!({
        "cloud": "huawei", "region": "cn-north-4", "destination_regions": ["cn-east-3"],
        "select": {"tags": {"batch": "q"}}, "image_name": "copy-{image_id}",
        "agency_name": "ims_admin_agency",
    }))
    .expect("a copy");
    let item = StartItem {
        job_id: "queued".into(),
        index: 0,
        since: cloud_now(&emulator),
    };
    let outcome = client
        .start_copy_item(&request, &item)
        .await
        .expect("started and queued");
    assert_eq!(outcome.tasks.len(), LIMIT);
    assert_eq!(outcome.queued.len(), IMAGES as usize - LIMIT);
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    for queued in &outcome.queued {
        assert_eq!(
            queued.request.destination_regions(),
            ["cn-east-3".to_owned()]
        );
        assert_eq!(queued.error.code, "IMG.0060");
    }
    let input = first_input(outcome, TaskKind::Copy, JobOptions::default());
    let state = drive_until_done(&emulator, &client, input, 5, |_| {
        assert!(
            emulator
                .world()
                .running_copies(Cloud::Huawei, "default", None)
                <= LIMIT
        );
    })
    .await;
    assert_eq!(state.state, JobPhase::Succeeded, "{:?}", state.reason);
    assert_eq!(state.summary.tasks_succeeded, IMAGES as usize);
    let copies = emulator
        .world()
        .tasks
        .iter()
        .filter(|t| t.cloud == Cloud::Huawei && matches!(t.kind, EmulatedKind::Copy { .. }))
        .count();
    assert_eq!(copies, IMAGES as usize, "one copy per image");
}

/// A queued start comes back in the job's state, which anyone who may start an execution can
/// write: it is held to the request rules and the configured regions before anything is sent.
#[tokio::test]
async fn a_queued_start_in_a_state_is_checked_like_a_request() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let (_, bucket) = home(Cloud::Alibaba);
    let input: CheckInput = serde_json::from_value(json!({
        "job_id": "queued", "kind": "export",
        "queued": [{"item": 0, "since": 1, "attempts": 0,
                    "error": {"cloud": "alibaba", "kind": "quota", "retryable": false,
                              "code": "ConcurrentQuotaExceed.ExportImage", "message": "full",
                              "request_id": null, "http_status": 400},
                    "request": {"export": {"cloud": "alibaba", "region": "evil.example.com/",
                                           "bucket": bucket, "image_id": "m-bp1que000000000001"}}}]
    }))
    .expect("a state");
    let err = input
        .validate(client.endpoints())
        .expect_err("a foreign region is refused");
    assert!(err.field.starts_with("queued[0].request"), "{err:?}");
}

/// One image of a selection that the cloud refuses for good (an encrypted Alibaba image)
/// fails alone: the exports before it keep running and are followed, the ones after it start
/// or queue. Before, the refusal failed the whole start item, and the exports it had already
/// started were followed by nobody.
#[tokio::test]
async fn one_refused_image_of_a_selection_fails_alone() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    add_images(&emulator, Cloud::Alibaba);
    let refused = image_id(Cloud::Alibaba, 2);
    {
        let mut world = emulator.world();
        let image = world
            .images
            .iter_mut()
            .find(|i| i.spec.id == refused)
            .expect("the image");
        image.spec.flags.encrypted = true;
    }
    let item = StartItem {
        job_id: "queued".into(),
        index: 0,
        since: cloud_now(&emulator),
    };
    let outcome = client
        .start_export_item(&export_selection(Cloud::Alibaba), &item)
        .await
        .expect("the start answers");
    assert_eq!(outcome.tasks.len(), LIMIT, "{outcome:?}");
    assert!(outcome.tasks.iter().all(|t| t.image_id != refused));
    assert_eq!(outcome.failures.len(), 1, "{:?}", outcome.failures);
    let failure = &outcome.failures[0];
    assert!(
        failure.error.message.starts_with(&refused) && failure.error.request_id.is_some(),
        "the image, the cloud's message and its request id: {failure:?}"
    );
    assert_eq!(outcome.queued.len(), IMAGES as usize - LIMIT - 1);
    assert_eq!(exports_made(&emulator, Cloud::Alibaba), LIMIT);
}
