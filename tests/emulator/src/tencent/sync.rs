//! `SyncImages` (seed 002): copies one custom image into one or more regions. Each
//! destination gets a new image at once, `SYNCING` with `SyncPercent` while the copy runs,
//! then `NORMAL` (`CREATEFAILED` when the copy fails). `ImageSet` lists the new ids only with
//! `ImageSetRequired=true`; otherwise it repeats the source id per region, as the seed's
//! example 1 does.

use imgflow_shared::Cloud;
use serde_json::{Map, Value, json};

use super::Call;
use super::errors::TcError;
use super::export::ensure_image_idle;
use super::ids::{fresh_image_id, is_image_id};
use super::images::{is_cdc_image, is_instance_image};
use super::regions;
use crate::catalog::{ImageSpec, ImageState};
use crate::world::{Failure, Image, Task, TaskKind, World};

const PARAMETERS: [&str; 7] = [
    "ImageIds",
    "DestinationRegions",
    "DryRun",
    "ImageName",
    "ImageSetRequired",
    "Encrypt",
    "KmsKeyId",
];
/// The seed: one image per call.
const MAX_IMAGES: usize = 1;
/// The seed: at most 500 custom images per account and region.
const IMAGE_QUOTA_PER_REGION: usize = 500;
/// `ImageName` length (SDK docstring).
const MAX_NAME_CHARS: usize = 60;
/// Largest syncable image, GiB (emulator choice; the real limit is undocumented).
const MAX_SYNC_GB: u64 = 1024;

/// The seed's code for a source region that takes no part in image sync.
pub fn unsupported_source_region(region: &str) -> TcError {
    TcError::new(
        "UnsupportedOperation.Region",
        format!("Image sync is not supported in the region `{region}`."),
    )
}

struct SyncRequest {
    image_id: String,
    destinations: Vec<String>,
    name: Option<String>,
    return_new_ids: bool,
    encrypt: bool,
    dry_run: bool,
}

impl SyncRequest {
    fn read(call: &Call) -> Result<Self, TcError> {
        let params = &call.params;
        params.reject_unknown(&PARAMETERS)?;
        let ids = params
            .strings("ImageIds")?
            .filter(|ids| !ids.is_empty())
            .ok_or_else(|| TcError::missing("ImageIds"))?;
        if ids.len() > MAX_IMAGES {
            return Err(TcError::new(
                "InvalidParameterValue.LimitExceeded",
                format!(
                    "{} images were given; SyncImages syncs one image per call.",
                    ids.len()
                ),
            ));
        }
        let destinations = params
            .strings("DestinationRegions")?
            .filter(|regions| !regions.is_empty())
            .ok_or_else(|| TcError::missing("DestinationRegions"))?;
        let name = params.string("ImageName")?;
        if let Some(name) = &name
            && (name.is_empty() || name.chars().count() > MAX_NAME_CHARS)
        {
            return Err(TcError::new(
                "InvalidParameterValue.TooLong",
                format!("ImageName must have 1 to {MAX_NAME_CHARS} characters."),
            ));
        }
        let encrypt = params.bool("Encrypt")?.unwrap_or(false);
        if params.string("KmsKeyId")?.is_some() && !encrypt {
            return Err(TcError::new(
                "InvalidParameter",
                "KmsKeyId can only be given with Encrypt=true.",
            ));
        }
        Ok(Self {
            image_id: ids.into_iter().next().unwrap_or_default(),
            destinations,
            name,
            return_new_ids: params.bool("ImageSetRequired")?.unwrap_or(false),
            encrypt,
            dry_run: params.bool("DryRun")?.unwrap_or(false),
        })
    }
}

