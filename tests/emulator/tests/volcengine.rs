//! Volcengine ECS 2020-04-01 over real HTTP, signed by the project's own signer as the
//! official SDK signs: ExportImage, CopyImage, DescribeTasks, DescribeImages, the seed's
//! error codes, the gateway's authentication errors and throttling.

use crate::common::*;
use cloud_emulator::{Catalog, EmulatorConfig, Fault, FaultKind, RunningEmulator};
use imgflow_shared::Cloud;
use imgflow_shared::signing::{Credentials, HttpRequest, Timestamp, uri_encode};
use serde_json::Value;

const REGION: &str = "cn-beijing";
const OTHER_REGION: &str = "cn-shanghai";
const BUCKET: &str = "imgflow-tos-backup";
const READONLY_BUCKET: &str = "imgflow-tos-readonly";
const GIB: u64 = 1 << 30;

/// A query parameter, name and value.
type Param<'a> = (&'a str, &'a str);
/// A refused ExportImage: what it shows, the region signed for, the parameters, the HTTP
/// status and the code expected.
type ExportCase<'a> = (&'a str, &'a str, Vec<Param<'a>>, u16, &'a str);
/// A refused CopyImage (signed for `REGION`): what it shows, parameters, status, code.
type CopyCase<'a> = (&'a str, Vec<Param<'a>>, u16, &'a str);

const WEB: &str = "image-ycweb000000000000001";
const DB: &str = "image-ycdb0000000000000001";
const ENCRYPTED: &str = "image-ycenc000000000000001";
const WINDOWS: &str = "image-ycwin000000000000001";
const MARKET: &str = "image-ycmkt000000000000001";
const SHARED: &str = "image-ycshr000000000000001";
const BUSY: &str = "image-ycbusy00000000000001";
const MID: &str = "image-ycmid000000000000001";
const FAILING: &str = "image-ycfail00000000000001";
const CREATING: &str = "image-ycnew000000000000001";

/// A request as the SDK builds it: `GET /`, business parameters RFC 3986-encoded, then
/// `Action` and `Version`, with the SDK's `Accept` and `Content-Type` headers.
fn api_request(emulator: &RunningEmulator, action: &str, params: &[(&str, &str)]) -> HttpRequest {
    let mut http = request(emulator, "GET", "/");
    let mut pairs: Vec<String> = params
        .iter()
        .map(|(name, value)| format!("{}={}", uri_encode(name), uri_encode(value)))
        .collect();
    pairs.push(format!("Action={action}"));
    pairs.push("Version=2020-04-01".to_owned());
    http.query = pairs.join("&");
    http.headers
        .push(("Accept".into(), "application/json".into()));
    http.headers
        .push(("Content-Type".into(), "text/plain".into()));
    http
}

fn signed(
    emulator: &RunningEmulator,
    region: &str,
    action: &str,
    params: &[(&str, &str)],
) -> HttpRequest {
    let mut http = api_request(emulator, action, params);
    sign(Cloud::Volcengine, &mut http, &credentials(), region, "ecs");
    http
}

async fn call(
    emulator: &RunningEmulator,
    region: &str,
    action: &str,
    params: &[(&str, &str)],
) -> Reply {
    send(emulator, &signed(emulator, region, action, params)).await
}

fn error_code(reply: &Reply) -> &str {
    reply.json["ResponseMetadata"]["Error"]["Code"]
        .as_str()
        .unwrap_or("<no error>")
}

fn assert_error(reply: &Reply, status: u16, code: &str, context: &str) {
    assert_eq!(
        (reply.status, error_code(reply)),
        (status, code),
        "{context}: {}",
        reply.text
    );
    assert!(
        reply.json.get("Result").is_none(),
        "{context}: an error has no Result: {}",
        reply.text
    );
}

fn result(reply: &Reply) -> &Value {
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(
        reply.json["ResponseMetadata"].get("Error").is_none(),
        "{}",
        reply.text
    );
    &reply.json["Result"]
}

fn is_opaque_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == 20
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    })
}

async fn export(emulator: &RunningEmulator, image: &str, prefix: &str) -> Reply {
    call(
        emulator,
        REGION,
        "ExportImage",
        &[
            ("ImageId", image),
            ("TOSBucket", BUCKET),
            ("TOSPrefix", prefix),
        ],
    )
    .await
}

async fn start_export(emulator: &RunningEmulator, image: &str, prefix: &str) -> String {
    let reply = export(emulator, image, prefix).await;
    result(&reply)["TaskId"]
        .as_str()
        .expect("TaskId")
        .to_owned()
}

