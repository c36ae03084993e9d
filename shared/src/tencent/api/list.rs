//! `DescribeImages` for a selector: the account's custom images (`image-type`
//! `PRIVATE_IMAGE`), narrowed by the cloud where it can (`image-name` with the glob's literal
//! start, which CVM matches fuzzily; `tag:<key>` per tag), paged with `Offset`/`Limit` 100 to
//! the end. `ImageIds` is never sent (CVM refuses it with `Filters`). Everything else (the
//! exact name, the state, the creation time, the exclusions, newest per name) is decided by
//! [`crate::select::choose`].

use serde_json::json;

use super::wire::{self, Image};
use crate::Cloud;
use crate::client::{CloudClient, Repeat};
use crate::error::{CloudError, ErrorKind};
use crate::select::{ListedImage, Selector};

/// The largest `Limit`.
pub const PAGE_SIZE: usize = 100;
/// Pages read at most (10 000 images): a longer listing fails rather than select from part.
pub const MAX_PAGES: usize = 100;

/// The filters a selector sends: at most 10 (the selector's tags are at most 8).
pub fn filters(selector: &Selector) -> Vec<serde_json::Value> {
    let mut filters = vec![json!({"Name": "image-type", "Values": ["PRIVATE_IMAGE"]})];
    let prefix = selector.name_prefix();
    if !prefix.is_empty() {
        filters.push(json!({"Name": "image-name", "Values": [prefix]}));
    }
    for (key, value) in &selector.tags {
        filters.push(json!({"Name": format!("tag:{key}"), "Values": [value]}));
    }
    filters
}

/// Every image of `region` the selector's cloud-side filters let through, read to the last
/// page, with how many calls it took.
pub async fn list(
    client: &CloudClient,
    region: &str,
    selector: &Selector,
) -> Result<(Vec<ListedImage>, usize), CloudError> {
    let filters = filters(selector);
    let mut listed = Vec::new();
    let mut offset = 0usize;
    for call in 1..=MAX_PAGES {
        let body = json!({"Filters": filters, "Offset": offset, "Limit": PAGE_SIZE});
        let answer = wire::call(client, "DescribeImages", region, &body, Repeat::Safe).await?;
        let page = wire::read_page(&answer)?;
        let images = page.image_set.unwrap_or_default();
        let count = images.len();
        for image in images {
            listed.push(
                listed_image(image).map_err(|message| {
                    wire::unexpected(ErrorKind::Unsupported, &answer, message)
                })?,
            );
        }
        offset += count;
        if count == 0 || offset as u64 >= page.total_count.unwrap_or(0) {
            return Ok((listed, call));
        }
    }
    Err(CloudError::new(
        Cloud::Tencent,
        ErrorKind::Unsupported,
        "Listing.TooLong",
        format!(
            "more than {} images in {region} pass the selector's filters",
            MAX_PAGES * PAGE_SIZE
        ),
    ))
}

fn listed_image(image: Image) -> Result<ListedImage, String> {
    let created_at = image.created_at().ok_or_else(|| {
        format!(
            "DescribeImages gave the image {} no readable CreatedTime",
            image.image_id
        )
    })?;
    Ok(ListedImage {
        private: image.image_type.as_deref() == Some("PRIVATE_IMAGE"),
        ready: image.image_state.as_deref() == Some("NORMAL"),
        name: image.image_name.clone().unwrap_or_default(),
        tags: image
            .tags
            .iter()
            .flatten()
            .map(|tag| (tag.key.clone(), tag.value.clone().unwrap_or_default()))
            .collect(),
        created_at,
        id: image.image_id,
    })
}

/// One image by id (`None`: CVM does not list it).
pub async fn describe(
    client: &CloudClient,
    region: &str,
    id: &str,
) -> Result<Option<ListedImage>, CloudError> {
    let mut found = wire::describe_by_ids(client, region, [id]).await?;
    found
        .remove(id)
        .map(|image| {
            listed_image(image).map_err(|message| {
                CloudError::new(
                    Cloud::Tencent,
                    ErrorKind::Unsupported,
                    "Response.Unexpected",
                    message,
                )
            })
        })
        .transpose()
}
