//! `ExportImages` (seed 000): one COS object per exported disk, named
//! `[<prefix>_]<ImageId>_system|data_<SnapshotId>.<fmt>` and listed in `CosPaths` with a
//! leading `/`. CVM has no API that follows an export task: the objects appear in the bucket
//! once the export is done, and the source image stays `NORMAL` meanwhile (the documented
//! `ImageState` values have no word for "exporting"; a second export or a sync of the image
//! is refused with `InvalidParameterValue.InvalidImageState` until it ends).
//!
//! Each image (or snapshot) of a call is one task in the emulator, all under the call's
//! `TaskId`; each counts towards `running_exports_per_account`.

use imgflow_shared::Cloud;
use serde_json::{Map, Value, json};

use super::Call;
use super::errors::TcError;
use super::ids::{export_task_id, has_appid_suffix, is_image_id, is_snapshot_id};
use super::images::{Disk, Platform, disks, is_cdc_image};
use crate::catalog::{ImageSpec, ImageState};
use crate::world::{ExportObject, Failure, Image, Task, TaskKind, World};

const PARAMETERS: [&str; 8] = [
    "BucketName",
    "ImageIds",
    "SnapshotIds",
    "ExportFormat",
    "FileNamePrefixList",
    "OnlyExportRootDisk",
    "DryRun",
    "RoleName",
];
/// Images (or snapshots) per call (emulator choice; the real limit is undocumented).
const MAX_SOURCES: usize = 10;
/// Characters in one file-name prefix (emulator choice).
const MAX_PREFIX_CHARS: usize = 64;
/// Largest exportable image, GiB (emulator choice).
const MAX_EXPORT_GB: u64 = 500;
/// The CAM roles the account has; `CVM_QcsRole` is the documented default.
const ROLES: [&str; 1] = ["CVM_QcsRole"];
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// `InvalidParameterValue.InvalidImageState` when the image is not free to be read.
pub(crate) fn ensure_image_idle(world: &World, image: &Image) -> Result<(), TcError> {
    let exporting = world.tasks.iter().any(|task| {
        task.cloud == Cloud::Tencent
            && task.account == image.spec.account
            && matches!(&task.kind, TaskKind::Export { image_id, .. } if *image_id == image.spec.id)
            && world.phase(task).is_active()
    });
    let normal = world.image_state(image) == Some(ImageState::Available);
    if normal && !image.spec.flags.busy && !exporting {
        return Ok(());
    }
    Err(TcError::new(
        "InvalidParameterValue.InvalidImageState",
        format!(
            "The image `{}` is occupied by another operation. Please check and try again later.",
            image.spec.id
        ),
    ))
}

#[derive(Clone, Copy)]
enum Format {
    Raw,
    Qcow2,
    Vhd,
    Vmdk,
}

impl Format {
    fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_uppercase().as_str() {
            "RAW" => Some(Format::Raw),
            "QCOW2" => Some(Format::Qcow2),
            "VHD" => Some(Format::Vhd),
            "VMDK" => Some(Format::Vmdk),
            _ => None,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Raw => "raw",
            Format::Qcow2 => "qcow2",
            Format::Vhd => "vhd",
            Format::Vmdk => "vmdk",
        }
    }

    /// Bytes written per byte of disk: raw is the whole disk, the others are sparse.
    fn size_ratio(self) -> f64 {
        match self {
            Format::Raw => 1.0,
            Format::Qcow2 | Format::Vhd | Format::Vmdk => 0.35,
        }
    }
}

/// What is exported: whole images, or (not open to the public, no SDK field) snapshots.
enum Sources {
    Images(Vec<String>),
    Snapshots(Vec<String>),
}

impl Sources {
    fn ids(&self) -> &[String] {
        match self {
            Sources::Images(ids) | Sources::Snapshots(ids) => ids,
        }
    }
}

struct ExportRequest {
    bucket: String,
    sources: Sources,
    format: Format,
    prefixes: Option<Vec<String>>,
    root_disk_only: bool,
    dry_run: bool,
}

