//! The emulated clouds' state: accounts, images, buckets, tasks and the objects exports
//! write. Cloud-neutral; each cloud module renders it in its own words.

use std::collections::{BTreeMap, HashMap};

use imgflow_shared::Cloud;

use crate::catalog::{Catalog, ImageFlags, ImageSpec, ImageState, Limits, Timing};
use crate::clock::Clock;
use crate::stats::Stats;

/// An image, from the catalogue or made by a copy.
#[derive(Clone, Debug)]
pub struct Image {
    pub spec: ImageSpec,
    /// Cloud time the image was registered.
    pub created: f64,
    /// For a copy's destination image: the task whose progress is this image's state.
    pub made_by: Option<String>,
}

/// A running or finished export or copy.
#[derive(Clone, Debug)]
pub struct Task {
    pub id: String,
    pub cloud: Cloud,
    pub account: String,
    pub region: String,
    pub kind: TaskKind,
    pub created: f64,
    pub duration: f64,
    /// Fraction of the duration after which the task fails, with the cloud's code and reason.
    pub failure: Option<(f64, Failure)>,
    pub cancelled: Option<f64>,
    /// Set when the task may not start yet because a concurrency limit is full.
    pub queued_behind_limit: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

#[derive(Clone, Debug)]
pub enum TaskKind {
    Export {
        image_id: String,
        bucket: String,
        format: String,
        objects: Vec<ExportObject>,
    },
    Copy {
        image_id: String,
        destination_region: String,
        destination_image_id: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportObject {
    pub key: String,
    pub size: u64,
}

/// A task's life cycle at one instant.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    Pending,
    Running { percent: u8 },
    Succeeded,
    Failed(Failure),
    Cancelled,
}

impl Phase {
    pub fn is_active(&self) -> bool {
        matches!(self, Phase::Pending | Phase::Running { .. })
    }

    pub fn percent(&self) -> u8 {
        match self {
            Phase::Pending | Phase::Cancelled => 0,
            Phase::Running { percent } => *percent,
            Phase::Succeeded => 100,
            Phase::Failed(_) => 0,
        }
    }
}

impl Task {
    pub fn phase(&self, now: f64, timing: &Timing) -> Phase {
        if self.cancelled.is_some() {
            return Phase::Cancelled;
        }
        let fraction = ((now - self.created) / self.duration.max(1e-9)).max(0.0);
        if let Some((fail_at, failure)) = &self.failure
            && fraction >= *fail_at
        {
            return Phase::Failed(failure.clone());
        }
        if self.queued_behind_limit || fraction < timing.pending_share {
            return Phase::Pending;
        }
        if fraction >= 1.0 {
            return Phase::Succeeded;
        }
        Phase::Running {
            percent: ((fraction * 100.0) as u8).clamp(1, 99),
        }
    }

    pub fn image_id(&self) -> &str {
        match &self.kind {
            TaskKind::Export { image_id, .. } | TaskKind::Copy { image_id, .. } => image_id,
        }
    }
}

/// Who signed a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub access_key_id: String,
}

#[derive(Debug)]
pub struct World {
    pub clock: Clock,
    pub timing: Timing,
    pub limits: Limits,
    pub stats: Stats,
    /// Access key id → (secret, account).
    keys: HashMap<String, (String, String)>,
    /// Huawei project id → (account, region).
    huawei_projects: HashMap<String, (String, String)>,
    pub images: Vec<Image>,
    pub buckets: Vec<crate::catalog::BucketSpec>,
    pub tasks: Vec<Task>,
    /// Alibaba signature nonces seen, with the wall time they were first used.
    pub nonces: HashMap<String, u64>,
    /// Idempotency tokens: (cloud, account, token) → the id of what the first call created.
    pub client_tokens: HashMap<(Cloud, String, String), String>,
    next_id: u64,
    next_request: u64,
}

impl World {
    pub fn new(catalog: Catalog, time_scale: f64) -> Self {
        let mut world = Self {
            clock: Clock::new(time_scale),
            timing: catalog.timing.clone(),
            limits: catalog.limits.clone(),
            stats: Stats::default(),
            keys: HashMap::new(),
            huawei_projects: HashMap::new(),
            images: Vec::new(),
            buckets: catalog.buckets.clone(),
            tasks: Vec::new(),
            nonces: HashMap::new(),
            client_tokens: HashMap::new(),
            next_id: 1,
            next_request: 1,
        };
        for account in &catalog.accounts {
            for key in &account.credentials {
                world.add_key(&key.ak, &key.sk, &account.name);
            }
            for (region, project) in &account.huawei_projects {
                world.add_huawei_project(project, &account.name, region);
            }
        }
        let now = world.clock.cloud_now();
        world.images = catalog
            .images
            .into_iter()
            .map(|spec| Image {
                spec,
                created: now - 86_400.0,
                made_by: None,
            })
            .collect();
        world
    }

