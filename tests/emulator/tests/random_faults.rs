//! Random faults at a set rate and whole-cloud outage windows: what the soak benchmark
//! (tests/e2e/soak.py) relies on.

use crate::common::*;
use cloud_emulator::{EmulatorConfig, OutageSpec, RandomFaults};
use imgflow_shared::signing::HttpRequest;
use serde_json::Value;

/// An unsigned Alibaba call: without a fault it is refused with a 4xx, with `server_error` it
/// gets Alibaba's 500, with `reset` no answer at all.
fn alibaba_call(emulator: &cloud_emulator::RunningEmulator) -> HttpRequest {
    let mut call = request(emulator, "POST", "/");
    call.headers
        .push(("x-acs-action".into(), "DescribeImages".into()));
    call
}

fn tencent_call(emulator: &cloud_emulator::RunningEmulator) -> HttpRequest {
    let mut call = request(emulator, "POST", "/");
    call.headers
        .push(("X-TC-Action".into(), "DescribeImages".into()));
    call
}

async fn control(
    emulator: &cloud_emulator::RunningEmulator,
    method: &str,
    path: &str,
    body: &str,
) -> Reply {
    let mut call = request(emulator, method, path);
    call.body = body.as_bytes().to_vec();
    send(emulator, &call).await
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    answered: u64,
    server_errors: u64,
    resets: u64,
}

async fn calls(emulator: &cloud_emulator::RunningEmulator, n: usize) -> Seen {
    let mut seen = Seen::default();
    for _ in 0..n {
        match try_send(emulator, &alibaba_call(emulator)).await {
            Err(_) => seen.resets += 1,
            Ok(reply) if reply.status >= 500 => seen.server_errors += 1,
            Ok(_) => seen.answered += 1,
        }
    }
    seen
}

fn injected(stats: &Value, kind: &str) -> u64 {
    stats["faults_injected"][kind].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn random_faults_come_at_the_set_rate_and_are_counted_per_kind() {
    let emulator = emulator_with(EmulatorConfig {
        random_faults: Some(RandomFaults::parse_flag("0.25:42:server_error,reset").expect("valid")),
        ..EmulatorConfig::default()
    })
    .await;
    let seen = calls(&emulator, 400).await;
    let faults = seen.server_errors + seen.resets;
    // 100 expected; the binomial's standard deviation is about 8.7.
    assert!((60..=140).contains(&faults), "{seen:?}");
    assert!(seen.server_errors > 0 && seen.resets > 0, "{seen:?}");

    let stats = control(&emulator, "GET", "/_emulator/stats", "").await.json;
    assert_eq!(
        injected(&stats, "server_error"),
        seen.server_errors,
        "{stats}"
    );
    assert_eq!(injected(&stats, "reset"), seen.resets, "{stats}");
    assert_eq!(stats["outage_calls_failed"], 0);

    // The same seed, set again through the control API, gives the same faults in the same order.
    let first = {
        let again = emulator_with(EmulatorConfig {
            random_faults: Some(
                RandomFaults::parse_flag("0.25:42:server_error,reset").expect("valid"),
            ),
            ..EmulatorConfig::default()
        })
        .await;
        calls(&again, 50).await
    };
    let set = control(
        &emulator,
        "POST",
        "/_emulator/faults/random",
        r#"{"rate": 0.25, "seed": 42, "kinds": ["server_error", "reset"]}"#,
    )
    .await;
    assert_eq!((set.status, set.json["rate"].as_f64()), (200, Some(0.25)));
    assert_eq!(calls(&emulator, 50).await, first);

    // Stopped: every call is answered.
    control(&emulator, "DELETE", "/_emulator/faults/random", "").await;
    assert_eq!(calls(&emulator, 40).await.answered, 40);
    let refused = control(
        &emulator,
        "POST",
        "/_emulator/faults/random",
        r#"{"rate": 1.5}"#,
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(refused.text.contains("rate"), "{}", refused.text);
}

#[tokio::test]
async fn a_rate_of_one_faults_every_call_with_the_kinds_asked() {
    let emulator = emulator().await;
    let set = control(
        &emulator,
        "POST",
        "/_emulator/faults/random",
        r#"{"rate": 1.0, "seed": 1, "kinds": ["server_error"], "cloud": "alibaba"}"#,
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(calls(&emulator, 20).await.server_errors, 20);
    // Another cloud is not touched.
    let tencent = send(&emulator, &tencent_call(&emulator)).await;
    assert!(tencent.status < 500, "{}", tencent.text);
    let stats = control(&emulator, "GET", "/_emulator/stats", "").await.json;
    assert_eq!(injected(&stats, "server_error"), 20, "{stats}");
}

#[tokio::test]
async fn an_outage_window_fails_every_call_to_its_cloud_then_ends() {
    let emulator = emulator_with(EmulatorConfig {
        // Starts 100 cloud seconds after the emulator; the clock moves only when advanced here
        // (at time scale 1, a test run is far shorter than 100 s).
        outages: vec![OutageSpec::parse_flag("alibaba:600:100:reset").expect("valid")],
        ..EmulatorConfig::default()
    })
    .await;
    assert_eq!(calls(&emulator, 5).await.answered, 5, "before the window");
    advance(&emulator, 100.0);
    let listed = control(&emulator, "GET", "/_emulator/outages", "")
        .await
        .json;
    assert_eq!(listed["outages"][0]["active"], true, "{listed}");
    assert_eq!(calls(&emulator, 5).await.resets, 5, "inside the window");
    let tencent = send(&emulator, &tencent_call(&emulator)).await;
    assert!(
        tencent.status < 500,
        "another cloud answers: {}",
        tencent.text
    );
    advance(&emulator, 600.0);
    assert_eq!(calls(&emulator, 5).await.answered, 5, "after the window");
    let listed = control(&emulator, "GET", "/_emulator/outages", "")
        .await
        .json;
    assert_eq!(
        (
            listed["outages"][0]["active"].as_bool(),
            listed["outages"][0]["calls_failed"].as_u64()
        ),
        (Some(false), Some(5)),
        "{listed}"
    );

    // One set through the control API, starting now, with the cloud's 5xx.
    let set = control(
        &emulator,
        "POST",
        "/_emulator/outages",
        r#"{"cloud": "alibaba", "seconds": 300}"#,
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(calls(&emulator, 3).await.server_errors, 3);
    advance(&emulator, 300.0);
    assert_eq!(calls(&emulator, 3).await.answered, 3);
    let stats = control(&emulator, "GET", "/_emulator/stats", "").await.json;
    assert_eq!(
        (
            stats["outage_calls_failed"].as_u64(),
            injected(&stats, "reset"),
            injected(&stats, "server_error")
        ),
        (Some(8), 5, 3),
        "{stats}"
    );
    let refused = control(
        &emulator,
        "POST",
        "/_emulator/outages",
        r#"{"cloud": "alibaba", "seconds": 1, "kind": "lost"}"#,
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
}
