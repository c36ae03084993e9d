//! `CopyImage` and `CancelCopyImage`. A copy answers the new image's id at once; the image
//! exists in the destination region from then on, `Waiting` while its copy is queued behind
//! the per-region limit, `Creating` while it runs, then `Available` (or `CreateFailed`).
//! Codes and messages follow the CopyImage and CancelCopyImage API pages.

use imgflow_shared::Cloud;
use serde_json::{Map, Value, json};

use crate::catalog::{ImageSpec, ImageState};
use crate::world::{Caller, Failure, Image, Phase, Task, TaskKind, World};

use super::error::AcsError;
use super::params::{Params, client_token};
use super::{ids, regions};

/// Emulator choice: images over 1 TiB in total are refused with `SizeExceed.Image` (the page
/// documents the code, not the size).
const MAX_COPY_GIB: u64 = 1024;

pub fn copy_image(
    world: &mut World,
    caller: &Caller,
    params: &Params,
) -> Result<Map<String, Value>, AcsError> {
    let region = params.required(&["RegionId"], "RegionId")?;
    let image_id = params.required(&["ImageId"], "ImageId")?;
    let destination = params.required(&["DestinationRegionId"], "DestinationRegionId")?;
    if !regions::exists(region) {
        return Err(AcsError::new(
            400,
            "SourceRegion.NotFound",
            "The source region not found.",
        ));
    }
    if !regions::exists(destination) {
        return Err(AcsError::new(
            400,
            "DestinationRegion.NotFound",
            "The destination region not found.",
        ));
    }
    if regions::is_local(region) || regions::is_local(destination) {
        return Err(AcsError::new(
            403,
            "RegionNotSupportCopy",
            "The region not support copy.",
        ));
    }
    let name = params.get("DestinationImageName");
    if name.is_some_and(|n| !valid_image_name(n)) {
        return Err(AcsError::new(
            400,
            "InvalidImageName.Malformed",
            "The specified destination image name is wrongly formed.",
        ));
    }
    if params
        .get("DestinationDescription")
        .is_some_and(|d| !valid_description(d))
    {
        return Err(AcsError::new(
            400,
            "InvalidDescription.Malformed",
            "The specified destination description is wrongly formed.",
        ));
    }
    let encrypted = params.flag("Encrypted");
    if params.get("KMSKeyId").is_some() && !encrypted {
        return Err(AcsError::new(
            400,
            "InvalidParameter.EncryptedIllegal",
            "The specified parameter Encrypted must be true when kmsKeyId is not empty.",
        ));
    }
    let token = client_token(params)?;
    if let Some(token) = token
        && let Some(copy_id) = world.client_tokens.get(&token_key(caller, token))
    {
        // A retry: the copy the first call started, and no second one.
        return replay(world, copy_id, image_id, destination);
    }
    let source = copyable_image(world, caller, region, image_id, destination, encrypted)?;
    if let Some(name) = name
        && name_taken(world, caller, destination, name)
    {
        return Err(AcsError::new(
            400,
            "InvalidImageName.Duplicated",
            "The specified image name is already in use in the target region. Please try a different one.",
        ));
    }
    if params.flag("DryRun") {
        return Err(AcsError::dry_run_passed());
    }
    let copy_id = start_copy(world, caller, &source, destination, name, encrypted);
    if let Some(token) = token {
        world
            .client_tokens
            .insert(token_key(caller, token), copy_id.clone());
    }
    Ok(answer(&copy_id))
}

fn answer(image_id: &str) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("ImageId".into(), json!(image_id));
    fields
}

fn token_key(caller: &Caller, token: &str) -> (Cloud, String, String) {
    (
        Cloud::Alibaba,
        caller.account.clone(),
        format!("CopyImage:{token}"),
    )
}

fn replay(
    world: &World,
    copy_id: &str,
    image_id: &str,
    destination: &str,
) -> Result<Map<String, Value>, AcsError> {
    let same = copy_task_of(world, copy_id).is_some_and(|task| {
        matches!(&task.kind, TaskKind::Copy { image_id: source, destination_region, .. }
            if source == image_id && destination_region == destination)
    });
    if same {
        Ok(answer(copy_id))
    } else {
        Err(AcsError::client_token_reused())
    }
}

