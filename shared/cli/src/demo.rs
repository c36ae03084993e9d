//! `imgflow demo`: the seed scenarios on all four clouds against an in-process cloud
//! emulator, through the same code the Lambda functions run ([`CloudClient`]'s start and
//! status operations) and the same wait policy the state machine follows
//! ([`WaitPolicy::next_wait`], in cloud seconds, slept `wait / time_scale` real seconds).
//!
//! Every scenario starts at once, except where a cloud refuses a second operation on an
//! image while one runs: Tencent's copy of `img-web00001` and Volcengine's copy of its web
//! image start when their exports have ended, as a careful operator would do.

use std::sync::Arc;
use std::time::Instant;

use cloud_emulator::EmulatorConfig;
use imgflow_shared::Cloud;
use imgflow_shared::client::CloudClient;
use imgflow_shared::config::CloudCredentials;
use imgflow_shared::endpoints::Endpoints;
use imgflow_shared::error::{CloudError, ValidationError};
use imgflow_shared::model::{
    CloudReason, ExportRequest, ExportedObject, RegionImage, StartOutcome, SyncRequest, TaskKind,
    TaskRef, TaskResult, TaskState,
};
use imgflow_shared::operations::StartError;
use imgflow_shared::retry::RetryPolicy;
use imgflow_shared::signing::Credentials;
use imgflow_shared::transport::Transport;
use serde::Serialize;
use serde_json::{Value, json};

use crate::follow::{FollowOptions, TaskOutcome, follow, sanitize_scale};
use crate::format::{self, Table, cell};
use crate::report::{Mode, Reporter, TaskBar};

/// One real second is one cloud hour: the longest scenario (six cloud hours of export, then
/// a copy) ends in well under ten seconds.
pub const DEFAULT_TIME_SCALE: f64 = 3600.0;

/// The emulator's built-in keys, valid on all four clouds.
pub const EMULATOR_ACCESS_KEY: &str = "imgflow-emulator-ak";
pub const EMULATOR_SECRET_KEY: &str = "imgflow-emulator-sk";

/// The Huawei projects of the emulator's default account (its `default-catalog.json`).
pub const EMULATOR_HUAWEI_PROJECTS: [(&str, &str); 3] = [
    ("cn-north-4", "0a1b2c3d4e5f40718293a4b5c6d7e8f9"),
    ("cn-east-3", "1b2c3d4e5f60418293a4b5c6d7e8f90a"),
    ("ap-southeast-1", "2c3d4e5f6071429384a5b6c7d8e9f0a1"),
];

/// A scenario's deadline in cloud time, as the state machine would give a job.
const DEADLINE_SECONDS: u64 = 24 * 3600;

#[derive(Clone, Copy, Debug)]
pub struct DemoOptions {
    /// Cloud seconds per real second.
    pub time_scale: f64,
    /// Progress bars, log lines or nothing.
    pub mode: Mode,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            time_scale: DEFAULT_TIME_SCALE,
            mode: Mode::Quiet,
        }
    }
}

/// What a scenario is expected to end with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Expectation {
    /// Every task succeeds: objects with sizes for exports, new images for copies.
    Succeed,
    /// The cloud refuses the start, or a task fails, with this error code.
    Fail { code: String },
}

/// How a scenario ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    /// A task failed (the cloud's reason is in the task).
    Failed,
    /// The cloud refused the start.
    Refused,
    /// The request broke a rule; nothing was sent.
    Invalid,
    /// A status check failed for good.
    Error,
    /// The deadline passed first.
    TimedOut,
}

/// The whole demo.
#[derive(Clone, Debug, Serialize)]
pub struct DemoSummary {
    /// The emulator's base URL (it stops when the demo ends).
    pub emulator: String,
    pub time_scale: f64,
    /// Real seconds from the emulator's start to the last scenario's end.
    pub real_seconds: f64,
    pub all_as_expected: bool,
    pub scenarios: Vec<ScenarioSummary>,
    /// The nightly-backup scenario: one selector job with `skip_existing`, run twice.
    pub nightly: NightlySummary,
}

