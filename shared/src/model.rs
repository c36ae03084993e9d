//! The one model every function, the state machine and the command line share: what to
//! export or copy, a reference to the task a cloud started, and its status. Field names are
//! stable: these documents travel through Step Functions and webhooks.

use serde::{Deserialize, Serialize};

use crate::endpoints::{Endpoints, validate_bucket};
use crate::error::{CloudError, ValidationError};
pub use crate::select::SelectedImage;
use crate::validate;
use crate::{Cloud, alibaba, huawei, tencent, volcengine};

/// Export images to the cloud's object storage. Tagged by `cloud`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cloud", rename_all = "lowercase")]
pub enum ExportRequest {
    Tencent(tencent::request::ExportImages),
    Alibaba(alibaba::request::ExportImage),
    Volcengine(volcengine::request::ExportImage),
    Huawei(huawei::request::ExportImage),
}

/// Copy an image to other regions of the same cloud. Tagged by `cloud`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cloud", rename_all = "lowercase")]
pub enum CopyRequest {
    Tencent(tencent::request::SyncImages),
    Alibaba(alibaba::request::CopyImage),
    Volcengine(volcengine::request::CopyImage),
    Huawei(huawei::request::CopyImage),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskKind {
    Export,
    /// A copy to another region (`sync` in JSON, as users name it).
    #[serde(rename = "sync")]
    Copy,
}

impl TaskKind {
    /// The name in JSON (`export`, `sync`).
    pub fn name(self) -> &'static str {
        match self {
            TaskKind::Export => "export",
            TaskKind::Copy => "sync",
        }
    }
}

/// An object an export writes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
}

/// A task a cloud accepted: enough to find it again and to know what it will produce.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRef {
    pub cloud: Cloud,
    /// The region the task runs in (the source region of a copy).
    pub region: String,
    pub kind: TaskKind,
    /// The source image.
    pub image_id: String,
    /// The cloud's task or job id, where it gives one (Tencent's export TaskId, Alibaba's
    /// and Volcengine's TaskId, Huawei's job_id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// For a copy: the destination region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_region: Option<String>,
    /// For a copy: the destination image, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_image_id: Option<String>,
    /// For an export: the objects it will write, where the cloud says so up front.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectRef>,
    /// Unix seconds when the start was accepted. A caller that does not know it (a task
    /// started by its own workflow) may leave it out (0): the job's clock then starts at its
    /// first check, and the task's objects are not required to be newer than its start.
    #[serde(default, skip_serializing_if = "is_zero_seconds")]
    pub started_at: u64,
    /// How many checks in a row have seen the copy finished. Copies are eventually
    /// consistent, so one answer is not enough: a copy succeeds on the second.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub confirmations: u32,
    /// With `skip_existing`: the work was already done (the export's objects exist, or the
    /// destination holds a copy: `destination_image_id`), so nothing was started. Its status
    /// is read without the cloud's task (see [`crate::skip`]); it counts as a success.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_zero_seconds(n: &u64) -> bool {
    *n == 0
}

/// The longest task or job id a cloud gives (Huawei's job ids are 32 hex digits).
pub const MAX_TASK_ID_LENGTH: usize = 128;

impl TaskRef {
    /// When the task started, where that is known: the lower bound for what it wrote.
    pub fn known_start(&self) -> Option<u64> {
        (self.started_at > 0).then_some(self.started_at)
    }

    /// Checks every field that reaches a host, a path or a query: the regions (the cloud's
    /// closed list or configuration, through `endpoints`), the image and task ids, and the
    /// objects' buckets and keys. A reference can come from outside (a state machine input, a
    /// caller's own workflow), so it is checked as strictly as a request.
    pub fn validate(&self, endpoints: &Endpoints) -> Result<(), ValidationError> {
        endpoints.check_region(self.cloud, "region", &self.region)?;
        image_id(self.cloud, "image_id", &self.image_id)?;
        if let Some(task_id) = &self.task_id {
            validate::identifier("task_id", task_id, MAX_TASK_ID_LENGTH)?;
        }
        if let Some(destination) = &self.destination_region {
            endpoints.check_region(self.cloud, "destination_region", destination)?;
        }
        if let Some(copy) = &self.destination_image_id {
            image_id(self.cloud, "destination_image_id", copy)?;
        }
        for (index, object) in self.objects.iter().enumerate() {
            validate_bucket(
                self.cloud,
                &format!("objects[{index}].bucket"),
                &object.bucket,
            )?;
            validate::object_key(&format!("objects[{index}].key"), &object.key)?;
        }
        Ok(())
    }
}

/// An image id by `cloud`'s rule.
pub fn image_id(cloud: Cloud, field: &str, value: &str) -> Result<(), ValidationError> {
    crate::providers::of(cloud).validate_image_id(field, value)
}

/// Where a task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl TaskState {
    pub fn is_final(self) -> bool {
        matches!(self, TaskState::Succeeded | TaskState::Failed)
    }
}

/// An exported object, proven to exist by an object-storage HEAD.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedObject {
    pub bucket: String,
    pub key: String,
    pub size: u64,
}

/// A copy's result in one region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionImage {
    pub region: String,
    pub image_id: String,
}

/// What a finished task produced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TaskResult {
    Export {
        objects: Vec<ExportedObject>,
    },
    #[serde(rename = "sync")]
    Copy {
        images: Vec<RegionImage>,
    },
}

/// The cloud's reason for a failure, in its own words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudReason {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub message: String,
}