fn copy_task_of<'w>(world: &'w World, image_id: &str) -> Option<&'w Task> {
    let task_id = world.image(Cloud::Alibaba, image_id)?.made_by.as_ref()?;
    world.task(Cloud::Alibaba, task_id)
}

/// 2–128 characters, starting with a letter or a Chinese character, not with `aliyun` or
/// `acs:`, without `http://`/`https://`; letters, digits, `.`, `:`, `_`, `-`.
fn valid_image_name(name: &str) -> bool {
    let is_chinese = |c: char| ('\u{4e00}'..='\u{9fff}').contains(&c);
    let length = name.chars().count();
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || is_chinese(c));
    (2..=128).contains(&length)
        && first_ok
        && !name.starts_with("aliyun")
        && !name.starts_with("acs:")
        && !name.contains("http://")
        && !name.contains("https://")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || is_chinese(c) || ".:_-".contains(c))
}

/// 2–256 characters, not starting with `http://` or `https://`.
fn valid_description(description: &str) -> bool {
    (2..=256).contains(&description.chars().count())
        && !description.starts_with("http://")
        && !description.starts_with("https://")
}

fn copyable_image(
    world: &World,
    caller: &Caller,
    region: &str,
    image_id: &str,
    destination: &str,
    encrypted: bool,
) -> Result<ImageSpec, AcsError> {
    let not_found = || {
        AcsError::new(
            404,
            "InvalidImageId.NotFound",
            "The specified ImageId does not exist.",
        )
    };
    let image = world
        .own_image(Cloud::Alibaba, &caller.account, region, image_id)
        .ok_or_else(not_found)?;
    let state = world.image_state(image).ok_or_else(not_found)?;
    let spec = &image.spec;
    if spec.flags.public {
        // Spelled as the CopyImage page spells it.
        return Err(AcsError::new(
            403,
            "Forbbiden",
            "User not authorized to operate on the specified resource.",
        ));
    }
    if state != ImageState::Available {
        return Err(AcsError::new(
            400,
            "IncorrectImageStatus",
            "The image not available.",
        ));
    }
    if spec.flags.shared && destination != region {
        return Err(AcsError::new(
            403,
            "OperationDenied.SameRegionOnly",
            "The image shared from others can not be copied to another region directly.",
        ));
    }
    // Own images are copied within their region only to change their encryption.
    if !spec.flags.shared && destination == region && !encrypted {
        return Err(AcsError::new(
            403,
            "IncorrectDestinationRegion",
            "The destination region is not equal the target region.",
        ));
    }
    if spec.flags.encrypted && !encrypted {
        return Err(AcsError::new(
            403,
            "OperationDeined.EncryptedSnapshot",
            "The image contains encrypted snapshots, which do not support copying to non-encrypted ones.",
        ));
    }
    if spec.size_gb + spec.data_disks_gb.iter().sum::<u64>() > MAX_COPY_GIB {
        return Err(AcsError::new(
            403,
            "SizeExceed.Image",
            "The image exceeds the maximum size. You can use the CopySnapshot API to copy your snapshots of the image and then create a new image from them.",
        ));
    }
    if spec.flags.busy {
        return Err(AcsError::new(
            403,
            "OperationDenied.ImageCopying",
            "The image is currently being copied. Please try again later.",
        ));
    }
    if copy_running(world, caller, image_id, destination) {
        return Err(AcsError::new(
            400,
            "OperationDenied.ImageCopyConflict",
            "The same image cannot be copied concurrently. Please wait until the last copy is completed before performing the next operation.",
        ));
    }
    Ok(spec.clone())
}

fn copy_running(world: &World, caller: &Caller, image_id: &str, destination: &str) -> bool {
    world.tasks.iter().any(|task| {
        task.cloud == Cloud::Alibaba
            && task.account == caller.account
            && matches!(&task.kind, TaskKind::Copy { image_id: source, destination_region, .. }
                if source == image_id && destination_region == destination)
            && world.phase(task).is_active()
    })
}

fn name_taken(world: &World, caller: &Caller, region: &str, name: &str) -> bool {
    world.images.iter().any(|image| {
        image.spec.cloud == Cloud::Alibaba
            && image.spec.account == caller.account
            && image.spec.region == region
            && image.spec.name == name
            && world.image_state(image).is_some()
    })
}