/// The nightly backup (issue 14): the job's request, and what each scheduled run did.
#[derive(Clone, Debug, Serialize)]
pub struct NightlySummary {
    pub request: Value,
    pub runs: Vec<NightlyRun>,
    /// The first run exported every match, the second only the new build, skipping the rest.
    pub as_expected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One scheduled run of the nightly job.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NightlyRun {
    /// The images the selector matched (`name id`).
    pub selected: Vec<String>,
    /// Images exported by this run.
    pub exported: Vec<String>,
    /// Images already exported (objects found), reported skipped.
    pub skipped: Vec<String>,
    /// Whether every task ended succeeded (skipped ones included).
    pub succeeded: bool,
}

/// The nightly job's request: every image tagged `backup=nightly`, the newest of each name,
/// exported to TOS, skipping what an earlier run exported.
pub fn nightly_request() -> Value {
    json!({"cloud": "volcengine", "region": "cn-beijing", "bucket": "imgflow-tos-backup",
        "prefix": "nightly", "select": {"tags": {"backup": "nightly"}, "newest_per_name": 1},
        "skip_existing": true})
}

/// Adds a ready custom Volcengine image tagged `backup=nightly` (an image build).
fn add_build(emulator: &cloud_emulator::RunningEmulator, id: &str, name: &str, age_seconds: f64) {
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
            size_gb: 2,
            data_disks_gb: Vec::new(),
            os_type: "linux".into(),
            state: ImageState::Available,
            flags: ImageFlags::default(),
            tags: [("backup".to_owned(), "nightly".to_owned())].into(),
        },
        created: now - age_seconds,
        made_by: None,
    });
}

/// One run of the nightly job, as the state machine runs it: a start item opened at the
/// cloud's present, then status checks until every task has ended.
async fn nightly_run(
    client: &CloudClient,
    emulator: &cloud_emulator::RunningEmulator,
    request: &ExportRequest,
    time_scale: f64,
) -> Result<NightlyRun, String> {
    let item = imgflow_shared::idempotence::StartItem {
        job_id: "nightly".into(),
        index: 0,
        since: emulator.world().now() as u64,
    };
    let outcome = client
        .start_export_item(request, &item)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(waiting) = outcome.queued.first() {
        // The demo follows started tasks only; its fleet stays under every cloud's limit.
        return Err(format!(
            "{} exports wait behind the cloud's concurrency limit ({}): the nightly demo's selection must fit the limit",
            outcome.queued.len(),
            waiting.error
        ));
    }
    let mut run = NightlyRun {
        selected: outcome
            .selected
            .iter()
            .flatten()
            .map(|i| format!("{} {}", i.name, i.id))
            .collect(),
        ..NightlyRun::default()
    };
    for task in &outcome.tasks {
        let list = if task.skipped {
            &mut run.skipped
        } else {
            &mut run.exported
        };
        list.push(task.image_id.clone());
    }
    let mut tasks = outcome.tasks;
    // Exports of these small images take minutes of cloud time: a few real seconds at most.
    for _ in 0..600 {
        let statuses: Vec<_> = client.status(&tasks).await;
        let mut done = true;
        let mut succeeded = true;
        for (task, status) in tasks.iter_mut().zip(statuses) {
            let status = status.map_err(|e| e.to_string())?;
            *task = status.task.clone();
            done &= status.state.is_final();
            succeeded &= status.state == TaskState::Succeeded;
        }
        if done {
            run.succeeded = succeeded;
            return Ok(run);
        }
        tokio::time::sleep(std::time::Duration::from_secs_f64(
            (60.0 / time_scale).clamp(0.01, 1.0),
        ))
        .await;
    }
    Err("the nightly run did not end".into())
}

