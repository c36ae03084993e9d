//! Hostile and foreign input (issue 13, items 1, 7 and 8): signed idempotency keys, events
//! of triggers the functions do not take (the published fixtures in functions/events/foreign/),
//! Scheduler's own event and retries, and the signing script the README gives users.

use std::path::Path;

use crate::support::*;
use imgflow_functions::Function;
use imgflow_functions::webhook::KEY_RULE;
use serde_json::{Value, json};

const FUNCTIONS: [Function; 3] = [
    Function::StartExport,
    Function::StartSync,
    Function::CheckStatus,
];

fn with_key(mut event: Value, key: &str) -> Value {
    event["headers"]["idempotency-key"] = json!(key);
    event
}

#[tokio::test]
async fn a_captured_webhook_replayed_under_other_idempotency_keys_starts_nothing() {
    let (aws_url, calls) = fake_aws::start().await;
    let h = harness_with(|env| {
        env.insert("AWS_ENDPOINT_URL".into(), aws_url);
    })
    .await;
    let captured = sign_webhook(
        fixture("start-export/webhook.json"),
        WEBHOOK_SECRET,
        unix_now(),
    );
    for key in ["replay-1", "replay-2", "replay-3", "replay-4", "replay-5"] {
        let (status, body) = http(
            &h.call(Function::StartExport, with_key(captured.clone(), key))
                .await
                .expect("an answer"),
        );
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("Webhook.Unauthorized")),
            "{key}: {body}"
        );
    }
    let mut keyless = captured.clone();
    keyless["headers"]
        .as_object_mut()
        .expect("headers")
        .remove("idempotency-key");
    let (status, _) = http(
        &h.call(Function::StartExport, keyless)
            .await
            .expect("an answer"),
    );
    assert_eq!(status, 401, "the key cannot be dropped either");
    assert!(calls.all().is_empty(), "{:?}", calls.all());
    // The request as signed is accepted, once per key.
    for _ in 0..2 {
        let (status, body) = http(
            &h.call(Function::StartExport, captured.clone())
                .await
                .expect("an answer"),
        );
        assert_eq!(status, 202, "{body}");
    }
    let names = calls.started_names();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names[0], names[1], "one key, one execution name");
}

#[tokio::test]
async fn an_idempotency_key_outside_visible_ascii_is_refused_by_name_not_ignored() {
    let (aws_url, calls) = fake_aws::start().await;
    let h = harness_with(|env| {
        env.insert("AWS_ENDPOINT_URL".into(), aws_url);
    })
    .await;
    for key in ["clé-4711", "two words", ""] {
        let event = sign_webhook(
            with_key(fixture("start-export/webhook.json"), key),
            WEBHOOK_SECRET,
            unix_now(),
        );
        let (status, body) = http(&h.call(Function::StartExport, event).await.expect("answer"));
        assert_eq!(
            (status, body["field"].as_str(), body["rule"].as_str()),
            (400, Some("Idempotency-Key"), Some(KEY_RULE)),
            "{key:?}: {body}"
        );
    }
    assert!(calls.all().is_empty(), "{:?}", calls.all());
}

/// What each function must answer to an event of `foreign/`.
enum Expected {
    /// Refused by name: `Trigger.Unsupported`, the message starting with the field.
    Unsupported(&'static str),
    /// A webhook: unsigned, so 401.
    Unauthorized,
    /// An EventBridge event: start-* refuse its detail (no job), check-status refuses events.
    EventWithoutJob,
}

fn expected(file: &str) -> Expected {
    use Expected::*;
    match file {
        f if f.starts_with("example-alb-") => Unsupported("requestContext.elb"),
        "example-apigw-request.json"
        | "example-apigw-sam-rest-request.json"
        | "example-apigw-restapi-openapi-request.json"
        | "example-apigw-console-test-request.json" => Unsupported("httpMethod"),
        "example-apigw-websocket-request.json" => Unsupported("requestContext.connectionId"),
        "example-apigw-custom-auth-request.json" => Unsupported("methodArn"),
        "example-apigw-v2-request-no-authorizer.json" | "example-apigw-sam-http-request.json" => {
            Unauthorized
        }
        "example-sqs-event.json"
        | "example-sqs-event-obj.json"
        | "example-s3-event.json"
        | "example-sns-event.json"
        | "example-dynamodb-event.json"
        | "example-kinesis-event.json"
        | "example-ses-event.json"
        | "example-code_commit-event.json" => Unsupported("Records[0].eventSource"),
        "example-kafka-event.json" | "example-activemq-event.json" => Unsupported("eventSource"),
        "example-firehose-event.json" => Unsupported("deliveryStreamArn"),
        "example-cloudwatch_logs-event.json" => Unsupported("awslogs"),
        "example-cognito-event-userpools-presignup.json" => Unsupported("triggerSource"),
        "example-cloudformation-custom-resource-create-request.json" => Unsupported("RequestType"),
        "example-s3-object-lambda-event-get-object-iam.json" => Unsupported("getObjectContext"),
        "example-eventbridge-schedule.json"
        | "example-eventbridge-event-obj.json"
        | "example-codebuild-state-change.json"
        | "scheduler-default.json" => EventWithoutJob,
        other => panic!("{other}: add its expected answer to hostile.rs and foreign/README.md"),
    }
}

pub fn foreign_fixtures() -> Vec<(String, Value)> {
    let dir = events_dir().join("foreign");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("foreign/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .expect("name")
                .to_owned();
            (name.clone(), fixture(&format!("foreign/{name}")))
        })
        .collect()
}

