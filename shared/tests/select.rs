//! Selectors against the emulator (issue 14): a request that names its images by name, tags
//! and age is resolved when it starts, through every page of the cloud's listing, with the
//! emulator's clock (never the wall clock), and a retried start resolves to the same images.

use std::collections::BTreeMap;

use crate::common::*;
use cloud_emulator::RunningEmulator;
use cloud_emulator::catalog::{ImageFlags, ImageSpec, ImageState};
use cloud_emulator::world::Image;
use imgflow_shared::Cloud;
use imgflow_shared::alibaba::request::ExportImage;
use imgflow_shared::idempotence::StartItem;
use imgflow_shared::model::{CopyRequest, ExportRequest, TaskKind, TaskState};
use imgflow_shared::operations::StartError;
use imgflow_shared::select::Selector;
use imgflow_shared::tencent::request::{ExportImages, SyncImages};

const REGION: &str = "ap-guangzhou";
const SHANGHAI: &str = "ap-shanghai";
const BUCKET: &str = "imgflow-backup-1250000000";
const HOUR: f64 = 3600.0;

/// How each cloud's fleet is made: its region and image ids.
#[derive(Clone, Copy)]
struct Fleet {
    cloud: Cloud,
    region: &'static str,
    id_prefix: &'static str,
}

const TENCENT: Fleet = Fleet {
    cloud: Cloud::Tencent,
    region: REGION,
    id_prefix: "img-sel",
};
const ALIBABA: Fleet = Fleet {
    cloud: Cloud::Alibaba,
    region: "cn-hangzhou",
    id_prefix: "m-bp1sel0000000",
};

const VOLCENGINE: Fleet = Fleet {
    cloud: Cloud::Volcengine,
    region: "cn-beijing",
    id_prefix: "image-ycsel0000000",
};

const HUAWEI: Fleet = Fleet {
    cloud: Cloud::Huawei,
    region: "cn-north-4",
    id_prefix: "4d0ab5e2-3114-578f-81d7-5e1ec70",
};

impl Fleet {
    fn id(self, i: u32) -> String {
        format!("{}{i:05}", self.id_prefix)
    }

    fn ids(self, range: impl Iterator<Item = u32>) -> Vec<String> {
        range.map(|i| self.id(i)).collect()
    }

    fn number(self, id: &str) -> u32 {
        id[self.id_prefix.len()..].parse().expect("a number")
    }

    fn spec(self, id: &str, name: &str, tags: BTreeMap<String, String>) -> ImageSpec {
        ImageSpec {
            cloud: self.cloud,
            account: "default".into(),
            region: self.region.into(),
            id: id.into(),
            name: name.into(),
            size_gb: 1,
            data_disks_gb: Vec::new(),
            os_type: "linux".into(),
            state: ImageState::Available,
            flags: ImageFlags::default(),
            tags,
        }
    }

    /// 150 images `sel-a` / `sel-b` (alternating), image `i` created `i` hours before the
    /// emulator's present; the even ones tagged `backup=nightly`. Returns the present.
    fn add(self, emulator: &RunningEmulator) -> u64 {
        self.add_n(emulator, 150)
    }

    fn add_n(self, emulator: &RunningEmulator, count: u32) -> u64 {
        let mut world = emulator.world();
        let now = world.now();
        for i in 0..count {
            let mut tags = BTreeMap::new();
            if i.is_multiple_of(2) {
                tags.insert("backup".to_owned(), "nightly".to_owned());
            }
            let name = if i.is_multiple_of(2) {
                "sel-a"
            } else {
                "sel-b"
            };
            world.images.push(Image {
                spec: self.spec(&self.id(i), name, tags),
                created: now - f64::from(i) * HOUR,
                made_by: None,
            });
        }
        now as u64
    }
}

fn selector(json: serde_json::Value) -> Selector {
    serde_json::from_value(json).expect("a selector")
}