/// The nightly-backup scenario: three builds tagged `backup=nightly`; the first run exports
/// them all; a new build of `app-a` appears the next day; the second run exports only it and
/// reports the other two skipped.
async fn nightly(
    client: &CloudClient,
    emulator: &cloud_emulator::RunningEmulator,
    time_scale: f64,
) -> NightlySummary {
    let request = nightly_request();
    let mut summary = NightlySummary {
        request: request.clone(),
        runs: Vec::new(),
        as_expected: false,
        error: None,
    };
    let parsed: ExportRequest = match serde_json::from_value(request) {
        Ok(parsed) => parsed,
        Err(err) => {
            summary.error = Some(err.to_string());
            return summary;
        }
    };
    add_build(emulator, "image-ycnightly00000000001", "app-a", 7200.0);
    add_build(emulator, "image-ycnightly00000000002", "app-b", 7200.0);
    add_build(emulator, "image-ycnightly00000000003", "app-c", 7200.0);
    for night in 0..2 {
        if night == 1 {
            // The next night: a new build of app-a has appeared since.
            emulator.world().clock.advance(86_400.0);
            add_build(emulator, "image-ycnightly00000000004", "app-a", 3600.0);
        }
        match nightly_run(client, emulator, &parsed, time_scale).await {
            Ok(run) => summary.runs.push(run),
            Err(err) => {
                summary.error = Some(err);
                return summary;
            }
        }
    }
    let shape = |run: &NightlyRun| (run.succeeded, run.exported.len(), run.skipped.len());
    summary.as_expected = summary.runs.len() == 2
        && shape(&summary.runs[0]) == (true, 3, 0)
        && shape(&summary.runs[1]) == (true, 1, 2)
        && summary.runs[1].exported == ["image-ycnightly00000000004"];
    summary
}

/// One scenario: one start call and the tasks it started.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioSummary {
    pub cloud: Cloud,
    /// The cloud API action that starts it (`ExportImages`, `CopyImage`, ...).
    pub operation: String,
    pub title: String,
    /// The request, as `imgflow export`/`sync --request` would read it.
    pub request: Value,
    pub expected: Expectation,
    pub outcome: Outcome,
    pub as_expected: bool,
    /// The cloud's refusal of the start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<CloudError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid: Option<ValidationError>,
    pub tasks: Vec<TaskSummary>,
    /// Status checks made (each covers every unfinished task of the scenario).
    pub checks: u32,
    /// Cloud seconds from the start call to the last task's end.
    pub cloud_seconds: f64,
    pub real_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One task of a scenario.
#[derive(Clone, Debug, Serialize)]
pub struct TaskSummary {
    pub task: TaskRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<TaskState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_state: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ExportedObject>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<RegionImage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<CloudReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<CloudError>,
    pub timed_out: bool,
    pub checks: u32,
    pub cloud_seconds: f64,
    pub real_seconds: f64,
}

#[derive(Clone, Debug)]
enum DemoRequest {
    Export(ExportRequest),
    Sync(SyncRequest),
}

