//! One check of a job: ask the clouds about every open task (batched per cloud and region),
//! apply the job's own rules (deadline, stalled progress, check budget), cancel what the
//! cloud can cancel, and say how long to wait before the next check.

use super::queue::{NoLedger, StartLedger, start_waiting, still_queued};
use super::spec::JobOptions;
use super::state::{CHECKS_PER_LAMBDA_OUTAGE, CheckInput, JobState, STATE_BYTES_LIMIT};
use super::summary::JobSummary;
use super::task::{JobPhase, StartErrorRecord, TrackedState, TrackedTask};
use super::text::{MAX_REASON_LINES, capped};
use crate::client::CloudClient;
use crate::error::CloudError;
use crate::error_name::ErrorName;
use crate::model::{CloudReason, QueuedStart, TaskKind, TaskResult, TaskStatus};
use crate::retry::Jitter;
use crate::wait::JobClock;

/// What a check may do besides reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckMode {
    /// The job's own check (the state machine's loop, the command line): applies the
    /// deadline, stall and budget rules and cancels tasks it gives up on.
    Drive,
    /// A look from outside (a status webhook): reads the clouds, changes nothing.
    Observe,
}

/// Checks a job once at `now` (unix seconds).
///
/// A check never fails as a whole. A task whose check fails in a way a retry may cure
/// (throttling, a server or network failure, a cloud that is down, the invocation's time
/// running out) stays open with the error in `check_error` and is asked again, backing off
/// while its checks keep failing: an outage pauses the job, and only the job's deadline ends
/// it. A check that fails for good (the cloud no longer knows the task, a permission) fails
/// that task with the cloud's error.
pub async fn check_job(
    client: &CloudClient,
    input: CheckInput,
    now: u64,
    mode: CheckMode,
    jitter: &mut Jitter,
) -> JobState {
    check_job_with(client, &NoLedger, input, now, mode, jitter).await
}

/// [`check_job`], with the starts that wait behind a cloud's concurrency limit tried with
/// `ledger`'s records (see [`super::queue`]).
pub async fn check_job_with<L: StartLedger>(
    client: &CloudClient,
    ledger: &L,
    input: CheckInput,
    now: u64,
    mode: CheckMode,
    jitter: &mut Jitter,
) -> JobState {
    let job_id = input.job_id.clone();
    let kind = input.kind;
    let options = input.options;
    let previous_checks = input.checks;
    let input_started = input.started_at;
    let input_deadline = input.deadline_at;
    let selections = input.selections();
    let chunk = input.chunk.clone();
    let outage_rounds = input.outages.map_or(0, |outages| outages.count);
    let mut queue = input.queued();
    let (mut tasks, mut start_errors) = input.into_parts(now);
    let started_at = input_started.unwrap_or_else(|| {
        tasks
            .iter()
            .filter_map(|t| t.task.known_start())
            .min()
            .unwrap_or(now)
            .min(now)
    });
    let deadline_at =
        input_deadline.unwrap_or_else(|| started_at.saturating_add(options.deadline_seconds));
    // Rounds in which the state machine could not reach this function cost history events
    // like checks do, so they are paid from the same budget.
    let mut checks =
        previous_checks.saturating_add(outage_rounds.saturating_mul(CHECKS_PER_LAMBDA_OUTAGE));

    let open: Vec<usize> = (0..tasks.len())
        .filter(|i| tasks[*i].state.is_open())
        .collect();
    let asks_the_queue = mode == CheckMode::Drive && !queue.is_empty();
    if !open.is_empty() || asks_the_queue {
        checks = checks.saturating_add(u32::from(mode == CheckMode::Drive));
    }
    if !open.is_empty() {
        let refs: Vec<_> = open.iter().map(|i| tasks[*i].task.clone()).collect();
        let results = client.status(&refs).await;
        for (index, result) in open.into_iter().zip(results) {
            apply(&mut tasks[index], result, now);
        }
    }

    if asks_the_queue {
        if now >= deadline_at || checks > options.max_checks {
            let why = if now >= deadline_at {
                format!("the job's deadline ({} s) came", options.deadline_seconds)
            } else {
                format!("the job's {} status checks were spent", options.max_checks)
            };
            tasks.extend(queue.drain(..).map(|q| still_queued(q, &why, now)));
        } else {
            let pass = start_waiting(client, ledger, &job_id, std::mem::take(&mut queue)).await;
            tasks.extend(
                pass.started
                    .into_iter()
                    .map(|(item, task)| TrackedTask::new(item, task, now)),
            );
            start_errors.extend(pass.failed);
            queue = pass.waiting;
        }
    }

    if mode == CheckMode::Drive {
        let budget_spent = checks >= options.max_checks;
        if budget_spent && !queue.is_empty() {
            let why = format!("the job's {} status checks were spent", options.max_checks);
            tasks.extend(queue.drain(..).map(|q| still_queued(q, &why, now)));
        }
        for task in tasks.iter_mut().filter(|t| t.state.is_open()) {
            if let Some(verdict) = give_up(task, &options, now, deadline_at, budget_spent) {
                task.state = verdict.0;
                task.reason = Some(verdict.1);
                task.finished_at = Some(now);
                task.cancelled = cancel(client, task).await;
            }
        }
    }

    let clock = JobClock {
        now,
        started_at,
        deadline_at,
        checks,
        max_checks: options.max_checks,
    };
    let mut state = with_selections(
        assemble(
            job_id,
            kind,
            options,
            clock,
            (tasks, start_errors, queue),
            jitter,
        ),
        selections,
    );
    state.chunk = chunk;
    if state.state == JobPhase::Running && state.document_bytes() > STATE_BYTES_LIMIT {
        return outgrown(state, clock, jitter);
    }
    fit_summary(state)
}

