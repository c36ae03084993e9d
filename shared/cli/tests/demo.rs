//! The demo's library entry: every seed scenario runs against the in-process emulator and
//! ends as expected, well within a minute.

use std::time::{Duration, Instant};

use imgflow::demo::{self, DemoOptions, Expectation, Outcome};
use imgflow_shared::Cloud;
use imgflow_shared::model::{TaskKind, TaskState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_ends_as_expected_within_a_minute() {
    let began = Instant::now();
    let summary = demo::run(DemoOptions::default())
        .await
        .expect("the demo runs");
    let took = began.elapsed();
    let table = demo::render(&summary);
    assert!(took < Duration::from_secs(60), "took {took:?}\n{table}");
    assert!(summary.all_as_expected, "{table}");
    assert_eq!(summary.scenarios.len(), demo::scenario_count(), "{table}");

    // The nightly backup: the first run exports the three builds, the second only the new
    // build of app-a, reporting the other two skipped.
    let nightly = &summary.nightly;
    assert!(nightly.as_expected, "{nightly:#?}");
    assert_eq!(
        nightly
            .runs
            .iter()
            .map(|r| (r.exported.len(), r.skipped.len()))
            .collect::<Vec<_>>(),
        [(3, 0), (1, 2)],
        "{table}"
    );
    assert!(
        table.contains("run 2: 3 selected, 1 exported, 2 skipped"),
        "{table}"
    );

    for scenario in &summary.scenarios {
        assert!(scenario.as_expected, "{scenario:#?}");
        assert!(scenario.checks > 0, "{scenario:#?}");
        match &scenario.expected {
            Expectation::Succeed => {
                assert_eq!(scenario.outcome, Outcome::Succeeded, "{scenario:#?}");
                assert!(!scenario.tasks.is_empty(), "{scenario:#?}");
                for task in &scenario.tasks {
                    assert_eq!(task.state, Some(TaskState::Succeeded), "{task:#?}");
                    assert!(task.checks > 0, "{task:#?}");
                    match task.task.kind {
                        TaskKind::Export => {
                            assert!(!task.objects.is_empty(), "{task:#?}");
                            assert!(task.objects.iter().all(|o| o.size > 0), "{task:#?}");
                        }
                        TaskKind::Copy => {
                            let destination =
                                task.task.destination_region.clone().expect("a destination");
                            assert!(
                                task.images.iter().any(|image| image.region == destination
                                    && !image.image_id.is_empty()
                                    && image.image_id != task.task.image_id),
                                "{task:#?}"
                            );
                        }
                    }
                }
            }
            Expectation::Fail { code } => {
                let failed_with_code = scenario.tasks.iter().any(|task| {
                    task.state == Some(TaskState::Failed)
                        && task.reason.as_ref().and_then(|r| r.code.as_deref())
                            == Some(code.as_str())
                });
                let refused_with_code = scenario.refused.as_ref().is_some_and(|e| e.code == *code);
                assert!(failed_with_code || refused_with_code, "{scenario:#?}");
            }
        }
    }

    // The seed scenarios: what each cloud must have run.
    let find = |cloud: Cloud, operation: &str| {
        summary
            .scenarios
            .iter()
            .filter(|s| s.cloud == cloud && s.operation == operation)
            .collect::<Vec<_>>()
    };
    let tencent_export = find(Cloud::Tencent, "ExportImages");
    let images: Vec<&str> = tencent_export[0]
        .tasks
        .iter()
        .map(|t| t.task.image_id.as_str())
        .collect();
    assert_eq!(images, ["img-web00001", "img-db000001"]);
    assert!(
        tencent_export[0]
            .tasks
            .iter()
            .flat_map(|t| &t.objects)
            .all(|o| o.key.ends_with(".qcow2")
                && (o.key.starts_with("web_") || o.key.starts_with("db_")))
    );
    let tencent_sync = find(Cloud::Tencent, "SyncImages");
    let mut regions: Vec<&str> = tencent_sync[0]
        .tasks
        .iter()
        .flat_map(|t| &t.images)
        .map(|i| i.region.as_str())
        .collect();
    regions.sort_unstable();
    assert_eq!(regions, ["ap-beijing", "ap-shanghai"]);
    assert_eq!(find(Cloud::Volcengine, "ExportImage").len(), 1);
    assert_eq!(find(Cloud::Volcengine, "CopyImage").len(), 1);
    assert_eq!(find(Cloud::Alibaba, "ExportImage").len(), 1);
    assert_eq!(find(Cloud::Alibaba, "CopyImage").len(), 1);
    assert_eq!(find(Cloud::Huawei, "CopyImageCrossRegion").len(), 1);
    let expected_failures: Vec<_> = summary
        .scenarios
        .iter()
        .filter(|s| matches!(s.expected, Expectation::Fail { .. }))
        .collect();
    assert_eq!(expected_failures.len(), 1, "exactly one expected failure");

    // The table names every task and the JSON document carries every scenario.
    assert!(table.contains("IMG.0014"), "{table}");
    let all_ok = format!("All {} scenarios ended as expected", demo::scenario_count());
    assert!(table.contains(&all_ok), "{table}");
    let json = serde_json::to_value(&summary).expect("serialises");
    assert_eq!(json["all_as_expected"], true);
    assert_eq!(
        json["scenarios"].as_array().map(Vec::len),
        Some(demo::scenario_count())
    );
    assert!(!json.to_string().contains(demo::EMULATOR_SECRET_KEY));
}