    pub fn add_key(&mut self, access_key_id: &str, secret: &str, account: &str) {
        self.keys.insert(
            access_key_id.to_owned(),
            (secret.to_owned(), account.to_owned()),
        );
    }

    pub fn add_huawei_project(&mut self, project_id: &str, account: &str, region: &str) {
        self.huawei_projects.insert(
            project_id.to_owned(),
            (account.to_owned(), region.to_owned()),
        );
    }

    /// The secret and account of an access key.
    pub fn key(&self, access_key_id: &str) -> Option<(&str, &str)> {
        self.keys
            .get(access_key_id)
            .map(|(sk, account)| (sk.as_str(), account.as_str()))
    }

    pub fn huawei_project(&self, project_id: &str) -> Option<(&str, &str)> {
        self.huawei_projects
            .get(project_id)
            .map(|(a, r)| (a.as_str(), r.as_str()))
    }

    pub fn huawei_project_of(&self, account: &str, region: &str) -> Option<&str> {
        self.huawei_projects
            .iter()
            .find(|(_, (a, r))| a == account && r == region)
            .map(|(project, _)| project.as_str())
    }

    pub fn now(&self) -> f64 {
        self.clock.cloud_now()
    }

    /// A fresh number, for ids the clouds make up.
    pub fn next_number(&mut self) -> u64 {
        let n = self.next_id;
        self.next_id += 1;
        n
    }

    /// A request id in the form `8-4-4-4-12` hex, as the clouds print them.
    pub fn request_id(&mut self) -> String {
        let n = self.next_request;
        self.next_request += 1;
        format!("e0a1b2c3-d4e5-4f60-8a7b-{n:012x}")
    }

    pub fn image(&self, cloud: Cloud, id: &str) -> Option<&Image> {
        self.images
            .iter()
            .find(|image| image.spec.cloud == cloud && image.spec.id == id)
    }

    /// The image as `account` sees it in `region`: its own images, in that region.
    pub fn own_image(&self, cloud: Cloud, account: &str, region: &str, id: &str) -> Option<&Image> {
        self.image(cloud, id)
            .filter(|image| image.spec.account == account && image.spec.region == region)
            .filter(|image| self.image_state(image).is_some())
    }

    pub fn task(&self, cloud: Cloud, id: &str) -> Option<&Task> {
        self.tasks
            .iter()
            .find(|task| task.cloud == cloud && task.id == id)
    }

    pub fn task_mut(&mut self, cloud: Cloud, id: &str) -> Option<&mut Task> {
        self.tasks
            .iter_mut()
            .find(|task| task.cloud == cloud && task.id == id)
    }

    pub fn phase(&self, task: &Task) -> Phase {
        task.phase(self.now(), &self.timing)
    }

    /// An image's state now; `None` for a copy destination whose copy was cancelled
    /// (the image is gone).
    pub fn image_state(&self, image: &Image) -> Option<ImageState> {
        let Some(task_id) = &image.made_by else {
            return Some(image.spec.state);
        };
        let task = self.task(image.spec.cloud, task_id)?;
        match self.phase(task) {
            Phase::Pending | Phase::Running { .. } => Some(ImageState::Creating),
            Phase::Succeeded => Some(ImageState::Available),
            Phase::Failed(_) => Some(ImageState::Failed),
            Phase::Cancelled => None,
        }
    }

    /// The copy task making `image`, with its progress.
    pub fn image_progress(&self, image: &Image) -> u8 {
        image
            .made_by
            .as_ref()
            .and_then(|id| self.task(image.spec.cloud, id))
            .map_or(100, |task| self.phase(task).percent())
    }

    pub fn bucket(&self, name: &str) -> Option<&crate::catalog::BucketSpec> {
        self.buckets.iter().find(|bucket| bucket.name == name)
    }

    /// Export tasks of `account` on `cloud` that are still pending or running.
    pub fn running_exports(&self, cloud: Cloud, account: &str) -> usize {
        self.tasks
            .iter()
            .filter(|t| t.cloud == cloud && t.account == account)
            .filter(|t| matches!(t.kind, TaskKind::Export { .. }))
            .filter(|t| self.phase(t).is_active())
            .count()
    }

