//! `DescribeImages`: the caller's images in a region, in the SDK's two-level
//! `Images.Image[]` shape.
//!
//! `Status` filters with the service's default: without it only `Available` images are
//! listed, so a copy in progress (`Waiting`, `Creating`) is hidden unless asked for.
//! `Progress` is `"NN%"`, on the image and on each disk mapping.

use imgflow_shared::Cloud;
use serde_json::{Map, Value, json};

use crate::catalog::ImageState;
use crate::world::{Caller, Image, Phase, World};

use super::error::AcsError;
use super::ids;
use super::params::Params;
use super::regions;

const STATUSES: &[&str] = &[
    "Creating",
    "Waiting",
    "Available",
    "UnAvailable",
    "CreateFailed",
    "Deprecated",
];
const ALIASES: &[&str] = &["system", "self", "others", "marketplace"];
/// What an empty `ImageOwnerAlias` means.
const DEFAULT_ALIASES: &[&str] = &["system", "self", "others"];

fn invalid_parameter() -> AcsError {
    // Spelled as the DescribeImages page spells it.
    AcsError::new(400, "InvalidParamter", "Invalid Parameter.")
}

/// The status ECS prints for an image now; `None` once a cancelled copy has removed it.
fn status(world: &World, image: &Image) -> Option<&'static str> {
    let Some(task) = image
        .made_by
        .as_ref()
        .and_then(|id| world.task(Cloud::Alibaba, id))
    else {
        return world.image_state(image).map(|state| match state {
            ImageState::Available => "Available",
            ImageState::Creating => "Creating",
            ImageState::Failed => "CreateFailed",
        });
    };
    match world.phase(task) {
        Phase::Pending => Some("Waiting"),
        Phase::Running { .. } => Some("Creating"),
        Phase::Succeeded => Some("Available"),
        Phase::Failed(_) => Some("CreateFailed"),
        Phase::Cancelled => None,
    }
}

fn owner_alias(image: &Image) -> &'static str {
    if image.spec.flags.public {
        "system"
    } else if image.spec.flags.shared {
        "others"
    } else {
        "self"
    }
}

/// The `Status` filter: a comma list of known values, or `ALL` alone.
fn status_filter(params: &Params) -> Result<Vec<&'static str>, AcsError> {
    let asked = params.comma_list("Status");
    if asked.is_empty() {
        return Ok(vec!["Available"]);
    }
    if asked.contains(&"ALL") {
        return if asked.len() == 1 {
            Ok(STATUSES.to_vec())
        } else {
            Err(invalid_parameter())
        };
    }
    asked
        .iter()
        .map(|value| {
            STATUSES
                .iter()
                .find(|known| *known == value)
                .copied()
                .ok_or_else(invalid_parameter)
        })
        .collect()
}

