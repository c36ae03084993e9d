//! What a cloud is, in one place per cloud: each cloud folder implements [`Provider`]
//! (`<cloud>/provider.rs`), and [`crate::providers::of`] registers it. The shared code (signing dispatch, answer
//! parsing, hosts, credentials, regions, concurrency limits) asks the provider instead of
//! matching on the cloud, so a fifth cloud brings its folder and one line here
//! (docs/adding-a-cloud.md lists the rest).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Cloud;
use crate::error::{CloudError, ConfigError, ValidationError};
use crate::signing::{HttpRequest, Signature, SignerFns, SigningError, SigningParams};
use crate::transport::RawResponse;

/// The environment variables a cloud's keys are read from (the names its official SDK and
/// CLI use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredentialVariables {
    pub key_id: &'static str,
    pub secret: &'static str,
    pub session_token: &'static str,
}

/// Reads a regional setting from the environment through `lookup`: region → value.
pub type ReadRegionalSetting =
    fn(&dyn Fn(&str) -> Option<String>) -> Result<BTreeMap<String, String>, ConfigError>;

/// A setting a cloud needs per region besides its keys (Huawei's project): what help and
/// errors call it, and how the credential loader reads it.
#[derive(Clone, Copy, Debug)]
pub struct RegionalSetting {
    /// What it is (`project`).
    pub what: &'static str,
    /// The variable that maps regions to it (`region=id,region=id`).
    pub variable: &'static str,
    /// Reads every variable the cloud takes it from.
    pub read: ReadRegionalSetting,
}

/// One cloud: its identity, regions, hosts, keys, signature, answers and limits.
pub trait Provider: Sync {
    fn cloud(&self) -> Cloud;

    /// The cloud's own name for itself, as help text names it (`Huawei Cloud`).
    fn display_name(&self) -> &'static str;

    /// What the cloud needs per region besides its keys, if anything.
    fn regional_setting(&self) -> Option<RegionalSetting> {
        None
    }

    /// The regions this build knows (a closed list; configuration may declare more).
    fn regions(&self) -> &'static [&'static str];

    fn credential_variables(&self) -> CredentialVariables;

    /// The API host of `region` (a known region, checked by the caller).
    fn api_host(&self, region: &str) -> String;

    /// The virtual-hosted object-storage host of `bucket` in `region` (checked by the caller).
    fn object_host(&self, bucket: &str, region: &str) -> String;

    /// The bucket naming rule of the cloud's object storage; S3-style unless it says otherwise.
    fn validate_bucket(&self, field: &str, bucket: &str) -> Result<(), ValidationError> {
        crate::validate::bucket_name(field, bucket)
    }

    /// The cloud's signature algorithm, as its official SDK computes it.
    fn signer(&self) -> SignerFns;

    /// Signs `request` over `signed_headers` with the cloud's algorithm.
    fn sign(
        &self,
        request: &HttpRequest,
        signed_headers: &[&str],
        params: &SigningParams<'_>,
    ) -> Result<Signature, SigningError> {
        (self.signer().sign)(request, signed_headers, params)
    }

    /// Adds the cloud's signing headers to `request` and signs it as its official SDK does.
    fn prepare(
        &self,
        request: &mut HttpRequest,
        params: &SigningParams<'_>,
    ) -> Result<Signature, SigningError> {
        (self.signer().prepare)(request, params)
    }

    /// The success document of an answer (`json` is its body, when it is JSON), or the
    /// cloud's error with its code, message and request id.
    fn parse(&self, response: &RawResponse, json: Option<Value>) -> Result<Value, CloudError>;

    /// The documented requests per second of `action`, where the cloud documents one (the
    /// client paces below it: [`crate::retry::paced_rate`]).
    fn documented_rate(&self, _action: &str) -> Option<f64> {
        None
    }

    /// With a listing imgflow can read for selectors: the most tags a selector may give (what
    /// the listing can send as filters). `None`: no selectors on this cloud.
    fn selector_tags(&self) -> Option<usize>;

    /// Error codes meaning "too many such tasks run at once": a start refused with one is
    /// queued (see [`crate::job::queue`]).
    fn concurrency_limits(&self) -> &'static [&'static str];

    /// An image id by the cloud's rule.
    fn validate_image_id(&self, field: &str, value: &str) -> Result<(), ValidationError>;
}
