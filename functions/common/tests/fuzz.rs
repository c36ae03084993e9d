//! Property tests over every document that enters a function: events of each trigger
//! (Step Functions task items of start-export, start-sync and check-status, EventBridge
//! rules and Scheduler, webhooks signed and unsigned, and the foreign triggers of
//! functions/events/foreign/), jobs, check-status states and task references, mutated from
//! the repository's example events and the published fixtures, or made up whole.
//!
//! Every case runs the real handler against the cloud emulator and a recording Step
//! Functions endpoint, and asserts:
//! - no panic (a panic fails the case, and proptest shrinks it);
//! - every refusal is typed: a stable error name, and for `Request.Invalid` and
//!   `Trigger.Unsupported` a message that starts with the field (`field: rule`); a webhook's
//!   400 names `field` and `rule`;
//! - a refusal started nothing: no task at a cloud, no StartExecution;
//! - nothing reached a host outside configuration: a trap listener, whose address is one of
//!   the strings the generators use (as a region, bucket, key, ...), is never connected to.
//!
//! Cases per property: `PROPTEST_CASES` (proptest's default, 256, in CI); `tests/fuzz.sh`
//! runs them at length. A failure prints the shrunk input.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::*;
use imgflow_functions::{Function, FunctionError};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};

/// The error names a handler may return (errors.rs, envelope.rs).
const NAMES: [&str; 10] = [
    "Request.Invalid",
    "Trigger.Unsupported",
    "Config.Invalid",
    "Cloud.Throttled",
    "Cloud.Transient",
    "Cloud.Quota",
    "Cloud.Conflict",
    "Cloud.UnknownOutcome",
    "Cloud.Rejected",
    "Aws.Error",
];

/// Stands for the trap listener's `host:port` in generated strings.
const TRAP: &str = "TRAP-HOST";

// ------------------------------------------------------------------ generators

/// Field names the documents use, and a few that they do not.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "job_id", "kind", "requests", "options", "cloud", "region", "bucket", "image_ids",
            "image_id", "format", "file_name_prefixes", "prefix", "role_name", "object_key",
            "destination_regions", "tasks", "starts", "index", "request", "task_id",
            "started_at", "deadline_at", "checks", "retry_after", "wait", "min_seconds",
            "max_seconds", "base_seconds", "deadline_seconds", "stall_seconds", "max_checks",
            "state", "progress", "item", "task", "destination_region", "detail", "detail-type",
            "source", "id", "time", "resources", "Records", "eventSource", "requestContext",
            "http", "version", "httpMethod", "headers", "body", "isBase64Encoded",
            "idempotency-key", "x-imgflow-signature", "x-imgflow-timestamp", "elb", "method",
        ]).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

/// Strings that break rules, steer hosts, or are almost right.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "", " ", ".", "..", "/", "a/../b", "exports/../web2.qcow2", "./x", "x/./y", "a--b",
            "clé-4711", "\u{0}", "\u{202e}", "%2e%2e", "ap-guangzhou", "cn-beijing",
            "cn-hangzhou", "cn-north-4", "cn-shanghai", "tencent", "alibaba", "volcengine",
            "huawei", "aws", "export", "sync", "QCOW2", "VHD", "raw", "{}", "null",
            "img-web00001", "image-ycweb000000000000001", "m-abc", "imgflow-backup-1250000000",
            "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/x", "Scheduled Event",
            "aws.scheduler", "aws:sqs", "2.0", "1.0", "POST", "GET", "2026-11-24T02:00:00Z",
            "99999999999999999999", "-1", "1e20", "NaN",
            "x@TRAP-HOST/", "TRAP-HOST", "http://TRAP-HOST/", "TRAP-HOST#", "a.TRAP-HOST",
            "x@TRAP-HOST:1/", "//TRAP-HOST/x",
        ]).prop_map(str::to_owned),
        1 => "[a-z0-9.@:/_-]{0,40}",
        1 => any::<String>(),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::sample::select(vec![0.0, -1.0, 0.5, 1e20, -1e20, 1e308, f64::MAX, 1e-300])
            .prop_map(|f| json!(f)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        text().prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn extreme() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        json!(1e20),
        json!(-1e20),
        json!(1e308),
        json!(-1),
        json!(-0.5),
        json!(0.5),
        json!(0),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(u32::MAX),
        json!(4_294_967_296u64),
        json!(18_446_744_073_709_551_615.0),
        json!("1e20"),
    ])
}