async fn start_copy(emulator: &RunningEmulator, image: &str, destination: &str) -> String {
    let reply = call(
        emulator,
        REGION,
        "CopyImage",
        &[
            ("ImageId", image),
            ("DestinationRegion", destination),
            ("ImageName", "copied-image"),
        ],
    )
    .await;
    result(&reply)["ImageId"]
        .as_str()
        .expect("ImageId")
        .to_owned()
}

/// The one task `DescribeTasks` in `region` lists for `filter` (`TaskIds.1` or `ResourceIds.1`).
async fn task(emulator: &RunningEmulator, region: &str, filter: (&str, &str)) -> Value {
    let reply = call(emulator, region, "DescribeTasks", &[filter]).await;
    let tasks = result(&reply)["Tasks"].as_array().expect("Tasks").clone();
    assert_eq!(tasks.len(), 1, "{}", reply.text);
    tasks[0].clone()
}

async fn image(emulator: &RunningEmulator, region: &str, id: &str) -> Value {
    let reply = call(emulator, region, "DescribeImages", &[("ImageIds.1", id)]).await;
    let images = result(&reply)["Images"].as_array().expect("Images").clone();
    assert_eq!(images.len(), 1, "{}", reply.text);
    images[0].clone()
}

fn process(task: &Value) -> u64 {
    task["Process"].as_u64().expect("Process is an int")
}

#[tokio::test]
async fn an_export_runs_to_success_and_writes_one_qcow2_object_per_disk() {
    let emulator = emulator().await;
    let reply = export(&emulator, DB, "backup01").await;
    let task_id = result(&reply)["TaskId"]
        .as_str()
        .expect("TaskId")
        .to_owned();
    assert!(is_opaque_id(&task_id, "t-"), "{task_id}");
    let meta = &reply.json["ResponseMetadata"];
    assert_eq!(meta["Action"], "ExportImage");
    assert_eq!(meta["Version"], "2020-04-01");
    assert_eq!(meta["Service"], "ecs");
    assert_eq!(meta["Region"], REGION);
    let request_id = meta["RequestId"].as_str().expect("RequestId");
    assert_eq!(request_id.len(), 34, "{request_id}");
    assert_eq!(reply.header("x-tt-logid"), Some(request_id));

    let pending = task(&emulator, REGION, ("TaskIds.1", &task_id)).await;
    assert_eq!(pending["Status"], "Pending");
    assert_eq!(pending["Type"], "ExportImage");
    assert_eq!(pending["ResourceId"], DB);
    assert_eq!(process(&pending), 0);
    assert_eq!(pending["EndAt"], "");
    assert!(
        pending["CreatedAt"]
            .as_str()
            .is_some_and(|t| t.ends_with("+08:00"))
    );

    let system_key = format!("backup01_{DB}_system.qcow2");
    let data_key = format!("backup01_{DB}_data_1.qcow2");
    assert!(emulator.world().object(BUCKET, &system_key).is_none());

    // 300 GiB at 72 s per GiB: 21 600 s.
    advance(&emulator, 10_800.0);
    let running = task(&emulator, REGION, ("ResourceIds.1", DB)).await;
    assert_eq!(running["Status"], "Running");
    assert!((40..=60).contains(&process(&running)), "{running}");
    assert!(emulator.world().object(BUCKET, &system_key).is_none());

    advance(&emulator, 10_801.0);
    let done = task(&emulator, REGION, ("TaskIds.1", &task_id)).await;
    assert_eq!(done["Status"], "Succeeded");
    assert_eq!(process(&done), 100);
    assert!(
        done["EndAt"]
            .as_str()
            .is_some_and(|t| t.ends_with("+08:00"))
    );

    let world = emulator.world();
    let system = world
        .object(BUCKET, &system_key)
        .expect("system disk object");
    let data = world.object(BUCKET, &data_key).expect("data disk object");
    assert_eq!(system.size, (100 * GIB) * 35 / 100);
    assert_eq!(data.size, (200 * GIB) * 35 / 100);
    assert_eq!(world.objects(BUCKET).len(), 2);
}