#[tokio::test]
async fn every_published_event_is_recognised_and_foreign_triggers_are_refused_by_name() {
    let (aws_url, calls) = fake_aws::start().await;
    let h = harness_with(|env| {
        env.insert("AWS_ENDPOINT_URL".into(), aws_url);
    })
    .await;
    let fixtures = foreign_fixtures();
    assert!(fixtures.len() >= 25, "{}", fixtures.len());
    for (file, event) in &fixtures {
        for function in FUNCTIONS {
            let answer = h.call(function, event.clone()).await;
            let case = format!("{file} → {}", function.name());
            match (expected(file), answer) {
                (Expected::Unsupported(field), Err(err)) => {
                    assert_eq!(err.name, "Trigger.Unsupported", "{case}: {err}");
                    assert!(
                        err.message.starts_with(&format!("{field}: the event is ")),
                        "{case}: {err}"
                    );
                }
                (Expected::Unauthorized, Ok(answer)) => {
                    assert_eq!(http(&answer).0, 401, "{case}");
                }
                (Expected::EventWithoutJob, Err(err)) => {
                    assert_eq!(err.name, "Request.Invalid", "{case}: {err}");
                    let field = if function == Function::CheckStatus {
                        "detail-type: "
                    } else {
                        "detail"
                    };
                    assert!(err.message.starts_with(field), "{case}: {err}");
                }
                (_, answer) => panic!("{case}: unexpected {answer:?}"),
            }
        }
    }
    assert!(calls.all().is_empty(), "{:?}", calls.all());
    assert_eq!(h.tasks_created(), 0);
}

#[tokio::test]
async fn schedulers_default_event_starts_the_configured_job() {
    let (aws_url, calls) = fake_aws::start().await;
    let job = fixture("start-export/eventbridge.json")["detail"].to_string();
    let h = harness_with(|env| {
        env.insert("AWS_ENDPOINT_URL".into(), aws_url);
        env.insert("IMGFLOW_SCHEDULED_JOB".into(), job);
    })
    .await;
    let event = fixture("foreign/scheduler-default.json");
    assert_eq!(event["detail"], "{}", "Scheduler's detail is a string");
    let answer = h.call(Function::StartExport, event).await.expect("started");
    assert_eq!(answer["job_id"], "nightly-web", "{answer}");
    assert_eq!(calls.started_names().len(), 1);
    assert_eq!(h.tasks_created(), 0, "the execution starts the tasks");
}

/// EventBridge Scheduler gives every attempt its own execution id (AWS: "The unique ID that
/// EventBridge Scheduler assigns for each attempted invocation of a target"). Its retries of
/// one scheduled run must start one execution; the next run, another.
#[tokio::test]
async fn schedulers_retries_of_one_run_start_one_execution_and_the_next_run_another() {
    let (aws_url, calls) = fake_aws::start().await;
    let job = fixture("start-sync/eventbridge.json")["detail"].to_string();
    let h = harness_with(|env| {
        env.insert("AWS_ENDPOINT_URL".into(), aws_url);
        env.insert("IMGFLOW_SCHEDULED_JOB".into(), job);
    })
    .await;
    let run = fixture("start-sync/scheduler.json");
    let mut attempts = Vec::new();
    for (attempt, id) in ["d32c5kddcf5bb8c3", "a81f0e2b7c4d9e10", "5b6c7d8e9f0a1b2c"]
        .into_iter()
        .enumerate()
    {
        let mut event = run.clone();
        event["id"] = json!(id);
        let answer = h.call(Function::StartSync, event).await.expect("started");
        attempts.push(answer["execution_name"].clone());
        assert_eq!(calls.started_names().len(), attempt + 1);
    }
    let names = calls.started_names();
    assert!(names.iter().all(|n| *n == names[0]), "{names:?}");
    assert!(attempts.iter().all(|n| *n == attempts[0]), "{attempts:?}");

    let mut next_run = run.clone();
    next_run["time"] = json!("2026-11-25T02:00:00Z");
    let answer = h
        .call(Function::StartSync, next_run)
        .await
        .expect("started");
    assert_ne!(answer["execution_name"], attempts[0]);

    let mut other_schedule = run.clone();
    other_schedule["resources"] =
        json!(["arn:aws:scheduler:eu-west-1:123456789012:schedule/default/other"]);
    let answer = h
        .call(Function::StartSync, other_schedule)
        .await
        .expect("started");
    assert_ne!(answer["execution_name"], attempts[0]);

    let mut anonymous = run.clone();
    anonymous["resources"] = json!([]);
    let err = h
        .call(Function::StartSync, anonymous)
        .await
        .expect_err("a scheduled event without its schedule");
    assert!(err.message.starts_with("resources: "), "{err}");
}