/// A change to a document: at one of its places (chosen by index among all of them),
/// replace the value, remove it, or add a field (an element to an array).
#[derive(Clone, Debug)]
enum Mutation {
    Replace(Index, Value),
    Remove(Index),
    Insert(Index, String, Value),
    /// One of the document's numbers becomes an extreme one (huge, negative, fractional).
    Extreme(Index, Value),
    /// One of the document's strings becomes one that breaks a rule or steers a host.
    Hostile(Index, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        1 => any::<Index>().prop_map(Mutation::Remove),
        2 => (any::<Index>(), key(), value()).prop_map(|(i, k, v)| Mutation::Insert(i, k, v)),
        2 => (any::<Index>(), extreme()).prop_map(|(i, v)| Mutation::Extreme(i, v)),
        2 => (any::<Index>(), text()).prop_map(|(i, t)| Mutation::Hostile(i, t)),
    ]
}

fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                pointers(
                    v,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn apply(mut doc: Value, mutations: &[Mutation]) -> Value {
    for m in mutations {
        let mut places = Vec::new();
        pointers(&doc, String::new(), &mut places);
        match m {
            Mutation::Replace(i, v) => {
                if let Some(slot) = doc.pointer_mut(i.get::<String>(&places).as_str()) {
                    *slot = v.clone();
                }
            }
            Mutation::Remove(i) => {
                let place = i.get(&places).clone();
                if let Some((parent, last)) = place.rsplit_once('/') {
                    let last = last.replace("~1", "/").replace("~0", "~");
                    match doc.pointer_mut(parent) {
                        Some(Value::Object(map)) => {
                            map.remove(&last);
                        }
                        Some(Value::Array(items)) => {
                            if let Ok(n) = last.parse::<usize>()
                                && n < items.len()
                            {
                                items.remove(n);
                            }
                        }
                        _ => {}
                    }
                }
            }
            Mutation::Extreme(i, v) => replace_where(&mut doc, &places, i, Value::is_number, v),
            Mutation::Hostile(i, t) => {
                replace_where(&mut doc, &places, i, Value::is_string, &json!(t));
            }
            Mutation::Insert(i, k, v) => match doc.pointer_mut(i.get::<String>(&places).as_str()) {
                Some(Value::Object(map)) => {
                    map.insert(k.clone(), v.clone());
                }
                Some(Value::Array(items)) => items.push(v.clone()),
                _ => {}
            },
        }
    }
    doc
}

/// Replaces the value at one of the places whose value passes `kind`.
fn replace_where(
    doc: &mut Value,
    places: &[String],
    i: &Index,
    kind: impl Fn(&Value) -> bool,
    with: &Value,
) {
    let chosen: Vec<&String> = places
        .iter()
        .filter(|p| doc.pointer(p).is_some_and(&kind))
        .collect();
    if chosen.is_empty() {
        return;
    }
    let place = i.get(&chosen).to_string();
    if let Some(slot) = doc.pointer_mut(&place) {
        *slot = with.clone();
    }
}

/// `seed`, changed one to three times, or now and then a document made up whole.
fn document(seeds: Vec<Value>) -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => (prop::sample::select(seeds), prop::collection::vec(mutation(), 1..4))
            .prop_map(|(seed, muts)| apply(seed, &muts)),
        1 => value(),
    ]
}

/// Puts the trap's address where the generators wrote [`TRAP`].
fn aim(doc: Value, trap: &str) -> Value {
    match doc {
        Value::String(s) => Value::String(s.replace(TRAP, trap)),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| aim(v, trap)).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.replace(TRAP, trap), aim(v, trap)))
                .collect::<Map<String, Value>>(),
        ),
        other => other,
    }
}

// ------------------------------------------------------------------ the world

struct World {
    h: Harness,
    calls: fake_aws::Calls,
    trap: String,
    trap_hits: Arc<AtomicUsize>,
    /// How the cases ended (`Request.Invalid`, `HTTP 401`, `Ok`...), printed at the end of a
    /// property (`--nocapture`) to show what the inputs reached.
    outcomes: std::sync::Mutex<BTreeMap<String, usize>>,
}

impl World {
    fn tally(&self, outcome: String) {
        *self
            .outcomes
            .lock()
            .expect("outcomes")
            .entry(outcome)
            .or_default() += 1;
    }

    fn report(&self, property: &str) {
        let outcomes = self.outcomes.lock().expect("outcomes");
        let total: usize = outcomes.values().sum();
        eprintln!(
            "{property}: {total} cases, {} task(s) started at the emulator, {} StartExecution(s): {outcomes:?}",
            self.h.tasks_created(),
            self.calls.started_names().len()
        );
    }
}

