//! `ListImages` (`GET /v2/cloudimages`) for a selector: the project's custom images
//! (`__imagetype=private`) that are ready (`status=active`), narrowed by IMS where it can
//! (`name` only when the glob has no wildcard, as IMS matches it whole; `created_at=gte:<UTC>`
//! for `created_within_days`; `tag=<key>=<value>`), paged with `limit` 100 and `marker` (the
//! last id of a page; the answer's `page_info.next_marker` says another page follows) to the
//! end. Parameter names are the SDK's `ListImagesRequest` attribute map (`imagetype` is sent as
//! `__imagetype`).
//!
//! Tags: the SDK model gives `ImageInfo.tags` as `list[str]` without saying how a key and a
//! value are written in it, so the answer's tags are never relied on. Each selector tag is one
//! filtered listing (`tag=key=value`, the form the API reference gives) and an image is kept
//! only when every listing has it; its tags are then the selector's, as IMS confirmed them.
//! A selector without tags is one listing. Everything else is decided by
//! [`crate::select::choose`].

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::wire::{CLOUD, LIST_IMAGES, SERVICE, images, ims_request, project, text};
use crate::client::{CloudClient, Repeat};
use crate::error::{CloudError, ErrorKind};
use crate::select::{ListedImage, Selector};
use crate::signing::{Timestamp, uri_encode};

/// `limit` of each page (IMS allows 1 000; 100 as on the other clouds).
pub const PAGE_SIZE: usize = 100;
/// Pages read at most per listing (10 000 images): a longer listing fails rather than select
/// from part.
pub const MAX_PAGES: usize = 100;

/// The query of one listing (without `marker`): `tag` is the one tag it filters on.
pub fn query(selector: &Selector, now: u64, tag: Option<(&str, &str)>) -> String {
    let mut pairs: Vec<(String, String)> = vec![
        ("__imagetype".into(), "private".into()),
        ("status".into(), "active".into()),
        ("limit".into(), PAGE_SIZE.to_string()),
    ];
    if let Some(name) = selector.exact_name() {
        pairs.push(("name".into(), name.to_owned()));
    }
    if let Some(days) = selector.created_within_days {
        let oldest = now.saturating_sub(u64::from(days) * 86_400);
        let at = Timestamp::from_unix_seconds(oldest).extended_iso8601();
        pairs.push(("created_at".into(), format!("gte:{at}")));
    }
    if let Some((key, value)) = tag {
        pairs.push(("tag".into(), format!("{key}={value}")));
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", uri_encode(k), uri_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Every image of `region` the selector's cloud-side filters let through, read to the last
/// page of each listing, with how many calls it took.
pub async fn list(
    client: &CloudClient,
    region: &str,
    selector: &Selector,
    now: u64,
) -> Result<(Vec<ListedImage>, usize), CloudError> {
    let mut calls = 0;
    if selector.tags.is_empty() {
        let (listed, n) = list_one(client, region, &query(selector, now, None)).await?;
        return Ok((listed, n));
    }
    let mut kept: Option<BTreeMap<String, ListedImage>> = None;
    for (key, value) in &selector.tags {
        let (listed, n) =
            list_one(client, region, &query(selector, now, Some((key, value)))).await?;
        calls += n;
        let ids: BTreeSet<String> = listed.iter().map(|image| image.id.clone()).collect();
        kept = Some(match kept {
            None => listed.into_iter().map(|i| (i.id.clone(), i)).collect(),
            Some(mut before) => {
                before.retain(|id, _| ids.contains(id));
                before
            }
        });
    }
    let listed = kept
        .unwrap_or_default()
        .into_values()
        .map(|mut image| {
            image.tags = selector.tags.clone();
            image
        })
        .collect();
    Ok((listed, calls))
}

/// One image by id (`None`: IMS does not list it).
pub async fn describe(
    client: &CloudClient,
    region: &str,
    id: &str,
) -> Result<Option<ListedImage>, CloudError> {
    let (listed, _) = list_one(client, region, &format!("id={}", uri_encode(id))).await?;
    Ok(listed.into_iter().find(|image| image.id == id))
}

/// One listing, paged with `marker` to the end.
async fn list_one(
    client: &CloudClient,
    region: &str,
    base: &str,
) -> Result<(Vec<ListedImage>, usize), CloudError> {
    let project = project(client, region)?;
    let mut listed = Vec::new();
    let mut marker: Option<String> = None;
    for page in 1..=MAX_PAGES {
        let query = match &marker {
            None => base.to_owned(),
            Some(marker) => format!("{base}&marker={}", uri_encode(marker)),
        };
        let http = ims_request("GET", "/v2/cloudimages".into(), query, None, project);
        let answer = client
            .call(CLOUD, LIST_IMAGES, region, SERVICE, &http, Repeat::Safe)
            .await?;
        let mut count = 0;
        for image in images(&answer) {
            count += 1;
            listed.push(listed_image(image)?);
        }
        let next = answer
            .get("page_info")
            .and_then(|info| info.get("next_marker"))
            .and_then(Value::as_str)
            .filter(|next| !next.is_empty())
            .map(str::to_owned);
        match next {
            Some(next) if count > 0 && marker.as_deref() != Some(next.as_str()) => {
                marker = Some(next);
            }
            _ => return Ok((listed, page)),
        }
    }
    Err(CloudError::new(
        CLOUD,
        ErrorKind::Unsupported,
        "Listing.TooLong",
        format!(
            "more than {} images in {region} pass the selector's filters",
            MAX_PAGES * PAGE_SIZE
        ),
    ))
}

fn listed_image(image: &Value) -> Result<ListedImage, CloudError> {
    let id = text(image, "id").unwrap_or_default().to_owned();
    let created_at = text(image, "created_at")
        .and_then(crate::idempotence::rfc3339_seconds)
        .ok_or_else(|| {
            CloudError::new(
                CLOUD,
                ErrorKind::Unsupported,
                "Response.Unexpected",
                format!("ListImages gave the image {id} no readable created_at"),
            )
        })?;
    Ok(ListedImage {
        private: text(image, "__imagetype") == Some("private"),
        ready: text(image, "status") == Some("active"),
        name: text(image, "name").unwrap_or_default().to_owned(),
        tags: BTreeMap::new(),
        created_at,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_uses_the_sdk_names_and_encodes_the_filters() {
        let selector: Selector = serde_json::from_value(serde_json::json!({
            "name": "web 1", "created_within_days": 1
        }))
        .expect("a selector");
        assert_eq!(
            query(&selector, 86_400 * 2, Some(("backup", "nightly"))),
            "__imagetype=private&status=active&limit=100&name=web%201\
             &created_at=gte%3A1970-01-02T00%3A00%3A00Z&tag=backup%3Dnightly"
        );
        let glob: Selector =
            serde_json::from_value(serde_json::json!({"name": "web-*"})).expect("a selector");
        assert_eq!(
            query(&glob, 0, None),
            "__imagetype=private&status=active&limit=100"
        );
    }
}