fn find_source<'w>(world: &'w World, call: &Call, id: &str) -> Result<&'w Image, TcError> {
    if !is_image_id(id) {
        return Err(TcError::new(
            "InvalidImageId.Malformed",
            format!("The image id `{id}` is malformed."),
        ));
    }
    world
        .own_image(Cloud::Tencent, &call.caller.account, &call.region, id)
        .ok_or_else(|| {
            TcError::new(
                "InvalidImageId.NotFound",
                format!("The image `{id}` does not exist."),
            )
        })
}

/// What the source image must be to be synced at all.
fn ensure_syncable(world: &World, image: &Image) -> Result<(), TcError> {
    let spec = &image.spec;
    let id = &spec.id;
    let refuse =
        |code: &'static str, why: &str| Err(TcError::new(code, format!("{why} (`{id}`).")));
    if spec.flags.public {
        return refuse(
            "InvalidParameterValue.InvalidImageId",
            "The image does not allow this operation",
        );
    }
    if is_instance_image(spec) {
        return refuse(
            "InvalidParameter.InstanceImageNotSupport",
            "This action does not support instance images",
        );
    }
    if is_cdc_image(spec) {
        return refuse(
            "UnsupportedOperation.LocationImageNotSupported",
            "This request does not support images of this location; please use another image",
        );
    }
    if world.image_state(image) == Some(ImageState::Failed) {
        return refuse(
            "InvalidImageId.IncorrectState",
            "The image state is illegal",
        );
    }
    ensure_image_idle(world, image)?;
    if spec.size_gb > MAX_SYNC_GB {
        return refuse(
            "InvalidImageId.TooLarge",
            &format!("The image is larger than the sync limit of {MAX_SYNC_GB} GiB"),
        );
    }
    Ok(())
}

/// The destination list rules: valid regions, not the source for a custom image, only the
/// source for a shared image or an encrypted copy.
fn check_destination(
    source: &Image,
    request: &SyncRequest,
    seen: &[String],
    region: &str,
) -> Result<(), TcError> {
    let invalid = |why: String| Err(TcError::new("InvalidParameterValue.InvalidRegion", why));
    if !regions::is_well_formed(region) {
        return invalid(format!("The region id `{region}` is malformed."));
    }
    if seen.iter().any(|r| r == region) {
        return invalid(format!("The region `{region}` is listed more than once."));
    }
    if !regions::is_known(region) {
        return Err(TcError::new(
            "InvalidRegion.NotFound",
            format!("The region `{region}` is not found."),
        ));
    }
    if !regions::supports_sync(region) {
        return Err(TcError::new(
            "InvalidRegion.Unavailable",
            format!("The region `{region}` does not support image sync at present."),
        ));
    }
    let same_region = region == source.spec.region;
    let only_source_region = source.spec.flags.shared || request.encrypt;
    if only_source_region && !same_region {
        return invalid(format!(
            "A shared image, or a copy made encrypted, can only be synced into its own region {}.",
            source.spec.region
        ));
    }
    if !only_source_region && same_region {
        return invalid(format!(
            "A custom image cannot be synced into its own region `{region}`."
        ));
    }
    if source.spec.flags.encrypted && !same_region {
        return Err(TcError::new(
            "UnsupportedOperation.EncryptedImagesNotSupported",
            format!("Encrypted images cannot be synced to another region (`{region}`)."),
        ));
    }
    Ok(())
}

