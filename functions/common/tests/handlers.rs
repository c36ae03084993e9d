//! Each function's handler on each trigger's example event (functions/events/), against the
//! cloud emulator: Step Functions tasks run jobs to their end, webhooks and events that must
//! start nothing start nothing, and errors carry their stable names.

use crate::support::*;
use imgflow_functions::Function;
use serde_json::{Value, json};

#[tokio::test]
async fn an_export_job_runs_from_step_functions_tasks_to_success() {
    let h = harness().await;
    let job = fixture("start-export/eventbridge.json")["detail"].clone();
    let starts = start_all(&h, Function::StartExport, &job).await;
    for (index, started) in starts.iter().enumerate() {
        assert_eq!(started["index"], index);
        assert!(
            !started["tasks"].as_array().expect("tasks").is_empty(),
            "{started}"
        );
    }
    let (state, checks) = run_checks(&h, after_starts(&job, starts)).await;
    assert_eq!(state["state"], "succeeded", "{state}");
    assert_eq!(state["reason"], Value::Null);
    assert_eq!(state["wait_seconds"], 0);
    let summary = &state["summary"];
    assert_eq!(summary["job_id"], "nightly-web");
    assert_eq!(summary["checks"], checks);
    assert_eq!(
        summary["tasks_total"], 3,
        "two Tencent images and one Volcengine image"
    );
    assert_eq!(summary["tasks_succeeded"], 3);
    for item in summary["items"].as_array().expect("items") {
        assert_eq!(item["state"], "succeeded");
        for task in item["tasks"].as_array().expect("tasks") {
            let objects = task["result"]["objects"].as_array().expect("objects");
            assert!(
                objects.iter().all(|o| o["size"].as_u64() > Some(0)),
                "{task}"
            );
        }
    }
}