impl ExportRequest {
    fn read(call: &Call) -> Result<Self, TcError> {
        let params = &call.params;
        params.reject_unknown(&PARAMETERS)?;
        let bucket = params
            .string("BucketName")?
            .filter(|name| !name.is_empty())
            .ok_or_else(|| TcError::missing("BucketName"))?;
        let images = params.strings("ImageIds")?.filter(|ids| !ids.is_empty());
        let snapshots = params.strings("SnapshotIds")?.filter(|ids| !ids.is_empty());
        let sources = match (images, snapshots) {
            (Some(ids), None) => Sources::Images(ids),
            (None, Some(ids)) => Sources::Snapshots(ids),
            _ => {
                return Err(TcError::new(
                    "InvalidParameter.ImageIdsSnapshotIdsMustOne",
                    "Exactly one of the parameters ImageIds and SnapshotIds must be given.",
                ));
            }
        };
        let ids = sources.ids();
        if ids.len() > MAX_SOURCES {
            return Err(TcError::new(
                "InvalidParameterValue.LimitExceeded",
                format!(
                    "{} ids were given; at most {MAX_SOURCES} can be exported in one call.",
                    ids.len()
                ),
            ));
        }
        if let Some(repeated) = ids
            .iter()
            .enumerate()
            .find_map(|(i, id)| ids[..i].contains(id).then_some(id))
        {
            return Err(TcError::invalid_value(
                "ImageIds",
                format!("`{repeated}` is listed more than once"),
            ));
        }
        let format = match params.string("ExportFormat")? {
            None => Format::Raw,
            Some(text) => Format::parse(&text).ok_or_else(|| {
                TcError::invalid_value(
                    "ExportFormat",
                    format!("`{text}` is not one of RAW, QCOW2, VHD, VMDK"),
                )
            })?,
        };
        let prefixes = params.strings("FileNamePrefixList")?;
        if let Some(prefixes) = &prefixes {
            if prefixes.len() != ids.len() {
                return Err(TcError::new(
                    "InvalidParameterValue.InvalidFileNamePrefixList",
                    format!(
                        "FileNamePrefixList has {} entries but {} ids were given; \
                         the lengths must match.",
                        prefixes.len(),
                        ids.len()
                    ),
                ));
            }
            if let Some(long) = prefixes
                .iter()
                .find(|p| p.chars().count() > MAX_PREFIX_CHARS)
            {
                return Err(TcError::new(
                    "InvalidParameterValue.TooLarge",
                    format!(
                        "The file name prefix `{long}` is longer than \
                         {MAX_PREFIX_CHARS} characters."
                    ),
                ));
            }
        }
        if let Some(role) = params.string("RoleName")?
            && !ROLES.contains(&role.as_str())
        {
            return Err(TcError::new(
                "AuthFailure.CamRoleNameAuthenticateFailed",
                format!("The role `{role}` does not exist or cannot be assumed by CVM."),
            ));
        }
        Ok(Self {
            bucket,
            sources,
            format,
            prefixes,
            root_disk_only: params.bool("OnlyExportRootDisk")?.unwrap_or(false),
            dry_run: params.bool("DryRun")?.unwrap_or(false),
        })
    }
}

fn check_bucket(world: &World, call: &Call, name: &str) -> Result<(), TcError> {
    if !has_appid_suffix(name) {
        return Err(TcError::new(
            "InvalidParameterValue.InvalidAppIdFormat",
            format!("The bucket name `{name}` does not end in a valid `-<appid>`."),
        ));
    }
    let bucket = world
        .bucket(name)
        .filter(|b| b.cloud == Cloud::Tencent && b.account == call.caller.account)
        .filter(|b| b.region == call.region)
        .ok_or_else(|| {
            TcError::new(
                "InvalidParameterValue.BucketNotFound",
                format!(
                    "The bucket `{name}` does not exist in {}. \
                     Please check that the bucket exists.",
                    call.region
                ),
            )
        })?;
    if !bucket.writable {
        return Err(TcError::new(
            "InvalidParameterValue.InvalidBucketPermissionForExport",
            format!(
                "CVM may not write to the bucket `{name}`. Please grant the role write permission."
            ),
        ));
    }
    Ok(())
}