#[derive(Clone, Debug)]
struct Scenario {
    cloud: Cloud,
    operation: &'static str,
    title: &'static str,
    request: Value,
    expected: Expectation,
    /// The scenario (by index) that must end before this one starts, and why.
    after: Option<(usize, &'static str)>,
}

/// The seed scenarios, in the order the summary lists them.
fn scenarios() -> Vec<Scenario> {
    let huawei_web = "4d0ab5e2-3114-578f-81d7-2d843f36e39b";
    vec![
        Scenario {
            cloud: Cloud::Tencent,
            operation: "ExportImages",
            title: "export web-server-2025 and database-2025 to COS as QCOW2",
            request: json!({"cloud": "tencent", "region": "ap-guangzhou",
                "bucket": "imgflow-backup-1250000000",
                "image_ids": ["img-web00001", "img-db000001"], "format": "QCOW2",
                "file_name_prefixes": ["web", "db"], "role_name": "CVM_QcsRole"}),
            expected: Expectation::Succeed,
            after: None,
        },
        Scenario {
            cloud: Cloud::Tencent,
            operation: "SyncImages",
            title: "copy web-server-2025 to ap-shanghai and ap-beijing",
            request: json!({"cloud": "tencent", "region": "ap-guangzhou",
                "image_id": "img-web00001", "destination_regions": ["ap-shanghai", "ap-beijing"],
                "image_name": "web-2025", "image_set_required": true}),
            expected: Expectation::Succeed,
            after: Some((0, "CVM refuses to sync an image while it is being exported")),
        },
        Scenario {
            cloud: Cloud::Volcengine,
            operation: "ExportImage",
            title: "export web-server-2025 to TOS",
            request: json!({"cloud": "volcengine", "region": "cn-beijing",
                "image_id": "image-ycweb000000000000001", "bucket": "imgflow-tos-backup",
                "prefix": "web2025"}),
            expected: Expectation::Succeed,
            after: None,
        },
        Scenario {
            cloud: Cloud::Volcengine,
            operation: "CopyImage",
            title: "copy web-server-2025 to cn-shanghai",
            request: json!({"cloud": "volcengine", "region": "cn-beijing",
                "image_id": "image-ycweb000000000000001", "destination_regions": ["cn-shanghai"],
                "image_name": "web-2025-copy"}),
            expected: Expectation::Succeed,
            after: Some((2, "Volcengine locks an image while it is being exported")),
        },
        Scenario {
            cloud: Cloud::Alibaba,
            operation: "ExportImage",
            title: "export web-server-2025 to OSS",
            request: json!({"cloud": "alibaba", "region": "cn-hangzhou",
                "image_id": "m-bp1web000000000000001", "bucket": "imgflow-oss-backup",
                "prefix": "web2025", "format": "qcow2",
                "role_name": "AliyunECSImageExportDefaultRole"}),
            expected: Expectation::Succeed,
            after: None,
        },
        Scenario {
            cloud: Cloud::Alibaba,
            operation: "CopyImage",
            title: "copy web-server-2025 to cn-shanghai",
            request: json!({"cloud": "alibaba", "region": "cn-hangzhou",
                "image_id": "m-bp1web000000000000001", "destination_regions": ["cn-shanghai"],
                "image_name": "web-2025-copy", "description": "copied by the imgflow demo"}),
            expected: Expectation::Succeed,
            after: None,
        },
        Scenario {
            cloud: Cloud::Huawei,
            operation: "ExportImage",
            title: "export web-server-2025 to OBS as qcow2",
            request: json!({"cloud": "huawei", "region": "cn-north-4", "image_id": huawei_web,
                "bucket": "imgflow-obs-backup", "object_key": "exports/web-2025.qcow2",
                "file_format": "qcow2"}),
            expected: Expectation::Succeed,
            after: None,
        },
        Scenario {
            cloud: Cloud::Huawei,
            operation: "CopyImageCrossRegion",
            title: "copy web-server-2025 to cn-east-3",
            request: json!({"cloud": "huawei", "region": "cn-north-4", "image_id": huawei_web,
                "destination_regions": ["cn-east-3"], "image_name": "web-2025 copy",
                "agency_name": "ims_admin_agency"}),
            expected: Expectation::Succeed,
            after: None,
        },
        Scenario {
            cloud: Cloud::Huawei,
            operation: "ExportImage",
            title: "export fails-midway: expected to fail halfway with IMS's reason",
            request: json!({"cloud": "huawei", "region": "cn-north-4",
                "image_id": "1a5c6615-fa49-5428-a91a-5e09f60c4e36",
                "bucket": "imgflow-obs-backup", "object_key": "exports/fails-midway.qcow2",
                "file_format": "qcow2"}),
            expected: Expectation::Fail {
                code: "IMG.0014".into(),
            },
            after: None,
        },
    ]
}

/// How many scenarios the demo runs.
pub fn scenario_count() -> usize {
    scenarios().len()
}

/// The emulator's keys on all four clouds, and its Huawei projects.
pub fn emulator_credentials() -> CloudCredentials {
    let key = || Credentials::new(EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY);
    let mut credentials = CloudCredentials::default();
    for cloud in Cloud::ALL {
        credentials = credentials.with(cloud, key());
    }
    for (region, project) in EMULATOR_HUAWEI_PROJECTS {
        credentials = credentials.with_huawei_project(region, project);
    }
    credentials
}

/// Why the demo could not run at all.
#[derive(Debug)]
pub struct DemoError(pub String);

impl std::fmt::Display for DemoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DemoError {}

/// Starts the emulator, runs every scenario, stops the emulator, and sums up.
pub async fn run(options: DemoOptions) -> Result<DemoSummary, DemoError> {
    let time_scale = sanitize_scale(options.time_scale);
    let began = Instant::now();
    let emulator = cloud_emulator::start(EmulatorConfig {
        time_scale,
        ..EmulatorConfig::default()
    })
    .await
    .map_err(|err| DemoError(format!("the cloud emulator did not start: {err}")))?;
    let base_url = emulator.base_url.clone();
    let transport = Transport::new(
        std::time::Duration::from_secs(5),
        std::time::Duration::from_secs(30),
    )
    .map_err(|err| DemoError(err.to_string()))?;
    let endpoints = Endpoints::single(&base_url).map_err(|err| DemoError(err.to_string()))?;
    let client = Arc::new(CloudClient::new(
        transport,
        endpoints,
        emulator_credentials(),
        RetryPolicy::default(),
    ));
    let reporter = Arc::new(Reporter::new(options.mode));
    reporter.line(&format!(
        "imgflow demo: {} scenarios on the cloud emulator at {base_url}; \
         1 real second = {time_scale} cloud seconds (the times shown are cloud time)",
        scenario_count(),
    ));

    let all = scenarios();
    // Every scenario's bar, in the order of the summary, before anything starts.
    let mut bars: Vec<Option<TaskBar>> = all
        .iter()
        .map(|scenario| {
            let message = match scenario.after {
                Some((_, why)) => format!("waiting: {why}"),
                None => "starting".to_owned(),
            };
            Some(reporter.bar(&start_label(scenario), &message))
        })
        .collect();
    let mut set = tokio::task::JoinSet::new();
    for root in (0..all.len()).filter(|i| all[*i].after.is_none()) {
        let chain: Vec<(usize, Scenario, TaskBar)> = std::iter::once(root)
            .chain((0..all.len()).filter(|j| all[*j].after.is_some_and(|(a, _)| a == root)))
            .filter_map(|i| bars[i].take().map(|bar| (i, all[i].clone(), bar)))
            .collect();
        let client = Arc::clone(&client);
        let reporter = Arc::clone(&reporter);
        set.spawn(async move { run_chain(&client, &reporter, chain, time_scale).await });
    }
    let mut summaries: Vec<(usize, ScenarioSummary)> = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(done) => summaries.extend(done),
            Err(err) => return Err(DemoError(format!("a scenario panicked: {err}"))),
        }
    }
    summaries.sort_by_key(|(index, _)| *index);
    let scenarios: Vec<ScenarioSummary> = summaries.into_iter().map(|(_, s)| s).collect();
    reporter.line("nightly backup: one selector job with skip_existing, run on two nights");
    let nightly = nightly(&client, &emulator, time_scale).await;
    emulator.stop().await;
    let all_as_expected = scenarios.len() == all.len()
        && scenarios.iter().all(|scenario| scenario.as_expected)
        && nightly.as_expected;
    Ok(DemoSummary {
        emulator: base_url,
        time_scale,
        real_seconds: began.elapsed().as_secs_f64(),
        all_as_expected,
        scenarios,
        nightly,
    })
}

