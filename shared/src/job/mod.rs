//! A job: several export or copy requests started together and followed to one result. The
//! state machine carries a job's state between check-status calls; the command line follows
//! it in a loop. Both use [`check_job`], so a job ends the same way wherever it runs.

mod check;
mod chunk;
pub mod plan;
pub mod queue;
mod spec;
mod state;
mod summary;
mod task;
mod text;

pub use check::{CheckMode, check_job, check_job_with};
pub use spec::{
    EVENTS_PER_CHECK, HISTORY_EVENT_LIMIT, Job, JobOptions, JobRequests, MAX_CHECKS_LIMIT,
    MAX_CHUNKS_AT_ONCE, MAX_DEADLINE_SECONDS, MAX_JOB_ID_LENGTH, MAX_JOB_REQUESTS, MAX_JOB_TASKS,
    MAX_REQUESTS, MAX_TASKS, strip_position, validate_job_id,
};
pub use state::{
    CHECKS_PER_LAMBDA_OUTAGE, CaughtError, CheckInput, EVENTS_PER_LAMBDA_OUTAGE, JobState,
    LambdaOutages, STATE_BYTES_LIMIT, StartEntry, TaskEntry,
};
pub use summary::{ItemSummary, JobSummary, ResultsLocation, TaskSummary};
pub use task::{JobPhase, StartErrorRecord, TrackedState, TrackedTask};
pub use text::{MAX_MESSAGE_CHARS, capped};