#[tokio::test]
async fn a_copy_creates_an_image_in_the_destination_region_that_becomes_available() {
    let emulator = emulator().await;
    let reply = call(
        &emulator,
        REGION,
        "CopyImage",
        &[
            ("ImageId", WEB),
            ("DestinationRegion", OTHER_REGION),
            ("ImageName", "web-copy"),
            ("Description", "Copy of web"),
            ("CopyImageTags", "true"),
            ("ProjectName", "default"),
        ],
    )
    .await;
    let copy_id = result(&reply)["ImageId"]
        .as_str()
        .expect("ImageId")
        .to_owned();
    assert!(is_opaque_id(&copy_id, "image-"), "{copy_id}");

    // The copy task is listed in the destination region only, under the new image's id.
    let source_side = call(
        &emulator,
        REGION,
        "DescribeTasks",
        &[("ResourceIds.1", &copy_id)],
    )
    .await;
    assert_eq!(result(&source_side)["Tasks"], serde_json::json!([]));
    let copying = task(&emulator, OTHER_REGION, ("ResourceIds.1", &copy_id)).await;
    assert_eq!(copying["Type"], "CopyImage");
    assert_eq!(copying["Status"], "Pending");

    let creating = image(&emulator, OTHER_REGION, &copy_id).await;
    assert_eq!(creating["Status"], "creating");
    assert_eq!(creating["ImageName"], "web-copy");
    assert_eq!(creating["Size"], 50);

    // 50 GiB at 36 s per GiB: 1 800 s.
    advance(&emulator, 900.0);
    let halfway = task(&emulator, OTHER_REGION, ("ResourceIds.1", &copy_id)).await;
    assert_eq!(halfway["Status"], "Running");
    assert!((1..=99).contains(&process(&halfway)), "{halfway}");

    advance(&emulator, 901.0);
    let available = image(&emulator, OTHER_REGION, &copy_id).await;
    assert_eq!(available["Status"], "available");
    let done = task(&emulator, OTHER_REGION, ("ResourceIds.1", &copy_id)).await;
    assert_eq!(
        (done["Status"].as_str(), process(&done)),
        (Some("Succeeded"), 100)
    );

    // The source region does not list the copy.
    let source_images = call(
        &emulator,
        REGION,
        "DescribeImages",
        &[("ImageIds.1", &copy_id)],
    )
    .await;
    assert_eq!(result(&source_images)["TotalCount"], 0);
}

#[tokio::test]
async fn failing_images_fail_partway_and_keep_the_progress_they_reached() {
    let emulator = emulator().await;
    // 30 GiB: the export takes 2 160 s and fails halfway.
    let task_id = start_export(&emulator, FAILING, "broken").await;
    advance(&emulator, 1_000.0);
    let before = task(&emulator, REGION, ("TaskIds.1", &task_id)).await;
    assert_eq!(before["Status"], "Running");
    advance(&emulator, 100.0);

    let export = task(&emulator, REGION, ("TaskIds.1", &task_id)).await;
    assert_eq!(export["Status"], "Failed");
    assert_eq!(process(&export), 50);
    assert_ne!(export["EndAt"], "");
    let key = format!("broken_{FAILING}_system.qcow2");
    assert!(emulator.world().object(BUCKET, &key).is_none());

    // The failed export no longer locks the image; the copy (1 080 s) fails halfway too.
    let copy_id = start_copy(&emulator, FAILING, OTHER_REGION).await;
    advance(&emulator, 600.0);
    let copy = task(&emulator, OTHER_REGION, ("ResourceIds.1", &copy_id)).await;
    assert_eq!(copy["Status"], "Failed");
    assert_eq!(
        image(&emulator, OTHER_REGION, &copy_id).await["Status"],
        "error"
    );
}

