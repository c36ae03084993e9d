//! The closed list of each cloud's regions. A region reaches a host name (Alibaba's ECS,
//! Huawei's IMS and every object store put it in the host), so a region is used only when it
//! is on this list or declared by configuration ([`crate::endpoints::Endpoints`]); a payload
//! can never name a host.
//!
//! Each cloud's list is in its folder (`<cloud>/regions.rs`, with its source: the official
//! SDKs pinned in `tests/conformance/requirements.txt`, or the cloud's region page where the
//! SDK has no list), read through its provider.

use crate::Cloud;

/// The regions of `cloud` this build knows.
pub fn of(cloud: Cloud) -> &'static [&'static str] {
    crate::providers::of(cloud).regions()
}

/// Whether `region` is one of `cloud`'s regions.
pub fn is_known(cloud: Cloud, region: &str) -> bool {
    of(cloud).contains(&region)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_region_is_a_plain_region_id() {
        for cloud in Cloud::ALL {
            for region in of(cloud) {
                assert_eq!(
                    crate::validate::region("region", region),
                    Ok(()),
                    "{cloud} {region}"
                );
            }
        }
        assert!(is_known(Cloud::Huawei, "cn-north-4"));
        assert!(!is_known(Cloud::Huawei, "cn-hangzhou"));
        assert!(!is_known(Cloud::Tencent, "x@127.0.0.1:8080/"));
    }
}
