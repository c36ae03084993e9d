//! Tencent CVM 2017-03-12 over real HTTP, signed by the project's own TC3 signer:
//! ExportImages, SyncImages, DescribeImages, every seed error code, authentication,
//! throttling and injected faults.

use crate::common::*;
use cloud_emulator::catalog::{ImageFlags, ImageSpec, ImageState};
use cloud_emulator::world::Phase;
use cloud_emulator::{Catalog, EmulatorConfig, Fault, FaultKind, RunningEmulator};
use imgflow_shared::Cloud;
use imgflow_shared::signing::{Credentials, HttpRequest, Timestamp};
use serde_json::{Value, json};

const REGION: &str = "ap-guangzhou";
const BUCKET: &str = "imgflow-backup-1250000000";
const GIB: u64 = 1024 * 1024 * 1024;

/// A `POST /` JSON request as the SDK builds it, unsigned.
fn unsigned(emulator: &RunningEmulator, action: &str, region: &str, body: &Value) -> HttpRequest {
    let mut request = request(emulator, "POST", "/");
    request.headers.extend([
        ("Content-Type".to_owned(), "application/json".to_owned()),
        ("X-TC-Action".to_owned(), action.to_owned()),
        ("X-TC-Version".to_owned(), "2017-03-12".to_owned()),
        ("X-TC-Region".to_owned(), region.to_owned()),
    ]);
    request.body = serde_json::to_vec(body).expect("json");
    request
}

fn signed(emulator: &RunningEmulator, action: &str, region: &str, body: &Value) -> HttpRequest {
    let mut request = unsigned(emulator, action, region, body);
    sign(Cloud::Tencent, &mut request, &credentials(), region, "cvm");
    request
}

/// Sends a signed call and returns the `Response` object, checking the envelope every
/// answer shares: HTTP 200, `Content-Type: application/json` exactly, a `RequestId`.
async fn call(emulator: &RunningEmulator, action: &str, region: &str, body: Value) -> Value {
    let reply = send(emulator, &signed(emulator, action, region, &body)).await;
    response_of(reply)
}

