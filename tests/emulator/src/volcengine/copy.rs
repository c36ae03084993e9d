//! `CopyImage` (doc 6396/124454): copies a custom image into another region. Signed for
//! the source region; answers with the destination image id, whose progress is a
//! `CopyImage` task visible through `DescribeTasks` in the destination region.

use imgflow_shared::Cloud;
use serde_json::{Value, json};

use super::auth::Authenticated;
use super::errors::{self, ApiError};
use super::params::Params;
use super::render::opaque_id;
use super::tasks::{Lock, image_is_locked};
use crate::catalog::{ImageFlags, ImageSpec, ImageState};
use crate::world::{Failure, Image, Task, TaskKind, World};

/// Regions the emulator knows as copy destinations.
pub const REGIONS: [&str; 6] = [
    "cn-beijing",
    "cn-shanghai",
    "cn-guangzhou",
    "cn-hongkong",
    "ap-southeast-1",
    "ap-southeast-3",
];

pub fn copy_image(
    world: &mut World,
    who: &Authenticated,
    params: &Params,
) -> Result<Value, ApiError> {
    let account = who.caller.account.as_str();
    let region = who.region.as_str();
    let image_id = required(params, "ImageId")?;
    let destination = required(params, "DestinationRegion")?;
    let name = required(params, "ImageName")?;
    let description = params.get("Description").unwrap_or_default();
    if !is_valid_name(name) || !is_valid_description(description) {
        return Err(errors::invalid_argument());
    }
    if !matches!(params.get("CopyImageTags"), None | Some("true" | "false")) {
        return Err(errors::invalid_argument());
    }
    if destination == region || !REGIONS.contains(&destination) {
        return Err(errors::invalid_argument());
    }
    let image = world
        .own_image(Cloud::Volcengine, account, region, image_id)
        .ok_or_else(errors::image_not_found)?;
    let flags = &image.spec.flags;
    if flags.public || flags.shared {
        return Err(errors::image_not_supported_for_copy());
    }
    if world.image_state(image) != Some(ImageState::Available) {
        return Err(errors::invalid_image_status());
    }
    let lock = Lock::ExportsAndCopiesInto(destination);
    if flags.busy || image_is_locked(world, account, image_id, lock) {
        return Err(errors::resource_locked());
    }
    let source = image.spec.clone();
    let number = world.next_number();
    let task_id = opaque_id("t-", number);
    let destination_image_id = opaque_id("image-", number);
    let now = world.now();
    let failure = source.flags.copy_fails.then(|| Failure {
        code: "CopyImageFailed".to_owned(),
        message: "Copying the image to the destination region failed.".to_owned(),
    });
    let task = Task {
        id: task_id.clone(),
        cloud: Cloud::Volcengine,
        account: account.to_owned(),
        region: region.to_owned(),
        kind: TaskKind::Copy {
            image_id: image_id.to_owned(),
            destination_region: destination.to_owned(),
            destination_image_id: destination_image_id.clone(),
        },
        created: now,
        duration: world.task_duration(&source, false),
        failure: None,
        cancelled: None,
        queued_behind_limit: false,
    };
    world.add_task(task, failure);
    world.images.push(Image {
        spec: ImageSpec {
            region: destination.to_owned(),
            id: destination_image_id.clone(),
            name: name.to_owned(),
            // The copy is a plain custom image: none of the source's test behaviours carry over.
            flags: ImageFlags {
                encrypted: source.flags.encrypted,
                ..ImageFlags::default()
            },
            state: ImageState::Available,
            ..source
        },
        created: now,
        made_by: Some(task_id),
    });
    Ok(json!({ "ImageId": destination_image_id }))
}

fn required<'a>(params: &'a Params, name: &'static str) -> Result<&'a str, ApiError> {
    params
        .non_empty(name)
        .ok_or_else(|| errors::missing_business_parameter(name))
}

fn is_chinese(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

fn starts_with_letter(text: &str) -> bool {
    text.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || is_chinese(c))
}

/// 1–128 characters, starting with a letter or a Chinese character; Chinese, letters,
/// digits, `_`, `-` and `.`.
fn is_valid_name(name: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || is_chinese(c) || "_-.".contains(c);
    (1..=128).contains(&name.chars().count())
        && starts_with_letter(name)
        && name.chars().all(allowed)
}

/// Empty, or up to 255 characters starting with a letter or a Chinese character; Chinese,
/// letters, digits, `_ - = , .`, full-width `，` and `。`, and spaces.
fn is_valid_description(description: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || is_chinese(c) || "_-=,.，。 ".contains(c);
    description.is_empty()
        || (description.chars().count() <= 255
            && starts_with_letter(description)
            && description.chars().all(allowed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_documented_rules() {
        assert!(is_valid_name("web-golden_2025.03"));
        assert!(is_valid_name("镜像-copy"));
        for bad in [
            "",
            "1starts-with-digit",
            "_x",
            "has space",
            "slash/",
            &"a".repeat(129),
        ] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn descriptions_may_be_empty_or_follow_the_documented_rules() {
        assert!(is_valid_description(""));
        assert!(is_valid_description("Copy of web, v2。 ok=yes"));
        for bad in [
            "9 starts with digit",
            "bad/char",
            &format!("a{}", "b".repeat(255)),
        ] {
            assert!(!is_valid_description(bad), "{bad}");
        }
    }
}
