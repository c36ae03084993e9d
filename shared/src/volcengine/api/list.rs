//! `DescribeImages` for a selector: the account's custom images (`Visibility=private`) that
//! are ready (`Status.1=available`), narrowed by ECS where it can (`ImageName` only when the
//! glob has no wildcard, as the emulator, like the SDK model, matches it whole;
//! `TagFilters.N.Key`/`TagFilters.N.Values.1` per tag), paged with `MaxResults` 100 and
//! `NextToken` to the end. `CreatedAt` is read with its offset (`+08:00`). Everything else is
//! decided by [`crate::select::choose`].

use super::wire::{self, Query, WireImage};
use crate::Cloud;
use crate::client::CloudClient;
use crate::error::{CloudError, ErrorKind};
use crate::select::{ListedImage, Selector};

/// The query a selector sends (paging is added by the listing).
pub fn query(selector: &Selector) -> Query {
    let mut query = Query::new()
        .param("Visibility", "private")
        .param("Status.1", "available")
        .optional("ImageName", selector.exact_name());
    for (n, (key, value)) in selector.tags.iter().enumerate() {
        query = query
            .param(&format!("TagFilters.{}.Key", n + 1), key)
            .param(&format!("TagFilters.{}.Values.1", n + 1), value);
    }
    query
}

/// Every image of `region` the selector's cloud-side filters let through, read to the last
/// page, with how many calls it took.
pub async fn list(
    client: &CloudClient,
    region: &str,
    selector: &Selector,
) -> Result<(Vec<ListedImage>, usize), CloudError> {
    let (images, calls) = wire::describe_images_counted(client, region, query(selector)).await?;
    let listed = images
        .into_iter()
        .map(listed_image)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((listed, calls))
}

/// One image by id (`None`: ECS does not list it).
pub async fn describe(
    client: &CloudClient,
    region: &str,
    id: &str,
) -> Result<Option<ListedImage>, CloudError> {
    let (images, _) =
        wire::describe_images_counted(client, region, Query::new().param("ImageIds.1", id)).await?;
    images
        .into_iter()
        .find(|image| image.image_id == id)
        .map(listed_image)
        .transpose()
}

fn listed_image(image: WireImage) -> Result<ListedImage, CloudError> {
    let created_at = image.created().ok_or_else(|| {
        CloudError::new(
            Cloud::Volcengine,
            ErrorKind::Unsupported,
            "Response.Unexpected",
            format!(
                "DescribeImages gave the image {} the unreadable CreatedAt `{}`",
                image.image_id, image.created_at
            ),
        )
    })?;
    Ok(ListedImage {
        private: image.visibility == "private",
        ready: image.status == "available",
        name: image.image_name,
        tags: image
            .tags
            .into_iter()
            .map(|tag| (tag.key, tag.value))
            .collect(),
        created_at,
        id: image.image_id,
    })
}
