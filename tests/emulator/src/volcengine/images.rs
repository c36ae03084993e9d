//! `DescribeImages`: the caller's images in the region of the request, with their
//! `Status` (`available`, `creating`, `error`; lower case as the API's own examples
//! `Status.1=available&Status.2=creating` write them).

use imgflow_shared::Cloud;
use imgflow_shared::signing::sha256_hex;
use serde_json::{Value, json};

use super::auth::Authenticated;
use super::errors::{self, ApiError};
use super::params::Params;
use super::render::beijing_time;
use crate::catalog::ImageState;
use crate::world::{Image, World};

const MAX_IMAGE_IDS: usize = 100;
const MAX_STATUSES: usize = 10;
const DEFAULT_PAGE_SIZE: usize = 15;
const VISIBILITIES: [&str; 3] = ["public", "private", "shared"];
const PROJECT: &str = "default";

pub fn status_name(state: ImageState) -> &'static str {
    match state {
        ImageState::Available => "available",
        ImageState::Creating => "creating",
        ImageState::Failed => "error",
    }
}

/// What `DescribeImages` may filter on.
struct Filter {
    image_ids: Vec<String>,
    statuses: Vec<String>,
    name: Option<String>,
    os_type: Option<String>,
    platform: Option<String>,
    visibility: Option<String>,
    project: Option<String>,
    /// `TagFilters.N.Key` with its `TagFilters.N.Values.M`: the image must carry the key
    /// with one of the values (any value when none is given).
    tags: Vec<(String, Vec<String>)>,
}

impl Filter {
    fn parse(params: &Params) -> Result<Self, ApiError> {
        let image_ids = params.list("ImageIds");
        let mut statuses = params.list("Status");
        // `ImageStatus` is the legacy single form of `Status.N`.
        statuses.extend(params.non_empty("ImageStatus").map(str::to_owned));
        if image_ids.len() > MAX_IMAGE_IDS || statuses.len() > MAX_STATUSES {
            return Err(errors::invalid_argument());
        }
        let visibility = params.non_empty("Visibility").map(str::to_owned);
        if visibility
            .as_deref()
            .is_some_and(|v| !VISIBILITIES.contains(&v))
        {
            return Err(errors::invalid_argument());
        }
        let owned = |name: &str| params.non_empty(name).map(str::to_owned);
        Ok(Self {
            image_ids,
            statuses,
            name: owned("ImageName"),
            os_type: owned("OsType"),
            platform: owned("Platform"),
            visibility,
            project: owned("ProjectName"),
            tags: (1..=10)
                .filter_map(|n| {
                    let key = params.non_empty(&format!("TagFilters.{n}.Key"))?;
                    Some((
                        key.to_owned(),
                        params.list(&format!("TagFilters.{n}.Values")),
                    ))
                })
                .collect(),
        })
    }

    fn matches(&self, image: &Image, state: ImageState) -> bool {
        let spec = &image.spec;
        let profile = OsProfile::of(image);
        let same = |wanted: &Option<String>, actual: &str| {
            wanted
                .as_deref()
                .is_none_or(|w| w.eq_ignore_ascii_case(actual))
        };
        (self.image_ids.is_empty() || self.image_ids.contains(&spec.id))
            && (self.statuses.is_empty()
                || self
                    .statuses
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(status_name(state))))
            && self.name.as_deref().is_none_or(|name| name == spec.name)
            && same(&self.os_type, profile.os_type)
            && same(&self.platform, profile.platform)
            && same(&self.visibility, visibility(image))
            && same(&self.project, PROJECT)
            && self.tags.iter().all(|(key, values)| {
                spec.tags
                    .get(key)
                    .is_some_and(|value| values.is_empty() || values.contains(value))
            })
    }
}

