//! The CVM regions the emulator knows, and which of them take part in image sync.

/// Regions answered, as `X-TC-Region` names them.
const REGIONS: [&str; 19] = [
    "ap-guangzhou",
    "ap-shanghai",
    "ap-nanjing",
    "ap-beijing",
    "ap-chengdu",
    "ap-chongqing",
    "ap-hongkong",
    "ap-singapore",
    "ap-jakarta",
    "ap-seoul",
    "ap-tokyo",
    "ap-bangkok",
    "ap-mumbai",
    "na-siliconvalley",
    "na-ashburn",
    "eu-frankfurt",
    "sa-saopaulo",
    "ap-shanghai-fsi",
    "ap-shenzhen-fsi",
];

/// The finance zones: isolated from the public regions, so images are not synced into or out
/// of them (emulator choice for the seed's "some regions do not support sync").
const NO_IMAGE_SYNC: [&str; 2] = ["ap-shanghai-fsi", "ap-shenzhen-fsi"];

pub fn is_known(region: &str) -> bool {
    REGIONS.contains(&region)
}

pub fn supports_sync(region: &str) -> bool {
    is_known(region) && !NO_IMAGE_SYNC.contains(&region)
}

/// `area-city[-suffix]`, lowercase: the shape every Tencent region id has.
pub fn is_well_formed(region: &str) -> bool {
    let mut parts = region.split('-');
    let area = parts.next().unwrap_or_default();
    let city = parts.next().unwrap_or_default();
    area.len() == 2
        && area.bytes().all(|b| b.is_ascii_lowercase())
        && !city.is_empty()
        && city.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_shapes_and_sync_support() {
        assert!(is_well_formed("ap-guangzhou"));
        assert!(is_well_formed("ap-shenzhen-fsi"));
        assert!(is_well_formed("ap-moon"));
        assert!(!is_well_formed("Guangzhou"));
        assert!(!is_well_formed("ap_guangzhou"));
        assert!(supports_sync("ap-shanghai"));
        assert!(!supports_sync("ap-shenzhen-fsi"));
        assert!(!supports_sync("ap-moon"));
    }
}