async fn a_selection_reads_every_page_and_filters_exactly(fleet: Fleet) {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let now = fleet.add(&emulator);
    let client = &client;
    let select = |json| async move {
        client
            .select_images(fleet.cloud, fleet.region, &selector(json), now)
            .await
            .map(|(chosen, calls)| (chosen.into_iter().map(|i| i.id).collect::<Vec<_>>(), calls))
    };

    // 150 match the name: more than max_images (100 by default) is refused, naming the count.
    let err = client
        .select_images(
            fleet.cloud,
            fleet.region,
            &selector(serde_json::json!({"name": "sel-*"})),
            now,
        )
        .await
        .expect_err("150 images match, max_images is 100");
    match err {
        StartError::Invalid(invalid) => {
            assert_eq!(invalid.field, "select.max_images");
            assert!(
                invalid.rule.contains("150 images match"),
                "{}",
                invalid.rule
            );
        }
        other => panic!("expected an invalid request, got {other:?}"),
    }

    // Tags: the even ones; newest per name; the last day by the emulator's clock.
    let (chosen, calls) =
        select(serde_json::json!({"name": "sel-?", "tags": {"backup": "nightly"}}))
            .await
            .expect("75 match");
    assert_eq!(chosen.len(), 75);
    assert_eq!(calls, 1);
    assert!(
        chosen
            .iter()
            .all(|id| { fleet.number(id).is_multiple_of(2) })
    );

    let (chosen, calls) = select(serde_json::json!({"name": "sel-*", "newest_per_name": 2}))
        .await
        .expect("two per name");
    assert_eq!(calls, 2, "150 images are two pages of 100");
    // Sorted by name, then creation time (older first), then id.
    assert_eq!(chosen, fleet.ids([2, 0, 3, 1].into_iter()));

    let (chosen, _) = select(
        serde_json::json!({"name": "sel-*", "created_within_days": 1,
        "exclude_ids": [fleet.id(3)]}),
    )
    .await
    .expect("the last day");
    let mut expected = fleet.ids((0..=24).filter(|i| *i != 3));
    expected.sort();
    let mut got = chosen.clone();
    got.sort();
    assert_eq!(got, expected, "created at or after now - 1 day, 3 excluded");

    // A name glob is matched exactly on our side (the clouds' name filters are fuzzy).
    let (chosen, _) = select(serde_json::json!({"name": "*-b", "max_images": 100}))
        .await
        .expect("the b images");
    assert_eq!(chosen.len(), 75);
}

#[tokio::test]
async fn a_tencent_selection_reads_every_page_and_filters_exactly() {
    a_selection_reads_every_page_and_filters_exactly(TENCENT).await;
}

#[tokio::test]
async fn an_alibaba_selection_reads_every_page_and_filters_exactly() {
    a_selection_reads_every_page_and_filters_exactly(ALIBABA).await;
}

#[tokio::test]
async fn a_volcengine_selection_reads_every_page_and_filters_exactly() {
    a_selection_reads_every_page_and_filters_exactly(VOLCENGINE).await;
}

#[tokio::test]
async fn a_huawei_selection_reads_every_page_and_filters_exactly() {
    a_selection_reads_every_page_and_filters_exactly(HUAWEI).await;
}

#[tokio::test]
async fn a_tencent_export_by_selector_starts_and_a_retry_selects_the_same() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    TENCENT.add(&emulator);
    let item = StartItem {
        job_id: "nightly".into(),
        index: 0,
        since: cloud_now(&emulator),
    };
    // The 4 newest nightly images (CVM runs at most 5 exports at once, as the emulator has it).
    let request = ExportRequest::Tencent(ExportImages {
        region: REGION.into(),
        bucket: BUCKET.into(),
        image_ids: Vec::new(),
        select: Some(selector(serde_json::json!({
            "name": "sel-a", "tags": {"backup": "nightly"}, "newest_per_name": 4
        }))),
        skip_existing: false,
        format: Default::default(),
        file_name_prefixes: vec!["nightly".into()],
        only_export_root_disk: false,
        dry_run: false,
        role_name: None,
    });
    let first = client
        .start_export_item(&request, &item)
        .await
        .expect("the exports start");
    let mut started: Vec<String> = first.tasks.iter().map(|t| t.image_id.clone()).collect();
    started.sort();
    let mut expected = TENCENT.ids((0..8).step_by(2));
    expected.sort();
    assert_eq!(started, expected);
    assert!(
        first.tasks.iter().all(|t| t.kind == TaskKind::Export
            && t.objects.iter().all(|o| o.key.starts_with("nightly_")))
    );

    // A newer nightly build appears; the exports finish; the item is retried.
    {
        let mut world = emulator.world();
        let now = world.now();
        let mut tags = BTreeMap::new();
        tags.insert("backup".to_owned(), "nightly".to_owned());
        world.images.push(Image {
            spec: TENCENT.spec("img-nwb00001", "sel-a", tags),
            created: now + 1.0,
            made_by: None,
        });
    }
    advance(&emulator, 30.0 * 86_400.0);
    let exports_before = emulator
        .world()
        .tasks
        .iter()
        .filter(|t| matches!(t.kind, cloud_emulator::world::TaskKind::Export { .. }))
        .count();
    let again = client
        .start_export_item(&request, &item)
        .await
        .expect("the retry adopts");
    let mut adopted: Vec<String> = again.tasks.iter().map(|t| t.image_id.clone()).collect();
    adopted.sort();
    assert_eq!(
        adopted, expected,
        "the image made after the window is not selected"
    );
    let exports_after = emulator
        .world()
        .tasks
        .iter()
        .filter(|t| matches!(t.kind, cloud_emulator::world::TaskKind::Export { .. }))
        .count();
    assert_eq!(exports_after, exports_before, "nothing was exported twice");
    for status in client.status(&again.tasks).await {
        assert_eq!(status.expect("a status").state, TaskState::Succeeded);
    }
}

