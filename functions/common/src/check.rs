//! check-status. As a Step Functions task it checks a job once and returns its next state
//! (with `wait_seconds`); as a webhook it answers a job's current status from its execution.

use imgflow_shared::error::ValidationError;
use imgflow_shared::error_name::ErrorName;
use imgflow_shared::job::{
    CheckInput, CheckMode, JobPhase, JobState, check_job, check_job_with, plan, strip_position,
    validate_job_id,
};
use imgflow_shared::retry::Jitter;
use serde_json::{Value, json};

use crate::app::{App, unix_now};
use crate::envelope::{Envelope, http_answer, method};
use crate::errors::FunctionError;
use crate::records::QueueRecords;
use crate::sfn;
use crate::webhook::{authenticate, bad_request};

pub async fn handle(app: &App, envelope: Envelope) -> Result<Value, FunctionError> {
    match envelope {
        Envelope::Task(input) => check_task(app, input).await,
        Envelope::Webhook(request) => Ok(status_webhook(app, &request).await),
        Envelope::Event(_) => Err(FunctionError::invalid(&ValidationError::new(
            "detail-type",
            "check-status is called by the state machine or a webhook, not by events",
        ))),
    }
}

/// The state machine's first state (Validate) sends the execution's input as
/// `{"validate": <input>}`: it must be a whole job, checked like a webhook's (fields, rules,
/// keys for its clouds), and comes back with its `kind` and options filled in. Anything else
/// (`{}`, `[]`, a job state, bare tasks) is refused naming the field, so the execution ends
/// in NotifyCheckFailed with a completion event before anything starts.
///
/// A job given directly (`requests` and neither `starts` nor `tasks`) is checked the same
/// way; any other input is a job state to check.
async fn check_task(app: &App, input: Value) -> Result<Value, FunctionError> {
    if let Some((document, execution)) = plan_request(&input) {
        let job = app
            .accept_job(document, None)
            .map_err(|err| FunctionError::invalid(&err))?;
        let plan =
            plan::plan(&job, execution, unix_now()).map_err(|err| FunctionError::invalid(&err))?;
        tracing::info!(job_id = %job.job_id, requests = job.requests.len(), tasks = plan.tasks_total, chunks = plan.chunks.len(), "job planned");
        return serde_json::to_value(&plan).map_err(|err| FunctionError::config(err.to_string()));
    }
    if let Some(document) = single_field(&input, "summarize") {
        let request: plan::SummarizeInput =
            serde_json::from_value(document.clone()).map_err(|err| {
                let rule = format!("not a chunk summary: {}", strip_position(&err));
                FunctionError::invalid(&ValidationError::new("summarize", rule))
            })?;
        validate_job_id(&request.job_id).map_err(|err| FunctionError::invalid(&err))?;
        let summary = plan::summarize(request, unix_now());
        tracing::info!(job_id = %summary["job_id"], state = %summary["state"], tasks_total = %summary["summary"]["tasks_total"], "job summarized");
        return Ok(summary);
    }
    let is_job = input.get("requests").is_some()
        && input.get("starts").is_none()
        && input.get("tasks").is_none();
    if let Some(document) = validate_request(&input).or(is_job.then_some(&input)) {
        let job = app
            .accept_job(document, None)
            .map_err(|err| FunctionError::invalid(&err))?;
        tracing::info!(job_id = %job.job_id, requests = job.requests.len(), "job accepted");
        return Ok(job.to_value());
    }
    let input: CheckInput = serde_json::from_value(input).map_err(|err| {
        let rule = format!("not a job state: {}", strip_position(&err));
        FunctionError::invalid(&ValidationError::new("$", rule))
    })?;
    // Every field that reaches a host, a path or a query, before any call.
    input
        .validate(app.cloud.endpoints())
        .map_err(|err| FunctionError::invalid(&err))?;
    let mut jitter = Jitter::from_clock();
    let records = QueueRecords { app };
    let state = check_job_with(
        &app.cloud,
        &records,
        input,
        unix_now(),
        CheckMode::Drive,
        &mut jitter,
    )
    .await;
    log_state(&state);
    match &state.chunk {
        // A chunk of a larger job that has ended: its results for the bucket and its counts.
        Some(chunk) if state.state != JobPhase::Running => Ok(plan::chunk_answer(&state, chunk)),
        _ => Ok(state.to_document()),
    }
}

/// The Validate state's `{"plan": <input>, "execution": <the execution's name>}`: the job is
/// checked as for `{"validate": ...}` and split into chunks ([`plan::plan`]).
fn plan_request(input: &Value) -> Option<(&Value, &str)> {
    let fields = input.as_object()?;
    match (fields.len(), fields.get("plan"), fields.get("execution")) {
        (2, Some(document), Some(Value::String(execution))) => Some((document, execution)),
        _ => None,
    }
}

fn single_field<'a>(input: &'a Value, name: &str) -> Option<&'a Value> {
    let fields = input.as_object()?;
    match (fields.len(), fields.get(name)) {
        (1, Some(document)) => Some(document),
        _ => None,
    }
}

/// The execution's input when `input` is the Validate state's `{"validate": <input>}`.
fn validate_request(input: &Value) -> Option<&Value> {
    single_field(input, "validate")
}

fn log_state(state: &JobState) {
    for task in &state.tasks {
        tracing::info!(
            job_id = %state.job_id,
            cloud = %task.task.cloud,
            region = %task.task.region,
            image_id = %task.task.image_id,
            task_id = task.task.task_id.as_deref().unwrap_or(""),
            destination_region = task.task.destination_region.as_deref().unwrap_or(""),
            state = ?task.state,
            progress = task.progress.map(u64::from),
            "task checked"
        );
    }
    tracing::info!(
        job_id = %state.job_id,
        state = ?state.state,
        checks = state.checks,
        wait_seconds = state.wait_seconds,
        "job checked"
    );
}

