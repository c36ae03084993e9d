//! `ExportImage` (seed 003): checks in the seed's terms, then an export task whose objects land
//! in the OSS bucket when it finishes.
//!
//! Object names (WIRE.md §5, emulator choice on the documented example): the system disk is
//! `<OSSPrefix>_<ImageId>_<TaskId>.<fmt>`, data disk N is
//! `<OSSPrefix>_<ImageId>_<TaskId>_data_xvd<b…>.<fmt>`; without a prefix the name starts at
//! the image id. DescribeTaskAttribute reports every name as an `OSSObject` item.

use imgflow_shared::Cloud;
use serde_json::{Map, Value, json};

use crate::catalog::{ImageSpec, ImageState};
use crate::world::{Caller, ExportObject, Failure, Task, TaskKind, World};

use super::error::AcsError;
use super::params::{Params, client_token};
use super::{ids, regions};

/// The only role ECS assumes to write into the bucket ("other role names are invalid").
const EXPORT_ROLE: &str = "AliyunECSImageExportDefaultRole";
const FORMATS: &[&str] = &["raw", "vhd", "qcow2", "vmdk", "vdi"];
/// Seed 003: at most 4 data disks, each at most 500 GiB. The system disk gets the same cap,
/// the size ECS system disks were limited to when the seed was written.
const MAX_DATA_DISKS: usize = 4;
const MAX_DISK_GIB: u64 = 500;
const GIB: f64 = 1_073_741_824.0;

pub fn export_image(
    world: &mut World,
    caller: &Caller,
    params: &Params,
) -> Result<Map<String, Value>, AcsError> {
    let region = params.required(&["RegionId"], "RegionId")?;
    let image_id = params.required(&["ImageId"], "ImageId")?;
    // The SDK sends `OSSBucket`; the seed spells it `OssBucket`, and so do its messages.
    let bucket = params.required(&["OSSBucket", "OssBucket"], "OssBucket")?;
    if !regions::exists(region) {
        return Err(AcsError::new(
            400,
            "RegionId.NotFound",
            "The specified RegionId does not exist.",
        ));
    }
    if regions::is_local(region) {
        return Err(AcsError::new(
            403,
            "InvalidRegion.NotSupport",
            "The specified region does not support image import or export.",
        ));
    }
    let prefix = params.get_any(&["OSSPrefix", "OssPrefix"]);
    if prefix.is_some_and(|p| !valid_prefix(p)) {
        return Err(AcsError::new(
            400,
            "OssPrefix.Malformed",
            "The specified OssPrefix format is incorrect.",
        ));
    }
    let format = effective_format(region, params.get("ImageFormat"))?;
    let token = client_token(params)?;
    if params
        .get("RoleName")
        .is_some_and(|role| role != EXPORT_ROLE)
    {
        return Err(export_failed());
    }
    let request = ExportRequest {
        region,
        image_id,
        bucket,
        prefix,
        format,
    };
    if let Some(token) = token
        && let Some(task_id) = world.client_tokens.get(&token_key(caller, token))
    {
        // A retry of a start whose answer was lost: the same task, nothing new.
        return replay(world, task_id, &request);
    }
    let image = exportable_image(world, caller, region, image_id)?;
    check_bucket(world, caller, region, bucket)?;
    let limit = world.limits.running_exports_per_account;
    if world.running_exports(Cloud::Alibaba, &caller.account) >= limit {
        return Err(AcsError::new(
            403,
            "ConcurrentQuotaExceed.ExportImage",
            format!("The number of concurrent image export tasks has reached the quota ({limit})."),
        ));
    }
    if params.flag("DryRun") {
        return Err(AcsError::dry_run_passed());
    }
    let task_id = ids::new_task_id(world, region);
    let task = Task {
        id: task_id.clone(),
        cloud: Cloud::Alibaba,
        account: caller.account.clone(),
        region: region.to_owned(),
        kind: TaskKind::Export {
            image_id: image_id.to_owned(),
            bucket: bucket.to_owned(),
            format: format.to_owned(),
            objects: exported_objects(&image, prefix, &task_id, format),
        },
        created: world.now(),
        duration: world.task_duration(&image, true),
        failure: None,
        cancelled: None,
        queued_behind_limit: false,
    };
    let failure = image.flags.export_fails.then(|| Failure {
        code: "ExportImageFailed".to_owned(),
        message: "Failed to export image.".to_owned(),
    });
    world.add_task(task, failure);
    if let Some(token) = token {
        world
            .client_tokens
            .insert(token_key(caller, token), task_id.clone());
    }
    Ok(answer(region, &task_id))
}