#[tokio::test]
async fn a_tencent_copy_by_selector_copies_each_selected_image() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    TENCENT.add(&emulator);
    let request = CopyRequest::Tencent(SyncImages {
        region: REGION.into(),
        image_id: String::new(),
        select: Some(selector(serde_json::json!({
            "name": "sel-*", "newest_per_name": 1
        }))),
        skip_existing: false,
        destination_regions: vec![SHANGHAI.into()],
        image_name: None,
        image_set_required: true,
        dry_run: false,
    });
    let outcome = client.start_copy(&request).await.expect("the copies start");
    let mut copied: Vec<String> = outcome.tasks.iter().map(|t| t.image_id.clone()).collect();
    copied.sort();
    assert_eq!(copied, TENCENT.ids(0..2));
    assert!(outcome.failures.is_empty());
    advance(&emulator, 30.0 * 86_400.0);
    for _ in 0..2 {
        let statuses = client.status(&outcome.tasks).await;
        assert!(statuses.iter().all(|s| s.is_ok()));
    }
}

#[tokio::test]
async fn a_selector_needs_names_that_tell_its_images_apart() {
    // Huawei writes one object per export: with `select`, the key must carry {image_id}.
    let request: ExportRequest = serde_json::from_value(serde_json::json!({
        "cloud": "huawei", "region": "cn-north-4", "bucket": "imgflow-obs-backup",
        "object_key": "web.qcow2", "file_format": "qcow2", "select": {"name": "web-*"}
    }))
    .expect("parses");
    let err = request.validate().expect_err("one key for every image");
    assert_eq!(err.field, "object_key");
    assert!(err.rule.contains("{image_id}"), "{}", err.rule);
    let both: Result<ExportRequest, _> = serde_json::from_value(serde_json::json!({
        "cloud": "tencent", "region": "ap-guangzhou", "bucket": BUCKET,
        "image_ids": ["img-web00001"], "select": {"name": "web-*"}
    }));
    assert_eq!(
        both.expect("parses").validate().map_err(|e| e.field),
        Err("select".to_owned())
    );
    let neither: Result<ExportRequest, _> = serde_json::from_value(serde_json::json!({
        "cloud": "tencent", "region": "ap-guangzhou", "bucket": BUCKET
    }));
    assert_eq!(
        neither.expect("parses").validate().map_err(|e| e.field),
        Err("image_ids".to_owned())
    );
}

/// 2090-12-02T02:15:09Z: the execution's start in the tests that render names (a fixed
/// time, never today's date).
const FIXED_START: u64 = 3_815_864_109;

/// Moves the frozen emulator's clock to [`FIXED_START`] and returns it.
fn at_fixed_start(emulator: &RunningEmulator) -> u64 {
    let now = emulator.world().now();
    advance(emulator, FIXED_START as f64 - now);
    assert_eq!(cloud_now(emulator), FIXED_START);
    FIXED_START
}

fn export_count(emulator: &RunningEmulator) -> usize {
    emulator
        .world()
        .tasks
        .iter()
        .filter(|t| matches!(t.kind, cloud_emulator::world::TaskKind::Export { .. }))
        .count()
}

