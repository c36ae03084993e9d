//! start-export and start-sync. A Step Functions task starts one request and returns its
//! task references; a webhook or an EventBridge event hands a whole job to the state
//! machine, once per delivery.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use imgflow_shared::error::ValidationError;
use imgflow_shared::error_name::ErrorName;
use imgflow_shared::idempotence::StartItem;
use imgflow_shared::job::{Job, strip_position};
use imgflow_shared::model::{
    self, CopyRequest, ExportRequest, QueuedStart, SelectedImage, StartOutcome, TaskKind, TaskRef,
};
use imgflow_shared::operations::StartError;
use serde::Serialize;
use serde_json::{Value, json};

use crate::app::{App, Function};
use crate::envelope::{Envelope, http_answer, method};
use crate::errors::FunctionError;
use crate::records::StartRecords;
use crate::sfn::{self, StartExecutionError};
use crate::webhook;

pub async fn handle(
    function: Function,
    app: &App,
    envelope: Envelope,
) -> Result<Value, FunctionError> {
    let kind = match function {
        Function::StartSync => TaskKind::Copy,
        _ => TaskKind::Export,
    };
    match envelope {
        Envelope::Task(input) => start_one(app, kind, input).await,
        Envelope::Event(event) => start_from_event(app, kind, *event).await,
        Envelope::Webhook(request) => Ok(start_from_webhook(app, kind, &request).await),
    }
}

/// A Step Functions task: `{"job_id", "index", "execution_start", "request": {...}}` (the
/// state machine's Map item; other fields are ignored) or a bare request. Answers
/// `{"index", "tasks", "failures"}`.
///
/// An item with `job_id`, `index` and `execution_start` (`$$.Execution.StartTime`) is safe
/// to run twice: every attempt of it looks for the task an earlier attempt made and adopts
/// it, and never starts a second one (see `imgflow_shared::idempotence`). An unknown outcome
/// whose lookup shows nothing created is `Cloud.Transient`, so the state machine retries it;
/// one that may hide a running task is `Cloud.UnknownOutcome`, shown as unconfirmed. A bare
/// request (or an item without a readable start time) looks for nothing first.
///
/// Before anything is sent, an item reads its start record (`records`): an earlier attempt's
/// recorded answer is returned as it is. After the cloud accepted, the answer is recorded
/// before it is returned.
async fn start_one(app: &App, kind: TaskKind, input: Value) -> Result<Value, FunctionError> {
    let index = input.get("index").and_then(Value::as_u64).unwrap_or(0);
    let job_id = input
        .get("job_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let item = match input.get("execution_start") {
        None => None,
        Some(start) => {
            let item = start
                .as_str()
                .filter(|_| !job_id.is_empty())
                .and_then(|start| StartItem::new(&job_id, index, start));
            if item.is_none() {
                return Err(FunctionError::invalid(&ValidationError::new(
                    "execution_start",
                    "must be the execution's RFC 3339 UTC start time, with a non-empty job_id",
                )));
            }
            item
        }
    };
    let (request, field) = match input.get("request") {
        Some(request) => (request.clone(), "request"),
        None => (input, "$"),
    };
    let invalid = |err: serde_json::Error| {
        FunctionError::invalid(&ValidationError::new(field, strip_position(&err)))
    };
    // A request inside the Map item is reported under `request.`, as the caller wrote it.
    let start_failed = |err: StartError| match err {
        StartError::Invalid(invalid) if field == "request" => FunctionError::invalid(
            &ValidationError::new(format!("request.{}", invalid.field), invalid.rule),
        ),
        other => FunctionError::from(other),
    };
    let records = item
        .as_ref()
        .and_then(|item| StartRecords::new(app, item, kind, &request));
    let outcome: StartOutcome = match kind {
        TaskKind::Export => {
            let request: ExportRequest = serde_json::from_value(request).map_err(invalid)?;
            if let Some(answer) = adopt_recorded(records.as_ref(), &job_id, index).await? {
                return Ok(answer);
            }
            tracing::info!(%job_id, index, cloud = %request.cloud(), region = request.region(), "starting an export");
            match &item {
                Some(item) => app.cloud.start_export_item(&request, item).await,
                None => app.cloud.start_export(&request).await,
            }
            .map_err(start_failed)?
        }
        TaskKind::Copy => {
            let request: CopyRequest = serde_json::from_value(request).map_err(invalid)?;
            if let Some(answer) = adopt_recorded(records.as_ref(), &job_id, index).await? {
                return Ok(answer);
            }
            tracing::info!(%job_id, index, cloud = %request.cloud(), region = request.region(), "starting a copy");
            match &item {
                Some(item) => app.cloud.start_copy_item(&request, item).await,
                None => app.cloud.start_copy(&request).await,
            }
            .map_err(start_failed)?
        }
    };
    // Kept before answering: an answer Lambda loses from here on is adopted by the retry.
    if let Some(records) = &records {
        records.write(&outcome).await;
    }
    for task in &outcome.tasks {
        tracing::info!(
            %job_id,
            index,
            cloud = %task.cloud,
            region = %task.region,
            image_id = %task.image_id,
            task_id = task.task_id.as_deref().unwrap_or(""),
            destination_region = task.destination_region.as_deref().unwrap_or(""),
            "task started"
        );
    }
    for failure in &outcome.failures {
        tracing::warn!(%job_id, index, code = %failure.error.code, destination_region = failure.destination_region.as_deref().unwrap_or(""), "a destination did not start");
    }
    for queued in &outcome.queued {
        tracing::info!(%job_id, index, code = %queued.error.code, images = %queued.request.image_ids().join(","), "a start waits behind the cloud's concurrency limit");
    }
    Ok(StartAnswer {
        selected: outcome.selected.as_deref(),
        ..StartAnswer::new(index, &outcome)
    }
    .to_value())
}

