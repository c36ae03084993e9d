//! Following tasks to their end the way the state machine does: check, then wait what
//! [`WaitPolicy::next_wait`] says, until every task is final or the deadline passes.
//!
//! The policy speaks in cloud seconds. With a time scale (the demo, and tests against a
//! sped-up emulator) the job's clock runs `time_scale` times faster than the real one: a
//! wait of `w` cloud seconds sleeps `w / time_scale` real seconds. At scale 1 both are the
//! same, as for real clouds.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use imgflow_shared::client::CloudClient;
use imgflow_shared::error::CloudError;
use imgflow_shared::model::{TaskRef, TaskStatus};
use imgflow_shared::retry::Jitter;
use imgflow_shared::wait::{JobClock, WaitPolicy};

use crate::report::TaskBar;

/// How many status checks in a row may fail in a retryable way before a task is given up.
const MAX_TRANSIENT_FAILURES: u32 = 10;

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
    /// The deadline passed before the task finished.
    pub timed_out: bool,
}

impl TaskOutcome {
    pub fn is_final(&self) -> bool {
        self.status.as_ref().is_some_and(|s| s.state.is_final())
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
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The final word on a task's bar, from its outcome: whether it is a success, and the text.
pub type Verdict<'a> = &'a (dyn Fn(&TaskOutcome) -> (bool, String) + Sync);

/// Checks `tasks` until each is final, its check fails for good, or the deadline passes.
/// `bars[i]` (when given) shows task `i`, and is finished with `verdict` as soon as the task
/// ends.
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
    let job_started = tasks
        .iter()
        .map(|t| t.started_at)
        .min()
        .unwrap_or(origin_unix as u64)
        .min(origin_unix as u64);
    let deadline_at = job_started.saturating_add(options.deadline_seconds);
    let mut jitter = Jitter::from_clock();
    let mut outcomes: Vec<TaskOutcome> = tasks
        .into_iter()
        .map(|task| TaskOutcome {
            status: None,
            task,
            error: None,
            checks: 0,
            cloud_seconds: 0.0,
            real_seconds: 0.0,
            timed_out: false,
        })
        .collect();
    let mut transient_failures = vec![0u32; outcomes.len()];
    let mut checks = 0u32;
    let mut timed_out = false;
    loop {
        let open: Vec<usize> = (0..outcomes.len())
            .filter(|i| !outcomes[*i].is_final() && outcomes[*i].error.is_none())
            .collect();
        if open.is_empty() {
            break;
        }
        let refs: Vec<TaskRef> = open.iter().map(|i| outcomes[*i].task.clone()).collect();
        let results = client.status(&refs).await;
        checks += 1;
        let cloud_elapsed = origin.elapsed().as_secs_f64() * scale;
        let real_elapsed = origin.elapsed().as_secs_f64();
        for (index, result) in open.iter().copied().zip(results) {
            let outcome = &mut outcomes[index];
            outcome.checks += 1;
            outcome.cloud_seconds = cloud_elapsed;
            outcome.real_seconds = real_elapsed;
            let bar = bars.get(index);
            match result {
                Ok(status) => {
                    transient_failures[index] = 0;
                    if let Some(bar) = bar {
                        bar.update(&status, cloud_elapsed);
                    }
                    outcome.task = status.task.clone();
                    outcome.status = Some(status);
                }
                Err(error) => {
                    transient_failures[index] += 1;
                    // A copy needs consecutive finished answers; a failed check breaks the run.
                    outcome.task.confirmations = 0;
                    let retrying =
                        error.retryable && transient_failures[index] < MAX_TRANSIENT_FAILURES;
                    if let Some(bar) = bar {
                        bar.error(&error, retrying);
                    }
                    if !retrying {
                        outcome.error = Some(error);
                    }
                }
            }
            if let Some(bar) = bar
                && (outcome.is_final() || outcome.error.is_some())
            {
                let (ok, text) = verdict(outcome);
                bar.finish(ok, &text);
            }
        }
        let still_open: Vec<TaskStatus> = outcomes
            .iter()
            .filter(|o| !o.is_final() && o.error.is_none())
            .filter_map(|o| o.status.clone())
            .collect();
        let any_open = outcomes.iter().any(|o| !o.is_final() && o.error.is_none());
        if !any_open {
            break;
        }
        let now = cloud_now();
        if now >= deadline_at as f64 {
            timed_out = true;
            for outcome in outcomes
                .iter_mut()
                .filter(|o| !o.is_final() && o.error.is_none())
            {
                outcome.timed_out = true;
            }
            for (outcome, bar) in outcomes.iter().zip(bars).filter(|(o, _)| o.timed_out) {
                let (ok, text) = verdict(outcome);
                bar.finish(ok, &text);
            }
            break;
        }
        let clock = JobClock {
            now: now as u64,
            started_at: job_started,
            deadline_at,
            checks,
        };
        let wait = options.policy.next_wait(&still_open, clock, &mut jitter);
        tokio::time::sleep(Duration::from_secs_f64(wait as f64 / scale)).await;
    }
    FollowReport {
        tasks: outcomes,
        checks,
        timed_out,
    }
}