#[tokio::test]
async fn a_huawei_export_and_copy_by_selector_render_each_images_names_and_a_retry_adopts() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let start = at_fixed_start(&emulator);
    HUAWEI.add(&emulator);
    let item = StartItem {
        job_id: "nightly".into(),
        index: 0,
        since: start,
    };
    let request: ExportRequest = serde_json::from_value(serde_json::json!({
        "cloud": "huawei", "region": HUAWEI.region, "bucket": "imgflow-obs-backup",
        "object_key": "backups/{job_id}/{date}T{time}/{image_name}-{image_id}.qcow2",
        "file_format": "qcow2", "select": {"name": "sel-a", "newest_per_name": 2}
    }))
    .expect("parses");
    request.validate().expect("valid");
    let first = client
        .start_export_item(&request, &item)
        .await
        .expect("the exports start");
    let mut keys: Vec<String> = first
        .tasks
        .iter()
        .flat_map(|t| t.objects.iter().map(|o| o.key.clone()))
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [0, 2]
            .iter()
            .map(|i| format!(
                "backups/nightly/20901202T021509/sel-a-{}.qcow2",
                HUAWEI.id(*i)
            ))
            .collect::<Vec<_>>()
    );
    advance(&emulator, 86_400.0);
    let exports = export_count(&emulator);
    let again = client
        .start_export_item(&request, &item)
        .await
        .expect("the retry adopts");
    assert_eq!(export_count(&emulator), exports, "nothing exported twice");
    let mut adopted: Vec<String> = again
        .tasks
        .iter()
        .flat_map(|t| t.objects.iter().map(|o| o.key.clone()))
        .collect();
    adopted.sort();
    assert_eq!(adopted, keys);
    for status in client.status(&again.tasks).await {
        assert_eq!(status.expect("a status").state, TaskState::Succeeded);
    }

    // Copies: the newest `sel-b`, named per image and run.
    let copy: CopyRequest = serde_json::from_value(serde_json::json!({
        "cloud": "huawei", "region": HUAWEI.region, "select": {"name": "sel-b", "newest_per_name": 1},
        "destination_regions": ["cn-east-3"], "image_name": "{image_name}-copy-{date}",
        "agency_name": "ims_admin_agency"
    }))
    .expect("parses");
    let item = StartItem { index: 1, ..item };
    let copied = client
        .start_copy_item(&copy, &item)
        .await
        .expect("the copy starts");
    assert_eq!(copied.tasks.len(), 1);
    assert_eq!(copied.tasks[0].image_id, HUAWEI.id(1));
    let again = client
        .start_copy_item(&copy, &item)
        .await
        .expect("the retry adopts");
    assert_eq!(again.tasks.len(), 1);
    // One copy in the destination, adopted by the retry rather than made twice.
    let world = emulator.world();
    let names: Vec<&str> = world
        .images
        .iter()
        .filter(|i| i.spec.region == "cn-east-3" && i.spec.cloud == Cloud::Huawei)
        .map(|i| i.spec.name.as_str())
        .filter(|n| n.starts_with("sel-b"))
        .collect();
    assert_eq!(names, ["sel-b-copy-20901202"]);
}

#[tokio::test]
async fn a_volcengine_copy_by_selector_names_each_copy_after_its_image_and_a_retry_adopts() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let start = at_fixed_start(&emulator);
    VOLCENGINE.add(&emulator);
    let item = StartItem {
        job_id: "nightly".into(),
        index: 0,
        since: start,
    };
    let copy: CopyRequest = serde_json::from_value(serde_json::json!({
        "cloud": "volcengine", "region": VOLCENGINE.region,
        "select": {"name": "sel-b", "newest_per_name": 2},
        "destination_regions": ["cn-shanghai"], "image_name": "bk{date}-{image_id}"
    }))
    .expect("parses");
    let first = client
        .start_copy_item(&copy, &item)
        .await
        .expect("the copies start");
    let mut sources: Vec<String> = first.tasks.iter().map(|t| t.image_id.clone()).collect();
    sources.sort();
    assert_eq!(sources, VOLCENGINE.ids([1, 3].into_iter()));
    let again = client
        .start_copy_item(&copy, &item)
        .await
        .expect("the retry adopts");
    let ids = |o: &imgflow_shared::model::StartOutcome| {
        let mut ids: Vec<Option<String>> = o
            .tasks
            .iter()
            .map(|t| t.destination_image_id.clone())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(
        ids(&again),
        ids(&first),
        "each copy adopted by its own name"
    );
    let names: Vec<String> = {
        let world = emulator.world();
        let mut names: Vec<String> = world
            .images
            .iter()
            .filter(|i| i.spec.region == "cn-shanghai" && i.spec.name.starts_with("bk"))
            .map(|i| i.spec.name.clone())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        names,
        [1, 3]
            .iter()
            .map(|i| format!("bk20901202-{}", VOLCENGINE.id(*i)))
            .collect::<Vec<_>>()
    );
    // One name for every selected image could not tell their copies apart.
    let same: Result<CopyRequest, _> = serde_json::from_value(serde_json::json!({
        "cloud": "volcengine", "region": VOLCENGINE.region, "select": {"name": "sel-b"},
        "destination_regions": ["cn-shanghai"], "image_name": "copy"
    }));
    assert_eq!(
        same.expect("parses").validate().map_err(|e| e.field),
        Err("image_name".to_owned())
    );
}