#[tokio::test]
async fn every_export_image_error_code_of_the_seed_has_its_trigger() {
    let emulator = emulator().await;
    // MID is being exported, so it is locked for another export.
    start_export(&emulator, MID, "first").await;
    let long_prefix = "a".repeat(31);
    let cases: Vec<ExportCase> = vec![
        (
            "no ImageId",
            REGION,
            vec![("TOSBucket", BUCKET), ("TOSPrefix", "p")],
            400,
            "MissingParameter.ImageId",
        ),
        (
            "empty ImageId",
            REGION,
            vec![("ImageId", ""), ("TOSBucket", BUCKET), ("TOSPrefix", "p")],
            400,
            "MissingParameter.ImageId",
        ),
        (
            "no TOSBucket",
            REGION,
            vec![("ImageId", WEB), ("TOSPrefix", "p")],
            400,
            "MissingParameter.TOSBucket",
        ),
        (
            "no TOSPrefix",
            REGION,
            vec![("ImageId", WEB), ("TOSBucket", BUCKET), ("TOSPrefix", "")],
            400,
            "MissingParameter.TOSPrefix",
        ),
        (
            "prefix with an underscore",
            REGION,
            vec![
                ("ImageId", WEB),
                ("TOSBucket", BUCKET),
                ("TOSPrefix", "bad_prefix"),
            ],
            400,
            "InvalidTOSPrefix.Malformed",
        ),
        (
            "prefix of 31 characters",
            REGION,
            vec![
                ("ImageId", WEB),
                ("TOSBucket", BUCKET),
                ("TOSPrefix", &long_prefix),
            ],
            400,
            "InvalidTOSPrefix.Malformed",
        ),
        (
            "unknown image",
            REGION,
            vec![
                ("ImageId", "image-doesnotexist00000001"),
                ("TOSBucket", BUCKET),
                ("TOSPrefix", "p"),
            ],
            404,
            "InvalidImage.NotFound",
        ),
        (
            "image of another region",
            OTHER_REGION,
            vec![("ImageId", WEB), ("TOSBucket", BUCKET), ("TOSPrefix", "p")],
            404,
            "InvalidImage.NotFound",
        ),
        (
            "marketplace image",
            REGION,
            vec![
                ("ImageId", MARKET),
                ("TOSBucket", BUCKET),
                ("TOSPrefix", "p"),
            ],
            400,
            "InvalidImageForExportImage.UnSupported",
        ),
        (
            "shared image",
            REGION,
            vec![
                ("ImageId", SHARED),
                ("TOSBucket", BUCKET),
                ("TOSPrefix", "p"),
            ],
            400,
            "InvalidImageForExportImage.UnSupported",
        ),
        (
            "encrypted image",
            REGION,
            vec![
                ("ImageId", ENCRYPTED),
                ("TOSBucket", BUCKET),
                ("TOSPrefix", "p"),
            ],
            400,
            "InvalidImageForExportImage.UnSupported",
        ),
        (
            "image still being created",
            REGION,
            vec![
                ("ImageId", CREATING),
                ("TOSBucket", BUCKET),
                ("TOSPrefix", "p"),
            ],
            400,
            "InvalidImageStatus",
        ),
        (
            "image busy with another operation",
            REGION,
            vec![("ImageId", BUSY), ("TOSBucket", BUCKET), ("TOSPrefix", "p")],
            412,
            "OperationDenied.ResourceLocked",
        ),
        (
            "image being exported",
            REGION,
            vec![("ImageId", MID), ("TOSBucket", BUCKET), ("TOSPrefix", "p")],
            412,
            "OperationDenied.ResourceLocked",
        ),
        (
            "unknown bucket",
            REGION,
            vec![
                ("ImageId", WEB),
                ("TOSBucket", "no-such-bucket"),
                ("TOSPrefix", "p"),
            ],
            404,
            "InvalidTOSBucket.NotFound",
        ),
        (
            "a bucket of another cloud",
            REGION,
            vec![
                ("ImageId", WEB),
                ("TOSBucket", "imgflow-oss-backup"),
                ("TOSPrefix", "p"),
            ],
            404,
            "InvalidTOSBucket.NotFound",
        ),
        (
            "bucket ECS may not write",
            REGION,
            vec![
                ("ImageId", WEB),
                ("TOSBucket", READONLY_BUCKET),
                ("TOSPrefix", "p"),
            ],
            400,
            "InvalidTosPutObject.AccessDenied",
        ),
    ];
    for (name, region, params, status, code) in &cases {
        let reply = call(&emulator, region, "ExportImage", params).await;
        assert_error(&reply, *status, code, name);
        let error = &reply.json["ResponseMetadata"]["Error"];
        assert!(error["CodeN"].is_u64(), "{name}: {}", reply.text);
        assert!(error["Message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(reply.json["ResponseMetadata"]["Region"], *region);
    }
    // None of the refused requests started anything; Windows images export fine.
    assert_eq!(emulator.world().tasks.len(), 1);
    let windows = export(&emulator, WINDOWS, "win").await;
    assert!(result(&windows)["TaskId"].is_string());
}

#[tokio::test]
async fn an_internal_error_is_http_500_and_starts_nothing() {
    let emulator = emulator().await;
    emulator.add_fault(Fault {
        cloud: Some(Cloud::Volcengine),
        action: Some("ExportImage".into()),
        kind: FaultKind::ServerError,
        times: 1,
        delay_ms: 0,
    });
    let reply = export(&emulator, WEB, "p").await;
    assert_error(&reply, 500, "InternalError", "injected fault");
    assert_eq!(reply.json["ResponseMetadata"]["Error"]["CodeN"], 100_014);
    assert_eq!(reply.json["ResponseMetadata"]["Action"], "ExportImage");
    assert!(emulator.world().tasks.is_empty());
    // The fault is used up.
    assert!(result(&export(&emulator, WEB, "p").await)["TaskId"].is_string());
}

#[tokio::test]
async fn exports_beyond_the_running_limit_are_refused_until_one_finishes() {
    let mut catalog = Catalog::default_catalog();
    catalog.limits.running_exports_per_account = 2;
    let emulator = emulator_with(EmulatorConfig {
        catalog,
        ..EmulatorConfig::default()
    })
    .await;
    start_export(&emulator, WEB, "one").await;
    start_export(&emulator, MID, "two").await;
    let refused = export(&emulator, WINDOWS, "three").await;
    assert_error(
        &refused,
        400,
        "QuotaExceeded.ExportImageTask",
        "third export",
    );
    // WEB (50 GiB) takes 3 600 s; MID (200 GiB) 14 400 s.
    advance(&emulator, 3_601.0);
    assert!(result(&export(&emulator, WINDOWS, "three").await)["TaskId"].is_string());
}

#[tokio::test]
async fn copy_image_checks_its_arguments_and_the_source_image() {
    let emulator = emulator().await;
    let name_of_129 = format!("a{}", "b".repeat(128));
    let cases: Vec<CopyCase> = vec![
        (
            "no ImageId",
            vec![("DestinationRegion", OTHER_REGION), ("ImageName", "n")],
            400,
            "MissingParameter.ImageId",
        ),
        (
            "no DestinationRegion",
            vec![("ImageId", WEB), ("ImageName", "n")],
            400,
            "MissingParameter.DestinationRegion",
        ),
        (
            "no ImageName",
            vec![("ImageId", WEB), ("DestinationRegion", OTHER_REGION)],
            400,
            "MissingParameter.ImageName",
        ),
        (
            "destination is the source region",
            vec![
                ("ImageId", WEB),
                ("DestinationRegion", REGION),
                ("ImageName", "n"),
            ],
            400,
            "InvalidArgument",
        ),
        (
            "unknown destination region",
            vec![
                ("ImageId", WEB),
                ("DestinationRegion", "mars-north-1"),
                ("ImageName", "n"),
            ],
            400,
            "InvalidArgument",
        ),
        (
            "name starting with a digit",
            vec![
                ("ImageId", WEB),
                ("DestinationRegion", OTHER_REGION),
                ("ImageName", "1copy"),
            ],
            400,
            "InvalidArgument",
        ),
        (
            "name of 129 characters",
            vec![
                ("ImageId", WEB),
                ("DestinationRegion", OTHER_REGION),
                ("ImageName", &name_of_129),
            ],
            400,
            "InvalidArgument",
        ),
        (
            "description with a slash",
            vec![
                ("ImageId", WEB),
                ("DestinationRegion", OTHER_REGION),
                ("ImageName", "n"),
                ("Description", "a/b"),
            ],
            400,
            "InvalidArgument",
        ),
        (
            "CopyImageTags not a boolean",
            vec![
                ("ImageId", WEB),
                ("DestinationRegion", OTHER_REGION),
                ("ImageName", "n"),
                ("CopyImageTags", "yes"),
            ],
            400,
            "InvalidArgument",
        ),
        (
            "unknown image",
            vec![
                ("ImageId", "image-doesnotexist00000001"),
                ("DestinationRegion", OTHER_REGION),
                ("ImageName", "n"),
            ],
            404,
            "InvalidImage.NotFound",
        ),
        (
            "shared image",
            vec![
                ("ImageId", SHARED),
                ("DestinationRegion", OTHER_REGION),
                ("ImageName", "n"),
            ],
            400,
            "InvalidImageForCopyImage.UnSupported",
        ),
        (
            "image still being created",
            vec![
                ("ImageId", CREATING),
                ("DestinationRegion", OTHER_REGION),
                ("ImageName", "n"),
            ],
            400,
            "InvalidImageStatus",
        ),
        (
            "busy image",
            vec![
                ("ImageId", BUSY),
                ("DestinationRegion", OTHER_REGION),
                ("ImageName", "n"),
            ],
            412,
            "OperationDenied.ResourceLocked",
        ),
    ];
    for (name, params, status, code) in &cases {
        let reply = call(&emulator, REGION, "CopyImage", params).await;
        assert_error(&reply, *status, code, name);
    }
    assert!(emulator.world().tasks.is_empty());

    // One copy per destination at a time; another destination may run alongside.
    start_copy(&emulator, WEB, OTHER_REGION).await;
    let again = call(
        &emulator,
        REGION,
        "CopyImage",
        &[
            ("ImageId", WEB),
            ("DestinationRegion", OTHER_REGION),
            ("ImageName", "again"),
        ],
    )
    .await;
    assert_error(&again, 412, "OperationDenied.ResourceLocked", "second copy");
    start_copy(&emulator, WEB, "cn-guangzhou").await;
    // A copy in progress locks the image for an export as well.
    assert_error(
        &export(&emulator, WEB, "p").await,
        412,
        "OperationDenied.ResourceLocked",
        "export during a copy",
    );
}

#[tokio::test]
async fn describe_tasks_pages_and_limits_its_id_lists() {
    let emulator = emulator().await;
    let mut started = Vec::new();
    for (image, prefix) in [(WEB, "a"), (DB, "b"), (MID, "c")] {
        started.push(start_export(&emulator, image, prefix).await);
    }
    let first = call(&emulator, REGION, "DescribeTasks", &[("MaxResults", "2")]).await;
    let first = result(&first).clone();
    assert_eq!(first["Tasks"].as_array().map(Vec::len), Some(2));
    let token = first["NextToken"].as_str().expect("NextToken").to_owned();
    assert!(!token.is_empty());
    let second = call(
        &emulator,
        REGION,
        "DescribeTasks",
        &[("MaxResults", "2"), ("NextToken", &token)],
    )
    .await;
    let second = result(&second).clone();
    assert_eq!(second["Tasks"].as_array().map(Vec::len), Some(1));
    assert_eq!(second["NextToken"], "");
    let mut listed: Vec<String> = first["Tasks"]
        .as_array()
        .into_iter()
        .chain(second["Tasks"].as_array())
        .flatten()
        .filter_map(|task| task["Id"].as_str().map(str::to_owned))
        .collect();
    listed.sort();
    started.sort();
    assert_eq!(listed, started);

    // Two ids select two tasks; another region sees none of them.
    let two = call(
        &emulator,
        REGION,
        "DescribeTasks",
        &[("TaskIds.1", &started[0]), ("TaskIds.2", &started[1])],
    )
    .await;
    assert_eq!(result(&two)["Tasks"].as_array().map(Vec::len), Some(2));
    let elsewhere = call(&emulator, OTHER_REGION, "DescribeTasks", &[]).await;
    assert_eq!(result(&elsewhere)["Tasks"], serde_json::json!([]));

    let names: Vec<String> = (1..=101).map(|i| format!("TaskIds.{i}")).collect();
    let too_many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "t-x")).collect();
    let reply = call(&emulator, REGION, "DescribeTasks", &too_many).await;
    assert_error(&reply, 400, "InvalidArgument", "101 TaskIds");
    for bad in [
        ("MaxResults", "0"),
        ("MaxResults", "101"),
        ("NextToken", "zz"),
    ] {
        let reply = call(&emulator, REGION, "DescribeTasks", &[bad]).await;
        assert_error(&reply, 400, "InvalidArgument", bad.0);
    }
}

