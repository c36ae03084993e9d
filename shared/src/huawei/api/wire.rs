//! IMS on the wire: the project-scoped REST request, the job query and the answer fields
//! imgflow reads.

use serde_json::Value;

use crate::Cloud;
use crate::batch::plain_status;
use crate::client::{CloudClient, Repeat};
use crate::error::{CloudError, ErrorKind};
use crate::model::{CloudReason, TaskRef, TaskState, TaskStatus};
use crate::signing::{HttpRequest, uri_encode};

pub(super) const CLOUD: Cloud = Cloud::Huawei;
/// The signer ignores it; kept for the client's interface.
pub(super) const SERVICE: &str = "ims";
const CONTENT_TYPE: &str = "application/json;charset=utf-8";

// Action names are the SDK's operation names: pacing and the emulator's stats use them.
pub(super) const EXPORT_IMAGE: &str = "ExportImage";
pub(super) const COPY_IMAGE: &str = "CopyImageCrossRegion";
const SHOW_JOB_PROGRESS: &str = "ShowJobProgress";
pub(super) const LIST_IMAGES: &str = "ListImages";

/// `job_type` of an export job: its `entities.image_id` is the source, not a new image.
pub(super) const EXPORT_JOB_TYPE: &str = "imsNativeExportImageJob";

/// The project of `region`: IMS finds everything through it.
pub(super) fn project<'c>(client: &'c CloudClient, region: &str) -> Result<&'c str, CloudError> {
    client.credentials().project(CLOUD, region).ok_or_else(|| {
        CloudError::new(
            CLOUD,
            ErrorKind::Permission,
            "Config.NoProject",
            format!("no Huawei Cloud project is configured for region {region}"),
        )
    })
}

/// An unsigned IMS request; the client fills the host and signs it.
pub(super) fn ims_request(
    method: &str,
    path: String,
    query: String,
    body: Option<&Value>,
    project: &str,
) -> HttpRequest {
    let mut request = HttpRequest::new(method, "", path);
    request.query = query;
    request.set_header("Content-Type", CONTENT_TYPE);
    request.set_header("X-Project-Id", project);
    if let Some(body) = body {
        request.body = body.to_string().into_bytes();
    }
    request
}

/// The `job_id` of a start's answer. IMS answered with success, so a job may exist even when
/// the answer does not name it: that is an unknown outcome, not a failure.
pub(super) fn job_id_of(answer: &Value) -> Result<String, CloudError> {
    text(answer, "job_id").map(str::to_owned).ok_or_else(|| {
        CloudError::new(
            CLOUD,
            ErrorKind::UnknownOutcome,
            "Response.NoJobId",
            "IMS accepted the request but its answer names no job_id",
        )
    })
}

pub(super) fn text<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub(super) fn invalid_task(message: String) -> CloudError {
    CloudError::task_ref_invalid(CLOUD, message)
}

pub(super) fn unknown_state(what: &str, raw: &str) -> CloudError {
    CloudError::new(
        CLOUD,
        ErrorKind::Unsupported,
        "State.Unknown",
        format!("{what} reports the unknown state `{raw}`"),
    )
}