#[tokio::test]
async fn a_render_that_breaks_a_rule_is_refused_naming_the_field_before_anything_starts() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let start = at_fixed_start(&emulator);
    ALIBABA.add(&emulator);
    // `{date}` fits a prefix of letters and digits; the job id's `-` does not.
    let request: ExportRequest = serde_json::from_value(serde_json::json!({
        "cloud": "alibaba", "region": ALIBABA.region, "bucket": "imgflow-oss-backup",
        "prefix": "n{date}{job_id}", "select": {"name": "sel-a", "newest_per_name": 3}
    }))
    .expect("parses");
    request.validate().expect("the probe render fits");
    let item = StartItem {
        job_id: "nightly-eu".into(),
        index: 0,
        since: start,
    };
    match client.start_export_item(&request, &item).await {
        Err(StartError::Invalid(invalid)) => {
            assert_eq!(invalid.field, "prefix");
            assert!(
                invalid.rule.contains("letters or digits"),
                "{}",
                invalid.rule
            );
        }
        other => panic!("expected an invalid prefix, got {other:?}"),
    }
    assert_eq!(export_count(&emulator), 0, "nothing started");
    // The same job under an id of letters renders `n20901202nightly` for every image.
    let item = StartItem {
        job_id: "nightly".into(),
        ..item
    };
    let plan = client
        .plan_export(&request, item.since, Some(&item.job_id))
        .await
        .expect("a plan");
    assert_eq!(plan.requests.len(), 3);
    for one in &plan.requests {
        let ExportRequest::Alibaba(one) = one else {
            panic!("an Alibaba export")
        };
        assert_eq!(one.prefix.as_deref(), Some("n20901202nightly"));
    }
    assert_eq!(export_count(&emulator), 0, "a plan starts nothing");
}

#[tokio::test]
async fn an_alibaba_export_by_selector_gives_each_image_its_own_token_and_a_retry_starts_nothing_new()
 {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    ALIBABA.add(&emulator);
    let item = StartItem {
        job_id: "nightly".into(),
        index: 1,
        since: cloud_now(&emulator),
    };
    let request = ExportRequest::Alibaba(ExportImage {
        region: ALIBABA.region.into(),
        image_id: String::new(),
        select: Some(selector(serde_json::json!({
            "name": "sel-*", "tags": {"backup": "nightly"}, "newest_per_name": 3
        }))),
        skip_existing: false,
        bucket: "imgflow-oss-backup".into(),
        prefix: Some("nightly".into()),
        format: Default::default(),
        role_name: None,
        client_token: None,
    });
    let first = client
        .start_export_item(&request, &item)
        .await
        .expect("the exports start");
    let mut started: Vec<String> = first.tasks.iter().map(|t| t.image_id.clone()).collect();
    started.sort();
    let mut expected = ALIBABA.ids([0, 2, 4].into_iter());
    expected.sort();
    assert_eq!(started, expected);
    let task_ids: Vec<_> = first.tasks.iter().map(|t| t.task_id.clone()).collect();
    assert_eq!(
        task_ids
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        3,
        "one task per image"
    );
    let exports = |emulator: &RunningEmulator| {
        emulator
            .world()
            .tasks
            .iter()
            .filter(|t| matches!(t.kind, cloud_emulator::world::TaskKind::Export { .. }))
            .count()
    };
    let before = exports(&emulator);
    let again = client
        .start_export_item(&request, &item)
        .await
        .expect("the retry adopts");
    assert_eq!(exports(&emulator), before, "nothing was exported twice");
    assert_eq!(
        again
            .tasks
            .iter()
            .map(|t| t.task_id.clone())
            .collect::<Vec<_>>(),
        task_ids
    );
    advance(&emulator, 30.0 * 86_400.0);
    for status in client.status(&again.tasks).await {
        assert_eq!(status.expect("a status").state, TaskState::Succeeded);
    }
}

