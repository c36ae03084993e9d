//! A chunk's place in its job ([`ChunkRef`]): what a child execution of the Distributed Map
//! carries in its state from check to check, and where its results go.

use serde::{Deserialize, Serialize};

use crate::Cloud;

/// What a child execution knows of its place in the job (carried in its state).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef {
    /// The chunk's position in the plan (0-based).
    pub index: usize,
    /// How many chunks the job has.
    pub count: usize,
    /// The chunk's one cloud and region; absent for a job that fits one execution, which
    /// stays one chunk whatever its clouds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<Cloud>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
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