/// Runs scenarios one after the other (each later one waits for the one before).
async fn run_chain(
    client: &CloudClient,
    reporter: &Reporter,
    chain: Vec<(usize, Scenario, TaskBar)>,
    time_scale: f64,
) -> Vec<(usize, ScenarioSummary)> {
    let mut done = Vec::new();
    for (index, scenario, bar) in chain {
        bar.message("starting");
        let summary = run_scenario(client, reporter, &scenario, bar, time_scale).await;
        done.push((index, summary));
    }
    done
}

fn start_label(scenario: &Scenario) -> String {
    let image = scenario
        .request
        .get("image_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            scenario
                .request
                .get("image_ids")
                .and_then(Value::as_array)
                .map(|ids| {
                    ids.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                })
        })
        .unwrap_or_default();
    format!("{} {} {image}", scenario.cloud, scenario.operation)
}

fn task_label(task: &TaskRef) -> String {
    format!("{} {}", task.cloud, format::task_label(task))
}

async fn run_scenario(
    client: &CloudClient,
    reporter: &Reporter,
    scenario: &Scenario,
    start_bar: TaskBar,
    time_scale: f64,
) -> ScenarioSummary {
    let origin = Instant::now();
    let mut summary = ScenarioSummary {
        cloud: scenario.cloud,
        operation: scenario.operation.to_owned(),
        title: scenario.title.to_owned(),
        request: scenario.request.clone(),
        expected: scenario.expected.clone(),
        outcome: Outcome::Error,
        as_expected: false,
        refused: None,
        invalid: None,
        tasks: Vec::new(),
        checks: 0,
        cloud_seconds: 0.0,
        real_seconds: 0.0,
        note: scenario
            .after
            .map(|(_, why)| format!("started once the export had ended: {why}")),
    };
    let started = match parse_request(scenario) {
        Ok(DemoRequest::Export(request)) => client.start_export(&request).await,
        Ok(DemoRequest::Sync(request)) => client.start_sync(&request).await,
        Err(err) => Err(StartError::Invalid(ValidationError::new("request", err))),
    };
    let outcome: StartOutcome = match started {
        Ok(outcome) => outcome,
        Err(err) => {
            let real = origin.elapsed().as_secs_f64();
            summary.real_seconds = real;
            summary.cloud_seconds = real * time_scale;
            match err {
                StartError::Invalid(invalid) => {
                    start_bar.finish(false, &format!("invalid request: {invalid}"));
                    summary.outcome = Outcome::Invalid;
                    summary.invalid = Some(invalid);
                }
                StartError::Cloud(error) => {
                    summary.outcome = Outcome::Refused;
                    summary.as_expected = matches!(&scenario.expected,
                        Expectation::Fail { code } if *code == error.code);
                    let text = format!("refused: {}", format::cloud_error(&error));
                    if summary.as_expected {
                        start_bar.finish(true, &format!("{text} (as expected)"));
                    } else {
                        start_bar.finish(false, &text);
                    }
                    summary.refused = Some(error);
                }
            }
            return summary;
        }
    };
    for failure in &outcome.failures {
        reporter.line(&format!(
            "{}: region {} did not start: {}",
            start_label(scenario),
            failure.destination_region.as_deref().unwrap_or("?"),
            format::cloud_error(&failure.error)
        ));
    }
    // The start's bar becomes the first task's; the others are added below it.
    let mut bars: Vec<TaskBar> = Vec::with_capacity(outcome.tasks.len());
    let mut start_bar = Some(start_bar);
    for task in &outcome.tasks {
        let label = task_label(task);
        let message = format!("started {}", started_what(task));
        let bar = match (start_bar.take(), bars.last()) {
            (Some(bar), _) => {
                bar.relabel(&label);
                bar.message(&message);
                bar
            }
            (None, Some(previous)) => reporter.bar_after(previous, &label, &message),
            (None, None) => reporter.bar(&label, &message),
        };
        bars.push(bar);
    }
    if let Some(bar) = start_bar {
        bar.finish(false, "the cloud started no task");
    }
    let options = FollowOptions {
        origin,
        ..FollowOptions::new(time_scale, DEADLINE_SECONDS)
    };
    let expected = scenario.expected.clone();
    let verdict = move |outcome: &TaskOutcome| task_verdict(&task_summary(outcome), &expected);
    let followed = follow(client, outcome.tasks.clone(), &options, &bars, &verdict).await;
    summary.checks = followed.checks;
    summary.tasks = followed.tasks.iter().map(task_summary).collect();
    summary.cloud_seconds = followed
        .tasks
        .iter()
        .map(|t| t.cloud_seconds)
        .fold(0.0, f64::max);
    summary.real_seconds = followed
        .tasks
        .iter()
        .map(|t| t.real_seconds)
        .fold(0.0, f64::max);
    summary.outcome = if !outcome.failures.is_empty() {
        Outcome::Refused
    } else if followed.tasks.iter().any(|t| t.error.is_some()) {
        Outcome::Error
    } else if followed.timed_out {
        Outcome::TimedOut
    } else if followed.tasks.iter().any(|t| {
        t.status
            .as_ref()
            .is_some_and(|s| s.state == TaskState::Failed)
    }) {
        Outcome::Failed
    } else {
        Outcome::Succeeded
    };
    summary.as_expected = judge(&summary);
    summary
}