/// The job's state from its tasks after a check.
fn assemble(
    job_id: String,
    kind: Option<TaskKind>,
    options: JobOptions,
    clock: JobClock,
    (tasks, start_errors, queued): (Vec<TrackedTask>, Vec<StartErrorRecord>, Vec<QueuedStart>),
    jitter: &mut Jitter,
) -> JobState {
    let state = if queued.is_empty() {
        phase(&tasks, &start_errors)
    } else {
        JobPhase::Running
    };
    let reason = job_reason(&tasks, &start_errors, state);
    let wait_seconds = if state == JobPhase::Running {
        next_wait(&tasks, &queued, &options, clock, jitter)
    } else {
        0
    };
    let mut summary = JobSummary::of(
        &job_id,
        kind,
        state,
        &reason,
        clock.checks,
        clock.started_at,
        clock.now,
        &tasks,
        &start_errors,
    );
    summary.tasks_queued = queued.len();
    JobState {
        job_id,
        kind,
        options,
        started_at: clock.started_at,
        deadline_at: clock.deadline_at,
        checks: clock.checks,
        wait_seconds,
        state,
        reason,
        tasks,
        start_errors,
        selections: Vec::new(),
        summary,
        chunk: None,
        queued,
    }
}

/// A running job whose state no longer fits between two states (far more objects than any
/// request names): rather than let Step Functions kill the execution without a word, the job
/// ends here, failed, and its summary names every task it stops following.
fn outgrown(state: JobState, clock: JobClock, jitter: &mut Jitter) -> JobState {
    let bytes = state.document_bytes();
    let JobState {
        job_id,
        kind,
        options,
        mut tasks,
        start_errors,
        selections,
        chunk,
        queued,
        ..
    } = state;
    for task in tasks.iter_mut().filter(|t| t.state.is_open()) {
        task.state = TrackedState::Failed;
        task.finished_at = Some(clock.now);
        task.reason = Some(cloud_reason(
            ErrorName::JobStateTooLarge.as_str(),
            format!(
                "no longer followed: the job's state grew to {bytes} B, past the {STATE_BYTES_LIMIT} B a state may hold; the task may still be running in the cloud"
            ),
        ));
    }
    let why = format!(
        "the job's state grew to {bytes} B, past the {STATE_BYTES_LIMIT} B a state may hold"
    );
    tasks.extend(queued.into_iter().map(|q| still_queued(q, &why, clock.now)));
    let mut state = with_selections(
        assemble(
            job_id,
            kind,
            options,
            clock,
            (tasks, start_errors, Vec::new()),
            jitter,
        ),
        selections,
    );
    state.chunk = chunk;
    fit_summary(state)
}