#[tokio::test]
async fn describe_images_filters_by_status_visibility_and_os_and_pages() {
    let emulator = emulator().await;
    let all = call(
        &emulator,
        REGION,
        "DescribeImages",
        &[("MaxResults", "100")],
    )
    .await;
    let all = result(&all).clone();
    assert_eq!(all["TotalCount"], 11);

    let creating = call(
        &emulator,
        REGION,
        "DescribeImages",
        &[("Status.1", "creating")],
    )
    .await;
    let creating = result(&creating).clone();
    assert_eq!(creating["TotalCount"], 1);
    assert_eq!(creating["Images"][0]["ImageId"], CREATING);

    let shared = call(
        &emulator,
        REGION,
        "DescribeImages",
        &[("Visibility", "shared")],
    )
    .await;
    assert_eq!(result(&shared)["Images"][0]["ImageId"], SHARED);
    let windows = call(
        &emulator,
        REGION,
        "DescribeImages",
        &[("OsType", "Windows")],
    )
    .await;
    let windows = result(&windows).clone();
    assert_eq!(windows["TotalCount"], 1);
    assert_eq!(windows["Images"][0]["Platform"], "Windows");

    let db = image(&emulator, REGION, DB).await;
    assert_eq!(db["Status"], "available");
    assert_eq!(db["Visibility"], "private");
    assert_eq!(db["Snapshots"].as_array().map(Vec::len), Some(2));
    assert_eq!(db["Snapshots"][1]["VolumeKind"], "data");
    assert_eq!(db["Snapshots"][1]["Size"], 200);

    let page = call(&emulator, REGION, "DescribeImages", &[("MaxResults", "5")]).await;
    let page = result(&page).clone();
    assert_eq!(page["Images"].as_array().map(Vec::len), Some(5));
    assert_eq!(page["TotalCount"], 11);
    assert_ne!(page["NextToken"], "");

    let names: Vec<String> = (1..=101).map(|i| format!("ImageIds.{i}")).collect();
    let too_many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), WEB)).collect();
    let reply = call(&emulator, REGION, "DescribeImages", &too_many).await;
    assert_error(&reply, 400, "InvalidArgument", "101 ImageIds");
    let reply = call(
        &emulator,
        REGION,
        "DescribeImages",
        &[("Visibility", "all")],
    )
    .await;
    assert_error(&reply, 400, "InvalidArgument", "unknown visibility");
}

