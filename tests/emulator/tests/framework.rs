//! The parts every cloud shares: control API, faults, stats, buckets.

use crate::common::*;
use cloud_emulator::{Fault, FaultKind};

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
                None,
            )
            .await
        }
    };
    assert_eq!(
        head(credentials(), "备份/web 2025_m-1.qcow2").await,
        Ok(Some(123_456_789))
    );
    assert_eq!(head(credentials(), "missing.qcow2").await, Ok(None));
    // The object was written a day ago: for an export started now it is an older file.
    let started_now = imgflow_shared::signing::Timestamp::now().unix_seconds();
    let fresh_only = head_object(
        &transport,
        &endpoints,
        Cloud::Alibaba,
        "cn-hangzhou",
        &credentials(),
        "imgflow-oss-backup",
        "备份/web 2025_m-1.qcow2",
        Some(started_now),
    )
    .await;
    assert_eq!(fresh_only, Ok(None));
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

/// A signed Tencent CVM call, the simplest envelope to drive the shared fault machinery.
fn tencent_call(
    emulator: &cloud_emulator::RunningEmulator,
    action: &str,
    body: &str,
) -> imgflow_shared::signing::HttpRequest {
    let mut call = request(emulator, "POST", "/");
    call.headers
        .push(("Content-Type".into(), "application/json".into()));
    call.headers.push(("X-TC-Action".into(), action.into()));
    call.headers
        .push(("X-TC-Version".into(), "2017-03-12".into()));
    call.headers
        .push(("X-TC-Region".into(), "ap-guangzhou".into()));
    call.body = body.as_bytes().to_vec();
    sign(
        imgflow_shared::Cloud::Tencent,
        &mut call,
        &credentials(),
        "ap-guangzhou",
        "cvm",
    );
    call
}

const EXPORT_WEB: &str = r#"{"BucketName":"imgflow-backup-1250000000","ImageIds":["img-web00001"],"ExportFormat":"QCOW2"}"#;

fn fault(kind: FaultKind, action: &str, delay_ms: u64) -> Fault {
    Fault {
        cloud: Some(imgflow_shared::Cloud::Tencent),
        action: Some(action.into()),
        kind,
        times: 1,
        delay_ms,
    }
}

#[tokio::test]
async fn a_lost_answer_still_creates_the_task_once() {
    let emulator = emulator().await;
    emulator.add_fault(fault(FaultKind::Lost, "ExportImages", 0));
    let lost = try_send(
        &emulator,
        &tencent_call(&emulator, "ExportImages", EXPORT_WEB),
    )
    .await;
    assert!(lost.is_err(), "the answer must be lost");
    let stats = emulator.world().stats.snapshot();
    assert_eq!(
        stats.tasks_created.get("tencent:export"),
        Some(&1),
        "the export was carried out"
    );
    assert_eq!(stats.actions["tencent:ExportImages"].requests, 1);
}

#[tokio::test]
async fn a_truncated_answer_is_half_of_valid_json() {
    let emulator = emulator().await;
    emulator.add_fault(fault(FaultKind::Truncated, "DescribeImages", 0));
    let reply = send(&emulator, &tencent_call(&emulator, "DescribeImages", "{}")).await;
    assert_eq!(reply.status, 200);
    assert!(!reply.text.is_empty(), "something arrives");
    assert!(
        serde_json::from_str::<serde_json::Value>(&reply.text).is_err(),
        "but it is not JSON: {}",
        reply.text
    );
    let whole = send(&emulator, &tencent_call(&emulator, "DescribeImages", "{}")).await;
    assert!(
        whole.json["Response"]["ImageSet"].is_array(),
        "the next answer is whole"
    );
}

#[tokio::test]
async fn a_slow_answer_arrives_after_its_delay() {
    let emulator = emulator().await;
    emulator.add_fault(fault(FaultKind::Slow, "DescribeImages", 300));
    let started = std::time::Instant::now();
    let reply = send(&emulator, &tencent_call(&emulator, "DescribeImages", "{}")).await;
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    assert!(reply.json["Response"]["ImageSet"].is_array());
}