/// What the selectors matched, in the state (while the job runs) and its summary.
fn with_selections(mut state: JobState, selections: Vec<crate::select::Selection>) -> JobState {
    state.summary.selections = selections.clone();
    state.selections = selections;
    state
}

/// A final state's document is its summary: when the per-task details would not fit, they
/// are left out (the counts and the reason stay) and the summary says so.
fn fit_summary(mut state: JobState) -> JobState {
    if state.state != JobPhase::Running && state.document_bytes() > STATE_BYTES_LIMIT {
        state.summary.details_omitted = state.summary.items.len();
        state.summary.items.clear();
    }
    state
}

/// The wait before the next check. While every open task's checks fail (an outage, throttling)
/// the job backs off on the failures, never sooner than a cloud's retry-after; otherwise the
/// wait policy reads the tasks' progress.
fn next_wait(
    tasks: &[TrackedTask],
    queued: &[QueuedStart],
    options: &JobOptions,
    clock: JobClock,
    jitter: &mut Jitter,
) -> u64 {
    let open: Vec<&TrackedTask> = tasks.iter().filter(|t| t.state.is_open()).collect();
    if open.is_empty() {
        // Only starts waiting for room: back off on their tries, never sooner than a cloud's
        // retry-after (room frees up when another job's or user's task ends).
        let tries = queued.iter().map(|q| q.attempts).min().unwrap_or(0).max(1);
        let hint = queued
            .iter()
            .filter_map(|q| q.error.retry_after)
            .max()
            .map_or(0, |hint| hint.as_secs());
        return options.wait.backoff_wait(tries, hint, clock, jitter);
    }
    let failing_streak = open.iter().map(|t| t.check_failures).min().unwrap_or(0);
    if failing_streak > 0 {
        let hint = open
            .iter()
            .filter_map(|t| t.check_error.as_ref().and_then(|e| e.retry_after))
            .max()
            .map_or(0, |hint| hint.as_secs());
        return options
            .wait
            .backoff_wait(failing_streak, hint, clock, jitter);
    }
    let statuses: Vec<TaskStatus> = open.iter().map(|t| t.status()).collect();
    options.wait.next_wait(&statuses, clock, jitter)
}

fn apply(task: &mut TrackedTask, result: Result<TaskStatus, CloudError>, now: u64) {
    match result {
        Ok(status) => {
            let state = TrackedState::from(status.state);
            let moved = task.state != state
                || task.progress != status.progress
                || task.cloud_state.as_deref() != Some(status.cloud_state.as_str());
            // After failed checks the stall clock restarts: the outage hid whether it moved.
            if moved || task.check_failures > 0 {
                task.changed_at = now;
            }
            task.state = state;
            task.progress = status.progress;
            task.cloud_state = Some(capped(&status.cloud_state));
            task.reason = status.reason.map(|reason| CloudReason {
                message: capped(&reason.message),
                ..reason
            });
            task.result = status.result;
            task.task = status.task;
            // A finished export's objects are in its result, with their sizes: kept once.
            if !state.is_open() && matches!(task.result, Some(TaskResult::Export { .. })) {
                task.task.objects.clear();
            }
            task.check_failures = 0;
            task.check_error = None;
            if !state.is_open() {
                task.finished_at = Some(now);
            }
        }
        Err(error) => {
            // A copy is confirmed by answers in a row; a failed check breaks the row.
            task.task.confirmations = 0;
            task.check_failures = task.check_failures.saturating_add(1);
            if !error.retryable {
                task.state = TrackedState::Failed;
                task.finished_at = Some(now);
                task.reason = Some(CloudReason {
                    code: Some(error.code.clone()),
                    // The cloud's message is kept once, in `check_error`.
                    message: format!(
                        "the status check failed for good ({}); check_error has the cloud's answer",
                        error.code
                    ),
                });
            }
            task.check_error = Some(CloudError {
                message: capped(&error.message),
                ..error
            });
        }
    }
}

