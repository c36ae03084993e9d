//! Huawei Cloud IMS over real HTTP, signed by the project's own SDK-HMAC-SHA256 signer:
//! export and copy jobs to their end, every documented error with its trigger, the gateway's
//! authentication, throttling and server errors.

use crate::common::*;
use cloud_emulator::catalog::{BucketSpec, ImageFlags};
use cloud_emulator::world::{Image, TaskKind};
use cloud_emulator::{Catalog, EmulatorConfig, Fault, FaultKind, RunningEmulator};
use imgflow_shared::Cloud;
use imgflow_shared::signing::{Credentials, HttpRequest, Timestamp};
use serde_json::{Value, json};

/// The account `default`'s projects in the built-in catalogue.
const NORTH: &str = "0a1b2c3d4e5f40718293a4b5c6d7e8f9";
const EAST: &str = "1b2c3d4e5f60418293a4b5c6d7e8f90a";
const SOUTHEAST: &str = "2c3d4e5f6071429384a5b6c7d8e9f0a1";
/// The account `other`'s project in cn-north-4.
const OTHER_NORTH: &str = "9f8e7d6c5b4a49382716f5e4d3c2b1a0";

const WEB: &str = "4d0ab5e2-3114-578f-81d7-2d843f36e39b";
const DATABASE: &str = "d7cb727a-cfad-513a-bede-a2a0da0cd389";
const ENCRYPTED: &str = "bd3f54c8-756b-5e61-bcc1-d9464c9bcb95";
const WINDOWS: &str = "0fc101bb-c464-587e-b340-f6ca7cc3f49d";
const MARKET: &str = "f5ca7be0-a171-5997-ab3d-9569b1578ba1";
const SHARED: &str = "d92adeeb-62b3-5314-bb8c-938b06100e1a";
const BUSY: &str = "fec82bc1-fb57-5315-aae8-4cd1a775bf38";
const HUGE: &str = "eb86a628-3101-58d9-a842-a926f2990b91";
const LARGE: &str = "86d4a640-62c0-5242-bb4d-d269a65a56de";
const FAILS: &str = "1a5c6615-fa49-5428-a91a-5e09f60c4e36";
const CREATING: &str = "7e830bf7-792c-59d5-a215-ceded7b0e0aa";
const UNKNOWN: &str = "00000000-0000-4000-8000-000000000000";

const BUCKET: &str = "imgflow-obs-backup";
const READONLY: &str = "imgflow-obs-readonly";
const GIB: u64 = 1 << 30;

/// A request as the SDK builds it, before signing.
fn unsigned(
    emulator: &RunningEmulator,
    method: &str,
    path: &str,
    query: &str,
    body: Option<&Value>,
    project: &str,
) -> HttpRequest {
    let mut request = request(emulator, method, path);
    request.query = query.to_owned();
    let content_type = if body.is_some() {
        "application/json;charset=utf-8"
    } else {
        "application/json"
    };
    request
        .headers
        .push(("Content-Type".into(), content_type.into()));
    request
        .headers
        .push(("User-Agent".into(), "huaweicloud-usdk-python/3.0".into()));
    request
        .headers
        .push(("X-Project-Id".into(), project.to_owned()));
    if let Some(body) = body {
        request.body = serde_json::to_vec(body).expect("json");
    }
    request
}

fn signed_with(mut request: HttpRequest, credentials: &Credentials) -> HttpRequest {
    sign(Cloud::Huawei, &mut request, credentials, "", "");
    request
}

async fn call(
    emulator: &RunningEmulator,
    method: &str,
    path: &str,
    query: &str,
    body: Option<&Value>,
    project: &str,
) -> Reply {
    let request = unsigned(emulator, method, path, query, body, project);
    send(emulator, &signed_with(request, &credentials())).await
}

async fn export(emulator: &RunningEmulator, image: &str, body: &Value) -> Reply {
    let path = format!("/v1/cloudimages/{image}/file");
    call(emulator, "POST", &path, "", Some(body), NORTH).await
}

async fn copy(emulator: &RunningEmulator, image: &str, body: &Value) -> Reply {
    let path = format!("/v1/cloudimages/{image}/cross_region_copy");
    call(emulator, "POST", &path, "", Some(body), NORTH).await
}

async fn job_progress(emulator: &RunningEmulator, job_id: &str, project: &str) -> Reply {
    let path = format!("/v1/cloudimages/job/{job_id}");
    call(emulator, "GET", &path, "", None, project).await
}

async fn list(emulator: &RunningEmulator, query: &str, project: &str) -> Reply {
    call(emulator, "GET", "/v2/cloudimages", query, None, project).await
}

