//! How a catalogue image looks on Tencent: its type, platform, snapshots and `ImageState`,
//! and the `Image` structure `DescribeImages` returns.
//!
//! Traits the catalogue has no flag for are read from fields it does have: `os_type`
//! `redhat` or `freebsd` (the platforms with their own export errors), and an image name
//! starting `instance-` (a whole-instance image) or `cdc-` (a CDC local image).

use serde_json::{Value, json};

use super::ids::{account_uin, snapshot_id};
use crate::catalog::{ImageSpec, ImageState};
use crate::clock::iso8601;
use crate::world::{Image, Phase, World};

/// The platform families the export and sync rules tell apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    TencentOs,
    Windows,
    RedHat,
    FreeBsd,
}

impl Platform {
    pub fn of(spec: &ImageSpec) -> Self {
        match spec.os_type.to_ascii_lowercase().as_str() {
            "windows" => Platform::Windows,
            "redhat" | "rhel" => Platform::RedHat,
            "freebsd" => Platform::FreeBsd,
            _ => Platform::TencentOs,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Platform::TencentOs => "TencentOS",
            Platform::Windows => "Windows",
            Platform::RedHat => "RedHat",
            Platform::FreeBsd => "FreeBSD",
        }
    }

    fn os_name(self) -> &'static str {
        match self {
            Platform::TencentOs => "TencentOS Server 3.1 (TK4)",
            Platform::Windows => "Windows Server 2022 DataCenter 64bit Chinese",
            Platform::RedHat => "Red Hat Enterprise Linux 8.6 64bit",
            Platform::FreeBsd => "FreeBSD 13.1 64bit",
        }
    }
}

/// Whole-instance images (system and data disks captured together): not syncable.
pub fn is_instance_image(spec: &ImageSpec) -> bool {
    spec.name.starts_with("instance-")
}

/// Images stored in a CDC (local dedicated cluster): neither syncable nor exportable.
pub fn is_cdc_image(spec: &ImageSpec) -> bool {
    spec.name.starts_with("cdc-")
}

/// `PUBLIC_IMAGE`, `SHARED_IMAGE` or `PRIVATE_IMAGE`.
pub fn image_type(spec: &ImageSpec) -> &'static str {
    if spec.flags.public {
        "PUBLIC_IMAGE"
    } else if spec.flags.shared {
        "SHARED_IMAGE"
    } else {
        "PRIVATE_IMAGE"
    }
}

/// One disk of an image: index 0 is the system disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disk {
    pub snapshot_id: String,
    pub system: bool,
    pub size_gb: u64,
}

pub fn disks(spec: &ImageSpec) -> Vec<Disk> {
    std::iter::once(spec.size_gb)
        .chain(spec.data_disks_gb.iter().copied())
        .enumerate()
        .map(|(index, size_gb)| Disk {
            snapshot_id: snapshot_id(&spec.id, index),
            system: index == 0,
            size_gb,
        })
        .collect()
}

/// The `ImageState` word: a synced image is `SYNCING` while its copy runs (a catalogue image
/// still being made is `CREATING`); a failed copy leaves `CREATEFAILED`.
pub fn state_name(image: &Image, state: ImageState) -> &'static str {
    match state {
        ImageState::Available => "NORMAL",
        ImageState::Creating if image.made_by.is_some() => "SYNCING",
        ImageState::Creating => "CREATING",
        ImageState::Failed => "CREATEFAILED",
    }
}

/// `SyncPercent`: the copy's progress for a synced image, 100 once an image is usable.
fn sync_percent(world: &World, image: &Image, state: ImageState) -> u8 {
    let copy = image
        .made_by
        .as_ref()
        .and_then(|id| world.task(image.spec.cloud, id));
    match (copy.map(|task| world.phase(task)), state) {
        (Some(Phase::Running { percent }), _) => percent,
        (_, ImageState::Available) => 100,
        _ => 0,
    }
}

/// The SDK's `Image` model, every field it defines and no other (the SDK warns on extras).
pub fn render(world: &World, image: &Image, state: ImageState) -> Value {
    let spec = &image.spec;
    let platform = Platform::of(spec);
    let snapshots: Vec<Value> = disks(spec)
        .into_iter()
        .map(|disk| {
            json!({
                "SnapshotId": disk.snapshot_id,
                "DiskUsage": if disk.system { "SYSTEM_DISK" } else { "DATA_DISK" },
                "DiskSize": disk.size_gb,
            })
        })
        .collect();
    json!({
        "ImageId": spec.id,
        "OsName": platform.os_name(),
        "ImageType": image_type(spec),
        "CreatedTime": iso8601(image.created),
        "ImageName": spec.name,
        "ImageDescription": "",
        "ImageSize": spec.size_gb,
        "Architecture": "x86_64",
        "ImageState": state_name(image, state),
        "Platform": platform.name(),
        "ImageCreator": account_uin(&spec.account),
        "ImageSource": if spec.flags.public { "OFFICIAL" } else { "CREATE_IMAGE" },
        "SyncPercent": sync_percent(world, image, state),
        "IsSupportCloudinit": platform != Platform::Windows,
        "SnapshotSet": snapshots,
        "Tags": spec
            .tags
            .iter()
            .map(|(key, value)| json!({"Key": key, "Value": value}))
            .collect::<Vec<Value>>(),
        "LicenseType": "TencentCloud",
        "ImageFamily": "",
        "ImageDeprecated": false,
        "CdcCacheStatus": "",
    })
}
