//! Two clocks: the wall clock, which signatures are checked against (clients sign with real
//! time), and the cloud clock, which runs `time_scale` times faster and can be advanced, so a
//! two-hour export can finish in two seconds.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug)]
pub struct Clock {
    /// The cloud time (unix seconds) at `anchor`.
    base: f64,
    anchor: Instant,
    time_scale: f64,
}

fn wall_unix_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Clock {
    pub fn new(time_scale: f64) -> Self {
        Self {
            base: wall_unix_f64(),
            anchor: Instant::now(),
            time_scale,
        }
    }

    /// Real unix seconds, for signature time windows.
    pub fn wall_unix(&self) -> u64 {
        wall_unix_f64() as u64
    }

    /// Cloud time in unix seconds: starts at the real time and runs `time_scale` times faster.
    pub fn cloud_now(&self) -> f64 {
        self.base + self.anchor.elapsed().as_secs_f64() * self.time_scale
    }

    pub fn time_scale(&self) -> f64 {
        self.time_scale
    }

    /// Changes the speed from now on; the cloud clock stays continuous.
    pub fn set_time_scale(&mut self, time_scale: f64) {
        self.base = self.cloud_now();
        self.anchor = Instant::now();
        self.time_scale = time_scale;
    }

    /// Moves the cloud clock forward by `seconds`.
    pub fn advance(&mut self, seconds: f64) {
        self.base += seconds.max(0.0);
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a unix time, as most of the clouds print times.
pub fn iso8601(unix: f64) -> String {
    imgflow_shared::signing::Timestamp::from_unix_seconds(unix.max(0.0) as u64).extended_iso8601()
}