struct ExportRequest<'a> {
    region: &'a str,
    image_id: &'a str,
    bucket: &'a str,
    prefix: Option<&'a str>,
    format: &'a str,
}

fn answer(region: &str, task_id: &str) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("RegionId".into(), json!(region));
    fields.insert("TaskId".into(), json!(task_id));
    // The seed's name for it; the SDK reads `TaskId` and ignores this one.
    fields.insert("ExportTaskId".into(), json!(task_id));
    fields
}

fn token_key(caller: &Caller, token: &str) -> (Cloud, String, String) {
    (
        Cloud::Alibaba,
        caller.account.clone(),
        format!("ExportImage:{token}"),
    )
}

fn replay(
    world: &World,
    task_id: &str,
    request: &ExportRequest<'_>,
) -> Result<Map<String, Value>, AcsError> {
    let same = world.task(Cloud::Alibaba, task_id).is_some_and(|task| {
        let TaskKind::Export {
            image_id,
            bucket,
            format,
            objects,
        } = &task.kind
        else {
            return false;
        };
        let system_key = object_key(request.prefix, image_id, task_id, None, format);
        task.region == request.region
            && image_id == request.image_id
            && bucket == request.bucket
            && format == request.format
            && objects.first().is_some_and(|o| o.key == system_key)
    });
    if same {
        Ok(answer(request.region, task_id))
    } else {
        Err(AcsError::client_token_reused())
    }
}

/// 1–30 letters or digits (seed 003).
fn valid_prefix(prefix: &str) -> bool {
    (1..=30).contains(&prefix.len()) && prefix.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The format the export is written in: the requested one where the region honours
/// `ImageFormat`, RAW elsewhere (the API page's region list).
fn effective_format(region: &str, requested: Option<&str>) -> Result<&'static str, AcsError> {
    let requested = match requested {
        None => "raw",
        Some(text) => FORMATS
            .iter()
            .find(|f| f.eq_ignore_ascii_case(text))
            .copied()
            .ok_or_else(|| {
                AcsError::new(
                    400,
                    "InvalidImageFormat.Malformed",
                    "The specified Image Format is wrongly formed.",
                )
            })?,
    };
    Ok(if regions::honours_image_format(region) {
        requested
    } else {
        "raw"
    })
}

/// The caller's image in `region`, if every rule of the seed lets it be exported.
fn exportable_image(
    world: &World,
    caller: &Caller,
    region: &str,
    image_id: &str,
) -> Result<ImageSpec, AcsError> {
    let not_found = || AcsError::new(403, "ImageId.NotFound", "The image does not exist.");
    let image = world
        .image(Cloud::Alibaba, image_id)
        .filter(|image| image.spec.region == region)
        .ok_or_else(not_found)?;
    let state = world.image_state(image).ok_or_else(not_found)?;
    let spec = &image.spec;
    if spec.account != caller.account || spec.flags.shared || spec.flags.public {
        return Err(AcsError::new(
            400,
            "Forbidden",
            "User is not authorized to operate on the specified image.",
        ));
    }
    if state != ImageState::Available {
        return Err(AcsError::new(
            400,
            "IncorrectImageStatus",
            "The image is not available.",
        ));
    }
    if spec.flags.market {
        return Err(AcsError::new(
            403,
            "ImageNotSupported",
            "The specified image is from the image market and does not support export.",
        ));
    }
    if spec.os_type.eq_ignore_ascii_case("windows") {
        return Err(AcsError::new(
            403,
            "ImageNotSupported",
            "The specified image contains a Windows Server operating system and does not support export.",
        ));
    }
    if spec.flags.encrypted {
        return Err(AcsError::new(
            400,
            "ImageNotSupported",
            "The specified Image contains encrypted snapshots, do not support export.",
        ));
    }
    if spec.data_disks_gb.len() > MAX_DATA_DISKS {
        return Err(AcsError::new(
            400,
            "InvalidImage.DiskAmountOrSize",
            "The image contains more than 4 data disk snapshots.",
        ));
    }
    if std::iter::once(&spec.size_gb)
        .chain(&spec.data_disks_gb)
        .any(|gib| *gib > MAX_DISK_GIB)
    {
        return Err(AcsError::new(
            400,
            "InvalidImage.DiskAmountOrSize",
            "The diskSize of the image exceeds the maximum size.",
        ));
    }
    if spec.flags.busy || export_running(world, caller, image_id) {
        return Err(AcsError::new(
            403,
            "OperationDenied.ImageExporting",
            "The specified image is being exported.",
        ));
    }
    Ok(spec.clone())
}

