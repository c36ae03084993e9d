//! The commands: read and check the input, load credentials, call the shared operations,
//! print the outcome, and choose the exit code.

use std::time::{Duration, Instant};

use imgflow_shared::Cloud;
use imgflow_shared::client::CloudClient;
use imgflow_shared::config::{CloudCredentials, Missing};
use imgflow_shared::endpoints::Endpoints;
use imgflow_shared::error::{CloudError, ValidationError};
use imgflow_shared::model::{
    CopyRequest, ExportRequest, StartFailure, StartOutcome, TaskRef, TaskState, TaskStatus,
};
use imgflow_shared::operations::StartError;
use imgflow_shared::retry::RetryPolicy;
use imgflow_shared::transport::Transport;
use serde::Serialize;
use serde_json::json;

#[cfg(feature = "demo")]
use crate::cli::DemoArgs;
use crate::cli::{Cli, Command, CommonArgs, StartArgs, StatusArgs, WaitArgs};
#[cfg(feature = "demo")]
use crate::demo::{self, DemoOptions};
use crate::exit::Exit;
use crate::follow::{FollowOptions, FollowReport, TaskOutcome, follow};
use crate::format::{self, Table, cell};
use crate::input::{self, InputError};
use crate::report::{Mode, Reporter, StatusReport, TaskBar, TaskError};

/// Runs one command line.
pub async fn run(cli: Cli) -> Exit {
    match cli.command {
        #[cfg(feature = "demo")]
        Command::Demo(args) => demo_command(args).await,
        Command::Export(args) => start_command(Operation::Export, args).await,
        Command::Sync(args) => start_command(Operation::Sync, args).await,
        Command::Status(args) => status_command(args).await,
    }
}

// ---------------------------------------------------------------------------------------
// Output

/// Where results and errors go: stdout gets results (exactly one JSON document with
/// `--json`), stderr gets messages.
#[derive(Clone, Copy)]
struct Out {
    json: bool,
}

impl Out {
    fn json<T: Serialize>(&self, value: &T) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => println!("{text}"),
            Err(err) => eprintln!("error: cannot print JSON: {err}"),
        }
    }

    /// Reports an error that ends the command: a message on stderr and, with `--json`, an
    /// error document on stdout.
    fn fail(&self, exit: Exit, message: &str, detail: Detail<'_>) -> Exit {
        eprintln!("error: {message}");
        match detail {
            Detail::Cloud(error) => {
                eprintln!("  cloud:      {}", error.cloud);
                eprintln!("  code:       {}", error.code);
                eprintln!("  message:    {}", error.message);
                eprintln!(
                    "  request id: {}",
                    error.request_id.as_deref().unwrap_or("(none given)")
                );
                eprintln!("  kind:       {}", error.kind);
            }
            Detail::Invalid(error) => {
                eprintln!("  field: {}", error.field);
                eprintln!("  rule:  {}", error.rule);
            }
            Detail::None => {}
        }
        if exit == Exit::OutcomeUnknown {
            eprintln!(
                "The outcome is unknown: the cloud may have started the task although no \
                 answer came back. Check (imgflow status, the cloud console, the target \
                 bucket or region) before retrying; do not simply send the request again."
            );
        }
        if self.json {
            let mut error = json!({
                "exit_code": exit.code(),
                "kind": exit.name(),
                "message": message,
            });
            match detail {
                Detail::Cloud(cloud) => error["cloud_error"] = json!(cloud),
                Detail::Invalid(invalid) => error["validation"] = json!(invalid),
                Detail::None => {}
            }
            self.json(&json!({ "error": error }));
        }
        exit
    }
}