/// Registers the copy task and its destination image; returns the image's id.
fn start_copy(
    world: &mut World,
    caller: &Caller,
    source: &ImageSpec,
    destination: &str,
    name: Option<&str>,
    encrypted: bool,
) -> String {
    let image_id = ids::new_image_id(world, destination);
    let task_id = ids::new_task_id(world, &source.region);
    // ECS runs a limited number of copies per destination region; the rest wait their turn.
    let queued = world.running_copies(Cloud::Alibaba, &caller.account, Some(destination))
        >= world.limits.alibaba_copies_per_region;
    let now = world.now();
    let task = Task {
        id: task_id.clone(),
        cloud: Cloud::Alibaba,
        account: caller.account.clone(),
        region: source.region.clone(),
        kind: TaskKind::Copy {
            image_id: source.id.clone(),
            destination_region: destination.to_owned(),
            destination_image_id: image_id.clone(),
        },
        created: now,
        duration: world.task_duration(source, false),
        failure: None,
        cancelled: None,
        queued_behind_limit: queued,
    };
    let failure = source.flags.copy_fails.then(|| Failure {
        code: "CopyImageFailed".to_owned(),
        message: "The Image copy has been failed.".to_owned(),
    });
    world.add_task(task, failure);
    let mut spec = source.clone();
    spec.id = image_id.clone();
    spec.region = destination.to_owned();
    spec.account = caller.account.clone();
    spec.name = name.map_or_else(|| source.name.clone(), str::to_owned);
    spec.state = ImageState::Available;
    // The copy is the caller's own image, idle, and encrypted if either side asks for it.
    spec.flags.shared = false;
    spec.flags.public = false;
    spec.flags.busy = false;
    spec.flags.copy_fails = false;
    spec.flags.encrypted = source.flags.encrypted || encrypted;
    world.images.push(Image {
        spec,
        created: now,
        made_by: Some(task_id),
    });
    image_id
}

/// `CancelCopyImage`: `RegionId` is the destination region, `ImageId` the copy's new image.
pub fn cancel_copy_image(
    world: &mut World,
    caller: &Caller,
    params: &Params,
) -> Result<Map<String, Value>, AcsError> {
    let region = params.required(&["RegionId"], "RegionId")?;
    let image_id = params.required(&["ImageId"], "ImageId")?;
    if !regions::exists(region) {
        return Err(AcsError::region_not_found(404));
    }
    let image = world
        .own_image(Cloud::Alibaba, &caller.account, region, image_id)
        .ok_or_else(|| {
            AcsError::new(
                404,
                "InvalidImageId.NotFound",
                "The specified ImageId does not exist.",
            )
        })?;
    let Some(task_id) = image.made_by.clone() else {
        return Err(AcsError::new(
            400,
            "ImageCreatedNotFromCopy",
            "The specified image is not the target image of a copy action.",
        ));
    };
    let now = world.now();
    let phase = world
        .task(Cloud::Alibaba, &task_id)
        .map(|task| world.phase(task));
    match phase {
        Some(Phase::Pending | Phase::Running { .. }) => {
            if let Some(task) = world.task_mut(Cloud::Alibaba, &task_id) {
                task.cancelled = Some(now);
            }
            Ok(Map::new())
        }
        Some(Phase::Failed(_)) => Err(AcsError::new(
            400,
            "IncorrectImageStatus",
            "The Image copy has been failed.",
        )),
        _ => Err(AcsError::new(
            400,
            "IncorrectImageStatus",
            "The image has completed copy.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_follow_the_copy_image_rules() {
        assert!(valid_image_name("web-golden_2025.03:v1"));
        assert!(valid_image_name("镜像备份"));
        assert!(!valid_image_name("w"));
        assert!(!valid_image_name("1starts-with-digit"));
        assert!(!valid_image_name("aliyun-copy"));
        assert!(!valid_image_name("acs:copy"));
        assert!(!valid_image_name("has space"));
        assert!(!valid_image_name(&"a".repeat(129)));
    }

    #[test]
    fn descriptions_may_not_be_links() {
        assert!(valid_description("copied for DR"));
        assert!(!valid_description("x"));
        assert!(!valid_description("https://example.com"));
    }
}
