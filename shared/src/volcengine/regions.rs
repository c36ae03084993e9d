//! Volcengine ECS regions: those of the region page (cn-beijing, cn-shanghai, cn-guangzhou,
//! cn-hongkong, ap-southeast-1, ap-southeast-3) and the SDK's bootstrap list
//! (`volcenginesdkcore` 5.0.54 `endpoint/providers/default_provider.py`), all of them in the
//! SDK's `standard_provider.py` region whitelist.

/// Volcengine ECS regions.
pub const REGIONS: &[&str] = &[
    "cn-beijing",
    "cn-shanghai",
    "cn-guangzhou",
    "cn-hongkong",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "cn-beijing-autodriving",
    "cn-shanghai-autodriving",
    "cn-beijing-selfdrive",
];