/// The export rules an image must pass, in the order the seed lists the codes.
fn ensure_exportable(world: &World, image: &Image) -> Result<(), TcError> {
    let spec = &image.spec;
    let id = &spec.id;
    let refuse =
        |code: &'static str, why: &str| Err(TcError::new(code, format!("{why} (`{id}`).")));
    if spec.flags.public {
        return refuse(
            "UnsupportedOperation.PublicImageExportUnsupported",
            "Public images and marketplace images cannot be exported",
        );
    }
    if spec.flags.shared {
        return refuse(
            "UnsupportedOperation.SharedImageExportUnsupported",
            "Shared images cannot be exported",
        );
    }
    if spec.flags.market {
        return refuse(
            "UnsupportedOperation.MarketImageExportUnsupported",
            "Custom images created from marketplace images cannot be exported",
        );
    }
    if is_cdc_image(spec) {
        return refuse(
            "InvalidParameterValue.InvalidImageId",
            "The image does not allow this operation",
        );
    }
    if spec.flags.encrypted {
        return refuse(
            "UnsupportedOperation.EncryptedImagesNotSupported",
            "Encrypted images are not supported",
        );
    }
    match Platform::of(spec) {
        Platform::Windows => {
            return refuse(
                "UnsupportedOperation.WindowsImageExportUnsupported",
                "Windows images cannot be exported",
            );
        }
        Platform::RedHat => {
            return refuse(
                "UnsupportedOperation.RedHatImageExportUnsupported",
                "RedHat images cannot be exported",
            );
        }
        Platform::FreeBsd => {
            return refuse(
                "InvalidParameterValue.InvalidImageOsName",
                "The current region does not support exporting this image's operating system",
            );
        }
        Platform::TencentOs => {}
    }
    if spec.size_gb > MAX_EXPORT_GB {
        return refuse(
            "UnsupportedOperation.ImageTooLargeExportUnsupported",
            &format!("The image is larger than {MAX_EXPORT_GB} GiB and cannot be exported"),
        );
    }
    ensure_image_idle(world, image)
}

/// One image or snapshot to export: the image it reads and the objects it writes.
struct Plan {
    image: Image,
    source_id: String,
    objects: Vec<ExportObject>,
    /// The image as far as this export reads it, for the task's duration.
    exported: ImageSpec,
}

fn object(key: String, disk: &Disk, format: Format) -> ExportObject {
    ExportObject {
        key,
        size: (disk.size_gb as f64 * GIB * format.size_ratio()) as u64,
    }
}

fn with_prefix(prefix: Option<&str>, rest: String) -> String {
    match prefix.filter(|p| !p.is_empty()) {
        Some(prefix) => format!("{prefix}_{rest}"),
        None => rest,
    }
}

fn plan_image(
    world: &World,
    call: &Call,
    id: &str,
    prefix: Option<&str>,
    request: &ExportRequest,
) -> Result<Plan, TcError> {
    if !is_image_id(id) {
        return Err(TcError::new(
            "InvalidImageId.Malformed",
            format!("The image id `{id}` is malformed."),
        ));
    }
    let image = world
        .own_image(Cloud::Tencent, &call.caller.account, &call.region, id)
        .ok_or_else(|| {
            TcError::new(
                "InvalidImageId.NotFound",
                format!("The image `{id}` does not exist."),
            )
        })?;
    ensure_exportable(world, image)?;
    let ext = request.format.extension();
    let exported_disks: Vec<Disk> = disks(&image.spec)
        .into_iter()
        .filter(|disk| disk.system || !request.root_disk_only)
        .collect();
    let objects = exported_disks
        .iter()
        .map(|disk| {
            let usage = if disk.system { "system" } else { "data" };
            let name = format!("{id}_{usage}_{}.{ext}", disk.snapshot_id);
            object(with_prefix(prefix, name), disk, request.format)
        })
        .collect();
    let mut exported = image.spec.clone();
    if request.root_disk_only {
        exported.data_disks_gb.clear();
    }
    Ok(Plan {
        image: image.clone(),
        source_id: id.to_owned(),
        objects,
        exported,
    })
}

