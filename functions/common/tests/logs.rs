//! No secret reaches the logs, at any level: a whole job (starts, checks to the end, a
//! refused and an accepted-then-invalid webhook, a configuration read) is run with every
//! crate logging at TRACE into a buffer, which is then searched for each secret.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use imgflow_functions::Function;
use support::*;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_appears_in_trace_level_logs_during_a_full_run() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let h = harness().await;
    let job = fixture("start-sync/eventbridge.json")["detail"].clone();
    let starts = start_all(&h, Function::StartSync, &job).await;
    let (state, _) = run_checks(&h, after_starts(&job, starts)).await;
    assert_eq!(state["state"], "succeeded");
    let now = unix_now();
    for secret in ["wrong-secret", WEBHOOK_SECRET] {
        let event = sign_webhook(fixture("start-sync/webhook.json"), secret, now);
        h.call(Function::StartSync, event)
            .await
            .expect("an HTTP answer");
    }
    let _ = h
        .call(
            Function::CheckStatus,
            sign_webhook(fixture("check-status/webhook.json"), WEBHOOK_SECRET, now),
        )
        .await;

    let logs = String::from_utf8(buffer.0.lock().expect("log buffer").clone()).expect("UTF-8 logs");
    assert!(logs.lines().count() > 20, "the run was logged: {logs}");
    assert!(
        logs.contains("\"level\":\"TRACE\"") || logs.contains("\"level\":\"DEBUG\""),
        "lower levels were on"
    );
    assert!(
        logs.contains("task started") && logs.contains("job checked"),
        "{logs}"
    );
    for secret in [SK, WEBHOOK_SECRET, AWS_SECRET] {
        assert!(!logs.contains(secret), "the secret {secret} was logged");
    }
}
