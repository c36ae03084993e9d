//! What the user sees while tasks run: one progress bar per task on a terminal (percent and
//! time left where the cloud reports progress, a spinner where it does not), plain log lines
//! on stderr otherwise, nothing with `--json`. Also the JSON status document.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use imgflow_shared::error::CloudError;
use imgflow_shared::model::{StartFailure, TaskRef, TaskState, TaskStatus};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::format;

/// What `status --json` and `--wait --json` print: every task's last status, the tasks whose
/// status could not be had, the regions that did not start, and (after a wait) how many
/// checks were made and whether the deadline passed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    pub statuses: Vec<TaskStatus>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<TaskError>,
    /// Destination regions of a sync that did not start (from the start's answer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<StartFailure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<u32>,
    /// The deadline passed before every task finished.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
}

/// A task whose status check failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskError {
    pub task: TaskRef,
    pub error: CloudError,
}

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Progress bars on stderr.
    Bars,
    /// One line on stderr per change of state.
    Log,
    /// Nothing (`--json`).
    Quiet,
}

impl Mode {
    /// Bars on a terminal, log lines when stderr is a file or a pipe.
    pub fn for_stderr() -> Mode {
        if std::io::stderr().is_terminal() {
            Mode::Bars
        } else {
            Mode::Log
        }
    }
}

/// Every bar's label, padded to the longest so that the bars line up.
#[derive(Default)]
struct Labels {
    width: usize,
    bars: Vec<(ProgressBar, String)>,
}

impl Labels {
    /// Adds a bar; returns its index.
    fn add(&mut self, bar: &ProgressBar, label: &str) -> usize {
        self.bars.push((bar.clone(), String::new()));
        let index = self.bars.len() - 1;
        self.set(index, label);
        index
    }

    /// Sets bar `index`'s label; a longer label than any so far re-pads every bar.
    fn set(&mut self, index: usize, label: &str) {
        let Some(entry) = self.bars.get_mut(index) else {
            return;
        };
        entry.1 = label.to_owned();
        let length = label.chars().count();
        if length > self.width {
            self.width = length;
            for (bar, label) in &self.bars {
                bar.set_prefix(pad(label, self.width));
            }
        } else {
            entry.0.set_prefix(pad(label, self.width));
        }
    }
}

fn pad(label: &str, width: usize) -> String {
    format!("{label:<width$}")
}

/// Shows progress for a set of tasks.
pub struct Reporter {
    mode: Mode,
    multi: Option<MultiProgress>,
    labels: Arc<Mutex<Labels>>,
    origin: Instant,
}

impl Reporter {
    pub fn new(mode: Mode) -> Self {
        let multi = (mode == Mode::Bars)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self {
            mode,
            multi,
            labels: Arc::default(),
            origin: Instant::now(),
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// A line of text above the bars, or a log line.
    pub fn line(&self, text: &str) {
        match (&self.multi, self.mode) {
            (Some(multi), _) => {
                let _ = multi.println(text);
            }
            (None, Mode::Log) => eprintln!("{text}"),
            _ => {}
        }
    }

    /// A bar for one task (or, before a start has answered, for the start), showing
    /// `message` with a spinner until the first status.
    pub fn bar(&self, label: &str, message: &str) -> TaskBar {
        let bar = self
            .multi
            .as_ref()
            .map(|multi| multi.add(ProgressBar::new(100)));
        self.task_bar(bar, label, message)
    }

    /// Like [`Reporter::bar`], placed right below `after` (so one start's tasks stay together).
    pub fn bar_after(&self, after: &TaskBar, label: &str, message: &str) -> TaskBar {
        let bar = self.multi.as_ref().map(|multi| match &after.bar {
            Some((previous, _)) => multi.insert_after(previous, ProgressBar::new(100)),
            None => multi.add(ProgressBar::new(100)),
        });
        self.task_bar(bar, label, message)
    }

    fn task_bar(&self, bar: Option<ProgressBar>, label: &str, message: &str) -> TaskBar {
        let bar = bar.map(|bar| {
            bar.set_style(spinner_style());
            let index = lock(&self.labels).add(&bar, label);
            bar.set_message(message.to_owned());
            bar.enable_steady_tick(Duration::from_millis(120));
            (bar, index)
        });
        let bar = TaskBar {
            bar,
            labels: Arc::clone(&self.labels),
            label: Mutex::new(label.to_owned()),
            mode: self.mode,
            origin: self.origin,
            last: Mutex::new(None),
        };
        bar.log(message);
        bar
    }
}

/// A lock that survives a panic elsewhere (the bars are only display).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix} {spinner:.cyan} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ")
}

fn progress_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix} [{bar:24.cyan/blue}] {pos:>3}% {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

fn done_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix} {msg}").unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// The bar (or log lines) of one task.
pub struct TaskBar {
    /// The bar and its index among the labels.
    bar: Option<(ProgressBar, usize)>,
    labels: Arc<Mutex<Labels>>,
    label: Mutex<String>,
    mode: Mode,
    origin: Instant,
    /// The last state and percent shown, so log lines appear only on a change.
    last: Mutex<Option<(TaskState, Option<u8>, String)>>,
}

