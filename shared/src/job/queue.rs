//! Starts that wait behind a cloud's concurrency limit.
//!
//! Clouds cap how many exports (or cross-region copies) run at once per account: Tencent
//! `LimitExceeded.ExportImageTaskLimitExceeded`, Alibaba `ConcurrentQuotaExceed.ExportImage`,
//! Huawei `IMG.0060` (five at once per tenant), Volcengine `QuotaExceeded.ExportImageTask`
//! (each cloud's `errors::CONCURRENCY_LIMITS`). A job of twelve images on such a cloud would
//! otherwise fail seven starts once the state machine's retries ran out, while the first five
//! ran for hours. Instead, a start item answers with what started and what has to wait
//! ([`QueuedStart`]: the concrete request, its item and its window), and every check of the job
//! tries the waiting starts in order, as room frees up:
//!
//! - per cloud, region and kind, the first waiting start is tried; if it starts, the next is
//!   tried, until the cloud refuses one for its limit (the rest keep waiting without a call);
//! - a start tried again looks first for an earlier attempt's task (the same look-before-submit
//!   as the item's start, with the item's window), so a lost check answer never starts a task
//!   twice; a [`StartLedger`] (the check function's start records) is read before and written
//!   after, as the start function does;
//! - throttling, a transient failure or a conflict keeps it waiting (the next check tries again);
//!   any other refusal is the item's start error, with the cloud's code, message and request id;
//! - at the job's deadline (or when its check budget is spent) a start still waiting ends as a
//!   timed-out task "still queued behind the cloud's concurrency limit", with the last refusal.
//!
//! Waiting costs no check of its own: while the job's own tasks run, the checks that follow them
//! also try the queue; when none run, the job backs off between tries (up to the wait policy's
//! longest wait).

use std::future::Future;

use super::state::failure_record;
use super::task::{StartErrorRecord, TrackedState, TrackedTask};
use super::text::capped;
use crate::Cloud;
use crate::client::CloudClient;
use crate::error::{CloudError, ErrorKind};
use crate::error_name::ErrorName;
use crate::model::{CloudReason, QueuedStart, StartFailure, StartOutcome, TaskKind, TaskRef};
use crate::operations::{StartError, keeps_its_place};

/// The error name of a start that was still waiting when the job ended.
pub const STILL_QUEUED: &str = ErrorName::StartStillQueued.as_str();

/// Where a queued start's accepted answer is kept, so that a retried check adopts it instead of
/// asking the cloud again (the functions' start records); [`NoLedger`] keeps nothing.
pub trait StartLedger {
    /// The recorded answer of an earlier attempt of `queued`, if one can be trusted. An error
    /// means nothing may be sent now (the start keeps waiting).
    fn recorded(
        &self,
        job_id: &str,
        queued: &QueuedStart,
    ) -> impl Future<Output = Result<Option<StartOutcome>, CloudError>> + Send;

    /// Keeps the answer of a start the cloud accepted.
    fn record(
        &self,
        job_id: &str,
        queued: &QueuedStart,
        outcome: &StartOutcome,
    ) -> impl Future<Output = ()> + Send;
}

/// No records: the look-before-submit alone (the command line, local runs).
pub struct NoLedger;

impl StartLedger for NoLedger {
    async fn recorded(
        &self,
        _job_id: &str,
        _queued: &QueuedStart,
    ) -> Result<Option<StartOutcome>, CloudError> {
        Ok(None)
    }

    async fn record(&self, _job_id: &str, _queued: &QueuedStart, _outcome: &StartOutcome) {}
}

/// What one pass over the queue did.
#[derive(Debug, Default)]
pub struct QueuePass {
    /// The tasks that started, with their items.
    pub started: Vec<(usize, TaskRef)>,
    /// Starts refused for good.
    pub failed: Vec<StartErrorRecord>,
    /// Still waiting, in order.
    pub waiting: Vec<QueuedStart>,
}

