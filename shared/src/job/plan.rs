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

pub use super::chunk::{ChunkRef, results_prefix};
use super::spec::{Job, JobOptions, JobRequests, MAX_REQUESTS, MAX_TASKS};
use super::state::{CaughtError, JobState, STATE_BYTES_LIMIT};
use super::summary::{ItemSummary, JobSummary, ResultsLocation};
use super::task::{JobPhase, TrackedState};
use super::text::{MAX_REASON_LINES, capped};
use crate::Cloud;
use crate::error::ValidationError;
use crate::model::TaskKind;

/// The most chunks of one job: the Distributed Map's output (one [`ChunkResult`] of about
/// 500 B per chunk) must fit in the parent's state.
pub const MAX_CHUNKS: usize = 400;

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

/// Splits `job` into chunks. A job that fits one execution ([`MAX_TASKS`], [`MAX_REQUESTS`])
/// is one chunk, so it runs, answers and ends as such jobs always have. A larger one is split
/// per cloud and region (so every check is one batched call per chunk), at most
/// [`MAX_TASKS`] tasks and [`MAX_REQUESTS`] requests a chunk, requests whole and in the
/// job's order within a chunk. The chunks of different clouds and regions are interleaved,
/// so the first `chunks_at_once` running together spread over the clouds instead of piling
/// on one cloud's limits.
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
        JobRequests::Copy(r) => r
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
    let total: usize = requests.iter().map(|r| r.2).sum();
    let one = total <= MAX_TASKS && requests.len() <= MAX_REQUESTS;
    if one {
        groups.clear();
        order.clear();
        let key = (requests[0].0, requests[0].1.clone());
        groups.insert(key.clone(), vec![(0..requests.len()).collect()]);
        order.push(key);
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
            let place = !one
                || items
                    .iter()
                    .all(|i| (requests[*i].0, &requests[*i].1) == (first.0, &first.1));
            PlannedChunk {
                chunk: ChunkRef {
                    index,
                    count,
                    cloud: place.then_some(first.0),
                    region: place.then(|| first.1.clone()),
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
        tasks_total: total,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<Cloud>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub state: JobPhase,
    pub reason: Option<String>,
    pub checks: u32,
    pub started_at: u64,
    pub finished_at: u64,
    pub tasks_total: usize,
    pub tasks_succeeded: usize,
    /// Of the succeeded, those `skip_existing` found already done.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tasks_skipped: usize,
    pub tasks_failed: usize,
    pub tasks_timed_out: usize,
    /// Requests (or destination regions) that did not start.
    pub start_errors: usize,
    pub results_key: String,
    /// The per-item summary, for a job of one chunk.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ItemSummary>,
    /// What the chunk's selectors matched, for a job of one chunk (a chunk of a larger job
    /// writes them to its results as `"state": "selected"` lines).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub selections: Vec<crate::select::Selection>,
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
    for selection in &summary.selections {
        push(json!({
            "job_id": state.job_id,
            "item": selection.item,
            "cloud": chunk.cloud,
            "region": chunk.region,
            "state": "selected",
            "images": selection.images,
        }));
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
        tasks_skipped: summary.tasks_skipped,
        tasks_failed: failed,
        tasks_timed_out: timed_out,
        start_errors,
        results_key: results_key.clone(),
        items: if chunk.keep_items {
            summary.items.clone()
        } else {
            Vec::new()
        },
        selections: if chunk.keep_items {
            summary.selections.clone()
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
        result.selections.clear();
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
                summary.tasks_skipped += result.tasks_skipped;
                summary.selections.extend(result.selections.iter().cloned());
                failed += result.tasks_failed;
                timed_out += result.tasks_timed_out;
                start_errors += result.start_errors;
                finished_at = finished_at.max(result.finished_at);
                states.push(result.state);
                summary.items.extend(result.items.iter().cloned());
                summary.details_omitted += result.details_omitted;
                if let Some(reason) = &result.reason {
                    reasons.push(chunk_line(
                        result.chunk,
                        result.cloud,
                        result.region.as_deref(),
                        reason,
                    ));
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
                    chunk.chunk.region.as_deref(),
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
    summary.finished_at = if answered {
        finished_at
    } else {
        now.max(finished_at)
    };
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

fn chunk_line(chunk: usize, cloud: Option<Cloud>, region: Option<&str>, reason: &str) -> String {
    match (cloud, region) {
        (Some(cloud), Some(region)) => {
            capped(&format!("chunk {chunk} ({cloud} {region}): {reason}"))
        }
        _ => capped(&format!("chunk {chunk}: {reason}")),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_name::ErrorName;
    use crate::job::spec::MAX_JOB_TASKS;
    use crate::job::summary::TaskSummary;
    use crate::job::task::StartErrorRecord;
    use crate::model::{ExportedObject, TaskResult};

    fn alibaba(n: usize, region: &str) -> Value {
        json!({"cloud": "alibaba", "region": region, "image_id": format!("m-bp1{n:018}"),
               "bucket": "imgflow-oss-backup", "prefix": format!("p{n}"), "format": "qcow2"})
    }

    fn tencent(first: usize, images: usize) -> Value {
        json!({"cloud": "tencent", "region": "ap-guangzhou", "bucket": "b-1250000000",
               "format": "QCOW2",
               "image_ids": (first..first + images).map(|i| format!("img-{i:08}")).collect::<Vec<_>>()})
    }

    fn job(requests: Vec<Value>, options: Value) -> Job {
        Job::parse(
            &json!({"job_id": "big", "kind": "export", "requests": requests, "options": options}),
            None,
        )
        .expect("a valid job")
    }

    /// A job that fits one execution is one chunk whatever its clouds: it answers as before.
    #[test]
    fn a_small_job_of_several_clouds_is_one_chunk() {
        let job = job(
            vec![
                alibaba(1, "cn-hangzhou"),
                tencent(0, 2),
                alibaba(2, "cn-shanghai"),
            ],
            json!({}),
        );
        let plan = plan(&job, "e", 0).expect("plans");
        assert_eq!(plan.chunks.len(), 1);
        let chunk = &plan.chunks[0].chunk;
        assert_eq!(
            (chunk.items.clone(), chunk.tasks, chunk.keep_items),
            (vec![0, 1, 2], 4, true)
        );
        assert_eq!((chunk.cloud, chunk.region.as_deref()), (None, None));
    }

    #[test]
    fn a_job_of_one_execution_stays_one_chunk_with_its_items() {
        let job = job(vec![tencent(0, 3), tencent(3, 2)], json!({}));
        let plan = plan(&job, "big--0123456789ab", 1_000).expect("plans");
        assert_eq!(plan.chunks.len(), 1);
        let chunk = &plan.chunks[0].chunk;
        assert_eq!(
            (chunk.items.clone(), chunk.tasks, chunk.keep_items),
            (vec![0, 1], 5, true)
        );
        assert_eq!(chunk.cloud, Some(Cloud::Tencent));
        assert_eq!(plan.chunk_tasks, vec![5]);
        assert_eq!(
            plan.chunks_at_once, 1,
            "never more at once than there are chunks"
        );
        assert_eq!(
            chunk.results_key("big"),
            "results/big/big--0123456789ab/00000.jsonl"
        );
    }

    /// Chunks hold one cloud and region each, at most 100 tasks (requests whole), keep each
    /// request's index in the job, and alternate between the clouds and regions.
    #[test]
    fn a_large_job_is_split_by_cloud_and_region_within_one_executions_limits() {
        let mut requests = Vec::new();
        for n in 0..250 {
            requests.push(alibaba(
                n,
                if n % 2 == 0 {
                    "cn-hangzhou"
                } else {
                    "cn-shanghai"
                },
            ));
        }
        for r in 0..30 {
            requests.push(tencent(r * 7, 7)); // 210 tasks: 14 requests (98 tasks) per chunk
        }
        let plan = plan(
            &job(requests.clone(), json!({"chunks_at_once": 3})),
            "e",
            1_000,
        )
        .expect("plans");
        assert_eq!(plan.tasks_total, 250 + 210);
        assert_eq!(plan.chunks_at_once, 3);
        let mut seen = Vec::new();
        for (position, planned) in plan.chunks.iter().enumerate() {
            let chunk = &planned.chunk;
            assert_eq!((chunk.index, chunk.count), (position, plan.chunks.len()));
            assert!(chunk.tasks <= MAX_TASKS && chunk.items.len() <= MAX_REQUESTS);
            assert!(!chunk.keep_items);
            assert_eq!(planned.requests.len(), chunk.items.len());
            for (request, item) in planned.requests.iter().zip(&chunk.items) {
                assert_eq!(request["cloud"], json!(chunk.cloud.expect("one cloud")));
                assert_eq!(
                    request["region"],
                    json!(chunk.region.as_deref().expect("one region"))
                );
                assert_eq!(request["image_id"], requests[*item]["image_id"]);
            }
            assert!(
                chunk.items.windows(2).all(|w| w[0] < w[1]),
                "job order in a chunk"
            );
            seen.extend(chunk.items.iter().copied());
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..280).collect::<Vec<_>>(), "every request once");
        // 125 per Alibaba region: 100 + 25; Tencent: 98 + 98 + 14. Round robin over the three
        // places in the order they first appear.
        let places: Vec<(Option<Cloud>, Option<&str>, usize)> = plan
            .chunks
            .iter()
            .map(|c| (c.chunk.cloud, c.chunk.region.as_deref(), c.chunk.tasks))
            .collect();
        let (a, t) = (Some(Cloud::Alibaba), Some(Cloud::Tencent));
        assert_eq!(
            places,
            vec![
                (a, Some("cn-hangzhou"), 100),
                (a, Some("cn-shanghai"), 100),
                (t, Some("ap-guangzhou"), 98),
                (a, Some("cn-hangzhou"), 25),
                (a, Some("cn-shanghai"), 25),
                (t, Some("ap-guangzhou"), 98),
                (t, Some("ap-guangzhou"), 14),
            ]
        );
    }

    /// Ten thousand images by selector (a few lines of JSON): a hundred chunks of a hundred.
    #[test]
    fn ten_thousand_tasks_by_selector_plan_into_a_hundred_chunks_that_fit_a_state() {
        let requests: Vec<Value> = (0..100)
            .map(|i| {
                json!({"cloud": "tencent", "region": "ap-guangzhou", "bucket": "b-1250000000",
                       "format": "QCOW2", "file_name_prefixes": [format!("r{i}")],
                       "select": {"tags": {"batch": format!("{i}")}, "max_images": 100}})
            })
            .collect();
        let plan = plan(&job(requests, json!({})), "e", 1_000).expect("plans");
        assert_eq!(plan.tasks_total, MAX_JOB_TASKS);
        assert_eq!(plan.chunks.len(), 100);
        assert!(plan.chunks.iter().all(|c| c.chunk.tasks == 100));
        let bytes = serde_json::to_vec(&plan).expect("serialises").len();
        assert!(bytes < STATE_BYTES_LIMIT, "{bytes}");
    }

    /// The worst packing within the job limit: requests of 51 and 50 tasks in turn never
    /// share a chunk, so 10,000 tasks take 198 chunks; still under [`MAX_CHUNKS`], and the
    /// plan still fits a state.
    #[test]
    fn the_worst_packing_of_the_largest_job_stays_under_the_chunk_limit() {
        let requests: Vec<Value> = (0..198)
            .map(|i| {
                json!({"cloud": "tencent", "region": "ap-guangzhou", "bucket": "b-1250000000",
                       "format": "QCOW2",
                       "select": {"name": format!("n{i}"), "max_images": 51 - i % 2}})
            })
            .collect();
        let plan = plan(&job(requests, json!({})), "e", 0).expect("plans");
        assert_eq!(plan.tasks_total, 99 * 101);
        assert_eq!(plan.chunks.len(), 198);
        assert!(plan.chunks.len() <= MAX_CHUNKS);
        let bytes = serde_json::to_vec(&plan).expect("serialises").len();
        assert!(bytes < STATE_BYTES_LIMIT, "{bytes}");
    }

    #[test]
    fn an_execution_name_that_cannot_be_a_key_is_refused() {
        for name in ["", "a/b", "a b", &"x".repeat(81)] {
            let err = plan(&job(vec![tencent(0, 1)], json!({})), name, 0).expect_err("bad name");
            assert_eq!(err.field, "execution");
        }
    }

    fn task(cloud: Cloud, image: &str, state: TrackedState) -> TaskSummary {
        TaskSummary {
            cloud,
            region: "cn-hangzhou".into(),
            image_id: image.into(),
            task_id: Some(format!("t-{image}")),
            destination_region: None,
            state,
            progress: None,
            result: (state == TrackedState::Succeeded).then(|| TaskResult::Export {
                objects: vec![ExportedObject {
                    bucket: "b".into(),
                    key: format!("{image}.qcow2"),
                    size: 42,
                }],
            }),
            reason: None,
            duration_seconds: 60,
            cancelled: None,
            skipped: false,
        }
    }

    fn chunk_ref(index: usize, items: Vec<usize>, keep_items: bool) -> ChunkRef {
        ChunkRef {
            index,
            count: 3,
            cloud: Some(Cloud::Alibaba),
            region: Some("cn-hangzhou".into()),
            tasks: items.len(),
            items,
            execution: "big--0123456789ab".into(),
            keep_items,
        }
    }

    fn ended(items: Vec<ItemSummary>, state: JobPhase, reason: Option<&str>) -> JobState {
        let mut summary = JobSummary {
            job_id: "big".into(),
            state,
            reason: reason.map(str::to_owned),
            checks: 4,
            started_at: 1_000,
            finished_at: 1_600,
            duration_seconds: 600,
            tasks_total: items.iter().map(|i| i.tasks.len()).sum(),
            ..JobSummary::default()
        };
        summary.tasks_succeeded = items
            .iter()
            .flat_map(|i| &i.tasks)
            .filter(|t| t.state == TrackedState::Succeeded)
            .count();
        summary.items = items;
        JobState {
            queued: Vec::new(),
            job_id: "big".into(),
            kind: Some(TaskKind::Export),
            options: JobOptions::default(),
            started_at: 1_000,
            deadline_at: 9_000,
            checks: 4,
            wait_seconds: 0,
            state,
            reason: reason.map(str::to_owned),
            tasks: vec![],
            start_errors: vec![],
            selections: vec![],
            summary,
            chunk: None,
        }
    }

    /// A chunk's answer: one JSON line per task (with its job-wide item) and per request that
    /// did not start, and its counts; its per-item summary only for a job of one chunk.
    #[test]
    fn a_chunks_answer_holds_every_tasks_result_as_a_json_line_and_its_counts() {
        let items = vec![
            ItemSummary {
                item: 7,
                state: JobPhase::Succeeded,
                tasks: vec![task(Cloud::Alibaba, "m-1", TrackedState::Succeeded)],
                start_errors: vec![],
            },
            ItemSummary {
                item: 9,
                state: JobPhase::Failed,
                tasks: vec![task(Cloud::Alibaba, "m-2", TrackedState::Failed)],
                start_errors: vec![],
            },
            ItemSummary {
                item: 12,
                state: JobPhase::Failed,
                tasks: vec![],
                start_errors: vec![StartErrorRecord {
                    item: 12,
                    destination_region: None,
                    error: ErrorName::CloudRejected.as_str().into(),
                    message: "encrypted".into(),
                }],
            },
        ];
        let state = ended(items, JobPhase::Partial, Some("m-2 failed"));
        let answer = chunk_answer(&state, &chunk_ref(2, vec![7, 9, 12], false));
        assert_eq!(answer["state"], json!("partial"));
        assert_eq!(
            answer["results_key"],
            json!("results/big/big--0123456789ab/00002.jsonl")
        );
        let lines: Vec<Value> = answer["results_jsonl"]
            .as_str()
            .expect("text")
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            (&lines[0]["item"], &lines[0]["image_id"], &lines[0]["state"]),
            (&json!(7), &json!("m-1"), &json!("succeeded"))
        );
        assert_eq!(lines[0]["result"]["objects"][0]["size"], json!(42));
        assert_eq!(lines[1]["state"], json!("failed"));
        assert_eq!(
            (&lines[2]["item"], &lines[2]["state"], &lines[2]["error"]),
            (&json!(12), &json!("not_started"), &json!("Cloud.Rejected"))
        );
        let result: ChunkResult =
            serde_json::from_value(answer["chunk_result"].clone()).expect("a chunk result");
        assert_eq!(
            (
                result.tasks_total,
                result.tasks_succeeded,
                result.tasks_failed,
                result.start_errors
            ),
            (2, 1, 1, 1)
        );
        assert!(result.items.is_empty(), "a chunk of many keeps no items");
        let single = chunk_answer(&state, &chunk_ref(0, vec![7, 9, 12], true));
        assert_eq!(
            single["chunk_result"]["items"].as_array().map(Vec::len),
            Some(3)
        );
    }

    /// What `skip_existing` skipped and what the selectors matched reach the job's summary: the
    /// counts always, the selections in the summary for a job of one chunk and as
    /// `"state": "selected"` lines in the results of a chunk of many.
    #[test]
    fn skipped_tasks_and_selections_reach_the_summary_and_the_results() {
        let mut skipped = task(Cloud::Alibaba, "m-3", TrackedState::Succeeded);
        skipped.skipped = true;
        let mut state = ended(
            vec![ItemSummary {
                item: 4,
                state: JobPhase::Succeeded,
                tasks: vec![
                    task(Cloud::Alibaba, "m-1", TrackedState::Succeeded),
                    skipped,
                ],
                start_errors: vec![],
            }],
            JobPhase::Succeeded,
            None,
        );
        state.summary.tasks_skipped = 1;
        let selection = crate::select::Selection {
            item: 4,
            images: vec![crate::select::SelectedImage {
                id: "m-3".into(),
                name: "web-3".into(),
                created_at: 900,
            }],
        };
        state.summary.selections = vec![selection.clone()];

        let many = chunk_answer(&state, &chunk_ref(1, vec![4], false));
        let lines: Vec<Value> = many["results_jsonl"]
            .as_str()
            .expect("text")
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(lines[1]["skipped"], json!(true));
        let selected = lines
            .iter()
            .find(|l| l["state"] == json!("selected"))
            .expect("a selection line");
        assert_eq!(
            (&selected["item"], &selected["images"][0]["id"]),
            (&json!(4), &json!("m-3"))
        );
        assert!(many["chunk_result"].get("selections").is_none());

        let one = chunk_answer(&state, &chunk_ref(0, vec![4], true));
        let input: SummarizeInput = serde_json::from_value(json!({
            "job_id": "big", "kind": "export", "execution": "e", "planned_at": 1_000,
            "chunk_tasks": [2], "results": [one["chunk_result"].clone()]
        }))
        .expect("a summarize input");
        let summary: JobSummary =
            serde_json::from_value(summarize(input, 2_000)["summary"].clone()).expect("a summary");
        assert_eq!((summary.tasks_succeeded, summary.tasks_skipped), (2, 1));
        assert_eq!(summary.selections, vec![selection]);
    }

    fn done(chunk: usize, state: JobPhase, counts: [usize; 4], reason: Option<&str>) -> Value {
        let [total, succeeded, failed, timed_out] = counts;
        json!({"chunk": chunk, "cloud": "alibaba", "region": "cn-hangzhou", "state": state,
               "reason": reason, "checks": 5, "started_at": 1_010, "finished_at": 1_000 + 100 * chunk as u64,
               "tasks_total": total, "tasks_succeeded": succeeded, "tasks_failed": failed,
               "tasks_timed_out": timed_out, "start_errors": 0,
               "results_key": format!("results/big/e/{chunk:05}.jsonl")})
    }

    /// The parent adds up its chunks: a chunk whose check failed for good counts its planned
    /// tasks as failed, one that left no answer too, and neither hides the others.
    #[test]
    fn the_summary_adds_up_the_chunks_and_a_failed_chunk_hides_nothing() {
        let input: SummarizeInput = serde_json::from_value(json!({
            "job_id": "big", "kind": "export", "execution": "e", "planned_at": 1_000,
            "chunk_tasks": [100, 100, 40, 7], "bucket": "jobs",
            "results": [
                done(0, JobPhase::Succeeded, [100, 100, 0, 0], None),
                done(1, JobPhase::Partial, [100, 90, 8, 2], Some("8 failed")),
                {"chunk": chunk_ref(2, (0..40).collect(), false),
                 "error": {"Error": "States.Timeout", "Cause": "check timed out"}},
                null
            ]
        }))
        .expect("a summarize input");
        let document = summarize(input, 5_000);
        assert_eq!(document["state"], json!("partial"));
        let summary: JobSummary =
            serde_json::from_value(document["summary"].clone()).expect("a summary");
        assert_eq!(summary.tasks_total, 247);
        assert_eq!(summary.tasks_succeeded, 190);
        assert_eq!(summary.tasks_failed, Some(8 + 40 + 7));
        assert_eq!(summary.tasks_timed_out, Some(2));
        assert_eq!(summary.checks, 10);
        assert_eq!(summary.chunks, Some(4));
        assert_eq!(
            (summary.finished_at, summary.duration_seconds),
            (1_100, 100)
        );
        let results = summary.results.expect("a location");
        assert_eq!(
            (
                results.bucket.as_str(),
                results.prefix.as_str(),
                results.files
            ),
            ("jobs", "results/big/e/", 2)
        );
        let reason = summary.reason.expect("a reason");
        assert!(
            reason.contains("chunk 1 (alibaba cn-hangzhou): 8 failed"),
            "{reason}"
        );
        assert!(
            reason.contains("chunk 2 (alibaba cn-hangzhou): States.Timeout: check timed out"),
            "{reason}"
        );
        assert!(
            reason.contains("chunk 3: its child execution ended without an answer"),
            "{reason}"
        );
    }

    /// A job of one chunk ends as a job of one execution did: its state, its reason word for
    /// word, its items.
    #[test]
    fn a_job_of_one_chunk_keeps_its_reason_and_items() {
        let state = ended(
            vec![ItemSummary {
                item: 0,
                state: JobPhase::Failed,
                tasks: vec![task(Cloud::Alibaba, "m-2", TrackedState::Failed)],
                start_errors: vec![],
            }],
            JobPhase::Failed,
            Some("m-2: IMG.0014 export failed"),
        );
        let answer = chunk_answer(&state, &chunk_ref(0, vec![0], true));
        let input: SummarizeInput = serde_json::from_value(json!({
            "job_id": "big", "kind": "export", "execution": "e", "planned_at": 1_000,
            "chunk_tasks": [1], "results": [answer["chunk_result"]]
        }))
        .expect("a summarize input");
        let document = summarize(input, 5_000);
        assert_eq!(document["state"], json!("failed"));
        assert_eq!(document["reason"], json!("m-2: IMG.0014 export failed"));
        assert_eq!(
            document["summary"]["items"][0]["tasks"][0]["image_id"],
            json!("m-2")
        );
        assert_eq!(document["summary"]["tasks_failed"], json!(1));
    }

    #[test]
    fn the_jobs_phase_follows_its_chunks() {
        use JobPhase::*;
        assert_eq!(job_phase(&[Succeeded, Succeeded]), Succeeded);
        assert_eq!(job_phase(&[Succeeded, Failed]), Partial);
        assert_eq!(job_phase(&[Failed, Partial]), Partial);
        assert_eq!(job_phase(&[Failed, TimedOut]), Failed);
        assert_eq!(job_phase(&[TimedOut, TimedOut]), TimedOut);
        assert_eq!(job_phase(&[]), Failed);
    }
}
