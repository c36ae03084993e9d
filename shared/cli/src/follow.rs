//! Following tasks to their end the way the state machine does: one [`check_job`] after
//! another (the job's deadline, check budget and cancels included), each after the wait the
//! previous check asked for, until the job is final.
//!
//! The policy speaks in cloud seconds. With a time scale (the demo, and tests against a
//! sped-up emulator) the job's clock runs `time_scale` times faster than the real one: a
//! wait of `w` cloud seconds sleeps `w / time_scale` real seconds. At scale 1 both are the
//! same, as for real clouds.

use std::time::{Duration, Instant};

use imgflow_shared::client::CloudClient;
use imgflow_shared::error::CloudError;
use imgflow_shared::job::{
    CheckInput, CheckMode, JobOptions, JobPhase, MAX_CHECKS_LIMIT, TaskEntry, TrackedState,
    TrackedTask, check_job,
};
use imgflow_shared::model::{TaskRef, TaskState, TaskStatus};
use imgflow_shared::retry::Jitter;
use imgflow_shared::wait::WaitPolicy;

use crate::report::TaskBar;

#[derive(Clone, Copy, Debug)]
pub struct FollowOptions {
    pub policy: WaitPolicy,
    /// Cloud seconds per real second (1 for real clouds).
    pub time_scale: f64,
    /// Cloud seconds after the job's start when unfinished tasks count as timed out.
    pub deadline_seconds: u64,
    /// The real instant durations are measured from (the start call, for the demo).
    pub origin: Instant,
}

impl FollowOptions {
    pub fn new(time_scale: f64, deadline_seconds: u64) -> Self {
        Self {
            policy: WaitPolicy::default(),
            time_scale: sanitize_scale(time_scale),
            deadline_seconds,
            origin: Instant::now(),
        }
    }
}

/// A usable time scale: positive and finite, else 1.
pub fn sanitize_scale(time_scale: f64) -> f64 {
    if time_scale.is_finite() && time_scale > 0.0 {
        time_scale
    } else {
        1.0
    }
}

/// How one task ended.
#[derive(Clone, Debug)]
pub struct TaskOutcome {
    /// The last status seen (final unless the deadline passed or the check failed).
    pub status: Option<TaskStatus>,
    /// The last task reference (with the confirmations the checks added).
    pub task: TaskRef,
    /// The error that ended the following of this task, if a check failed for good.
    pub error: Option<CloudError>,
    /// Status checks that included this task.
    pub checks: u32,
    /// Cloud seconds from `origin` to the check that saw the task final (or gave up).
    pub cloud_seconds: f64,
    /// Real seconds from `origin` to the same check.
    pub real_seconds: f64,
    /// The deadline passed (or the check budget ran out) before the task finished.
    pub timed_out: bool,
    /// The task timed out and the cloud was asked to cancel it (an Alibaba copy, the only
    /// task a cloud can cancel), as the state machine does.
    pub cancelled: bool,
}

impl TaskOutcome {
    fn new(task: TaskRef) -> Self {
        Self {
            status: None,
            task,
            error: None,
            checks: 0,
            cloud_seconds: 0.0,
            real_seconds: 0.0,
            timed_out: false,
            cancelled: false,
        }
    }
}

/// Every task's outcome, in the order given, and the checks made.
#[derive(Clone, Debug)]
pub struct FollowReport {
    pub tasks: Vec<TaskOutcome>,
    pub checks: u32,
    pub timed_out: bool,
}

fn unix_now() -> f64 {
    imgflow_shared::clock::since_epoch().as_secs_f64()
}

/// The final word on a task's bar, from its outcome: whether it is a success, and the text.
pub type Verdict<'a> = &'a (dyn Fn(&TaskOutcome) -> (bool, String) + Sync);