/// A start item's answer, `{"index", "tasks", "failures"}` and, when there are any, the
/// starts that wait (`queued`) and what a selector matched (`selected`).
#[derive(Serialize)]
struct StartAnswer<'a> {
    index: u64,
    tasks: &'a [TaskRef],
    failures: &'a [model::StartFailure],
    /// Started by check-status as room frees up (imgflow_shared::job::queue).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    queued: &'a [QueuedStart],
    /// What the selector matched, for the execution's output and completion event.
    #[serde(skip_serializing_if = "Option::is_none")]
    selected: Option<&'a [SelectedImage]>,
}

impl<'a> StartAnswer<'a> {
    /// The answer without `selected`, which only a fresh start reports.
    fn new(index: u64, outcome: &'a StartOutcome) -> Self {
        Self {
            index,
            tasks: &outcome.tasks,
            failures: &outcome.failures,
            queued: &outcome.queued,
            selected: None,
        }
    }

    fn to_value(&self) -> Value {
        // The fields are the model's own serializable types (already serialized once into
        // the start record); Null is never produced.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The answer an earlier attempt of this item recorded, if any (see `records`): returned
/// as it was, without asking the cloud.
async fn adopt_recorded(
    records: Option<&StartRecords<'_>>,
    job_id: &str,
    index: u64,
) -> Result<Option<Value>, FunctionError> {
    let Some(records) = records else {
        return Ok(None);
    };
    let Some(outcome) = records.read().await? else {
        return Ok(None);
    };
    for task in &outcome.tasks {
        tracing::info!(
            %job_id,
            index,
            cloud = %task.cloud,
            region = %task.region,
            image_id = %task.image_id,
            task_id = task.task_id.as_deref().unwrap_or(""),
            destination_region = task.destination_region.as_deref().unwrap_or(""),
            "an earlier attempt's task adopted from its start record"
        );
    }
    Ok(Some(StartAnswer::new(index, &outcome).to_value()))
}

/// An EventBridge event (a rule or a Scheduler schedule): the job is the event's `detail`,
/// or the function's configured job when the detail is empty (`{}`, null, or the string
/// `"{}"` that Scheduler sends when a schedule has no input). The execution is named after
/// what stays the same across redeliveries (see [`dedup_key`]).
async fn start_from_event(
    app: &App,
    kind: TaskKind,
    event: EventBridgeEvent<Value>,
) -> Result<Value, FunctionError> {
    let detail = match &event.detail {
        // Scheduler's default notification carries its detail as JSON text.
        Value::String(text) if text.trim().is_empty() => Value::Null,
        Value::String(text) => serde_json::from_str(text).map_err(|err| {
            FunctionError::invalid(&ValidationError::new(
                "detail",
                format!(
                    "is a string that is not a JSON job: {}",
                    strip_position(&err)
                ),
            ))
        })?,
        other => other.clone(),
    };
    let detail_empty = detail.is_null() || detail.as_object().is_some_and(|o| o.is_empty());
    let document = if detail_empty {
        app.settings.scheduled_job.clone().ok_or_else(|| {
            FunctionError::invalid(&ValidationError::new(
                "detail",
                "is empty and no IMGFLOW_SCHEDULED_JOB is configured",
            ))
        })?
    } else {
        detail
    };
    let job = app.accept_job(&document, Some(kind)).map_err(|err| {
        let field = if detail_empty {
            err.field.clone()
        } else {
            format!("detail.{}", err.field)
        };
        FunctionError::invalid(&ValidationError::new(field, err.rule))
    })?;
    let key = dedup_key(&event).map_err(|err| FunctionError::invalid(&err))?;
    let name = sfn::execution_name(&job.job_id, kind.name(), &key);
    tracing::info!(job_id = %job.job_id, source = %event.source, %name, "starting the job's execution for an event");
    let started = start_execution(app, &job, &name)
        .await
        .map_err(|err| match err {
            StartFailure::Conflict(message) => {
                FunctionError::invalid(&ValidationError::new("id", message))
            }
            StartFailure::Aws(message) | StartFailure::Config(message) => {
                FunctionError::new(ErrorName::AwsError, message)
            }
        })?;
    Ok(ExecutionAnswer::new(&job, &name, &started).to_value())
}

/// The answer to a job handed to the state machine: an event's result, and a webhook's 202
/// body. A caller finds the execution by `execution_arn`; `duplicate` says that this
/// delivery repeated one already started, so nothing new runs.
#[derive(Serialize)]
struct ExecutionAnswer<'a> {
    job_id: &'a str,
    execution_name: &'a str,
    execution_arn: &'a str,
    duplicate: bool,
}

impl<'a> ExecutionAnswer<'a> {
    fn new(job: &'a Job, name: &'a str, started: &'a sfn::Started) -> Self {
        Self {
            job_id: &job.job_id,
            execution_name: name,
            execution_arn: &started.execution_arn,
            duplicate: started.duplicate,
        }
    }