/// Why the job stops waiting for an open task, if it does.
fn give_up(
    task: &TrackedTask,
    options: &JobOptions,
    now: u64,
    deadline_at: u64,
    budget_spent: bool,
) -> Option<(TrackedState, CloudReason)> {
    let where_it_was = match (task.progress, task.cloud_state.as_deref()) {
        (Some(p), Some(s)) => format!("cloud state {s}, {p}%"),
        (None, Some(s)) => format!("cloud state {s}"),
        (Some(p), None) => format!("{p}%"),
        (None, None) => "no status yet".to_owned(),
    };
    if now >= deadline_at {
        let message = format!(
            "not finished by the job's deadline ({} s after the start; {where_it_was})",
            options.deadline_seconds
        );
        return Some((
            TrackedState::TimedOut,
            cloud_reason(ErrorName::TaskTimedOut.as_str(), message),
        ));
    }
    if budget_spent {
        let message = format!(
            "not finished after {} status checks, the job's budget ({where_it_was})",
            options.max_checks
        );
        return Some((
            TrackedState::TimedOut,
            cloud_reason(ErrorName::TaskTimedOut.as_str(), message),
        ));
    }
    let still = now.saturating_sub(task.changed_at);
    // Only a running task's progress can stop moving: a pending one (an Alibaba copy queued
    // behind the region's limit reports `Waiting` 0 %) has not started; the deadline covers it.
    // A task whose last check failed is not stalled: nobody saw it stand still.
    let reports_progress = task.state == TrackedState::Running
        && task.progress.is_some_and(|p| p < 100)
        && task.check_failures == 0;
    if options.stall_seconds > 0 && reports_progress && still >= options.stall_seconds {
        let message = format!("progress has not moved for {still} s ({where_it_was})");
        return Some((
            TrackedState::Stalled,
            cloud_reason(ErrorName::TaskStalled.as_str(), message),
        ));
    }
    None
}

fn cloud_reason(code: &str, message: String) -> CloudReason {
    CloudReason {
        code: Some(code.to_owned()),
        message,
    }
}

/// Asks the cloud to stop a task the job gave up on, where the cloud has a way (Alibaba's
/// CancelCopyImage; the other clouds' export and copy APIs have no cancel).
async fn cancel(client: &CloudClient, task: &mut TrackedTask) -> Option<bool> {
    let outcome = crate::provider::of(task.task.cloud)
        .cancel(client, &task.task)?
        .await;
    if let (Err(error), Some(reason)) = (&outcome, task.reason.as_mut()) {
        reason
            .message
            .push_str(&format!("; cancelling it failed: {error}"));
    }
    Some(outcome.is_ok())
}

fn phase(tasks: &[TrackedTask], start_errors: &[super::StartErrorRecord]) -> JobPhase {
    if tasks.iter().any(|t| t.state.is_open()) {
        return JobPhase::Running;
    }
    let succeeded = tasks
        .iter()
        .filter(|t| t.state == TrackedState::Succeeded)
        .count();
    let failed = !start_errors.is_empty()
        || tasks
            .iter()
            .any(|t| matches!(t.state, TrackedState::Failed | TrackedState::Stalled));
    let timed_out = tasks.iter().any(|t| t.state == TrackedState::TimedOut);
    match (succeeded > 0, failed, timed_out) {
        (_, false, false) if succeeded > 0 => JobPhase::Succeeded,
        (true, _, _) => JobPhase::Partial,
        (false, true, _) => JobPhase::Failed,
        (false, false, true) => JobPhase::TimedOut,
        (false, false, false) => JobPhase::Failed,
    }
}

