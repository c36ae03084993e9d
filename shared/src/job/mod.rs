//! A job: several export or copy requests started together and followed to one result. The
//! state machine carries a job's state between check-status calls; the command line follows
//! it in a loop. Both use [`check_job`], so a job ends the same way wherever it runs.

mod check;
mod spec;
mod state;
mod summary;

pub use check::{CheckMode, MAX_CHECK_FAILURES, check_job};
pub use spec::{
    Job, JobOptions, JobRequests, MAX_CHECKS_LIMIT, MAX_JOB_ID_LENGTH, strip_position,
    validate_job_id,
};
pub use state::{
    CaughtError, CheckInput, JobPhase, JobState, StartEntry, StartErrorRecord, TaskEntry,
    TrackedState, TrackedTask,
};
pub use summary::{ItemSummary, JobSummary, TaskSummary};
