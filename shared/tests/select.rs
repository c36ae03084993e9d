//! Selectors against the emulator (issue 14): a request that names its images by name, tags
//! and age is resolved when it starts, through every page of the cloud's listing, with the
//! emulator's clock (never the wall clock), and a retried start resolves to the same images.

mod common;

use std::collections::BTreeMap;

use cloud_emulator::RunningEmulator;
use cloud_emulator::catalog::{ImageFlags, ImageSpec, ImageState};
use cloud_emulator::world::Image;
use common::*;
use imgflow_shared::Cloud;
use imgflow_shared::alibaba::request::ExportImage;
use imgflow_shared::idempotence::StartItem;
use imgflow_shared::model::{ExportRequest, SyncRequest, TaskKind, TaskState};
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
    let request = SyncRequest::Tencent(SyncImages {
        region: REGION.into(),
        image_id: String::new(),
        select: Some(selector(serde_json::json!({
            "name": "sel-*", "newest_per_name": 1
        }))),
        destination_regions: vec![SHANGHAI.into()],
        image_name: None,
        image_set_required: true,
        dry_run: false,
    });
    let outcome = client.start_sync(&request).await.expect("the copies start");
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
async fn a_selector_on_a_cloud_without_a_listing_is_refused_by_name() {
    let request: ExportRequest = serde_json::from_value(serde_json::json!({
        "cloud": "huawei", "region": "cn-north-4", "bucket": "imgflow-obs-backup",
        "object_key": "web.qcow2", "file_format": "qcow2", "select": {"name": "web-*"}
    }))
    .expect("parses");
    let err = request.validate().expect_err("no Huawei listing yet");
    assert_eq!(err.field, "select");
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
    assert!(Job::parse(&job(50), Some(TaskKind::Sync)).is_ok());
    let err = Job::parse(&job(51), Some(TaskKind::Sync)).expect_err("102 tasks");
    assert_eq!(err.field, "requests[0]");
    assert!(err.rule.contains("102 tasks"), "{}", err.rule);
    // The default max_images (100) with two regions is refused the same way.
    let mut default = job(1);
    default["requests"][0]["select"]
        .as_object_mut()
        .expect("an object")
        .remove("max_images");
    assert!(Job::parse(&default, Some(TaskKind::Sync)).is_err());
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
    // Copies by selector are refused on Volcengine (a retry finds a copy by its one name).
    let copy: Result<SyncRequest, _> = serde_json::from_value(serde_json::json!({
        "cloud": "volcengine", "region": VOLCENGINE.region, "select": {"name": "sel-b"},
        "destination_regions": ["cn-shanghai"], "image_name": "copy"
    }));
    assert_eq!(
        copy.expect("parses").validate().map_err(|e| e.field),
        Err("select".to_owned())
    );
}

/// The cost of a selection: 300 matching images are three list calls (pages of 100) where the
/// cloud narrows by the glob's literal start (Tencent, Alibaba); Volcengine filters names only
/// whole, so a glob lists every ready custom image of the region (here the catalogue's too:
/// four calls).
#[tokio::test]
async fn a_300_image_selection_costs_three_list_calls_per_cloud() {
    for (fleet, expected_calls) in [(TENCENT, 3), (ALIBABA, 3), (VOLCENGINE, 4)] {
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
