//! How long to wait before the next status check, the one policy shared by the state machine
//! (through check-status's `wait_seconds`) and the command line.
//!
//! - Where the cloud reports progress, the next check comes when about half of the estimated
//!   remaining time has passed (the estimate is elapsed × (100 − p) / p).
//! - Where it does not, capped exponential backoff with full jitter.
//! - Always within `[floor, max_seconds]`, where the floor is `min_seconds` or a thousandth
//!   of the time the job has run, whichever is larger; and never past the job's deadline.
//!
//! A check costs about 8 Step Functions history events (Wait, Task and Choice, entered and
//! exited). The growing floor bounds the number of checks: a job that runs a week is checked
//! about 1,700 times at most (14,000 events), inside the 25,000-event history of one
//! execution; past a week every wait is `max_seconds`, so a job should not be given a deadline
//! beyond about three weeks.

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
}

impl WaitPolicy {
    /// The wait before the next check of the still-running `statuses`: the shortest any task
    /// asks for, clamped to the bounds and to the deadline (at least one second).
    pub fn next_wait(&self, statuses: &[TaskStatus], clock: JobClock, jitter: &mut Jitter) -> u64 {
        let elapsed = clock.now.saturating_sub(clock.started_at);
        let max = self.max_seconds.max(self.min_seconds).max(1);
        let min = self.min_seconds.max(elapsed / 1000).clamp(1, max);
        // One draw per check: every task without progress shares it.
        let ceiling = self
            .base_seconds
            .max(1)
            .saturating_mul(1 << clock.checks.min(20))
            .min(max);
        let backoff = (ceiling as f64 * jitter.unit()).round() as u64;
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
        let left = clock.deadline_at.saturating_sub(clock.now).max(1);
        wanted.clamp(min, max).min(left)
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
