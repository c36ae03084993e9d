//! The `imgflow` binary against an in-process emulator: what it prints, and its exit codes.
//! The emulator runs 3600 times faster than real time, and `--wait` is given the same hidden
//! `--time-scale`, so that waits of cloud hours take real seconds.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use cloud_emulator::{EmulatorConfig, Fault, FaultKind, RunningEmulator};
use imgflow::report::StatusReport;
use imgflow_shared::Cloud;
use imgflow_shared::error::ErrorKind;
use imgflow_shared::model::{StartOutcome, TaskResult, TaskState};

const AK: &str = "imgflow-emulator-ak";
const SK: &str = "imgflow-emulator-sk";
const TIME_SCALE: &str = "3600";

/// Every variable the command line reads credentials from.
const CREDENTIAL_VARIABLES: [&str; 15] = [
    "TENCENTCLOUD_SECRET_ID",
    "TENCENTCLOUD_SECRET_KEY",
    "TENCENTCLOUD_SESSION_TOKEN",
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
    "VOLCENGINE_ACCESS_KEY",
    "VOLCENGINE_SECRET_KEY",
    "VOLCENGINE_SESSION_TOKEN",
    "HUAWEICLOUD_SDK_AK",
    "HUAWEICLOUD_SDK_SK",
    "HUAWEICLOUD_SDK_SECURITY_TOKEN",
    "HUAWEICLOUD_SDK_PROJECT_ID",
    "HUAWEICLOUD_SDK_REGION",
    "HUAWEICLOUD_PROJECT_IDS",
];

/// The emulator's keys on all four clouds, and its Huawei projects.
fn emulator_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("TENCENTCLOUD_SECRET_ID", AK),
        ("TENCENTCLOUD_SECRET_KEY", SK),
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", AK),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SK),
        ("VOLCENGINE_ACCESS_KEY", AK),
        ("VOLCENGINE_SECRET_KEY", SK),
        ("HUAWEICLOUD_SDK_AK", AK),
        ("HUAWEICLOUD_SDK_SK", SK),
        (
            "HUAWEICLOUD_PROJECT_IDS",
            "cn-north-4=0a1b2c3d4e5f40718293a4b5c6d7e8f9,cn-east-3=1b2c3d4e5f60418293a4b5c6d7e8f90a",
        ),
    ]
}

async fn emulator() -> RunningEmulator {
    cloud_emulator::start(EmulatorConfig {
        time_scale: 3600.0,
        ..EmulatorConfig::default()
    })
    .await
    .expect("the emulator starts")
}

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|err| panic!("stdout is not the expected JSON ({err}): {self:#?}"))
    }
}

/// Runs the binary with `args`, `stdin`, and only the credential variables in `env`.
async fn imgflow(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let stdin = stdin.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_imgflow"));
        command
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for variable in CREDENTIAL_VARIABLES {
            command.env_remove(variable);
        }
        command.envs(env);
        let mut child = command.spawn().expect("the binary runs");
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin.as_bytes()).expect("stdin");
        }
        let output = child.wait_with_output().expect("the binary ends");
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert!(
            !run.stdout.contains(SK) && !run.stderr.contains(SK),
            "a secret was printed: {run:#?}"
        );
        run
    })
    .await
    .expect("the runner thread")
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("imgflow-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("temp file");
    path
}

const ALIBABA_EXPORT: &str = r#"{"cloud": "alibaba", "region": "cn-hangzhou",
    "image_id": "m-bp1web000000000000001", "bucket": "imgflow-oss-backup", "prefix": "web2025"}"#;

const HUAWEI_EXPORT: &str = r#"{"cloud": "huawei", "region": "cn-north-4",
    "image_id": "4d0ab5e2-3114-578f-81d7-2d843f36e39b", "bucket": "imgflow-obs-backup",
    "object_key": "exports/web-2025.qcow2", "file_format": "qcow2"}"#;