async fn world(scheduled_job: bool) -> World {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let trap = listener.local_addr().expect("addr").to_string();
    let trap_hits = Arc::new(AtomicUsize::new(0));
    let hits = Arc::clone(&trap_hits);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            hits.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    let (aws_url, calls) = fake_aws::start().await;
    let h = harness_with(|env: &mut BTreeMap<String, String>| {
        env.insert("AWS_ENDPOINT_URL".into(), aws_url);
        if scheduled_job {
            let job = fixture("start-export/eventbridge.json")["detail"].to_string();
            env.insert("IMGFLOW_SCHEDULED_JOB".into(), job);
        }
    })
    .await;
    World {
        h,
        calls,
        trap,
        trap_hits,
        outcomes: std::sync::Mutex::default(),
    }
}

fn runner() -> TestRunner {
    // PROPTEST_CASES (default 256) sets the cases; no regression files are written.
    TestRunner::new(Config {
        failure_persistence: None,
        ..Config::default()
    })
}

fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn fail(message: String) -> Result<(), TestCaseError> {
    Err(TestCaseError::fail(message))
}

/// `message` is `field: rule`, with a field.
fn names_a_field(message: &str) -> bool {
    message
        .split_once(": ")
        .is_some_and(|(field, rule)| !field.trim().is_empty() && !rule.trim().is_empty())
}

/// Runs `event` through `function` and checks the properties every answer has. `may_start`
/// says whether this input may legitimately start something when it is accepted.
async fn check(w: &World, function: Function, event: Value) -> Result<(), TestCaseError> {
    let tasks_before = w.h.tasks_created();
    let starts_before = w.calls.started_names().len();
    let answer = w.h.call(function, event.clone()).await;
    let started_tasks = w.h.tasks_created() - tasks_before;
    let started_executions = w.calls.started_names().len() - starts_before;
    if w.trap_hits.load(Ordering::SeqCst) > 0 {
        return fail(format!("a request reached the trap host: {event}"));
    }
    w.tally(match &answer {
        Err(err) => err.name.to_owned(),
        Ok(a) if a.get("statusCode").is_some() => format!("HTTP {}", a["statusCode"]),
        Ok(_) => "Ok".to_owned(),
    });
    match &answer {
        Err(FunctionError { name, message }) => {
            if !NAMES.contains(name) {
                return fail(format!("untyped error {name}: {message}"));
            }
            let refusal = *name == "Request.Invalid" || *name == "Trigger.Unsupported";
            if refusal && !names_a_field(message) {
                return fail(format!("{name} without a field: {message}"));
            }
            if refusal && (started_tasks > 0 || started_executions > 0) {
                return fail(format!(
                    "refused ({message}) but started {started_tasks} task(s), {started_executions} execution(s)"
                ));
            }
        }
        Ok(answer) if answer.get("statusCode").is_some() => {
            let status = answer["statusCode"].as_u64().unwrap_or(0);
            let body: Value = answer["body"]
                .as_str()
                .and_then(|b| serde_json::from_str(b).ok())
                .unwrap_or(Value::Null);
            if status != 202 && status != 200 && (started_tasks > 0 || started_executions > 0) {
                return fail(format!("answered {status} but started something: {body}"));
            }
            match status {
                200 | 202 => {}
                400 => {
                    let named = |k: &str| body[k].as_str().is_some_and(|v| !v.is_empty());
                    if !(named("field") && named("rule")) {
                        return fail(format!("400 without field and rule: {body}"));
                    }
                }
                401 if body["error"] == "Webhook.Unauthorized" => {}
                405 | 409 | 500 | 502 | 503 | 404 if body["error"].is_string() => {}
                _ => return fail(format!("unexpected answer {status}: {body}")),
            }
            if status == 202 && started_executions != 1 && body["duplicate"] != true {
                return fail(format!("202 without one execution: {body}"));
            }
            if started_tasks > 0 {
                return fail(format!(
                    "a webhook started {started_tasks} cloud task(s) itself"
                ));
            }
        }
        Ok(_) => {
            if function == Function::CheckStatus && started_tasks > 0 {
                return fail("check-status started a cloud task".into());
            }
        }
    }
    Ok(())
}

