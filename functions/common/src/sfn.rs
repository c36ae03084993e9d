//! The Step Functions calls: start a job's execution exactly once, and find a job's
//! execution and its latest check to answer a status request.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::aws::{AwsClient, AwsError, AwsService};

/// The name of a job's execution: the job id, then 12 hex digits of a hash of what makes
/// this start unique (the caller's idempotency key, the event id, or the signed delivery).
/// The same key always gives the same name, so a repeated delivery starts nothing new.
pub fn execution_name(job_id: &str, kind: &str, key: &str) -> String {
    let digest = Sha256::new()
        .chain_update(kind.as_bytes())
        .chain_update(b"\n")
        .chain_update(key.as_bytes())
        .finalize();
    let hex = imgflow_shared::signing::hex(&digest);
    format!("{job_id}--{}", &hex[..12])
}

/// The job id of an execution named by [`execution_name`]: the name without its `--` and 12
/// hex digits. `None` for any other name.
pub fn job_id_of_execution(name: &str) -> Option<&str> {
    let (job_id, hash) = name.rsplit_once("--")?;
    let is_hash = hash.len() == 12 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    (is_hash && !job_id.is_empty()).then_some(job_id)
}

/// Whether `name` is an execution of job `job_id`: exactly `<job_id>--<12 hex digits>`, so
/// job `a` never finds job `a--b`'s executions.
pub fn is_execution_of(name: &str, job_id: &str) -> bool {
    job_id_of_execution(name) == Some(job_id)
}

/// An execution ARN a status request may name: one of this state machine's executions.
pub fn check_execution_arn(
    state_machine_arn: &str,
    execution_arn: &str,
) -> Result<(), imgflow_shared::error::ValidationError> {
    let prefix = execution_arn_prefix(state_machine_arn);
    let name = execution_arn.strip_prefix(&prefix).unwrap_or_default();
    let ok = !name.is_empty() && name.len() <= 80 && !name.contains(':');
    if ok {
        Ok(())
    } else {
        Err(imgflow_shared::error::ValidationError::new(
            "execution_arn",
            format!("must be an execution of this deployment's state machine ({prefix}<name>)"),
        ))
    }
}

fn execution_arn_prefix(state_machine_arn: &str) -> String {
    execution_arn(state_machine_arn, "")
}

/// The execution ARN Step Functions gives an execution named `name` of `state_machine_arn`.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Started {
    pub execution_arn: String,
    /// The execution already existed with this very input: nothing new was started.
    pub duplicate: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StartExecutionError {
    #[error(
        "an execution named {name} already exists with a different job: reuse of an idempotency key"
    )]
    KeyReused { name: String, execution_arn: String },
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// Starts the execution, or finds the one a previous delivery started with the same input.
/// The execution is looked up first: Step Functions answers a repeated StartExecution for a
/// running execution as if it were new, so only the lookup tells a repeat apart. Two
/// deliveries racing past the lookup still start one execution (same name, same input).
pub async fn start_execution(
    aws: &AwsClient,
    state_machine_arn: &str,
    name: &str,
    input: &Value,
) -> Result<Started, StartExecutionError> {
    let arn = execution_arn(state_machine_arn, name);
    let existing = match describe_execution(aws, &arn).await {
        Ok(existing) => Some(existing),
        Err(error) if error.code == "ExecutionDoesNotExist" => None,
        Err(error) => return Err(error.into()),
    };
    let started = match existing {
        Some(existing) => existing,
        None => {
            let body = json!({"stateMachineArn": state_machine_arn, "name": name, "input": input.to_string()});
            match aws
                .call(AwsService::StepFunctions, "StartExecution", &body)
                .await
            {
                Ok(answer) => {
                    let arn = answer
                        .get("executionArn")
                        .and_then(Value::as_str)
                        .map_or(arn, str::to_owned);
                    return Ok(Started {
                        execution_arn: arn,
                        duplicate: false,
                    });
                }
                // Another delivery started it between the lookup and now.
                Err(error) if error.code == "ExecutionAlreadyExists" => {
                    describe_execution(aws, &arn).await?
                }
                Err(error) => return Err(error.into()),
            }
        }
    };
    let same_input = started
        .get("input")
        .and_then(Value::as_str)
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .is_some_and(|existing_input| existing_input == *input);
    if same_input {
        Ok(Started {
            execution_arn: arn,
            duplicate: true,
        })
    } else {
        Err(StartExecutionError::KeyReused {
            name: name.to_owned(),
            execution_arn: arn,
        })
    }
}

pub async fn describe_execution(aws: &AwsClient, execution_arn: &str) -> Result<Value, AwsError> {
    aws.call(
        AwsService::StepFunctions,
        "DescribeExecution",
        &json!({"executionArn": execution_arn}),
    )
    .await
}

/// How far the chunks of a job run in chunks have got: the item counts of the execution's
/// Distributed Map run (`{total, pending, running, succeeded, failed, timedOut, aborted}`,
/// one item per chunk), or None before the run has begun.
pub async fn chunk_progress(
    aws: &AwsClient,
    execution_arn: &str,
) -> Result<Option<Value>, AwsError> {
    let runs = aws
        .call(
            AwsService::StepFunctions,
            "ListMapRuns",
            &json!({"executionArn": execution_arn}),
        )
        .await?;
    let Some(map_run_arn) = runs
        .get("mapRuns")
        .and_then(Value::as_array)
        .and_then(|runs| runs.first())
        .and_then(|run| run.get("mapRunArn"))
        .and_then(Value::as_str)
    else {
        return Ok(None);
    };
    let run = aws
        .call(
            AwsService::StepFunctions,
            "DescribeMapRun",
            &json!({"mapRunArn": map_run_arn}),
        )
        .await?;
    Ok(run.get("itemCounts").cloned())
}

