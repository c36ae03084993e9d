//! Alibaba Cloud ECS 2014-05-26 over real HTTP, signed with the project's ACS3 signer as the
//! official SDK signs: exports to OSS, copies between regions, every seed 003 error code,
//! the other actions' codes, the signature checks, throttling and internal errors.

use crate::common::*;
use cloud_emulator::catalog::{BucketSpec, ImageFlags, ImageSpec, ImageState};
use cloud_emulator::{Catalog, EmulatorConfig, Fault, FaultKind, RunningEmulator};
use imgflow_shared::Cloud;
use imgflow_shared::signing::{Credentials, HttpRequest, Timestamp, uri_encode};
use serde_json::Value;

const REGION: &str = "cn-hangzhou";
const DESTINATION: &str = "cn-shanghai";
const BUCKET: &str = "imgflow-oss-backup";
const READONLY_BUCKET: &str = "imgflow-oss-readonly";
const GIB: u64 = 1 << 30;

const WEB: &str = "m-bp1web000000000000001";
const DB: &str = "m-bp1db0000000000000001";
const ENCRYPTED: &str = "m-bp1enc000000000000001";
const WINDOWS: &str = "m-bp1win000000000000001";
const MARKET: &str = "m-bp1mkt000000000000001";
const SHARED: &str = "m-bp1shr000000000000001";
const BUSY: &str = "m-bp1busy00000000000001";
const BIG: &str = "m-bp1big000000000000001";
const MID: &str = "m-bp1mid000000000000001";
const FAILING: &str = "m-bp1fail00000000000001";
const CREATING: &str = "m-bp1new000000000000001";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// An unsigned RPC request as the SDK builds it: `POST /`, parameters in the query.
fn acs_request(emulator: &RunningEmulator, action: &str, params: &[(&str, &str)]) -> HttpRequest {
    let mut request = request(emulator, "POST", "/");
    request.query = params
        .iter()
        .map(|(k, v)| format!("{}={}", uri_encode(k), uri_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    request.headers.push(("x-acs-action".into(), action.into()));
    request
        .headers
        .push(("x-acs-version".into(), "2014-05-26".into()));
    request
        .headers
        .push(("accept".into(), "application/json".into()));
    request
}

fn signed(
    emulator: &RunningEmulator,
    credentials: &Credentials,
    action: &str,
    params: &[(&str, &str)],
) -> HttpRequest {
    let mut request = acs_request(emulator, action, params);
    sign(Cloud::Alibaba, &mut request, credentials, REGION, "ecs");
    request
}

async fn call(emulator: &RunningEmulator, action: &str, params: &[(&str, &str)]) -> Reply {
    send(emulator, &signed(emulator, &credentials(), action, params)).await
}

async fn call_as(
    emulator: &RunningEmulator,
    credentials: &Credentials,
    action: &str,
    params: &[(&str, &str)],
) -> Reply {
    send(emulator, &signed(emulator, credentials, action, params)).await
}

fn other_account() -> Credentials {
    Credentials::new("imgflow-other-ak", "imgflow-other-sk")
}

fn ok(reply: &Reply) {
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.json["RequestId"].is_string(), "{}", reply.text);
}

/// An error in Alibaba's shape, with the status and code expected.
fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(
        (reply.status, reply.json["Code"].as_str()),
        (status, Some(code)),
        "{}",
        reply.text
    );
    let request_id = reply.json["RequestId"].as_str().expect("RequestId");
    assert_eq!(reply.header("x-acs-request-id"), Some(request_id));
    assert!(reply.json["HostId"].is_string(), "{}", reply.text);
    assert!(reply.json["Message"].is_string(), "{}", reply.text);
    let recommend = reply.json["Recommend"].as_str().expect("Recommend");
    assert!(
        recommend.contains(&format!("q={code}")),
        "{recommend} names the code"
    );
    assert!(!reply.text.contains(SK), "no secret in an answer");
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// `"37%"` → 37.
fn percent(value: &Value) -> u8 {
    value
        .as_str()
        .and_then(|s| s.strip_suffix('%'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a percent: {value}"))
}

/// A refused call: what is asked (an image or an action), the parameters it adds or replaces,
/// and the HTTP status and code expected.
type ErrorCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str);

/// `base` with `extra` added, an `extra` entry replacing a `base` entry of the same name.
fn merged<'a>(
    base: &[(&'a str, &'a str)],
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut params: Vec<(&str, &str)> = base
        .iter()
        .filter(|(name, _)| extra.iter().all(|(n, _)| n != name))
        .copied()
        .collect();
    params.extend_from_slice(extra);
    params
}

async fn export(emulator: &RunningEmulator, image: &str, extra: &[(&str, &str)]) -> Reply {
    let base = [
        ("RegionId", REGION),
        ("ImageId", image),
        ("OSSBucket", BUCKET),
    ];
    call(emulator, "ExportImage", &merged(&base, extra)).await
}

async fn started_export(emulator: &RunningEmulator, image: &str, extra: &[(&str, &str)]) -> String {
    let reply = export(emulator, image, extra).await;
    ok(&reply);
    text(&reply.json["TaskId"]).to_owned()
}

async fn task_attribute(emulator: &RunningEmulator, task_id: &str) -> Reply {
    let reply = call(
        emulator,
        "DescribeTaskAttribute",
        &[("RegionId", REGION), ("TaskId", task_id)],
    )
    .await;
    ok(&reply);
    reply
}

/// The `OSSObject` names of a task, in disk order.
fn exported_objects(attribute: &Reply) -> Vec<String> {
    attribute.json["OperationProgressSet"]["OperationProgress"]
        .as_array()
        .expect("OperationProgress")
        .iter()
        .flat_map(|operation| {
            operation["RelatedItemSet"]["RelatedItem"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|item| item["Name"] == "OSSObject")
        .map(|item| text(&item["Value"]).to_owned())
        .collect()
}

async fn copy(emulator: &RunningEmulator, image: &str, extra: &[(&str, &str)]) -> Reply {
    let base = [
        ("RegionId", REGION),
        ("ImageId", image),
        ("DestinationRegionId", DESTINATION),
    ];
    call(emulator, "CopyImage", &merged(&base, extra)).await
}

async fn started_copy(emulator: &RunningEmulator, image: &str, extra: &[(&str, &str)]) -> String {
    let reply = copy(emulator, image, extra).await;
    ok(&reply);
    text(&reply.json["ImageId"]).to_owned()
}

/// DescribeImages in the destination region for one image, with an optional Status filter.
async fn destination_image(emulator: &RunningEmulator, image: &str, status: Option<&str>) -> Reply {
    let mut params = vec![("RegionId", DESTINATION), ("ImageId", image)];
    if let Some(status) = status {
        params.push(("Status", status));
    }
    let reply = call(emulator, "DescribeImages", &params).await;
    ok(&reply);
    reply
}

fn first_image(reply: &Reply) -> &Value {
    &reply.json["Images"]["Image"][0]
}

fn tasks_created(emulator: &RunningEmulator, kind: &str) -> u64 {
    emulator
        .world()
        .stats
        .snapshot()
        .tasks_created
        .get(&format!("alibaba:{kind}"))
        .copied()
        .unwrap_or(0)
}

fn image_spec(region: &str, id: &str, size_gb: u64, flags: ImageFlags) -> ImageSpec {
    ImageSpec {
        cloud: Cloud::Alibaba,
        account: "default".into(),
        region: region.into(),
        id: id.into(),
        name: format!("image-{id}"),
        size_gb,
        data_disks_gb: Vec::new(),
        os_type: "linux".into(),
        state: ImageState::Available,
        flags,
        tags: Default::default(),
    }
}

async fn emulator_with_catalog(change: impl FnOnce(&mut Catalog)) -> RunningEmulator {
    let mut catalog = Catalog::default_catalog();
    change(&mut catalog);
    emulator_with(EmulatorConfig {
        catalog,
        ..EmulatorConfig::default()
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_export_runs_to_finished_and_writes_one_object_per_disk() {
    let emulator = emulator().await;
    // cn-hangzhou does not honour ImageFormat: the export is RAW whatever was asked.
    let started = export(
        &emulator,
        DB,
        &[("OSSPrefix", "nightly"), ("ImageFormat", "qcow2")],
    )
    .await;
    ok(&started);
    let task_id = text(&started.json["TaskId"]).to_owned();
    assert!(task_id.starts_with("t-bp1"), "{task_id}");
    assert_eq!(started.json["RegionId"], REGION);
    assert_eq!(started.json["ExportTaskId"], task_id.as_str());

    let listed = call(
        &emulator,
        "DescribeTasks",
        &[("RegionId", REGION), ("TaskIds", &task_id)],
    )
    .await;
    ok(&listed);
    let task = &listed.json["TaskSet"]["Task"][0];
    assert_eq!(
        (
            &task["TaskStatus"],
            &task["TaskAction"],
            &task["ResourceId"]
        ),
        (
            &Value::from("Waiting"),
            &Value::from("ExportImage"),
            &Value::from(DB)
        )
    );
    assert_eq!(task["SupportCancel"], "true");
    assert_eq!(task["FinishedTime"], "");

    let attribute = task_attribute(&emulator, &task_id).await;
    assert_eq!(percent(&attribute.json["TaskProcess"]), 0);
    let objects = exported_objects(&attribute);
    assert_eq!(
        objects,
        [
            format!("nightly_{DB}_{task_id}.raw"),
            format!("nightly_{DB}_{task_id}_data_xvdb.raw"),
        ]
    );
    assert!(emulator.world().object(BUCKET, &objects[0]).is_none());

    // 300 GiB at 72 s/GiB: 6 cloud hours.
    let mut seen = Vec::new();
    let mut statuses = Vec::new();
    for _ in 0..30 {
        advance(&emulator, 1_000.0);
        let attribute = task_attribute(&emulator, &task_id).await;
        seen.push(percent(&attribute.json["TaskProcess"]));
        statuses.push(text(&attribute.json["TaskStatus"]).to_owned());
        if attribute.json["TaskStatus"] == "Finished" {
            break;
        }
    }
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert!(seen.iter().any(|p| (1..100).contains(p)), "{seen:?}");
    assert!(statuses.contains(&"Processing".to_owned()), "{statuses:?}");
    assert_eq!(seen.last(), Some(&100));

    let finished = task_attribute(&emulator, &task_id).await;
    assert_eq!(
        (
            &finished.json["TaskStatus"],
            &finished.json["SupportCancel"]
        ),
        (&Value::from("Finished"), &Value::from("false"))
    );
    assert_eq!(
        (&finished.json["SuccessCount"], &finished.json["TotalCount"]),
        (&Value::from(2), &Value::from(2))
    );
    let operation = &finished.json["OperationProgressSet"]["OperationProgress"][0];
    assert_eq!(operation["OperationStatus"], "Success");
    let items = &operation["RelatedItemSet"]["RelatedItem"];
    assert_eq!(items[0]["Name"], "OSSBucket");
    assert_eq!(items[0]["Value"], BUCKET);
    assert_eq!(items[2]["Name"], "ImageFormat");
    assert_eq!(items[2]["Value"], "raw");
    assert!(!text(&finished.json["FinishedTime"]).is_empty());

    let world = emulator.world();
    let system = world
        .object(BUCKET, &objects[0])
        .expect("system disk object");
    let data = world.object(BUCKET, &objects[1]).expect("data disk object");
    assert_eq!((system.size, data.size), (100 * GIB, 200 * GIB));
}

#[tokio::test]
async fn the_requested_format_is_honoured_where_the_region_supports_it() {
    let region = "ap-southeast-1";
    let image = "m-t4nweb000000000000001";
    let emulator = emulator_with_catalog(|catalog| {
        catalog
            .images
            .push(image_spec(region, image, 20, ImageFlags::default()));
        catalog.buckets.push(BucketSpec {
            cloud: Cloud::Alibaba,
            account: "default".into(),
            region: region.into(),
            name: "imgflow-oss-singapore".into(),
            writable: true,
        });
    })
    .await;
    let started = call(
        &emulator,
        "ExportImage",
        &[
            ("RegionId", region),
            ("ImageId", image),
            ("OSSBucket", "imgflow-oss-singapore"),
            ("ImageFormat", "qcow2"),
        ],
    )
    .await;
    ok(&started);
    let task_id = text(&started.json["TaskId"]).to_owned();
    assert!(task_id.starts_with("t-t4n"), "{task_id}");
    advance(&emulator, 24.0 * 3600.0);
    let attribute = call(
        &emulator,
        "DescribeTaskAttribute",
        &[("RegionId", region), ("TaskId", &task_id)],
    )
    .await;
    ok(&attribute);
    let key = format!("{image}_{task_id}.qcow2");
    assert_eq!(exported_objects(&attribute), std::slice::from_ref(&key));
    let object = emulator
        .world()
        .object("imgflow-oss-singapore", &key)
        .expect("exported");
    assert_eq!(object.size, (20.0 * GIB as f64 * 0.35) as u64);
}

#[tokio::test]
async fn a_failing_export_stops_partway_with_its_reason_and_writes_nothing() {
    let emulator = emulator().await;
    let task_id = started_export(&emulator, FAILING, &[]).await;
    advance(&emulator, 24.0 * 3600.0);
    let attribute = task_attribute(&emulator, &task_id).await;
    assert_eq!(attribute.json["TaskStatus"], "Failed");
    assert_eq!(percent(&attribute.json["TaskProcess"]), 50);
    assert_eq!(attribute.json["FailedCount"], 1);
    let operation = &attribute.json["OperationProgressSet"]["OperationProgress"][0];
    assert_eq!(
        (&operation["OperationStatus"], &operation["ErrorCode"]),
        (&Value::from("Failed"), &Value::from("ExportImageFailed"))
    );
    let key = &exported_objects(&attribute)[0];
    assert!(emulator.world().object(BUCKET, key).is_none());
    let failed = call(
        &emulator,
        "DescribeTasks",
        &[("RegionId", REGION), ("TaskStatus", "Failed")],
    )
    .await;
    assert_eq!(failed.json["TotalCount"], 1);
    assert_eq!(
        failed.json["TaskSet"]["Task"][0]["TaskId"],
        task_id.as_str()
    );
}

#[tokio::test]
async fn a_client_token_makes_a_retried_export_return_the_same_task() {
    let emulator = emulator().await;
    let first = started_export(&emulator, WEB, &[("ClientToken", "retry-me-1")]).await;
    // The retry arrives while the first export runs; it must not be refused as "exporting".
    let second = started_export(&emulator, WEB, &[("ClientToken", "retry-me-1")]).await;
    assert_eq!(first, second);
    assert_eq!(tasks_created(&emulator, "export"), 1);

    let reused = export(&emulator, MID, &[("ClientToken", "retry-me-1")]).await;
    assert_error(&reused, 400, "IdempotenceParamNotMatch");
    // Without a token a second start of the same image is refused.
    let again = export(&emulator, WEB, &[]).await;
    assert_error(&again, 403, "OperationDenied.ImageExporting");
}

#[tokio::test]
async fn describe_tasks_is_batched_filtered_and_paged() {
    let emulator = emulator().await;
    let web = started_export(&emulator, WEB, &[]).await;
    advance(&emulator, 1.0);
    let db = started_export(&emulator, DB, &[]).await;
    advance(&emulator, 1.0);
    let mid = started_export(&emulator, MID, &[]).await;

    let joined = format!("{web},{mid}");
    let batch = call(
        &emulator,
        "DescribeTasks",
        &[("RegionId", REGION), ("TaskIds", &joined)],
    )
    .await;
    ok(&batch);
    let ids: Vec<&str> = batch.json["TaskSet"]["Task"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| text(&t["TaskId"]))
        .collect();
    assert_eq!(ids, [mid.as_str(), web.as_str()], "newest first");

    let by_image = call(
        &emulator,
        "DescribeTasks",
        &[("RegionId", REGION), ("ResourceIds.1", DB)],
    )
    .await;
    assert_eq!(by_image.json["TotalCount"], 1);
    assert_eq!(by_image.json["TaskSet"]["Task"][0]["TaskId"], db.as_str());

    let paged = call(
        &emulator,
        "DescribeTasks",
        &[("RegionId", REGION), ("PageSize", "1"), ("PageNumber", "2")],
    )
    .await;
    assert_eq!(
        (
            &paged.json["TotalCount"],
            &paged.json["PageSize"],
            &paged.json["PageNumber"]
        ),
        (&Value::from(3), &Value::from(1), &Value::from(2))
    );
    assert_eq!(paged.json["TaskSet"]["Task"][0]["TaskId"], db.as_str());

    let none_finished = call(
        &emulator,
        "DescribeTasks",
        &[("RegionId", REGION), ("TaskStatus", "Finished")],
    )
    .await;
    assert_eq!(none_finished.json["TotalCount"], 0);
    let other_region = call(&emulator, "DescribeTasks", &[("RegionId", DESTINATION)]).await;
    assert_eq!(other_region.json["TotalCount"], 0);
    let other_account = call_as(
        &emulator,
        &other_account(),
        "DescribeTasks",
        &[("RegionId", REGION)],
    )
    .await;
    assert_eq!(other_account.json["TotalCount"], 0);
}

// ---------------------------------------------------------------------------------------
// Copy
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_copy_is_hidden_while_creating_and_listed_once_available() {
    let emulator = emulator().await;
    let copy_id = started_copy(&emulator, WEB, &[("DestinationImageName", "web-copy")]).await;
    assert!(copy_id.starts_with("m-uf6"), "{copy_id}");

    let default_view = destination_image(&emulator, &copy_id, None).await;
    assert_eq!(default_view.json["TotalCount"], 0, "{}", default_view.text);
    let waiting = destination_image(&emulator, &copy_id, Some("Creating,Waiting")).await;
    let image = first_image(&waiting);
    assert_eq!(image["Status"], "Waiting");
    assert_eq!(percent(&image["Progress"]), 0);
    assert_eq!(image["IsCopied"], true);
    assert_eq!(image["ImageName"], "web-copy");

    // 50 GiB at 36 s/GiB: 30 cloud minutes.
    advance(&emulator, 900.0);
    let creating = destination_image(&emulator, &copy_id, Some("Creating")).await;
    let image = first_image(&creating);
    assert_eq!(image["Status"], "Creating");
    let halfway = percent(&image["Progress"]);
    assert!((40..=60).contains(&halfway), "{halfway}");
    assert_eq!(
        percent(&image["DiskDeviceMappings"]["DiskDeviceMapping"][0]["Progress"]),
        halfway
    );
    assert!(image["DiskDeviceMappings"]["DiskDeviceMapping"][0]["RemainTime"].as_u64() > Some(0));

    advance(&emulator, 1_000.0);
    let available = destination_image(&emulator, &copy_id, None).await;
    let image = first_image(&available);
    assert_eq!(
        (&image["Status"], &image["Progress"], &image["Usable"]),
        (
            &Value::from("Available"),
            &Value::from("100%"),
            &Value::from(true)
        )
    );
    assert_eq!(image["Size"], 50);
    // The source stays where it was.
    let source = call(
        &emulator,
        "DescribeImages",
        &[("RegionId", REGION), ("ImageId", WEB)],
    )
    .await;
    assert_eq!(source.json["TotalCount"], 1);
}

#[tokio::test]
async fn a_client_token_makes_a_retried_copy_return_the_same_image() {
    let emulator = emulator().await;
    let token = [("ClientToken", "123e4567-e89b-12d3-a456-426655440000")];
    let first = started_copy(&emulator, WEB, &token).await;
    let second = started_copy(&emulator, WEB, &token).await;
    assert_eq!(first, second);
    assert_eq!(tasks_created(&emulator, "copy"), 1);
    let all = call(
        &emulator,
        "DescribeImages",
        &[("RegionId", DESTINATION), ("Status", "ALL")],
    )
    .await;
    assert_eq!(all.json["TotalCount"], 1);
}

#[tokio::test]
async fn copies_beyond_the_regional_limit_wait_for_a_free_slot() {
    let mut catalog = Catalog::default_catalog();
    catalog.limits.alibaba_copies_per_region = 1;
    let emulator = emulator_with(EmulatorConfig {
        catalog,
        ..EmulatorConfig::default()
    })
    .await;
    let first = started_copy(&emulator, WEB, &[]).await; // 1800 s
    let second = started_copy(&emulator, MID, &[]).await; // 7200 s once it starts

    advance(&emulator, 1_000.0);
    let running = destination_image(&emulator, &first, Some("ALL")).await;
    assert_eq!(first_image(&running)["Status"], "Creating");
    let queued = destination_image(&emulator, &second, Some("ALL")).await;
    assert_eq!(first_image(&queued)["Status"], "Waiting");
    assert_eq!(percent(&first_image(&queued)["Progress"]), 0);

    advance(&emulator, 1_000.0);
    let done = destination_image(&emulator, &first, None).await;
    assert_eq!(first_image(&done)["Status"], "Available");
    // The slot is free: the queued copy starts now and runs its full time.
    advance(&emulator, 3_600.0);
    let started = destination_image(&emulator, &second, Some("ALL")).await;
    let progress = percent(&first_image(&started)["Progress"]);
    assert_eq!(first_image(&started)["Status"], "Creating");
    assert!((40..=60).contains(&progress), "{progress}");
    advance(&emulator, 3_700.0);
    let finished = destination_image(&emulator, &second, None).await;
    assert_eq!(first_image(&finished)["Status"], "Available");
}

#[tokio::test]
async fn cancelling_a_copy_removes_the_new_image() {
    let emulator = emulator().await;
    let copy_id = started_copy(&emulator, WEB, &[]).await;
    advance(&emulator, 600.0);
    let cancel = [("RegionId", DESTINATION), ("ImageId", copy_id.as_str())];
    let cancelled = call(&emulator, "CancelCopyImage", &cancel).await;
    ok(&cancelled);
    let all = destination_image(&emulator, &copy_id, Some("ALL")).await;
    assert_eq!(all.json["TotalCount"], 0);
    let again = call(&emulator, "CancelCopyImage", &cancel).await;
    assert_error(&again, 404, "InvalidImageId.NotFound");
    // The cancelled copy no longer counts as running: the same copy may start again.
    ok(&copy(&emulator, WEB, &[]).await);
}

#[tokio::test]
async fn only_a_running_copy_can_be_cancelled() {
    let emulator = emulator().await;
    let finished = started_copy(&emulator, WEB, &[]).await;
    let failing = started_copy(&emulator, FAILING, &[]).await;
    advance(&emulator, 24.0 * 3600.0);
    let failed_view = destination_image(&emulator, &failing, Some("CreateFailed")).await;
    assert_eq!(first_image(&failed_view)["Status"], "CreateFailed");

    let cases = [
        (DESTINATION, finished.as_str(), 400, "IncorrectImageStatus"),
        (DESTINATION, failing.as_str(), 400, "IncorrectImageStatus"),
        (REGION, WEB, 400, "ImageCreatedNotFromCopy"),
        (
            "cn-atlantis",
            finished.as_str(),
            404,
            "InvalidRegionId.NotFound",
        ),
        (REGION, finished.as_str(), 404, "InvalidImageId.NotFound"),
    ];
    for (region, image, status, code) in cases {
        let reply = call(
            &emulator,
            "CancelCopyImage",
            &[("RegionId", region), ("ImageId", image)],
        )
        .await;
        assert_error(&reply, status, code);
    }
    let missing = call(&emulator, "CancelCopyImage", &[("RegionId", DESTINATION)]).await;
    assert_error(&missing, 400, "MissingParameter");
}

// ---------------------------------------------------------------------------------------
// Error codes
// ---------------------------------------------------------------------------------------

/// Every code of seed 003 (ExportImage, Japanese page), with its trigger and exact message.
#[tokio::test]
async fn every_seed_error_code_of_export_image_has_a_trigger() {
    let emulator = emulator().await;
    let _running = started_export(&emulator, MID, &[]).await;
    struct Case<'a> {
        name: &'a str,
        credentials: Credentials,
        params: Vec<(&'a str, &'a str)>,
        status: u16,
        code: &'a str,
        message: &'a str,
    }
    let own = credentials;
    let full = |image: &'static str| {
        vec![
            ("RegionId", REGION),
            ("ImageId", image),
            ("OSSBucket", BUCKET),
        ]
    };
    let cases = vec![
        Case {
            name: "another account's image",
            credentials: other_account(),
            params: full(WEB),
            status: 400,
            code: "Forbidden",
            message: "User is not authorized to operate on the specified image.",
        },
        Case {
            name: "an image shared by another account",
            credentials: own(),
            params: full(SHARED),
            status: 400,
            code: "Forbidden",
            message: "User is not authorized to operate on the specified image.",
        },
        Case {
            name: "an image still being created",
            credentials: own(),
            params: full(CREATING),
            status: 400,
            code: "IncorrectImageStatus",
            message: "The image is not available.",
        },
        Case {
            name: "no RegionId",
            credentials: own(),
            params: vec![("ImageId", WEB), ("OSSBucket", BUCKET)],
            status: 400,
            code: "MissingParameter",
            message: "An input parameter RegionId that is mandatory for processing the request is not supplied.",
        },
        Case {
            name: "no ImageId",
            credentials: own(),
            params: vec![("RegionId", REGION), ("OSSBucket", BUCKET)],
            status: 400,
            code: "MissingParameter",
            message: "An input parameter ImageId that is mandatory for processing the request is not supplied.",
        },
        Case {
            name: "no OSSBucket",
            credentials: own(),
            params: vec![("RegionId", REGION), ("ImageId", WEB)],
            status: 400,
            code: "MissingParameter",
            message: "An input parameter OssBucket that is mandatory for processing the request is not supplied.",
        },
        Case {
            name: "a bucket that does not exist",
            credentials: own(),
            params: vec![
                ("RegionId", REGION),
                ("ImageId", WEB),
                ("OSSBucket", "no-such-bucket"),
            ],
            status: 400,
            code: "OssBucket.NotFound",
            message: "The specified OssBucket does not exist.",
        },
        Case {
            name: "a bucket of another cloud",
            credentials: own(),
            params: vec![
                ("RegionId", REGION),
                ("ImageId", WEB),
                ("OSSBucket", "imgflow-backup-1250000000"),
            ],
            status: 400,
            code: "OssBucket.NotFound",
            message: "The specified OssBucket does not exist.",
        },
        Case {
            name: "a prefix with a dash",
            credentials: own(),
            params: vec![
                ("RegionId", REGION),
                ("ImageId", WEB),
                ("OSSBucket", BUCKET),
                ("OSSPrefix", "bad-prefix"),
            ],
            status: 400,
            code: "OssPrefix.Malformed",
            message: "The specified OssPrefix format is incorrect.",
        },
        Case {
            name: "a prefix over 30 characters (seed spelling OssPrefix)",
            credentials: own(),
            params: vec![
                ("RegionId", REGION),
                ("ImageId", WEB),
                ("OssBucket", BUCKET),
                ("OssPrefix", "a123456789012345678901234567890"),
            ],
            status: 400,
            code: "OssPrefix.Malformed",
            message: "The specified OssPrefix format is incorrect.",
        },
        Case {
            name: "an unknown region",
            credentials: own(),
            params: vec![
                ("RegionId", "cn-atlantis"),
                ("ImageId", WEB),
                ("OSSBucket", BUCKET),
            ],
            status: 400,
            code: "RegionId.NotFound",
            message: "The specified RegionId does not exist.",
        },
        Case {
            name: "a bucket the export role may not write",
            credentials: own(),
            params: vec![
                ("RegionId", REGION),
                ("ImageId", WEB),
                ("OSSBucket", READONLY_BUCKET),
            ],
            status: 403,
            code: "ExportImageFailed",
            message: "Failed to export image.",
        },
        Case {
            name: "a role other than AliyunECSImageExportDefaultRole",
            credentials: own(),
            params: vec![
                ("RegionId", REGION),
                ("ImageId", WEB),
                ("OSSBucket", BUCKET),
                ("RoleName", "MyExportRole"),
            ],
            status: 403,
            code: "ExportImageFailed",
            message: "Failed to export image.",
        },
        Case {
            name: "an image id that does not exist",
            credentials: own(),
            params: full("m-bp1nothere0000000001"),
            status: 403,
            code: "ImageId.NotFound",
            message: "The image does not exist.",
        },
        Case {
            name: "an image in another region",
            credentials: own(),
            params: vec![
                ("RegionId", DESTINATION),
                ("ImageId", WEB),
                ("OSSBucket", BUCKET),
            ],
            status: 403,
            code: "ImageId.NotFound",
            message: "The image does not exist.",
        },
        Case {
            name: "a marketplace-derived image",
            credentials: own(),
            params: full(MARKET),
            status: 403,
            code: "ImageNotSupported",
            message: "The specified image is from the image market and does not support export.",
        },
        Case {
            name: "a local region",
            credentials: own(),
            params: vec![
                ("RegionId", "cn-nanjing"),
                ("ImageId", WEB),
                ("OSSBucket", BUCKET),
            ],
            status: 403,
            code: "InvalidRegion.NotSupport",
            message: "The specified region does not support image import or export.",
        },
        Case {
            name: "an image flagged busy",
            credentials: own(),
            params: full(BUSY),
            status: 403,
            code: "OperationDenied.ImageExporting",
            message: "The specified image is being exported.",
        },
        Case {
            name: "an image whose export is running",
            credentials: own(),
            params: full(MID),
            status: 403,
            code: "OperationDenied.ImageExporting",
            message: "The specified image is being exported.",
        },
    ];
    for case in cases {
        let reply = call_as(&emulator, &case.credentials, "ExportImage", &case.params).await;
        assert_error(&reply, case.status, case.code);
        assert_eq!(reply.json["Message"], case.message, "{}", case.name);
    }
    assert_eq!(
        tasks_created(&emulator, "export"),
        1,
        "no refused start made a task"
    );
}

/// ExportImage codes beyond the seed (from the current ExportImage page) and DryRun.
#[tokio::test]
async fn export_image_refuses_what_the_current_page_documents() {
    let mut catalog = Catalog::default_catalog();
    catalog.limits.running_exports_per_account = 1;
    let emulator = emulator_with(EmulatorConfig {
        catalog,
        ..EmulatorConfig::default()
    })
    .await;
    let long_token = "t".repeat(65);
    let cases: Vec<ErrorCase<'_>> = vec![
        (WINDOWS, vec![], 403, "ImageNotSupported"),
        (ENCRYPTED, vec![], 400, "ImageNotSupported"),
        (BIG, vec![], 400, "InvalidImage.DiskAmountOrSize"),
        (
            WEB,
            vec![("ImageFormat", "iso")],
            400,
            "InvalidImageFormat.Malformed",
        ),
        (
            WEB,
            vec![("ClientToken", &long_token)],
            400,
            "InvalidClientToken.ValueNotSupported",
        ),
        (WEB, vec![("DryRun", "True")], 400, "DryRunOperation"),
    ];
    for (image, extra, status, code) in cases {
        assert_error(&export(&emulator, image, &extra).await, status, code);
    }
    assert_eq!(
        tasks_created(&emulator, "export"),
        0,
        "a dry run starts nothing"
    );

    ok(&export(&emulator, WEB, &[("DryRun", "False")]).await);
    let over_quota = export(&emulator, MID, &[]).await;
    assert_error(&over_quota, 403, "ConcurrentQuotaExceed.ExportImage");
}

#[tokio::test]
async fn copy_image_error_codes_have_triggers() {
    let public = "m-bp1pub000000000000001";
    let emulator = emulator_with_catalog(|catalog| {
        let flags = ImageFlags {
            public: true,
            ..ImageFlags::default()
        };
        catalog.images.push(image_spec(REGION, public, 20, flags));
    })
    .await;
    ok(&copy(&emulator, DB, &[("DestinationImageName", "taken-name")]).await);
    let cases: Vec<ErrorCase<'_>> = vec![
        (
            WEB,
            vec![("DestinationRegionId", "")],
            400,
            "MissingParameter",
        ),
        (
            WEB,
            vec![("RegionId", "cn-atlantis")],
            400,
            "SourceRegion.NotFound",
        ),
        (
            WEB,
            vec![("DestinationRegionId", "cn-atlantis")],
            400,
            "DestinationRegion.NotFound",
        ),
        (
            WEB,
            vec![("DestinationRegionId", "cn-fuzhou")],
            403,
            "RegionNotSupportCopy",
        ),
        (
            WEB,
            vec![("DestinationImageName", "aliyun-copy")],
            400,
            "InvalidImageName.Malformed",
        ),
        (
            WEB,
            vec![("DestinationDescription", "https://x.example")],
            400,
            "InvalidDescription.Malformed",
        ),
        (
            WEB,
            vec![("KMSKeyId", "e522b26d-abf6")],
            400,
            "InvalidParameter.EncryptedIllegal",
        ),
        (
            WEB,
            vec![("ClientToken", "令牌")],
            400,
            "InvalidClientToken.ValueNotSupported",
        ),
        (
            "m-bp1nothere0000000001",
            vec![],
            404,
            "InvalidImageId.NotFound",
        ),
        (public, vec![], 403, "Forbbiden"),
        (CREATING, vec![], 400, "IncorrectImageStatus"),
        (SHARED, vec![], 403, "OperationDenied.SameRegionOnly"),
        (
            WEB,
            vec![("DestinationRegionId", REGION)],
            403,
            "IncorrectDestinationRegion",
        ),
        (ENCRYPTED, vec![], 403, "OperationDeined.EncryptedSnapshot"),
        (BIG, vec![], 403, "SizeExceed.Image"),
        (BUSY, vec![], 403, "OperationDenied.ImageCopying"),
        (DB, vec![], 400, "OperationDenied.ImageCopyConflict"),
        (
            MID,
            vec![("DestinationImageName", "taken-name")],
            400,
            "InvalidImageName.Duplicated",
        ),
        (WEB, vec![("DryRun", "True")], 400, "DryRunOperation"),
    ];
    for (image, overrides, status, code) in cases {
        assert_error(&copy(&emulator, image, &overrides).await, status, code);
    }
    assert_eq!(
        tasks_created(&emulator, "copy"),
        1,
        "no refused copy made a task"
    );

    // What the refusals point at is allowed: encrypting copies, shared images in their region.
    ok(&copy(&emulator, ENCRYPTED, &[("Encrypted", "True")]).await);
    ok(&copy(&emulator, SHARED, &[("DestinationRegionId", REGION)]).await);
    let token = [("ClientToken", "copy-token")];
    ok(&copy(&emulator, WEB, &token).await);
    assert_error(
        &copy(&emulator, MID, &token).await,
        400,
        "IdempotenceParamNotMatch",
    );
}

#[tokio::test]
async fn describe_calls_validate_their_parameters() {
    let emulator = emulator().await;
    let task_id = started_export(&emulator, WEB, &[]).await;
    let many_ids = vec!["t-bp1x"; 101].join(",");
    let cases: Vec<ErrorCase<'_>> = vec![
        ("DescribeTasks", vec![], 400, "MissingParameter"),
        (
            "DescribeTasks",
            vec![("RegionId", "cn-atlantis")],
            400,
            "InvalidRegionId.NotFound",
        ),
        (
            "DescribeTasks",
            vec![("RegionId", REGION), ("TaskIds", &many_ids)],
            400,
            "InvalidParameter",
        ),
        (
            "DescribeTasks",
            vec![("RegionId", REGION), ("PageSize", "101")],
            400,
            "InvalidParameter",
        ),
        (
            "DescribeTasks",
            vec![("RegionId", REGION), ("StartTime", "yesterday")],
            400,
            "InvalidParameter",
        ),
        (
            "DescribeTaskAttribute",
            vec![("RegionId", REGION)],
            400,
            "MissingParameter",
        ),
        (
            "DescribeTaskAttribute",
            vec![("RegionId", REGION), ("TaskId", "t-bp1nothere")],
            400,
            "InvalidTaskId.NotFound",
        ),
        (
            "DescribeTaskAttribute",
            vec![("RegionId", DESTINATION), ("TaskId", &task_id)],
            400,
            "InvalidTaskId.NotFound",
        ),
        (
            "DescribeTaskAttribute",
            vec![("RegionId", "cn-atlantis"), ("TaskId", &task_id)],
            400,
            "InvalidRegionId.NotFound",
        ),
        ("DescribeImages", vec![], 400, "MissingParameter"),
        (
            "DescribeImages",
            vec![("RegionId", "cn-atlantis")],
            404,
            "InvalidRegionId.NotFound",
        ),
        (
            "DescribeImages",
            vec![("RegionId", REGION), ("ImageOwnerAlias", "friends")],
            400,
            "InvalidImageOwnerAlias.ValueNotSupported",
        ),
        (
            "DescribeImages",
            vec![("RegionId", REGION), ("Status", "ALL,Available")],
            400,
            "InvalidParamter",
        ),
        (
            "DescribeImages",
            vec![("RegionId", REGION), ("Status", "Broken")],
            400,
            "InvalidParamter",
        ),
        (
            "DescribeImages",
            vec![("RegionId", REGION), ("OSType", "beos")],
            404,
            "InvalidOSType",
        ),
        (
            "DescribeImages",
            vec![("RegionId", REGION), ("DryRun", "True")],
            400,
            "DryRunOperation",
        ),
    ];
    for (action, params, status, code) in cases {
        let reply = call(&emulator, action, &params).await;
        assert_error(&reply, status, code);
    }
    // Another account cannot read the task.
    let foreign = call_as(
        &emulator,
        &other_account(),
        "DescribeTaskAttribute",
        &[("RegionId", REGION), ("TaskId", &task_id)],
    )
    .await;
    assert_error(&foreign, 400, "InvalidTaskId.NotFound");
}

#[tokio::test]
async fn describe_images_lists_own_images_with_owner_alias_and_filters() {
    let emulator = emulator().await;
    let default_view = call(
        &emulator,
        "DescribeImages",
        &[("RegionId", REGION), ("PageSize", "100")],
    )
    .await;
    ok(&default_view);
    let ids: Vec<&str> = default_view.json["Images"]["Image"]
        .as_array()
        .expect("images")
        .iter()
        .map(|i| text(&i["ImageId"]))
        .collect();
    assert!(ids.contains(&WEB) && ids.contains(&SHARED), "{ids:?}");
    assert!(!ids.contains(&CREATING), "Creating images hide by default");

    let creating = call(
        &emulator,
        "DescribeImages",
        &[("RegionId", REGION), ("Status", "Creating")],
    )
    .await;
    assert_eq!(creating.json["TotalCount"], 1);
    assert_eq!(first_image(&creating)["ImageId"], CREATING);

    let others = call(
        &emulator,
        "DescribeImages",
        &[("RegionId", REGION), ("ImageOwnerAlias", "others")],
    )
    .await;
    assert_eq!(others.json["TotalCount"], 1);
    assert_eq!(first_image(&others)["ImageId"], SHARED);

    let batch = call(
        &emulator,
        "DescribeImages",
        &[("RegionId", REGION), ("ImageId", &format!("{WEB},{DB}"))],
    )
    .await;
    assert_eq!(batch.json["TotalCount"], 2);
    let db = call(
        &emulator,
        "DescribeImages",
        &[("RegionId", REGION), ("ImageName", "database")],
    )
    .await;
    let image = first_image(&db);
    assert_eq!(image["ImageId"], DB);
    assert_eq!(image["ImageOwnerAlias"], "self");
    let disks = image["DiskDeviceMappings"]["DiskDeviceMapping"]
        .as_array()
        .expect("disks");
    assert_eq!(disks.len(), 2);
    assert_eq!(
        (&disks[1]["Device"], &disks[1]["Size"], &disks[1]["Type"]),
        (
            &Value::from("/dev/xvdb"),
            &Value::from("200"),
            &Value::from("data")
        )
    );
    let windows = call(
        &emulator,
        "DescribeImages",
        &[("RegionId", REGION), ("OSType", "windows")],
    )
    .await;
    assert_eq!(windows.json["TotalCount"], 1);
    assert_eq!(first_image(&windows)["ImageId"], WINDOWS);
}

// ---------------------------------------------------------------------------------------
// Signature checks
// ---------------------------------------------------------------------------------------

const LIST: &[(&str, &str)] = &[("RegionId", REGION)];

#[tokio::test]
async fn a_wrong_secret_is_a_signature_mismatch() {
    let emulator = emulator().await;
    let reply = call_as(
        &emulator,
        &Credentials::new(AK, "not-the-secret"),
        "DescribeImages",
        LIST,
    )
    .await;
    assert_error(&reply, 400, "SignatureDoesNotMatch");
    assert!(
        text(&reply.json["Message"]).contains("server string to sign is:ACS3-HMAC-SHA256\n"),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn a_changed_parameter_breaks_the_signature() {
    let emulator = emulator().await;
    let mut request = signed(&emulator, &credentials(), "DescribeImages", LIST);
    request.query = "RegionId=cn-shanghai".into();
    assert_error(
        &send(&emulator, &request).await,
        400,
        "SignatureDoesNotMatch",
    );
}

#[tokio::test]
async fn an_unknown_access_key_is_not_found() {
    let emulator = emulator().await;
    let reply = call_as(
        &emulator,
        &Credentials::new("LTAI-nobody", SK),
        "DescribeImages",
        LIST,
    )
    .await;
    assert_error(&reply, 404, "InvalidAccessKeyId.NotFound");
}

#[tokio::test]
async fn a_signature_older_than_fifteen_minutes_is_expired() {
    let emulator = emulator().await;
    let sign_with_age = |age: u64| {
        let mut request = acs_request(&emulator, "DescribeImages", LIST);
        let time = Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() - age);
        sign_at(
            Cloud::Alibaba,
            &mut request,
            &credentials(),
            REGION,
            "ecs",
            time,
        );
        request
    };
    assert_error(
        &send(&emulator, &sign_with_age(3_600)).await,
        400,
        "InvalidTimeStamp.Expired",
    );
    ok(&send(&emulator, &sign_with_age(600)).await);
}

#[tokio::test]
async fn a_malformed_date_is_a_format_error() {
    let emulator = emulator().await;
    let mut request = signed(&emulator, &credentials(), "DescribeImages", LIST);
    request.set_header("x-acs-date", "2025-03-04 08:15:00");
    assert_error(
        &send(&emulator, &request).await,
        400,
        "InvalidTimeStamp.Format",
    );
}

#[tokio::test]
async fn a_request_without_authorization_is_an_incomplete_signature() {
    let emulator = emulator().await;
    let unsigned = acs_request(&emulator, "DescribeImages", LIST);
    assert_error(
        &send(&emulator, &unsigned).await,
        400,
        "IncompleteSignature",
    );
    let mut garbled = signed(&emulator, &credentials(), "DescribeImages", LIST);
    garbled.set_header("Authorization", "ACS3-HMAC-SHA256 Credential=only-this");
    assert_error(&send(&emulator, &garbled).await, 400, "IncompleteSignature");
}

#[tokio::test]
async fn a_reused_nonce_is_refused() {
    let emulator = emulator().await;
    let request = signed(&emulator, &credentials(), "DescribeImages", LIST);
    ok(&send(&emulator, &request).await);
    assert_error(&send(&emulator, &request).await, 400, "SignatureNonceUsed");
}

#[tokio::test]
async fn a_security_token_is_accepted_only_when_signed() {
    let emulator = emulator().await;
    let sts = credentials().with_security_token("CAIS-any-token-value");
    let reply = call_as(&emulator, &sts, "DescribeImages", LIST).await;
    ok(&reply);
    let mut request = signed(&emulator, &credentials(), "DescribeImages", LIST);
    request
        .headers
        .push(("x-acs-security-token".into(), "added-after-signing".into()));
    assert_error(&send(&emulator, &request).await, 400, "IncompleteSignature");
}

#[tokio::test]
async fn an_unknown_action_or_version_is_refused_after_authentication() {
    let emulator = emulator().await;
    let unknown = call(&emulator, "DeleteEverything", LIST).await;
    assert_error(&unknown, 404, "InvalidApi.NotFound");
    let mut request = acs_request(&emulator, "DescribeImages", LIST);
    request.set_header("x-acs-version", "2099-01-01");
    sign(Cloud::Alibaba, &mut request, &credentials(), REGION, "ecs");
    assert_error(&send(&emulator, &request).await, 400, "InvalidVersion");
}

// ---------------------------------------------------------------------------------------
// Throttling and internal errors
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_burst_over_the_rate_is_throttled_with_a_retry_after_in_milliseconds() {
    let mut catalog = Catalog::default_catalog();
    catalog
        .limits
        .rates
        .insert("alibaba:DescribeImages".into(), 2);
    let emulator = emulator_with(EmulatorConfig {
        catalog,
        ..EmulatorConfig::default()
    })
    .await;
    // Bursts of five at once until one is throttled: sequential calls on a loaded machine may
    // each find the sliding window empty again.
    let mut replies = Vec::new();
    for _ in 0..20 {
        let burst = tokio::join!(
            call(&emulator, "DescribeImages", LIST),
            call(&emulator, "DescribeImages", LIST),
            call(&emulator, "DescribeImages", LIST),
            call(&emulator, "DescribeImages", LIST),
            call(&emulator, "DescribeImages", LIST),
        );
        replies = vec![burst.0, burst.1, burst.2, burst.3, burst.4];
        if replies.iter().any(|r| r.status != 200) {
            break;
        }
    }
    let throttled: Vec<&Reply> = replies.iter().filter(|r| r.status != 200).collect();
    assert!(!throttled.is_empty(), "5 requests at 2/s");
    assert!(
        emulator.world().stats.snapshot().actions["alibaba:DescribeImages"].max_accepted_per_second
            <= 2
    );
    for reply in throttled {
        assert_error(reply, 400, "Throttling.User");
        assert_eq!(
            reply.json["Message"],
            "Request was denied due to user flow control."
        );
        let millis: u64 = reply
            .header("x-acs-retry-after")
            .and_then(|v| v.parse().ok())
            .expect("x-acs-retry-after is an integer");
        assert!((1..=1_000).contains(&millis), "{millis} ms");
    }
    let stats = emulator.world().stats.snapshot();
    assert!(stats.actions["alibaba:DescribeImages"].throttled >= 1);
}

#[tokio::test]
async fn an_injected_throttle_has_the_same_shape() {
    let emulator = emulator().await;
    emulator.add_fault(Fault {
        cloud: Some(Cloud::Alibaba),
        action: Some("CopyImage".into()),
        kind: FaultKind::Throttle,
        times: 1,
        delay_ms: 0,
    });
    let reply = copy(&emulator, WEB, &[]).await;
    assert_error(&reply, 400, "Throttling.User");
    assert_eq!(reply.header("x-acs-retry-after"), Some("1000"));
    assert_eq!(tasks_created(&emulator, "copy"), 0);
    ok(&copy(&emulator, WEB, &[]).await);
}

#[tokio::test]
async fn an_injected_server_error_is_an_http_500_internal_error() {
    let emulator = emulator().await;
    emulator.add_fault(Fault {
        cloud: Some(Cloud::Alibaba),
        action: Some("ExportImage".into()),
        kind: FaultKind::ServerError,
        times: 1,
        delay_ms: 0,
    });
    let reply = export(&emulator, WEB, &[]).await;
    assert_error(&reply, 500, "InternalError");
    assert_eq!(reply.json["HostId"], "ecs-cn-hangzhou.aliyuncs.com");
    assert_eq!(tasks_created(&emulator, "export"), 0);
    ok(&export(&emulator, WEB, &[]).await);
}
