//! How long to wait before the next status check, the one policy shared by the state machine
//! (through check-status's `wait_seconds`) and the command line.
//!
//! The goal: a finished task is noticed within max(`base_seconds`, 5 % of its run time)
//! (60 s and 5 % by default), with as few checks as that allows.
//!
//! - Without progress, the wait is a twentieth of the task's age (from its `started_at`, or
//!   the job's start), at least `base_seconds`, times a jitter between 0.9 and 1 (so jobs
//!   started together drift apart). A task that finishes just after a check is noticed at the
//!   next one, at most that wait later; its run time is at least its age at that check, so the
//!   lag is within the goal. The checks grow geometrically: about 115 for a 24-hour task
//!   (`base_seconds` for the first 20 minutes, then 5 % more each time) instead of one every
//!   `max_seconds`.
//! - With progress `p` (1-99), the remaining time is estimated as age × (100 − p) / p; when that
//!   is shorter than the wait above, the next check comes at the estimated end (at least
//!   `min_seconds`), so a task that keeps its pace is noticed about when it finishes. Progress
//!   never lengthens the wait: a task that finishes early is still noticed within the goal.
//!   At 100 (a copy awaiting its confirming answer) the next check is `min_seconds` away.
//! - While every open task's check fails (a cloud is down), capped exponential backoff with
//!   full jitter on the failures in a row, from `base_seconds` up to the wait above.
//! - Always within `[min_seconds, max_seconds]`; never past the job's deadline.
//! - And never shorter than the budget's floor, so the check budget cannot run out before the
//!   deadline, whatever the tasks report: the smallest wait `max(min_seconds, age × r)` whose
//!   schedule (every later wait at the same floor) reaches the deadline within the checks left.
//!   The rate `r` found at one check still fits at the next, so the floor never lets the
//!   budget fall short (a rate is searched afresh each time; when none fits, the whole time
//!   left). With the defaults (3 days, 2,000 checks) the floor is `min_seconds`; for a far
//!   deadline and a small budget it passes `max_seconds`.
//!
//! The budget itself is bounded by the history of one execution (see
//! [`MAX_CHECKS_LIMIT`](crate::limits::MAX_CHECKS_LIMIT)).

use serde::{Deserialize, Serialize};

use crate::model::{TaskState, TaskStatus};
use crate::retry::Jitter;

/// Without progress, the wait is the task's age divided by this (5 %): the detection lag goal.
pub const LAG_DIVISOR: u64 = 20;
/// The jitter takes up to this share (in percent) off a wait: never longer than the goal.
pub const JITTER_PERCENT: u64 = 10;

/// The bounds of the wait between checks, in seconds. Part of a job, so a test can shorten them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WaitPolicy {
    pub min_seconds: u64,
    pub max_seconds: u64,
    /// The wait while a task is young (until a twentieth of its age is longer), and the first
    /// backoff step of an outage.
    pub base_seconds: u64,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        Self {
            min_seconds: 10,
            max_seconds: 3600,
            base_seconds: 60,
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
    /// Checks done so far.
    pub checks: u32,
    /// The job's check budget: the waits never let it run out before the deadline.
    pub max_checks: u32,
}

/// The budget floor's rate is searched in millionths of the job's age.
const RATE_SCALE: u64 = 1_000_000;
/// The largest rate tried: a wait of a million times the job's age.
const RATE_LIMIT: u64 = 1 << 50;

impl WaitPolicy {
    /// The wait before the next check of the still-running `statuses`: the shortest any task
    /// asks for, clamped to the bounds and to the deadline (at least one second).
    pub fn next_wait(&self, statuses: &[TaskStatus], clock: JobClock, jitter: &mut Jitter) -> u64 {
        let (min, max) = self.bounds();
        // One draw per check: every task shares it.
        let spread = jitter.unit();
        let wanted = statuses
            .iter()
            .filter(|s| !s.state.is_final())
            .map(|status| {
                let age = clock.now.saturating_sub(
                    status
                        .task
                        .known_start()
                        .unwrap_or(clock.started_at)
                        .min(clock.now),
                );
                let cadence = self.cadence(age, max, spread);
                match (status.state, status.progress) {
                    (TaskState::Running, Some(p)) if (1..100).contains(&p) => {
                        let remaining = age.saturating_mul(u64::from(100 - p)) / u64::from(p);
                        cadence.min(remaining.max(min))
                    }
                    // A copy awaiting its confirming answer.
                    (_, Some(100)) => min,
                    // Pending, or no progress.
                    _ => cadence,
                }
            })
            .min()
            .unwrap_or(min);
        self.settle(wanted, clock)
    }