fn plan_snapshot(
    world: &World,
    call: &Call,
    id: &str,
    prefix: Option<&str>,
    request: &ExportRequest,
) -> Result<Plan, TcError> {
    let found = is_snapshot_id(id)
        .then(|| {
            world.images.iter().find_map(|image| {
                let own = world.own_image(
                    Cloud::Tencent,
                    &call.caller.account,
                    &call.region,
                    &image.spec.id,
                )?;
                let disk = disks(&own.spec).into_iter().find(|d| d.snapshot_id == id)?;
                Some((own, disk))
            })
        })
        .flatten();
    let Some((image, disk)) = found else {
        return Err(TcError::new(
            "InvalidParameter.SnapshotNotFound",
            format!("The snapshot `{id}` does not exist."),
        ));
    };
    ensure_exportable(world, image)?;
    let name = format!("{id}.{}", request.format.extension());
    let mut exported = image.spec.clone();
    exported.size_gb = disk.size_gb;
    exported.data_disks_gb.clear();
    Ok(Plan {
        image: image.clone(),
        source_id: id.to_owned(),
        objects: vec![object(with_prefix(prefix, name), &disk, request.format)],
        exported,
    })
}

pub fn export_images(world: &mut World, call: &Call) -> Result<Map<String, Value>, TcError> {
    let request = ExportRequest::read(call)?;
    check_bucket(world, call, &request.bucket)?;
    let mut plans = Vec::new();
    for (index, id) in request.sources.ids().iter().enumerate() {
        let prefix = request.prefixes.as_ref().map(|p| p[index].as_str());
        plans.push(match request.sources {
            Sources::Images(_) => plan_image(world, call, id, prefix, &request)?,
            Sources::Snapshots(_) => plan_snapshot(world, call, id, prefix, &request)?,
        });
    }
    let running = world.running_exports(Cloud::Tencent, &call.caller.account);
    let limit = world.limits.running_exports_per_account;
    if running + plans.len() > limit {
        return Err(TcError::new(
            "LimitExceeded.ExportImageTaskLimitExceeded",
            format!(
                "{running} image exports are running and {} more were asked for; at most \
                 {limit} may run at once. Please wait for running tasks to finish.",
                plans.len()
            ),
        ));
    }
    if request.dry_run {
        return Err(TcError::dry_run());
    }
    let task_id = export_task_id(world);
    let mut cos_paths = Vec::new();
    for plan in plans {
        cos_paths.extend(plan.objects.iter().map(|o| format!("/{}", o.key)));
        let failure = plan.image.spec.flags.export_fails.then(|| Failure {
            code: "FailedOperation.ExportImageFailed".to_owned(),
            message: format!(
                "Exporting `{}` to COS failed: reading snapshot data was interrupted.",
                plan.source_id
            ),
        });
        let task = Task {
            id: format!("{task_id}-{}", plan.source_id),
            cloud: Cloud::Tencent,
            account: call.caller.account.clone(),
            region: call.region.clone(),
            kind: TaskKind::Export {
                image_id: plan.image.spec.id.clone(),
                bucket: request.bucket.clone(),
                format: request.format.extension().to_owned(),
                objects: plan.objects,
            },
            created: world.now(),
            duration: world.task_duration(&plan.exported, true),
            failure: None,
            cancelled: None,
            queued_behind_limit: false,
        };
        world.add_task(task, failure);
    }
    let mut fields = Map::new();
    fields.insert("TaskId".into(), json!(task_id));
    fields.insert("CosPaths".into(), json!(cos_paths));
    Ok(fields)
}