#[tokio::test]
async fn a_sync_job_runs_from_step_functions_tasks_to_success() {
    let h = harness().await;
    let job = fixture("start-sync/eventbridge.json")["detail"].clone();
    let starts = start_all(&h, Function::StartSync, &job).await;
    let (state, _) = run_checks(&h, after_starts(&job, starts)).await;
    assert_eq!(state["state"], "succeeded", "{state}");
    let regions: Vec<&str> = state["summary"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .flat_map(|i| i["tasks"].as_array().expect("tasks").iter())
        .flat_map(|t| t["result"]["images"].as_array().expect("images").iter())
        .map(|image| image["region"].as_str().expect("region"))
        .collect();
    assert_eq!(regions, ["cn-shanghai", "cn-east-3"]);
}

#[tokio::test]
async fn step_functions_errors_carry_stable_names_and_the_clouds_words() {
    let h = harness().await;
    let mut invalid = fixture("start-export/step-functions.json");
    invalid["request"]["file_name_prefixes"] = json!(["web"]);
    let err = h
        .call(Function::StartExport, invalid)
        .await
        .expect_err("invalid");
    assert_eq!(err.name, "Request.Invalid");
    assert!(
        err.message.starts_with("request.file_name_prefixes"),
        "{err}"
    );

    let mut unknown_field = fixture("start-export/step-functions.json");
    unknown_field["request"]["colour"] = json!("blue");
    let err = h
        .call(Function::StartExport, unknown_field)
        .await
        .expect_err("unknown field");
    assert_eq!(
        (err.name, err.message.contains("colour")),
        ("Request.Invalid", true),
        "{err}"
    );
    assert_eq!(h.tasks_created(), 0, "an invalid request starts nothing");

    let mut encrypted = fixture("start-export/step-functions.json");
    encrypted["request"]["image_ids"] = json!(["img-enc00001"]);
    encrypted["request"]["file_name_prefixes"] = json!(["enc"]);
    let err = h
        .call(Function::StartExport, encrypted)
        .await
        .expect_err("encrypted");
    assert_eq!(err.name, "Cloud.Rejected", "{err}");
    assert!(
        err.message.contains("request id"),
        "the cloud's request id is kept: {err}"
    );

    h.emulator.add_fault(cloud_emulator::faults::Fault {
        cloud: Some(imgflow_shared::Cloud::Volcengine),
        action: Some("ExportImage".into()),
        kind: cloud_emulator::faults::FaultKind::Throttle,
        times: 50,
        delay_ms: 0,
    });
    let throttled = json!({"index": 1, "request": fixture("start-export/eventbridge.json")["detail"]["requests"][1]});
    let err = h
        .call(Function::StartExport, throttled)
        .await
        .expect_err("throttled");
    assert_eq!(err.name, "Cloud.Throttled", "{err}");

    let err = h
        .call(
            Function::CheckStatus,
            fixture("start-export/eventbridge.json"),
        )
        .await
        .expect_err("event");
    assert_eq!(err.name, "Request.Invalid");
    let err = h
        .call(Function::CheckStatus, json!({"tasks": "none"}))
        .await
        .expect_err("garbage");
    assert_eq!(err.name, "Request.Invalid");
    assert_eq!(h.aws_connections(), 0);
}

#[tokio::test]
async fn a_job_past_its_deadline_times_out_with_a_reason() {
    let h = harness().await;
    let started = h
        .call(
            Function::StartSync,
            fixture("start-sync/step-functions.json"),
        )
        .await
        .expect("started");
    let job = fixture("start-sync/eventbridge.json")["detail"].clone();
    let mut state = after_starts(&job, vec![started]);
    state["deadline_at"] = json!(unix_now() - 1);
    let state = h.call(Function::CheckStatus, state).await.expect("checked");
    assert_eq!(state["state"], "timed_out", "{state}");
    assert!(
        state["reason"]
            .as_str()
            .expect("reason")
            .contains("deadline"),
        "{state}"
    );
    assert!(state.get("tasks").is_none(), "a final state is its summary");
    assert_eq!(
        state["summary"]["items"][0]["tasks"][0]["cancelled"], true,
        "Alibaba copies are cancelled"
    );
}

#[tokio::test]
async fn webhooks_that_are_not_properly_signed_start_nothing() {
    let h = harness().await;
    let now = unix_now();
    let event = fixture("start-export/webhook.json");
    let mut cases = vec![
        ("unsigned", event.clone(), 401),
        (
            "wrong secret",
            sign_webhook(event.clone(), "not-the-secret", now),
            401,
        ),
        (
            "stale",
            sign_webhook(event.clone(), WEBHOOK_SECRET, now - 301),
            401,
        ),
        (
            "from the future",
            sign_webhook(event.clone(), WEBHOOK_SECRET, now + 400),
            401,
        ),
    ];
    let mut tampered = sign_webhook(event.clone(), WEBHOOK_SECRET, now);
    tampered["body"] = json!(
        tampered["body"]
            .as_str()
            .expect("body")
            .replace("nightly-web", "nightly-wex")
    );
    cases.push(("body changed after signing", tampered, 401));
    let mut bad_job: Value =
        serde_json::from_str(event["body"].as_str().expect("body")).expect("json");
    bad_job["requests"][0]["file_name_prefixes"] = json!(["web"]);
    let mut invalid = event.clone();
    invalid["body"] = json!(bad_job.to_string());
    cases.push((
        "invalid job",
        sign_webhook(invalid, WEBHOOK_SECRET, now),
        400,
    ));
    let mut sync_job = event.clone();
    sync_job["body"] = fixture("start-sync/webhook.json")["body"].clone();
    cases.push((
        "a sync job sent to start-export",
        sign_webhook(sync_job, WEBHOOK_SECRET, now),
        400,
    ));
    let mut get = sign_webhook(event.clone(), WEBHOOK_SECRET, now);
    get["requestContext"]["http"]["method"] = json!("GET");
    cases.push(("GET", get, 405));
    for (case, event, expected) in cases {
        let answer = h
            .call(Function::StartExport, event)
            .await
            .expect("an HTTP answer");
        let (status, body) = http(&answer);
        assert_eq!(status, expected, "{case}: {body}");
        match expected {
            401 => assert_eq!(body["error"], "Webhook.Unauthorized", "{case}"),
            400 => assert_eq!(body["error"], "Request.Invalid", "{case}"),
            _ => {}
        }
    }
    let (_, body) = http(
        &h.call(Function::StartExport, {
            let mut e = event.clone();
            e["body"] = json!(bad_job.to_string());
            sign_webhook(e, WEBHOOK_SECRET, now)
        })
        .await
        .expect("answer"),
    );
    assert_eq!(body["field"], "requests[0].file_name_prefixes", "{body}");
    assert_eq!(h.aws_connections(), 0, "nothing reached Step Functions");
    assert_eq!(h.tasks_created(), 0, "nothing reached a cloud");
}

#[tokio::test]
async fn a_job_for_a_cloud_without_keys_is_refused_before_it_starts() {
    let h = harness_with(|env| {
        env.remove("HUAWEICLOUD_SDK_AK");
        env.remove("HUAWEICLOUD_SDK_SK");
    })
    .await;
    let answer = h
        .call(
            Function::StartSync,
            sign_webhook(
                fixture("start-sync/webhook.json"),
                WEBHOOK_SECRET,
                unix_now(),
            ),
        )
        .await
        .expect("answer");
    let (status, body) = http(&answer);
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("requests[1].cloud")),
        "{body}"
    );
    let err = h
        .call(Function::StartSync, fixture("start-sync/eventbridge.json"))
        .await
        .expect_err("refused");
    assert_eq!(err.name, "Request.Invalid");
    assert!(err.message.starts_with("detail.requests[1].cloud"), "{err}");
    assert_eq!(h.aws_connections(), 0);
}