pub fn describe_images(
    world: &mut World,
    caller: &Caller,
    params: &Params,
) -> Result<Map<String, Value>, AcsError> {
    let region = params.required(&["RegionId"], "RegionId")?;
    if !regions::exists(region) {
        return Err(AcsError::region_not_found(404));
    }
    let statuses = status_filter(params)?;
    let aliases: Vec<&str> = match params.get("ImageOwnerAlias") {
        None => DEFAULT_ALIASES.to_vec(),
        Some(alias) if ALIASES.contains(&alias) => vec![alias],
        Some(_) => {
            return Err(AcsError::new(
                400,
                "InvalidImageOwnerAlias.ValueNotSupported",
                "The specified ImageOwnerAlias value is not supported.",
            ));
        }
    };
    let os_type = params.get("OSType");
    if os_type.is_some_and(|os| !["windows", "linux"].contains(&os.to_ascii_lowercase().as_str())) {
        return Err(AcsError::new(
            404,
            "InvalidOSType",
            "The specifed OSType is not valid",
        ));
    }
    let page_number = params
        .number_in("PageNumber", 1, 1..=1_000_000)
        .ok_or_else(invalid_parameter)?;
    let page_size = params
        .number_in("PageSize", 10, 1..=100)
        .ok_or_else(invalid_parameter)?;
    if params.flag("DryRun") {
        return Err(AcsError::dry_run_passed());
    }
    let image_ids = params.comma_list("ImageId");
    let name = params.get("ImageName");
    // `Tag.N.Key` / `Tag.N.Value`, N from 1 to 20: every tag must match.
    let tags: Vec<(&str, Option<&str>)> = (1..=20)
        .filter_map(|n| {
            let key = params.get(&format!("Tag.{n}.Key"))?;
            Some((key, params.get(&format!("Tag.{n}.Value"))))
        })
        .collect();

    let mut matching: Vec<(&Image, &'static str)> = world
        .images
        .iter()
        .filter(|image| {
            image.spec.cloud == Cloud::Alibaba
                && image.spec.account == caller.account
                && image.spec.region == region
        })
        .filter_map(|image| Some((image, status(world, image)?)))
        .filter(|(_, status)| statuses.contains(status))
        .filter(|(image, _)| aliases.contains(&owner_alias(image)))
        .filter(|(image, _)| image_ids.is_empty() || image_ids.contains(&image.spec.id.as_str()))
        .filter(|(image, _)| name.is_none_or(|n| image.spec.name.contains(n)))
        .filter(|(image, _)| {
            tags.iter().all(|(key, value)| {
                image
                    .spec
                    .tags
                    .get(*key)
                    .is_some_and(|v| value.is_none_or(|value| v == value))
            })
        })
        .filter(|(image, _)| os_type.is_none_or(|os| image.spec.os_type.eq_ignore_ascii_case(os)))
        .collect();
    matching.sort_by(|(a, _), (b, _)| {
        b.created
            .total_cmp(&a.created)
            .then(a.spec.id.cmp(&b.spec.id))
    });
    let total = matching.len();
    let skip = ((page_number - 1) * page_size) as usize;
    let page: Vec<Value> = matching
        .into_iter()
        .skip(skip)
        .take(page_size as usize)
        .map(|(image, status)| render(world, image, status))
        .collect();
    let mut fields = Map::new();
    fields.insert("RegionId".into(), json!(region));
    fields.insert("TotalCount".into(), json!(total));
    fields.insert("PageNumber".into(), json!(page_number));
    fields.insert("PageSize".into(), json!(page_size));
    fields.insert("Images".into(), json!({ "Image": page }));
    Ok(fields)
}

/// Progress and seconds left of an image being copied; `(100, 0)` otherwise.
fn progress(world: &World, image: &Image, status: &str) -> (u8, u64) {
    let task = image
        .made_by
        .as_ref()
        .and_then(|id| world.task(Cloud::Alibaba, id));
    match (task, status) {
        (Some(task), "Waiting" | "Creating") => {
            let left = if task.queued_behind_limit {
                task.duration
            } else {
                task.created + task.duration - world.now()
            };
            (world.image_progress(image), left.max(0.0) as u64)
        }
        (Some(_), "CreateFailed") => (world.image_progress(image), 0),
        (None, "Creating") => (0, 0),
        _ => (100, 0),
    }
}

fn render(world: &World, image: &Image, status: &str) -> Value {
    let spec = &image.spec;
    let windows = spec.os_type.eq_ignore_ascii_case("windows");
    let (percent, remain) = progress(world, image, status);
    let percent = format!("{percent}%");
    let disks: Vec<Value> = std::iter::once(("system", spec.size_gb))
        .chain(spec.data_disks_gb.iter().map(|gib| ("data", *gib)))
        .enumerate()
        .map(|(index, (kind, gib))| {
            json!({
                "Device": format!("/dev/xvd{}", (b'a' + (index % 26) as u8) as char),
                "Size": gib.to_string(),
                "SnapshotId": ids::snapshot_id(&spec.id, &spec.region, index),
                "Type": kind,
                "Format": "",
                "ImportOSSBucket": "",
                "ImportOSSObject": "",
                "Progress": percent,
                "RemainTime": remain,
                "Encrypted": spec.flags.encrypted,
            })
        })
        .collect();
    let (os_name, os_name_en, platform) = if windows {
        (
            "Windows Server 2022 数据中心版 64位中文版",
            "Windows Server 2022 Datacenter 64-bit (Chinese)",
            "Windows Server 2022",
        )
    } else {
        (
            "Alibaba Cloud Linux 3.2104 LTS 64位",
            "Alibaba Cloud Linux 3.2104 LTS 64 bit",
            "Aliyun",
        )
    };
    let product_code = if spec.flags.market {
        format!("cmjj{:06}", ids::account_number(&spec.id) % 1_000_000)
    } else {
        String::new()
    };
    json!({
        "ImageId": spec.id,
        "ImageName": spec.name,
        "Description": "",
        "Status": status,
        "Progress": percent,
        "Size": spec.size_gb,
        "OSType": if windows { "windows" } else { "linux" },
        "OSName": os_name,
        "OSNameEn": os_name_en,
        "Platform": platform,
        "Architecture": "x86_64",
        "ImageOwnerAlias": owner_alias(image),
        "ImageOwnerId": ids::account_number(&spec.account),
        "IsCopied": image.made_by.is_some(),
        "IsPublic": spec.flags.public,
        "IsSelfShared": "",
        "IsSubscribed": false,
        "IsSupportCloudinit": !windows,
        "IsSupportIoOptimized": true,
        "CreationTime": ids::second_time(image.created),
        "Usage": "none",
        "BootMode": "BIOS",
        "ImageFamily": "",
        "ImageVersion": "",
        "ProductCode": product_code,
        "LicenseType": "Auto",
        "LoginAsNonRootSupported": false,
        "ResourceGroupId": "",
        "SupplierName": "",
        "Usable": status == "Available",
        "DiskDeviceMappings": { "DiskDeviceMapping": disks },
        "Tags": { "Tag": spec
            .tags
            .iter()
            .map(|(key, value)| json!({"TagKey": key, "TagValue": value}))
            .collect::<Vec<Value>>() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_filter_defaults_to_available_and_takes_all_alone() {
        assert_eq!(status_filter(&Params::default()), Ok(vec!["Available"]));
        assert_eq!(
            status_filter(&Params::of(&[("Status", "Creating,Waiting")])),
            Ok(vec!["Creating", "Waiting"])
        );
        assert_eq!(
            status_filter(&Params::of(&[("Status", "ALL")])).map(|s| s.len()),
            Ok(STATUSES.len())
        );
        assert!(status_filter(&Params::of(&[("Status", "ALL,Available")])).is_err());
        assert!(status_filter(&Params::of(&[("Status", "Broken")])).is_err());
    }
}
