//! The parts every cloud shares: control API, faults, stats, buckets.

mod common;

use cloud_emulator::{Fault, FaultKind};
use common::*;

#[tokio::test]
async fn control_api_reports_health_clock_and_accepts_faults() {
    let emulator = emulator().await;
    let health = send(&emulator, &request(&emulator, "GET", "/_emulator/health")).await;
    assert_eq!(
        (health.status, health.json["ok"].as_bool()),
        (200, Some(true))
    );

    let before = send(&emulator, &request(&emulator, "GET", "/_emulator/clock"))
        .await
        .json["cloud_now"]
        .as_f64()
        .expect("cloud_now");
    let mut advance = request(&emulator, "POST", "/_emulator/clock");
    advance.body = br#"{"advance_seconds": 3600}"#.to_vec();
    let after = send(&emulator, &advance).await.json["cloud_now"]
        .as_f64()
        .expect("cloud_now");
    assert!(after - before >= 3600.0, "{before} -> {after}");

    let mut fault = request(&emulator, "POST", "/_emulator/faults");
    fault.body = br#"{"cloud":"alibaba","action":"ExportImage","kind":"lost","times":2}"#.to_vec();
    let pending = send(&emulator, &fault).await;
    assert_eq!(pending.json[0]["times"], 2);
    let mut bad = request(&emulator, "POST", "/_emulator/faults");
    bad.body = br#"{"kind":"explode"}"#.to_vec();
    let rejected = send(&emulator, &bad).await;
    assert_eq!(rejected.status, 400);
    assert!(rejected.text.contains("explode"), "{}", rejected.text);
}

#[tokio::test]
async fn a_reset_fault_closes_the_connection_without_an_answer() {
    let emulator = emulator().await;
    emulator.add_fault(Fault {
        cloud: None,
        action: None,
        kind: FaultKind::Reset,
        times: 1,
        delay_ms: 0,
    });
    let mut unsigned = request(&emulator, "POST", "/");
    unsigned
        .headers
        .push(("X-TC-Action".into(), "DescribeImages".into()));
    assert!(
        try_send(&emulator, &unsigned).await.is_err(),
        "the connection must drop"
    );
    // The rule is used up: the next request is answered.
    assert!(try_send(&emulator, &unsigned).await.is_ok());
}

#[tokio::test]
async fn buckets_refuse_unsigned_and_badly_signed_requests() {
    let emulator = emulator().await;
    let anonymous = send(
        &emulator,
        &request(&emulator, "GET", "/imgflow-oss-backup/x.raw"),
    )
    .await;
    assert_eq!(anonymous.status, 403);
    assert!(
        anonymous.text.contains("<Code>AccessDenied</Code>"),
        "{}",
        anonymous.text
    );

    let mut forged = request(&emulator, "HEAD", "/imgflow-oss-backup/x.raw");
    let now = imgflow_shared::signing::Timestamp::now();
    forged
        .headers
        .push(("x-amz-date".into(), now.basic_iso8601()));
    forged
        .headers
        .push(("x-amz-content-sha256".into(), "UNSIGNED-PAYLOAD".into()));
    forged.headers.push((
        "Authorization".into(),
        format!("AWS4-HMAC-SHA256 Credential={AK}/{}/cn-hangzhou/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", now.date_compact()),
    ));
    let reply = send(&emulator, &forged).await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.header("x-amz-error-code"),
        Some("SignatureDoesNotMatch")
    );
}

/// Puts a finished export into the world, as a cloud module would after its task ran.
fn finished_export(emulator: &cloud_emulator::RunningEmulator, bucket: &str, key: &str, size: u64) {
    use cloud_emulator::world::{ExportObject, Task, TaskKind};
    let mut world = emulator.world();
    let long_ago = world.now() - 86_400.0;
    let task = Task {
        id: "t-framework".into(),
        cloud: imgflow_shared::Cloud::Alibaba,
        account: "default".into(),
        region: "cn-hangzhou".into(),
        kind: TaskKind::Export {
            image_id: "m-bp1web000000000000001".into(),
            bucket: bucket.into(),
            format: "qcow2".into(),
            objects: vec![ExportObject {
                key: key.into(),
                size,
            }],
        },
        created: long_ago,
        duration: 600.0,
        failure: None,
        cancelled: None,
        queued_behind_limit: false,
    };
    world.add_task(task, None);
}

#[tokio::test]
async fn exported_objects_answer_a_sigv4_head_signed_by_aws_sigv4() {
    use imgflow_shared::Cloud;
    use imgflow_shared::endpoints::Endpoints;
    use imgflow_shared::storage::head_object;
    use imgflow_shared::transport::Transport;

    let emulator = emulator().await;
    finished_export(
        &emulator,
        "imgflow-oss-backup",
        "备份/web 2025_m-1.qcow2",
        123_456_789,
    );
    let transport = Transport::new(
        std::time::Duration::from_secs(2),
        std::time::Duration::from_secs(5),
    )
    .expect("client");
    let endpoints = Endpoints::single(&emulator.base_url).expect("base url");
    let head = |credentials: imgflow_shared::signing::Credentials, key: &'static str| {
        let (transport, endpoints) = (transport.clone(), endpoints.clone());
        async move {
            head_object(
                &transport,
                &endpoints,
                Cloud::Alibaba,
                "cn-hangzhou",
                &credentials,
                "imgflow-oss-backup",
                key,
            )
            .await
        }
    };
    assert_eq!(
        head(credentials(), "备份/web 2025_m-1.qcow2").await,
        Ok(Some(123_456_789))
    );
    assert_eq!(head(credentials(), "missing.qcow2").await, Ok(None));
    let wrong = imgflow_shared::signing::Credentials::new(AK, "not-the-secret");
    let err = head(wrong, "备份/web 2025_m-1.qcow2")
        .await
        .expect_err("wrong secret");
    assert_eq!(
        (err.code.as_str(), err.http_status),
        ("SignatureDoesNotMatch", Some(403))
    );
}

#[tokio::test]
async fn stats_count_requests_and_the_control_api_lists_objects() {
    let emulator = emulator().await;
    finished_export(&emulator, "imgflow-tos-backup", "a_system.qcow2", 42);
    let listing = send(&emulator, &request(&emulator, "GET", "/_emulator/objects")).await;
    assert_eq!(listing.status, 400, "the bucket parameter is required");
    let mut listing = request(&emulator, "GET", "/_emulator/objects");
    listing.query = "bucket=imgflow-tos-backup".into();
    assert_eq!(send(&emulator, &listing).await.json["a_system.qcow2"], 42);
    let stats = send(&emulator, &request(&emulator, "GET", "/_emulator/stats"))
        .await
        .json;
    assert_eq!(stats["tasks_created"]["alibaba:export"], 1);
}