#[tokio::test]
async fn a_schedule_without_a_job_is_refused_and_one_with_a_configured_job_reaches_step_functions()
{
    let h = harness().await;
    let err = h
        .call(
            Function::StartExport,
            fixture("start-export/scheduler.json"),
        )
        .await
        .expect_err("no job");
    assert_eq!(err.name, "Request.Invalid");
    assert!(err.message.starts_with("detail:"), "{err}");
    assert_eq!(h.aws_connections(), 0);

    let job = fixture("start-export/eventbridge.json")["detail"].to_string();
    let h = harness_with(|env| {
        env.insert("IMGFLOW_SCHEDULED_JOB".into(), job);
    })
    .await;
    // The listener closes the connection unanswered: the start is reported as an AWS error
    // (the event is retried by Lambda), after the job was accepted.
    let err = h
        .call(
            Function::StartExport,
            fixture("start-export/scheduler.json"),
        )
        .await
        .expect_err("no Step Functions here");
    assert_eq!(err.name, "Aws.Error", "{err}");
    assert!(h.aws_connections() >= 1);
    assert_eq!(
        h.tasks_created(),
        0,
        "the execution, not the function, starts the tasks"
    );
}

/// The state machine retries a start item when Lambda loses its answer: the same item run
/// again adopts the first task (counted by the emulator) and answers the same references.
#[tokio::test]
async fn a_start_item_run_twice_starts_one_task_and_answers_the_same() {
    let h = harness().await;
    for (function, name) in [
        (Function::StartExport, "start-export/step-functions.json"),
        (Function::StartSync, "start-sync/step-functions.json"),
    ] {
        let mut item = fixture(name);
        item["execution_start"] = json!(execution_start());
        let before = h.tasks_created();
        let first = h.call(function, item.clone()).await.expect("started");
        let started = first["tasks"].as_array().map_or(0, Vec::len) as u64;
        assert!(started >= 1, "{name}: {first}");
        match h.call(function, item.clone()).await {
            Ok(again) => assert_eq!(first["tasks"], again["tasks"], "{name}"),
            // A Tencent export cannot be listed while it runs: unconfirmed, never a second.
            Err(err) => {
                assert_eq!(err.name, "Cloud.Conflict", "{name}: {err}");
                assert!(err.message.contains("Start.Unconfirmed"), "{name}: {err}");
            }
        }
        assert_eq!(
            h.tasks_created() - before,
            started,
            "{name}: one cloud task per reference, none more"
        );

        item["execution_start"] = json!("yesterday");
        let err = h.call(function, item).await.expect_err("not a time");
        assert_eq!(err.name, "Request.Invalid", "{err}");
        assert!(err.message.contains("execution_start"), "{err}");
    }
}

/// The check-status example is the state machine's input after its start Map, for the
/// start-export example on a fresh emulator (task ids are the emulator's first ones): it is
/// captured, not typed. `IMGFLOW_UPDATE_EXAMPLES=1` rewrites it.
#[tokio::test]
async fn the_check_status_example_is_what_the_start_example_returns_and_it_runs_to_the_end() {
    let h = harness().await;
    let item = fixture("start-export/step-functions.json");
    let started = h
        .call(Function::StartExport, item.clone())
        .await
        .expect("started");
    let job = json!({"job_id": item["job_id"], "kind": item["kind"],
        "requests": [item["request"]], "options": {"deadline_seconds": 86400}});
    let mut expected = after_starts(&job, vec![started]);
    // A start time is a point on the calendar, so the example leaves it out (check-status
    // then starts the job's clock at its first check): it runs the same on any day.
    for task in expected["starts"][0]["tasks"]
        .as_array_mut()
        .expect("tasks")
    {
        task.as_object_mut().expect("task").remove("started_at");
    }
    let example = fixture("check-status/step-functions.json");
    if std::env::var_os("IMGFLOW_UPDATE_EXAMPLES").is_some() {
        let text = serde_json::to_string_pretty(&expected).expect("json") + "\n";
        std::fs::write(events_dir().join("check-status/step-functions.json"), text).expect("write");
    } else {
        assert_eq!(example, expected, "rerun with IMGFLOW_UPDATE_EXAMPLES=1");
    }
    let (state, _) = run_checks(&h, example).await;
    assert_eq!(state["state"], "succeeded", "{state}");
}

