//! A job state from outside (check-status's input: anyone who may start an execution writes
//! it) whose region, bucket, key or id would steer a signed request elsewhere: it is refused
//! naming the field, and nothing reaches any host. The hosts are the real clouds' (no
//! emulator override), and the hostile values point at a local listener that counts the
//! connections it is offered.

use std::net::TcpListener;
use std::time::Duration;

use imgflow_shared::Cloud;
use imgflow_shared::client::CloudClient;
use imgflow_shared::config::CloudCredentials;
use imgflow_shared::endpoints::Endpoints;
use imgflow_shared::job::{CheckInput, CheckMode, TrackedState, check_job};
use imgflow_shared::retry::{Jitter, RetryPolicy};
use imgflow_shared::signing::Credentials;
use imgflow_shared::transport::Transport;
use serde_json::{Value, json};

/// A listener nobody answers. Connections complete in the kernel's backlog whether or not
/// they are accepted, so counting what is waiting there after the check needs no timing.
struct Listener(TcpListener);

impl Listener {
    fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("non-blocking");
        Self(listener)
    }

    fn port(&self) -> u16 {
        self.0.local_addr().expect("address").port()
    }

    fn connections(&self) -> usize {
        std::iter::from_fn(|| self.0.accept().ok()).count()
    }
}

fn client(hostile_region: &str) -> CloudClient {
    let keys = Credentials::new("AKIDHOSTILETEST", "hostile-test-secret");
    let mut credentials = CloudCredentials::default()
        .with_project(
            Cloud::Huawei,
            "cn-north-4",
            "0a1b2c3d4e5f40718293a4b5c6d7e8f9",
        )
        .with_project(
            Cloud::Huawei,
            hostile_region,
            "0a1b2c3d4e5f40718293a4b5c6d7e8f9",
        );
    for cloud in Cloud::ALL {
        credentials = credentials.with(cloud, keys.clone());
    }
    let transport =
        Transport::new(Duration::from_secs(2), Duration::from_secs(2)).expect("transport");
    let retry = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    CloudClient::new(transport, Endpoints::real(), credentials, retry)
}

/// Task references that each break one rule, with the field the refusal must name.
fn hostile_tasks(host: &str) -> Vec<(Value, &'static str)> {
    vec![
        (
            json!({"cloud": "alibaba", "region": host, "kind": "export",
                   "image_id": "m-bp1web000000000000001", "task_id": "t-bp1000000000000000001"}),
            "region",
        ),
        (
            json!({"cloud": "huawei", "region": host, "kind": "export",
                   "image_id": "4d0ab5e2-3114-578f-81d7-2d843f36e39b", "task_id": "ff80808200000001"}),
            "region",
        ),
        (
            json!({"cloud": "alibaba", "region": "cn-hangzhou", "kind": "sync",
                   "image_id": "m-bp1web000000000000001",
                   "destination_region": host, "destination_image_id": "m-uf6web000000000000001"}),
            "destination_region",
        ),
        (
            json!({"cloud": "tencent", "region": "ap-guangzhou", "kind": "export",
                   "image_id": "img-web00001", "task_id": "105000001",
                   "objects": [{"bucket": host, "key": "web.qcow2"}]}),
            "objects[0].bucket",
        ),
        (
            json!({"cloud": "huawei", "region": "cn-north-4", "kind": "export",
                   "image_id": "4d0ab5e2-3114-578f-81d7-2d843f36e39b", "task_id": "ff80808200000001",
                   "objects": [{"bucket": "imgflow-obs-backup", "key": "exports/../web2.qcow2"}]}),
            "objects[0].key",
        ),
        (
            json!({"cloud": "huawei", "region": "cn-north-4", "kind": "export",
                   "image_id": "4d0ab5e2-3114-578f-81d7-2d843f36e39b", "task_id": "../../v3/x"}),
            "task_id",
        ),
        (
            json!({"cloud": "volcengine", "region": "cn-beijing", "kind": "export",
                   "image_id": "../image-ycweb000000000000001", "task_id": "t-1"}),
            "image_id",
        ),
    ]
}

#[tokio::test]
async fn a_hostile_state_is_refused_by_field_and_reaches_no_host() {
    let listener = Listener::bind();
    let host = format!("x@127.0.0.1:{}/", listener.port());
    let client = client(&host);
    for (index, (task, field)) in hostile_tasks(&host).into_iter().enumerate() {
        // As check-status receives it: a bare reference, then a tracked one, then a start's.
        let documents = [
            (
                json!({"job_id": "j", "tasks": [task.clone()]}),
                format!("tasks[0].{field}"),
            ),
            (
                json!({"job_id": "j", "tasks": [{"item": 0, "task": task.clone(), "state": "running", "changed_at": 1}]}),
                format!("tasks[0].task.{field}"),
            ),
            (
                json!({"job_id": "j", "starts": [{"index": 0, "tasks": [task.clone()]}]}),
                format!("starts[0].tasks[0].{field}"),
            ),
        ];
        for (document, named) in documents {
            let input: CheckInput = serde_json::from_value(document).expect("parses");
            let err = input
                .validate(client.endpoints())
                .expect_err("hostile input");
            assert_eq!(err.field, named, "case {index}: {err}");

            // A caller that skips the validation (a library user) is still refused, per task.
            let state = check_job(
                &client,
                input,
                1_767_225_599,
                CheckMode::Drive,
                &mut Jitter::seeded(3),
            )
            .await;
            let tracked = &state.tasks[0];
            assert_eq!(tracked.state, TrackedState::Failed, "case {index}");
            let error = tracked.check_error.as_ref().expect("the refusal");
            assert_eq!(error.code, "Request.Invalid", "case {index}: {error}");
            assert!(error.message.starts_with(field), "case {index}: {error}");
            assert!(!error.retryable);
        }
    }
    assert_eq!(
        listener.connections(),
        0,
        "a signed request left for {host}"
    );
}

#[tokio::test]
async fn a_configured_extra_region_is_accepted_and_others_are_not() {
    let task = json!({"cloud": "huawei", "region": "cn-north-13", "kind": "export",
                      "image_id": "4d0ab5e2-3114-578f-81d7-2d843f36e39b", "task_id": "ff80808200000001"});
    let input: CheckInput =
        serde_json::from_value(json!({"job_id": "j", "tasks": [task]})).expect("parses");
    let err = input
        .validate(&Endpoints::real())
        .expect_err("not on the list");
    assert_eq!(err.field, "tasks[0].region");
    let declared = Endpoints::real()
        .with_extra_region_list("huawei:cn-north-13")
        .expect("declared");
    assert_eq!(input.validate(&declared), Ok(()));
}

#[tokio::test]
async fn a_job_id_with_a_double_dash_is_refused_in_a_state() {
    let input: CheckInput =
        serde_json::from_value(json!({"job_id": "a--b", "tasks": []})).expect("parses");
    let err = input.validate(&Endpoints::real()).expect_err("--");
    assert_eq!(err.field, "job_id");
}