/// Checks `tasks` until each is final, its check fails for good, or the deadline (or the
/// check budget) runs out. `bars[i]` (when given) shows task `i`, and is finished with
/// `verdict` as soon as the task ends.
pub async fn follow(
    client: &CloudClient,
    tasks: Vec<TaskRef>,
    options: &FollowOptions,
    bars: &[TaskBar],
    verdict: Verdict<'_>,
) -> FollowReport {
    let scale = sanitize_scale(options.time_scale);
    let origin = options.origin;
    // The job clock: real time at the origin, then `scale` times faster.
    let origin_unix = unix_now() - origin.elapsed().as_secs_f64();
    let cloud_now = || origin_unix + origin.elapsed().as_secs_f64() * scale;
    let started_at = tasks
        .iter()
        .map(|t| t.started_at)
        .min()
        .unwrap_or(origin_unix as u64)
        .min(origin_unix as u64);
    let mut outcomes: Vec<TaskOutcome> = tasks.iter().cloned().map(TaskOutcome::new).collect();
    let mut input = CheckInput {
        job_id: String::new(),
        kind: None,
        options: JobOptions {
            deadline_seconds: options.deadline_seconds,
            // No stall limit on the command line: the deadline covers a task that hangs.
            stall_seconds: 0,
            max_checks: MAX_CHECKS_LIMIT,
            wait: options.policy,
            ..JobOptions::default()
        },
        started_at: Some(started_at),
        deadline_at: Some(started_at.saturating_add(options.deadline_seconds)),
        checks: 0,
        tasks: tasks
            .into_iter()
            .map(|task| TaskEntry::Bare(Box::new(task)))
            .collect(),
        starts: Vec::new(),
        start_errors: Vec::new(),
        selections: Vec::new(),
        chunk: None,
        outages: None,
        queued: Vec::new(),
    };
    let mut jitter = Jitter::from_clock();
    // The tasks the next check asks about (`check_job` asks about every open task).
    let mut open: Vec<usize> = (0..outcomes.len()).collect();
    let mut checks = 0u32;
    while !open.is_empty() {
        let now = cloud_now() as u64;
        let state = check_job(client, input.clone(), now, CheckMode::Drive, &mut jitter).await;
        checks += 1;
        let real_elapsed = origin.elapsed().as_secs_f64();
        let cloud_elapsed = real_elapsed * scale;
        for index in &open {
            if let Some(outcome) = outcomes.get_mut(*index) {
                outcome.checks += 1;
                outcome.cloud_seconds = cloud_elapsed;
                outcome.real_seconds = real_elapsed;
            }
        }
        for index in &open {
            let (Some(outcome), Some(tracked)) =
                (outcomes.get_mut(*index), state.tasks.get(*index))
            else {
                continue;
            };
            let bar = bars.get(*index);
            settle(outcome, tracked, bar, cloud_elapsed);
            if let Some(bar) = bar
                && !tracked.state.is_open()
            {
                let (ok, text) = verdict(outcome);
                bar.finish(ok, &text);
            }
        }
        if state.state != JobPhase::Running {
            break;
        }
        open.retain(|i| state.tasks.get(*i).is_some_and(|t| t.state.is_open()));
        let wait = state.wait_seconds;
        input = CheckInput::from(state);
        sleep(wait, scale).await;
    }
    let timed_out = outcomes.iter().any(|o| o.timed_out);
    FollowReport {
        tasks: outcomes,
        checks,
        timed_out,
    }
}

/// Takes what a check made of one task into its outcome, and onto its bar (`elapsed` cloud
/// seconds after the origin).
fn settle(outcome: &mut TaskOutcome, tracked: &TrackedTask, bar: Option<&TaskBar>, elapsed: f64) {
    outcome.task = tracked.task.clone();
    let answered = tracked.cloud_state.is_some();
    if tracked.state == TrackedState::TimedOut {
        outcome.timed_out = true;
        outcome.cancelled = tracked.cancelled == Some(true);
        // The cloud's word as last seen (pending or running), with the job's reason.
        let last = outcome
            .status
            .as_ref()
            .map_or(TaskState::Pending, |s| s.state);
        if answered {
            outcome.status = Some(TaskStatus {
                state: last,
                ..tracked.status()
            });
        }
    } else if let Some(error) = &tracked.check_error {
        // Given up after failed checks, or failed this time and to be tried again.
        let retrying = tracked.state.is_open();
        if let Some(bar) = bar {
            bar.error(error, retrying);
        }
        if !retrying {
            outcome.error = Some(error.clone());
        }
    } else if answered {
        let status = tracked.status();
        if let Some(bar) = bar {
            bar.update(&status, elapsed);
        }
        outcome.status = Some(status);
    }
}

async fn sleep(cloud_seconds: u64, scale: f64) {
    tokio::time::sleep(Duration::from_secs_f64(cloud_seconds as f64 / scale)).await;
}