fn job_reason(
    tasks: &[TrackedTask],
    start_errors: &[super::StartErrorRecord],
    state: JobPhase,
) -> Option<String> {
    if matches!(state, JobPhase::Running | JobPhase::Succeeded) {
        return None;
    }
    let mut lines: Vec<String> = start_errors
        .iter()
        .map(|e| {
            let region = e
                .destination_region
                .as_deref()
                .map(|r| format!(" to {r}"))
                .unwrap_or_default();
            // An unknown outcome may hide a running task: never "did not start".
            // A caught error carries its name; a region's failure, the cloud error's text.
            let unconfirmed = e.error == ErrorName::CloudUnknownOutcome
                || e.error == crate::idempotence::UNCONFIRMED
                || e.message.contains(crate::idempotence::UNCONFIRMED)
                || e.message.contains(" unknown_outcome: ");
            let what = if unconfirmed {
                "may have started (unconfirmed)"
            } else {
                "did not start"
            };
            format!(
                "request {}{region} {what}: {}: {}",
                e.item, e.error, e.message
            )
        })
        .collect();
    for task in tasks.iter().filter(|t| t.state != TrackedState::Succeeded) {
        let id = task.task.task_id.as_deref().unwrap_or(&task.task.image_id);
        let (code, message) = task
            .reason
            .as_ref()
            .map(|r| (r.code.clone().unwrap_or_default(), r.message.clone()))
            .unwrap_or_default();
        lines.push(format!(
            "{} {} {id} in {}: {code}: {message}",
            task.task.cloud,
            kind_word(task.task.kind),
            task.task
                .destination_region
                .as_deref()
                .unwrap_or(&task.task.region)
        ));
    }
    if lines.is_empty() {
        lines.push("the job started no task".to_owned());
    }
    // The reason is the Fail state's cause (at most 32,768 characters) and is repeated in the
    // summary: the first lines say what happened, the summary's items say it for every task.
    let more = lines.len().saturating_sub(MAX_REASON_LINES);
    lines.truncate(MAX_REASON_LINES);
    if more > 0 {
        lines.push(format!("and {more} more (see the summary's items)"));
    }
    Some(lines.join("; "))
}

fn kind_word(kind: TaskKind) -> &'static str {
    match kind {
        TaskKind::Export => "export",
        TaskKind::Copy => "copy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cloud;
    use crate::error::ErrorKind;
    use crate::model::{TaskRef, TaskState};

    fn tracked() -> TrackedTask {
        TrackedTask::new(
            0,
            TaskRef {
                cloud: Cloud::Alibaba,
                region: "cn-hangzhou".into(),
                kind: TaskKind::Copy,
                image_id: "m-x".into(),
                task_id: Some("t-x".into()),
                destination_region: Some("cn-shanghai".into()),
                destination_image_id: Some("m-y".into()),
                objects: vec![],
                started_at: 100,
                confirmations: 1,
                skipped: false,
            },
            100,
        )
    }

    #[test]
    fn a_failed_status_check_keeps_the_clouds_error() {
        let error = CloudError::new(
            Cloud::Alibaba,
            ErrorKind::Permission,
            "Forbidden.RAM",
            "User not authorized (see the policy)",
        )
        .with_request_id(Some("REQ-1".into()))
        .with_http_status(403);
        let mut task = tracked();
        assert_eq!(task.check_error, None, "no check failed yet");
        apply(&mut task, Err(error.clone()), 200);
        assert_eq!(task.state, TrackedState::Failed);
        assert_eq!(task.task.confirmations, 0);
        assert_eq!(task.check_error, Some(error));
        let reason = task.reason.as_ref().expect("a reason");
        assert_eq!(reason.code.as_deref(), Some("Forbidden.RAM"));
        assert!(
            !reason.message.contains("see the policy"),
            "kept once: {reason:?}"
        );

        // Retryable failures never give a task up (only the deadline does); no request id.
        let error = CloudError::new(Cloud::Alibaba, ErrorKind::Throttled, "Throttling", "slow");
        let mut task = tracked();
        for failures in 1..=100 {
            apply(&mut task, Err(error.clone()), 200);
            assert!(task.state.is_open());
            assert_eq!(task.check_failures, failures);
        }
        assert_eq!(task.check_error, Some(error));
        assert_eq!(task.reason, None);
    }

    #[test]
    fn a_cloud_failure_is_not_a_check_error() {
        let mut task = tracked();
        let mut status = task.status();
        status.state = TaskState::Failed;
        status.reason = Some(cloud_reason(
            "InvalidImage",
            "the status check failed: looks alike".to_owned(),
        ));
        apply(&mut task, Ok(status), 200);
        assert_eq!(task.state, TrackedState::Failed);
        assert_eq!(task.check_error, None);
    }
}
