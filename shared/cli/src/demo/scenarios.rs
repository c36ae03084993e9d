//! The seed scenarios and the nightly job's request: what the demo asks of each cloud and
//! what it expects back.

use imgflow_shared::Cloud;
use imgflow_shared::model::{CopyRequest, ExportRequest};
use serde_json::{Value, json};

use super::Expectation;

/// The nightly job's request: every image tagged `backup=nightly`, the newest of each name,
/// exported to TOS, skipping what an earlier run exported.
pub fn nightly_request() -> Value {
    json!({"cloud": "volcengine", "region": "cn-beijing", "bucket": "imgflow-tos-backup",
        "prefix": "nightly", "select": {"tags": {"backup": "nightly"}, "newest_per_name": 1},
        "skip_existing": true})
}

#[derive(Clone, Debug)]
pub(super) enum DemoRequest {
    Export(ExportRequest),
    Sync(CopyRequest),
}

#[derive(Clone, Debug)]
pub(super) struct Scenario {
    pub(super) cloud: Cloud,
    pub(super) operation: &'static str,
    pub(super) title: &'static str,
    pub(super) request: Value,
    pub(super) expected: Expectation,
    /// The scenario (by index) that must end before this one starts, and why.
    pub(super) after: Option<(usize, &'static str)>,
}

/// The seed scenarios, in the order the summary lists them.
pub(super) fn scenarios() -> Vec<Scenario> {
    let huawei_web = "4d0ab5e2-3114-578f-81d7-2d843f36e39b";
    vec![
        Scenario {
            cloud: Cloud::Tencent,
            operation: "ExportImages",
            title: "export web-server-2025 and database-2025 to COS as QCOW2",
            request: json!({"cloud": "tencent", "region": "ap-guangzhou",
                "bucket": "imgflow-backup-1250000000",
                "image_ids": ["img-web00001", "img-db000001"], "format": "QCOW2",
                "file_name_prefixes": ["web", "db"], "role_name": "CVM_QcsRole"}),
            expected: Expectation::Succeed,
            after: None,
        },
        Scenario {
            cloud: Cloud::Tencent,
            operation: "SyncImages",
            title: "copy web-server-2025 to ap-shanghai and ap-beijing",
            request: json!({"cloud": "tencent", "region": "ap-guangzhou",
                "image_id": "img-web00001", "destination_regions": ["ap-shanghai", "ap-beijing"],
                "image_name": "web-2025", "image_set_required": true}),
            expected: Expectation::Succeed,
            after: Some((0, "CVM refuses to sync an image while it is being exported")),
        },
        Scenario {
            cloud: Cloud::Volcengine,
            operation: "ExportImage",
            title: "export web-server-2025 to TOS",
            request: json!({"cloud": "volcengine", "region": "cn-beijing",
                "image_id": "image-ycweb000000000000001", "bucket": "imgflow-tos-backup",
                "prefix": "web2025"}),
            expected: Expectation::Succeed,
            after: None,
        },
        Scenario {
            cloud: Cloud::Volcengine,
            operation: "CopyImage",
            title: "copy web-server-2025 to cn-shanghai",
            request: json!({"cloud": "volcengine", "region": "cn-beijing",
                "image_id": "image-ycweb000000000000001", "destination_regions": ["cn-shanghai"],
                "image_name": "web-2025-copy"}),
            expected: Expectation::Succeed,
            after: Some((2, "Volcengine locks an image while it is being exported")),
        },
        Scenario {
            cloud: Cloud::Alibaba,
            operation: "ExportImage",
            title: "export web-server-2025 to OSS",
            request: json!({"cloud": "alibaba", "region": "cn-hangzhou",
                "image_id": "m-bp1web000000000000001", "bucket": "imgflow-oss-backup",
                "prefix": "web2025", "format": "qcow2",
                "role_name": "AliyunECSImageExportDefaultRole"}),
            expected: Expectation::Succeed,
            after: None,
        },
        Scenario {
            cloud: Cloud::Alibaba,
            operation: "CopyImage",
            title: "copy web-server-2025 to cn-shanghai",
            request: json!({"cloud": "alibaba", "region": "cn-hangzhou",
                "image_id": "m-bp1web000000000000001", "destination_regions": ["cn-shanghai"],
                "image_name": "web-2025-copy", "description": "copied by the imgflow demo"}),
            expected: Expectation::Succeed,
            after: None,
        },
        Scenario {
            cloud: Cloud::Huawei,
            operation: "ExportImage",
            title: "export web-server-2025 to OBS as qcow2",
            request: json!({"cloud": "huawei", "region": "cn-north-4", "image_id": huawei_web,
                "bucket": "imgflow-obs-backup", "object_key": "exports/web-2025.qcow2",
                "file_format": "qcow2"}),
            expected: Expectation::Succeed,
            after: None,
        },
        Scenario {
            cloud: Cloud::Huawei,
            operation: "CopyImageCrossRegion",
            title: "copy web-server-2025 to cn-east-3",
            request: json!({"cloud": "huawei", "region": "cn-north-4", "image_id": huawei_web,
                "destination_regions": ["cn-east-3"], "image_name": "web-2025 copy",
                "agency_name": "ims_admin_agency"}),
            expected: Expectation::Succeed,
            after: None,
        },
        Scenario {
            cloud: Cloud::Huawei,
            operation: "ExportImage",
            title: "export fails-midway: expected to fail halfway with IMS's reason",
            request: json!({"cloud": "huawei", "region": "cn-north-4",
                "image_id": "1a5c6615-fa49-5428-a91a-5e09f60c4e36",
                "bucket": "imgflow-obs-backup", "object_key": "exports/fails-midway.qcow2",
                "file_format": "qcow2"}),
            expected: Expectation::Fail {
                code: "IMG.0014".into(),
            },
            after: None,
        },
    ]
}

/// How many scenarios the demo runs.
pub fn scenario_count() -> usize {
    scenarios().len()
}

pub(super) fn parse_request(scenario: &Scenario) -> Result<DemoRequest, String> {
    let is_copy = scenario.request.get("destination_regions").is_some();
    let parsed = if is_copy {
        serde_json::from_value(scenario.request.clone()).map(DemoRequest::Sync)
    } else {
        serde_json::from_value(scenario.request.clone()).map(DemoRequest::Export)
    };
    parsed.map_err(|err| err.to_string())
}