    /// The wait without progress for a task of `age` seconds: max(base, age / 20) up to `max`,
    /// less up to `JITTER_PERCENT` % as `spread` (in [0, 1)) says.
    fn cadence(&self, age: u64, max: u64, spread: f64) -> u64 {
        let goal = self.lag_goal(age).min(max);
        let off = (goal as f64 * spread * JITTER_PERCENT as f64 / 100.0).round() as u64;
        goal.saturating_sub(off).max(1)
    }

    /// The longest a task of `age` seconds may go unchecked: max(base, age / 20).
    pub fn lag_goal(&self, age: u64) -> u64 {
        self.base_seconds.max(1).max(age / LAG_DIVISOR)
    }

    /// The wait after `failures` checks in a row that all failed (a cloud down, throttling):
    /// backoff on the failures, at most the wait without progress for the job's age, at least
    /// the cloud's `hint_seconds`, within the same bounds.
    pub fn backoff_wait(
        &self,
        failures: u32,
        hint_seconds: u64,
        clock: JobClock,
        jitter: &mut Jitter,
    ) -> u64 {
        let (_, max) = self.bounds();
        let age = clock.now.saturating_sub(clock.started_at);
        let ceiling = self
            .base_seconds
            .max(1)
            .saturating_mul(1 << failures.min(20))
            .min(self.lag_goal(age))
            .min(max);
        let backoff = (ceiling as f64 * jitter.unit()).round() as u64;
        self.settle(backoff.max(hint_seconds.min(max)), clock)
    }

    /// The floor and the ceiling of a wait: `min_seconds` and `max_seconds`.
    fn bounds(&self) -> (u64, u64) {
        let max = self.max_seconds.max(self.min_seconds).max(1);
        (self.min_seconds.clamp(1, max), max)
    }

    /// The shortest wait that keeps the budget to the deadline, whatever the tasks report:
    /// `max(min, age × r)` for the smallest rate `r` whose schedule (each wait
    /// `max(min, age × r)` at the age then) reaches the deadline within the checks left; the
    /// whole time left when no rate does. Whatever wait is taken at least this long, the same
    /// rate fits the next check (the schedule from a later age is ahead), so the search there
    /// finds it or a smaller one: the budget lasts by induction.
    fn budget_floor(clock: JobClock, min: u64) -> u64 {
        let age = clock.now.saturating_sub(clock.started_at);
        let end = clock.deadline_at.saturating_sub(clock.started_at);
        let checks_left = clock.max_checks.saturating_sub(clock.checks).max(1);
        if age >= end {
            return 0;
        }
        // Exact, by the integer schedule itself.
        let fits = |rate: u64| {
            let mut at = age;
            for _ in 0..checks_left {
                at = at.saturating_add(Self::floor_wait(at, rate, min));
                if at >= end {
                    return true;
                }
            }
            false
        };
        // Estimated in constant time: `min`-second steps until the age's share passes `min`,
        // then the age grows by the rate each check.
        let estimate = |rate: u64| -> f64 {
            let (age, end, min) = (age as f64, end as f64, min as f64);
            let r = rate as f64 / RATE_SCALE as f64;
            let turn = if r > 0.0 { min / r } else { f64::INFINITY };
            let flat_to = turn.min(end);
            let flat = if age < flat_to {
                ((flat_to - age) / min).ceil()
            } else {
                0.0
            };
            let at = age + flat * min;
            if at >= end {
                return flat;
            }
            flat + ((end / at.max(1.0)).ln() / r.ln_1p()).ceil()
        };
        // Every wait `min` long: the schedule needs ceil(time left / min) checks.
        if (end - age).div_ceil(min.max(1)) <= u64::from(checks_left) {
            return min;
        }
        // The smallest rate the estimate says fits, then checked exactly (and raised a little
        // while the integer schedule, which rounds each wait down, falls short).
        let n = f64::from(checks_left);
        let (mut no, mut yes) = (0, RATE_LIMIT);
        while yes - no > 1 {
            let mid = no + (yes - no) / 2;
            if estimate(mid) <= n {
                yes = mid
            } else {
                no = mid
            }
        }
        let mut rate = yes;
        for _ in 0..16 {
            if fits(rate) {
                return Self::floor_wait(age, rate, min);
            }
            rate = rate.saturating_add(rate / 64 + 1);
        }
        end - age
    }

