//! A job larger than one execution, split into chunks, and the chunks' results summed up.
//!
//! One execution holds at most [`MAX_REQUESTS`] starts and [`MAX_TASKS`] tasks (its state
//! must fit in 256 KiB, its history in 25,000 events). The state machine's Distributed Map
//! runs each chunk of [`plan`] as a child execution of the start → wait → check loop; each
//! child writes its per-task results as JSON Lines to the jobs bucket
//! ([`chunk_answer`]) and answers with its counts ([`ChunkResult`]); [`summarize`] adds them
//! up into the job's summary, which is the parent's output and completion event.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::check::{MAX_REASON_LINES, capped};
use super::spec::{Job, JobOptions, JobRequests, MAX_REQUESTS, MAX_TASKS};
use super::state::{CaughtError, JobPhase, JobState, STATE_BYTES_LIMIT, TrackedState};
use super::summary::{ItemSummary, JobSummary, ResultsLocation};
use crate::Cloud;
use crate::error::ValidationError;
use crate::model::TaskKind;

/// The most chunks of one job: the Distributed Map's output (one [`ChunkResult`] of about
/// 500 B per chunk) must fit in the parent's state.
pub const MAX_CHUNKS: usize = 400;

/// What a child execution knows of its place in the job (carried in its state).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef {
    /// The chunk's position in the plan (0-based).
    pub index: usize,
    /// How many chunks the job has.
    pub count: usize,
    pub cloud: Cloud,
    pub region: String,
    /// The indexes in the job's `requests` of this chunk's requests, in order: the child's
    /// start Map numbers its items with them, so every task keeps its job-wide item.
    pub items: Vec<usize>,
    /// The most tasks the chunk's requests may start.
    pub tasks: usize,
    /// The parent execution's name: results go under `results/<job_id>/<execution>/`.
    pub execution: String,
    /// Whether the chunk's answer carries its per-item summary (a job of one chunk: its
    /// output looks as it did before jobs were split).
    #[serde(default)]
    pub keep_items: bool,
}

impl ChunkRef {
    /// Where this chunk's JSON Lines go in the jobs bucket.
    pub fn results_key(&self, job_id: &str) -> String {
        format!(
            "{}{:05}.jsonl",
            results_prefix(job_id, &self.execution),
            self.index
        )
    }
}

/// The folder of a job's results in the jobs bucket.
pub fn results_prefix(job_id: &str, execution: &str) -> String {
    format!("results/{job_id}/{execution}/")
}

/// One item of the parent's Distributed Map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedChunk {
    pub chunk: ChunkRef,
    /// The chunk's requests, as the job gave them (validated).
    pub requests: Vec<Value>,
}

/// The parent's state after planning: the job without its requests, and its chunks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub job_id: String,
    pub kind: TaskKind,
    pub options: JobOptions,
    pub execution: String,
    /// When the job was planned (unix seconds): its start.
    pub planned_at: u64,
    pub tasks_total: usize,
    /// Each chunk's most tasks, in plan order: the Distributed Map's output replaces
    /// `chunks`, and a chunk that left no answer is counted from this.
    pub chunk_tasks: Vec<usize>,
    /// How many chunks run at once (`options.chunks_at_once`, at most the chunk count).
    pub chunks_at_once: u32,
    pub chunks: Vec<PlannedChunk>,
}

