//! `ExportImage` (seed 001): writes `<TOSPrefix>_<ImageId>_system.qcow2` (and one object per
//! data disk) into a TOS bucket of the image's region, as an asynchronous task.

use imgflow_shared::Cloud;
use serde_json::{Value, json};

use super::auth::Authenticated;
use super::errors::{self, ApiError};
use super::params::Params;
use super::render::opaque_id;
use super::tasks::{Lock, image_is_locked};
use crate::catalog::{ImageSpec, ImageState};
use crate::world::{ExportObject, Failure, Task, TaskKind, World};

const GIB: u64 = 1 << 30;
/// A qcow2 file holds only the allocated clusters: about a third of the disk.
const QCOW2_SHARE_OF_DISK: f64 = 0.35;
const FORMAT: &str = "qcow2";

pub fn export_image(
    world: &mut World,
    who: &Authenticated,
    params: &Params,
) -> Result<Value, ApiError> {
    let account = who.caller.account.as_str();
    let region = who.region.as_str();
    let image_id = required(params, "ImageId")?;
    let bucket_name = required(params, "TOSBucket")?;
    let prefix = required(params, "TOSPrefix")?;
    if !is_valid_prefix(prefix) {
        return Err(errors::invalid_tos_prefix());
    }
    let image = world
        .own_image(Cloud::Volcengine, account, region, image_id)
        .ok_or_else(errors::image_not_found)?;
    let flags = &image.spec.flags;
    if flags.public || flags.shared || flags.market || flags.encrypted {
        return Err(errors::image_not_supported_for_export());
    }
    if world.image_state(image) != Some(ImageState::Available) {
        return Err(errors::invalid_image_status());
    }
    if flags.busy || image_is_locked(world, account, image_id, Lock::AnyTask) {
        return Err(errors::resource_locked());
    }
    let spec = image.spec.clone();
    let bucket = world
        .bucket(bucket_name)
        .filter(|bucket| bucket.cloud == Cloud::Volcengine && bucket.region == region)
        .ok_or_else(errors::tos_bucket_not_found)?;
    // Another account's bucket is as closed to this account's ECS as a read-only one.
    if !bucket.writable || bucket.account != account {
        return Err(errors::tos_put_object_denied());
    }
    let limit = world.limits.running_exports_per_account;
    if world.running_exports(Cloud::Volcengine, account) >= limit {
        return Err(errors::export_quota_exceeded(limit));
    }
    let number = world.next_number();
    let task_id = opaque_id("t-", number);
    let failure = spec.flags.export_fails.then(|| Failure {
        code: "ExportImageFailed".to_owned(),
        message: "Writing the image file to the TOS bucket failed.".to_owned(),
    });
    let task = Task {
        id: task_id.clone(),
        cloud: Cloud::Volcengine,
        account: account.to_owned(),
        region: region.to_owned(),
        kind: TaskKind::Export {
            image_id: image_id.to_owned(),
            bucket: bucket_name.to_owned(),
            format: FORMAT.to_owned(),
            objects: exported_objects(prefix, &spec),
        },
        created: world.now(),
        duration: world.task_duration(&spec, true),
        failure: None,
        cancelled: None,
        queued_behind_limit: false,
    };
    world.add_task(task, failure);
    Ok(json!({ "TaskId": task_id }))
}

fn required<'a>(params: &'a Params, name: &'static str) -> Result<&'a str, ApiError> {
    params
        .non_empty(name)
        .ok_or_else(|| errors::missing_business_parameter(name))
}

/// Letters and digits, 1–30 characters (BytePlus ExportImage doc).
fn is_valid_prefix(prefix: &str) -> bool {
    (1..=30).contains(&prefix.len()) && prefix.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The system disk as documented, `<TOSPrefix>_<ImageId>_system.qcow2`; data disks (naming
/// undocumented, the emulator's choice) as `<TOSPrefix>_<ImageId>_data_<N>.qcow2`, N from 1.
fn exported_objects(prefix: &str, spec: &ImageSpec) -> Vec<ExportObject> {
    let size_of = |gib: u64| ((gib * GIB) as f64 * QCOW2_SHARE_OF_DISK) as u64;
    let system = ExportObject {
        key: format!("{prefix}_{}_system.{FORMAT}", spec.id),
        size: size_of(spec.size_gb),
    };
    let data = spec
        .data_disks_gb
        .iter()
        .enumerate()
        .map(|(index, gib)| ExportObject {
            key: format!("{prefix}_{}_data_{}.{FORMAT}", spec.id, index + 1),
            size: size_of(*gib),
        });
    std::iter::once(system).chain(data).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_one_to_thirty_letters_or_digits() {
        assert!(is_valid_prefix("test123"));
        assert!(is_valid_prefix(&"a".repeat(30)));
        for bad in [
            "",
            "with_underscore",
            "with-dash",
            "dot.",
            "中文",
            &"a".repeat(31),
        ] {
            assert!(!is_valid_prefix(bad), "{bad}");
        }
    }
}
