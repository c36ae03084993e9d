//! The regions the emulated ECS knows, which of them limit image features, and the short codes
//! ECS puts in resource ids (`m-bp1…` is an image in cn-hangzhou).

/// Public ECS regions (DescribeRegions, 2025). A `RegionId` outside this list does not exist.
const REGIONS: &[&str] = &[
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

/// Emulator choice: the local regions (本地地域) support neither image export nor image copy,
/// so `InvalidRegion.NotSupport` and `RegionNotSupportCopy` have a region that triggers them.
const LOCAL_REGIONS: &[&str] = &["cn-nanjing", "cn-fuzhou", "cn-wuhan-lr"];

/// Regions where ExportImage honours `ImageFormat`; elsewhere the export is RAW
/// (ExportImage API page, "The ImageFormat parameter is available only for the following
/// regions": Tokyo, Jakarta, Frankfurt, Dubai, Virginia, London, Singapore, Kuala Lumpur,
/// Silicon Valley).
const FORMAT_REGIONS: &[&str] = &[
    "ap-northeast-1",
    "ap-southeast-5",
    "eu-central-1",
    "me-east-1",
    "us-east-1",
    "eu-west-1",
    "ap-southeast-1",
    "ap-southeast-3",
    "us-west-1",
];

pub fn exists(region: &str) -> bool {
    REGIONS.contains(&region)
}

pub fn is_local(region: &str) -> bool {
    LOCAL_REGIONS.contains(&region)
}

pub fn honours_image_format(region: &str) -> bool {
    FORMAT_REGIONS.contains(&region)
}

/// The ECS endpoint of a region, as error bodies name it in `HostId`.
pub fn endpoint(region: Option<&str>) -> String {
    match region {
        Some("cn-hangzhou") => "ecs-cn-hangzhou.aliyuncs.com".to_owned(),
        Some(region) if exists(region) => format!("ecs.{region}.aliyuncs.com"),
        _ => "ecs.aliyuncs.com".to_owned(),
    }
}

/// The three characters after `m-`, `t-` or `s-` in ids made in `region`.
pub fn id_code(region: &str) -> &'static str {
    match region {
        "cn-hangzhou" => "bp1",
        "cn-shanghai" => "uf6",
        "cn-beijing" => "2ze",
        "cn-qingdao" => "m5e",
        "cn-zhangjiakou" => "8vb",
        "cn-huhehaote" => "hp3",
        "cn-wulanchabu" => "0jl",
        "cn-shenzhen" => "wz9",
        "cn-heyuan" => "f8z",
        "cn-guangzhou" => "7xv",
        "cn-chengdu" => "2vc",
        "cn-hongkong" => "j6c",
        "ap-northeast-1" => "6we",
        "ap-southeast-1" => "t4n",
        "ap-southeast-3" => "8ps",
        "ap-southeast-5" => "k1a",
        "us-east-1" => "0xi",
        "us-west-1" => "rj9",
        "eu-west-1" => "d7o",
        "eu-central-1" => "gw8",
        "me-east-1" => "eb3",
        _ => "0z9",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_regions_are_real_regions() {
        assert!(LOCAL_REGIONS.iter().all(|region| exists(region)));
        assert!(FORMAT_REGIONS.iter().all(|region| exists(region)));
        assert!(!exists("cn-atlantis"));
    }

    #[test]
    fn hangzhou_has_its_own_endpoint_spelling() {
        assert_eq!(
            endpoint(Some("cn-hangzhou")),
            "ecs-cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(
            endpoint(Some("cn-shanghai")),
            "ecs.cn-shanghai.aliyuncs.com"
        );
        assert_eq!(endpoint(Some("nowhere")), "ecs.aliyuncs.com");
        assert_eq!(endpoint(None), "ecs.aliyuncs.com");
    }
}