const TENCENT_SYNC: &str = r#"{"cloud": "tencent", "region": "ap-guangzhou",
    "image_id": "img-web00001", "destination_regions": ["ap-shanghai", "ap-beijing"],
    "image_name": "web-2025", "image_set_required": true}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_json_prints_the_started_tasks() {
    let emulator = emulator().await;
    let run = imgflow(
        &[
            "export",
            "--request",
            "-",
            "--endpoint",
            &emulator.base_url,
            "--json",
        ],
        ALIBABA_EXPORT,
        &emulator_env(),
    )
    .await;
    assert_eq!(run.code, 0, "{run:#?}");
    let outcome: StartOutcome = run.json();
    assert_eq!(outcome.tasks.len(), 1, "{run:#?}");
    let task = &outcome.tasks[0];
    assert_eq!(
        (task.cloud, task.image_id.as_str()),
        (Cloud::Alibaba, "m-bp1web000000000000001")
    );
    assert!(
        task.task_id
            .as_deref()
            .is_some_and(|id| id.starts_with("t-")),
        "{task:?}"
    );
    assert!(outcome.failures.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_wait_json_ends_with_succeeded_statuses() {
    let emulator = emulator().await;
    let began = std::time::Instant::now();
    let run = imgflow(
        &[
            "sync",
            "--request",
            "-",
            "--endpoint",
            &emulator.base_url,
            "--wait",
            "--json",
            "--time-scale",
            TIME_SCALE,
        ],
        TENCENT_SYNC,
        &emulator_env(),
    )
    .await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(began.elapsed() < std::time::Duration::from_secs(60));
    let report: StatusReport = run.json();
    assert_eq!(report.statuses.len(), 2, "{run:#?}");
    assert!(report.errors.is_empty() && !report.timed_out, "{report:#?}");
    assert!(
        report.checks.is_some_and(|c| c >= 2),
        "a copy needs two answers"
    );
    let mut regions = Vec::new();
    for status in &report.statuses {
        assert_eq!(status.state, TaskState::Succeeded, "{status:#?}");
        let Some(TaskResult::Copy { images }) = &status.result else {
            panic!("{status:#?}")
        };
        assert_eq!(images.len(), 1);
        assert_ne!(images[0].image_id, "img-web00001");
        regions.push(images[0].region.clone());
    }
    regions.sort();
    assert_eq!(regions, ["ap-beijing", "ap-shanghai"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reads_the_printed_tasks_and_waits_for_them() {
    let emulator = emulator().await;
    let endpoint = emulator.base_url.clone();
    let started = imgflow(
        &[
            "export",
            "--request",
            "-",
            "--endpoint",
            &endpoint,
            "--json",
        ],
        HUAWEI_EXPORT,
        &emulator_env(),
    )
    .await;
    assert_eq!(started.code, 0, "{started:#?}");
    let file = temp_file("huawei-tasks.json", &started.stdout);
    let file = file.to_str().expect("utf-8 path");

    let now = imgflow(
        &["status", "--tasks", file, "--endpoint", &endpoint, "--json"],
        "",
        &emulator_env(),
    )
    .await;
    assert_eq!(now.code, 0, "{now:#?}");
    let report: StatusReport = now.json();
    assert_eq!(report.statuses.len(), 1, "{now:#?}");
    assert_eq!(
        report.statuses[0].task.image_id,
        "4d0ab5e2-3114-578f-81d7-2d843f36e39b"
    );

    // Human output: a table naming the task; the same tasks from standard input.
    let human = imgflow(
        &["status", "--tasks", "-", "--endpoint", &endpoint],
        &started.stdout,
        &emulator_env(),
    )
    .await;
    assert_eq!(human.code, 0, "{human:#?}");
    assert!(
        human.stdout.contains("huawei") && human.stdout.contains("export 4d0ab5e2"),
        "{human:#?}"
    );

    let waited = imgflow(
        &[
            "status",
            "--tasks",
            file,
            "--endpoint",
            &endpoint,
            "--wait",
            "--json",
            "--time-scale",
            TIME_SCALE,
        ],
        "",
        &emulator_env(),
    )
    .await;
    assert_eq!(waited.code, 0, "{waited:#?}");
    let report: StatusReport = waited.json();
    let status = &report.statuses[0];
    assert_eq!(status.state, TaskState::Succeeded, "{status:#?}");
    let Some(TaskResult::Export { objects }) = &status.result else {
        panic!("{status:#?}")
    };
    assert_eq!(objects[0].key, "exports/web-2025.qcow2");
    assert!(objects[0].size > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_fails_exits_1_with_the_clouds_reason() {
    let emulator = emulator().await;
    let request = r#"{"cloud": "huawei", "region": "cn-north-4",
        "image_id": "1a5c6615-fa49-5428-a91a-5e09f60c4e36", "bucket": "imgflow-obs-backup",
        "object_key": "exports/fails.qcow2", "file_format": "qcow2"}"#;
    let run = imgflow(
        &[
            "export",
            "--request",
            "-",
            "--endpoint",
            &emulator.base_url,
            "--wait",
            "--json",
            "--time-scale",
            TIME_SCALE,
        ],
        request,
        &emulator_env(),
    )
    .await;
    assert_eq!(run.code, 1, "{run:#?}");
    let report: StatusReport = run.json();
    let status = &report.statuses[0];
    assert_eq!(status.state, TaskState::Failed);
    assert_eq!(
        status.reason.as_ref().and_then(|r| r.code.as_deref()),
        Some("IMG.0014")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_past_the_deadline_exits_1_and_an_alibaba_copy_is_cancelled() {
    let emulator = emulator().await;
    let request = r#"{"cloud": "alibaba", "region": "cn-hangzhou",
        "image_id": "m-bp1web000000000000001", "destination_regions": ["cn-shanghai"],
        "image_name": "web-2025"}"#;
    let run = imgflow(
        &[
            "sync",
            "--request",
            "-",
            "--endpoint",
            &emulator.base_url,
            "--wait",
            "--deadline-minutes",
            "1",
            "--time-scale",
            TIME_SCALE,
        ],
        request,
        &emulator_env(),
    )
    .await;
    // The copy takes about 40 cloud minutes (0.6 s): the deadline ends it at the first check,
    // and the copy is cancelled, as the state machine does.
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stdout.contains("timed out, cancelled"), "{run:#?}");
    assert!(run.stdout.contains("Task.TimedOut"), "{run:#?}");
    assert!(run.stderr.contains("the deadline (1 minutes"), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_check_that_fails_for_good_exits_3_with_the_clouds_error() {
    let emulator = emulator().await;
    let started = imgflow(
        &[
            "export",
            "--request",
            "-",
            "--endpoint",
            &emulator.base_url,
            "--json",
        ],
        HUAWEI_EXPORT,
        &emulator_env(),
    )
    .await;
    assert_eq!(started.code, 0, "{started:#?}");
    // A task the cloud does not know: its check fails, and no retry can help.
    let mut outcome: serde_json::Value = serde_json::from_str(&started.stdout).expect("JSON");
    outcome["tasks"][0]["task_id"] = "ff80808259320dd788fca0195de6ffff".into();
    let run = imgflow(
        &[
            "status",
            "--tasks",
            "-",
            "--endpoint",
            &emulator.base_url,
            "--wait",
            "--json",
            "--time-scale",
            TIME_SCALE,
        ],
        &outcome.to_string(),
        &emulator_env(),
    )
    .await;
    assert_eq!(run.code, 3, "{run:#?}");
    let report: StatusReport = run.json();
    assert!(report.statuses.is_empty(), "{report:#?}");
    let error = &report.errors[0].error;
    assert_eq!(error.cloud, Cloud::Huawei);
    assert_eq!(error.kind, ErrorKind::NotFound);
    assert_eq!(error.code, "IMG.0121");
    assert!(!error.retryable && !error.message.is_empty(), "{error:#?}");
    assert!(error.request_id.is_some(), "{error:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validation_error_exits_2_naming_the_field_and_sends_nothing() {
    let emulator = emulator().await;
    let request = r#"{"cloud": "tencent", "region": "ap-guangzhou",
        "bucket": "imgflow-backup-1250000000", "image_ids": ["img-web00001", "img-db000001"],
        "file_name_prefixes": ["web"]}"#;
    let args = ["export", "--request", "-", "--endpoint", &emulator.base_url];
    let run = imgflow(&args, request, &emulator_env()).await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("file_name_prefixes"), "{run:#?}");
    assert!(run.stderr.contains("one prefix per image"), "{run:#?}");
    assert!(run.stdout.is_empty(), "{run:#?}");

    let json_args = [&args[..], &["--json"]].concat();
    let run = imgflow(&json_args, request, &emulator_env()).await;
    assert_eq!(run.code, 2, "{run:#?}");
    let document: serde_json::Value = run.json();
    assert_eq!(
        document["error"]["validation"]["field"],
        "file_name_prefixes"
    );
    assert_eq!(document["error"]["exit_code"], 2);

    let run = imgflow(&args, "{\"cloud\": \"tencent\",", &emulator_env()).await;
    assert_eq!(run.code, 2, "bad JSON: {run:#?}");
    assert!(
        emulator.world().stats.snapshot().actions.is_empty(),
        "nothing was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloud_refusal_exits_3_with_code_message_and_request_id() {
    let emulator = emulator().await;
    let request = r#"{"cloud": "alibaba", "region": "cn-hangzhou",
        "image_id": "m-bp1enc000000000000001", "bucket": "imgflow-oss-backup", "prefix": "enc"}"#;
    let run = imgflow(
        &["export", "--request", "-", "--endpoint", &emulator.base_url],
        request,
        &emulator_env(),
    )
    .await;
    assert_eq!(run.code, 3, "{run:#?}");
    assert!(
        run.stderr.contains("code:       ImageNotSupported"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("encrypted"), "{run:#?}");
    let request_id = run
        .stderr
        .lines()
        .find_map(|line| line.trim().strip_prefix("request id: "))
        .expect("a request id line");
    assert!(!request_id.starts_with('('), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_exits_4_and_says_to_check_before_retrying() {
    let emulator = emulator().await;
    emulator.add_fault(Fault {
        cloud: Some(Cloud::Tencent),
        action: Some("ExportImages".into()),
        kind: FaultKind::Lost,
        times: 1,
        delay_ms: 0,
    });
    let request = r#"{"cloud": "tencent", "region": "ap-guangzhou",
        "bucket": "imgflow-backup-1250000000", "image_ids": ["img-mid00001"]}"#;
    let run = imgflow(
        &[
            "export",
            "--request",
            "-",
            "--endpoint",
            &emulator.base_url,
            "--json",
        ],
        request,
        &emulator_env(),
    )
    .await;
    assert_eq!(run.code, 4, "{run:#?}");
    assert!(run.stderr.contains("outcome is unknown"), "{run:#?}");
    assert!(run.stderr.contains("before retrying"), "{run:#?}");
    let document: serde_json::Value = run.json();
    assert_eq!(document["error"]["kind"], "outcome_unknown");
    assert_eq!(
        document["error"]["cloud_error"]["kind"], "unknown_outcome",
        "{run:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_credentials_exit_5_and_send_nothing() {
    let emulator = emulator().await;
    let run = imgflow(
        &["sync", "--request", "-", "--endpoint", &emulator.base_url],
        TENCENT_SYNC,
        &[],
    )
    .await;
    assert_eq!(run.code, 5, "{run:#?}");
    assert!(run.stderr.contains("TENCENTCLOUD_SECRET_ID"), "{run:#?}");

    // Half a key pair, and a Huawei region without a project.
    let run = imgflow(
        &["export", "--request", "-", "--endpoint", &emulator.base_url],
        ALIBABA_EXPORT,
        &[("ALIBABA_CLOUD_ACCESS_KEY_ID", AK)],
    )
    .await;
    assert_eq!(run.code, 5, "{run:#?}");
    assert!(
        run.stderr.contains("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
        "{run:#?}"
    );
    let run = imgflow(
        &["export", "--request", "-", "--endpoint", &emulator.base_url],
        HUAWEI_EXPORT,
        &[("HUAWEICLOUD_SDK_AK", AK), ("HUAWEICLOUD_SDK_SK", SK)],
    )
    .await;
    assert_eq!(run.code, 5, "{run:#?}");
    assert!(run.stderr.contains("HUAWEICLOUD_PROJECT_IDS"), "{run:#?}");
    assert!(
        emulator.world().stats.snapshot().actions.is_empty(),
        "nothing was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_documents_the_exit_codes() {
    let run = imgflow(&["--help"], "", &[]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    for line in [
        "Exit codes:",
        "0  success",
        "1  a task failed",
        "2  invalid input",
        "3  the cloud refused",
        "4  outcome unknown",
        "5  missing credentials",
    ] {
        assert!(run.stdout.contains(line), "{line}: {run:#?}");
    }
    let run = imgflow(&["status", "--help"], "", &[]).await;
    assert!(run.stdout.contains("4  outcome unknown"), "{run:#?}");
    assert!(
        !run.stdout.contains("--time-scale"),
        "the test-only option stays hidden"
    );
    let run = imgflow(&["export"], "", &[]).await;
    assert_eq!(run.code, 2, "a usage error is invalid input: {run:#?}");
}

/// `--dry-run` shows what a selector job would do (issue 14, item 2): the matched images
/// and the requests with their names rendered, after every rule, and starts nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_shows_the_selected_images_and_rendered_names_and_starts_nothing() {
    let emulator = emulator().await;
    let request = r#"{"cloud": "huawei", "region": "cn-north-4", "bucket": "imgflow-obs-backup",
        "select": {"name": "web-server-*"}, "file_format": "qcow2",
        "object_key": "dry/{job_id}/{image_name}-{image_id}.qcow2"}"#;
    let run = imgflow(
        &[
            "export",
            "--request",
            "-",
            "--endpoint",
            &emulator.base_url,
            "--dry-run",
            "--job-id",
            "nightly",
            "--json",
        ],
        request,
        &emulator_env(),
    )
    .await;
    assert_eq!(run.code, 0, "{run:#?}");
    let plan: serde_json::Value = run.json();
    let selected = plan["selected"].as_array().expect("a selection");
    assert!(!selected.is_empty(), "{plan}");
    let id = selected[0]["id"].as_str().expect("an id");
    let name = selected[0]["name"].as_str().expect("a name");
    assert!(name.starts_with("web-server-"), "{plan}");
    assert_eq!(
        plan["requests"][0]["object_key"],
        format!("dry/nightly/{name}-{id}.qcow2")
    );
    assert!(
        plan["list_calls"].as_u64().is_some_and(|n| n >= 1),
        "{plan}"
    );
    assert!(
        emulator.world().tasks.is_empty(),
        "a dry run starts nothing"
    );

    // Without a job id, `{job_id}` cannot render: exit 2 naming the field.
    let run = imgflow(
        &[
            "export",
            "--request",
            "-",
            "--endpoint",
            &emulator.base_url,
            "--dry-run",
        ],
        request,
        &emulator_env(),
    )
    .await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("object_key"), "{run:#?}");
}
