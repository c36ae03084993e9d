//! Start records (functions/common/src/records.rs): a start item's answer kept in S3 before the
//! function returns, adopted by a retry whose earlier answer was lost. S3 is the path-style
//! fake of support/fake_aws.rs; the clouds are the in-process emulator.

use crate::support::{Harness, after_starts, execution_start, fake_aws, harness_with, start_all};
use imgflow_functions::Function;
use imgflow_functions::records;
use imgflow_shared::idempotence::StartItem;
use imgflow_shared::model::TaskKind;
use serde_json::{Value, json};

const BUCKET: &str = "imgflow-jobs-test";

/// A harness whose functions keep start records in the fake S3.
async fn with_records() -> (Harness, fake_aws::Calls) {
    let (s3_url, s3) = fake_aws::start().await;
    let h = harness_with(|env| {
        env.insert("AWS_ENDPOINT_URL_S3".into(), s3_url);
        env.insert("IMGFLOW_JOBS_BUCKET".into(), BUCKET.into());
    })
    .await;
    (h, s3)
}

fn item(job_id: &str, index: u64, start: &str, request: Value) -> Value {
    json!({"job_id": job_id, "kind": "export", "index": index, "execution_start": start,
        "request": request})
}

/// How many of the emulator's tasks have failed, and how many exist.
fn failed_of(h: &Harness) -> (usize, usize) {
    let world = h.emulator.world();
    let failed = world
        .tasks
        .iter()
        .filter(|task| matches!(world.phase(task), cloud_emulator::world::Phase::Failed(_)))
        .count();
    (failed, world.tasks.len())
}

/// Soak seed 1, job soak-0131: a Huawei export of an image whose export fails halfway. The
/// first attempt is accepted and its Lambda answer lost; the export fails before the retry,
/// so no object can be found, and IMS would take a second export. Tencent exports are in the
/// same position. The retry must adopt the first task from its record: one export in all.
#[tokio::test]
async fn a_retry_after_a_lost_answer_adopts_the_failed_first_task_from_its_record() {
    let (h, s3) = with_records().await;
    let start = execution_start();
    let requests = [
        json!({"cloud": "huawei", "region": "cn-north-4",
            "image_id": "1a5c6615-fa49-5428-a91a-5e09f60c4e36", "bucket": "imgflow-obs-backup",
            "object_key": "records/h0.qcow2", "file_format": "qcow2"}),
        json!({"cloud": "tencent", "region": "ap-guangzhou",
            "bucket": "imgflow-backup-1250000000", "image_ids": ["img-fail0001"],
            "format": "QCOW2", "file_name_prefixes": ["records-t0"]}),
    ];
    for (index, request) in requests.into_iter().enumerate() {
        let item = item("soak-0131", index as u64, &start, request);
        let before = h.tasks_created();
        let first = h
            .call(Function::StartExport, item.clone())
            .await
            .expect("the first attempt starts");
        assert_eq!(first["tasks"].as_array().map_or(0, Vec::len), 1, "{first}");
        // The answer is lost; the export fails before the state machine retries.
        h.advance(7.0 * 86_400.0);
        let (failed, all) = failed_of(&h);
        assert_eq!(failed, all, "every export of the failing images has failed");
        let again = h
            .call(Function::StartExport, item.clone())
            .await
            .expect("the retry answers");
        assert_eq!(
            again, first,
            "the retry answers what the first attempt answered"
        );
        assert_eq!(
            h.tasks_created() - before,
            1,
            "request {index}: exactly one export in the cloud"
        );
    }
    assert_eq!(s3.count("PutObject"), 2, "one record per item");
    assert_eq!(s3.count("GetObject"), 4, "every attempt reads first");
}

/// A record that is not JSON of the record's shape, or names another job, index, execution,
/// kind or request, is never trusted: the start runs as without a record (look first, then
/// send), and what the cloud accepted is answered, never the planted task.
#[tokio::test]
async fn a_corrupt_record_or_one_of_another_item_is_ignored() {
    let (h, s3) = with_records().await;
    let start = execution_start();
    let request = |n: u64| {
        json!({"cloud": "alibaba", "region": "cn-hangzhou", "image_id": "m-bp1web000000000000001",
            "bucket": "imgflow-oss-backup", "prefix": format!("records{n}"), "format": "qcow2"})
    };
    let planted = |job_id: &str, index: u64, since: u64, sha: String| {
        json!({"version": 1, "job_id": job_id, "index": index, "execution_start": since,
            "kind": "export", "request_sha256": sha, "written_at": 0,
            "tasks": [{"cloud": "alibaba", "region": "cn-hangzhou", "kind": "export",
                "image_id": "m-bp1web000000000000001", "task_id": "t-planted"}]})
        .to_string()
        .into_bytes()
    };
    let since = StartItem::new("nightly", 0, &start).expect("item").since;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"{\"version\": 1, \"tasks\": [".to_vec()),
        ("not a record", b"[1, 2, 3]".to_vec()),
        (
            "another job",
            planted("another", 2, since, records::request_sha256(&request(2))),
        ),
        (
            "another index",
            planted("nightly", 0, since, records::request_sha256(&request(3))),
        ),
        (
            "another execution",
            planted(
                "nightly",
                4,
                since + 1,
                records::request_sha256(&request(4)),
            ),
        ),
        (
            "another request",
            planted("nightly", 5, since, records::request_sha256(&request(99))),
        ),
    ];
    for (index, (case, body)) in cases.into_iter().enumerate() {
        let index = index as u64;
        let key = records::key(
            &StartItem::new("nightly", index, &start).expect("item"),
            TaskKind::Export,
        );
        s3.put(BUCKET, &key, &body);
        // The previous case's export has ended: the image is free.
        h.advance(86_400.0);
        let before = h.tasks_created();
        let answer = h
            .call(
                Function::StartExport,
                item("nightly", index, &start, request(index)),
            )
            .await
            .unwrap_or_else(|err| panic!("{case}: {err}"));
        assert!(
            !answer.to_string().contains("t-planted"),
            "{case}: {answer}"
        );
        assert_eq!(h.tasks_created() - before, 1, "{case}: started as usual");
        assert_eq!(
            s3.object(BUCKET, &key).as_deref(),
            Some(body.as_slice()),
            "{case}: an existing record is never replaced"
        );
    }
}

