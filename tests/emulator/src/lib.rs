//! A local emulator of the image APIs imgflow calls on Tencent Cloud, Alibaba Cloud,
//! Volcengine and Huawei Cloud, and of their object storage.
//!
//! One HTTP port serves everything: a request goes to the cloud whose signature algorithm its
//! `Authorization` header names (or, unsigned, whose own headers or paths it carries);
//! `AWS4-HMAC-SHA256` requests go to the buckets; `/_emulator/...` is the control API.
//! Start it in-process with [`start`], or run the `cloud-emulator` binary.

pub mod alibaba;
pub mod api;
mod body;
pub mod catalog;
pub mod clock;
pub mod control;
pub mod faults;
pub mod http;
pub mod huawei;
pub mod objects;
pub mod server;
pub mod stats;
pub mod tencent;
pub mod volcengine;
pub mod world;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use catalog::Catalog;
pub use faults::{Fault, FaultKind, OutageSpec, RandomFaults};

use crate::faults::Faults;
use crate::server::Shared;
use crate::world::World;

/// How to start an emulator.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    pub listen: SocketAddr,
    /// Extra access keys (`ak`, `sk`) of the account `default`.
    pub credentials: Vec<(String, String)>,
    /// Extra Huawei projects of the account `default`: (region, project id).
    pub huawei_projects: Vec<(String, String)>,
    pub catalog: Catalog,
    /// How many cloud seconds pass per real second.
    pub time_scale: f64,
    pub faults: Vec<Fault>,
    /// Random faults on every cloud action from the start, if any.
    pub random_faults: Option<RandomFaults>,
    /// Whole-cloud outages, `start_in_seconds` counted from the start (cloud time).
    pub outages: Vec<OutageSpec>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            credentials: Vec::new(),
            huawei_projects: Vec::new(),
            catalog: Catalog::default_catalog(),
            time_scale: 1.0,
            faults: Vec::new(),
            random_faults: None,
            outages: Vec::new(),
        }
    }
}

/// A running emulator; dropping it stops the server.
pub struct RunningEmulator {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`: the one base URL every cloud, the buckets and the control API share.
    pub base_url: String,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// The emulated state, for tests that inspect or arrange it directly.
    pub fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.shared.world()
    }

    pub fn add_fault(&self, fault: Fault) {
        self.shared.faults().add(fault);
    }

    /// Stops accepting connections and waits for the server loop to end.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Binds `config.listen` and serves on the current tokio runtime.
pub async fn start(config: EmulatorConfig) -> std::io::Result<RunningEmulator> {
    let mut world = World::new(config.catalog, config.time_scale);
    for (ak, sk) in &config.credentials {
        world.add_key(ak, sk, "default");
    }
    for (region, project) in &config.huawei_projects {
        world.add_huawei_project(project, "default", region);
    }
    let mut faults = Faults::default();
    config
        .faults
        .into_iter()
        .for_each(|fault| faults.add(fault));
    faults.set_random(config.random_faults);
    let now = world.clock.cloud_now();
    for outage in &config.outages {
        faults.add_outage(outage, now);
    }
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared::new(world, faults));
    let (shutdown, stopped) = watch::channel(false);
    let task = tokio::spawn(server::serve(listener, Arc::clone(&shared), stopped));
    Ok(RunningEmulator {
        addr,
        base_url: format!("http://{addr}"),
        shared,
        shutdown,
        task: Some(task),
    })
}
