//! A cloud client pointed at a fresh emulator, with the emulator's built-in keys for all
//! four clouds and Huawei's projects.
#![allow(dead_code)]

use std::time::Duration;

use cloud_emulator::{EmulatorConfig, RunningEmulator};
use imgflow_shared::Cloud;
use imgflow_shared::client::CloudClient;
use imgflow_shared::config::CloudCredentials;
use imgflow_shared::endpoints::Endpoints;
use imgflow_shared::retry::RetryPolicy;
use imgflow_shared::signing::Credentials;
use imgflow_shared::transport::Transport;

pub const AK: &str = "imgflow-emulator-ak";
pub const SK: &str = "imgflow-emulator-sk";

/// An emulator whose cloud clock runs an hour per real second.
pub async fn emulator() -> RunningEmulator {
    emulator_with(EmulatorConfig {
        time_scale: 3600.0,
        ..EmulatorConfig::default()
    })
    .await
}

/// An emulator whose cloud clock stands still: it moves only by [`advance`], so a test decides
/// exactly how far every task has come (and a task's progress can be held still).
pub async fn frozen_emulator() -> RunningEmulator {
    emulator_with(EmulatorConfig {
        time_scale: 0.0,
        ..EmulatorConfig::default()
    })
    .await
}

/// The emulator's cloud time, in unix seconds.
pub fn cloud_now(emulator: &RunningEmulator) -> u64 {
    emulator.world().now() as u64
}

pub async fn emulator_with(config: EmulatorConfig) -> RunningEmulator {
    cloud_emulator::start(config)
        .await
        .expect("the emulator starts")
}

pub fn credentials() -> CloudCredentials {
    let key = || Credentials::new(AK, SK);
    CloudCredentials::default()
        .with(Cloud::Tencent, key())
        .with(Cloud::Alibaba, key())
        .with(Cloud::Volcengine, key())
        .with(Cloud::Huawei, key())
        .with_project(
            Cloud::Huawei,
            "cn-north-4",
            "0a1b2c3d4e5f40718293a4b5c6d7e8f9",
        )
        .with_project(
            Cloud::Huawei,
            "cn-east-3",
            "1b2c3d4e5f60418293a4b5c6d7e8f90a",
        )
        .with_project(
            Cloud::Huawei,
            "ap-southeast-1",
            "2c3d4e5f6071429384a5b6c7d8e9f0a1",
        )
}

/// A client for `emulator` with short retry delays, so tests that provoke retries stay fast.
pub fn client(emulator: &RunningEmulator) -> CloudClient {
    let transport = Transport::new(Duration::from_secs(2), Duration::from_secs(5)).expect("client");
    let endpoints = Endpoints::single(&emulator.base_url).expect("emulator url");
    let retry = RetryPolicy {
        max_attempts: 4,
        base: Duration::from_millis(20),
        cap: Duration::from_millis(400),
    };
    CloudClient::new(transport, endpoints, credentials(), retry)
}

/// Advances the emulator's cloud clock.
pub fn advance(emulator: &RunningEmulator, seconds: f64) {
    emulator.world().clock.advance(seconds);
}

/// Asserts that no action of `cloud` was let through faster than the emulator's rate limit,
/// and returns how many of its requests were throttled.
pub fn assert_rates_kept(emulator: &RunningEmulator, cloud: Cloud) -> u64 {
    let world = emulator.world();
    let snapshot = world.stats.snapshot();
    let prefix = format!("{cloud}:");
    let mut throttled = 0;
    for (key, stats) in &snapshot.actions {
        let Some(action) = key.strip_prefix(&prefix) else {
            continue;
        };
        let limit = world.limits.rate(cloud, action) as usize;
        assert!(
            stats.max_accepted_per_second <= limit,
            "{key}: {stats:?} over {limit}/s"
        );
        throttled += stats.throttled;
    }
    throttled
}

/// The status of one task through the client's public status call.
pub async fn status_of(
    client: &CloudClient,
    task: &imgflow_shared::model::TaskRef,
) -> imgflow_shared::model::TaskStatus {
    let mut answers = client.status(std::slice::from_ref(task)).await;
    assert_eq!(answers.len(), 1);
    answers.remove(0).expect("a status")
}

/// Checks `task` until it is final, advancing the cloud clock by `step` seconds between
/// checks; returns every status seen, the final one last.
pub async fn poll(
    emulator: &RunningEmulator,
    client: &CloudClient,
    task: &imgflow_shared::model::TaskRef,
    step: f64,
) -> Vec<imgflow_shared::model::TaskStatus> {
    let mut task = task.clone();
    let mut seen = Vec::new();
    for _ in 0..200 {
        let current = status_of(client, &task).await;
        task = current.task.clone();
        let done = current.state.is_final();
        seen.push(current);
        if done {
            return seen;
        }
        advance(emulator, step);
    }
    panic!("not final after 200 checks: {:?}", seen.last());
}
