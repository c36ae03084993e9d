//! The catalogue: accounts and their keys, images per cloud/account/region, buckets, timings
//! and limits. A JSON document; `default-catalog.json` is built in, `--catalog FILE` replaces it.

use std::collections::BTreeMap;

use imgflow_shared::Cloud;
use serde::{Deserialize, Serialize};

pub const DEFAULT_CATALOG: &str = include_str!("../default-catalog.json");

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
    #[serde(default)]
    pub images: Vec<ImageSpec>,
    #[serde(default)]
    pub buckets: Vec<BucketSpec>,
    #[serde(default)]
    pub timing: Timing,
    #[serde(default)]
    pub limits: Limits,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    pub name: String,
    #[serde(default)]
    pub credentials: Vec<KeySpec>,
    /// Huawei project id per region: the project in a request tells the emulator the region.
    #[serde(default)]
    pub huawei_projects: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    pub ak: String,
    pub sk: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    pub cloud: Cloud,
    #[serde(default = "default_account")]
    pub account: String,
    pub region: String,
    pub id: String,
    pub name: String,
    /// System disk size in GiB.
    pub size_gb: u64,
    /// Data disks included in the image, sizes in GiB.
    #[serde(default)]
    pub data_disks_gb: Vec<u64>,
    #[serde(default = "default_os")]
    pub os_type: String,
    #[serde(default)]
    pub state: ImageState,
    #[serde(default)]
    pub flags: ImageFlags,
    /// The image's tags (key → value), listed and filtered on as each cloud does.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// What can be wrong with an image, each flag triggering the error its cloud documents.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImageFlags {
    pub encrypted: bool,
    pub market: bool,
    pub shared: bool,
    pub public: bool,
    /// Exports of this image fail partway through.
    pub export_fails: bool,
    /// Copies of this image fail partway through.
    pub copy_fails: bool,
    /// The image is in use by another operation: starts are refused as busy.
    pub busy: bool,
}

/// A cloud-neutral image state; each cloud prints its own word for it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageState {
    #[default]
    Available,
    Creating,
    Failed,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BucketSpec {
    pub cloud: Cloud,
    #[serde(default = "default_account")]
    pub account: String,
    pub region: String,
    pub name: String,
    /// Whether the cloud's export role may write into it.
    #[serde(default = "yes")]
    pub writable: bool,
}

/// Task durations in cloud seconds (see `--time-scale`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timing {
    /// Seconds an export takes per GiB of disk, and at least `min_task_seconds`.
    pub export_seconds_per_gb: f64,
    pub copy_seconds_per_gb: f64,
    pub min_task_seconds: f64,
    /// Share of a task's time spent waiting before it starts running.
    pub pending_share: f64,
    /// Share of a failing task's time after which it fails.
    pub fail_share: f64,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            export_seconds_per_gb: 72.0,
            copy_seconds_per_gb: 36.0,
            min_task_seconds: 600.0,
            pending_share: 0.05,
            fail_share: 0.5,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Requests per second per account, keyed `cloud:Action` (`"tencent:ExportImages": 20`).
    /// Actions not listed get `default_rate`.
    pub rates: BTreeMap<String, u32>,
    pub default_rate: u32,
    /// Export tasks that may run at once per account and cloud.
    pub running_exports_per_account: usize,
    /// Alibaba: copies that may run at once per destination region; more wait.
    pub alibaba_copies_per_region: usize,
    /// Huawei: cross-region copies that may run at once per account; more are refused.
    pub huawei_cross_region_copies: usize,
    /// Seconds a signature timestamp may differ from the wall clock, per cloud.
    pub skew_seconds: BTreeMap<String, u64>,
}

impl Default for Limits {
    fn default() -> Self {
        let rates = [
            ("tencent:ExportImages", 20),
            ("tencent:SyncImages", 10),
            ("tencent:DescribeImages", 40),
        ];
        let skew = [
            ("tencent", 300),
            ("alibaba", 900),
            ("volcengine", 900),
            ("huawei", 900),
        ];
        Self {
            rates: rates.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            default_rate: 50,
            running_exports_per_account: 5,
            alibaba_copies_per_region: 5,
            huawei_cross_region_copies: 5,
            skew_seconds: skew.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        }
    }
}

impl Limits {
    pub fn rate(&self, cloud: Cloud, action: &str) -> u32 {
        self.rates
            .get(&format!("{cloud}:{action}"))
            .copied()
            .unwrap_or(self.default_rate)
    }

    pub fn skew(&self, cloud: Cloud) -> u64 {
        self.skew_seconds.get(cloud.name()).copied().unwrap_or(900)
    }
}

fn default_account() -> String {
    "default".to_owned()
}

fn default_os() -> String {
    "linux".to_owned()
}

fn yes() -> bool {
    true
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog: {0}")]
    Json(#[from] serde_json::Error),
    #[error("catalog: {0}")]
    Invalid(String),
}

impl Catalog {
    pub fn default_catalog() -> Self {
        Self::parse(DEFAULT_CATALOG).expect("the built-in catalogue is valid")
    }

    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        let catalog: Catalog = serde_json::from_str(text)?;
        catalog.validate()?;
        Ok(catalog)
    }

    fn validate(&self) -> Result<(), CatalogError> {
        let mut seen = std::collections::BTreeSet::new();
        for image in &self.images {
            if !seen.insert((image.cloud, image.id.clone())) {
                return Err(CatalogError::Invalid(format!(
                    "image id {} repeated",
                    image.id
                )));
            }
            if !self.accounts.iter().any(|a| a.name == image.account) {
                return Err(CatalogError::Invalid(format!(
                    "image {} names unknown account {}",
                    image.id, image.account
                )));
            }
        }
        let mut buckets = std::collections::BTreeSet::new();
        for bucket in &self.buckets {
            // One object-storage endpoint serves every cloud, so bucket names are global.
            if !buckets.insert(bucket.name.clone()) {
                return Err(CatalogError::Invalid(format!(
                    "bucket {} repeated",
                    bucket.name
                )));
            }
        }
        Ok(())
    }
}