impl TaskBar {
    fn log(&self, message: &str) {
        if self.mode == Mode::Log {
            let at = self.origin.elapsed().as_secs_f64();
            let label = lock(&self.label);
            eprintln!("[{at:>6.1}s] {label}: {message}");
        }
    }

    /// Names the bar anew (a start's bar becomes its first task's).
    pub fn relabel(&self, label: &str) {
        if let Some((_, index)) = &self.bar {
            lock(&self.labels).set(*index, label);
        }
        *lock(&self.label) = label.to_owned();
    }

    /// A new message without a status (waiting, starting).
    pub fn message(&self, message: &str) {
        if let Some((bar, _)) = &self.bar {
            bar.set_message(message.to_owned());
        }
        self.log(message);
    }

    /// Shows a status seen `elapsed` seconds (cloud time) after the task started.
    pub fn update(&self, status: &TaskStatus, elapsed: f64) {
        let message = match (status.state, status.progress) {
            (TaskState::Running, Some(p)) if (1..100).contains(&p) => {
                let left = elapsed * f64::from(100 - p) / f64::from(p);
                format!(
                    "{} · about {} left",
                    status.cloud_state,
                    format::duration(left)
                )
            }
            (TaskState::Running, Some(100)) => {
                format!("{} · confirming (a second answer)", status.cloud_state)
            }
            _ => format!(
                "{} ({}) · {}",
                format::state(status.state),
                status.cloud_state,
                format::duration(elapsed)
            ),
        };
        if let Some((bar, _)) = &self.bar {
            match status.progress {
                Some(p) => {
                    if !self.has_progress() {
                        bar.disable_steady_tick();
                        bar.set_style(progress_style());
                    }
                    bar.set_position(u64::from(p));
                }
                None => bar.tick(),
            }
            bar.set_message(message.clone());
        }
        let key = (status.state, status.progress, status.cloud_state.clone());
        let mut last = lock(&self.last);
        let changed = last
            .as_ref()
            .is_none_or(|(state, _, word)| *state != key.0 || *word != key.2);
        if changed {
            let percent = status
                .progress
                .map(|p| format!(" {p}%"))
                .unwrap_or_default();
            self.log(&format!(
                "{}{percent} ({}) after {}",
                format::state(status.state),
                status.cloud_state,
                format::duration(elapsed)
            ));
        }
        *last = Some(key);
    }

    fn has_progress(&self) -> bool {
        lock(&self.last)
            .as_ref()
            .is_some_and(|(_, progress, _)| progress.is_some())
    }

    /// A status check failed; `retrying` says whether it will be tried again.
    pub fn error(&self, error: &CloudError, retrying: bool) {
        let text = format!(
            "status check failed{}: {}",
            if retrying { " (will retry)" } else { "" },
            format::cloud_error(error)
        );
        if let Some((bar, _)) = &self.bar {
            bar.set_message(text.clone());
        }
        self.log(&text);
    }

    /// Ends the bar with a final word: `ok` marks it with ✔, otherwise ✘.
    pub fn finish(&self, ok: bool, message: &str) {
        let mark = if ok { "✔" } else { "✘" };
        if let Some((bar, _)) = &self.bar {
            bar.disable_steady_tick();
            bar.set_style(done_style());
            bar.finish_with_message(format!("{mark} {message}"));
        }
        self.log(&format!("{mark} {message}"));
    }
}