/// Splits `job` into chunks: each one cloud and region (so every check is one batched call
/// per chunk), at most [`MAX_TASKS`] tasks and [`MAX_REQUESTS`] requests (one execution's
/// limits), requests whole and in the job's order within a chunk. The chunks of different
/// clouds and regions are interleaved, so the first `chunks_at_once` running together spread
/// over the clouds instead of piling on one cloud's limits.
pub fn plan(job: &Job, execution: &str, now: u64) -> Result<Plan, ValidationError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if execution.is_empty() || execution.len() > 80 || !execution.chars().all(allowed) {
        return Err(ValidationError::new(
            "execution",
            "must be an execution name: 1 to 80 of A-Z, a-z, 0-9, `-`, `_` and `.`",
        ));
    }
    let requests: Vec<(Cloud, String, usize, Value)> = match &job.requests {
        JobRequests::Export(r) => r
            .iter()
            .map(|r| {
                (
                    r.cloud(),
                    r.region().to_owned(),
                    r.task_count(),
                    serde_json::to_value(r),
                )
            })
            .map(|(c, g, n, v)| (c, g, n, v.unwrap_or(Value::Null)))
            .collect(),
        JobRequests::Sync(r) => r
            .iter()
            .map(|r| {
                (
                    r.cloud(),
                    r.region().to_owned(),
                    r.task_count(),
                    serde_json::to_value(r),
                )
            })
            .map(|(c, g, n, v)| (c, g, n, v.unwrap_or(Value::Null)))
            .collect(),
    };
    // Per cloud and region, in the job's order.
    let mut groups: BTreeMap<(Cloud, String), Vec<Vec<usize>>> = BTreeMap::new();
    let mut order: Vec<(Cloud, String)> = Vec::new();
    for (index, (cloud, region, count, _)) in requests.iter().enumerate() {
        let key = (*cloud, region.clone());
        let chunks = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            Vec::new()
        });
        let fits = chunks.last().is_some_and(|chunk| {
            let tasks: usize = chunk.iter().map(|i| requests[*i].2).sum();
            chunk.len() < MAX_REQUESTS && tasks + count <= MAX_TASKS
        });
        match chunks.last_mut() {
            Some(chunk) if fits => chunk.push(index),
            _ => chunks.push(vec![index]),
        }
    }
    // Round robin over the groups, in the order they first appear in the job.
    let mut queues: Vec<std::collections::VecDeque<Vec<usize>>> = order
        .iter()
        .map(|key| groups.remove(key).unwrap_or_default().into())
        .collect();
    let mut ordered: Vec<Vec<usize>> = Vec::new();
    while queues.iter().any(|q| !q.is_empty()) {
        for queue in &mut queues {
            if let Some(chunk) = queue.pop_front() {
                ordered.push(chunk);
            }
        }
    }
    let count = ordered.len();
    if count > MAX_CHUNKS {
        return Err(ValidationError::new(
            "requests",
            format!(
                "would run in {count} chunks (one cloud and region, at most {MAX_TASKS} tasks \
                 each); a job runs in at most {MAX_CHUNKS}: put more images in each region's \
                 requests or split the job"
            ),
        ));
    }
    let chunks: Vec<PlannedChunk> = ordered
        .into_iter()
        .enumerate()
        .map(|(index, items)| {
            let first = &requests[items[0]];
            PlannedChunk {
                chunk: ChunkRef {
                    index,
                    count,
                    cloud: first.0,
                    region: first.1.clone(),
                    tasks: items.iter().map(|i| requests[*i].2).sum(),
                    execution: execution.to_owned(),
                    keep_items: count == 1,
                    items: items.clone(),
                },
                requests: items.iter().map(|i| requests[*i].3.clone()).collect(),
            }
        })
        .collect();
    let plan = Plan {
        job_id: job.job_id.clone(),
        kind: job.kind(),
        options: job.options,
        execution: execution.to_owned(),
        planned_at: now,
        tasks_total: requests.iter().map(|r| r.2).sum(),
        chunk_tasks: chunks.iter().map(|c| c.chunk.tasks).collect(),
        chunks_at_once: job
            .options
            .chunks_at_once
            .min(u32::try_from(count).unwrap_or(u32::MAX))
            .max(1),
        chunks,
    };
    let bytes = serde_json::to_vec(&plan).map_or(usize::MAX, |b| b.len());
    if bytes > STATE_BYTES_LIMIT {
        return Err(ValidationError::new(
            "requests",
            format!(
                "the planned job takes {bytes} B, past the {STATE_BYTES_LIMIT} B a state may hold: \
                 name images by selector (select) or split the job"
            ),
        ));
    }
    Ok(plan)
}

/// A child execution's answer once its chunk has ended, with its results written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChunkResult {
    pub chunk: usize,
    pub cloud: Cloud,
    pub region: String,
    pub state: JobPhase,
    pub reason: Option<String>,
    pub checks: u32,
    pub started_at: u64,
    pub finished_at: u64,
    pub tasks_total: usize,
    pub tasks_succeeded: usize,
    pub tasks_failed: usize,
    pub tasks_timed_out: usize,
    /// Requests (or destination regions) that did not start.
    pub start_errors: usize,
    pub results_key: String,
    /// The per-item summary, for a job of one chunk.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ItemSummary>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub details_omitted: usize,
    /// The results could not be written (the S3 call's error, caught in the child).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results_error: Option<CaughtError>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A child execution that ended without results: its start Map or a check failed for good,