/// The state machine's first state: check-status checks the whole job before anything starts.
#[tokio::test]
async fn check_status_validates_a_whole_job_before_the_state_machine_starts_it() {
    let h = harness_with(|env| {
        env.remove("VOLCENGINE_ACCESS_KEY");
        env.remove("VOLCENGINE_SECRET_KEY");
    })
    .await;
    let mut job = fixture("start-sync/eventbridge.json")["detail"].clone();
    job.as_object_mut().expect("object").remove("kind");
    let err = h
        .call(Function::CheckStatus, job.clone())
        .await
        .expect_err("no kind");
    assert_eq!(
        (err.name, err.message.as_str()),
        ("Request.Invalid", "kind: is required")
    );
    job["kind"] = json!("sync");
    let accepted = h
        .call(Function::CheckStatus, job.clone())
        .await
        .expect("valid");
    assert_eq!(accepted["kind"], "sync");
    assert_eq!(accepted["requests"], job["requests"]);
    assert_eq!(
        accepted["options"]["max_checks"], 2000,
        "defaults filled in"
    );

    job["options"] = json!({"stall_seconds": 5});
    let err = h
        .call(Function::CheckStatus, job)
        .await
        .expect_err("bad option");
    assert!(err.message.starts_with("options.stall_seconds"), "{err}");
    let export = fixture("start-export/eventbridge.json")["detail"].clone();
    let err = h
        .call(Function::CheckStatus, export)
        .await
        .expect_err("no keys");
    assert!(err.message.starts_with("requests[1].cloud"), "{err}");
    assert_eq!(h.tasks_created(), 0);
}

