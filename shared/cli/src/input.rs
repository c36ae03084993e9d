//! Reading the request and tasks files (`-` is standard input) and parsing them.

use std::io::Read;

use imgflow_shared::error::ValidationError;
use imgflow_shared::model::{CopyRequest, ExportRequest, TaskRef, TaskStatus};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::report::StatusReport;

/// Why the input cannot be used. Nothing has been sent when this is returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    /// The file cannot be read.
    Read { source: String, message: String },
    /// The text is not the expected JSON.
    Json { source: String, message: String },
    /// The request breaks a documented rule of its cloud.
    Invalid(ValidationError),
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputError::Read { source, message } => write!(f, "cannot read {source}: {message}"),
            InputError::Json { source, message } => write!(f, "{source}: {message}"),
            InputError::Invalid(err) => write!(f, "invalid request: {}: {}", err.field, err.rule),
        }
    }
}

impl std::error::Error for InputError {}

/// The name a file is shown under.
fn shown(path: &str) -> String {
    if path == "-" {
        "standard input".to_owned()
    } else {
        path.to_owned()
    }
}

/// The whole text of `path`, or of standard input for `-`.
pub fn read_source(path: &str) -> Result<String, InputError> {
    let mut text = String::new();
    let result = if path == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    result.map_err(|err| InputError::Read {
        source: shown(path),
        message: err.to_string(),
    })?;
    Ok(text)
}

fn parse<T: DeserializeOwned>(source: &str, text: &str, what: &str) -> Result<T, InputError> {
    serde_json::from_str(text).map_err(|err| InputError::Json {
        source: shown(source),
        message: format!("not a valid {what}: {err}"),
    })
}

/// An export request, parsed and checked against its cloud's rules.
pub fn export_request(source: &str, text: &str) -> Result<ExportRequest, InputError> {
    let request: ExportRequest = parse(source, text, "export request")?;
    request.validate().map_err(InputError::Invalid)?;
    Ok(request)
}

/// A sync request, parsed and checked against its cloud's rules.
pub fn sync_request(source: &str, text: &str) -> Result<CopyRequest, InputError> {
    let request: CopyRequest = parse(source, text, "sync request")?;
    request.validate().map_err(InputError::Invalid)?;
    Ok(request)
}

/// The tasks to check. Accepts what `export`/`sync --json` print (a `StartOutcome`), a list
/// of task references, a list of statuses, or what `status --json` prints (so a status
/// document can be checked again, carrying each copy's confirmations forward).
pub fn tasks(source: &str, text: &str) -> Result<Vec<TaskRef>, InputError> {
    let value: Value = parse(source, text, "JSON document")?;
    let bad = |message: String| InputError::Json {
        source: shown(source),
        message,
    };
    let tasks: Vec<TaskRef> = match &value {
        Value::Object(map) if map.contains_key("statuses") => {
            let report: StatusReport = serde_json::from_value(value.clone())
                .map_err(|err| bad(format!("not a valid status document: {err}")))?;
            report
                .statuses
                .into_iter()
                .map(|s| s.task)
                .chain(report.errors.into_iter().map(|e| e.task))
                .collect()
        }
        Value::Object(map) if map.contains_key("tasks") => {
            serde_json::from_value(map["tasks"].clone())
                .map_err(|err| bad(format!("`tasks` is not a list of task references: {err}")))?
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let parsed = if item.get("task").is_some() {
                    serde_json::from_value::<TaskStatus>(item.clone()).map(|s| s.task)
                } else {
                    serde_json::from_value::<TaskRef>(item.clone())
                };
                parsed.map_err(|err| bad(format!("item {index}: not a task reference: {err}")))
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(bad(
                "expected the JSON `export`/`sync --json` prints ({\"tasks\": [...]}), \
                 a list of task references, or what `status --json` prints"
                    .to_owned(),
            ));
        }
    };
    if tasks.is_empty() {
        return Err(bad("there are no tasks in it".to_owned()));
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASK: &str = r#"{"cloud": "alibaba", "region": "cn-hangzhou", "kind": "export",
        "image_id": "m-bp1web000000000000001", "task_id": "t-1", "started_at": 1}"#;

    #[test]
    fn tasks_come_from_a_start_outcome_a_list_or_a_status_document() {
        let outcome = format!(r#"{{"tasks": [{TASK}]}}"#);
        assert_eq!(tasks("f", &outcome).expect("outcome").len(), 1);
        let list = format!("[{TASK}, {TASK}]");
        assert_eq!(tasks("f", &list).expect("list").len(), 2);
        let statuses = format!(
            r#"{{"statuses": [{{"task": {TASK}, "state": "running", "cloud_state": "Processing"}}]}}"#
        );
        assert_eq!(tasks("f", &statuses).expect("report").len(), 1);
        let listed = format!(r#"[{{"task": {TASK}, "state": "running", "cloud_state": "x"}}]"#);
        assert_eq!(tasks("f", &listed).expect("status list").len(), 1);
        assert!(matches!(tasks("f", "[]"), Err(InputError::Json { .. })));
        assert!(matches!(tasks("f", "{"), Err(InputError::Json { .. })));
    }

    #[test]
    fn a_request_breaking_a_rule_names_the_field() {
        let text = r#"{"cloud": "tencent", "region": "ap-guangzhou", "bucket": "b-1250000000",
            "image_ids": ["img-web00001", "img-db000001"], "file_name_prefixes": ["web"]}"#;
        let Err(InputError::Invalid(err)) = export_request("-", text) else {
            panic!("expected a validation error")
        };
        assert_eq!(err.field, "file_name_prefixes");
        let Err(err) = export_request("-", r#"{"cloud": "aws"}"#) else {
            panic!("expected a JSON error")
        };
        assert!(err.to_string().contains("standard input"), "{err}");
    }
}