fn run_property(
    property: &str,
    scheduled_job: bool,
    strategy: impl Strategy<Value = (Function, Value)>,
    prepare: impl Fn(&World, Value) -> Value,
) {
    let rt = tokio();
    let w = rt.block_on(world(scheduled_job));
    let result = runner().run(&strategy, |(function, event)| {
        let event = prepare(&w, aim(event, &w.trap));
        rt.block_on(check(&w, function, event))
    });
    w.report(property);
    if let Err(err) = result {
        panic!("{err}");
    }
}

fn unchanged(_: &World, event: Value) -> Value {
    event
}

fn start_function() -> impl Strategy<Value = Function> {
    prop::sample::select(vec![Function::StartExport, Function::StartSync])
}

fn any_function() -> impl Strategy<Value = Function> {
    prop::sample::select(vec![
        Function::StartExport,
        Function::StartSync,
        Function::CheckStatus,
    ])
}

// ------------------------------------------------------------------ the properties

/// Step Functions task items and bare requests for start-export and start-sync.
#[test]
fn start_task_items() {
    let seeds = vec![
        fixture("start-export/step-functions.json"),
        fixture("start-sync/step-functions.json"),
        fixture("start-export/step-functions.json")["request"].clone(),
        fixture("start-sync/step-functions.json")["request"].clone(),
        json!({"index": 1, "request": fixture("start-export/eventbridge.json")["detail"]["requests"][1]}),
        json!({"index": 1, "request": fixture("start-sync/eventbridge.json")["detail"]["requests"][1]}),
    ];
    run_property(
        "start task items",
        false,
        (start_function(), document(seeds)),
        unchanged,
    );
}

fn check_status_seeds() -> (Value, Vec<Value>) {
    let state = fixture("check-status/step-functions.json");
    let tasks: Vec<Value> = state["starts"][0]["tasks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let seeds = vec![
        state.clone(),
        json!({"tasks": tasks}),
        fixture("start-export/eventbridge.json")["detail"].clone(),
        fixture("start-sync/eventbridge.json")["detail"].clone(),
        json!({"job_id": "j", "tasks": [{"item": 0, "task": tasks.first().cloned().unwrap_or(Value::Null),
            "state": "running", "progress": 40, "changed_at": 0}],
            "checks": 3, "started_at": 0, "deadline_at": 4_000_000_000u64}),
    ];
    (state, seeds)
}

/// check-status: the job (validation), the state after the starts, later states, task
/// references alone.
#[test]
fn check_status_states_jobs_and_task_references() {
    let (_, seeds) = check_status_seeds();
    run_property(
        "check-status states",
        false,
        (Just(Function::CheckStatus), document(seeds)),
        unchanged,
    );
}

/// check-status states that carry a cloud's error (a destination that did not start, with
/// the cloud's Retry-After in seconds). Finds issue 13 item 5 within about a thousand cases:
/// `retry_after: 1e20` panics in `Duration::from_secs_f64` (shared/src/error.rs). Run with
/// `--ignored` (tests/fuzz.sh does); the fix is another branch's (validation in shared/src).
#[test]
fn check_status_states_with_cloud_errors() {
    let (state, _) = check_status_seeds();
    let throttled = imgflow_shared::error::CloudError::new(
        imgflow_shared::Cloud::Alibaba,
        imgflow_shared::error::ErrorKind::Throttled,
        "Throttling.User",
        "Request was denied due to user flow control.",
    )
    .with_retry_after(Some(std::time::Duration::from_millis(1500)));
    let mut with_failure = state;
    with_failure["starts"][0]["failures"] =
        json!([{"destination_region": "cn-shanghai", "error": throttled}]);
    run_property(
        "check-status states with cloud errors",
        false,
        (Just(Function::CheckStatus), document(vec![with_failure])),
        unchanged,
    );
}

/// EventBridge events (rules, our schedule, Scheduler's default event) with and without a
/// configured job.
#[test]
fn eventbridge_and_scheduler_events() {
    let seeds = vec![
        fixture("start-export/eventbridge.json"),
        fixture("start-sync/eventbridge.json"),
        fixture("start-export/scheduler.json"),
        fixture("foreign/scheduler-default.json"),
        fixture("foreign/example-eventbridge-schedule.json"),
        fixture("foreign/example-eventbridge-event-obj.json"),
    ];
    for scheduled_job in [false, true] {
        let property = if scheduled_job {
            "events, a scheduled job configured"
        } else {
            "events"
        };
        run_property(
            property,
            scheduled_job,
            (any_function(), document(seeds.clone())),
            unchanged,
        );
    }
}