/// POST `{"job_id": "..."}` (the newest execution of that job) or `{"execution_arn": "..."}`.
async fn status_webhook(
    app: &App,
    request: &aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest,
) -> Value {
    let body = match authenticate(app, request) {
        Ok((body, _)) => body,
        Err(answer) => return answer,
    };
    if method(request) != "POST" {
        return http_answer(
            405,
            &json!({"error": ErrorName::RequestMethod.as_str(), "message": "ask with POST {\"job_id\": ...}"}),
        );
    }
    let document: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let job_id = document.get("job_id").and_then(Value::as_str);
    let execution_arn = document.get("execution_arn").and_then(Value::as_str);
    if job_id.is_none() && execution_arn.is_none() {
        return bad_request(&ValidationError::new(
            "job_id",
            "is required (or execution_arn)",
        ));
    }
    if let Some(Err(err)) = job_id.map(validate_job_id) {
        return bad_request(&err);
    }
    let (Some(aws), Some(state_machine_arn)) = (&app.aws, &app.settings.state_machine_arn) else {
        return http_answer(
            500,
            &json!({"error": ErrorName::ConfigInvalid.as_str(), "message": "IMGFLOW_STATE_MACHINE_ARN and AWS credentials are needed"}),
        );
    };
    if let Some(Err(err)) =
        execution_arn.map(|arn| sfn::check_execution_arn(state_machine_arn, arn))
    {
        return bad_request(&err);
    }
    let aws_failed = |err: crate::aws::AwsError| {
        http_answer(
            502,
            &json!({"error": ErrorName::AwsError.as_str(), "message": err.to_string()}),
        )
    };
    let execution_arn = match (execution_arn, job_id) {
        (Some(arn), _) => arn.to_owned(),
        (None, Some(job_id)) => {
            match sfn::latest_execution_of_job(aws, state_machine_arn, job_id).await {
                Ok(Some(arn)) => arn,
                Ok(None) => {
                    return http_answer(
                        404,
                        &json!({"error": ErrorName::JobNotFound.as_str(), "message": format!("no execution of job {job_id}")}),
                    );
                }
                Err(err) => return aws_failed(err),
            }
        }
        (None, None) => unreachable!("checked above"),
    };
    let execution = match sfn::describe_execution(aws, &execution_arn).await {
        Ok(execution) => execution,
        Err(err) if err.code == "ExecutionDoesNotExist" => {
            return http_answer(
                404,
                &json!({"error": ErrorName::JobNotFound.as_str(), "message": err.message}),
            );
        }
        Err(err) => return aws_failed(err),
    };
    let status = execution
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("UNKNOWN")
        .to_owned();
    let mut answer = json!({
        "job_id": job_id.map(str::to_owned).or_else(|| execution.get("name").and_then(Value::as_str).and_then(sfn::job_id_of_execution).map(str::to_owned)),
        "execution_arn": execution_arn,
        "status": status,
    });
    match status.as_str() {
        "RUNNING" => match sfn::latest_check_output(aws, &execution_arn).await {
            Ok(Some(last)) => match readable_state(app, last) {
                // A fresh look at the open tasks; the job's own loop stays in charge.
                Ok(input) => {
                    let state = check_job(
                        &app.cloud,
                        input,
                        unix_now(),
                        CheckMode::Observe,
                        &mut Jitter::from_clock(),
                    )
                    .await;
                    answer["state"] = json!(state.state);
                    answer["summary"] = json!(state.summary);
                }
                Err(err) => answer["check_error"] = json!(err),
            },
            // A job run in chunks: its loops run in the children; say how many chunks have
            // ended (the counts per task come with the summary at the end).
            Ok(None) => match sfn::chunk_progress(aws, &execution_arn).await {
                Ok(Some(chunks)) => {
                    answer["state"] = json!("running");
                    answer["chunks"] = chunks;
                }
                Ok(None) => answer["state"] = json!("starting"),
                Err(err) => {
                    tracing::warn!(error = %err, "the job's chunk progress could not be read");
                    answer["state"] = json!("starting");
                }
            },
            Err(err) => return aws_failed(err),
        },
        _ => {
            for field in ["error", "cause"] {
                if let Some(value) = execution.get(field) {
                    answer[field] = value.clone();
                }
            }
            // A succeeded execution's output is the summary; any other ended execution has
            // its last state only in the history.
            let output = execution
                .get("output")
                .and_then(Value::as_str)
                .and_then(|text| serde_json::from_str::<Value>(text).ok());
            let last = match output {
                Some(summary) if status == "SUCCEEDED" => Some(json!({
                    "state": summary.get("state").cloned().unwrap_or(Value::Null),
                    "summary": summary,
                })),
                _ => sfn::latest_check_output(aws, &execution_arn)
                    .await
                    .ok()
                    .flatten(),
            };
            if let Some(last) = last {
                answer["state"] = last.get("state").cloned().unwrap_or(Value::Null);
                answer["summary"] = last.get("summary").cloned().unwrap_or(Value::Null);
            }
        }
    }
    http_answer(200, &answer)
}

/// An execution's recorded state as the next check's input, held to the same rules as the
/// state machine's own input.
fn readable_state(app: &App, last: Value) -> Result<CheckInput, String> {
    let input: CheckInput = serde_json::from_value(last).map_err(|err| err.to_string())?;
    input
        .validate(app.cloud.endpoints())
        .map_err(|err| err.to_string())?;
    Ok(input)
}