#[test]
fn a_job_counts_a_selector_at_its_max_images_so_the_task_limit_holds_after_resolution() {
    use imgflow_shared::job::Job;
    let job = |max_images: u32| {
        serde_json::json!({
            "job_id": "nightly-copies", "kind": "sync",
            "requests": [{
                "cloud": "tencent", "region": "ap-guangzhou",
                "destination_regions": ["ap-shanghai", "ap-beijing"],
                "select": {"tags": {"backup": "nightly"}, "max_images": max_images}
            }]
        })
    };
    // Two regions × 50 images is one request's 100 tasks (one execution's); × 51 is more.
    assert!(Job::parse(&job(50), Some(TaskKind::Copy)).is_ok());
    let err = Job::parse(&job(51), Some(TaskKind::Copy)).expect_err("102 tasks");
    assert_eq!(err.field, "requests[0]");
    assert!(err.rule.contains("102 tasks"), "{}", err.rule);
    // The default max_images (100) with two regions is refused the same way.
    let mut default = job(1);
    default["requests"][0]["select"]
        .as_object_mut()
        .expect("an object")
        .remove("max_images");
    assert!(Job::parse(&default, Some(TaskKind::Copy)).is_err());
}

#[tokio::test]
async fn a_volcengine_export_job_by_selector_starts_one_export_per_image_and_a_retry_adopts_them() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    VOLCENGINE.add(&emulator);
    let item = StartItem {
        job_id: "nightly".into(),
        index: 2,
        since: cloud_now(&emulator),
    };
    let request: ExportRequest = serde_json::from_value(serde_json::json!({
        "cloud": "volcengine", "region": VOLCENGINE.region, "bucket": "imgflow-tos-backup",
        "prefix": "nightly", "select": {"name": "sel-b", "newest_per_name": 2}
    }))
    .expect("parses");
    let first = client
        .start_export_item(&request, &item)
        .await
        .expect("the exports start");
    let mut started: Vec<String> = first.tasks.iter().map(|t| t.image_id.clone()).collect();
    started.sort();
    assert_eq!(started, VOLCENGINE.ids([1, 3].into_iter()));
    let again = client
        .start_export_item(&request, &item)
        .await
        .expect("the retry adopts");
    assert_eq!(
        again.tasks.iter().map(|t| &t.task_id).collect::<Vec<_>>(),
        first.tasks.iter().map(|t| &t.task_id).collect::<Vec<_>>()
    );
    advance(&emulator, 30.0 * 86_400.0);
    for status in client.status(&again.tasks).await {
        assert_eq!(status.expect("a status").state, TaskState::Succeeded);
    }
}

/// The cost of a selection: 300 matching images are three list calls (pages of 100) where the
/// cloud narrows by the glob's literal start (Tencent, Alibaba); Volcengine filters names only
/// whole, so a glob lists every ready custom image of the region (here the catalogue's too:
/// four calls).
#[tokio::test]
async fn a_300_image_selection_costs_three_list_calls_per_cloud() {
    for (fleet, expected_calls) in [(TENCENT, 3), (ALIBABA, 3), (VOLCENGINE, 4), (HUAWEI, 4)] {
        let emulator = frozen_emulator().await;
        let client = client(&emulator);
        let now = fleet.add_n(&emulator, 300);
        let (chosen, calls) = client
            .select_images(
                fleet.cloud,
                fleet.region,
                &selector(serde_json::json!({"name": "sel-*", "newest_per_name": 1})),
                now,
            )
            .await
            .expect("one per name");
        assert_eq!(
            (chosen.len(), calls),
            (2, expected_calls),
            "{}",
            fleet.cloud
        );
    }
}