fn parse_request(scenario: &Scenario) -> Result<DemoRequest, String> {
    let is_sync = scenario.request.get("destination_regions").is_some();
    let parsed = if is_sync {
        serde_json::from_value(scenario.request.clone()).map(DemoRequest::Sync)
    } else {
        serde_json::from_value(scenario.request.clone()).map(DemoRequest::Export)
    };
    parsed.map_err(|err| err.to_string())
}

fn started_what(task: &TaskRef) -> String {
    match (&task.task_id, &task.destination_image_id) {
        (Some(id), _) => format!("task {id}"),
        (None, Some(image)) => format!("image {image}"),
        (None, None) => "the task".to_owned(),
    }
}

fn task_summary(outcome: &TaskOutcome) -> TaskSummary {
    let status = outcome.status.as_ref();
    let (objects, images) = match status.and_then(|s| s.result.clone()) {
        Some(TaskResult::Export { objects }) => (objects, Vec::new()),
        Some(TaskResult::Sync { images }) => (Vec::new(), images),
        None => (Vec::new(), Vec::new()),
    };
    TaskSummary {
        task: outcome.task.clone(),
        state: status.map(|s| s.state),
        cloud_state: status.map(|s| s.cloud_state.clone()),
        objects,
        images,
        reason: status.and_then(|s| s.reason.clone()),
        error: outcome.error.clone(),
        timed_out: outcome.timed_out,
        checks: outcome.checks,
        cloud_seconds: outcome.cloud_seconds,
        real_seconds: outcome.real_seconds,
    }
}