    fn to_value(&self) -> Value {
        // Strings and a bool always serialize; Null is never produced.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// What names an event's execution, so that every delivery of one occurrence starts one
/// execution. A scheduled event (`detail-type` "Scheduled Event" with one resource, the
/// schedule or rule, and a `time`) is one run of that schedule: `schedule:<ARN>@<time>`.
/// EventBridge Scheduler gives each *attempt* its own execution id (its retries of one run
/// carry different ids), so the id cannot be used; the scheduled time is the same on every
/// attempt. Any other event is named after its `id`, which EventBridge keeps on retries.
pub fn dedup_key(event: &EventBridgeEvent<Value>) -> Result<String, ValidationError> {
    let resources = event.resources.as_deref().unwrap_or_default();
    if event.detail_type == "Scheduled Event" {
        return match (resources, event.time) {
            ([schedule], Some(time)) if !schedule.is_empty() => {
                Ok(format!("schedule:{schedule}@{}", time.timestamp()))
            }
            _ => Err(ValidationError::new(
                "resources",
                "a scheduled event must name its schedule (one ARN in resources) and have a time, so that retries of one run start one execution",
            )),
        };
    }
    event
        .id
        .as_deref()
        .filter(|id| !id.is_empty())
        .map(|id| format!("event:{id}"))
        .ok_or_else(|| {
            ValidationError::new("id", "the event has no id to name its execution after")
        })
}

enum StartFailure {
    Conflict(String),
    Aws(String),
    Config(String),
}

async fn start_execution(app: &App, job: &Job, name: &str) -> Result<sfn::Started, StartFailure> {
    let (Some(aws), Some(arn)) = (&app.aws, &app.settings.state_machine_arn) else {
        return Err(StartFailure::Config(
            "IMGFLOW_STATE_MACHINE_ARN and AWS credentials are needed to start jobs".into(),
        ));
    };
    match sfn::start_execution(aws, arn, name, &job.to_value()).await {
        Ok(started) => {
            tracing::info!(job_id = %job.job_id, execution_arn = %started.execution_arn, duplicate = started.duplicate, "execution started");
            Ok(started)
        }
        Err(StartExecutionError::KeyReused { name, .. }) => Err(StartFailure::Conflict(format!(
            "the execution {name} already ran a different job: this idempotency key (or event id) was used before"
        ))),
        Err(StartExecutionError::Aws(err)) => Err(StartFailure::Aws(err.to_string())),
    }
}

/// A webhook: authenticated, validated, then handed to the state machine. Answers 202 with
/// the execution (the same answer for a repeated delivery), 400 naming the field, 401.
async fn start_from_webhook(
    app: &App,
    kind: TaskKind,
    request: &LambdaFunctionUrlRequest,
) -> Value {
    let (body, timestamp) = match webhook::authenticate(app, request) {
        Ok(authenticated) => authenticated,
        Err(answer) => return answer,
    };
    if method(request) != "POST" {
        return http_answer(
            405,
            &json!({"error": ErrorName::RequestMethod.as_str(), "message": "send the job with POST"}),
        );
    }
    let document: Value = match serde_json::from_slice(&body) {
        Ok(document) => document,
        Err(err) => {
            return webhook::bad_request(&ValidationError::new(
                "$",
                format!("the body is not JSON: {}", strip_position(&err)),
            ));
        }
    };
    let job = match app.accept_job(&document, Some(kind)) {
        Ok(job) => job,
        Err(err) => return webhook::bad_request(&err),
    };
    // The key is signed (webhook.rs), so a captured request cannot be replayed under another
    // key; one that breaks the rule is refused, never taken for no key.
    let key = match webhook::idempotency_key(&request.headers) {
        Ok(Some(key)) => format!("key:{key}"),
        Ok(None) => format!("delivery:{timestamp}.{}", String::from_utf8_lossy(&body)),
        Err(err) => return webhook::bad_request(&err),
    };
    let name = sfn::execution_name(&job.job_id, kind.name(), &key);
    match start_execution(app, &job, &name).await {
        Ok(started) => http_answer(202, &ExecutionAnswer::new(&job, &name, &started).to_value()),
        Err(StartFailure::Conflict(message)) => http_answer(
            409,
            &json!({"error": ErrorName::RequestConflict.as_str(), "field": "Idempotency-Key", "message": message}),
        ),
        Err(StartFailure::Aws(message)) => http_answer(
            502,
            &json!({"error": ErrorName::AwsError.as_str(), "message": message}),
        ),
        Err(StartFailure::Config(message)) => http_answer(
            500,
            &json!({"error": ErrorName::ConfigInvalid.as_str(), "message": message}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The typed answers replaced `json!` literals; their bytes must be the literals' bytes,
    // which callers and the state machine already read.

    #[test]
    fn the_execution_answer_is_the_bytes_of_the_literal_it_replaced() {
        let answer = ExecutionAnswer {
            job_id: "nightly",
            execution_name: "nightly-export-0123",
            execution_arn: "arn:aws:states:us-east-1:1:execution:m:nightly-export-0123",
            duplicate: true,
        };
        let literal = json!({
            "job_id": answer.job_id,
            "execution_name": answer.execution_name,
            "execution_arn": answer.execution_arn,
            "duplicate": answer.duplicate,
        });
        assert_eq!(answer.to_value().to_string(), literal.to_string());
        assert_eq!(
            http_answer(202, &answer.to_value()),
            http_answer(202, &literal)
        );
    }

    #[test]
    fn the_start_answer_is_the_bytes_of_the_literal_it_replaced() {
        let outcome: StartOutcome = serde_json::from_value(json!({
            "tasks": [{"cloud": "tencent", "region": "ap-guangzhou", "kind": "export",
                "image_id": "img-web00001", "task_id": "105000001",
                "objects": [{"bucket": "b-1250000000", "key": "web.qcow2"}]}],
            "failures": [{"destination_region": "ap-shanghai", "error": {"cloud": "tencent",
                "kind": "quota", "retryable": false, "code": "LimitExceeded", "message": "m",
                "request_id": null, "http_status": null}}],
            "selected": [{"id": "img-web00001", "name": "web", "created_at": 1}],
        }))
        .expect("an outcome");
        let index = 3;
        let mut literal =
            json!({"index": index, "tasks": outcome.tasks, "failures": outcome.failures});
        assert_eq!(
            StartAnswer::new(index, &outcome).to_value().to_string(),
            literal.to_string()
        );
        if let Some(selected) = &outcome.selected {
            literal["selected"] = json!(selected);
        }
        let fresh = StartAnswer {
            selected: outcome.selected.as_deref(),
            ..StartAnswer::new(index, &outcome)
        };
        assert_eq!(fresh.to_value().to_string(), literal.to_string());
        let empty = StartOutcome {
            tasks: Vec::new(),
            selected: None,
            failures: Vec::new(),
            queued: Vec::new(),
        };
        assert_eq!(
            StartAnswer::new(0, &empty).to_value().to_string(),
            r#"{"failures":[],"index":0,"tasks":[]}"#
        );
    }
}
