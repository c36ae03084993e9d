//! How long to wait before the next status check, the one policy shared by the state machine
//! (through check-status's `wait_seconds`) and the command line.
//!
//! - Where the cloud reports progress, the next check comes when about half of the estimated
//!   remaining time has passed (the estimate is elapsed × (100 − p) / p).
//! - Where it does not, capped exponential backoff with full jitter; the same backoff, on the
//!   failures in a row, while every open task's check fails (a cloud is down).
//! - Always within `[floor, max_seconds]`, where the floor is `min_seconds` or a thousandth
//!   of the time the job has run, whichever is larger; never past the job's deadline.
//! - And, once the checks left could no longer cover the time left at `max_seconds` apart,
//!   never shorter than the time left divided by the checks left: the budget cannot run out
//!   before the deadline, whatever the tasks report (for a far deadline and a small budget
//!   this floor passes `max_seconds`); before that point short waits cost nothing.
//!
//! The budget itself is bounded by the history of one execution (see
//! [`MAX_CHECKS_LIMIT`](crate::job::MAX_CHECKS_LIMIT)).

use serde::{Deserialize, Serialize};

use crate::model::{TaskState, TaskStatus};
use crate::retry::Jitter;

/// The bounds of the wait between checks, in seconds. Part of a job, so a test can shorten them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WaitPolicy {
    pub min_seconds: u64,
    pub max_seconds: u64,
    /// The first backoff step when no progress is reported.
    pub base_seconds: u64,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        Self {
            min_seconds: 10,
            max_seconds: 300,
            base_seconds: 30,
        }
    }
}

/// Where a job stands when the next wait is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobClock {
    pub now: u64,
    /// Unix seconds the job started.
    pub started_at: u64,
    /// Unix seconds after which the job fails as timed out.
    pub deadline_at: u64,
    /// Checks done so far (the backoff exponent).
    pub checks: u32,
    /// The job's check budget: the waits spread what is left of it over the time left.
    pub max_checks: u32,
}

impl WaitPolicy {
    /// The wait before the next check of the still-running `statuses`: the shortest any task
    /// asks for, clamped to the bounds and to the deadline (at least one second).
    pub fn next_wait(&self, statuses: &[TaskStatus], clock: JobClock, jitter: &mut Jitter) -> u64 {
        let elapsed = clock.now.saturating_sub(clock.started_at);
        let (min, max) = self.bounds(clock);
        let backoff = self.jittered_backoff(clock.checks, max, jitter);
        let wanted = statuses
            .iter()
            .filter(|s| !s.state.is_final())
            .map(|status| match (status.state, status.progress) {
                (TaskState::Running, Some(p)) if (1..100).contains(&p) => {
                    elapsed.saturating_mul(u64::from(100 - p)) / u64::from(p) / 2
                }
                // Pending, no progress, or a copy awaiting its confirming answer.
                (_, Some(100)) => min,
                _ => backoff,
            })
            .min()
            .unwrap_or(min);
        self.settle(wanted, clock)
    }

    /// The wait after `failures` checks in a row that all failed (a cloud down, throttling):
    /// backoff on the failures, at least the cloud's `hint_seconds`, within the same bounds.
    pub fn backoff_wait(
        &self,
        failures: u32,
        hint_seconds: u64,
        clock: JobClock,
        jitter: &mut Jitter,
    ) -> u64 {
        let (_, max) = self.bounds(clock);
        let wanted = self
            .jittered_backoff(failures, max, jitter)
            .max(hint_seconds.min(max));
        self.settle(wanted, clock)
    }

    /// The floor and the ceiling of a wait. The floor is the largest of `min_seconds`, a
    /// thousandth of the job's age, and the time left to the deadline divided by the checks
    /// left in the budget: so the budget lasts to the deadline whatever the tasks report.
    fn bounds(&self, clock: JobClock) -> (u64, u64) {
        let elapsed = clock.now.saturating_sub(clock.started_at);
        let max = self.max_seconds.max(self.min_seconds).max(1);
        let min = self.min_seconds.max(elapsed / 1000).clamp(1, max);
        (min, max)
    }