pub(super) fn images(answer: &Value) -> impl Iterator<Item = &Value> {
    answer
        .get("images")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum JobState {
    Init,
    Running,
    Success,
    Fail,
}

/// What a job query says, read defensively: every field may be missing.
#[derive(Debug, PartialEq)]
pub(super) struct Job {
    pub(super) state: JobState,
    /// The raw `status` word.
    pub(super) raw: String,
    pub(super) job_type: Option<String>,
    pub(super) progress: Option<u8>,
    /// `entities.image_id`: the new image of a copy.
    pub(super) image_id: Option<String>,
    pub(super) reason: CloudReason,
}

fn read_job(job_id: &str, answer: &Value) -> Result<Job, CloudError> {
    let raw = text(answer, "status").unwrap_or_default();
    let state = match raw {
        "INIT" => JobState::Init,
        "RUNNING" => JobState::Running,
        "SUCCESS" => JobState::Success,
        "FAIL" => JobState::Fail,
        _ => return Err(unknown_state(&format!("IMS job {job_id}"), raw)),
    };
    let entities = answer.get("entities").unwrap_or(&Value::Null);
    let progress = entities
        .get("process_percent")
        .and_then(Value::as_f64)
        .and_then(percent)
        // Only a finished job is at 100: a rounded 0.996 is still running.
        .map(|p| {
            if state == JobState::Success {
                100
            } else {
                p.min(99)
            }
        });
    let reason = CloudReason {
        code: text(answer, "error_code").map(str::to_owned),
        message: text(answer, "fail_reason")
            .map_or_else(|| format!("IMS job {job_id} failed"), str::to_owned),
    };
    Ok(Job {
        state,
        raw: raw.to_owned(),
        job_type: text(answer, "job_type").map(str::to_owned),
        progress,
        image_id: text(entities, "image_id").map(str::to_owned),
        reason,
    })
}

/// `process_percent` as a percentage. IMS documents a finished job as `1`, a 0–1 fraction;
/// whether running values could come as 0–100 is undocumented, so a value above 1 is read as
/// a percentage already rather than clamped to "done".
fn percent(value: f64) -> Option<u8> {
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let percent = if value <= 1.0 { value * 100.0 } else { value };
    Some(percent.round().min(100.0) as u8)
}

pub(super) async fn show_job(
    client: &CloudClient,
    region: &str,
    job_id: &str,
) -> Result<Job, CloudError> {
    let project = project(client, region)?;
    let path = format!("/v1/cloudimages/job/{}", uri_encode(job_id));
    let http = ims_request("GET", path, String::new(), None, project);
    let answer = client
        .call(
            CLOUD,
            SHOW_JOB_PROGRESS,
            region,
            SERVICE,
            &http,
            Repeat::Safe,
        )
        .await?;
    read_job(job_id, &answer)
}

pub(super) fn failed(
    task: TaskRef,
    progress: Option<u8>,
    cloud_state: &str,
    reason: CloudReason,
) -> TaskStatus {
    TaskStatus {
        reason: Some(reason),
        ..plain_status(task, TaskState::Failed, progress, cloud_state)
    }
}

/// The job's state while it has not succeeded: `INIT` is pending, `RUNNING` running, `FAIL`
/// failed with the job's own code and reason.
pub(super) fn unfinished(task: TaskRef, job: Job) -> TaskStatus {
    match job.state {
        JobState::Init => plain_status(task, TaskState::Pending, job.progress, &job.raw),
        JobState::Fail => failed(task, job.progress, &job.raw, job.reason),
        JobState::Running | JobState::Success => {
            plain_status(task, TaskState::Running, job.progress, &job.raw)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn job_states_map_and_an_unknown_one_is_an_error() {
        let job = read_job(
            "j",
            &json!({"status": "RUNNING", "entities": {"process_percent": 0.45}}),
        )
        .expect("known");
        assert_eq!((job.state, job.progress), (JobState::Running, Some(45)));
        let done = read_job(
            "j",
            &json!({"status": "SUCCESS", "entities": {"process_percent": 1}}),
        )
        .expect("known");
        assert_eq!(done.progress, Some(100));
        let failed = read_job("j", &json!({"status": "FAIL", "error_code": "IMG.0014", "fail_reason": "boom", "entities": {"process_percent": 0.5}}))
            .expect("known");
        assert_eq!(
            (failed.state, failed.progress, failed.reason.code.as_deref()),
            (JobState::Fail, Some(50), Some("IMG.0014"))
        );
        let err = read_job("j", &json!({"status": "PAUSED"})).expect_err("unknown");
        assert_eq!(
            (err.kind, err.code.as_str()),
            (ErrorKind::Unsupported, "State.Unknown")
        );
        assert!(err.message.contains("PAUSED"), "{}", err.message);
        let err = read_job("j", &json!({})).expect_err("no status");
        assert_eq!(err.code, "State.Unknown");
    }

    #[test]
    fn progress_is_a_fraction_and_never_reads_done_while_running() {
        assert_eq!(percent(0.0), Some(0));
        assert_eq!(percent(0.5), Some(50));
        assert_eq!(percent(1.0), Some(100));
        assert_eq!(percent(42.0), Some(42));
        assert_eq!(percent(f64::NAN), None);
        let job = read_job(
            "j",
            &json!({"status": "RUNNING", "entities": {"process_percent": 0.999}}),
        )
        .expect("known");
        assert_eq!(job.progress, Some(99));
    }
}