/// Tries the waiting starts in order (see the module's rules) at `now`.
pub async fn start_waiting<L: StartLedger>(
    client: &CloudClient,
    ledger: &L,
    job_id: &str,
    queue: Vec<QueuedStart>,
) -> QueuePass {
    let mut pass = QueuePass::default();
    // Cloud, region and kind whose limit is full for the rest of this pass.
    let mut full: Vec<(Cloud, String, TaskKind)> = Vec::new();
    for mut queued in queue {
        let key = (
            queued.request.cloud(),
            queued.request.region().to_owned(),
            queued.request.kind(),
        );
        if full.contains(&key) {
            pass.waiting.push(queued);
            continue;
        }
        let recorded = match ledger.recorded(job_id, &queued).await {
            Ok(recorded) => recorded,
            Err(error) => {
                queued.error = kept(error);
                full.push(key);
                pass.waiting.push(queued);
                continue;
            }
        };
        let outcome = match recorded {
            Some(outcome) => Ok(outcome),
            None => {
                queued.attempts = queued.attempts.saturating_add(1);
                let outcome = client.start_queued(&queued).await;
                if let Ok(outcome) = &outcome
                    && !outcome.tasks.is_empty()
                {
                    ledger.record(job_id, &queued, outcome).await;
                }
                outcome
            }
        };
        match outcome {
            Ok(outcome) => {
                if !outcome.queued.is_empty() {
                    full.push(key);
                }
                pass.started
                    .extend(outcome.tasks.into_iter().map(|task| (queued.item, task)));
                pass.failed.extend(
                    outcome
                        .failures
                        .into_iter()
                        .map(|failure| failure_record(queued.item, failure)),
                );
                pass.waiting
                    .extend(outcome.queued.into_iter().map(|mut again| {
                        again.attempts = queued.attempts;
                        again.error = kept(again.error);
                        again
                    }));
            }
            Err(StartError::Cloud(error)) if keeps_its_place(&error) => {
                // Throttled or full: asking again in this pass would only be refused again.
                if error.is_concurrency_limit() || error.kind == ErrorKind::Throttled {
                    full.push(key);
                }
                queued.error = kept(error);
                pass.waiting.push(queued);
            }
            Err(StartError::Cloud(error)) => {
                let failure = StartFailure {
                    destination_region: queued.request.destination_regions().first().cloned(),
                    error,
                };
                pass.failed.push(failure_record(queued.item, failure));
            }
            Err(StartError::Invalid(invalid)) => pass.failed.push(StartErrorRecord {
                item: queued.item,
                destination_region: queued.request.destination_regions().first().cloned(),
                error: ErrorName::RequestInvalid.as_str().to_owned(),
                message: capped(&invalid.to_string()),
            }),
        }
    }
    pass
}

/// The refusal as the state keeps it: its message capped.
fn kept(error: CloudError) -> CloudError {
    CloudError {
        message: capped(&error.message),
        ..error
    }
}

/// A start still waiting when the job ends (its deadline or check budget), as a timed-out
/// task of its item, so that the summary and the results name it.
pub fn still_queued(queued: QueuedStart, why: &str, now: u64) -> TrackedTask {
    let request = &queued.request;
    let task = TaskRef {
        cloud: request.cloud(),
        region: request.region().to_owned(),
        kind: request.kind(),
        image_id: request.image_ids().join(","),
        task_id: None,
        destination_region: request.destination_regions().first().cloned(),
        destination_image_id: None,
        objects: Vec::new(),
        started_at: 0,
        confirmations: 0,
        skipped: false,
    };
    let mut tracked = TrackedTask::new(queued.item, task, now);
    tracked.state = TrackedState::TimedOut;
    tracked.finished_at = Some(now);
    // A try whose answer was lost may have started it: never "never started" then.
    let unconfirmed = queued.error.code == crate::idempotence::UNCONFIRMED
        || queued.error.kind == ErrorKind::UnknownOutcome;
    tracked.reason = Some(if unconfirmed {
        CloudReason {
            code: Some(crate::idempotence::UNCONFIRMED.to_owned()),
            message: capped(&format!(
                "may have started (unconfirmed): {why} while its last try could not be confirmed after {} attempts ({})",
                queued.attempts, queued.error
            )),
        }
    } else {
        CloudReason {
            code: Some(STILL_QUEUED.to_owned()),
            message: capped(&format!(
                "never started: {why} while it was still queued behind the cloud's concurrency limit, after {} attempts (last answer: {})",
                queued.attempts, queued.error
            )),
        }
    });
    tracked.check_error = Some(queued.error);
    tracked
}