    fn floor_wait(age: u64, rate: u64, min: u64) -> u64 {
        let proportional = u128::from(age) * u128::from(rate) / u128::from(RATE_SCALE);
        min.max(u64::try_from(proportional).unwrap_or(u64::MAX))
    }

    /// `wanted` within the bounds, raised to the budget's floor (which may exceed
    /// `max_seconds` when the deadline is far and the budget small), and never past the
    /// deadline (at least one second).
    fn settle(&self, wanted: u64, clock: JobClock) -> u64 {
        let (min, max) = self.bounds();
        let left = clock.deadline_at.saturating_sub(clock.now).max(1);
        wanted
            .clamp(min, max)
            .max(Self::budget_floor(clock, min))
            .min(left)
    }
}

/// What the policy costs one task, by [`simulate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Simulated {
    /// Checks from the first (right after the start) to the one that sees the task finished.
    pub checks: u32,
    /// Seconds from the task's end to that check.
    pub lag_seconds: u64,
    /// The longest wait before the end: the lag had the task ended just after a check.
    pub worst_lag_seconds: u64,
}

/// Follows one task that runs `run_seconds` (reporting progress `run time elapsed / run
/// seconds` in whole percent when `progress`, none otherwise) with `policy`, the job's default
/// budget and a deadline a day past its end, on a clock of its own (no wall clock) and a jitter
/// seeded with `seed`.
pub fn simulate(policy: &WaitPolicy, run_seconds: u64, progress: bool, seed: u64) -> Simulated {
    use crate::model::{TaskKind, TaskRef};
    let mut jitter = Jitter::seeded(seed);
    let start = 1_000_000u64;
    let clock = |elapsed: u64, checks: u32| JobClock {
        now: start + elapsed,
        started_at: start,
        deadline_at: start + run_seconds + 86_400,
        checks,
        max_checks: crate::limits::MAX_CHECKS_LIMIT,
    };
    // Any cloud will do: nothing is sent, and the policy does not depend on the cloud.
    let cloud = crate::Cloud::ALL[0];
    let region = crate::providers::of(cloud).regions().first().copied();
    let mut status = TaskStatus {
        task: TaskRef {
            cloud,
            region: region.unwrap_or_default().into(),
            kind: TaskKind::Export,
            image_id: "simulated".into(),
            task_id: Some("t-simulated".into()),
            destination_region: None,
            destination_image_id: None,
            objects: vec![],
            started_at: start,
            confirmations: 0,
            skipped: false,
        },
        state: TaskState::Running,
        progress: None,
        cloud_state: "Processing".into(),
        reason: None,
        result: None,
    };
    let (mut elapsed, mut checks, mut worst) = (0u64, 0u32, 0u64);
    loop {
        checks += 1;
        if elapsed >= run_seconds {
            return Simulated {
                checks,
                lag_seconds: elapsed - run_seconds,
                worst_lag_seconds: worst,
            };
        }
        status.progress =
            progress.then(|| u8::try_from(elapsed * 100 / run_seconds.max(1)).unwrap_or(99));
        let wait = policy.next_wait(
            std::slice::from_ref(&status),
            clock(elapsed, checks),
            &mut jitter,
        );
        worst = worst.max(wait);
        elapsed += wait;
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
                skipped: false,
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
            deadline_at: 1_000_000 + 30 * 86_400,
            checks,
            // A budget too large for its floor to matter; the budget has tests of its own.
            max_checks: 1_000_000,
        }
    }

    #[test]
    fn progress_lands_the_next_check_at_the_estimated_end_and_never_later_than_the_goal() {
        let policy = WaitPolicy::default();
        let mut jitter = Jitter::seeded(1);
        // 98 % after 4,000 s: about 82 s left, sooner than a twentieth of the age (200 s).
        let wait = policy.next_wait(
            &[status(TaskState::Running, Some(98))],
            clock(4_000, 3),
            &mut jitter,
        );
        assert_eq!(wait, 81);
        // Nearly done: the minimum.
        let wait = policy.next_wait(
            &[status(TaskState::Running, Some(99))],
            clock(100, 3),
            &mut jitter,
        );
        assert_eq!(wait, policy.min_seconds);
        // Early and slow: the estimate (59,400 s) does not lengthen the wait past the goal.
        let wait = policy.next_wait(
            &[status(TaskState::Running, Some(1))],
            clock(600, 3),
            &mut jitter,
        );
        assert!((54..=60).contains(&wait), "{wait}");
    }

    #[test]
    fn without_progress_the_wait_is_a_twentieth_of_the_age_less_some_jitter() {
        let policy = WaitPolicy::default();
        let mut jitter = Jitter::seeded(9);
        for (age, goal) in [
            (10, 60),
            (1_200, 60),
            (3_600, 180),
            (86_400, 3_600),
            (604_800, 3_600),
        ] {
            let waits: Vec<u64> = (0..100)
                .map(|i| {
                    policy.next_wait(
                        &[status(TaskState::Pending, None)],
                        clock(age, i % 8),
                        &mut jitter,
                    )
                })
                .collect();
            assert!(
                waits.iter().all(|w| (goal * 9 / 10..=goal).contains(w)),
                "age {age}: {waits:?}"
            );
            let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
            assert!(distinct.len() > 4, "jittered: {distinct:?}");
        }
    }

    #[test]
    fn a_task_started_late_is_timed_from_its_own_start() {
        let policy = WaitPolicy::default();
        let mut jitter = Jitter::seeded(2);
        let mut young = status(TaskState::Running, None);
        // The job is a day old; the task started 100 s ago: it gets the young task's wait.
        young.task.started_at = 1_000_000 + 86_400 - 100;
        let wait = policy.next_wait(&[young], clock(86_400, 40), &mut jitter);
        assert!((54..=60).contains(&wait), "{wait}");
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

    /// Task run times of the goal, and the most checks each may cost (with and without
    /// progress), by simulation over many jitter seeds.
    const RUNS: [(u64, u32); 5] = [
        (600, 12),
        (3_600, 47),
        (6 * 3_600, 90),
        (86_400, 150),
        (7 * 86_400, 300),
    ];

    #[test]
    fn a_finished_task_is_noticed_within_the_goal_at_the_checks_the_goal_allows() {
        let policy = WaitPolicy::default();
        for (run, most) in RUNS {
            let goal = 60u64.max(run / 20);
            for progress in [false, true] {
                for seed in 1..=20 {
                    let sim = simulate(&policy, run, progress, seed);
                    assert!(
                        sim.checks <= most,
                        "{run} s, progress {progress}, seed {seed}: {sim:?}"
                    );
                    assert!(
                        sim.worst_lag_seconds <= goal && sim.lag_seconds <= goal,
                        "{run} s, progress {progress}, seed {seed}: {sim:?} (goal {goal} s)"
                    );
                }
            }
        }
    }

    #[test]
    fn a_task_that_keeps_its_pace_is_noticed_about_when_it_ends() {
        let policy = WaitPolicy::default();
        for (run, _) in RUNS {
            let sim = simulate(&policy, run, true, 7);
            // The estimate from whole percent is a little long; within a minute or 1 %.
            assert!(sim.lag_seconds <= 60u64.max(run / 100), "{run} s: {sim:?}");
        }
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
    fn an_outage_backs_off_on_its_failures_within_the_goal_and_honours_the_hint() {
        let policy = WaitPolicy::default();
        let mut jitter = Jitter::seeded(4);
        let waits: Vec<u64> = (1..=12)
            .map(|failures| policy.backoff_wait(failures, 0, clock(86_400, 3), &mut jitter))
            .collect();
        assert!(
            waits
                .iter()
                .all(|w| (policy.min_seconds..=policy.max_seconds).contains(w)),
            "{waits:?}"
        );
        assert!(
            waits[..2].iter().all(|w| *w <= 240),
            "starts at base: {waits:?}"
        );
        assert!(waits[8..].iter().any(|w| *w > 1_000), "grows: {waits:?}");
        // A young job's outage stays within its lag goal.
        let young: Vec<u64> = (1..=12)
            .map(|failures| policy.backoff_wait(failures, 0, clock(100, 3), &mut jitter))
            .collect();
        assert!(young.iter().all(|w| *w <= 60), "{young:?}");
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