    /// Copies on `cloud` that are running, optionally only those into `destination_region`.
    pub fn running_copies(&self, cloud: Cloud, account: &str, destination: Option<&str>) -> usize {
        self.tasks
            .iter()
            .filter(|t| t.cloud == cloud && t.account == account && !t.queued_behind_limit)
            .filter(|t| match (&t.kind, destination) {
                (
                    TaskKind::Copy {
                        destination_region, ..
                    },
                    Some(region),
                ) => destination_region == region,
                (TaskKind::Copy { .. }, None) => true,
                _ => false,
            })
            .filter(|t| self.phase(t).is_active())
            .count()
    }

    /// The duration a task on `image` takes, in cloud seconds.
    pub fn task_duration(&self, image: &ImageSpec, export: bool) -> f64 {
        let per_gb = if export {
            self.timing.export_seconds_per_gb
        } else {
            self.timing.copy_seconds_per_gb
        };
        let gib: u64 = image.size_gb + image.data_disks_gb.iter().sum::<u64>();
        (gib as f64 * per_gb).max(self.timing.min_task_seconds)
    }

    /// Registers a task; failing images get their failure at `timing.fail_share`.
    pub fn add_task(&mut self, mut task: Task, failure: Option<Failure>) -> &Task {
        task.failure = failure.map(|f| (self.timing.fail_share, f));
        self.stats.task_created(task.cloud, &task_action(&task));
        let export = matches!(task.kind, TaskKind::Export { .. });
        let (cloud, account) = (task.cloud, task.account.clone());
        self.tasks.push(task);
        if export {
            let running = self.running_exports(cloud, &account);
            self.stats.exports_running(cloud, &account, running);
        }
        self.tasks.last().expect("just pushed")
    }

    /// Starts tasks queued behind a concurrency limit once there is room (Alibaba copies).
    pub fn release_queued(&mut self) {
        let now = self.now();
        let limit = self.limits.alibaba_copies_per_region;
        let queued: Vec<usize> = (0..self.tasks.len())
            .filter(|i| self.tasks[*i].queued_behind_limit)
            .collect();
        for index in queued {
            let task = &self.tasks[index];
            let TaskKind::Copy {
                destination_region, ..
            } = &task.kind
            else {
                continue;
            };
            let running = self.running_copies(task.cloud, &task.account, Some(destination_region));
            if running < limit {
                let task = &mut self.tasks[index];
                task.queued_behind_limit = false;
                task.created = now;
            }
        }
    }

    /// The object `key` in bucket `bucket`: written by an export that has succeeded.
    pub fn object(&self, bucket: &str, key: &str) -> Option<ExportObject> {
        self.tasks.iter().find_map(|task| match &task.kind {
            TaskKind::Export {
                bucket: b, objects, ..
            } if b == bucket && self.phase(task) == Phase::Succeeded => {
                objects.iter().find(|object| object.key == key).cloned()
            }
            _ => None,
        })
    }

    /// When the object `key` in `bucket` was last written (cloud time): when the latest export
    /// that wrote it finished.
    pub fn object_written_at(&self, bucket: &str, key: &str) -> Option<f64> {
        self.tasks
            .iter()
            .filter(|task| match &task.kind {
                TaskKind::Export {
                    bucket: b, objects, ..
                } => b == bucket && objects.iter().any(|o| o.key == key),
                TaskKind::Copy { .. } => false,
            })
            .filter(|task| self.phase(task) == Phase::Succeeded)
            .map(|task| task.created + task.duration)
            .reduce(f64::max)
    }

    /// Every object in `bucket`, by key.
    pub fn objects(&self, bucket: &str) -> BTreeMap<String, u64> {
        self.tasks
            .iter()
            .filter(|task| self.phase(task) == Phase::Succeeded)
            .filter_map(|task| match &task.kind {
                TaskKind::Export {
                    bucket: b, objects, ..
                } if b == bucket => Some(objects),
                _ => None,
            })
            .flatten()
            .map(|object| (object.key.clone(), object.size))
            .collect()
    }
}

/// Flags of an image, for the cloud modules' checks.
pub fn flags(image: &Image) -> &ImageFlags {
    &image.spec.flags
}

fn task_action(task: &Task) -> String {
    match task.kind {
        TaskKind::Export { .. } => "export".to_owned(),
        TaskKind::Copy { .. } => "copy".to_owned(),
    }
}
