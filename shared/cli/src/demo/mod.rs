//! `imgflow demo`: the seed scenarios on all four clouds against an in-process cloud
//! emulator, through the same code the Lambda functions run
//! ([`CloudClient`](imgflow_shared::client::CloudClient)'s start and
//! status operations) and the same wait policy the state machine follows
//! ([`WaitPolicy::next_wait`](imgflow_shared::wait::WaitPolicy::next_wait), in cloud seconds, slept `wait / time_scale` real seconds).
//!
//! Every scenario starts at once, except where a cloud refuses a second operation on an
//! image while one runs: Tencent's copy of `img-web00001` and Volcengine's copy of its web
//! image start when their exports have ended, as a careful operator would do.
//!
//! Built with the `demo` feature only. [`scenarios`] says what each scenario asks and expects,
//! [`run`](mod@run) runs them, [`verdict`] judges how they ended, [`render`](mod@render) shows it.

mod render;
mod run;
mod scenarios;
mod verdict;

use imgflow_shared::Cloud;
use imgflow_shared::error::{CloudError, ValidationError};
use imgflow_shared::model::{CloudReason, ExportedObject, RegionImage, TaskRef, TaskState};
use serde::Serialize;
use serde_json::Value;

use crate::report::Mode;

pub use render::render;
pub use run::{emulator_credentials, run};
pub use scenarios::{nightly_request, scenario_count};

/// One real second is one cloud hour: the longest scenario (six cloud hours of export, then
/// a copy) ends in well under ten seconds.
pub const DEFAULT_TIME_SCALE: f64 = 3600.0;

/// The emulator's built-in keys, valid on all four clouds.
pub const EMULATOR_ACCESS_KEY: &str = "imgflow-emulator-ak";
pub const EMULATOR_SECRET_KEY: &str = "imgflow-emulator-sk";

/// The Huawei projects of the emulator's default account (its `default-catalog.json`).
pub const EMULATOR_HUAWEI_PROJECTS: [(&str, &str); 3] = [
    ("cn-north-4", "0a1b2c3d4e5f40718293a4b5c6d7e8f9"),
    ("cn-east-3", "1b2c3d4e5f60418293a4b5c6d7e8f90a"),
    ("ap-southeast-1", "2c3d4e5f6071429384a5b6c7d8e9f0a1"),
];

#[derive(Clone, Copy, Debug)]
pub struct DemoOptions {
    /// Cloud seconds per real second.
    pub time_scale: f64,
    /// Progress bars, log lines or nothing.
    pub mode: Mode,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            time_scale: DEFAULT_TIME_SCALE,
            mode: Mode::Quiet,
        }
    }
}

/// What a scenario is expected to end with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Expectation {
    /// Every task succeeds: objects with sizes for exports, new images for copies.
    Succeed,
    /// The cloud refuses the start, or a task fails, with this error code.
    Fail { code: String },
}

/// How a scenario ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    /// A task failed (the cloud's reason is in the task).
    Failed,
    /// The cloud refused the start.
    Refused,
    /// The request broke a rule; nothing was sent.
    Invalid,
    /// A status check failed for good.
    Error,
    /// The deadline passed first.
    TimedOut,
}

/// The whole demo.
#[derive(Clone, Debug, Serialize)]
pub struct DemoSummary {
    /// The emulator's base URL (it stops when the demo ends).
    pub emulator: String,
    pub time_scale: f64,
    /// Real seconds from the emulator's start to the last scenario's end.
    pub real_seconds: f64,
    pub all_as_expected: bool,
    pub scenarios: Vec<ScenarioSummary>,
    /// The nightly-backup scenario: one selector job with `skip_existing`, run twice.
    pub nightly: NightlySummary,
}

/// The nightly backup (issue 14): the job's request, and what each scheduled run did.
#[derive(Clone, Debug, Serialize)]
pub struct NightlySummary {
    pub request: Value,
    pub runs: Vec<NightlyRun>,
    /// The first run exported every match, the second only the new build, skipping the rest.
    pub as_expected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One scheduled run of the nightly job.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NightlyRun {
    /// The images the selector matched (`name id`).
    pub selected: Vec<String>,
    /// Images exported by this run.
    pub exported: Vec<String>,
    /// Images already exported (objects found), reported skipped.
    pub skipped: Vec<String>,
    /// Whether every task ended succeeded (skipped ones included).
    pub succeeded: bool,
}

/// One scenario: one start call and the tasks it started.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioSummary {
    pub cloud: Cloud,
    /// The cloud API action that starts it (`ExportImages`, `CopyImage`, ...).
    pub operation: String,
    pub title: String,
    /// The request, as `imgflow export`/`sync --request` would read it.
    pub request: Value,
    pub expected: Expectation,
    pub outcome: Outcome,
    pub as_expected: bool,
    /// The cloud's refusal of the start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<CloudError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid: Option<ValidationError>,
    pub tasks: Vec<TaskSummary>,
    /// Status checks made (each covers every unfinished task of the scenario).
    pub checks: u32,
    /// Cloud seconds from the start call to the last task's end.
    pub cloud_seconds: f64,
    pub real_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One task of a scenario.
#[derive(Clone, Debug, Serialize)]
pub struct TaskSummary {
    pub task: TaskRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<TaskState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_state: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ExportedObject>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<RegionImage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<CloudReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<CloudError>,
    pub timed_out: bool,
    pub checks: u32,
    pub cloud_seconds: f64,
    pub real_seconds: f64,
}

/// Why the demo could not run at all.
#[derive(Debug)]
pub struct DemoError(pub String);

impl std::fmt::Display for DemoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DemoError {}