/// Signs, then lets `tamper` change the signed request.
async fn tampered(emulator: &RunningEmulator, tamper: impl FnOnce(&mut HttpRequest)) -> Reply {
    let mut http = signed(emulator, REGION, "DescribeImages", &[]);
    tamper(&mut http);
    send(emulator, &http).await
}

fn replace_authorization(http: &mut HttpRequest, change: impl FnOnce(&str) -> String) {
    let old = http.header("Authorization").unwrap_or_default().to_owned();
    http.set_header("Authorization", change(&old));
}

#[tokio::test]
async fn the_gateway_refuses_bad_signatures_with_its_own_codes() {
    let emulator = emulator().await;
    let describe = |credentials: &Credentials, service: &str, time: Timestamp| {
        let mut http = api_request(&emulator, "DescribeImages", &[]);
        sign_at(
            Cloud::Volcengine,
            &mut http,
            credentials,
            REGION,
            service,
            time,
        );
        http
    };
    let now = Timestamp::now();
    let hour_ago = Timestamp::from_unix_seconds(now.unix_seconds() - 3_600);
    let hour_ahead = Timestamp::from_unix_seconds(now.unix_seconds() + 3_600);
    let cases = [
        (
            "wrong secret",
            describe(&Credentials::new(AK, "not-the-secret"), "ecs", now),
            401,
            "SignatureDoesNotMatch",
        ),
        (
            "unknown access key",
            describe(&Credentials::new("AKLTunknown", SK), "ecs", now),
            401,
            "InvalidAccessKey",
        ),
        (
            "signed an hour ago",
            describe(&credentials(), "ecs", hour_ago),
            403,
            "InvalidTimestamp",
        ),
        (
            "signed an hour ahead",
            describe(&credentials(), "ecs", hour_ahead),
            403,
            "InvalidTimestamp",
        ),
        (
            "another service",
            describe(&credentials(), "vpc", now),
            404,
            "ServiceNotFound",
        ),
    ];
    for (name, http, status, code) in cases {
        let reply = send(&emulator, &http).await;
        assert_error(&reply, status, code, name);
        assert_eq!(reply.json["ResponseMetadata"]["Region"], REGION, "{name}");
    }
    let wrong = send(
        &emulator,
        &describe(&Credentials::new(AK, "not-the-secret"), "ecs", now),
    )
    .await;
    assert_eq!(wrong.json["ResponseMetadata"]["Error"]["CodeN"], 100_010);
    assert!(!wrong.text.contains(SK), "no secret in an answer");

    let missing = tampered(&emulator, |http| {
        http.headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case("authorization"));
    })
    .await;
    assert_error(
        &missing,
        401,
        "MissingAuthenticationToken",
        "no Authorization",
    );
    let changed_query = tampered(&emulator, |http| http.query.push_str("&ImageName=x")).await;
    assert_error(
        &changed_query,
        401,
        "SignatureDoesNotMatch",
        "query changed",
    );
    let no_signature = tampered(&emulator, |http| {
        replace_authorization(http, |old| {
            old.split(", Signature=")
                .next()
                .unwrap_or_default()
                .to_owned()
        });
    })
    .await;
    assert_error(&no_signature, 401, "MissingSignature", "no Signature");
    let bad_scope = tampered(&emulator, |http| {
        replace_authorization(http, |old| old.replace("/ecs/request", "/ecs/aws4_request"));
    })
    .await;
    assert_error(&bad_scope, 400, "InvalidCredential", "bad scope terminator");
    let garbage = tampered(&emulator, |http| {
        http.set_header("Authorization", "HMAC-SHA256 garbage");
    })
    .await;
    assert_error(&garbage, 400, "InvalidAuthorization", "garbage");
    let no_date = tampered(&emulator, |http| {
        http.headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case("x-date"));
    })
    .await;
    assert_error(&no_date, 400, "MissingRequestInfo", "no X-Date");
}

