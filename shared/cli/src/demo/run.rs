//! Running the demo: the emulator started in-process, the scenarios started and followed
//! (chained where a cloud locks an image), then the nightly job run on two nights.

use std::sync::Arc;
use std::time::Instant;

use cloud_emulator::EmulatorConfig;
use imgflow_shared::Cloud;
use imgflow_shared::client::CloudClient;
use imgflow_shared::config::CloudCredentials;
use imgflow_shared::endpoints::Endpoints;
use imgflow_shared::error::ValidationError;
use imgflow_shared::model::{ExportRequest, StartOutcome, TaskResult, TaskState};
use imgflow_shared::operations::StartError;
use imgflow_shared::retry::RetryPolicy;
use imgflow_shared::signing::Credentials;
use imgflow_shared::transport::Transport;

use super::render::{start_label, started_what, task_label};
use super::scenarios::{
    DemoRequest, Scenario, nightly_request, parse_request, scenario_count, scenarios,
};
use super::verdict::{judge, verdict_by_expectation};
use super::{
    DemoError, DemoOptions, DemoSummary, EMULATOR_ACCESS_KEY, EMULATOR_HUAWEI_PROJECTS,
    EMULATOR_SECRET_KEY, Expectation, NightlyRun, NightlySummary, Outcome, ScenarioSummary,
    TaskSummary,
};
use crate::follow::{FollowOptions, TaskOutcome, follow, sanitize_scale};
use crate::format;
use crate::report::{Reporter, TaskBar};

/// A scenario's deadline in cloud time, as the state machine would give a job.
const DEADLINE_SECONDS: u64 = 24 * 3600;

/// The emulator's keys on all four clouds, and its Huawei projects.
pub fn emulator_credentials() -> CloudCredentials {
    let key = || Credentials::new(EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY);
    let mut credentials = CloudCredentials::default();
    for cloud in Cloud::ALL {
        credentials = credentials.with(cloud, key());
    }
    for (region, project) in EMULATOR_HUAWEI_PROJECTS {
        credentials = credentials.with_project(Cloud::Huawei, region, project);
    }
    credentials
}

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
        Ok(DemoRequest::Sync(request)) => client.start_copy(&request).await,
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
    let verdict =
        move |outcome: &TaskOutcome| verdict_by_expectation(&task_summary(outcome), &expected);
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

fn task_summary(outcome: &TaskOutcome) -> TaskSummary {
    let status = outcome.status.as_ref();
    let (objects, images) = match status.and_then(|s| s.result.clone()) {
        Some(TaskResult::Export { objects }) => (objects, Vec::new()),
        Some(TaskResult::Copy { images }) => (Vec::new(), images),
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