/// and the child's Catch recorded the error.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct FailedChunk {
    pub chunk: ChunkRef,
    pub error: CaughtError,
}

/// One entry of the Distributed Map's output.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ChunkOutcome {
    Done(Box<ChunkResult>),
    Failed(Box<FailedChunk>),
    /// No answer (a child that failed outside its Catch). Counted against the plan.
    Missing(Value),
}

/// check-status's final answer for a chunk: the state the child's loop reads (`state`,
/// `reason`), its answer to the parent (`chunk_result`) and the JSON Lines the child writes
/// to `results_key`: one line per task (the task's summary with `job_id` and `item`), one
/// per request or destination that did not start.
pub fn chunk_answer(state: &JobState, chunk: &ChunkRef) -> Value {
    let summary = &state.summary;
    let mut lines = String::new();
    let mut push = |line: Value| {
        lines.push_str(&line.to_string());
        lines.push('\n');
    };
    let (mut failed, mut timed_out, mut start_errors) = (0, 0, 0);
    for item in &summary.items {
        for task in &item.tasks {
            match task.state {
                TrackedState::Failed | TrackedState::Stalled => failed += 1,
                TrackedState::TimedOut => timed_out += 1,
                _ => {}
            }
            let mut line = json!({"job_id": state.job_id, "item": item.item});
            if let (Some(fields), Ok(Value::Object(task))) =
                (line.as_object_mut(), serde_json::to_value(task))
            {
                fields.extend(task);
            }
            push(line);
        }
        for error in &item.start_errors {
            start_errors += 1;
            push(json!({
                "job_id": state.job_id,
                "item": item.item,
                "cloud": chunk.cloud,
                "region": chunk.region,
                "destination_region": error.destination_region,
                "state": "not_started",
                "error": error.error,
                "message": error.message,
            }));
        }
    }
    let results_key = chunk.results_key(&state.job_id);
    let mut result = ChunkResult {
        chunk: chunk.index,
        cloud: chunk.cloud,
        region: chunk.region.clone(),
        state: state.state,
        // A job of one chunk keeps its reason whole (it is the job's); the parent of many
        // keeps each chunk's first words, the rest is in the results.
        reason: if chunk.keep_items {
            state.reason.clone()
        } else {
            state.reason.as_deref().map(capped)
        },
        checks: state.checks,
        started_at: state.started_at,
        finished_at: summary.finished_at,
        tasks_total: summary.tasks_total,
        tasks_succeeded: summary.tasks_succeeded,
        tasks_failed: failed,
        tasks_timed_out: timed_out,
        start_errors,
        results_key: results_key.clone(),
        items: if chunk.keep_items {
            summary.items.clone()
        } else {
            Vec::new()
        },
        details_omitted: summary.details_omitted,
        results_error: None,
    };
    let answer = |result: &ChunkResult| {
        json!({
            "job_id": state.job_id,
            "state": state.state,
            "reason": state.reason,
            "chunk_result": result,
            "results_key": results_key,
            "results_jsonl": lines,
        })
    };
    let mut document = answer(&result);
    if serde_json::to_vec(&document).map_or(usize::MAX, |b| b.len()) > STATE_BYTES_LIMIT {
        result.details_omitted += result.items.len();
        result.items.clear();
        document = answer(&result);
    }
    document
}

/// What the parent's Summarize state sends: the plan's facts and the Map's output.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SummarizeInput {
    pub job_id: String,
    #[serde(default)]
    pub kind: Option<TaskKind>,
    pub execution: String,
    pub planned_at: u64,
    /// Each chunk's most tasks, in plan order (to count a chunk that left no answer).
    pub chunk_tasks: Vec<usize>,
    #[serde(default)]
    pub bucket: Option<String>,
    pub results: Vec<ChunkOutcome>,
}