fn export_body(key: &str, format: &str) -> Value {
    json!({"bucket_url": format!("{BUCKET}:{key}"), "file_format": format, "is_quick_export": false})
}

fn copy_body(name: &str, region: &str) -> Value {
    json!({"name": name, "region": region, "project_name": region, "agency_name": "ims_admin_agency"})
}

fn job_id(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{}", reply.text);
    let job = reply.json["job_id"].as_str().expect("job_id").to_owned();
    assert_eq!(job.len(), 32, "{job}");
    assert!(job.bytes().all(|b| b.is_ascii_hexdigit()), "{job}");
    job
}

fn request_id(reply: &Reply) -> String {
    let id = reply
        .header("X-Request-Id")
        .expect("X-Request-Id")
        .to_owned();
    assert_eq!(id.len(), 32, "{id}");
    id
}

#[track_caller]
fn assert_ims_error(reply: &Reply, status: u16, code: &str, context: &str) {
    assert_eq!(
        (reply.status, reply.json["error"]["code"].as_str()),
        (status, Some(code)),
        "{context}: {}",
        reply.text
    );
    assert!(
        reply.json["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{context}: {}",
        reply.text
    );
    request_id(reply);
}

#[track_caller]
fn assert_gateway_error(reply: &Reply, status: u16, code: &str, context: &str) {
    assert_eq!(
        (reply.status, reply.json["error_code"].as_str()),
        (status, Some(code)),
        "{context}: {}",
        reply.text
    );
    let id = request_id(reply);
    assert_eq!(
        reply.json["request_id"].as_str(),
        Some(id.as_str()),
        "{context}"
    );
}

fn percent(reply: &Reply) -> f64 {
    reply.json["entities"]["process_percent"]
        .as_f64()
        .expect("process_percent")
}

fn status(reply: &Reply) -> &str {
    reply.json["status"].as_str().expect("status")
}

/// An image of the account `default` beside the catalogue's, for flags no catalogue image has.
fn add_image(emulator: &RunningEmulator, id: &str, region: &str, size_gb: u64, flags: ImageFlags) {
    let mut world = emulator.world();
    let mut image: Image = world
        .image(Cloud::Huawei, WEB)
        .expect("catalogue image")
        .clone();
    image.spec.id = id.to_owned();
    image.spec.region = region.to_owned();
    image.spec.size_gb = size_gb;
    image.spec.flags = flags;
    world.images.push(image);
}

fn add_bucket(emulator: &RunningEmulator, name: &str, region: &str, account: &str) {
    emulator.world().buckets.push(BucketSpec {
        cloud: Cloud::Huawei,
        account: account.to_owned(),
        region: region.to_owned(),
        name: name.to_owned(),
        writable: true,
    });
}

#[tokio::test]
async fn an_export_runs_from_init_to_success_and_writes_its_object() {
    let emulator = emulator().await;
    let key = "exports/web-server.qcow2";
    let started = export(&emulator, WEB, &export_body(key, "qcow2")).await;
    let job = job_id(&started);
    request_id(&started);

    let pending = job_progress(&emulator, &job, NORTH).await;
    assert_eq!(pending.status, 200, "{}", pending.text);
    assert_eq!(status(&pending), "INIT");
    assert_eq!(pending.json["job_type"], "imsNativeExportImageJob");
    assert_eq!(pending.json["entities"]["image_id"], WEB);
    assert_eq!(pending.json["entities"]["image_name"], "web-server-2025");
    assert_eq!(pending.json["end_time"], "");
    assert!(pending.json["error_code"].is_null());
    assert_eq!(percent(&pending), 0.0);
    assert!(emulator.world().object(BUCKET, key).is_none());

    // 50 GiB at 72 s/GiB: one hour.
    advance(&emulator, 1800.0);
    let running = job_progress(&emulator, &job, NORTH).await;
    assert_eq!(status(&running), "RUNNING");
    assert!((0.4..0.6).contains(&percent(&running)), "{}", running.text);
    assert_eq!(running.json["entities"]["current_task"], "exportImage");
    assert!(emulator.world().object(BUCKET, key).is_none());

    advance(&emulator, 1900.0);
    let done = job_progress(&emulator, &job, NORTH).await;
    assert_eq!(status(&done), "SUCCESS");
    assert_eq!(percent(&done), 1.0);
    assert!(
        done.json["end_time"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let object = emulator
        .world()
        .object(BUCKET, key)
        .expect("the object exists");
    assert_eq!(object.size, 50 * GIB * 35 / 100);

    let legacy = call(
        &emulator,
        "GET",
        &format!("/v1/{NORTH}/jobs/{job}"),
        "",
        None,
        NORTH,
    )
    .await;
    assert_eq!((legacy.status, status(&legacy)), (200, "SUCCESS"));
    assert_eq!(legacy.json["job_id"], job.as_str());

    let stats = emulator.world().stats.snapshot();
    assert_eq!(stats.tasks_created.get("huawei:export"), Some(&1));
    for action in ["ExportImage", "ShowJobProgress", "ShowJob"] {
        assert!(
            stats.actions.contains_key(&format!("huawei:{action}")),
            "{action}: {:?}",
            stats.actions.keys()
        );
    }
}

#[tokio::test]
async fn quick_export_is_the_only_way_past_128_gb_and_writes_zvhd2_at_full_size() {
    let emulator = emulator().await;
    let slow = export(&emulator, LARGE, &export_body("large.qcow2", "qcow2")).await;
    assert_ims_error(&slow, 400, "IMG.0160", "200 GB without quick export");

    let body = json!({"bucket_url": format!("{BUCKET}:large.zvhd2"), "is_quick_export": true});
    let job = job_id(&export(&emulator, LARGE, &body).await);
    let format = emulator
        .world()
        .tasks
        .iter()
        .find_map(|task| match &task.kind {
            TaskKind::Export { format, .. } if task.id == job => Some(format.clone()),
            _ => None,
        });
    assert_eq!(format.as_deref(), Some("zvhd2"));
    advance(&emulator, 200.0 * 72.0 + 60.0);
    assert_eq!(
        status(&job_progress(&emulator, &job, NORTH).await),
        "SUCCESS"
    );
    let object = emulator
        .world()
        .object(BUCKET, "large.zvhd2")
        .expect("object");
    assert_eq!(object.size, 200 * GIB);

    // An encrypted image exports normally, but not by quick export.
    let encrypted_quick =
        json!({"bucket_url": format!("{BUCKET}:enc.zvhd2"), "is_quick_export": true});
    let refused = export(&emulator, ENCRYPTED, &encrypted_quick).await;
    assert_ims_error(&refused, 400, "IMG.0071", "encrypted quick export");
    job_id(&export(&emulator, ENCRYPTED, &export_body("enc.vmdk", "vmdk")).await);
}

#[tokio::test]
async fn a_cross_region_copy_creates_the_destination_image_and_follows_the_job() {
    let emulator = emulator().await;
    let mut body = copy_body("web-copy", "cn-east-3");
    body["description"] = json!("nightly copy");
    let job = job_id(&copy(&emulator, WEB, &body).await);

    let pending = job_progress(&emulator, &job, NORTH).await;
    assert_eq!(status(&pending), "INIT");
    assert_eq!(pending.json["job_type"], "imsCrossRegionCopyImageJob");
    let new_id = pending.json["entities"]["image_id"]
        .as_str()
        .expect("the new image id")
        .to_owned();
    assert_ne!(new_id, WEB);
    assert_eq!(new_id.len(), 36);
    assert_eq!(pending.json["entities"]["image_name"], "web-copy");

    let by_id = format!("id={new_id}");
    let queued = list(&emulator, &by_id, EAST).await;
    assert_eq!(queued.status, 200, "{}", queued.text);
    let image = &queued.json["images"][0];
    assert_eq!(image["status"], "queued");
    assert_eq!(image["owner"], EAST);
    assert_eq!(image["__originalimagename"], WEB);
    assert_eq!(image["__imagetype"], "private");
    assert_eq!(image["min_disk"], 50);
    let source_region = list(&emulator, &by_id, NORTH).await;
    assert_eq!(source_region.json["images"], json!([]));

    // 50 GiB at 36 s/GiB: half an hour.
    advance(&emulator, 900.0);
    assert_eq!(
        status(&job_progress(&emulator, &job, NORTH).await),
        "RUNNING"
    );
    assert_eq!(
        list(&emulator, &by_id, EAST).await.json["images"][0]["status"],
        "saving"
    );

    advance(&emulator, 1000.0);
    let done = job_progress(&emulator, &job, NORTH).await;
    assert_eq!((status(&done), percent(&done)), ("SUCCESS", 1.0));
    let active = list(&emulator, &by_id, EAST).await;
    assert_eq!(active.json["images"][0]["status"], "active");
    assert_ne!(active.json["images"][0]["__image_size"], "0");

    let legacy = call(
        &emulator,
        "GET",
        &format!("/v1/{NORTH}/jobs/{job}"),
        "",
        None,
        NORTH,
    )
    .await;
    let result = &legacy.json["entities"]["results"][0];
    assert_eq!(result["image_id"], new_id.as_str());
    assert_eq!(result["project_id"], EAST);
    assert_eq!(result["status"], "SUCCESS");
}

#[tokio::test]
async fn failing_jobs_report_their_code_and_leave_nothing_behind() {
    let emulator = emulator().await;
    let exported = job_id(&export(&emulator, FAILS, &export_body("fails.vhd", "vhd")).await);
    let copied = job_id(&copy(&emulator, FAILS, &copy_body("fails-copy", "ap-southeast-1")).await);
    advance(&emulator, 10_000.0);

    for job in [&exported, &copied] {
        let failed = job_progress(&emulator, job, NORTH).await;
        assert_eq!(status(&failed), "FAIL", "{}", failed.text);
        assert_eq!(failed.json["error_code"], "IMG.0014");
        assert!(
            failed.json["fail_reason"]
                .as_str()
                .is_some_and(|r| !r.is_empty())
        );
        assert_eq!(percent(&failed), 0.5);
        assert_ne!(failed.json["end_time"], "");
    }
    assert!(emulator.world().object(BUCKET, "fails.vhd").is_none());
    let destination = list(&emulator, "name=fails-copy", SOUTHEAST).await;
    assert_eq!(destination.json["images"][0]["status"], "killed");
}

#[tokio::test]
async fn export_errors_carry_the_documented_codes() {
    let emulator = emulator().await;
    let public_image = "11111111-2222-4333-8444-555555555555";
    add_image(
        &emulator,
        public_image,
        "cn-north-4",
        40,
        ImageFlags {
            public: true,
            ..ImageFlags::default()
        },
    );
    add_bucket(&emulator, "imgflow-obs-east", "cn-east-3", "default");
    add_bucket(&emulator, "imgflow-obs-other", "cn-north-4", "other");
    let url = |bucket_url: &str| json!({"bucket_url": bucket_url, "file_format": "qcow2"});
    let ok = export_body("x.qcow2", "qcow2");

    let cases: Vec<(&str, &str, Value, u16, &str)> = vec![
        (
            "bucket_url missing",
            WEB,
            json!({"file_format": "qcow2"}),
            400,
            "IMG.0001",
        ),
        (
            "no colon in bucket_url",
            WEB,
            url("imgflow-obs-backup"),
            400,
            "IMG.0017",
        ),
        ("empty bucket", WEB, url(":x.qcow2"), 400, "IMG.0068"),
        (
            "bad bucket name",
            WEB,
            url("Bad_Bucket:x.qcow2"),
            400,
            "IMG.0109",
        ),
        (
            "empty file",
            WEB,
            url("imgflow-obs-backup:"),
            400,
            "IMG.0073",
        ),
        (
            "long file",
            WEB,
            url(&format!("{BUCKET}:{}", "a".repeat(129))),
            400,
            "IMG.0074",
        ),
        (
            "space in file",
            WEB,
            url(&format!("{BUCKET}:my disk.qcow2")),
            400,
            "IMG.0175",
        ),
        (
            "bad file char",
            WEB,
            url(&format!("{BUCKET}:disk*.qcow2")),
            400,
            "IMG.0075",
        ),
        (
            "file_format missing",
            WEB,
            json!({"bucket_url": format!("{BUCKET}:x")}),
            400,
            "IMG.0001",
        ),
        (
            "file_format raw",
            WEB,
            export_body("x.raw", "raw"),
            400,
            "IMG.0072",
        ),
        (
            "file_format with quick export",
            WEB,
            json!({"bucket_url": format!("{BUCKET}:x"), "file_format": "vhd", "is_quick_export": true}),
            400,
            "IMG.0001",
        ),
        ("malformed image id", "img-123", ok.clone(), 400, "IMG.0066"),
        ("unknown image", UNKNOWN, ok.clone(), 404, "IMG.0027"),
        (
            "image still creating",
            CREATING,
            ok.clone(),
            400,
            "IMG.0046",
        ),
        ("public image", public_image, ok.clone(), 400, "IMG.0077"),
        ("marketplace image", MARKET, ok.clone(), 400, "IMG.0078"),
        ("shared image", SHARED, ok.clone(), 400, "IMG.0106"),
        ("full-ECS image", DATABASE, ok.clone(), 400, "IMG.0128"),
        ("windows image", WINDOWS, ok.clone(), 400, "IMG.0071"),
        ("image of 1 TB or more", HUGE, ok.clone(), 400, "IMG.0059"),
        ("busy image", BUSY, ok.clone(), 400, "IMG.0148"),
        (
            "missing bucket",
            WEB,
            url("imgflow-no-such-bucket:x"),
            400,
            "IMG.0069",
        ),
        (
            "another cloud's bucket",
            WEB,
            url("imgflow-oss-backup:x"),
            400,
            "IMG.0069",
        ),
        (
            "bucket in another region",
            WEB,
            url("imgflow-obs-east:x"),
            400,
            "IMG.0058",
        ),
        (
            "read-only bucket",
            WEB,
            url(&format!("{READONLY}:x")),
            403,
            "IMG.0026",
        ),
        (
            "another account's bucket",
            WEB,
            url("imgflow-obs-other:x"),
            403,
            "IMG.0026",
        ),
    ];
    for (context, image, body, status, code) in cases {
        let reply = export(&emulator, image, &body).await;
        assert_ims_error(&reply, status, code, context);
    }

    let path = format!("/v1/cloudimages/{WEB}/file");
    let mut empty = unsigned(&emulator, "POST", &path, "", None, NORTH);
    empty.set_header("Content-Type", "application/json;charset=utf-8");
    let reply = send(&emulator, &signed_with(empty, &credentials())).await;
    assert_ims_error(&reply, 400, "IMG.0007", "empty body");
    let mut garbage = unsigned(&emulator, "POST", &path, "", None, NORTH);
    garbage.body = b"{not json".to_vec();
    let reply = send(&emulator, &signed_with(garbage, &credentials())).await;
    assert_ims_error(&reply, 400, "IMG.0001", "body not JSON");

    assert!(
        emulator.world().tasks.is_empty(),
        "no refused export starts a task"
    );
}

#[tokio::test]
async fn an_image_is_exported_once_at_a_time_and_never_over_an_existing_file() {
    let emulator = emulator().await;
    job_id(&export(&emulator, WEB, &export_body("a.qcow2", "qcow2")).await);
    let twice = export(&emulator, WEB, &export_body("b.qcow2", "qcow2")).await;
    assert_ims_error(&twice, 400, "IMG.0148", "second export of a running image");
    let same_key = export(&emulator, ENCRYPTED, &export_body("a.qcow2", "qcow2")).await;
    assert_ims_error(&same_key, 400, "IMG.0070", "key a running export writes");

    advance(&emulator, 4000.0);
    let over = export(&emulator, WEB, &export_body("a.qcow2", "qcow2")).await;
    assert_ims_error(&over, 400, "IMG.0070", "key of an exported object");
    job_id(&export(&emulator, WEB, &export_body("c.qcow2", "qcow2")).await);
}

#[tokio::test]
async fn running_exports_are_capped_per_account() {
    let mut catalog = Catalog::default_catalog();
    catalog.limits.running_exports_per_account = 2;
    let emulator = emulator_with(EmulatorConfig {
        catalog,
        ..EmulatorConfig::default()
    })
    .await;
    job_id(&export(&emulator, WEB, &export_body("1.qcow2", "qcow2")).await);
    job_id(&export(&emulator, ENCRYPTED, &export_body("2.qcow2", "qcow2")).await);
    let third = export(&emulator, FAILS, &export_body("3.qcow2", "qcow2")).await;
    assert_ims_error(&third, 400, "IMG.0060", "third running export");
    advance(&emulator, 4000.0);
    job_id(&export(&emulator, FAILS, &export_body("3.qcow2", "qcow2")).await);
}

#[tokio::test]
async fn copy_errors_carry_the_documented_codes() {
    let emulator = emulator().await;
    let far_large = "22222222-3333-4444-8555-666666666666";
    add_image(
        &emulator,
        far_large,
        "ap-southeast-1",
        200,
        ImageFlags::default(),
    );
    let body = |extra: Value| {
        let mut body = copy_body("copy", "cn-east-3");
        if let (Value::Object(fields), Value::Object(extra)) = (&mut body, extra) {
            for (key, value) in extra {
                if value.is_null() {
                    fields.remove(&key);
                } else {
                    fields.insert(key, value);
                }
            }
        }
        body
    };
    let ok = body(json!({}));

    let cases: Vec<(&str, &str, Value, u16, &str)> = vec![
        (
            "name missing",
            WEB,
            body(json!({"name": null})),
            400,
            "IMG.0013",
        ),
        (
            "name too long",
            WEB,
            body(json!({"name": "n".repeat(129)})),
            400,
            "IMG.0002",
        ),
        (
            "name with a slash",
            WEB,
            body(json!({"name": "a/b"})),
            400,
            "IMG.0003",
        ),
        (
            "description too long",
            WEB,
            body(json!({"description": "d".repeat(1025)})),
            400,
            "IMG.0004",
        ),
        (
            "description with <>",
            WEB,
            body(json!({"description": "<b>"})),
            400,
            "IMG.0054",
        ),
        (
            "region missing",
            WEB,
            body(json!({"region": null})),
            400,
            "IMG.0001",
        ),
        (
            "agency missing",
            WEB,
            body(json!({"agency_name": null})),
            400,
            "IMG.0001",
        ),
        (
            "same region",
            WEB,
            copy_body("copy", "cn-north-4"),
            400,
            "IMG.0001",
        ),
        (
            "region without a project",
            WEB,
            copy_body("copy", "eu-west-0"),
            400,
            "IMG.0145",
        ),
        (
            "project of another region",
            WEB,
            body(json!({"project_name": "cn-south-1"})),
            400,
            "IMG.0145",
        ),
        ("malformed image id", "m-123", ok.clone(), 400, "IMG.0066"),
        ("unknown image", UNKNOWN, ok.clone(), 404, "IMG.0027"),
        (
            "image still creating",
            CREATING,
            ok.clone(),
            400,
            "IMG.0046",
        ),
        ("encrypted image", ENCRYPTED, ok.clone(), 400, "IMG.0105"),
        ("marketplace image", MARKET, ok.clone(), 400, "IMG.0105"),
        ("shared image", SHARED, ok.clone(), 400, "IMG.0106"),
        (
            "full-ECS image without vault",
            DATABASE,
            ok.clone(),
            400,
            "IMG.0130",
        ),
        (
            "over 300 GiB from cn-north-4",
            HUGE,
            ok.clone(),
            400,
            "IMG.0059",
        ),
        ("busy image", BUSY, ok.clone(), 400, "IMG.0148"),
    ];
    for (context, image, body, status, code) in cases {
        let reply = copy(&emulator, image, &body).await;
        assert_ims_error(&reply, status, code, context);
    }

    // Elsewhere the limit is 128 GiB.
    let far = call(
        &emulator,
        "POST",
        &format!("/v1/cloudimages/{far_large}/cross_region_copy"),
        "",
        Some(&copy_body("far", "cn-north-4")),
        SOUTHEAST,
    )
    .await;
    assert_ims_error(&far, 400, "IMG.0059", "200 GiB from ap-southeast-1");
    assert!(
        emulator.world().tasks.is_empty(),
        "no refused copy starts a task"
    );

    // What is allowed: a 200 GiB image from cn-north-4, a full-ECS image with its vault.
    job_id(&copy(&emulator, LARGE, &ok).await);
    job_id(&copy(&emulator, DATABASE, &body(json!({"vault_id": "vault-1"}))).await);
    job_id(
        &copy(
            &emulator,
            WEB,
            &body(json!({"project_name": "cn-east-3_dev"})),
        )
        .await,
    );
}

#[tokio::test]
async fn cross_region_copies_beyond_the_limit_are_refused() {
    let emulator = emulator().await;
    for n in 0..5 {
        job_id(
            &copy(
                &emulator,
                WEB,
                &copy_body(&format!("copy-{n}"), "cn-east-3"),
            )
            .await,
        );
    }
    let sixth = copy(&emulator, WEB, &copy_body("copy-5", "ap-southeast-1")).await;
    assert_ims_error(&sixth, 400, "IMG.0060", "sixth running copy");
    advance(&emulator, 2000.0);
    job_id(&copy(&emulator, WEB, &copy_body("copy-5", "ap-southeast-1")).await);
}

#[tokio::test]
async fn jobs_are_found_only_in_their_own_project() {
    let emulator = emulator().await;
    let job = job_id(&export(&emulator, WEB, &export_body("w.qcow2", "qcow2")).await);
    let unknown = job_progress(&emulator, "ff80808200000000ffffffffffffffff", NORTH).await;
    assert_ims_error(&unknown, 404, "IMG.0121", "unknown job");
    let elsewhere = job_progress(&emulator, &job, EAST).await;
    assert_ims_error(&elsewhere, 404, "IMG.0121", "job of another project");
    let mismatch = call(
        &emulator,
        "GET",
        &format!("/v1/{EAST}/jobs/{job}"),
        "",
        None,
        NORTH,
    )
    .await;
    assert_ims_error(
        &mismatch,
        400,
        "IMG.0067",
        "path project differs from X-Project-Id",
    );
}

#[tokio::test]
async fn list_images_filters_sorts_and_pages() {
    let emulator = emulator().await;
    let web = list(&emulator, "name=web-server-2025", NORTH).await;
    assert_eq!(web.status, 200, "{}", web.text);
    let images = web.json["images"].as_array().expect("images");
    assert_eq!(images.len(), 1);
    let image = &images[0];
    assert_eq!(image["id"], WEB);
    assert_eq!(image["status"], "active");
    assert_eq!(image["owner"], NORTH);
    assert_eq!(image["__isregistered"], "true");
    assert_eq!(image["__os_type"], "Linux");
    assert!(image["__image_size"].is_string());
    assert!(web.json.get("page_info").is_none());

    let ids = |reply: &Reply| -> Vec<String> {
        reply.json["images"]
            .as_array()
            .expect("images")
            .iter()
            .map(|image| image["id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(
        ids(&list(&emulator, "__imagetype=market", NORTH).await),
        [MARKET]
    );
    assert_eq!(
        ids(&list(&emulator, "__imagetype=shared", NORTH).await),
        [SHARED]
    );
    let private = ids(&list(&emulator, "__imagetype=private", NORTH).await);
    assert_eq!(private.len(), 9);
    assert!(!private.iter().any(|id| id == MARKET || id == SHARED));
    assert_eq!(
        ids(&list(&emulator, "status=saving", NORTH).await),
        [CREATING]
    );
    assert_eq!(
        ids(&list(&emulator, "__os_type=Windows", NORTH).await),
        [WINDOWS]
    );
    assert_eq!(
        ids(&list(&emulator, &format!("id={HUGE}"), NORTH).await),
        [HUGE]
    );
    let encrypted = list(&emulator, &format!("id={ENCRYPTED}"), NORTH).await;
    assert!(encrypted.json["images"][0]["__system__cmkid"].is_string());

    let mut names = Vec::new();
    let mut query = "limit=4&sort_key=name&sort_dir=asc".to_owned();
    let mut pages = 0;
    loop {
        let page = list(&emulator, &query, NORTH).await;
        assert_eq!(page.status, 200, "{}", page.text);
        pages += 1;
        names.extend(
            page.json["images"]
                .as_array()
                .expect("images")
                .iter()
                .map(|image| image["name"].as_str().expect("name").to_owned()),
        );
        match page.json["page_info"]["next_marker"].as_str() {
            Some(marker) => query = format!("limit=4&sort_key=name&sort_dir=asc&marker={marker}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names.len(), 11);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);

    let other = Credentials::new("imgflow-other-ak", "imgflow-other-sk");
    let request = unsigned(&emulator, "GET", "/v2/cloudimages", "", None, OTHER_NORTH);
    let foreign = send(&emulator, &signed_with(request, &other)).await;
    assert_eq!(
        (foreign.status, foreign.json["images"].clone()),
        (200, json!([]))
    );

    let bad_type = list(&emulator, "__imagetype=bogus", NORTH).await;
    assert_ims_error(&bad_type, 400, "IMG.0024", "unknown __imagetype");
    let bad_marker = list(&emulator, &format!("marker={UNKNOWN}"), NORTH).await;
    assert_ims_error(&bad_marker, 400, "IMG.0086", "unknown marker");
    let bad_limit = list(&emulator, "limit=0", NORTH).await;
    assert_ims_error(&bad_limit, 400, "IMG.0001", "limit 0");
}

#[tokio::test]
async fn authentication_failures_are_gateway_401s() {
    let emulator = emulator().await;
    let listing = || unsigned(&emulator, "GET", "/v2/cloudimages", "", None, NORTH);

    let anonymous = send(&emulator, &listing()).await;
    assert_gateway_error(&anonymous, 401, "APIGW.0301", "no Authorization");

    let wrong_secret = signed_with(listing(), &Credentials::new(AK, "not-the-secret"));
    let reply = send(&emulator, &wrong_secret).await;
    assert_gateway_error(&reply, 401, "APIGW.0301", "wrong secret");
    assert!(
        reply.json["error_msg"]
            .as_str()
            .is_some_and(|m| m.contains("signature"))
    );

    let unknown_key = signed_with(listing(), &Credentials::new("no-such-ak", SK));
    let reply = send(&emulator, &unknown_key).await;
    assert_gateway_error(&reply, 401, "APIGW.0301", "unknown key");

    let mut expired = listing();
    let hour_ago = Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() - 3600);
    sign_at(
        Cloud::Huawei,
        &mut expired,
        &credentials(),
        "",
        "",
        hour_ago,
    );
    let reply = send(&emulator, &expired).await;
    assert_gateway_error(&reply, 401, "APIGW.0301", "X-Sdk-Date an hour old");

    let mut malformed = listing();
    malformed.set_header("Authorization", "SDK-HMAC-SHA256 nonsense");
    malformed.set_header("X-Sdk-Date", Timestamp::now().basic_iso8601());
    let reply = send(&emulator, &malformed).await;
    assert_gateway_error(&reply, 401, "APIGW.0301", "malformed Authorization");

    let mut tampered = signed_with(
        unsigned(
            &emulator,
            "POST",
            &format!("/v1/cloudimages/{WEB}/file"),
            "",
            Some(&export_body("t.qcow2", "qcow2")),
            NORTH,
        ),
        &credentials(),
    );
    tampered.body = serde_json::to_vec(&export_body("u.qcow2", "qcow2")).expect("json");
    let reply = send(&emulator, &tampered).await;
    assert_gateway_error(&reply, 401, "APIGW.0301", "body changed after signing");

    // A security token is accepted when signed, refused when added afterwards.
    let temporary = Credentials::new(AK, SK).with_security_token("sts-token");
    let reply = send(&emulator, &signed_with(listing(), &temporary)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let mut smuggled = signed_with(listing(), &credentials());
    smuggled
        .headers
        .push(("X-Security-Token".into(), "sts-token".into()));
    let reply = send(&emulator, &smuggled).await;
    assert_gateway_error(&reply, 401, "APIGW.0301", "unsigned security token");

    for (context, project) in [
        ("X-Project-Id empty", ""),
        ("unknown project", "ffffffffffffffffffffffffffffffff"),
        ("another account's project", OTHER_NORTH),
    ] {
        let request = unsigned(&emulator, "GET", "/v2/cloudimages", "", None, project);
        let reply = send(&emulator, &signed_with(request, &credentials())).await;
        assert_gateway_error(&reply, 401, "APIGW.0301", context);
    }
    assert!(emulator.world().tasks.is_empty());
}

#[tokio::test]
async fn unknown_apis_answer_the_gateway_404_before_authentication() {
    let emulator = emulator().await;
    let wrong_method = call(
        &emulator,
        "GET",
        &format!("/v1/cloudimages/{WEB}/file"),
        "",
        None,
        NORTH,
    )
    .await;
    assert_gateway_error(&wrong_method, 404, "APIGW.0101", "GET on the export path");
    let anonymous = send(&emulator, &request(&emulator, "DELETE", "/v2/cloudimages")).await;
    assert_gateway_error(&anonymous, 404, "APIGW.0101", "unsigned unknown API");
}

#[tokio::test]
async fn a_burst_over_the_rate_is_throttled_with_apigw_0308() {
    let mut catalog = Catalog::default_catalog();
    catalog.limits.rates.insert("huawei:ListImages".into(), 3);
    let emulator = emulator_with(EmulatorConfig {
        catalog,
        ..EmulatorConfig::default()
    })
    .await;
    // Bursts of six at once, until one is throttled: the window slides, so sequential calls
    // on a loaded machine may each find it empty again (the invariant is checked below).
    let mut throttled = None;
    for _ in 0..20 {
        let burst = tokio::join!(
            list(&emulator, "limit=1", NORTH),
            list(&emulator, "limit=1", NORTH),
            list(&emulator, "limit=1", NORTH),
            list(&emulator, "limit=1", NORTH),
            list(&emulator, "limit=1", NORTH),
            list(&emulator, "limit=1", NORTH),
        );
        let replies = [burst.0, burst.1, burst.2, burst.3, burst.4, burst.5];
        let accepted = replies.iter().filter(|r| r.status == 200).count();
        assert!(accepted >= 1, "the first of a burst gets through");
        throttled = replies.into_iter().find(|r| r.status == 429);
        if throttled.is_some() {
            break;
        }
    }
    let reply = throttled.expect("a throttled answer");
    assert_gateway_error(&reply, 429, "APIGW.0308", "burst");
    assert!(
        reply.json["error_msg"]
            .as_str()
            .is_some_and(|m| m.contains("limit:3"))
    );
    assert!(reply.header("Retry-After").is_some());
    let stats = emulator.world().stats.snapshot();
    let list_images = &stats.actions["huawei:ListImages"];
    assert!(list_images.throttled >= 1, "{list_images:?}");
    assert!(list_images.max_accepted_per_second <= 3, "{list_images:?}");
}

#[tokio::test]
async fn injected_faults_answer_in_the_clouds_shapes() {
    let emulator = emulator().await;
    emulator.add_fault(Fault {
        cloud: Some(Cloud::Huawei),
        action: Some("ExportImage".into()),
        kind: FaultKind::ServerError,
        times: 1,
        delay_ms: 0,
    });
    emulator.add_fault(Fault {
        cloud: Some(Cloud::Huawei),
        action: Some("CopyImageCrossRegion".into()),
        kind: FaultKind::Throttle,
        times: 1,
        delay_ms: 0,
    });
    let failed = export(&emulator, WEB, &export_body("f.qcow2", "qcow2")).await;
    assert_ims_error(&failed, 500, "IMG.0061", "injected server error");
    assert!(emulator.world().tasks.is_empty(), "nothing was done");
    let throttled = copy(&emulator, WEB, &copy_body("c", "cn-east-3")).await;
    assert_gateway_error(&throttled, 429, "APIGW.0308", "injected throttle");
    // The rules are used up and keyed by action: the next calls go through.
    job_id(&export(&emulator, WEB, &export_body("f.qcow2", "qcow2")).await);
    job_id(&copy(&emulator, WEB, &copy_body("c", "cn-east-3")).await);
}