#[tokio::test]
async fn a_security_token_is_accepted_only_when_signed() {
    let emulator = emulator().await;
    let temporary = credentials().with_security_token("sts-token-value");
    let mut http = api_request(&emulator, "DescribeImages", &[]);
    sign(Cloud::Volcengine, &mut http, &temporary, REGION, "ecs");
    assert!(
        http.header("Authorization")
            .is_some_and(|a| a.contains("x-security-token"))
    );
    let accepted = send(&emulator, &http).await;
    assert_eq!(result(&accepted)["TotalCount"], 11);

    let unsigned = tampered(&emulator, |http| {
        http.headers
            .push(("X-Security-Token".into(), "added-later".into()));
    })
    .await;
    assert_error(&unsigned, 401, "InvalidSecretToken", "unsigned token");
    assert_eq!(unsigned.json["ResponseMetadata"]["Error"]["CodeN"], 100_026);
}

#[tokio::test]
async fn unknown_or_missing_actions_and_versions_are_gateway_errors() {
    let emulator = emulator().await;
    let mut no_action = request(&emulator, "GET", "/");
    no_action.query = "Version=2020-04-01&ImageId=x".into();
    sign(
        Cloud::Volcengine,
        &mut no_action,
        &credentials(),
        REGION,
        "ecs",
    );
    assert_error(
        &send(&emulator, &no_action).await,
        400,
        "MissingParameter",
        "no Action",
    );
    let unknown = call(&emulator, REGION, "RunInstances", &[]).await;
    assert_error(&unknown, 404, "InvalidActionOrVersion", "unknown action");
    let mut old_version = request(&emulator, "GET", "/");
    old_version.query = "Action=DescribeImages&Version=2019-01-01".into();
    sign(
        Cloud::Volcengine,
        &mut old_version,
        &credentials(),
        REGION,
        "ecs",
    );
    assert_error(
        &send(&emulator, &old_version).await,
        404,
        "InvalidActionOrVersion",
        "unknown version",
    );

    // Stats and fault rules name the action before any authentication.
    let unsigned = api_request(&emulator, "ExportImage", &[]);
    let reply = send(&emulator, &unsigned).await;
    assert_error(&reply, 401, "MissingAuthenticationToken", "unsigned");
    let stats = emulator.world().stats.snapshot();
    assert_eq!(
        stats
            .actions
            .get("volcengine:ExportImage")
            .map(|s| s.requests),
        Some(1)
    );
    assert!(stats.actions.contains_key("volcengine:Unknown"));
}

