//! Checks and detection lag of the wait policy for tasks of 10 minutes to 7 days, with and
//! without progress reports, on a simulated clock (no wall clock, no network):
//!
//!     cargo run -p imgflow-shared --example wait_simulation [-- SEEDS]
//!
//! Each row is the mean and the largest over SEEDS jitter seeds (20 by default) of
//! `imgflow_shared::wait::simulate` with the default options: checks from the first to the one
//! that sees the task finished; the lag of that check after the task's end; and the worst
//! lag, the longest wait before the end (what the lag would have been had the task finished
//! just after a check). The goal is max(60 s, 5 % of the run time).

use imgflow_shared::wait::{WaitPolicy, simulate};

fn main() {
    let seeds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(20);
    let policy = WaitPolicy::default();
    println!(
        "{:<8} {:<9} {:>12} {:>11} {:>10} {:>15} {:>8}",
        "task", "progress", "checks mean", "checks max", "lag max s", "worst lag max s", "goal s"
    );
    for (name, run) in [
        ("10 min", 600u64),
        ("1 h", 3_600),
        ("6 h", 6 * 3_600),
        ("24 h", 86_400),
        ("7 days", 7 * 86_400),
    ] {
        for progress in [false, true] {
            let runs: Vec<_> = (1..=seeds)
                .map(|seed| simulate(&policy, run, progress, seed))
                .collect();
            let mean = runs.iter().map(|r| f64::from(r.checks)).sum::<f64>() / seeds as f64;
            let most = runs.iter().map(|r| r.checks).max().unwrap_or(0);
            let lag = runs.iter().map(|r| r.lag_seconds).max().unwrap_or(0);
            let worst = runs.iter().map(|r| r.worst_lag_seconds).max().unwrap_or(0);
            println!(
                "{:<8} {:<9} {:>12.1} {:>11} {:>10} {:>15} {:>8}",
                name,
                if progress { "yes" } else { "no" },
                mean,
                most,
                lag,
                worst,
                60u64.max(run / 20)
            );
        }
    }
}
