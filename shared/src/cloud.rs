//! The clouds imgflow speaks to.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One of the four clouds; serialised as its lowercase name (`"tencent"`, ...). Signing by
/// cloud (`sign`, `prepare`) is implemented beside the registry, in [`crate::providers`].
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
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
