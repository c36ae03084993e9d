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
use imgflow_shared::idempotence::StartItem;
use imgflow_shared::model::{ExportRequest, SyncRequest, TaskKind, TaskState};
use imgflow_shared::operations::StartError;
use imgflow_shared::select::Selector;
use imgflow_shared::tencent::request::{ExportImages, SyncImages};

const REGION: &str = "ap-guangzhou";
const SHANGHAI: &str = "ap-shanghai";
const BUCKET: &str = "imgflow-backup-1250000000";
const HOUR: f64 = 3600.0;

/// 150 Tencent images `sel-a` / `sel-b` (alternating), image `i` created `i` hours before the
/// emulator's present; the even ones tagged `backup=nightly`.
fn add_fleet(emulator: &RunningEmulator) -> u64 {
    let mut world = emulator.world();
    let now = world.now();
    for i in 0..150u32 {
        let mut tags = BTreeMap::new();
        if i.is_multiple_of(2) {
            tags.insert("backup".to_owned(), "nightly".to_owned());
        }
        world.images.push(Image {
            spec: image_spec(
                &format!("img-sel{i:05}"),
                if i.is_multiple_of(2) { "sel-a" } else { "sel-b" },
                tags,
            ),
            created: now - f64::from(i) * HOUR,
            made_by: None,
        });
    }
    now as u64
}

fn image_spec(id: &str, name: &str, tags: BTreeMap<String, String>) -> ImageSpec {
    ImageSpec {
        cloud: Cloud::Tencent,
        account: "default".into(),
        region: REGION.into(),
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

fn selector(json: serde_json::Value) -> Selector {
    serde_json::from_value(json).expect("a selector")
}

fn ids(range: impl Iterator<Item = u32>) -> Vec<String> {
    range.map(|i| format!("img-sel{i:05}")).collect()
}

#[tokio::test]
async fn a_tencent_selection_reads_every_page_and_filters_exactly() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    let now = add_fleet(&emulator);
    let client = &client;
    let select = |json| async move {
        client
            .select_images(Cloud::Tencent, REGION, &selector(json), now)
            .await
            .map(|(chosen, calls)| (chosen.into_iter().map(|i| i.id).collect::<Vec<_>>(), calls))
    };

    // 150 match the name: more than max_images (100 by default) is refused, naming the count.
    let err = client
        .select_images(
            Cloud::Tencent,
            REGION,
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
    assert!(chosen.iter().all(|id| {
        let n: u32 = id["img-sel".len()..].parse().expect("a number");
        n.is_multiple_of(2)
    }));

    let (chosen, calls) = select(serde_json::json!({"name": "sel-*", "newest_per_name": 2}))
        .await
        .expect("two per name");
    assert_eq!(calls, 2, "150 images are two pages of 100");
    // Sorted by name, then creation time (older first), then id.
    assert_eq!(chosen, ids([2, 0, 3, 1].into_iter()));

    let (chosen, _) = select(
        serde_json::json!({"name": "sel-*", "created_within_days": 1,
        "exclude_ids": ["img-sel00003"]}),
    )
    .await
    .expect("the last day");
    let mut expected = ids((0..=24).filter(|i| *i != 3));
    expected.sort();
    let mut got = chosen.clone();
    got.sort();
    assert_eq!(got, expected, "created at or after now - 1 day, 3 excluded");

    // A name glob is matched exactly on our side (CVM's image-name filter is fuzzy).
    let (chosen, _) = select(serde_json::json!({"name": "*-b", "max_images": 100}))
        .await
        .expect("the b images");
    assert_eq!(chosen.len(), 75);
}

#[tokio::test]
async fn a_tencent_export_by_selector_starts_and_a_retry_selects_the_same() {
    let emulator = frozen_emulator().await;
    let client = client(&emulator);
    add_fleet(&emulator);
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
    let mut expected = ids((0..8).step_by(2));
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
            spec: image_spec("img-new00001", "sel-a", tags),
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
    add_fleet(&emulator);
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
    assert_eq!(copied, ids(0..2));
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
        "cloud": "alibaba", "region": "cn-hangzhou", "bucket": "imgflow-oss-backup",
        "select": {"name": "web-*"}
    }))
    .expect("parses");
    let err = request.validate().expect_err("no Alibaba listing yet");
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
