//! The closed list of each cloud's regions. A region reaches a host name (Alibaba's ECS,
//! Huawei's IMS and every object store put it in the host), so a region is used only when it
//! is on this list or declared by configuration ([`crate::endpoints::Endpoints`]); a payload
//! can never name a host.
//!
//! Sources (the official SDKs pinned in `tests/conformance/requirements.txt`, and the
//! clouds' region pages where the SDK has no list):
//! - Tencent: `tencentcloud-sdk-python-cvm` 3.1.178, `models.py`, the zone list of
//!   `Placement.Zone` (every public zone, its region being the zone without `-<n>`).
//! - Alibaba: ECS `DescribeRegions` (2025), the public regions whose ECS endpoint follows the
//!   SDK's `regional` rule (`alibabacloud_ecs20140526` 7.11.8 `Client._endpoint_map` lists only
//!   the exceptions; cn-hangzhou's is `ecs-cn-hangzhou.aliyuncs.com`).
//! - Volcengine: the ECS regions of the region page (cn-beijing, cn-shanghai, cn-guangzhou,
//!   cn-hongkong, ap-southeast-1, ap-southeast-3) and the SDK's bootstrap list
//!   (`volcenginesdkcore` 5.0.54 `endpoint/providers/default_provider.py`), all of them in
//!   the SDK's `standard_provider.py` region whitelist.
//! - Huawei: `huaweicloudsdkims` 3.1.219 `v2/region/ims_region.py` (`ImsRegion.static_fields`).

use crate::Cloud;

/// Tencent Cloud CVM regions.
pub const TENCENT: &[&str] = &[
    "ap-bangkok",
    "ap-beijing",
    "ap-chengdu",
    "ap-chongqing",
    "ap-guangzhou",
    "ap-hongkong",
    "ap-jakarta",
    "ap-mumbai",
    "ap-nanjing",
    "ap-seoul",
    "ap-shanghai",
    "ap-shanghai-fsi",
    "ap-shenzhen-fsi",
    "ap-singapore",
    "ap-tokyo",
    "eu-frankfurt",
    "na-ashburn",
    "na-siliconvalley",
    "sa-saopaulo",
];

/// Alibaba Cloud ECS public regions.
pub const ALIBABA: &[&str] = &[
    "cn-qingdao",
    "cn-beijing",
    "cn-zhangjiakou",
    "cn-huhehaote",
    "cn-wulanchabu",
    "cn-hangzhou",
    "cn-shanghai",
    "cn-nanjing",
    "cn-fuzhou",
    "cn-wuhan-lr",
    "cn-shenzhen",
    "cn-heyuan",
    "cn-guangzhou",
    "cn-chengdu",
    "cn-hongkong",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-3",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "us-east-1",
    "us-west-1",
    "eu-west-1",
    "eu-central-1",
    "me-east-1",
    "me-central-1",
    "na-south-1",
];

/// Volcengine ECS regions.
pub const VOLCENGINE: &[&str] = &[
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

/// Huawei Cloud IMS regions.
pub const HUAWEI: &[&str] = &[
    "af-south-1",
    "cn-north-4",
    "cn-north-1",
    "cn-east-2",
    "cn-east-3",
    "cn-south-1",
    "cn-southwest-2",
    "ap-southeast-2",
    "ap-southeast-1",
    "ap-southeast-3",
    "cn-north-2",
    "cn-south-2",
    "cn-north-9",
    "la-south-2",
    "sa-brazil-1",
    "la-north-2",
    "na-mexico-1",
    "ap-southeast-4",
    "cn-south-4",
    "tr-west-1",
    "me-east-1",
    "ae-ad-1",
    "cn-east-4",
    "eu-west-101",
    "cn-east-5",
    "eu-west-0",
    "my-kualalumpur-1",
    "af-north-1",
    "ru-moscow-1",
    "ap-southeast-5",
    "cn-north-12",
    "cn-north-11",
    "cn-southwest-3",
];

/// The regions of `cloud` this build knows.
pub fn of(cloud: Cloud) -> &'static [&'static str] {
    crate::provider::of(cloud).regions()
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