/// A record that cannot be read (S3 does not answer) sends nothing and is retryable.
#[tokio::test]
async fn a_record_that_cannot_be_read_sends_nothing_and_is_retried() {
    let h = harness_with(|env| {
        // The counting listener closes every connection unanswered.
        let aws = env.get("AWS_ENDPOINT_URL").cloned().expect("aws url");
        env.insert("AWS_ENDPOINT_URL_S3".into(), aws);
        env.insert("IMGFLOW_JOBS_BUCKET".into(), BUCKET.into());
    })
    .await;
    let request = json!({"cloud": "alibaba", "region": "cn-hangzhou",
        "image_id": "m-bp1web000000000000001", "bucket": "imgflow-oss-backup", "prefix": "r",
        "format": "qcow2"});
    let err = h
        .call(
            Function::StartExport,
            item("nightly", 0, &execution_start(), request),
        )
        .await
        .expect_err("no record could be read");
    assert_eq!(err.name, "Cloud.Transient", "{err}");
    assert!(err.message.contains("nothing was sent"), "{err}");
    assert_eq!(h.tasks_created(), 0);
}

/// Eight Huawei images tagged `batch=q` in cn-north-4 (IMS runs five exports at once).
fn add_queue_images(h: &Harness) {
    use cloud_emulator::catalog::{ImageFlags, ImageSpec, ImageState};
    let mut world = h.emulator.world();
    let now = world.now();
    for i in 0..8u32 {
        world.images.push(cloud_emulator::world::Image {
            spec: ImageSpec {
                cloud: imgflow_shared::Cloud::Huawei,
                account: "default".into(),
                region: "cn-north-4".into(),
                id: format!("7c2de7a4-5336-79ab-a3f9-7a3ae92{i:05}"),
                name: format!("queue-{i}"),
                size_gb: 1,
                data_disks_gb: Vec::new(),
                os_type: "linux".into(),
                state: ImageState::Available,
                flags: ImageFlags::default(),
                tags: [("batch".to_owned(), "q".to_owned())].into(),
            },
            created: now - 3600.0 - f64::from(i),
            made_by: None,
        });
    }
}

/// A start that waited behind IMS's limit of five exports is started by a check, which
/// records it like a start item. The check's answer is lost and the state machine checks
/// again with the same input: IMS cannot list a running export and would refuse a second one
/// (IMG.0148), so only the record can say the export is this job's. The retried check adopts
/// the three exports from their records: the same tasks, nothing queued, nothing started.
#[tokio::test]
async fn a_retried_check_adopts_the_queued_starts_it_made_from_their_records() {
    let (h, s3) = with_records().await;
    add_queue_images(&h);
    {
        // Five exports at once (the emulator's default), and a cloud clock that moves only
        // when the test says, so that the first five are still running when the rest start.
        let mut world = h.emulator.world();
        world.limits.running_exports_per_account = 5;
        world.clock.set_time_scale(0.0);
    }
    let job = json!({"job_id": "queued-records", "kind": "export", "requests": [
        {"cloud": "huawei", "region": "cn-north-4", "bucket": "imgflow-obs-backup",
         "file_format": "qcow2", "select": {"tags": {"batch": "q"}},
         "object_key": "queued/{image_id}.qcow2"}]});
    let starts = start_all(&h, Function::StartExport, &job).await;
    assert_eq!(
        starts[0]["tasks"].as_array().map_or(0, Vec::len),
        5,
        "{}",
        starts[0]
    );
    assert_eq!(
        starts[0]["queued"].as_array().map_or(0, Vec::len),
        3,
        "{}",
        starts[0]
    );
    assert_eq!(s3.count("PutObject"), 1, "the start item's record");
    let input = after_starts(&job, starts);
    // The first five exports end.
    h.advance(3.0 * 86_400.0);
    let first = h
        .call(Function::CheckStatus, input.clone())
        .await
        .expect("the check answers");
    assert_eq!(h.tasks_created(), 8, "the three queued exports started");
    assert_eq!(first["tasks"].as_array().map_or(0, Vec::len), 8, "{first}");
    assert!(first.get("queued").is_none(), "{first}");
    assert_eq!(s3.count("PutObject"), 4, "one record per queued start");

    let again = h
        .call(Function::CheckStatus, input)
        .await
        .expect("the retried check answers");
    assert_eq!(h.tasks_created(), 8, "the retry started nothing");
    assert!(
        again.get("queued").is_none(),
        "adopted, not queued again: {again}"
    );
    let task_ids = |state: &Value| {
        let mut ids: Vec<String> = state["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["task"]["task_id"].as_str().map(str::to_owned))
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(task_ids(&again), task_ids(&first));
    assert_eq!(task_ids(&first).len(), 8);
    assert_eq!(
        s3.count("PutObject"),
        4,
        "an adopted record is not written again"
    );
}
