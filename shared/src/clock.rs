//! The wall clock. Every reading of the current date and time in imgflow goes through
//! [`now`], so that there is one place to look for what "now" means (and one place to change
//! should it ever need to be fixed or shifted).
//!
//! Not here: [`std::time::Instant`], the monotonic clock that deadlines, pacing and elapsed
//! times are measured on (it has no date and no bearing on what a cloud sees), and the seed
//! of [`Jitter::from_clock`](crate::retry::Jitter::from_clock), which reads the system
//! clock's nanoseconds for entropy, not for the time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The current date and time.
pub fn now() -> SystemTime {
    SystemTime::now()
}

/// The time since the Unix epoch; zero for a clock set before it (no cloud would accept
/// such a time anyway, and the caller's arithmetic stays unsigned).
pub fn since_epoch() -> Duration {
    now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Whole seconds since the Unix epoch, the unit of the job clock and of the signatures.
pub fn unix_seconds() -> u64 {
    since_epoch().as_secs()
}