    /// The budget's floor: none while the checks left could cover the time left even at
    /// `max_seconds` apart (with one to spare), else the time left divided by the checks
    /// left. Once it applies, the time left per check left never grows, so the last check
    /// of the budget comes at the deadline at the earliest; until then, short waits are free.
    fn budget_floor(&self, clock: JobClock) -> u64 {
        let left = clock.deadline_at.saturating_sub(clock.now);
        let checks_left = u64::from(clock.max_checks.saturating_sub(clock.checks).max(1));
        let max = self.max_seconds.max(self.min_seconds).max(1);
        if checks_left > left.div_ceil(max).saturating_add(1) {
            return 0;
        }
        left.div_ceil(checks_left)
    }

    fn jittered_backoff(&self, exponent: u32, max: u64, jitter: &mut Jitter) -> u64 {
        // One draw per check: every task without progress shares it.
        let ceiling = self
            .base_seconds
            .max(1)
            .saturating_mul(1 << exponent.min(20))
            .min(max);
        (ceiling as f64 * jitter.unit()).round() as u64
    }

    /// `wanted` within the bounds, raised to the budget's floor (which may exceed
    /// `max_seconds` when the deadline is far and the budget small), and never past the
    /// deadline (at least one second).
    fn settle(&self, wanted: u64, clock: JobClock) -> u64 {
        let (min, max) = self.bounds(clock);
        let left = clock.deadline_at.saturating_sub(clock.now).max(1);
        wanted
            .clamp(min, max)
            .max(self.budget_floor(clock))
            .min(left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cloud;
    use crate::model::{TaskKind, TaskRef};

    fn status(state: TaskState, progress: Option<u8>) -> TaskStatus {
        TaskStatus {
            task: TaskRef {
                cloud: Cloud::Alibaba,
                region: "cn-hangzhou".into(),
                kind: TaskKind::Export,
                image_id: "m-x".into(),
                task_id: Some("t-x".into()),
                destination_region: None,
                destination_image_id: None,
                objects: vec![],
                started_at: 0,
                confirmations: 0,
            },
            state,
            progress,
            cloud_state: "Processing".into(),
            reason: None,
            result: None,
        }
    }

    fn clock(elapsed: u64, checks: u32) -> JobClock {
        JobClock {
            now: 1_000_000 + elapsed,
            started_at: 1_000_000,
            deadline_at: 1_000_000 + 86_400,
            checks,
            // A budget too large for its floor to matter; the budget has tests of its own.
            max_checks: 1_000_000,
        }
    }

    #[test]
    fn progress_gives_half_the_estimated_time_left() {
        let policy = WaitPolicy::default();
        let mut jitter = Jitter::seeded(1);
        // 25 % after 100 s: 300 s left, so check again in 150 s.
        let wait = policy.next_wait(
            &[status(TaskState::Running, Some(25))],
            clock(100, 3),
            &mut jitter,
        );
        assert_eq!(wait, 150);
        // Nearly done: the minimum.
        let wait = policy.next_wait(
            &[status(TaskState::Running, Some(99))],
            clock(100, 3),
            &mut jitter,
        );
        assert_eq!(wait, policy.min_seconds);
        // Early and slow: the maximum.
        let wait = policy.next_wait(
            &[status(TaskState::Running, Some(1))],
            clock(600, 3),
            &mut jitter,
        );
        assert_eq!(wait, policy.max_seconds);
    }

    #[test]
    fn without_progress_the_backoff_grows_with_jitter_and_stays_bounded() {
        let policy = WaitPolicy::default();
        let mut jitter = Jitter::seeded(9);
        let waits: Vec<u64> = (0..200)
            .map(|i| {
                policy.next_wait(
                    &[status(TaskState::Pending, None)],
                    clock(10, i % 8),
                    &mut jitter,
                )
            })
            .collect();
        assert!(
            waits
                .iter()
                .all(|w| (policy.min_seconds..=policy.max_seconds).contains(w))
        );
        let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
        assert!(distinct.len() > 20, "jittered: {distinct:?}");
    }

    #[test]
    fn the_deadline_and_the_most_urgent_task_win() {
        let policy = WaitPolicy::default();
        let mut jitter = Jitter::seeded(3);
        let near_deadline = JobClock {
            deadline_at: 1_000_000 + 105,
            ..clock(100, 3)
        };
        let statuses = [
            status(TaskState::Running, Some(10)),
            status(TaskState::Running, Some(100)),
        ];
        assert_eq!(
            policy.next_wait(&statuses[..1], near_deadline, &mut jitter),
            5
        );
        assert_eq!(
            policy.next_wait(&statuses, clock(100, 3), &mut jitter),
            policy.min_seconds
        );
    }

    /// Checks a job makes until its deadline, where each check asks about `task`; panics if
    /// a check before the deadline finds the budget spent.
    fn checks_until_the_deadline(
        policy: WaitPolicy,
        deadline_seconds: u64,
        max_checks: u32,
        task: &TaskStatus,
    ) -> u32 {
        let mut jitter = Jitter::seeded(11);
        let (start, mut elapsed, mut checks) = (1_000_000u64, 0u64, 0u32);
        loop {
            checks += 1;
            if elapsed >= deadline_seconds {
                return checks;
            }
            assert!(
                checks < max_checks,
                "budget of {max_checks} spent {} s before a {deadline_seconds} s deadline",
                deadline_seconds - elapsed
            );
            let clock = JobClock {
                now: start + elapsed,
                started_at: start,
                deadline_at: start + deadline_seconds,
                checks,
                max_checks,
            };
            let wait = policy.next_wait(std::slice::from_ref(task), clock, &mut jitter);
            assert!(wait >= 1);
            elapsed += wait;
        }
    }

    #[test]
    fn no_valid_job_spends_its_check_budget_before_its_deadline() {
        use crate::job::{MAX_CHECKS_LIMIT, MAX_DEADLINE_SECONDS};
        let tasks = [
            status(TaskState::Pending, None),
            status(TaskState::Running, None),
            status(TaskState::Running, Some(1)),
            status(TaskState::Running, Some(60)),
            status(TaskState::Running, Some(100)),
        ];
        let eager = WaitPolicy {
            min_seconds: 1,
            max_seconds: 1,
            base_seconds: 1,
        };
        for policy in [WaitPolicy::default(), eager] {
            for (deadline, budget) in [
                (MAX_DEADLINE_SECONDS, MAX_CHECKS_LIMIT),
                (MAX_DEADLINE_SECONDS, 2),
                (7 * 86_400, MAX_CHECKS_LIMIT),
                (7 * 86_400, 50),
                (3_600, 2),
                (10, MAX_CHECKS_LIMIT),
            ] {
                for task in &tasks {
                    let checks = checks_until_the_deadline(policy, deadline, budget, task);
                    assert!(checks <= budget, "{checks} > {budget}");
                }
            }
        }
    }

    #[test]
    fn an_outage_backs_off_on_its_failures_and_honours_the_hint() {
        let policy = WaitPolicy::default();
        let mut jitter = Jitter::seeded(4);
        let waits: Vec<u64> = (1..=12)
            .map(|failures| policy.backoff_wait(failures, 0, clock(100, 3), &mut jitter))
            .collect();
        assert!(
            waits
                .iter()
                .all(|w| (policy.min_seconds..=policy.max_seconds).contains(w)),
            "{waits:?}"
        );
        assert!(waits[8..].iter().any(|w| *w > 100), "grows: {waits:?}");
        let hinted = policy.backoff_wait(1, 200, clock(100, 3), &mut jitter);
        assert!(hinted >= 200, "{hinted}");
    }

    #[test]
    fn a_week_long_task_stays_inside_the_history_limit() {
        let policy = WaitPolicy::default();
        let mut jitter = Jitter::seeded(5);
        let (mut elapsed, mut checks) = (0u64, 0u32);
        let week = 7 * 86_400;
        while elapsed < week {
            let clock = JobClock {
                deadline_at: 1_000_000 + week + 60,
                ..clock(elapsed, checks)
            };
            elapsed += policy.next_wait(&[status(TaskState::Pending, None)], clock, &mut jitter);
            checks += 1;
        }
        // About 8 history events per check (Wait, Task, Choice entered/exited and scheduling).
        assert!(checks * 8 < 25_000, "{checks} checks");
    }
}
