//! Limits of one execution that modules outside the job read too (a selector's largest
//! `max_images`, the wait policy's default budget). They live here, below both, so that
//! neither imports the other; [`crate::job`] re-exports them.

/// At most this many tasks per job (images of a Tencent export, destination regions of a
/// copy): a finished export of two disks with long names takes about 1.5 KiB of the job's
/// state and summary, so 100 stay near 150 KiB, under the 256 KiB a state may hold.
pub const MAX_TASKS: usize = 100;
/// The most checks a job may make: what the history holds (checked in job/spec.rs) after the start Map of the largest
/// job with every start retried to the end, with room left for about 250 retried checks.
pub const MAX_CHECKS_LIMIT: u32 = 2_000;