/// Refusals that depend on what the destination already holds.
fn check_destination_state(
    world: &World,
    call: &Call,
    source: &Image,
    name: Option<&str>,
    region: &str,
) -> Result<(), TcError> {
    let syncing_there = world.tasks.iter().any(|task| {
        task.cloud == Cloud::Tencent
            && task.account == call.caller.account
            && matches!(&task.kind, TaskKind::Copy { image_id, destination_region, .. }
                if *image_id == source.spec.id && destination_region == region)
            && world.phase(task).is_active()
    });
    if syncing_there {
        return Err(TcError::new(
            "FailedOperation.InvalidImageState",
            format!(
                "The image `{}` is already being synced to {region}; please retry later.",
                source.spec.id
            ),
        ));
    }
    let held: Vec<&Image> = world
        .images
        .iter()
        .filter(|image| image.spec.cloud == Cloud::Tencent)
        .filter(|image| image.spec.account == call.caller.account && image.spec.region == region)
        .filter(|image| world.image_state(image).is_some())
        .collect();
    if held.len() >= IMAGE_QUOTA_PER_REGION {
        return Err(TcError::new(
            "ImageQuotaLimitExceeded",
            format!(
                "The region {region} already holds {} custom images; \
                 the quota is {IMAGE_QUOTA_PER_REGION}.",
                held.len()
            ),
        ));
    }
    if let Some(name) = name
        && held.iter().any(|image| image.spec.name == name)
    {
        return Err(TcError::new(
            "InvalidImageName.Duplicate",
            format!("An image named `{name}` already exists in {region}."),
        ));
    }
    Ok(())
}

pub fn sync_images(world: &mut World, call: &Call) -> Result<Map<String, Value>, TcError> {
    if !regions::supports_sync(&call.region) {
        return Err(unsupported_source_region(&call.region));
    }
    let request = SyncRequest::read(call)?;
    let source = find_source(world, call, &request.image_id)?;
    ensure_syncable(world, source)?;
    for (index, region) in request.destinations.iter().enumerate() {
        check_destination(source, &request, &request.destinations[..index], region)?;
        check_destination_state(world, call, source, request.name.as_deref(), region)?;
    }
    if request.dry_run {
        return Err(TcError::dry_run());
    }
    let source = source.clone();
    let mut image_set = Vec::new();
    for region in &request.destinations {
        let new_id = start_copy(world, call, &source, &request, region);
        let shown = if request.return_new_ids {
            &new_id
        } else {
            &source.spec.id
        };
        image_set.push(json!({"ImageId": shown, "Region": region}));
    }
    let mut fields = Map::new();
    fields.insert("ImageSet".into(), Value::Array(image_set));
    Ok(fields)
}

/// Registers the destination image and the copy task that makes it; returns the new id.
fn start_copy(
    world: &mut World,
    call: &Call,
    source: &Image,
    request: &SyncRequest,
    region: &str,
) -> String {
    let new_id = fresh_image_id(world);
    let task_id = format!("sync-{}", world.next_number());
    let mut flags = source.spec.flags.clone();
    flags.shared = false;
    flags.busy = false;
    flags.encrypted |= request.encrypt;
    let spec = ImageSpec {
        cloud: Cloud::Tencent,
        account: call.caller.account.clone(),
        region: region.to_owned(),
        id: new_id.clone(),
        name: request
            .name
            .clone()
            .unwrap_or_else(|| source.spec.name.clone()),
        size_gb: source.spec.size_gb,
        data_disks_gb: source.spec.data_disks_gb.clone(),
        os_type: source.spec.os_type.clone(),
        state: ImageState::Available,
        flags,
        tags: Default::default(),
    };
    let now = world.now();
    world.images.push(Image {
        spec,
        created: now,
        made_by: Some(task_id.clone()),
    });
    let failure = source.spec.flags.copy_fails.then(|| Failure {
        code: "FailedOperation.SyncImageFailed".to_owned(),
        message: format!(
            "Syncing `{}` to {region} failed: the snapshot copy was interrupted.",
            source.spec.id
        ),
    });
    let task = Task {
        id: task_id,
        cloud: Cloud::Tencent,
        account: call.caller.account.clone(),
        region: call.region.clone(),
        kind: TaskKind::Copy {
            image_id: source.spec.id.clone(),
            destination_region: region.to_owned(),
            destination_image_id: new_id.clone(),
        },
        created: now,
        duration: world.task_duration(&source.spec, false),
        failure: None,
        cancelled: None,
        queued_behind_limit: false,
    };
    world.add_task(task, failure);
    new_id
}
