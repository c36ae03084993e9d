//! Tencent Cloud CVM regions, from `tencentcloud-sdk-python-cvm` 3.1.178, `models.py`: the zone
//! list of `Placement.Zone` (every public zone, its region being the zone without `-<n>`).

/// Tencent Cloud CVM regions.
pub const REGIONS: &[&str] = &[
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