/// Whether a scenario ended as expected: every export with its objects (each of a size),
/// every copy with a new image in its destination region; or the expected code.
fn judge(summary: &ScenarioSummary) -> bool {
    match &summary.expected {
        Expectation::Succeed => {
            summary.outcome == Outcome::Succeeded
                && !summary.tasks.is_empty()
                && summary.tasks.iter().all(task_delivered)
        }
        Expectation::Fail { code } => match summary.outcome {
            Outcome::Refused => summary.refused.as_ref().is_some_and(|e| e.code == *code),
            Outcome::Failed => summary.tasks.iter().any(|t| {
                t.state == Some(TaskState::Failed)
                    && t.reason.as_ref().and_then(|r| r.code.as_deref()) == Some(code.as_str())
            }),
            _ => false,
        },
    }
}

fn task_delivered(task: &TaskSummary) -> bool {
    task.state == Some(TaskState::Succeeded)
        && match task.task.kind {
            TaskKind::Export => !task.objects.is_empty() && task.objects.iter().all(|o| o.size > 0),
            TaskKind::Sync => {
                !task.images.is_empty()
                    && task.images.iter().all(|image| {
                        Some(&image.region) == task.task.destination_region.as_ref()
                            && !image.image_id.is_empty()
                            && image.image_id != task.task.image_id
                    })
            }
        }
}