/// An API Gateway HTTP API (payload 2.0) delivers webhooks in the Function URL shape, with
/// a base64 body when its content type is binary: both are authenticated the same way.
#[tokio::test]
async fn http_api_webhooks_and_base64_bodies_are_authenticated_the_same_way() {
    let h = harness().await;
    let event = fixture("start-export/http-api.json");
    let (status, _) = http(
        &h.call(Function::StartExport, event.clone())
            .await
            .expect("answer"),
    );
    assert_eq!(status, 401, "unsigned");

    let mut job: Value = serde_json::from_str(event["body"].as_str().expect("body")).expect("json");
    job["requests"][1]["prefix"] = json!("");
    let mut invalid = event.clone();
    invalid["body"] = json!(job.to_string());
    let signed = sign_webhook(invalid, WEBHOOK_SECRET, unix_now());
    let mut encoded = signed.clone();
    encoded["body"] = json!(base64(signed["body"].as_str().expect("body").as_bytes()));
    encoded["isBase64Encoded"] = json!(true);
    for event in [signed, encoded] {
        let (status, body) = http(&h.call(Function::StartExport, event).await.expect("answer"));
        assert_eq!(
            (status, body["field"].as_str()),
            (400, Some("requests[1].prefix")),
            "{body}"
        );
    }
    assert_eq!(h.aws_connections(), 0);
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

/// Issue 12.6: an execution started by hand with an input that is not a job used to pass
/// Validate and die in StartAll without a completion event. The Validate state sends the
/// input as `{"validate": <input>}`: anything but a whole job is refused naming the field (the
/// state machine then ends in NotifyCheckFailed, with the event), and nothing starts.
#[tokio::test]
async fn the_validate_state_refuses_every_input_that_is_not_a_job() {
    let h = harness().await;
    let job = fixture("start-sync/eventbridge.json")["detail"].clone();
    let mut with_starts = job.clone();
    with_starts["starts"] = json!([]);
    let mut with_tasks = job.clone();
    with_tasks["tasks"] = json!([]);
    for (input, field) in [
        (json!({}), "job_id"),
        (json!({"job_id": "x"}), "kind"),
        (json!([]), "$"),
        (json!("a job"), "$"),
        (json!({"tasks": []}), "$"),
        (json!({"job_id": "x", "kind": "export", "starts": []}), "$"),
        (with_starts, "$"),
        (with_tasks, "$"),
    ] {
        let err = h
            .call(Function::CheckStatus, json!({"validate": input}))
            .await
            .expect_err("not a job");
        assert_eq!(err.name, "Request.Invalid", "{input}: {err}");
        assert!(
            err.message.starts_with(&format!("{field}: ")),
            "{input}: {err}"
        );
    }
    let accepted = h
        .call(Function::CheckStatus, json!({"validate": job}))
        .await
        .expect("a whole job passes");
    assert_eq!(accepted["kind"], "sync");
    assert_eq!(h.tasks_created(), 0);
}

/// The state machine's path for any job: Validate plans it (`{"plan", "execution"}`), each
/// chunk runs the start → check loop as a child and ends with its results as JSON Lines and
/// its counts, Summarize adds the chunks up. A job that fits one execution is one chunk and
/// ends with the summary it always had.
#[tokio::test]
async fn a_job_is_planned_run_as_its_chunk_and_summarized() {
    let h = harness().await;
    let job = fixture("start-export/eventbridge.json")["detail"].clone();
    let plan = h
        .call(
            Function::CheckStatus,
            json!({"plan": job, "execution": "nightly-web--0123456789ab"}),
        )
        .await
        .expect("a plan");
    assert_eq!(plan["chunk_tasks"], json!([3]));
    let planned = &plan["chunks"][0];
    let chunk_job = json!({"job_id": plan["job_id"], "kind": plan["kind"], "options": plan["options"],
                           "requests": planned["requests"], "chunk": planned["chunk"]});
    let starts = start_all(&h, Function::StartExport, &chunk_job).await;
    let (end, checks) = run_checks(&h, after_starts(&chunk_job, starts)).await;
    assert_eq!(end["state"], "succeeded", "{end}");
    assert_eq!(
        end["results_key"],
        "results/nightly-web/nightly-web--0123456789ab/00000.jsonl"
    );
    let lines: Vec<Value> = end["results_jsonl"]
        .as_str()
        .expect("JSON Lines")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 3, "{end}");
    assert!(
        lines
            .iter()
            .all(|l| l["state"] == "succeeded"
                && l["result"]["objects"][0]["size"].as_u64() > Some(0))
    );
    let result = &end["chunk_result"];
    assert_eq!(
        (&result["tasks_total"], &result["tasks_succeeded"]),
        (&json!(3), &json!(3))
    );
    let summarized = h
        .call(
            Function::CheckStatus,
            json!({"summarize": {"job_id": plan["job_id"], "kind": plan["kind"],
                   "execution": plan["execution"], "planned_at": plan["planned_at"],
                   "chunk_tasks": plan["chunk_tasks"], "bucket": "jobs", "results": [result]}}),
        )
        .await
        .expect("a summary");
    assert_eq!(summarized["state"], "succeeded");
    let summary = &summarized["summary"];
    assert_eq!(summary["checks"], checks);
    assert_eq!(summary["tasks_succeeded"], 3);
    assert_eq!(
        summary["items"].as_array().map(Vec::len),
        Some(2),
        "{summary}"
    );
    assert_eq!(
        summary["results"]["prefix"],
        "results/nightly-web/nightly-web--0123456789ab/"
    );
    let refused = h
        .call(
            Function::CheckStatus,
            json!({"summarize": {"job_id": "a b"}}),
        )
        .await
        .expect_err("not a summary");
    assert_eq!(refused.name, "Request.Invalid");
}

/// The functions check a job's clouds as the command line does, before anything starts: a
/// Huawei copy to a region whose project this deployment does not know is refused, naming the
/// region (the check used to be the command line's alone; the functions found out at the
/// start, after the copy's source region had been called).
#[tokio::test]
async fn a_huawei_region_without_a_project_is_refused_before_anything_starts() {
    let h = harness().await;
    let job = json!({"job_id": "no-project", "kind": "sync", "requests": [
        {"cloud": "huawei", "region": "cn-north-4", "image_id": "1a5c6615-fa49-5428-a91a-5e09f60c4e36",
         "destination_regions": ["ap-southeast-1"], "image_name": "copy",
         "agency_name": "ims_admin_agency"}]});
    let err = h
        .call(Function::CheckStatus, json!({"validate": job}))
        .await
        .expect_err("refused");
    assert_eq!(err.name, "Request.Invalid");
    assert!(
        err.message.contains("requests[0].region") && err.message.contains("ap-southeast-1"),
        "{err}"
    );
    assert_eq!(h.tasks_created(), 0);
}
