//! Request counts, the highest request rate seen, throttling and tasks created, per action:
//! what tests read back to prove that nothing was started twice and no limit was exceeded.
//! Also the per-action rate limiter, which counts the same arrivals.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use imgflow_shared::Cloud;
use serde::Serialize;

const WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug, Default, Clone, Serialize)]
pub struct ActionStats {
    pub requests: u64,
    /// Requests answered with the cloud's throttling error.
    pub throttled: u64,
    /// The most requests that arrived within any one second.
    pub max_per_second: usize,
    /// Requests the rate limit let through within any one second, at most.
    pub max_accepted_per_second: usize,
}

#[derive(Debug, Default)]
pub struct Stats {
    actions: BTreeMap<String, ActionStats>,
    arrivals: HashMap<String, VecDeque<Instant>>,
    accepted: HashMap<String, VecDeque<Instant>>,
    tasks_created: BTreeMap<String, u64>,
    most_running_exports: BTreeMap<String, usize>,
}

#[derive(Debug, Serialize)]
pub struct StatsSnapshot {
    pub actions: BTreeMap<String, ActionStats>,
    pub tasks_created: BTreeMap<String, u64>,
    /// The most exports that ran at once per `cloud:account`, seen when each started: the
    /// proof that `running_exports_per_account` was never passed.
    pub most_running_exports: BTreeMap<String, usize>,
}

fn key(cloud: Cloud, action: &str) -> String {
    format!("{cloud}:{action}")
}

/// Drops instants older than one second and returns how many remain.
fn slide(window: &mut VecDeque<Instant>, now: Instant) -> usize {
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= WINDOW)
    {
        window.pop_front();
    }
    window.len()
}

impl Stats {
    /// Counts a request and decides whether the rate limit lets it through. `Err` carries
    /// the seconds until the oldest accepted request leaves the window.
    pub fn admit(&mut self, cloud: Cloud, action: &str, limit: u32) -> Result<(), f64> {
        let key = key(cloud, action);
        let now = Instant::now();
        let arrivals = self.arrivals.entry(key.clone()).or_default();
        arrivals.push_back(now);
        let arrived = slide(arrivals, now);
        let accepted = self.accepted.entry(key.clone()).or_default();
        let in_window = slide(accepted, now);
        let stats = self.actions.entry(key).or_default();
        stats.requests += 1;
        stats.max_per_second = stats.max_per_second.max(arrived);
        if in_window >= limit as usize {
            stats.throttled += 1;
            let oldest = accepted.front().copied().unwrap_or(now);
            return Err((WINDOW - now.duration_since(oldest)).as_secs_f64());
        }
        accepted.push_back(now);
        stats.max_accepted_per_second = stats.max_accepted_per_second.max(in_window + 1);
        Ok(())
    }

    /// Counts a request that was throttled by an injected fault.
    pub fn injected_throttle(&mut self, cloud: Cloud, action: &str) {
        self.actions
            .entry(key(cloud, action))
            .or_default()
            .throttled += 1;
    }

    pub fn task_created(&mut self, cloud: Cloud, kind: &str) {
        *self.tasks_created.entry(key(cloud, kind)).or_default() += 1;
    }

    /// Notes how many exports of `cloud` and `account` run now that one more started.
    pub fn exports_running(&mut self, cloud: Cloud, account: &str, running: usize) {
        let most = self
            .most_running_exports
            .entry(format!("{cloud}:{account}"))
            .or_default();
        *most = (*most).max(running);
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            actions: self.actions.clone(),
            tasks_created: self.tasks_created.clone(),
            most_running_exports: self.most_running_exports.clone(),
        }
    }

    pub fn reset(&mut self) {
        *self = Self::default();
    }
}
