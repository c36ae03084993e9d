//! A function environment against a fresh in-process cloud emulator: the emulator's keys in
//! the clouds' variables, a webhook secret, and AWS endpoints pointing at a listener that
//! only counts connections (a webhook or event that must start nothing must not reach it).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub mod fake_aws;

use cloud_emulator::{EmulatorConfig, RunningEmulator};
use imgflow_functions::{App, Function, FunctionError, handle};
use serde_json::Value;

pub const AK: &str = "imgflow-emulator-ak";
pub const SK: &str = "imgflow-emulator-sk";
pub const WEBHOOK_SECRET: &str = "whsec-imgflow-test-3f9a1c";
pub const AWS_SECRET: &str = "aws-secret-imgflow-test-7b2e";

pub struct Harness {
    pub emulator: RunningEmulator,
    pub app: App,
    pub aws_connections: Arc<AtomicUsize>,
}

/// Counts TCP connections and closes them unanswered.
async fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (url, count)
}

pub fn environment(emulator_url: &str, aws_url: &str) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = [
        ("IMGFLOW_CLOUD_ENDPOINT", emulator_url),
        ("IMGFLOW_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("IMGFLOW_STATE_MACHINE_ARN", "arn:aws:states:eu-west-1:123456789012:stateMachine:imgflow-jobs"),
        ("AWS_ACCESS_KEY_ID", "AKIDIMGFLOWTEST"),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ENDPOINT_URL", aws_url),
        ("HUAWEICLOUD_PROJECT_IDS", "cn-north-4=0a1b2c3d4e5f40718293a4b5c6d7e8f9,cn-east-3=1b2c3d4e5f60418293a4b5c6d7e8f90a"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (id, secret) in [
        ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"),
        (
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        ),
        ("VOLCENGINE_ACCESS_KEY", "VOLCENGINE_SECRET_KEY"),
        ("HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK"),
    ] {
        env.insert(id.into(), AK.into());
        env.insert(secret.into(), SK.into());
    }
    env
}

pub async fn harness() -> Harness {
    harness_with(|_| {}).await
}

/// A harness whose environment `adjust` may change (drop a cloud's keys, say).
pub async fn harness_with(adjust: impl FnOnce(&mut BTreeMap<String, String>)) -> Harness {
    let emulator = cloud_emulator::start(EmulatorConfig {
        time_scale: 3600.0,
        ..EmulatorConfig::default()
    })
    .await
    .expect("the emulator starts");
    let (aws_url, aws_connections) = counting_listener().await;
    let mut env = environment(&emulator.base_url, &aws_url);
    adjust(&mut env);
    let lookup = move |name: &str| env.get(name).cloned();
    let app = App::load(&lookup)
        .await
        .expect("the function configures itself");
    Harness {
        emulator,
        app,
        aws_connections,
    }
}

impl Harness {
    pub async fn call(&self, function: Function, event: Value) -> Result<Value, FunctionError> {
        handle(function, &self.app, event).await
    }

    pub fn tasks_created(&self) -> u64 {
        self.emulator
            .world()
            .stats
            .snapshot()
            .tasks_created
            .values()
            .sum()
    }

    pub fn aws_connections(&self) -> usize {
        self.aws_connections.load(Ordering::SeqCst)
    }

    pub fn advance(&self, seconds: f64) {
        self.emulator.world().clock.advance(seconds);
    }
}

pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// An example event from functions/events/.
pub fn fixture(path: &str) -> Value {
    let file = events_dir().join(path);
    let text =
        std::fs::read_to_string(&file).unwrap_or_else(|err| panic!("{}: {err}", file.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", file.display()))
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Signs a webhook event's body (and its `idempotency-key` header, when it has one) the way
/// callers must: timestamp header, signature header.
pub fn sign_webhook(mut event: Value, secret: &str, timestamp: u64) -> Value {
    let body = event["body"].as_str().unwrap_or_default().to_owned();
    let key = event["headers"]["idempotency-key"]
        .as_str()
        .map(str::to_owned);
    let signature = imgflow_functions::webhook::signature(
        secret.as_bytes(),
        timestamp,
        body.as_bytes(),
        key.as_deref().map(str::as_bytes),
    );
    event["headers"]["x-imgflow-timestamp"] = Value::String(timestamp.to_string());
    event["headers"]["x-imgflow-signature"] = Value::String(signature);
    event
}

/// The status code and parsed JSON body of a webhook answer.
pub fn http(answer: &Value) -> (u64, Value) {
    let status = answer["statusCode"].as_u64().expect("a status code");
    let body = serde_json::from_str(answer["body"].as_str().expect("a body")).expect("a JSON body");
    (status, body)
}

/// Starts every request of `job` as the state machine's Map does: one task per request.
pub async fn start_all(h: &Harness, function: Function, job: &Value) -> Vec<Value> {
    let mut starts = Vec::new();
    for (index, request) in job["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .enumerate()
    {
        let item = serde_json::json!({"job_id": job["job_id"], "kind": job["kind"], "index": index,
            "execution_start": execution_start(), "request": request});
        starts.push(h.call(function, item).await.expect("started"));
    }
    starts
}

/// `$$.Execution.StartTime` for an execution that starts now (the state machine's Map item
/// carries it).
pub fn execution_start() -> String {
    imgflow_shared::signing::Timestamp::now().extended_iso8601()
}

/// Runs check-status the way the state machine does (the output is the next input) until
/// the job is final; the emulator's clock jumps by the wait the function asked for.
pub async fn run_checks(h: &Harness, mut state: Value) -> (Value, u32) {
    for round in 1..=1000 {
        state = h
            .call(Function::CheckStatus, state)
            .await
            .expect("check-status");
        if state["state"] != "running" {
            return (state, round);
        }
        let wait = state["wait_seconds"].as_u64().expect("wait_seconds");
        assert!(
            (10..=300).contains(&wait),
            "wait {wait} outside the job's policy"
        );
        h.advance(wait as f64);
    }
    panic!("the job did not finish: {state}");
}

/// What the state machine hands check-status after its start Map.
pub fn after_starts(job: &Value, starts: Vec<Value>) -> Value {
    let mut state = job.clone();
    state["starts"] = Value::Array(starts);
    state
}