fn export_running(world: &World, caller: &Caller, image_id: &str) -> bool {
    world.tasks.iter().any(|task| {
        task.cloud == Cloud::Alibaba
            && task.account == caller.account
            && matches!(task.kind, TaskKind::Export { .. })
            && task.image_id() == image_id
            && world.phase(task).is_active()
    })
}

/// The bucket must exist in the image's region; ECS's export role must be able to write it.
fn check_bucket(world: &World, caller: &Caller, region: &str, name: &str) -> Result<(), AcsError> {
    let bucket = world
        .bucket(name)
        .filter(|b| b.cloud == Cloud::Alibaba && b.region == region)
        .ok_or_else(|| {
            AcsError::new(
                400,
                "OssBucket.NotFound",
                "The specified OssBucket does not exist.",
            )
        })?;
    if bucket.account != caller.account || !bucket.writable {
        return Err(export_failed());
    }
    Ok(())
}

fn export_failed() -> AcsError {
    AcsError::new(403, "ExportImageFailed", "Failed to export image.")
}

/// One object per disk; compressed formats take about a third of the disk, RAW all of it.
fn exported_objects(
    image: &ImageSpec,
    prefix: Option<&str>,
    task_id: &str,
    format: &str,
) -> Vec<ExportObject> {
    let share = if format == "raw" { 1.0 } else { 0.35 };
    let size = |gib: u64| (gib as f64 * GIB * share) as u64;
    let system = ExportObject {
        key: object_key(prefix, &image.id, task_id, None, format),
        size: size(image.size_gb),
    };
    let data = image
        .data_disks_gb
        .iter()
        .enumerate()
        .map(|(index, gib)| ExportObject {
            key: object_key(prefix, &image.id, task_id, Some(index), format),
            size: size(*gib),
        });
    std::iter::once(system).chain(data).collect()
}

/// The object name of the system disk (`data_disk: None`) or of data disk `index` (0-based,
/// mounted at xvdb, xvdc, …).
fn object_key(
    prefix: Option<&str>,
    image_id: &str,
    task_id: &str,
    data_disk: Option<usize>,
    format: &str,
) -> String {
    let mut key = match prefix {
        Some(prefix) => format!("{prefix}_{image_id}_{task_id}"),
        None => format!("{image_id}_{task_id}"),
    };
    if let Some(index) = data_disk {
        let letter = (b'b' + (index % 24) as u8) as char;
        key.push_str(&format!("_data_xvd{letter}"));
    }
    key.push('.');
    key.push_str(format);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_one_to_thirty_letters_or_digits() {
        assert!(valid_prefix("EcsExport2025"));
        assert!(valid_prefix(&"a".repeat(30)));
        assert!(!valid_prefix(&"a".repeat(31)));
        assert!(!valid_prefix("with-dash"));
        assert!(!valid_prefix("with_underscore"));
    }

    #[test]
    fn the_format_is_honoured_only_where_the_region_supports_it() {
        assert_eq!(
            effective_format("ap-southeast-1", Some("QCOW2")),
            Ok("qcow2")
        );
        assert_eq!(effective_format("cn-hangzhou", Some("qcow2")), Ok("raw"));
        assert_eq!(effective_format("ap-southeast-1", None), Ok("raw"));
        assert_eq!(
            effective_format("ap-southeast-1", Some("iso")).map_err(|e| e.code),
            Err("InvalidImageFormat.Malformed")
        );
    }

    #[test]
    fn object_names_follow_the_documented_example() {
        assert_eq!(
            object_key(Some("MYOSSPRE"), "m-23f8tcp8y", "t-23ym6mvro", None, "vhd"),
            "MYOSSPRE_m-23f8tcp8y_t-23ym6mvro.vhd"
        );
        assert_eq!(
            object_key(None, "m-1", "t-1", Some(1), "raw"),
            "m-1_t-1_data_xvdc.raw"
        );
    }
}