#[derive(Clone, Copy)]
enum Detail<'a> {
    Cloud(&'a CloudError),
    Invalid(&'a ValidationError),
    None,
}

fn input_failure(out: Out, err: &InputError) -> Exit {
    match err {
        InputError::Invalid(invalid) => out.fail(
            Exit::InvalidInput,
            &format!(
                "invalid request: {}: {} (nothing was sent)",
                invalid.field, invalid.rule
            ),
            Detail::Invalid(invalid),
        ),
        other => out.fail(
            Exit::InvalidInput,
            &format!("{other} (nothing was sent)"),
            Detail::None,
        ),
    }
}

fn cloud_failure(out: Out, what: &str, error: &CloudError) -> Exit {
    let exit = Exit::for_cloud_error(error);
    let message = match exit {
        Exit::Configuration => format!("{what}: configuration: {}", error.message),
        Exit::OutcomeUnknown => format!("{what}: outcome unknown ({})", error.message),
        _ => format!("{what}: the cloud refused or failed ({})", error.code),
    };
    out.fail(exit, &message, Detail::Cloud(error))
}

// ---------------------------------------------------------------------------------------
// Configuration

/// What a command will call: each cloud, with the regions it calls it in.
#[derive(Default)]
struct Needs {
    clouds: Vec<(Cloud, Vec<String>)>,
}

impl Needs {
    fn add(&mut self, cloud: Cloud, regions: impl IntoIterator<Item = String>) {
        let index = match self.clouds.iter().position(|(c, _)| *c == cloud) {
            Some(index) => index,
            None => {
                self.clouds.push((cloud, Vec::new()));
                self.clouds.len() - 1
            }
        };
        let known = &mut self.clouds[index].1;
        for region in regions {
            if !known.contains(&region) {
                known.push(region);
            }
        }
    }
}

fn variables(cloud: Cloud) -> String {
    let variables = imgflow_shared::providers::of(cloud).credential_variables();
    format!("{} and {}", variables.key_id, variables.secret)
}

/// A client with the environment's credentials, after checking that every cloud and Huawei
/// region the command needs is configured. Nothing is sent before this succeeds.
fn client(out: Out, common: &CommonArgs, needs: &Needs) -> Result<CloudClient, Exit> {
    let config = |message: String| out.fail(Exit::Configuration, &message, Detail::None);
    let credentials =
        CloudCredentials::from_env().map_err(|err| config(format!("{err} (nothing was sent)")))?;
    for (cloud, regions) in &needs.clouds {
        let regions: Vec<&str> = regions.iter().map(String::as_str).collect();
        match credentials.missing(*cloud, &regions) {
            None => {}
            Some(Missing::Keys) => {
                return Err(config(format!(
                    "no {cloud} credentials: set {} (and the session token variable for \
                     temporary keys); nothing was sent",
                    variables(*cloud)
                )));
            }
            Some(Missing::Project(region)) => {
                let provider = imgflow_shared::providers::of(*cloud);
                let (what, variable) = provider
                    .regional_setting()
                    .map_or(("project", "?"), |s| (s.what, s.variable));
                return Err(config(format!(
                    "no {} {what} for region {region}: set \
                     {variable}={region}=<{what} id>[,region=id...]; nothing was sent",
                    provider.display_name()
                )));
            }
        }
    }
    let endpoints = match &common.endpoint {
        Some(url) => Endpoints::single(url).map_err(|err| config(err.to_string()))?,
        None => Endpoints::real(),
    };
    // Regions beyond the clouds' closed lists, as the functions read them.
    let endpoints = match std::env::var("IMGFLOW_EXTRA_REGIONS") {
        Ok(list) => endpoints
            .with_extra_region_list(&list)
            .map_err(|err| config(format!("IMGFLOW_EXTRA_REGIONS: {err}")))?,
        Err(_) => endpoints,
    };
    let transport = Transport::new(Duration::from_secs(10), Duration::from_secs(60))
        .map_err(|err| config(err.to_string()))?;
    Ok(CloudClient::new(
        transport,
        endpoints,
        credentials,
        RetryPolicy::default(),
    ))
}

// ---------------------------------------------------------------------------------------
// demo

#[cfg(feature = "demo")]
async fn demo_command(args: DemoArgs) -> Exit {
    let out = Out { json: args.json };
    let mode = if args.json {
        Mode::Quiet
    } else {
        Mode::for_stderr()
    };
    let summary = match demo::run(DemoOptions {
        time_scale: args.time_scale,
        mode,
    })
    .await
    {
        Ok(summary) => summary,
        Err(err) => return out.fail(Exit::TaskFailed, &err.to_string(), Detail::None),
    };
    if args.json {
        out.json(&summary);
    } else {
        print!("{}", demo::render(&summary));
    }
    if summary.all_as_expected {
        Exit::Success
    } else {
        Exit::TaskFailed
    }
}

// ---------------------------------------------------------------------------------------
// export and sync

#[derive(Clone, Copy, PartialEq, Eq)]
enum Operation {
    Export,
    Sync,
}

enum Request {
    Export(ExportRequest),
    Sync(CopyRequest),
}

async fn start_command(operation: Operation, args: StartArgs) -> Exit {
    let out = Out {
        json: args.common.json,
    };
    let origin = Instant::now();
    let parsed = input::read_source(&args.request).and_then(|text| match operation {
        Operation::Export => input::export_request(&args.request, &text).map(Request::Export),
        Operation::Sync => input::sync_request(&args.request, &text).map(Request::Sync),
    });
    let request = match parsed {
        Ok(request) => request,
        Err(err) => return input_failure(out, &err),
    };
    let mut needs = Needs::default();
    match &request {
        Request::Export(r) => needs.add(r.cloud(), [r.region().to_owned()]),
        Request::Sync(r) => {
            let mut regions = vec![r.region().to_owned()];
            regions.extend(r.destination_regions().iter().cloned());
            needs.add(r.cloud(), regions);
        }
    }
    let client = match client(out, &args.common, &needs) {
        Ok(client) => client,
        Err(exit) => return exit,
    };
    if args.dry_run {
        return plan_command(out, &client, &request, args.job_id.as_deref()).await;
    }
    let (what, started) = match &request {
        Request::Export(r) => ("export", client.start_export(r).await),
        Request::Sync(r) => ("sync", client.start_copy(r).await),
    };
    let outcome = match started {
        Ok(outcome) => outcome,
        Err(StartError::Invalid(invalid)) => {
            return input_failure(out, &InputError::Invalid(invalid));
        }
        Err(StartError::Cloud(error)) => {
            return cloud_failure(out, &format!("the {what} did not start"), &error);
        }
    };
    let start_exit = outcome
        .failures
        .iter()
        .map(|failure| Exit::for_cloud_error(&failure.error))
        .fold(Exit::Success, Exit::max);
    if !args.wait.wait {
        if out.json {
            out.json(&outcome);
        } else {
            print_started(&outcome);
            eprintln!(
                "To follow them: run again with --json and save the output, then \
                 `imgflow status --tasks FILE [--wait]`."
            );
        }
        report_start_failures(&outcome.failures);
        return start_exit;
    }
    if !out.json {
        print_started(&outcome);
    }
    report_start_failures(&outcome.failures);
    let exit = wait_and_print(
        out,
        &client,
        outcome.tasks,
        outcome.failures,
        &args.wait,
        origin,
    )
    .await;
    exit.max(start_exit)
}

/// `--dry-run`: what the request would start now, starting nothing.
async fn plan_command(
    out: Out,
    client: &CloudClient,
    request: &Request,
    job_id: Option<&str>,
) -> Exit {
    let now = unix_now() as u64;
    let planned = match request {
        Request::Export(r) => plan_export(client, r, now, job_id).await,
        Request::Sync(r) => plan_copy(client, r, now, job_id).await,
    };
    let plan = match planned {
        Ok(plan) => plan,
        Err(StartError::Invalid(invalid)) => {
            return input_failure(out, &InputError::Invalid(invalid));
        }
        Err(StartError::Cloud(error)) => {
            return cloud_failure(out, "the plan could not be made", &error);
        }
    };
    if out.json {
        out.json(&plan);
        return Exit::Success;
    }
    if let Some(selected) = plan.get("selected").and_then(|s| s.as_array()) {
        println!(
            "The selector matches {} image(s) ({} list call(s)):",
            selected.len(),
            plan["list_calls"]
        );
        for image in selected {
            println!(
                "  {}  {}",
                image["id"].as_str().unwrap_or("?"),
                image["name"].as_str().unwrap_or("?")
            );
        }
    }
    let requests = plan["requests"].as_array().cloned().unwrap_or_default();
    println!("Would send {} request(s):", requests.len());
    for one in &requests {
        println!("  {one}");
    }
    let skipped = plan["skipped"].as_array().cloned().unwrap_or_default();
    if !skipped.is_empty() {
        println!("Would skip {} (already done):", skipped.len());
        for task in &skipped {
            println!("  {task}");
        }
    }
    println!("Nothing was started (--dry-run).");
    Exit::Success
}

async fn plan_export(
    client: &CloudClient,
    request: &ExportRequest,
    now: u64,
    job_id: Option<&str>,
) -> Result<serde_json::Value, StartError> {
    request.validate()?;
    let plan = client.plan_export(request, now, job_id).await?;
    let selected = plan.selected();
    let (requests, skipped) = if request.skip_existing() {
        let created = client
            .creation_times(request.cloud(), request.region(), &plan)
            .await?;
        imgflow_shared::skip::exports(client, plan.requests.clone(), &created, now).await?
    } else {
        (plan.requests.clone(), Vec::new())
    };
    Ok(serde_json::json!({
        "selected": selected, "list_calls": plan.list_calls,
        "requests": requests, "skipped": skipped,
    }))
}

async fn plan_copy(
    client: &CloudClient,
    request: &CopyRequest,
    now: u64,
    job_id: Option<&str>,
) -> Result<serde_json::Value, StartError> {
    request.validate()?;
    let plan = client.plan_copy(request, now, job_id).await?;
    let selected = plan.selected();
    let (requests, skipped) = if request.skip_existing() {
        let created = client
            .creation_times(request.cloud(), request.region(), &plan)
            .await?;
        imgflow_shared::skip::copies(client, plan.requests.clone(), &created, now).await?
    } else {
        (plan.requests.clone(), Vec::new())
    };
    Ok(serde_json::json!({
        "selected": selected, "list_calls": plan.list_calls,
        "requests": requests, "skipped": skipped,
    }))
}

fn report_start_failures(failures: &[StartFailure]) {
    for failure in failures {
        let exit = Exit::for_cloud_error(&failure.error);
        eprintln!(
            "error: region {} did not start: {}",
            failure.destination_region.as_deref().unwrap_or("?"),
            format::cloud_error(&failure.error)
        );
        if exit == Exit::OutcomeUnknown {
            eprintln!(
                "  the outcome is unknown: a copy into that region may have started; check \
                 before retrying"
            );
        }
    }
}

fn print_started(outcome: &StartOutcome) {
    if outcome.tasks.is_empty() {
        println!("No task was started (a dry run that passed starts nothing).");
    } else {
        println!("Started {} task(s):", outcome.tasks.len());
    }
    for task in &outcome.tasks {
        let id = task
            .task_id
            .as_ref()
            .map(|id| format!(": task {id}"))
            .unwrap_or_default();
        println!(
            "  {} {} in {}{id}",
            task.cloud,
            format::task_label(task),
            task.region,
        );
        if let Some(image) = &task.destination_image_id {
            println!(
                "      new image {image} in {}",
                task.destination_region.as_deref().unwrap_or("?")
            );
        }
        for object in &task.objects {
            println!("      -> {}/{}", object.bucket, object.key);
        }
    }
    for failure in &outcome.failures {
        println!(
            "  not started: {}: {}",
            failure.destination_region.as_deref().unwrap_or("?"),
            format::cloud_error(&failure.error)
        );
    }
}

// ---------------------------------------------------------------------------------------
// status

async fn status_command(args: StatusArgs) -> Exit {
    let out = Out {
        json: args.common.json,
    };
    let origin = Instant::now();
    let tasks =
        match input::read_source(&args.tasks).and_then(|text| input::tasks(&args.tasks, &text)) {
            Ok(tasks) => tasks,
            Err(err) => return input_failure(out, &err),
        };
    let mut needs = Needs::default();
    for task in &tasks {
        let regions = std::iter::once(task.region.clone()).chain(task.destination_region.clone());
        needs.add(task.cloud, regions);
    }
    let client = match client(out, &args.common, &needs) {
        Ok(client) => client,
        Err(exit) => return exit,
    };
    if args.wait.wait {
        return wait_and_print(out, &client, tasks, Vec::new(), &args.wait, origin).await;
    }
    let results = client.status(&tasks).await;
    let mut report = StatusReport::default();
    let mut exit = Exit::Success;
    for (task, result) in tasks.into_iter().zip(results) {
        match result {
            Ok(status) => {
                if status.state == TaskState::Failed {
                    exit = exit.max(Exit::TaskFailed);
                }
                report.statuses.push(status);
            }
            Err(error) => {
                exit = exit.max(Exit::for_cloud_error(&error));
                report.errors.push(TaskError { task, error });
            }
        }
    }
    if out.json {
        out.json(&report);
    } else {
        print_statuses(&report);
    }
    for error in &report.errors {
        eprintln!(
            "error: the status of {} {} could not be had: {}",
            error.task.cloud,
            format::task_label(&error.task),
            format::cloud_error(&error.error)
        );
    }
    exit
}

// ---------------------------------------------------------------------------------------
// --wait

fn unix_now() -> f64 {
    imgflow_shared::clock::since_epoch().as_secs_f64()
}

async fn wait_and_print(
    out: Out,
    client: &CloudClient,
    tasks: Vec<TaskRef>,
    failures: Vec<StartFailure>,
    wait: &WaitArgs,
    origin: Instant,
) -> Exit {
    if tasks.is_empty() {
        let report = StatusReport {
            failures,
            checks: Some(0),
            ..StatusReport::default()
        };
        if out.json {
            out.json(&report);
        }
        return Exit::Success;
    }
    let mode = if out.json {
        Mode::Quiet
    } else {
        Mode::for_stderr()
    };
    let reporter = Reporter::new(mode);
    let bars: Vec<TaskBar> = tasks
        .iter()
        .map(|task| {
            reporter.bar(
                &format!("{} {}", task.cloud, format::task_label(task)),
                "checking",
            )
        })
        .collect();
    let options = FollowOptions {
        origin,
        ..FollowOptions::new(wait.time_scale, wait.deadline_minutes.saturating_mul(60))
    };
    let origin_unix = unix_now() - origin.elapsed().as_secs_f64();
    let followed = follow(client, tasks, &options, &bars, &verdict_by_success).await;
    let exit = followed
        .tasks
        .iter()
        .map(|outcome| match (&outcome.error, &outcome.status) {
            (Some(error), _) => Exit::for_cloud_error(error),
            (None, Some(status)) if status.state == TaskState::Succeeded => Exit::Success,
            _ => Exit::TaskFailed,
        })
        .fold(Exit::Success, Exit::max);
    let report = status_report(&followed, failures);
    if out.json {
        out.json(&report);
    } else {
        print_followed(&followed, origin_unix);
        if followed.timed_out {
            let cancelled = if followed.tasks.iter().any(|t| t.cancelled) {
                "those marked cancelled were cancelled (where the cloud can cancel); the others "
            } else {
                "they "
            };
            eprintln!(
                "error: the deadline ({} minutes after the start) passed before every task \
                 finished; {cancelled}may still be running: check them again with `imgflow status`",
                wait.deadline_minutes
            );
        }
    }
    exit
}

/// How a followed task ended, for its bar: good only if it succeeded (the demo's
/// `verdict_by_expectation` instead judges a task against what its scenario expects).
fn verdict_by_success(outcome: &TaskOutcome) -> (bool, String) {
    match (&outcome.error, &outcome.status) {
        (Some(error), _) => (
            false,
            format!("status check failed: {}", format::cloud_error(error)),
        ),
        (None, Some(status)) if outcome.timed_out => (
            false,
            format!(
                "not finished before the deadline ({}){}",
                format::state(status.state),
                if outcome.cancelled { ", cancelled" } else { "" }
            ),
        ),
        (None, Some(status)) if status.state == TaskState::Succeeded => (
            true,
            format!("succeeded: {}", format::result_lines(status).join(", ")),
        ),
        (None, Some(status)) => (
            false,
            format!(
                "{}: {}",
                format::state(status.state),
                format::result_lines(status).join(", ")
            ),
        ),
        (None, None) => (false, "no status".to_owned()),
    }
}

fn status_report(followed: &FollowReport, failures: Vec<StartFailure>) -> StatusReport {
    let mut report = StatusReport {
        failures,
        checks: Some(followed.checks),
        timed_out: followed.timed_out,
        ..StatusReport::default()
    };
    for outcome in &followed.tasks {
        match (&outcome.error, &outcome.status) {
            (Some(error), _) => report.errors.push(TaskError {
                task: outcome.task.clone(),
                error: error.clone(),
            }),
            (None, Some(status)) => report.statuses.push(status.clone()),
            (None, None) => {}
        }
    }
    report
}

/// The human table of statuses.
fn print_statuses(report: &StatusReport) {
    let mut table = Table::new(&["cloud", "task", "task id", "state", "result"]);
    for status in &report.statuses {
        table.row(vec![
            cell(status.task.cloud.name()),
            cell(format::task_label(&status.task)),
            cell(format::task_id(&status.task)),
            cell(state_text(status)),
            format::result_lines(status),
        ]);
    }
    for error in &report.errors {
        table.row(vec![
            cell(error.task.cloud.name()),
            cell(format::task_label(&error.task)),
            cell(format::task_id(&error.task)),
            cell("unknown"),
            cell(format!("error: {}", format::cloud_error(&error.error))),
        ]);
    }
    print!("{}", table.render());
}

/// The human table after a wait: each task's end, how long it ran since it started, and the
/// checks that included it.
fn print_followed(followed: &FollowReport, origin_unix: f64) {
    let mut table = Table::new(&[
        "cloud", "task", "task id", "state", "result", "took", "checks",
    ]);
    for outcome in &followed.tasks {
        let since_start = (origin_unix - outcome.task.started_at as f64).max(0.0);
        let (state, result) = match (&outcome.error, &outcome.status) {
            (Some(error), _) => (
                "unknown".to_owned(),
                vec![format!("error: {}", format::cloud_error(error))],
            ),
            (None, Some(status)) => {
                let mut state = state_text(status);
                if outcome.timed_out {
                    state.push_str(", timed out");
                }
                if outcome.cancelled {
                    state.push_str(", cancelled");
                }
                (state, format::result_lines(status))
            }
            (None, None) => ("unknown".to_owned(), Vec::new()),
        };
        table.row(vec![
            cell(outcome.task.cloud.name()),
            cell(format::task_label(&outcome.task)),
            cell(format::task_id(&outcome.task)),
            cell(state),
            result,
            cell(format::duration(since_start + outcome.cloud_seconds)),
            cell(outcome.checks.to_string()),
        ]);
    }
    print!("{}", table.render());
}

fn state_text(status: &TaskStatus) -> String {
    match status.progress {
        Some(p) if !status.state.is_final() => format!(
            "{} {p}% ({})",
            format::state(status.state),
            status.cloud_state
        ),
        _ => format!("{} ({})", format::state(status.state), status.cloud_state),
    }
}
