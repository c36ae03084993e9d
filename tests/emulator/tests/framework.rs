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