/// The newest execution of `job_id` (names `<job_id>--<hash>`), looking through at most
/// five pages of the state machine's executions, newest first.
pub async fn latest_execution_of_job(
    aws: &AwsClient,
    state_machine_arn: &str,
    job_id: &str,
) -> Result<Option<String>, AwsError> {
    let mut token: Option<String> = None;
    for _ in 0..5 {
        let mut body = json!({"stateMachineArn": state_machine_arn, "maxResults": 1000});
        if let Some(token) = &token {
            body["nextToken"] = json!(token);
        }
        let page = aws
            .call(AwsService::StepFunctions, "ListExecutions", &body)
            .await?;
        let executions = page
            .get("executions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if let Some(arn) = newest_execution_of(&executions, job_id) {
            return Ok(Some(arn.to_owned()));
        }
        token = page
            .get("nextToken")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(None)
}

/// The ARN of the newest of `executions` (a ListExecutions page) that belongs to `job_id`.
pub fn newest_execution_of<'a>(executions: &'a [Value], job_id: &str) -> Option<&'a str> {
    executions
        .iter()
        .filter(|e| {
            e.get("name")
                .and_then(Value::as_str)
                .is_some_and(|name| is_execution_of(name, job_id))
        })
        .max_by(|a, b| {
            let start = |e: &Value| e.get("startDate").and_then(Value::as_f64).unwrap_or(0.0);
            start(a).total_cmp(&start(b))
        })
        .and_then(|e| e.get("executionArn"))
        .and_then(Value::as_str)
}

/// The output of the execution's most recent successful check-status call, if any: the
/// job's latest recorded state. Reads the newest 200 history events.
pub async fn latest_check_output(
    aws: &AwsClient,
    execution_arn: &str,
) -> Result<Option<Value>, AwsError> {
    let body = json!({"executionArn": execution_arn, "reverseOrder": true, "maxResults": 200});
    let history = aws
        .call(AwsService::StepFunctions, "GetExecutionHistory", &body)
        .await?;
    let events = history
        .get("events")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for event in events {
        let details = event
            .get("lambdaFunctionSucceededEventDetails")
            .or_else(|| event.get("taskSucceededEventDetails"));
        let Some(output) = details
            .and_then(|d| d.get("output"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        // A check's state (tasks, summary) or the summary of a job run in chunks (the
        // Summarize state's: summary and wait_seconds, no tasks).
        if let Ok(value) = serde_json::from_str::<Value>(output)
            && value.get("summary").is_some()
            && (value.get("tasks").is_some() || value.get("wait_seconds").is_some())
        {
            return Ok(Some(value));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_short_and_distinct_per_key() {
        let a = execution_name("nightly-web", "export", "event:1");
        assert_eq!(a, execution_name("nightly-web", "export", "event:1"));
        assert_ne!(a, execution_name("nightly-web", "export", "event:2"));
        assert_ne!(a, execution_name("nightly-web", "sync", "event:1"));
        assert!(a.starts_with("nightly-web--") && a.len() == "nightly-web--".len() + 12);
        assert!(execution_name(&"j".repeat(64), "export", "k").len() <= 80);
    }

    #[test]
    fn execution_arns_follow_the_state_machine_arn() {
        assert_eq!(
            execution_arn(
                "arn:aws:states:eu-west-1:123456789012:stateMachine:imgflow-jobs",
                "j--abc"
            ),
            "arn:aws:states:eu-west-1:123456789012:execution:imgflow-jobs:j--abc"
        );
    }

    #[test]
    fn a_job_finds_only_its_own_executions() {
        let arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:imgflow-jobs";
        let b = execution_name("a--b", "export", "k");
        let a = execution_name("a", "export", "k");
        let page = vec![
            json!({"name": b, "executionArn": execution_arn(arn, &b), "startDate": 2.0}),
            json!({"name": a, "executionArn": execution_arn(arn, &a), "startDate": 1.0}),
            json!({"name": "a--zzz", "executionArn": "x", "startDate": 3.0}),
        ];
        assert_eq!(
            newest_execution_of(&page, "a"),
            Some(execution_arn(arn, &a).as_str())
        );
        assert_eq!(
            newest_execution_of(&page, "a--b"),
            Some(execution_arn(arn, &b).as_str())
        );
        assert_eq!(newest_execution_of(&page, "c"), None);
        assert_eq!(job_id_of_execution(&b), Some("a--b"));
        assert_eq!(job_id_of_execution("nightly"), None);
    }

    #[test]
    fn a_status_request_names_only_this_state_machines_executions() {
        let arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:imgflow-jobs";
        assert!(check_execution_arn(arn, &execution_arn(arn, "j--0123456789ab")).is_ok());
        for other in [
            "arn:aws:states:eu-west-1:123456789012:execution:other:j--0123456789ab",
            "arn:aws:states:eu-west-1:123456789012:execution:imgflow-jobs:",
            "arn:aws:states:eu-west-1:123456789012:execution:imgflow-jobs:j:x",
        ] {
            let err = check_execution_arn(arn, other).expect_err(other);
            assert_eq!(err.field, "execution_arn");
        }
    }
}
