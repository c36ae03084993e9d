//! check-status on state input nobody on the project wrote: a task whose region would steer
//! a signed request to another host, an object key with `..`, a number no `Duration` holds,
//! a job id that would match another job's executions. Each is refused naming the field (or
//! read without panicking), and nothing is sent anywhere.

use std::net::TcpListener;

use crate::support::*;
use imgflow_functions::Function;
use serde_json::{Value, json};

/// A listener nobody answers; connections wait in the kernel's backlog, so counting them
/// after the call needs no timing.
fn listener() -> TcpListener {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    listener
}

fn connections(listener: &TcpListener) -> usize {
    std::iter::from_fn(|| listener.accept().ok()).count()
}

#[tokio::test]
async fn a_state_that_names_a_host_is_refused_by_field_and_sends_nothing() {
    let target = listener();
    let host = format!(
        "x@127.0.0.1:{}/",
        target.local_addr().expect("address").port()
    );
    // The real clouds' hosts: only a hostile value could make a request reach the listener.
    let h = harness_with(|env| {
        env.remove("IMGFLOW_CLOUD_ENDPOINT");
    })
    .await;
    let cases: [(Value, &str); 4] = [
        (
            json!({"job_id": "j", "tasks": [{"cloud": "alibaba", "region": host, "kind": "export",
                "image_id": "m-bp1web000000000000001", "task_id": "t-bp1000000000000000001"}]}),
            "tasks[0].region",
        ),
        (
            json!({"job_id": "j", "starts": [{"index": 0, "tasks": [{"cloud": "tencent",
                "region": "ap-guangzhou", "kind": "export", "image_id": "img-web00001",
                "task_id": "105000001", "objects": [{"bucket": host, "key": "web.qcow2"}]}]}]}),
            "starts[0].tasks[0].objects[0].bucket",
        ),
        (
            json!({"job_id": "j", "tasks": [{"item": 0, "state": "running", "changed_at": 1,
                "task": {"cloud": "huawei", "region": "cn-north-4", "kind": "export",
                "image_id": "4d0ab5e2-3114-578f-81d7-2d843f36e39b", "task_id": "ff80808200000001",
                "objects": [{"bucket": "imgflow-obs-backup", "key": "exports/../web2.qcow2"}]}}]}),
            "tasks[0].task.objects[0].key",
        ),
        (json!({"job_id": "a--b", "tasks": []}), "job_id"),
    ];
    for (state, field) in cases {
        let err = h
            .call(Function::CheckStatus, state.clone())
            .await
            .expect_err("hostile state");
        assert_eq!(err.name, "Request.Invalid", "{state}: {err}");
        assert!(
            err.message.starts_with(&format!("{field}: ")),
            "{state}: {err}"
        );
    }
    assert_eq!(connections(&target), 0, "a signed request left for {host}");
    assert_eq!(h.tasks_created(), 0);
}

#[tokio::test]
async fn no_number_in_a_state_panics() {
    let h = harness().await;
    let error = json!({"cloud": "alibaba", "kind": "throttled", "retryable": true,
        "code": "Throttling", "message": "slow", "request_id": null, "http_status": 429,
        "retry_after": 1e20});
    let state = json!({"job_id": "j", "options": {"deadline_seconds": 10},
        "started_at": 1, "deadline_at": u64::MAX, "checks": u32::MAX,
        "tasks": [{"item": usize::MAX, "state": "running", "changed_at": 0, "progress": 255,
            "check_failures": u32::MAX, "check_error": error,
            "task": {"cloud": "alibaba", "region": "cn-hangzhou", "kind": "sync",
                "image_id": "m-bp1web000000000000001", "destination_region": "cn-shanghai",
                "destination_image_id": "m-uf6web000000000000001", "confirmations": u32::MAX,
                "started_at": u64::MAX}}]});
    // Whatever the clouds answer, the check ends with a document or a typed error.
    match h.call(Function::CheckStatus, state).await {
        Ok(answer) => assert!(answer.get("state").is_some(), "{answer}"),
        Err(err) => assert!(!err.name.is_empty()),
    }
}