#[tokio::test]
async fn requests_beyond_the_rate_limit_get_http_429_account_flow_limit_exceeded() {
    let mut catalog = Catalog::default_catalog();
    catalog
        .limits
        .rates
        .insert("volcengine:DescribeTasks".into(), 3);
    let emulator = emulator_with(EmulatorConfig {
        catalog,
        ..EmulatorConfig::default()
    })
    .await;
    // Bursts of six at once until one is throttled: sequential calls on a loaded machine may
    // each find the sliding window empty again.
    let mut throttled = None;
    for _ in 0..20 {
        let burst = tokio::join!(
            call(&emulator, REGION, "DescribeTasks", &[]),
            call(&emulator, REGION, "DescribeTasks", &[]),
            call(&emulator, REGION, "DescribeTasks", &[]),
            call(&emulator, REGION, "DescribeTasks", &[]),
            call(&emulator, REGION, "DescribeTasks", &[]),
            call(&emulator, REGION, "DescribeTasks", &[]),
        );
        let replies = [burst.0, burst.1, burst.2, burst.3, burst.4, burst.5];
        assert!(replies.iter().all(|r| r.status == 200 || r.status == 429));
        assert!(replies.iter().any(|r| r.status == 200));
        throttled = replies.into_iter().find(|r| r.status == 429);
        if throttled.is_some() {
            break;
        }
    }
    let stats = emulator.world().stats.snapshot();
    assert!(stats.actions["volcengine:DescribeTasks"].max_accepted_per_second <= 3);
    let throttled = throttled.expect("a request beyond 3 per second is throttled");
    assert_error(&throttled, 429, "AccountFlowLimitExceeded", "burst");
    let meta = &throttled.json["ResponseMetadata"];
    assert_eq!(meta["Error"]["CodeN"], 100_027);
    assert_eq!(meta["Action"], "DescribeTasks");
    assert_eq!(meta["Region"], REGION);
    assert!(meta["RequestId"].as_str().is_some_and(|id| !id.is_empty()));
    let stats = emulator.world().stats.snapshot();
    assert!(stats.actions["volcengine:DescribeTasks"].throttled >= 1);

    // An injected throttle answers the same way.
    emulator.add_fault(Fault {
        cloud: Some(Cloud::Volcengine),
        action: Some("ExportImage".into()),
        kind: FaultKind::Throttle,
        times: 1,
        delay_ms: 0,
    });
    let reply = export(&emulator, WEB, "p").await;
    assert_error(&reply, 429, "AccountFlowLimitExceeded", "injected");
    assert!(emulator.world().tasks.is_empty());
}