fn response_of(reply: Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let response = reply.json["Response"].clone();
    assert!(
        response["RequestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{}",
        reply.text
    );
    response
}

fn error_code(response: &Value) -> Option<&str> {
    response["Error"]["Code"].as_str()
}

async fn expect_error(
    emulator: &RunningEmulator,
    action: &str,
    region: &str,
    body: Value,
    code: &str,
) {
    let response = call(emulator, action, region, body.clone()).await;
    assert_eq!(
        error_code(&response),
        Some(code),
        "{action} {body} answered {response}"
    );
    assert!(
        response["Error"]["Message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

async fn describe_one(emulator: &RunningEmulator, region: &str, id: &str) -> Value {
    let response = call(
        emulator,
        "DescribeImages",
        region,
        json!({"ImageIds": [id]}),
    )
    .await;
    assert_eq!(response["TotalCount"], 1, "{response}");
    response["ImageSet"][0].clone()
}

fn image(id: &str, name: &str, region: &str, size_gb: u64) -> ImageSpec {
    ImageSpec {
        cloud: Cloud::Tencent,
        account: "default".into(),
        region: region.into(),
        id: id.into(),
        name: name.into(),
        size_gb,
        data_disks_gb: Vec::new(),
        os_type: "linux".into(),
        state: ImageState::Available,
        flags: ImageFlags::default(),
        tags: Default::default(),
    }
}

/// The default catalogue plus the images for the traits it has no example of, with rate
/// limits high enough for a table of cases sent back to back.
async fn emulator_with_extra_images() -> RunningEmulator {
    let mut catalog = Catalog::default_catalog();
    for action in ["ExportImages", "SyncImages", "DescribeImages"] {
        catalog
            .limits
            .rates
            .insert(format!("tencent:{action}"), 1_000);
    }
    let mut public = image("img-pub00001", "tencentos-public", REGION, 20);
    public.flags.public = true;
    let mut redhat = image("img-rhel0001", "rhel-8", REGION, 20);
    redhat.os_type = "redhat".into();
    let mut freebsd = image("img-bsd00001", "freebsd-13", REGION, 20);
    freebsd.os_type = "freebsd".into();
    catalog.images.extend([
        public,
        redhat,
        freebsd,
        image("img-cdc00001", "cdc-local-image", REGION, 20),
        image("img-inst0001", "instance-full-backup", REGION, 20),
        image("img-sha00001", "taken-name", "ap-shanghai", 20),
    ]);
    emulator_with(EmulatorConfig {
        catalog,
        ..EmulatorConfig::default()
    })
    .await
}

fn task_phases(emulator: &RunningEmulator) -> Vec<Phase> {
    let world = emulator.world();
    world
        .tasks
        .iter()
        .filter(|task| task.cloud == Cloud::Tencent)
        .map(|task| world.phase(task))
        .collect()
}

fn snapshot_ids(image: &Value) -> Vec<String> {
    image["SnapshotSet"]
        .as_array()
        .expect("SnapshotSet")
        .iter()
        .map(|s| s["SnapshotId"].as_str().expect("SnapshotId").to_owned())
        .collect()
}

// ------------------------------------------------------------------------- ExportImages

#[tokio::test]
async fn export_writes_one_object_per_disk_that_appears_when_the_export_is_done() {
    let emulator = emulator().await;
    let web = describe_one(&emulator, REGION, "img-web00001").await;
    let db = describe_one(&emulator, REGION, "img-db000001").await;
    let (web_snaps, db_snaps) = (snapshot_ids(&web), snapshot_ids(&db));
    assert_eq!((web_snaps.len(), db_snaps.len()), (1, 2));
    assert_eq!(db["SnapshotSet"][1]["DiskUsage"], "DATA_DISK");

    let response = call(
        &emulator,
        "ExportImages",
        REGION,
        json!({"BucketName": BUCKET, "ImageIds": ["img-web00001", "img-db000001"],
               "ExportFormat": "QCOW2", "FileNamePrefixList": ["web", "db"]}),
    )
    .await;
    assert!(
        response["TaskId"].is_u64(),
        "TaskId is an integer: {response}"
    );
    let expected = vec![
        format!("/web_img-web00001_system_{}.qcow2", web_snaps[0]),
        format!("/db_img-db000001_system_{}.qcow2", db_snaps[0]),
        format!("/db_img-db000001_data_{}.qcow2", db_snaps[1]),
    ];
    let paths: Vec<String> = serde_json::from_value(response["CosPaths"].clone()).expect("paths");
    assert_eq!(paths, expected);
    let keys: Vec<&str> = paths.iter().map(|p| p.trim_start_matches('/')).collect();

    // Nothing is in the bucket yet, the source stays NORMAL, and a second export is refused.
    assert!(
        keys.iter()
            .all(|key| emulator.world().object(BUCKET, key).is_none())
    );
    assert_eq!(
        describe_one(&emulator, REGION, "img-web00001").await["ImageState"],
        "NORMAL"
    );
    expect_error(
        &emulator,
        "ExportImages",
        REGION,
        json!({"BucketName": BUCKET, "ImageIds": ["img-web00001"]}),
        "InvalidParameterValue.InvalidImageState",
    )
    .await;

    // Progress moves: 300 GiB at 72 s/GiB is 21600 s for the database image.
    advance(&emulator, 5_000.0);
    let early: Vec<u8> = task_phases(&emulator).iter().map(Phase::percent).collect();
    advance(&emulator, 5_000.0);
    let later: Vec<u8> = task_phases(&emulator).iter().map(Phase::percent).collect();
    assert!(
        early.iter().zip(&later).any(|(a, b)| b > a),
        "{early:?} -> {later:?}"
    );
    // The web image (3600 s) is done and its object is there; the database's are not yet.
    assert!(emulator.world().object(BUCKET, keys[0]).is_some());
    assert!(
        keys[1..]
            .iter()
            .all(|key| emulator.world().object(BUCKET, key).is_none())
    );

    advance(&emulator, 20_000.0);
    assert!(
        task_phases(&emulator)
            .iter()
            .all(|p| *p == Phase::Succeeded)
    );
    let sizes: Vec<u64> = keys
        .iter()
        .map(|key| {
            emulator
                .world()
                .object(BUCKET, key)
                .expect("object written")
                .size
        })
        .collect();
    let qcow2 = |gib: u64| (gib as f64 * GIB as f64 * 0.35) as u64;
    assert_eq!(sizes, vec![qcow2(50), qcow2(100), qcow2(200)]);
}

#[tokio::test]
async fn export_defaults_to_raw_without_prefix_and_can_skip_data_disks() {
    let emulator = emulator().await;
    let db = describe_one(&emulator, REGION, "img-db000001").await;
    let response = call(
        &emulator,
        "ExportImages",
        REGION,
        json!({"BucketName": BUCKET, "ImageIds": ["img-db000001"], "OnlyExportRootDisk": true}),
    )
    .await;
    let key = format!("img-db000001_system_{}.raw", snapshot_ids(&db)[0]);
    assert_eq!(response["CosPaths"], json!([format!("/{key}")]));
    advance(&emulator, 100.0 * 72.0 + 1.0);
    let object = emulator.world().object(BUCKET, &key).expect("written");
    assert_eq!(object.size, 100 * GIB);
}

#[tokio::test]
async fn export_of_a_snapshot_writes_one_object_named_after_it() {
    let emulator = emulator().await;
    let snapshot = snapshot_ids(&describe_one(&emulator, REGION, "img-db000001").await)[1].clone();
    let response = call(
        &emulator,
        "ExportImages",
        REGION,
        json!({"BucketName": BUCKET, "SnapshotIds": [snapshot], "ExportFormat": "vhd"}),
    )
    .await;
    assert_eq!(response["CosPaths"], json!([format!("/{snapshot}.vhd")]));
    advance(&emulator, 200.0 * 72.0 + 1.0);
    assert!(
        emulator
            .world()
            .object(BUCKET, &format!("{snapshot}.vhd"))
            .is_some()
    );
}

#[tokio::test]
async fn a_failing_export_never_writes_its_objects() {
    let emulator = emulator().await;
    let response = call(
        &emulator,
        "ExportImages",
        REGION,
        json!({"BucketName": BUCKET, "ImageIds": ["img-fail0001"]}),
    )
    .await;
    let key = response["CosPaths"][0]
        .as_str()
        .expect("path")
        .trim_start_matches('/')
        .to_owned();
    advance(&emulator, 10_000.0);
    assert!(
        matches!(&task_phases(&emulator)[..], [Phase::Failed(f)] if f.code.starts_with("FailedOperation"))
    );
    assert!(emulator.world().object(BUCKET, &key).is_none());
    // The failed export no longer holds the image.
    let dry = call(
        &emulator,
        "ExportImages",
        REGION,
        json!({"BucketName": BUCKET, "ImageIds": ["img-fail0001"], "DryRun": true}),
    )
    .await;
    assert_eq!(error_code(&dry), Some("DryRunOperation"));
}

#[tokio::test]
async fn dry_runs_check_everything_and_start_nothing() {
    let emulator = emulator().await;
    expect_error(
        &emulator,
        "ExportImages",
        REGION,
        json!({"BucketName": BUCKET, "ImageIds": ["img-web00001"], "DryRun": true}),
        "DryRunOperation",
    )
    .await;
    expect_error(
        &emulator,
        "SyncImages",
        REGION,
        json!({"ImageIds": ["img-web00001"], "DestinationRegions": ["ap-shanghai"], "DryRun": true}),
        "DryRunOperation",
    )
    .await;
    // A dry run still reports what is wrong.
    expect_error(
        &emulator,
        "ExportImages",
        REGION,
        json!({"BucketName": BUCKET, "ImageIds": ["img-win00001"], "DryRun": true}),
        "UnsupportedOperation.WindowsImageExportUnsupported",
    )
    .await;
    assert!(emulator.world().tasks.is_empty());
    let images = call(&emulator, "DescribeImages", "ap-shanghai", json!({})).await;
    assert_eq!(images["TotalCount"], 0);
}

/// Every code of seed 000 that ExportImages can return, with the request that triggers it.
#[tokio::test]
async fn export_answers_every_seed_error_code() {
    let emulator = emulator_with_extra_images().await;
    let export = |images: Value| json!({"BucketName": BUCKET, "ImageIds": images});
    let many: Vec<String> = (0..11).map(|i| format!("img-many{i:04}")).collect();
    let cases = [
        (
            "AuthFailure.CamRoleNameAuthenticateFailed",
            json!({"BucketName": BUCKET, "ImageIds": ["img-web00001"], "RoleName": "NoSuchRole"}),
        ),
        ("InvalidImageId.Malformed", export(json!(["img-WEB"]))),
        ("InvalidImageId.NotFound", export(json!(["img-zzzzzzzz"]))),
        // Another account's image is not found either.
        ("InvalidImageId.NotFound", export(json!(["img-oth00001"]))),
        (
            "InvalidParameter.ImageIdsSnapshotIdsMustOne",
            json!({"BucketName": BUCKET}),
        ),
        (
            "InvalidParameter.ImageIdsSnapshotIdsMustOne",
            json!({"BucketName": BUCKET, "ImageIds": ["img-web00001"], "SnapshotIds": ["snap-00000000"]}),
        ),
        (
            "InvalidParameter.SnapshotNotFound",
            json!({"BucketName": BUCKET, "SnapshotIds": ["snap-zzzzzzzz"]}),
        ),
        (
            "InvalidParameterValue.BucketNotFound",
            json!({"BucketName": "nosuch-1250000000", "ImageIds": ["img-web00001"]}),
        ),
        (
            "InvalidParameterValue.InvalidAppIdFormat",
            json!({"BucketName": "imgflow-backup", "ImageIds": ["img-web00001"]}),
        ),
        (
            "InvalidParameterValue.InvalidBucketPermissionForExport",
            json!({"BucketName": "imgflow-readonly-1250000000", "ImageIds": ["img-web00001"]}),
        ),
        (
            "InvalidParameterValue.InvalidFileNamePrefixList",
            json!({"BucketName": BUCKET, "ImageIds": ["img-web00001"], "FileNamePrefixList": ["a", "b"]}),
        ),
        (
            "InvalidParameterValue.InvalidImageId",
            export(json!(["img-cdc00001"])),
        ),
        (
            "InvalidParameterValue.InvalidImageOsName",
            export(json!(["img-bsd00001"])),
        ),
        (
            "InvalidParameterValue.InvalidImageState",
            export(json!(["img-busy0001"])),
        ),
        (
            "InvalidParameterValue.InvalidImageState",
            export(json!(["img-new00001"])),
        ),
        ("InvalidParameterValue.LimitExceeded", export(json!(many))),
        (
            "InvalidParameterValue.TooLarge",
            json!({"BucketName": BUCKET, "ImageIds": ["img-web00001"], "FileNamePrefixList": ["p".repeat(65)]}),
        ),
        (
            "UnsupportedOperation.EncryptedImagesNotSupported",
            export(json!(["img-enc00001"])),
        ),
        (
            "UnsupportedOperation.ImageTooLargeExportUnsupported",
            export(json!(["img-big00001"])),
        ),
        (
            "UnsupportedOperation.MarketImageExportUnsupported",
            export(json!(["img-mkt00001"])),
        ),
        (
            "UnsupportedOperation.PublicImageExportUnsupported",
            export(json!(["img-pub00001"])),
        ),
        (
            "UnsupportedOperation.RedHatImageExportUnsupported",
            export(json!(["img-rhel0001"])),
        ),
        (
            "UnsupportedOperation.SharedImageExportUnsupported",
            export(json!(["img-shr00001"])),
        ),
        (
            "UnsupportedOperation.WindowsImageExportUnsupported",
            export(json!(["img-win00001"])),
        ),
    ];
    for (code, body) in cases {
        expect_error(&emulator, "ExportImages", REGION, body, code).await;
    }
    assert!(
        emulator.world().tasks.is_empty(),
        "no refused export left a task"
    );
}

#[tokio::test]
async fn running_exports_are_limited_per_account() {
    let mut catalog = Catalog::default_catalog();
    catalog.limits.running_exports_per_account = 2;
    let emulator = emulator_with(EmulatorConfig {
        catalog,
        ..EmulatorConfig::default()
    })
    .await;
    let three =
        json!({"BucketName": BUCKET, "ImageIds": ["img-web00001", "img-db000001", "img-mid00001"]});
    expect_error(
        &emulator,
        "ExportImages",
        REGION,
        three,
        "LimitExceeded.ExportImageTaskLimitExceeded",
    )
    .await;
    let two = json!({"BucketName": BUCKET, "ImageIds": ["img-web00001", "img-db000001"]});
    assert!(call(&emulator, "ExportImages", REGION, two).await["TaskId"].is_u64());
    expect_error(
        &emulator,
        "ExportImages",
        REGION,
        json!({"BucketName": BUCKET, "ImageIds": ["img-mid00001"]}),
        "LimitExceeded.ExportImageTaskLimitExceeded",
    )
    .await;
    advance(&emulator, 30_000.0);
    let after = json!({"BucketName": BUCKET, "ImageIds": ["img-mid00001"]});
    assert!(call(&emulator, "ExportImages", REGION, after).await["TaskId"].is_u64());
}

// ------------------------------------------------------------------------- SyncImages

#[tokio::test]
async fn sync_makes_syncing_images_that_turn_normal() {
    let emulator = emulator().await;
    let response = call(
        &emulator,
        "SyncImages",
        REGION,
        json!({"ImageIds": ["img-web00001"], "DestinationRegions": ["ap-shanghai", "ap-beijing"],
               "ImageSetRequired": true, "ImageName": "web-copy"}),
    )
    .await;
    let set = response["ImageSet"].as_array().expect("ImageSet").clone();
    assert_eq!(set.len(), 2, "{response}");
    assert_eq!(set[0]["Region"], "ap-shanghai");
    assert_eq!(set[1]["Region"], "ap-beijing");
    let new_id = set[0]["ImageId"].as_str().expect("id").to_owned();
    assert!(
        new_id.starts_with("img-") && new_id != "img-web00001",
        "{new_id}"
    );

    // The copy is only visible in its destination region.
    let source_region = call(
        &emulator,
        "DescribeImages",
        REGION,
        json!({"ImageIds": [new_id]}),
    )
    .await;
    assert_eq!(source_region["TotalCount"], 0);
    let first = describe_one(&emulator, "ap-shanghai", &new_id).await;
    assert_eq!(
        (first["ImageState"].as_str(), first["ImageName"].as_str()),
        (Some("SYNCING"), Some("web-copy"))
    );
    assert_eq!(
        describe_one(&emulator, REGION, "img-web00001").await["ImageState"],
        "NORMAL"
    );

    // 50 GiB at 36 s/GiB is 1800 s.
    let mut percents = Vec::new();
    for _ in 0..4 {
        advance(&emulator, 400.0);
        let image = describe_one(&emulator, "ap-shanghai", &new_id).await;
        assert_eq!(image["ImageState"], "SYNCING");
        percents.push(image["SyncPercent"].as_u64().expect("SyncPercent"));
    }
    assert!(percents.windows(2).all(|w| w[1] > w[0]), "{percents:?}");
    advance(&emulator, 400.0);
    let done = describe_one(&emulator, "ap-shanghai", &new_id).await;
    assert_eq!(
        (done["ImageState"].as_str(), done["SyncPercent"].as_u64()),
        (Some("NORMAL"), Some(100))
    );
    assert_eq!(done["ImageSize"], 50);
}

#[tokio::test]
async fn without_image_set_required_the_set_repeats_the_source_id() {
    let emulator = emulator().await;
    let response = call(
        &emulator,
        "SyncImages",
        REGION,
        json!({"ImageIds": ["img-web00001"], "DestinationRegions": ["ap-shanghai"]}),
    )
    .await;
    assert_eq!(
        response["ImageSet"],
        json!([{"ImageId": "img-web00001", "Region": "ap-shanghai"}])
    );
    // The new image exists all the same, found by name in the destination.
    let found = call(
        &emulator,
        "DescribeImages",
        "ap-shanghai",
        json!({"Filters": [{"Name": "image-name", "Values": ["web-server"]}]}),
    )
    .await;
    assert_eq!(found["TotalCount"], 1, "{found}");
    assert_eq!(found["ImageSet"][0]["ImageState"], "SYNCING");
}

#[tokio::test]
async fn a_failing_sync_leaves_a_createfailed_image_that_cannot_be_synced() {
    let emulator = emulator().await;
    let response = call(
        &emulator,
        "SyncImages",
        REGION,
        json!({"ImageIds": ["img-fail0001"], "DestinationRegions": ["ap-shanghai"], "ImageSetRequired": true}),
    )
    .await;
    let new_id = response["ImageSet"][0]["ImageId"]
        .as_str()
        .expect("id")
        .to_owned();
    advance(&emulator, 5_000.0);
    assert_eq!(
        describe_one(&emulator, "ap-shanghai", &new_id).await["ImageState"],
        "CREATEFAILED"
    );
    expect_error(
        &emulator,
        "SyncImages",
        "ap-shanghai",
        json!({"ImageIds": [new_id], "DestinationRegions": ["ap-beijing"]}),
        "InvalidImageId.IncorrectState",
    )
    .await;
}

#[tokio::test]
async fn shared_images_sync_into_their_own_region_as_custom_images() {
    let emulator = emulator().await;
    let response = call(
        &emulator,
        "SyncImages",
        REGION,
        json!({"ImageIds": ["img-shr00001"], "DestinationRegions": [REGION], "ImageSetRequired": true}),
    )
    .await;
    let new_id = response["ImageSet"][0]["ImageId"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        describe_one(&emulator, REGION, &new_id).await["ImageType"],
        "PRIVATE_IMAGE"
    );
}

/// Every code of seed 002, with the request that triggers it.
#[tokio::test]
async fn sync_answers_every_seed_error_code() {
    let emulator = emulator_with_extra_images().await;
    let sync =
        |image: &str, regions: Value| json!({"ImageIds": [image], "DestinationRegions": regions});
    // An export in progress occupies the mid image.
    let started = call(
        &emulator,
        "ExportImages",
        REGION,
        json!({"BucketName": BUCKET, "ImageIds": ["img-mid00001"]}),
    )
    .await;
    assert!(started["TaskId"].is_u64());
    // A sync of web to Shanghai is in flight.
    let first = call(
        &emulator,
        "SyncImages",
        REGION,
        sync("img-web00001", json!(["ap-shanghai"])),
    )
    .await;
    assert!(first["ImageSet"].is_array(), "{first}");

    let cases = [
        (
            REGION,
            "FailedOperation.InvalidImageState",
            sync("img-web00001", json!(["ap-shanghai"])),
        ),
        (
            REGION,
            "InvalidImageId.Malformed",
            sync("img-x", json!(["ap-shanghai"])),
        ),
        (
            REGION,
            "InvalidImageId.NotFound",
            sync("img-zzzzzzzz", json!(["ap-shanghai"])),
        ),
        (
            REGION,
            "InvalidImageId.TooLarge",
            sync("img-big00001", json!(["ap-shanghai"])),
        ),
        (
            REGION,
            "InvalidImageName.Duplicate",
            json!({"ImageIds": ["img-db000001"], "DestinationRegions": ["ap-shanghai"], "ImageName": "taken-name"}),
        ),
        (
            REGION,
            "InvalidParameter.InstanceImageNotSupport",
            sync("img-inst0001", json!(["ap-shanghai"])),
        ),
        (
            REGION,
            "InvalidParameterValue.InvalidImageId",
            sync("img-pub00001", json!(["ap-shanghai"])),
        ),
        (
            REGION,
            "InvalidParameterValue.InvalidImageState",
            sync("img-mid00001", json!(["ap-shanghai"])),
        ),
        (
            REGION,
            "InvalidParameterValue.InvalidImageState",
            sync("img-busy0001", json!(["ap-shanghai"])),
        ),
        (
            REGION,
            "InvalidParameterValue.InvalidImageState",
            sync("img-new00001", json!(["ap-shanghai"])),
        ),
        (
            REGION,
            "InvalidParameterValue.InvalidRegion",
            sync("img-db000001", json!([REGION])),
        ),
        (
            REGION,
            "InvalidParameterValue.InvalidRegion",
            sync("img-db000001", json!(["Shanghai"])),
        ),
        (
            REGION,
            "InvalidParameterValue.InvalidRegion",
            sync("img-shr00001", json!(["ap-shanghai"])),
        ),
        (
            REGION,
            "InvalidParameterValue.LimitExceeded",
            json!({"ImageIds": ["img-db000001", "img-web00001"], "DestinationRegions": ["ap-shanghai"]}),
        ),
        (
            REGION,
            "InvalidRegion.NotFound",
            sync("img-db000001", json!(["ap-moon"])),
        ),
        (
            REGION,
            "InvalidRegion.Unavailable",
            sync("img-db000001", json!(["ap-shenzhen-fsi"])),
        ),
        (
            REGION,
            "UnsupportedOperation.EncryptedImagesNotSupported",
            sync("img-enc00001", json!(["ap-shanghai"])),
        ),
        (
            REGION,
            "UnsupportedOperation.LocationImageNotSupported",
            sync("img-cdc00001", json!(["ap-shanghai"])),
        ),
        (
            "ap-shanghai-fsi",
            "UnsupportedOperation.Region",
            sync("img-db000001", json!(["ap-shanghai"])),
        ),
        (
            "ap-moon",
            "UnsupportedOperation.Region",
            sync("img-db000001", json!(["ap-shanghai"])),
        ),
    ];
    for (region, code, body) in cases {
        expect_error(&emulator, "SyncImages", region, body, code).await;
    }
}

#[tokio::test]
async fn sync_refuses_a_destination_region_whose_image_quota_is_full() {
    let mut catalog = Catalog::default_catalog();
    catalog.images.extend((0..500).map(|i| {
        image(
            &format!("img-q{i:07}"),
            &format!("filler-{i}"),
            "ap-singapore",
            10,
        )
    }));
    let emulator = emulator_with(EmulatorConfig {
        catalog,
        ..EmulatorConfig::default()
    })
    .await;
    expect_error(
        &emulator,
        "SyncImages",
        REGION,
        json!({"ImageIds": ["img-web00001"], "DestinationRegions": ["ap-singapore"]}),
        "ImageQuotaLimitExceeded",
    )
    .await;
    let tokyo = call(
        &emulator,
        "SyncImages",
        REGION,
        json!({"ImageIds": ["img-web00001"], "DestinationRegions": ["ap-tokyo"]}),
    )
    .await;
    assert!(tokyo["ImageSet"].is_array(), "{tokyo}");
}

// ------------------------------------------------------------------------- DescribeImages

#[tokio::test]
async fn describe_renders_the_sdk_image_model_and_pages() {
    let emulator = emulator().await;
    let web = describe_one(&emulator, REGION, "img-web00001").await;
    for field in [
        "ImageId",
        "OsName",
        "ImageType",
        "CreatedTime",
        "ImageName",
        "ImageDescription",
        "ImageSize",
        "Architecture",
        "ImageState",
        "Platform",
        "ImageCreator",
        "ImageSource",
        "SyncPercent",
        "IsSupportCloudinit",
        "SnapshotSet",
        "Tags",
        "LicenseType",
        "ImageFamily",
        "ImageDeprecated",
        "CdcCacheStatus",
    ] {
        assert!(web.get(field).is_some(), "{field} missing from {web}");
    }
    assert_eq!(
        web.as_object().expect("object").len(),
        20,
        "no field beyond the SDK model"
    );
    assert_eq!(
        (
            web["ImageType"].as_str(),
            web["ImageSize"].as_u64(),
            web["ImageState"].as_str()
        ),
        (Some("PRIVATE_IMAGE"), Some(50), Some("NORMAL"))
    );
    assert_eq!(
        describe_one(&emulator, REGION, "img-new00001").await["ImageState"],
        "CREATING"
    );
    assert_eq!(
        describe_one(&emulator, REGION, "img-shr00001").await["ImageType"],
        "SHARED_IMAGE"
    );
    assert_eq!(
        describe_one(&emulator, REGION, "img-win00001").await["Platform"],
        "Windows"
    );

    let all = call(&emulator, "DescribeImages", REGION, json!({})).await;
    let total = all["TotalCount"].as_u64().expect("TotalCount");
    assert_eq!(total, 11, "the default account's images in ap-guangzhou");
    let page = call(
        &emulator,
        "DescribeImages",
        REGION,
        json!({"Offset": 10, "Limit": 5}),
    )
    .await;
    assert_eq!(
        (
            page["TotalCount"].as_u64(),
            page["ImageSet"].as_array().map(Vec::len)
        ),
        (Some(total), Some(1))
    );
    let unknown = call(
        &emulator,
        "DescribeImages",
        REGION,
        json!({"ImageIds": ["img-zzzzzzzz"]}),
    )
    .await;
    assert_eq!(
        (unknown["TotalCount"].as_u64(), error_code(&unknown)),
        (Some(0), None)
    );
    let shared = call(
        &emulator,
        "DescribeImages",
        REGION,
        json!({"Filters": [{"Name": "image-type", "Values": ["SHARED_IMAGE"]}]}),
    )
    .await;
    assert_eq!(shared["TotalCount"], 1);
}

#[tokio::test]
async fn describe_rejects_what_cvm_rejects() {
    let emulator = emulator().await;
    let cases = [
        (
            "InvalidParameter.InvalidParameterCoexistImageIdsFilters",
            json!({"ImageIds": ["img-web00001"], "Filters": [{"Name": "image-id", "Values": ["img-web00001"]}]}),
        ),
        ("InvalidImageId.Malformed", json!({"ImageIds": ["web"]})),
        (
            "InvalidFilter",
            json!({"Filters": [{"Name": "colour", "Values": ["red"]}]}),
        ),
        (
            "InvalidFilterValue.LimitExceeded",
            json!({"Filters": [{"Name": "image-id", "Values": ["a", "b", "c", "d", "e", "f"]}]}),
        ),
        (
            "InvalidParameterValue.InvalidParameterValueLimit",
            json!({"Limit": 101}),
        ),
        ("InvalidParameter", json!({"Limit": "ten"})),
        ("UnknownParameter", json!({"ImageId": "img-web00001"})),
    ];
    for (code, body) in cases {
        expect_error(&emulator, "DescribeImages", REGION, body, code).await;
    }
}

#[tokio::test]
async fn the_get_form_with_indexed_lists_works() {
    let emulator = emulator().await;
    let mut describe = request(&emulator, "GET", "/");
    describe.query = "ImageIds.0=img-web00001&ImageIds.1=img-db000001&Limit=10".into();
    describe.headers.extend([
        (
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ),
        ("X-TC-Action".to_owned(), "DescribeImages".to_owned()),
        ("X-TC-Version".to_owned(), "2017-03-12".to_owned()),
        ("X-TC-Region".to_owned(), REGION.to_owned()),
    ]);
    sign(Cloud::Tencent, &mut describe, &credentials(), REGION, "cvm");
    let response = response_of(send(&emulator, &describe).await);
    assert_eq!(response["TotalCount"], 2, "{response}");

    let mut export = request(&emulator, "GET", "/");
    export.query = format!(
        "BucketName={BUCKET}&ImageIds.0=img-web00001&FileNamePrefixList.0=get&OnlyExportRootDisk=True&ExportFormat=VMDK"
    );
    export.headers = describe.headers.clone();
    export.set_header("X-TC-Action", "ExportImages");
    export
        .headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
    sign(Cloud::Tencent, &mut export, &credentials(), REGION, "cvm");
    let response = response_of(send(&emulator, &export).await);
    let path = response["CosPaths"][0].as_str().expect("path");
    assert!(
        path.starts_with("/get_img-web00001_system_snap-") && path.ends_with(".vmdk"),
        "{path}"
    );
}

// ------------------------------------------------------------------------- common errors

#[tokio::test]
async fn authentication_failures_use_tencents_codes_in_http_200() {
    let emulator = emulator().await;
    let body = json!({});
    let describe = |credentials: &Credentials, time: Timestamp| {
        let mut request = unsigned(&emulator, "DescribeImages", REGION, &body);
        sign_at(
            Cloud::Tencent,
            &mut request,
            credentials,
            REGION,
            "cvm",
            time,
        );
        request
    };
    let now = Timestamp::now();
    let an_hour_ago = Timestamp::from_unix_seconds(now.unix_seconds() - 3_600);
    let mut missing = unsigned(&emulator, "DescribeImages", REGION, &body);
    missing.set_header("X-TC-Timestamp", now.unix_seconds().to_string());
    let mut malformed = describe(&credentials(), now);
    malformed.set_header("Authorization", "TC3-HMAC-SHA256 Credential=broken");
    let mut tampered = describe(&credentials(), now);
    tampered.body = br#"{"Limit": 1}"#.to_vec();
    let cases = [
        (
            "AuthFailure.SignatureFailure",
            describe(&Credentials::new(AK, "wrong-secret"), now),
        ),
        ("AuthFailure.SignatureFailure", tampered),
        (
            "AuthFailure.SecretIdNotFound",
            describe(&Credentials::new("AKIDunknown", SK), now),
        ),
        (
            "AuthFailure.SignatureExpire",
            describe(&credentials(), an_hour_ago),
        ),
        ("AuthFailure.InvalidAuthorization", missing),
        ("AuthFailure.InvalidAuthorization", malformed),
    ];
    for (code, request) in cases {
        let response = response_of(send(&emulator, &request).await);
        assert_eq!(error_code(&response), Some(code), "{response}");
    }
    // Within the 300 s window the signature is accepted; a token travels unsigned.
    let recent = Timestamp::from_unix_seconds(now.unix_seconds() - 200);
    let ok = response_of(send(&emulator, &describe(&credentials(), recent)).await);
    assert_eq!(error_code(&ok), None, "{ok}");
    let with_token = describe(
        &Credentials::new(AK, SK).with_security_token("sts-token"),
        now,
    );
    assert!(with_token.header("X-TC-Token").is_some());
    let ok = response_of(send(&emulator, &with_token).await);
    assert_eq!(error_code(&ok), None, "{ok}");
}

#[tokio::test]
async fn action_version_region_and_parameters_are_checked() {
    let emulator = emulator().await;
    expect_error(
        &emulator,
        "RunInstances",
        REGION,
        json!({}),
        "InvalidAction",
    )
    .await;
    expect_error(
        &emulator,
        "DescribeImages",
        "ap-moon",
        json!({}),
        "UnsupportedRegion",
    )
    .await;
    expect_error(
        &emulator,
        "ExportImages",
        REGION,
        json!({"ImageIds": ["img-web00001"]}),
        "MissingParameter",
    )
    .await;
    expect_error(
        &emulator,
        "SyncImages",
        REGION,
        json!({"ImageIds": ["img-web00001"], "DestinationRegions": ["ap-shanghai"], "Colour": "red"}),
        "UnknownParameter",
    )
    .await;
    let mut old = unsigned(&emulator, "DescribeImages", REGION, &json!({}));
    old.set_header("X-TC-Version", "2015-01-01");
    sign(Cloud::Tencent, &mut old, &credentials(), REGION, "cvm");
    assert_eq!(
        error_code(&response_of(send(&emulator, &old).await)),
        Some("NoSuchVersion")
    );
}

#[tokio::test]
async fn throttling_answers_request_limit_exceeded_in_http_200() {
    let mut catalog = Catalog::default_catalog();
    catalog
        .limits
        .rates
        .insert("tencent:ExportImages".into(), 3);
    let emulator = emulator_with(EmulatorConfig {
        catalog,
        ..EmulatorConfig::default()
    })
    .await;
    let dry = json!({"BucketName": BUCKET, "ImageIds": ["img-web00001"], "DryRun": true});
    // Bursts of six at once until one is throttled: sequential calls on a loaded machine may
    // each find the sliding window empty again.
    let mut throttled = 0;
    for _ in 0..20 {
        let burst = tokio::join!(
            call(&emulator, "ExportImages", REGION, dry.clone()),
            call(&emulator, "ExportImages", REGION, dry.clone()),
            call(&emulator, "ExportImages", REGION, dry.clone()),
            call(&emulator, "ExportImages", REGION, dry.clone()),
            call(&emulator, "ExportImages", REGION, dry.clone()),
            call(&emulator, "ExportImages", REGION, dry.clone()),
        );
        let codes: Vec<Option<String>> = [burst.0, burst.1, burst.2, burst.3, burst.4, burst.5]
            .iter()
            .map(|reply| error_code(reply).map(str::to_owned))
            .collect();
        assert!(
            codes.iter().all(|c| matches!(
                c.as_deref(),
                Some("DryRunOperation" | "RequestLimitExceeded")
            )),
            "{codes:?}"
        );
        assert!(
            codes
                .iter()
                .any(|c| c.as_deref() == Some("DryRunOperation")),
            "{codes:?}"
        );
        throttled = codes
            .iter()
            .filter(|c| c.as_deref() == Some("RequestLimitExceeded"))
            .count();
        if throttled > 0 {
            break;
        }
    }
    assert!(throttled >= 1, "a burst over 3 per second is throttled");
    let stats = emulator.world().stats.snapshot();
    assert!(stats.actions["tencent:ExportImages"].max_accepted_per_second <= 3);
    // DescribeImages has its own budget.
    let describe = call(&emulator, "DescribeImages", REGION, json!({})).await;
    assert_eq!(error_code(&describe), None);
}

#[tokio::test]
async fn the_default_export_rate_is_twenty_per_second() {
    let emulator = std::sync::Arc::new(emulator().await);
    let dry = json!({"BucketName": BUCKET, "ImageIds": ["img-web00001"], "DryRun": true});
    let requests: Vec<HttpRequest> = (0..25)
        .map(|_| signed(&emulator, "ExportImages", REGION, &dry))
        .collect();
    let handles: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let emulator = std::sync::Arc::clone(&emulator);
            tokio::spawn(async move { response_of(send(&emulator, &request).await) })
        })
        .collect();
    let mut throttled = 0;
    for handle in handles {
        if error_code(&handle.await.expect("joins")) == Some("RequestLimitExceeded") {
            throttled += 1;
        }
    }
    // 25 within one second leave 5 over the limit; a slow machine may spread them wider.
    assert!(
        (1..=5).contains(&throttled),
        "25 at once against 20/s: {throttled} throttled"
    );
}

#[tokio::test]
async fn injected_faults_answer_internal_error_and_request_limit_exceeded() {
    let emulator = emulator().await;
    emulator.add_fault(Fault {
        cloud: Some(Cloud::Tencent),
        action: Some("SyncImages".into()),
        kind: FaultKind::ServerError,
        times: 1,
        delay_ms: 0,
    });
    emulator.add_fault(Fault {
        cloud: Some(Cloud::Tencent),
        action: Some("DescribeImages".into()),
        kind: FaultKind::Throttle,
        times: 1,
        delay_ms: 0,
    });
    let body = json!({"ImageIds": ["img-web00001"], "DestinationRegions": ["ap-shanghai"]});
    expect_error(
        &emulator,
        "SyncImages",
        REGION,
        body.clone(),
        "InternalError",
    )
    .await;
    assert!(
        emulator.world().tasks.is_empty(),
        "a failed call starts nothing"
    );
    expect_error(
        &emulator,
        "DescribeImages",
        REGION,
        json!({}),
        "RequestLimitExceeded",
    )
    .await;
    assert!(call(&emulator, "SyncImages", REGION, body).await["ImageSet"].is_array());
}
