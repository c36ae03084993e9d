//! Whether the demo went as expected: a scenario judged against its expectation, and the
//! final word on each task's bar.

use imgflow_shared::model::{TaskKind, TaskState};

use super::{Expectation, Outcome, ScenarioSummary, TaskSummary};
use crate::format;

/// Whether a scenario ended as expected: every export with its objects (each of a size),
/// every copy with a new image in its destination region; or the expected code.
pub(super) fn judge(summary: &ScenarioSummary) -> bool {
    match &summary.expected {
        Expectation::Succeed => {
            summary.outcome == Outcome::Succeeded
                && !summary.tasks.is_empty()
                && summary.tasks.iter().all(task_delivered)
        }
        Expectation::Fail { code } => match summary.outcome {
            Outcome::Refused => summary.refused.as_ref().is_some_and(|e| e.code == *code),
            Outcome::Failed => summary.tasks.iter().any(|t| {
                t.state == Some(TaskState::Failed)
                    && t.reason.as_ref().and_then(|r| r.code.as_deref()) == Some(code.as_str())
            }),
            _ => false,
        },
    }
}

fn task_delivered(task: &TaskSummary) -> bool {
    task.state == Some(TaskState::Succeeded)
        && match task.task.kind {
            TaskKind::Export => !task.objects.is_empty() && task.objects.iter().all(|o| o.size > 0),
            TaskKind::Copy => {
                !task.images.is_empty()
                    && task.images.iter().all(|image| {
                        Some(&image.region) == task.task.destination_region.as_ref()
                            && !image.image_id.is_empty()
                            && image.image_id != task.task.image_id
                    })
            }
        }
}

/// The final word on a task's bar: whether it is what the scenario expects, and what it made.
/// (The other commands' `verdict_by_success` counts only a success as good; here an expected
/// failure is good too, and the words say how long the task took in cloud time.)
pub(super) fn verdict_by_expectation(task: &TaskSummary, expected: &Expectation) -> (bool, String) {
    let took = format!("in {}", format::duration(task.cloud_seconds));
    if let Some(error) = &task.error {
        return (
            false,
            format!("status check failed: {}", format::cloud_error(error)),
        );
    }
    if task.timed_out {
        return (false, format!("not finished {took}: timed out"));
    }
    match task.state {
        Some(TaskState::Succeeded) => {
            let what = if task.task.kind == TaskKind::Export {
                let total: u64 = task.objects.iter().map(|o| o.size).sum();
                format!("{} object(s), {}", task.objects.len(), format::bytes(total))
            } else {
                task.images
                    .iter()
                    .map(format::image_line)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            (
                *expected == Expectation::Succeed,
                format!("succeeded {took}: {what}"),
            )
        }
        Some(TaskState::Failed) => {
            let reason = task
                .reason
                .as_ref()
                .map(|r| match &r.code {
                    Some(code) => format!("{code}: {}", r.message),
                    None => r.message.clone(),
                })
                .unwrap_or_default();
            let matches = matches!(expected, Expectation::Fail { code }
                if task.reason.as_ref().and_then(|r| r.code.as_deref()) == Some(code.as_str()));
            if matches {
                (true, format!("failed as expected {took}: {reason}"))
            } else {
                (false, format!("failed {took}: {reason}"))
            }
        }
        _ => (false, format!("not finished {took}")),
    }
}