/// The job's end from its chunks' answers: the counts summed, the state (succeeded only if
/// every chunk did; partial if some tasks succeeded and others did not; failed or timed out
/// if none succeeded), the reasons of the chunks that did not succeed, the number of checks
/// (all chunks'), the duration from the plan to the last chunk's end, and where the
/// per-task results lie. Returns the document the state machine's Notify and Outcome read
/// (`state`, `reason`, `summary`).
pub fn summarize(input: SummarizeInput, now: u64) -> Value {
    let mut summary = JobSummary {
        job_id: input.job_id.clone(),
        kind: input.kind,
        started_at: input.planned_at,
        ..JobSummary::default()
    };
    let (mut failed, mut timed_out, mut start_errors) = (0usize, 0usize, 0usize);
    let mut states: Vec<JobPhase> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    let mut finished_at = input.planned_at;
    let mut keys = 0usize;
    let count = input.chunk_tasks.len().max(input.results.len());
    for position in 0..count {
        let planned = input.chunk_tasks.get(position).copied().unwrap_or(0);
        match input.results.get(position) {
            Some(ChunkOutcome::Done(result)) => {
                summary.checks = summary.checks.saturating_add(result.checks);
                summary.tasks_total += result.tasks_total;
                summary.tasks_succeeded += result.tasks_succeeded;
                failed += result.tasks_failed;
                timed_out += result.tasks_timed_out;
                start_errors += result.start_errors;
                finished_at = finished_at.max(result.finished_at);
                states.push(result.state);
                summary.items.extend(result.items.iter().cloned());
                summary.details_omitted += result.details_omitted;
                if let Some(reason) = &result.reason {
                    reasons.push(chunk_line(result.chunk, result.cloud, &result.region, reason));
                }
                match &result.results_error {
                    None => keys += 1,
                    Some(error) => reasons.push(format!(
                        "chunk {}: its results could not be written ({}: {})",
                        result.chunk,
                        error.error,
                        error.message()
                    )),
                }
            }
            Some(ChunkOutcome::Failed(chunk)) => {
                summary.tasks_total += chunk.chunk.tasks;
                failed += chunk.chunk.tasks;
                states.push(JobPhase::Failed);
                let reason = format!("{}: {}", chunk.error.error, chunk.error.message());
                reasons.push(chunk_line(
                    chunk.chunk.index,
                    chunk.chunk.cloud,
                    &chunk.chunk.region,
                    &reason,
                ));
            }
            Some(ChunkOutcome::Missing(_)) | None => {
                summary.tasks_total += planned;
                failed += planned;
                states.push(JobPhase::Failed);
                reasons.push(format!(
                    "chunk {position}: its child execution ended without an answer"
                ));
            }
        }
    }
    let state = job_phase(&states);
    let reason = match (count, reasons.len()) {
        (_, 0) => None,
        // One chunk: its own reason, word for word.
        (1, _) => input
            .results
            .first()
            .and_then(|r| match r {
                ChunkOutcome::Done(r) if r.results_error.is_none() => r.reason.clone(),
                _ => None,
            })
            .or_else(|| Some(reasons.join("\n"))),
        (_, n) => {
            let mut lines: Vec<String> = reasons.into_iter().take(MAX_REASON_LINES).collect();
            if n > MAX_REASON_LINES {
                lines.push(format!(
                    "… and {} more (see the results)",
                    n - MAX_REASON_LINES
                ));
            }
            Some(lines.join("\n"))
        }
    };
    summary.state = state;
    summary.reason = reason.clone();
    let answered = input
        .results
        .iter()
        .any(|r| matches!(r, ChunkOutcome::Done(_)));
    summary.finished_at = if answered { finished_at } else { now.max(finished_at) };
    summary.duration_seconds = summary.finished_at.saturating_sub(input.planned_at);
    summary.tasks_failed = Some(failed);
    summary.tasks_timed_out = Some(timed_out);
    summary.start_errors = Some(start_errors);
    summary.chunks = Some(count);
    summary.results = input.bucket.map(|bucket| ResultsLocation {
        bucket,
        prefix: results_prefix(&input.job_id, &input.execution),
        files: keys,
    });
    json!({
        "job_id": input.job_id,
        "kind": input.kind,
        "state": state,
        "reason": reason,
        "wait_seconds": 0,
        "summary": summary,
    })
}

fn chunk_line(chunk: usize, cloud: Cloud, region: &str, reason: &str) -> String {
    capped(&format!("chunk {chunk} ({cloud} {region}): {reason}"))
}

/// The job's phase from its chunks' phases.
pub fn job_phase(states: &[JobPhase]) -> JobPhase {
    let any = |p: JobPhase| states.contains(&p);
    let all_succeeded = !states.is_empty() && states.iter().all(|s| *s == JobPhase::Succeeded);
    if all_succeeded {
        JobPhase::Succeeded
    } else if any(JobPhase::Succeeded) || any(JobPhase::Partial) {
        JobPhase::Partial
    } else if any(JobPhase::Failed) || states.is_empty() {
        JobPhase::Failed
    } else {
        JobPhase::TimedOut
    }
}
