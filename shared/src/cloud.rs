//! The clouds imgflow speaks to.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::signing::{HttpRequest, Signature, SigningError, SigningParams};

/// One of the four clouds; serialised as its lowercase name (`"tencent"`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    Tencent,
    Alibaba,
    Volcengine,
    Huawei,
}

impl Cloud {
    pub const ALL: [Cloud; 4] = [
        Cloud::Tencent,
        Cloud::Alibaba,
        Cloud::Volcengine,
        Cloud::Huawei,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Cloud::Tencent => "tencent",
            Cloud::Alibaba => "alibaba",
            Cloud::Volcengine => "volcengine",
            Cloud::Huawei => "huawei",
        }
    }

    /// Signs `request` over `signed_headers` with this cloud's algorithm.
    pub fn sign(
        self,
        request: &HttpRequest,
        signed_headers: &[&str],
        params: &SigningParams<'_>,
    ) -> Result<Signature, SigningError> {
        crate::provider::of(self).sign(request, signed_headers, params)
    }

    /// Adds this cloud's signing headers to `request` and signs it as the official SDK does.
    pub fn prepare(
        self,
        request: &mut HttpRequest,
        params: &SigningParams<'_>,
    ) -> Result<Signature, SigningError> {
        crate::provider::of(self).prepare(request, params)
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
