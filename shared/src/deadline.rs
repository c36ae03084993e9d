//! The time an invocation has left. A Lambda function must answer before its timeout, or its
//! work is lost (`Sandbox.Timedout`): an accepted start is orphaned, a check learns nothing.
//! The function sets the deadline once per invocation ([`within`]); the transport bounds every
//! request by it and the client stops retrying when the next attempt could not finish.
//! Outside a deadline (the command line, most tests) time is unbounded.

use std::future::Future;
use std::time::{Duration, Instant};

/// Kept back from the deadline for the caller to shape and return its answer.
pub const RESERVE: Duration = Duration::from_secs(3);

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `work` with `deadline` as its limit. A nested call can only shorten the limit.
pub async fn within<F: Future>(deadline: Instant, work: F) -> F::Output {
    let deadline = match DEADLINE.try_with(|outer| *outer) {
        Ok(outer) => outer.min(deadline),
        Err(_) => deadline,
    };
    DEADLINE.scope(deadline, work).await
}

/// The time left for work before the deadline (after [`RESERVE`]), `None` without a deadline.
pub fn remaining() -> Option<Duration> {
    DEADLINE
        .try_with(|deadline| {
            deadline
                .saturating_duration_since(Instant::now())
                .saturating_sub(RESERVE)
        })
        .ok()
}

/// Whether a piece of work that needs `needed` still fits before the deadline.
pub fn allows(needed: Duration) -> bool {
    remaining().is_none_or(|left| left >= needed)
}

/// A Lambda deadline is never further in the past than this: an invocation is handed over
/// well before its deadline, and no timeout exceeds 15 minutes.
const NO_EPOCH_DEADLINE: u64 = 86_400_000;

/// The deadline of a Lambda invocation, given in milliseconds since the epoch, as an instant
/// of this process's monotonic clock; `None` for no deadline.
///
/// A value more than a day before `now` is no deadline Lambda sends: `cargo lambda watch`
/// 1.9 sends the function's timeout instead (`Lambda-Runtime-Deadline-Ms: 600000`), which
/// read as an epoch time left every invocation 0 ms. It is read as that many milliseconds
/// from now (`None` when it is 0). A real deadline just passed stays passed.
pub fn from_epoch_millis(deadline_ms: u64, now: std::time::SystemTime) -> Option<Instant> {
    let now_ms = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    if now_ms.saturating_sub(deadline_ms) > NO_EPOCH_DEADLINE {
        return (deadline_ms > 0).then(|| Instant::now() + Duration::from_millis(deadline_ms));
    }
    Some(Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_a_deadline_time_is_unbounded() {
        assert_eq!(remaining(), None);
        assert!(allows(Duration::from_secs(10_000)));
    }

    #[tokio::test]
    async fn a_deadline_leaves_the_reserve_and_nesting_only_shortens_it() {
        let far = Instant::now() + Duration::from_secs(60);
        within(far, async {
            let left = remaining().expect("a deadline is set");
            assert!(left <= Duration::from_secs(57), "{left:?}");
            assert!(left > Duration::from_secs(50), "{left:?}");
            within(Instant::now() + Duration::from_secs(600), async {
                assert!(remaining().expect("set") <= Duration::from_secs(57));
            })
            .await;
            within(Instant::now() + Duration::from_secs(10), async {
                assert!(remaining().expect("set") <= Duration::from_secs(7));
                assert!(!allows(Duration::from_secs(8)));
            })
            .await;
        })
        .await;
        let past = Instant::now();
        within(past, async {
            assert_eq!(remaining(), Some(Duration::ZERO))
        })
        .await;
    }

    #[test]
    fn an_epoch_deadline_becomes_an_instant() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_000);
        let deadline = from_epoch_millis(1_000_000 + 30_000, now).expect("ahead");
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(left <= Duration::from_secs(30) && left > Duration::from_secs(29));
        let gone = from_epoch_millis(500, now).expect("a deadline just passed");
        assert!(gone <= Instant::now());
        assert_eq!(from_epoch_millis(0, crate::clock::now()), None);
    }

    #[test]
    fn a_timeout_sent_as_the_deadline_counts_from_now() {
        // cargo lambda watch 1.9.2 sends `Lambda-Runtime-Deadline-Ms: 600000` (seen in the soak
        // benchmark, tests/e2e/soak.py): read as an epoch time it was 56 years gone, and every
        // invocation failed with "0 ms left" before sending anything.
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_796_400_000);
        let deadline = from_epoch_millis(600_000, now).expect("a timeout");
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            left <= Duration::from_secs(600) && left > Duration::from_secs(599),
            "{left:?}"
        );
        // A real deadline just passed stays passed.
        let passed = from_epoch_millis(1_796_400_000_000 - 2_000, now).expect("passed");
        assert!(passed <= Instant::now());
    }
}
