//! The public operations on all four clouds at once, as the functions and the command line
//! use them: validation before sending, starts, and one status call over mixed tasks.

use crate::common::*;
use imgflow_shared::model::{
    CopyRequest, ExportRequest, TaskRef, TaskResult, TaskState, TaskStatus,
};
use imgflow_shared::operations::StartError;

fn export_requests() -> Vec<ExportRequest> {
    let json = serde_json::json!([
        {"cloud": "tencent", "region": "ap-guangzhou", "bucket": "imgflow-backup-1250000000",
         "image_ids": ["img-web00001", "img-db000001"], "format": "QCOW2", "file_name_prefixes": ["web", "db"]},
        {"cloud": "alibaba", "region": "cn-hangzhou", "image_id": "m-bp1web000000000000001",
         "bucket": "imgflow-oss-backup", "prefix": "web2025"},
        {"cloud": "volcengine", "region": "cn-beijing", "image_id": "image-ycweb000000000000001",
         "bucket": "imgflow-tos-backup", "prefix": "web2025"},
        {"cloud": "huawei", "region": "cn-north-4", "image_id": "4d0ab5e2-3114-578f-81d7-2d843f36e39b",
         "bucket": "imgflow-obs-backup", "object_key": "exports/web.qcow2", "file_format": "qcow2"}
    ]);
    serde_json::from_value(json).expect("valid requests")
}

fn sync_requests() -> Vec<CopyRequest> {
    let json = serde_json::json!([
        {"cloud": "tencent", "region": "ap-guangzhou", "image_id": "img-web00001",
         "destination_regions": ["ap-shanghai", "ap-beijing"]},
        {"cloud": "alibaba", "region": "cn-hangzhou", "image_id": "m-bp1web000000000000001",
         "destination_regions": ["cn-shanghai"], "image_name": "web-copy", "client_token": "ops-test"},
        {"cloud": "volcengine", "region": "cn-beijing", "image_id": "image-ycweb000000000000001",
         "destination_regions": ["cn-shanghai"], "image_name": "web-copy"},
        {"cloud": "huawei", "region": "cn-north-4", "image_id": "4d0ab5e2-3114-578f-81d7-2d843f36e39b",
         "destination_regions": ["cn-east-3"], "image_name": "web copy", "agency_name": "ims_admin_agency"}
    ]);
    serde_json::from_value(json).expect("valid requests")
}

/// Checks `tasks` until every one is final, advancing the cloud clock between checks; returns
/// the final statuses and the number of checks.
async fn follow(
    emulator: &cloud_emulator::RunningEmulator,
    client: &imgflow_shared::client::CloudClient,
    mut tasks: Vec<TaskRef>,
) -> (Vec<TaskStatus>, usize) {
    for check in 1..=60 {
        let statuses: Vec<TaskStatus> = client
            .status(&tasks)
            .await
            .into_iter()
            .map(|s| s.expect("status"))
            .collect();
        assert_eq!(statuses.len(), tasks.len(), "one status per task, in order");
        for (status, task) in statuses.iter().zip(&tasks) {
            assert_eq!(
                (status.task.cloud, &status.task.image_id),
                (task.cloud, &task.image_id)
            );
        }
        if statuses.iter().all(|s| s.state.is_final()) {
            return (statuses, check);
        }
        tasks = statuses.into_iter().map(|s| s.task).collect();
        advance(emulator, 900.0);
    }
    panic!("tasks did not finish");
}

#[tokio::test]
async fn exports_on_all_four_clouds_finish_with_objects_that_exist() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let mut tasks = Vec::new();
    for request in export_requests() {
        let outcome = client.start_export(&request).await.expect("starts");
        assert!(!outcome.tasks.is_empty(), "{:?}", request.cloud());
        tasks.extend(outcome.tasks);
    }
    let (statuses, _) = follow(&emulator, &client, tasks).await;
    for status in statuses {
        assert_eq!(status.state, TaskState::Succeeded, "{status:?}");
        let Some(TaskResult::Export { objects }) = &status.result else {
            panic!("{status:?}")
        };
        assert!(!objects.is_empty());
        for object in objects {
            let stored = emulator.world().object(&object.bucket, &object.key);
            assert_eq!(stored.map(|o| o.size), Some(object.size), "{object:?}");
        }
    }
    let stats = emulator.world().stats.snapshot();
    assert!(
        stats.actions.values().all(|a| a.throttled == 0),
        "{:?}",
        stats.actions
    );
}

#[tokio::test]
async fn syncs_on_all_four_clouds_finish_with_new_images_per_region() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let mut tasks = Vec::new();
    for request in sync_requests() {
        let outcome = client.start_copy(&request).await.expect("starts");
        assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
        tasks.extend(outcome.tasks);
    }
    assert_eq!(tasks.len(), 5, "one task per destination region");
    let (statuses, checks) = follow(&emulator, &client, tasks).await;
    assert!(checks >= 2, "a copy needs two finished answers");
    for status in statuses {
        assert_eq!(status.state, TaskState::Succeeded, "{status:?}");
        let Some(TaskResult::Copy { images }) = &status.result else {
            panic!("{status:?}")
        };
        assert_eq!(images.len(), 1);
        assert_eq!(
            Some(&images[0].region),
            status.task.destination_region.as_ref()
        );
        assert_ne!(
            images[0].image_id, status.task.image_id,
            "a new image, not the source"
        );
    }
}

#[tokio::test]
async fn an_invalid_request_names_the_field_and_sends_nothing() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let mut request = export_requests().remove(0);
    if let ExportRequest::Tencent(tencent) = &mut request {
        tencent.file_name_prefixes.pop();
    }
    let err = client.start_export(&request).await.expect_err("invalid");
    let StartError::Invalid(invalid) = err else {
        panic!("{err:?}")
    };
    assert_eq!(invalid.field, "file_name_prefixes");
    assert!(
        emulator.world().stats.snapshot().actions.is_empty(),
        "nothing was sent"
    );
}

#[tokio::test]
async fn a_tencent_export_is_not_proven_by_the_files_of_an_earlier_export() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let request: ExportRequest = serde_json::from_value(serde_json::json!({
        "cloud": "tencent", "region": "ap-guangzhou", "bucket": "imgflow-backup-1250000000",
        "image_ids": ["img-web00001"], "format": "QCOW2", "file_name_prefixes": ["nightly"]}))
    .expect("valid request");
    let first = client.start_export(&request).await.expect("starts").tasks;
    let (statuses, _) = follow(&emulator, &client, first).await;
    assert_eq!(statuses[0].state, TaskState::Succeeded);

    // A day later the same export runs again and writes the same object names.
    advance(&emulator, 86_400.0);
    let mut second = client
        .start_export(&request)
        .await
        .expect("starts again")
        .tasks;
    // Its start is "now" in cloud time; the earlier files predate it.
    let cloud_now = emulator.world().now() as u64;
    second
        .iter_mut()
        .for_each(|task| task.started_at = cloud_now);
    let status = client.status(&second).await.remove(0).expect("status");
    assert_eq!(
        status.state,
        TaskState::Running,
        "the old files prove nothing: {status:?}"
    );
    let (statuses, _) = follow(&emulator, &client, second).await;
    assert_eq!(statuses[0].state, TaskState::Succeeded);
}