/// The final word on a task's bar: whether it is what the scenario expects, and what it made.
fn task_verdict(task: &TaskSummary, expected: &Expectation) -> (bool, String) {
    let took = format!("in {}", format::duration(task.cloud_seconds));
    if let Some(error) = &task.error {
        return (
            false,
            format!("status check failed: {}", format::cloud_error(error)),
        );
    }
    if task.timed_out {
        return (false, format!("not finished {took}: timed out"));
    }
    match task.state {
        Some(TaskState::Succeeded) => {
            let what = if task.task.kind == TaskKind::Export {
                let total: u64 = task.objects.iter().map(|o| o.size).sum();
                format!("{} object(s), {}", task.objects.len(), format::bytes(total))
            } else {
                task.images
                    .iter()
                    .map(format::image_line)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            (
                *expected == Expectation::Succeed,
                format!("succeeded {took}: {what}"),
            )
        }
        Some(TaskState::Failed) => {
            let reason = task
                .reason
                .as_ref()
                .map(|r| match &r.code {
                    Some(code) => format!("{code}: {}", r.message),
                    None => r.message.clone(),
                })
                .unwrap_or_default();
            let matches = matches!(expected, Expectation::Fail { code }
                if task.reason.as_ref().and_then(|r| r.code.as_deref()) == Some(code.as_str()));
            if matches {
                (true, format!("failed as expected {took}: {reason}"))
            } else {
                (false, format!("failed {took}: {reason}"))
            }
        }
        _ => (false, format!("not finished {took}")),
    }
}

/// The summary table: one row per task (one per refused start).
pub fn render(summary: &DemoSummary) -> String {
    let mut table = Table::new(&[
        "cloud",
        "operation",
        "task id",
        "cloud time",
        "real time",
        "checks",
        "as expected",
        "result",
    ]);
    for scenario in &summary.scenarios {
        let expectation = if scenario.as_expected { "yes" } else { "NO" };
        let failure_word = match &scenario.expected {
            Expectation::Succeed => "failed",
            Expectation::Fail { .. } => "failed as expected",
        };
        if let Some(error) = &scenario.refused {
            table.row(vec![
                cell(scenario.cloud.name()),
                cell(scenario.operation.clone()),
                cell("-"),
                cell(format::duration(scenario.cloud_seconds)),
                cell(format::real_seconds(scenario.real_seconds)),
                cell("0"),
                cell(expectation),
                cell(format!(
                    "refused{}: {}",
                    if scenario.as_expected {
                        " as expected"
                    } else {
                        ""
                    },
                    format::cloud_error(error)
                )),
            ]);
            continue;
        }
        if let Some(invalid) = &scenario.invalid {
            table.row(vec![
                cell(scenario.cloud.name()),
                cell(scenario.operation.clone()),
                cell("-"),
                cell("-"),
                cell("-"),
                cell("0"),
                cell(expectation),
                cell(format!("invalid request: {invalid}")),
            ]);
            continue;
        }
        for task in &scenario.tasks {
            let result = match (&task.error, task.state, task.timed_out) {
                (Some(error), _, _) => vec![format!("error: {}", format::cloud_error(error))],
                (None, _, true) => vec!["timed out".to_owned()],
                (None, Some(TaskState::Succeeded), _) => {
                    let mut lines: Vec<String> =
                        task.objects.iter().map(format::object_line).collect();
                    lines.extend(task.images.iter().map(format::image_line));
                    lines
                }
                (None, Some(TaskState::Failed), _) => {
                    let reason = task
                        .reason
                        .as_ref()
                        .map_or_else(String::new, |r| match &r.code {
                            Some(code) => format!("{code}: {}", r.message),
                            None => r.message.clone(),
                        });
                    vec![format!("{failure_word}: {reason}")]
                }
                _ => vec!["not finished".to_owned()],
            };
            let operation = match &task.task.destination_region {
                Some(destination) => format!("{} -> {destination}", scenario.operation),
                None => scenario.operation.clone(),
            };
            let id = task
                .task
                .task_id
                .clone()
                .or_else(|| task.task.destination_image_id.clone())
                .unwrap_or_else(|| "-".to_owned());
            table.row(vec![
                cell(scenario.cloud.name()),
                cell(operation),
                cell(id),
                cell(format::duration(task.cloud_seconds)),
                cell(format::real_seconds(task.real_seconds)),
                cell(task.checks.to_string()),
                cell(expectation),
                result,
            ]);
        }
    }
    let ok = summary
        .scenarios
        .iter()
        .filter(|scenario| scenario.as_expected)
        .count();
    let mut text = table.render();
    text.push('\n');
    if summary.all_as_expected {
        text.push_str(&format!(
            "All {} scenarios ended as expected in {} of real time \
             (1 real second = {} cloud seconds).\n",
            summary.scenarios.len(),
            format::real_seconds(summary.real_seconds),
            summary.time_scale,
        ));
    } else {
        text.push_str(&format!(
            "{ok} of {} scenarios ended as expected, in {} (real time).\n",
            summary.scenarios.len(),
            format::real_seconds(summary.real_seconds),
        ));
    }
    text.push_str("Nightly backup (a selector job with skip_existing, two scheduled runs):\n");
    for (night, run) in summary.nightly.runs.iter().enumerate() {
        text.push_str(&format!(
            "  run {}: {} selected, {} exported, {} skipped (already exported){}\n",
            night + 1,
            run.selected.len(),
            run.exported.len(),
            run.skipped.len(),
            if run.succeeded {
                ""
            } else {
                ", NOT all succeeded"
            }
        ));
    }
    if let Some(error) = &summary.nightly.error {
        text.push_str(&format!("  error: {error}\n"));
    }
    for scenario in summary.scenarios.iter().filter(|s| s.note.is_some()) {
        if let Some(note) = &scenario.note {
            text.push_str(&format!(
                "Note: {} {} {note}.\n",
                scenario.cloud, scenario.operation
            ));
        }
    }
    text
}
