//! The JSON examples in README.md parse as the model and pass validation: the documentation
//! cannot drift from the code.

use imgflow_shared::model::{CopyRequest, ExportRequest, TaskStatus};

fn examples(kind: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let marker = format!("<!-- example: {kind} -->");
    readme
        .split(&marker)
        .skip(1)
        .filter_map(|after| {
            let block = after.trim_start().strip_prefix("```json")?;
            block.split("```").next().map(str::to_owned)
        })
        .collect()
}

#[test]
fn every_export_example_parses_and_validates() {
    let blocks = examples("export");
    assert_eq!(blocks.len(), 4, "one example per cloud");
    for block in blocks {
        let request: ExportRequest =
            serde_json::from_str(&block).unwrap_or_else(|e| panic!("{e}: {block}"));
        assert_eq!(request.validate(), Ok(()), "{block}");
    }
}

#[test]
fn every_sync_example_parses_and_validates() {
    let blocks = examples("sync");
    assert_eq!(blocks.len(), 4, "one example per cloud");
    for block in blocks {
        let request: CopyRequest =
            serde_json::from_str(&block).unwrap_or_else(|e| panic!("{e}: {block}"));
        assert_eq!(request.validate(), Ok(()), "{block}");
    }
}

#[test]
fn every_selector_example_parses_and_validates() {
    let blocks = examples("select");
    assert_eq!(blocks.len(), 3);
    for block in blocks {
        let request: ExportRequest =
            serde_json::from_str(&block).unwrap_or_else(|e| panic!("{e}: {block}"));
        assert_eq!(request.validate(), Ok(()), "{block}");
    }
}

#[test]
fn every_status_example_parses() {
    let blocks = examples("status");
    assert!(blocks.len() >= 3);
    for block in blocks {
        serde_json::from_str::<TaskStatus>(&block).unwrap_or_else(|e| panic!("{e}: {block}"));
    }
}

#[test]
fn the_nightly_job_example_parses_and_validates() {
    let blocks = examples("job");
    assert_eq!(blocks.len(), 1);
    let document: serde_json::Value =
        serde_json::from_str(&blocks[0]).unwrap_or_else(|e| panic!("{e}: {}", blocks[0]));
    let job = imgflow_shared::job::Job::parse(&document, None)
        .unwrap_or_else(|e| panic!("{e}: {}", blocks[0]));
    assert_eq!(job.job_id, "nightly-tos");
}