/// Webhooks whose envelope, headers or body changed after signing: all 401 (or refused as
/// not a webhook), nothing started.
#[test]
fn tampered_webhooks() {
    let seeds: Vec<Value> = [
        "start-export/webhook.json",
        "start-sync/webhook.json",
        "check-status/webhook.json",
    ]
    .iter()
    .map(|f| fixture(f))
    .collect();
    let strategy = (
        any_function(),
        prop::sample::select(seeds),
        prop::collection::vec(mutation(), 1..4),
    );
    let rt = tokio();
    let w = rt.block_on(world(false));
    let result = runner().run(&strategy, |(function, seed, muts)| {
        let signed = sign_webhook(seed, WEBHOOK_SECRET, unix_now());
        let tampered = aim(apply(signed.clone(), &muts), &w.trap);
        let same_request = signed_parts(&tampered) == signed_parts(&signed);
        let starts_before = w.calls.started_names().len();
        rt.block_on(check(&w, function, tampered.clone()))?;
        if !same_request && w.calls.started_names().len() != starts_before {
            return fail(format!(
                "a tampered webhook started an execution: {tampered}"
            ));
        }
        Ok(())
    });
    w.report("tampered webhooks");
    if let Err(err) = result {
        panic!("{err}");
    }
}

/// What the signature covers or names: the body (and its encoding) and the values of the
/// timestamp, signature and key headers, whatever the case of their names.
fn signed_parts(event: &Value) -> (Value, Value, Vec<(String, Value)>) {
    let mut headers: Vec<(String, Value)> = event["headers"]
        .as_object()
        .map(|h| {
            h.iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .filter(|(k, _)| {
                    [
                        "x-imgflow-timestamp",
                        "x-imgflow-signature",
                        "idempotency-key",
                    ]
                    .contains(&k.as_str())
                })
                .collect()
        })
        .unwrap_or_default();
    headers.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.to_string().cmp(&b.1.to_string()))
    });
    (
        event.get("body").cloned().unwrap_or(Value::Null),
        event.get("isBase64Encoded").cloned().unwrap_or(Value::Null),
        headers,
    )
}

/// Correctly signed webhooks carrying mutated jobs and arbitrary idempotency keys: 202 with
/// one execution, or a 400 naming the field with nothing started.
#[test]
fn signed_webhooks_with_mutated_jobs_and_keys() {
    let seeds = vec![
        fixture("start-export/eventbridge.json")["detail"].clone(),
        fixture("start-sync/eventbridge.json")["detail"].clone(),
        json!({"job_id": "nightly-web"}),
    ];
    let key = prop::option::of(prop_oneof![text(), "[!-~]{1,140}"]);
    let strategy = (any_function(), document(seeds), key);
    let rt = tokio();
    let w = rt.block_on(world(false));
    let result = runner().run(&strategy, |(function, job, key)| {
        let template = match function {
            Function::StartSync => "start-sync/webhook.json",
            Function::StartExport => "start-export/webhook.json",
            Function::CheckStatus => "check-status/webhook.json",
        };
        let mut event = fixture(template);
        event["body"] = json!(aim(job, &w.trap).to_string());
        let headers = event["headers"].as_object_mut().expect("headers");
        headers.remove("idempotency-key");
        if let Some(key) = key {
            // Only what a header can hold reaches a function.
            if http::HeaderValue::from_str(&key).is_ok() {
                headers.insert("idempotency-key".into(), json!(key));
            }
        }
        let event = sign_webhook(event, WEBHOOK_SECRET, unix_now());
        rt.block_on(check(&w, function, event))
    });
    w.report("signed webhooks");
    if let Err(err) = result {
        panic!("{err}");
    }
}

/// The published events of other triggers, mutated, and documents made up whole, to every
/// function.
#[test]
fn foreign_triggers_and_anything_else() {
    let dir = events_dir().join("foreign");
    let mut seeds: Vec<Value> = std::fs::read_dir(&dir)
        .expect("foreign/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .expect("name")
                .to_owned();
            fixture(&format!("foreign/{name}"))
        })
        .collect();
    seeds.sort_by_key(Value::to_string);
    run_property(
        "foreign triggers and anything else",
        false,
        (any_function(), document(seeds)),
        unchanged,
    );
}