#[tokio::test]
async fn injected_server_errors_and_throttling_do_nothing_and_are_counted() {
    let emulator = emulator().await;
    emulator.add_fault(fault(FaultKind::ServerError, "ExportImages", 0));
    emulator.add_fault(fault(FaultKind::Throttle, "ExportImages", 0));
    let failed = send(
        &emulator,
        &tencent_call(&emulator, "ExportImages", EXPORT_WEB),
    )
    .await;
    assert_eq!(failed.json["Response"]["Error"]["Code"], "InternalError");
    let throttled = send(
        &emulator,
        &tencent_call(&emulator, "ExportImages", EXPORT_WEB),
    )
    .await;
    assert_eq!(
        throttled.json["Response"]["Error"]["Code"],
        "RequestLimitExceeded"
    );
    let stats = emulator.world().stats.snapshot();
    assert_eq!(
        stats.tasks_created.get("tencent:export"),
        None,
        "neither fault started anything"
    );
    assert_eq!(stats.actions["tencent:ExportImages"].throttled, 1);
}

#[tokio::test]
async fn the_rate_limit_caps_accepted_requests_per_second_and_stats_show_it() {
    let emulator = emulator().await;
    let mut codes = Vec::new();
    for _ in 0..45 {
        let reply = send(&emulator, &tencent_call(&emulator, "DescribeImages", "{}")).await;
        codes.push(
            reply.json["Response"]["Error"]["Code"]
                .as_str()
                .unwrap_or("ok")
                .to_owned(),
        );
    }
    let throttled = codes
        .iter()
        .filter(|c| *c == "RequestLimitExceeded")
        .count();
    let stats = emulator.world().stats.snapshot();
    let describe = &stats.actions["tencent:DescribeImages"];
    assert!(describe.max_accepted_per_second <= 40, "{describe:?}");
    assert_eq!(describe.throttled as usize, throttled);
    assert_eq!(describe.requests, 45);
    let mut over_http = request(&emulator, "GET", "/_emulator/stats");
    over_http.query.clear();
    let json = send(&emulator, &over_http).await.json;
    assert_eq!(json["actions"]["tencent:DescribeImages"]["requests"], 45);
}

#[tokio::test]
async fn a_huawei_body_that_differs_from_its_declared_hash_is_refused() {
    let emulator = emulator().await;
    let mut export = request(
        &emulator,
        "POST",
        "/v1/cloudimages/4d0ab5e2-3114-578f-81d7-2d843f36e39b/file",
    );
    export.headers.push((
        "Content-Type".into(),
        "application/json;charset=utf-8".into(),
    ));
    export.headers.push((
        "X-Project-Id".into(),
        "0a1b2c3d4e5f40718293a4b5c6d7e8f9".into(),
    ));
    // The hash of another body: the signature covers the declared hash, not this body.
    let declared = imgflow_shared::signing::sha256_hex(
        br#"{"bucket_url":"imgflow-obs-backup:a.qcow2","file_format":"qcow2"}"#,
    );
    export
        .headers
        .push(("X-Sdk-Content-Sha256".into(), declared));
    export.body = br#"{"bucket_url":"imgflow-obs-backup:b.qcow2","file_format":"qcow2"}"#.to_vec();
    sign(
        imgflow_shared::Cloud::Huawei,
        &mut export,
        &credentials(),
        "cn-north-4",
        "ims",
    );
    let reply = send(&emulator, &export).await;
    assert_eq!(
        (reply.status, reply.json["error_code"].as_str()),
        (401, Some("APIGW.0301")),
        "{}",
        reply.text
    );
    assert!(
        emulator.world().stats.snapshot().tasks_created.is_empty(),
        "nothing was exported"
    );
}