/// `skip_existing` on copies (issue 14, item 4): a rerun finds the copy an earlier run made in
/// one destination (a ready image of the copy's name, which carries the source's id, created
/// after the source) and reports it skipped with that image's id, and copies into the
/// destination that has none.
#[tokio::test]
async fn a_copy_is_skipped_in_the_region_that_holds_one_and_made_in_the_other() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    HUAWEI.add(&emulator);
    let copy = |destinations: &[&str]| -> CopyRequest {
        serde_json::from_value(serde_json::json!({
            "cloud": "huawei", "region": HUAWEI.region,
            "select": {"name": "sel-b", "newest_per_name": 1},
            "destination_regions": destinations, "image_name": "bk-{image_id}",
            "agency_name": "ims_admin_agency", "skip_existing": true
        }))
        .expect("parses")
    };
    let first_item = StartItem {
        job_id: "nightly".into(),
        index: 0,
        since: cloud_now(&emulator),
    };
    let first = client
        .start_copy_item(&copy(&["cn-east-3"]), &first_item)
        .await
        .expect("the copy starts");
    assert_eq!(first.tasks.len(), 1);
    assert!(!first.tasks[0].skipped);
    advance(&emulator, 86_400.0);
    let mut made = None;
    let mut tasks = first.tasks.clone();
    for _ in 0..6 {
        let status = client.status(&tasks).await.remove(0).expect("a status");
        tasks = vec![status.task.clone()];
        if let Some(imgflow_shared::model::TaskResult::Copy { images }) = status.result {
            made = Some(images[0].image_id.clone());
            break;
        }
        advance(&emulator, 3600.0);
    }
    let made = made.expect("the first copy succeeded");

    let second_item = StartItem {
        since: cloud_now(&emulator),
        ..first_item
    };
    let second = client
        .start_copy_item(&copy(&["cn-east-3", "ap-southeast-1"]), &second_item)
        .await
        .expect("the rerun starts");
    let skipped: Vec<_> = second.tasks.iter().filter(|t| t.skipped).collect();
    let started: Vec<_> = second.tasks.iter().filter(|t| !t.skipped).collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].destination_region.as_deref(), Some("cn-east-3"));
    assert_eq!(
        skipped[0].destination_image_id.as_deref(),
        Some(made.as_str())
    );
    assert_eq!(started.len(), 1);
    assert_eq!(
        started[0].destination_region.as_deref(),
        Some("ap-southeast-1")
    );
    // The skipped copy is a success at once, naming the image found.
    let status = client
        .status(std::slice::from_ref(skipped[0]))
        .await
        .remove(0)
        .expect("a status");
    assert_eq!(status.state, TaskState::Succeeded);
    assert_eq!(status.cloud_state, "skipped");

    // A name without {image_id} cannot tell the copies apart: refused with skip_existing.
    let unnamed: CopyRequest = serde_json::from_value(serde_json::json!({
        "cloud": "huawei", "region": HUAWEI.region, "image_id": HUAWEI.id(1),
        "destination_regions": ["cn-east-3"], "image_name": "backup {date}",
        "agency_name": "ims_admin_agency", "skip_existing": true
    }))
    .expect("parses");
    assert_eq!(
        unnamed.validate().map_err(|e| e.field),
        Err("image_name".to_owned())
    );
}

/// Placeholders render per image with image ids too (here Tencent's one prefix per image),
/// from the execution's start; `{image_name}` needs `select`, and is refused by name without.
#[tokio::test]
async fn tencent_prefixes_render_per_image_from_the_executions_start() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let request: ExportRequest = serde_json::from_value(serde_json::json!({
        "cloud": "tencent", "region": REGION, "bucket": BUCKET,
        "image_ids": ["img-web00001", "img-db000001"],
        "file_name_prefixes": ["web/{date}-{time}", "{job_id}/{image_id}"]
    }))
    .expect("parses");
    request.validate().expect("valid");
    let plan = client
        .plan_export(&request, FIXED_START, Some("nightly"))
        .await
        .expect("a plan");
    assert_eq!(plan.list_calls, 0);
    assert_eq!(plan.matched, None);
    let [ExportRequest::Tencent(batch)] = plan.requests.as_slice() else {
        panic!("one ExportImages: {plan:?}")
    };
    assert_eq!(
        batch.file_name_prefixes,
        ["web/20901202-021509", "nightly/img-db000001"]
    );
    let by_name: ExportRequest = serde_json::from_value(serde_json::json!({
        "cloud": "tencent", "region": REGION, "bucket": BUCKET,
        "image_ids": ["img-web00001"], "file_name_prefixes": ["{image_name}"]
    }))
    .expect("parses");
    assert_eq!(
        by_name.validate().map_err(|e| e.field),
        Err("file_name_prefixes[0]".to_owned())
    );
}