pub fn describe_images(
    world: &World,
    who: &Authenticated,
    params: &Params,
) -> Result<Value, ApiError> {
    let filter = Filter::parse(params)?;
    let page = params.page(DEFAULT_PAGE_SIZE)?;
    let matching: Vec<(&Image, ImageState)> = world
        .images
        .iter()
        .filter(|image| image.spec.cloud == Cloud::Volcengine)
        .filter(|image| image.spec.account == who.caller.account && image.spec.region == who.region)
        .filter_map(|image| world.image_state(image).map(|state| (image, state)))
        .filter(|(image, state)| filter.matches(image, *state))
        .collect();
    let total = matching.len();
    let (images, next_token) = page.cut(matching);
    let images: Vec<Value> = images
        .into_iter()
        .map(|(image, state)| render(image, state))
        .collect();
    Ok(json!({"Images": images, "NextToken": next_token, "TotalCount": total}))
}

fn visibility(image: &Image) -> &'static str {
    if image.spec.flags.public {
        "public"
    } else if image.spec.flags.shared {
        "shared"
    } else {
        "private"
    }
}

/// The operating-system fields an image reports, from the catalogue's `os_type`.
struct OsProfile {
    os_type: &'static str,
    platform: &'static str,
    platform_version: &'static str,
    os_name: &'static str,
}

impl OsProfile {
    fn of(image: &Image) -> Self {
        if image.spec.os_type.eq_ignore_ascii_case("windows") {
            Self {
                os_type: "Windows",
                platform: "Windows",
                platform_version: "2022",
                os_name: "Windows Server 2022 Datacenter 64-bit",
            }
        } else {
            Self {
                os_type: "Linux",
                platform: "veLinux",
                platform_version: "1.0",
                os_name: "veLinux 1.0 CentOS Compatible 64 bit",
            }
        }
    }
}

/// A stable, account-like numeric id (`2100012345`) for an account name.
fn owner_id(account: &str) -> String {
    let digest = sha256_hex(account.as_bytes());
    let number = u64::from_str_radix(&digest[..8], 16).unwrap_or(0) % 100_000;
    format!("21000{number:05}")
}

fn snapshot_id(image_id: &str, disk: usize) -> String {
    let digest = sha256_hex(format!("{image_id}/{disk}").as_bytes());
    format!("snap-{}", &digest[..20])
}

fn render(image: &Image, state: ImageState) -> Value {
    let spec = &image.spec;
    let profile = OsProfile::of(image);
    // A shared image belongs to someone else.
    let owner = if spec.flags.shared {
        owner_id(&format!("{}-partner", spec.account))
    } else {
        owner_id(&spec.account)
    };
    let product_code = if spec.flags.market {
        format!("market-{}", &sha256_hex(spec.id.as_bytes())[..12])
    } else {
        String::new()
    };
    let system = json!({
        "SnapshotId": snapshot_id(&spec.id, 0),
        "VolumeKind": "system",
        "Size": spec.size_gb,
    });
    let data = spec.data_disks_gb.iter().enumerate().map(|(index, gib)| {
        json!({
            "SnapshotId": snapshot_id(&spec.id, index + 1),
            "VolumeKind": "data",
            "Size": gib,
        })
    });
    let snapshots: Vec<Value> = std::iter::once(system).chain(data).collect();
    let created = beijing_time(image.created);
    json!({
        "ImageId": spec.id,
        "ImageName": spec.name,
        "Description": "",
        "Status": status_name(state),
        "Visibility": visibility(image),
        "ShareStatus": "",
        "OsType": profile.os_type,
        "OsName": profile.os_name,
        "Platform": profile.platform,
        "PlatformVersion": profile.platform_version,
        "Architecture": "amd64",
        "BootMode": "BIOS",
        "Size": spec.size_gb,
        "VirtualSize": spec.size_gb.to_string(),
        "IsSupportCloudInit": profile.os_type == "Linux",
        "IsLTS": false,
        "IsInstallRunCommandAgent": false,
        "ImageOwnerId": owner,
        "ProjectName": PROJECT,
        "LicenseType": "",
        "Kernel": profile.os_type,
        "ProductCode": product_code,
        "LifecycleStatus": "",
        "CreatedAt": created,
        "UpdatedAt": created,
        "Snapshots": snapshots,
        "Tags": image
            .spec
            .tags
            .iter()
            .map(|(key, value)| json!({"Key": key, "Value": value}))
            .collect::<Vec<Value>>(),
    })
}
