//! What the demo shows: the labels of its progress bars and the summary table.

use imgflow_shared::model::{TaskRef, TaskState};
use serde_json::Value;

use super::scenarios::Scenario;
use super::{DemoSummary, Expectation};
use crate::format::{self, Table, cell};

pub(super) fn start_label(scenario: &Scenario) -> String {
    let image = scenario
        .request
        .get("image_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            scenario
                .request
                .get("image_ids")
                .and_then(Value::as_array)
                .map(|ids| {
                    ids.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                })
        })
        .unwrap_or_default();
    format!("{} {} {image}", scenario.cloud, scenario.operation)
}

pub(super) fn task_label(task: &TaskRef) -> String {
    format!("{} {}", task.cloud, format::task_label(task))
}

pub(super) fn started_what(task: &TaskRef) -> String {
    match (&task.task_id, &task.destination_image_id) {
        (Some(id), _) => format!("task {id}"),
        (None, Some(image)) => format!("image {image}"),
        (None, None) => "the task".to_owned(),
    }
}

/// The summary table: one row per task (one per refused start).
pub fn render(summary: &DemoSummary) -> String {
    let mut table = Table::new(&[
        "cloud",
        "operation",
        "task id",
        "cloud time",
        "real time",
        "checks",
        "as expected",
        "result",
    ]);
    for scenario in &summary.scenarios {
        let expectation = if scenario.as_expected { "yes" } else { "NO" };
        let failure_word = match &scenario.expected {
            Expectation::Succeed => "failed",
            Expectation::Fail { .. } => "failed as expected",
        };
        if let Some(error) = &scenario.refused {
            table.row(vec![
                cell(scenario.cloud.name()),
                cell(scenario.operation.clone()),
                cell("-"),
                cell(format::duration(scenario.cloud_seconds)),
                cell(format::real_seconds(scenario.real_seconds)),
                cell("0"),
                cell(expectation),
                cell(format!(
                    "refused{}: {}",
                    if scenario.as_expected {
                        " as expected"
                    } else {
                        ""
                    },
                    format::cloud_error(error)
                )),
            ]);
            continue;
        }
        if let Some(invalid) = &scenario.invalid {
            table.row(vec![
                cell(scenario.cloud.name()),
                cell(scenario.operation.clone()),
                cell("-"),
                cell("-"),
                cell("-"),
                cell("0"),
                cell(expectation),
                cell(format!("invalid request: {invalid}")),
            ]);
            continue;
        }
        for task in &scenario.tasks {
            let result = match (&task.error, task.state, task.timed_out) {
                (Some(error), _, _) => vec![format!("error: {}", format::cloud_error(error))],
                (None, _, true) => vec!["timed out".to_owned()],
                (None, Some(TaskState::Succeeded), _) => {
                    let mut lines: Vec<String> =
                        task.objects.iter().map(format::object_line).collect();
                    lines.extend(task.images.iter().map(format::image_line));
                    lines
                }
                (None, Some(TaskState::Failed), _) => {
                    let reason = task
                        .reason
                        .as_ref()
                        .map_or_else(String::new, |r| match &r.code {
                            Some(code) => format!("{code}: {}", r.message),
                            None => r.message.clone(),
                        });
                    vec![format!("{failure_word}: {reason}")]
                }
                _ => vec!["not finished".to_owned()],
            };
            let operation = match &task.task.destination_region {
                Some(destination) => format!("{} -> {destination}", scenario.operation),
                None => scenario.operation.clone(),
            };
            let id = task
                .task
                .task_id
                .clone()
                .or_else(|| task.task.destination_image_id.clone())
                .unwrap_or_else(|| "-".to_owned());
            table.row(vec![
                cell(scenario.cloud.name()),
                cell(operation),
                cell(id),
                cell(format::duration(task.cloud_seconds)),
                cell(format::real_seconds(task.real_seconds)),
                cell(task.checks.to_string()),
                cell(expectation),
                result,
            ]);
        }
    }
    let ok = summary
        .scenarios
        .iter()
        .filter(|scenario| scenario.as_expected)
        .count();
    let mut text = table.render();
    text.push('\n');
    if summary.all_as_expected {
        text.push_str(&format!(
            "All {} scenarios ended as expected in {} of real time \
             (1 real second = {} cloud seconds).\n",
            summary.scenarios.len(),
            format::real_seconds(summary.real_seconds),
            summary.time_scale,
        ));
    } else {
        text.push_str(&format!(
            "{ok} of {} scenarios ended as expected, in {} (real time).\n",
            summary.scenarios.len(),
            format::real_seconds(summary.real_seconds),
        ));
    }
    text.push_str("Nightly backup (a selector job with skip_existing, two scheduled runs):\n");
    for (night, run) in summary.nightly.runs.iter().enumerate() {
        text.push_str(&format!(
            "  run {}: {} selected, {} exported, {} skipped (already exported){}\n",
            night + 1,
            run.selected.len(),
            run.exported.len(),
            run.skipped.len(),
            if run.succeeded {
                ""
            } else {
                ", NOT all succeeded"
            }
        ));
    }
    if let Some(error) = &summary.nightly.error {
        text.push_str(&format!("  error: {error}\n"));
    }
    for scenario in summary.scenarios.iter().filter(|s| s.note.is_some()) {
        if let Some(note) = &scenario.note {
            text.push_str(&format!(
                "Note: {} {} {note}.\n",
                scenario.cloud, scenario.operation
            ));
        }
    }
    text
}