/// A task's status at one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskStatus {
    pub task: TaskRef,
    pub state: TaskState,
    /// Percent done, where the cloud reports progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    /// The cloud's own state word (`Processing`, `SYNCING`, `RUNNING`, ...).
    pub cloud_state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CloudReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<TaskResult>,
}

/// What a start produced: the tasks to follow, or the error that kept it from starting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartOutcome {
    pub tasks: Vec<TaskRef>,
    /// With `select`: the images the selector matched (each started or skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected: Option<Vec<SelectedImage>>,
    /// Regions (of a multi-region copy) that could not start, with the cloud's error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<StartFailure>,
    /// Starts the cloud refused because its concurrency limit was full: the job starts them
    /// as room frees up (see [`crate::job::queue`]). Only a start item queues; a bare start
    /// fails with the cloud's error instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queued: Vec<QueuedStart>,
}

/// One concrete start (one image, one destination for a copy; names rendered, tokens set)
/// waiting behind a cloud's concurrency limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedStart {
    /// The job's request this start belongs to.
    pub item: usize,
    /// The item's window (its execution's start, unix seconds): every attempt of this start
    /// looks for an earlier attempt's task created since then, as the item's start did.
    pub since: u64,
    pub request: QueuedRequest,
    /// The cloud's last refusal (its code, message and request id).
    pub error: CloudError,
    /// Attempts made since it was queued.
    #[serde(default)]
    pub attempts: u32,
}

/// The request of a [`QueuedStart`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueuedRequest {
    Export(ExportRequest),
    #[serde(rename = "sync")]
    Copy(CopyRequest),
}

impl QueuedRequest {
    pub fn kind(&self) -> TaskKind {
        match self {
            QueuedRequest::Export(_) => TaskKind::Export,
            QueuedRequest::Copy(_) => TaskKind::Copy,
        }
    }

    pub fn cloud(&self) -> Cloud {
        match self {
            QueuedRequest::Export(r) => r.cloud(),
            QueuedRequest::Copy(r) => r.cloud(),
        }
    }

    pub fn region(&self) -> &str {
        match self {
            QueuedRequest::Export(r) => r.region(),
            QueuedRequest::Copy(r) => r.region(),
        }
    }

    /// The images it starts (one, but for an export of several queued as it was sent).
    pub fn image_ids(&self) -> Vec<String> {
        match self {
            QueuedRequest::Export(r) => r.image_ids(),
            QueuedRequest::Copy(r) => vec![r.image_id().to_owned()],
        }
    }

    /// A copy's destination regions.
    pub fn destination_regions(&self) -> &[String] {
        match self {
            QueuedRequest::Export(_) => &[],
            QueuedRequest::Copy(r) => r.destination_regions(),
        }
    }

    /// What names this start within its item, the same on every attempt: its images and
    /// destinations.
    pub fn identity(&self) -> String {
        format!(
            "{}>{}",
            self.image_ids().join(","),
            self.destination_regions().join(",")
        )
    }

    /// The request's rules and its regions, as a job's requests are checked: a queued start
    /// comes back in the job's state, which anyone who may start an execution can write.
    pub fn validate(&self, endpoints: &Endpoints) -> Result<(), ValidationError> {
        match self {
            QueuedRequest::Export(r) => {
                r.validate()?;
                r.check_regions(endpoints)
            }
            QueuedRequest::Copy(r) => {
                r.validate()?;
                r.check_regions(endpoints)
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartFailure {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_region: Option<String>,
    pub error: CloudError,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_tagged_by_cloud_and_validated_by_its_rules() {
        let request: ExportRequest = serde_json::from_value(serde_json::json!({
            "cloud": "volcengine", "region": "cn-beijing",
            "image_id": "image-ycweb000000000000001", "bucket": "imgflow-tos-backup",
            "prefix": "web2025"
        }))
        .expect("parses");
        assert_eq!(
            (request.cloud(), request.region()),
            (Cloud::Volcengine, "cn-beijing")
        );
        assert_eq!(request.validate(), Ok(()));

        let unknown_cloud =
            serde_json::from_value::<ExportRequest>(serde_json::json!({"cloud": "aws"}));
        assert!(
            unknown_cloud
                .expect_err("aws")
                .to_string()
                .contains("unknown variant `aws`")
        );
    }

    #[test]
    fn statuses_serialise_with_stable_names() {
        let status = TaskStatus {
            task: TaskRef {
                cloud: Cloud::Huawei,
                region: "cn-north-4".into(),
                kind: TaskKind::Copy,
                image_id: "4d0ab5e2-3114-578f-81d7-2d843f36e39b".into(),
                task_id: Some("job-1".into()),
                destination_region: Some("cn-east-3".into()),
                destination_image_id: None,
                objects: vec![],
                started_at: 1_767_225_599,
                confirmations: 1,
                skipped: false,
            },
            state: TaskState::Succeeded,
            progress: Some(100),
            cloud_state: "SUCCESS".into(),
            reason: None,
            result: Some(TaskResult::Copy {
                images: vec![RegionImage {
                    region: "cn-east-3".into(),
                    image_id: "new".into(),
                }],
            }),
        };
        let json = serde_json::to_value(&status).expect("serialises");
        assert_eq!(json["state"], "succeeded");
        assert_eq!(json["task"]["cloud"], "huawei");
        assert_eq!(json["task"]["kind"], "sync");
        assert_eq!(json["result"]["kind"], "sync");
        assert_eq!(json["result"]["images"][0]["region"], "cn-east-3");
        let back: TaskStatus = serde_json::from_value(json).expect("round trip");
        assert_eq!(back, status);
    }
}