/// functions/events/sign-webhook.py, run as users run it, on an event whose body arrives
/// base64-encoded (Function URLs do that for binary content types) and with a key.
#[tokio::test]
async fn the_signing_script_signs_the_bytes_the_function_checks() {
    let (aws_url, calls) = fake_aws::start().await;
    let h = harness_with(|env| {
        env.insert("AWS_ENDPOINT_URL".into(), aws_url);
    })
    .await;
    let plain = fixture("start-export/webhook.json");
    let mut encoded = plain.clone();
    encoded["body"] = json!(base64(plain["body"].as_str().expect("body").as_bytes()));
    encoded["isBase64Encoded"] = json!(true);
    let mut keyless = plain.clone();
    keyless["headers"]
        .as_object_mut()
        .expect("headers")
        .remove("idempotency-key");
    for (case, event) in [
        ("plain", plain),
        ("base64", encoded),
        ("no key", keyless),
        (
            "key outside ASCII",
            with_key(fixture("start-export/webhook.json"), "clé-4711"),
        ),
    ] {
        let signed = run_script(&event);
        let (status, body) = http(&h.call(Function::StartExport, signed).await.expect("answer"));
        let expected = if case == "key outside ASCII" {
            400
        } else {
            202
        };
        assert_eq!(status, expected, "{case}: {body}");
    }
    assert_eq!(calls.started_names().len(), 3);
}

fn run_script(event: &Value) -> Value {
    let dir = std::env::temp_dir().join(format!("imgflow-sign-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join(format!("{}.json", rand_suffix(event)));
    std::fs::write(&file, event.to_string()).expect("write event");
    let script = events_dir().join("sign-webhook.py");
    let output = std::process::Command::new("python3")
        .arg(Path::new(&script))
        .arg(&file)
        .env("IMGFLOW_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .output()
        .expect("python3 runs (tests/e2e needs it too)");
    let _ = std::fs::remove_file(&file);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the script prints the signed event")
}

fn rand_suffix(event: &Value) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    event.to_string().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

/// What a refusal may tell anyone who can reach the URL: which header is missing or
/// malformed, that the timestamp is outside the window, that the signature does not match.
/// Not the server's clock (a skew in seconds), not the deployment's configuration.
#[tokio::test]
async fn refusals_tell_a_client_what_to_fix_and_nothing_about_the_server() {
    let h = harness().await;
    let then = unix_now() - 7_200;
    let stale = sign_webhook(fixture("start-export/webhook.json"), WEBHOOK_SECRET, then);
    let (status, body) = http(&h.call(Function::StartExport, stale).await.expect("answer"));
    assert_eq!(status, 401);
    let message = body["message"].as_str().expect("message");
    assert!(message.contains("X-Imgflow-Timestamp"), "{message}");
    assert!(
        !message
            .chars()
            .any(|c| c.is_ascii_digit() && c != '3' && c != '0'),
        "no skew in the answer: {message}"
    );

    let h = harness_with(|env| {
        env.remove("IMGFLOW_WEBHOOK_SECRET");
    })
    .await;
    for function in FUNCTIONS {
        let template = match function {
            Function::StartExport => "start-export/webhook.json",
            Function::StartSync => "start-sync/webhook.json",
            Function::CheckStatus => "check-status/webhook.json",
        };
        let event = sign_webhook(fixture(template), WEBHOOK_SECRET, unix_now());
        let (status, body) = http(&h.call(function, event).await.expect("answer"));
        assert_eq!(
            (status, body["error"].as_str()),
            (503, Some("Webhook.Unavailable")),
            "{body}"
        );
        let text = body.to_string().to_lowercase();
        assert!(
            !text.contains("secret") && !text.contains("configur"),
            "{body}"
        );
    }
    assert_eq!(h.aws_connections(), 0);
}
