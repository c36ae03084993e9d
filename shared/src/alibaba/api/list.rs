//! `DescribeImages` for a selector: the account's own images (`ImageOwnerAlias=self`) that
//! are ready (`Status=Available`), narrowed by ECS where it can (`ImageName` with the glob's
//! literal start, which ECS matches fuzzily; `Tag.N.Key`/`Tag.N.Value`, N ≤ 20, per tag),
//! paged with `PageNumber`/`PageSize` 100 to the end. Everything else is decided by
//! [`crate::select::choose`].

use serde_json::Value;

use super::wire::{self, CLOUD, DESCRIBE_IMAGES, PAGE_SIZE, Query, rows, text};
use crate::client::{CloudClient, Repeat};
use crate::error::{CloudError, ErrorKind};
use crate::select::{ListedImage, Selector};

/// Pages read at most (10 000 images): a longer listing fails rather than select from part.
pub const MAX_PAGES: usize = 100;
const ROWS_PER_PAGE: usize = 100;

/// The query of page `page` (from 1).
fn query(region: &str, selector: &Selector, page: usize) -> Query {
    let mut query = Query::region(region)
        .with("ImageOwnerAlias", "self")
        .with("Status", "Available");
    let prefix = selector.name_prefix();
    if !prefix.is_empty() {
        query = query.with("ImageName", prefix);
    }
    for (n, (key, value)) in selector.tags.iter().enumerate() {
        query = query
            .with(&format!("Tag.{}.Key", n + 1), key.as_str())
            .with(&format!("Tag.{}.Value", n + 1), value.as_str());
    }
    query
        .with("PageNumber", page.to_string())
        .with("PageSize", PAGE_SIZE)
}

/// Every image of `region` the selector's cloud-side filters let through, read to the last
/// page, with how many calls it took.
pub async fn list(
    client: &CloudClient,
    region: &str,
    selector: &Selector,
) -> Result<(Vec<ListedImage>, usize), CloudError> {
    let mut listed = Vec::new();
    for page in 1..=MAX_PAGES {
        let document = wire::call(
            client,
            DESCRIBE_IMAGES,
            region,
            &query(region, selector, page),
            Repeat::Safe,
        )
        .await?;
        let mut count = 0;
        for row in rows(&document, "Images", "Image") {
            count += 1;
            listed.push(listed_image(row).map_err(|message| {
                CloudError::new(
                    CLOUD,
                    ErrorKind::Unsupported,
                    "Response.Unexpected",
                    message,
                )
                .with_request_id(wire::request_id(&document))
            })?);
        }
        let total = document.get("TotalCount").and_then(Value::as_u64);
        let seen = (page - 1) * ROWS_PER_PAGE + count;
        if count == 0 || total.is_none_or(|total| seen as u64 >= total) {
            return Ok((listed, page));
        }
    }
    Err(CloudError::new(
        CLOUD,
        ErrorKind::Unsupported,
        "Listing.TooLong",
        format!(
            "more than {} images in {region} pass the selector's filters",
            MAX_PAGES * ROWS_PER_PAGE
        ),
    ))
}

/// One image by id (`None`: ECS does not list it as one of the account's).
pub async fn describe(
    client: &CloudClient,
    region: &str,
    id: &str,
) -> Result<Option<ListedImage>, CloudError> {
    let query = Query::region(region)
        .with("ImageId", id)
        .with("ImageOwnerAlias", "self");
    let document = wire::call(client, DESCRIBE_IMAGES, region, &query, Repeat::Safe).await?;
    rows(&document, "Images", "Image")
        .find(|row| text(row, "ImageId") == Some(id))
        .map(|row| {
            listed_image(row).map_err(|message| {
                CloudError::new(
                    CLOUD,
                    ErrorKind::Unsupported,
                    "Response.Unexpected",
                    message,
                )
            })
        })
        .transpose()
}

/// ECS's `CreationTime` (`yyyy-MM-ddTHH:mmZ` or `yyyy-MM-ddTHH:mm:ssZ`) in unix seconds.
pub fn creation_seconds(text: &str) -> Option<u64> {
    match text.len() {
        17 => crate::idempotence::rfc3339_seconds(&format!("{}:00Z", text.strip_suffix('Z')?)),
        _ => crate::idempotence::rfc3339_seconds(text),
    }
}

fn listed_image(row: &Value) -> Result<ListedImage, String> {
    let id = text(row, "ImageId").unwrap_or_default().to_owned();
    let created_at = text(row, "CreationTime")
        .and_then(creation_seconds)
        .ok_or_else(|| format!("DescribeImages gave the image {id} no readable CreationTime"))?;
    Ok(ListedImage {
        private: text(row, "ImageOwnerAlias") == Some("self"),
        ready: text(row, "Status") == Some("Available"),
        name: text(row, "ImageName").unwrap_or_default().to_owned(),
        tags: rows(row, "Tags", "Tag")
            .filter_map(|tag| {
                Some((
                    text(tag, "TagKey")?.to_owned(),
                    text(tag, "TagValue").unwrap_or_default().to_owned(),
                ))
            })
            .collect(),
        created_at,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_times_read_with_and_without_seconds() {
        assert_eq!(creation_seconds("1970-01-01T00:01Z"), Some(60));
        assert_eq!(creation_seconds("1970-01-01T00:01:05Z"), Some(65));
        assert_eq!(creation_seconds("yesterday"), None);
    }
}
