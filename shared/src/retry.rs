//! Backoff for throttled and transient failures: capped exponential with full jitter, never
//! shorter than what the cloud asked for. Also the pacing that keeps each cloud action below
//! its documented request rate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::Cloud;

/// The longest wait a cloud's retry-after hint can impose on one retry.
const MAX_HINT: Duration = Duration::from_secs(60);

/// How often and how long to retry a request that failed in a retryable way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (`attempt` counts from 1): a uniform draw from
    /// `[0, min(cap, base * 2^(attempt-1))]` ("full jitter"), raised to the cloud's hint.
    pub fn delay(&self, attempt: u32, hint: Option<Duration>, jitter: &mut Jitter) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let ceiling = self.base.saturating_mul(1 << exponent).min(self.cap);
        let drawn = ceiling.mul_f64(jitter.unit());
        hint.map_or(drawn, |hint| drawn.max(hint.min(MAX_HINT)))
    }
}

/// A small xorshift generator: jitter needs spread, not cryptographic randomness, and this
/// keeps a dependency out.
#[derive(Clone, Debug)]
pub struct Jitter(u64);

impl Jitter {
    pub fn seeded(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn from_clock() -> Self {
        // The system clock's nanoseconds serve as entropy here, not as the time, so this
        // reads it directly rather than through `crate::clock`: a clock fixed there (for a
        // replay, say) must not make every process draw the same delays.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Self::seeded(nanos ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Requests per second each action may be sent at: the documented limits where a cloud
/// documents one, lowered by a fifth for headroom; a conservative default elsewhere.
pub fn paced_rate(cloud: Cloud, action: &str) -> f64 {
    let documented = crate::providers::of(cloud)
        .documented_rate(action)
        .unwrap_or(10.0);
    documented * 0.8
}

/// Spaces requests per (cloud, action) so that none goes out faster than [`paced_rate`].
#[derive(Debug, Default)]
pub struct Pacer {
    next_slot: Mutex<HashMap<(Cloud, String), Instant>>,
}

impl Pacer {
    /// How long to wait before sending `action` now; reserves the slot.
    pub fn reserve(&self, cloud: Cloud, action: &str) -> Duration {
        let interval = Duration::from_secs_f64(1.0 / paced_rate(cloud, action));
        let now = Instant::now();
        let mut slots = self
            .next_slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let slot = slots.entry((cloud, action.to_owned())).or_insert(now);
        let start = (*slot).max(now);
        *slot = start + interval;
        start - now
    }

    /// Waits for this request's slot.
    pub async fn wait(&self, cloud: Cloud, action: &str) {
        let delay = self.reserve(cloud, action);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_under_the_growing_ceiling_and_honour_hints() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        let mut jitter = Jitter::seeded(7);
        for attempt in 1..=8 {
            let ceiling =
                Duration::from_millis(100 * (1 << (attempt - 1))).min(Duration::from_secs(1));
            for _ in 0..100 {
                assert!(policy.delay(attempt, None, &mut jitter) <= ceiling);
            }
        }
        let hinted = policy.delay(1, Some(Duration::from_secs(3)), &mut jitter);
        assert_eq!(
            hinted,
            Duration::from_secs(3),
            "a cloud's retry-after wins over the jitter"
        );
    }

    #[test]
    fn jitter_spreads_over_the_unit_interval() {
        let mut jitter = Jitter::seeded(42);
        let draws: Vec<f64> = (0..1000).map(|_| jitter.unit()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let low = draws.iter().filter(|d| **d < 0.5).count();
        assert!((400..600).contains(&low), "{low} of 1000 below one half");
    }

    #[test]
    fn the_pacer_spaces_requests_of_one_action_only() {
        let pacer = Pacer::default();
        assert_eq!(pacer.reserve(Cloud::Tencent, "SyncImages"), Duration::ZERO);
        let second = pacer.reserve(Cloud::Tencent, "SyncImages");
        let interval = Duration::from_secs_f64(1.0 / 8.0);
        assert!(
            second > interval - Duration::from_millis(5) && second <= interval,
            "{second:?}"
        );
        assert_eq!(
            pacer.reserve(Cloud::Tencent, "ExportImages"),
            Duration::ZERO
        );
    }
}