/// The host a real deployment would send each accepted request to, for every job the
/// validation accepts: only the cloud's own domain, nothing a field could steer (`x@host/`,
/// `host#`, `/`, `:port`). The emulator's single base URL hides this in the other
/// properties, so this one computes the real endpoints (`Endpoints::real()`) instead of
/// sending anything.
#[test]
fn accepted_jobs_reach_only_the_clouds_own_hosts() {
    use imgflow_shared::Cloud;
    use imgflow_shared::endpoints::Endpoints;
    use imgflow_shared::job::{Job, JobRequests};

    fn suffix(cloud: Cloud) -> &'static [&'static str] {
        match cloud {
            Cloud::Tencent => &[".tencentcloudapi.com", ".myqcloud.com"],
            Cloud::Alibaba => &[".aliyuncs.com"],
            Cloud::Volcengine => &[".volcengineapi.com", ".volces.com"],
            Cloud::Huawei => &[".myhuaweicloud.com"],
        }
    }
    fn host_ok(cloud: Cloud, host: &str) -> bool {
        host.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && !host.contains("..")
            && suffix(cloud).iter().any(|s| host.ends_with(s))
    }
    let seeds = vec![
        fixture("start-export/eventbridge.json")["detail"].clone(),
        fixture("start-sync/eventbridge.json")["detail"].clone(),
    ];
    let real = Endpoints::real();
    let accepted = AtomicUsize::new(0);
    let result = runner().run(&document(seeds), |job| {
        let job = aim(job, "127.0.0.1:9");
        let Ok(parsed) = Job::parse(&job, None) else {
            return Ok(());
        };
        accepted.fetch_add(1, Ordering::Relaxed);
        let requests: Vec<(Cloud, Value)> = match &parsed.requests {
            JobRequests::Export(r) => r
                .iter()
                .map(|r| (r.cloud(), serde_json::to_value(r).unwrap_or(Value::Null)))
                .collect(),
            JobRequests::Copy(r) => r
                .iter()
                .map(|r| (r.cloud(), serde_json::to_value(r).unwrap_or(Value::Null)))
                .collect(),
        };
        for (cloud, request) in requests {
            let region = request["region"].as_str().unwrap_or_default();
            // A refused endpoint (Err) sends nothing; an accepted one must be the cloud's.
            let mut hosts: Vec<String> = real
                .api(cloud, region)
                .map(|t| t.host)
                .into_iter()
                .collect();
            if let Some(bucket) = request["bucket"].as_str() {
                hosts.extend(real.object(cloud, region, bucket, "k").map(|t| t.host));
            }
            for destination in request["destination_regions"]
                .as_array()
                .into_iter()
                .flatten()
            {
                hosts.extend(
                    real.api(cloud, destination.as_str().unwrap_or_default())
                        .map(|t| t.host),
                );
            }
            for host in hosts {
                if !host_ok(cloud, &host) {
                    return fail(format!("accepted job reaches host {host:?}: {request}"));
                }
            }
        }
        Ok(())
    });
    eprintln!(
        "accepted jobs: {} accepted, every host checked",
        accepted.load(Ordering::Relaxed)
    );
    if let Err(err) = result {
        panic!("{err}");
    }

    // The task references of a check-status state (they skip the job's checks: issue 13
    // item 3): every place that names a host, as check-status would use it.
    let (_, seeds) = check_status_seeds();
    let accepted = AtomicUsize::new(0);
    let result = runner().run(&document(seeds), |state| {
        let state = aim(state, "127.0.0.1:9");
        let Ok(input) = serde_json::from_value::<imgflow_shared::job::CheckInput>(state) else {
            return Ok(());
        };
        if input.options.validate().is_err() {
            return Ok(());
        }
        accepted.fetch_add(1, Ordering::Relaxed);
        let (tasks, _) = input.into_parts(1_795_485_600);
        for tracked in tasks {
            let task = &tracked.task;
            let mut hosts: Vec<String> = real
                .api(task.cloud, &task.region)
                .map(|t| t.host)
                .into_iter()
                .collect();
            if let Some(destination) = &task.destination_region {
                hosts.extend(real.api(task.cloud, destination).map(|t| t.host));
            }
            for object in &task.objects {
                hosts.extend(
                    real.object(task.cloud, &task.region, &object.bucket, &object.key)
                        .map(|t| t.host),
                );
            }
            for host in hosts {
                if !host_ok(task.cloud, &host) {
                    return fail(format!(
                        "an accepted task reference reaches host {host:?}: {task:?}"
                    ));
                }
            }
        }
        Ok(())
    });
    eprintln!(
        "check-status states: {} accepted, every host checked",
        accepted.load(Ordering::Relaxed)
    );
    if let Err(err) = result {
        panic!("{err}");
    }
}
