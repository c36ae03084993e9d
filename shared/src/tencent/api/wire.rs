//! CVM 2017-03-12 on the wire: the JSON `POST /` every action takes, `DescribeImages` by ids
//! (in batches) and by name (paged), the image states, and the answer fields imgflow reads.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Cloud;
use crate::batch;
use crate::client::{CloudClient, Repeat};
use crate::error::{CloudError, ErrorKind};
use crate::model::TaskRef;
use crate::signing::{HttpRequest, days_from_civil};
use crate::tencent::request;

/// The service in the credential scope.
const SERVICE: &str = "cvm";
const VERSION: &str = "2017-03-12";
/// The most ids one `DescribeImages` takes (emulator and WIRE.md: the real limit is not
/// documented, 100 is the `Limit` maximum), and the largest page.
pub const MAX_IDS: usize = 100;
const PAGE_SIZE: usize = 100;
/// A name listing longer than this many pages is not read to its end: the lookups that list
/// by name must see every match, and would rather fail than decide on part of it.
const MAX_PAGES: usize = 50;

/// Sends `action` with the JSON `body` to `region` and returns the `Response` object.
pub async fn call(
    client: &CloudClient,
    action: &str,
    region: &str,
    body: &Value,
    repeat: Repeat,
) -> Result<Value, CloudError> {
    client
        .call(
            Cloud::Tencent,
            action,
            region,
            SERVICE,
            &post(action, region, body),
            repeat,
        )
        .await
}

/// The unsigned request as the SDK sends it; the client fills the host and signs.
fn post(action: &str, region: &str, body: &Value) -> HttpRequest {
    let mut request = HttpRequest::new("POST", "", "/");
    request.set_header("Content-Type", "application/json");
    request.set_header("X-TC-Action", action);
    request.set_header("X-TC-Version", VERSION);
    request.set_header("X-TC-Region", region);
    request.body = body.to_string().into_bytes();
    request
}

/// The request id of a success document, for errors about its content.
pub fn request_id(answer: &Value) -> Option<String> {
    answer
        .get("RequestId")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// A success answer without the fields the action documents.
pub fn unexpected(kind: ErrorKind, answer: &Value, message: String) -> CloudError {
    CloudError::new(Cloud::Tencent, kind, "Response.Unexpected", message)
        .with_request_id(request_id(answer))
}

/// The SDK's `Image`, the fields imgflow reads (every field may be null).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Image {
    pub image_id: String,
    #[serde(default)]
    pub image_name: Option<String>,
    #[serde(default)]
    pub image_state: Option<String>,
    /// `YYYY-MM-DDThh:mm:ssZ`.
    #[serde(default)]
    pub created_time: Option<String>,
    /// The copy's percentage while `SYNCING`; "may be null".
    #[serde(default)]
    pub sync_percent: Option<f64>,
    /// The image's disks, one snapshot each: an export names its objects after them.
    #[serde(default)]
    pub snapshot_set: Option<Vec<Snapshot>>,
    /// `PRIVATE_IMAGE`, `PUBLIC_IMAGE`, `SHARED_IMAGE`.
    #[serde(default)]
    pub image_type: Option<String>,
    /// The SDK's `Tag` list.
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
}

/// The SDK's `Tag`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// The SDK's `Snapshot` in an `Image`, the fields imgflow reads.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Snapshot {
    #[serde(default)]
    pub snapshot_id: Option<String>,
    /// `SYSTEM_DISK` or `DATA_DISK`.
    #[serde(default)]
    pub disk_usage: Option<String>,
}

impl Image {
    /// The raw `ImageState` word (empty when the cloud left it out).
    pub fn state_word(&self) -> &str {
        self.image_state.as_deref().unwrap_or_default()
    }

    pub fn state(&self) -> Result<ImageState, CloudError> {
        ImageState::parse(self.state_word()).ok_or_else(|| {
            unknown_state(&format!("the image {}", self.image_id), self.state_word())
        })
    }

    /// `SyncPercent` as a percentage, when the cloud gives one.
    pub fn percent(&self) -> Option<u8> {
        self.sync_percent
            .filter(|p| p.is_finite())
            .map(|p| p.clamp(0.0, 100.0).floor() as u8)
    }

    /// When the image was created, in unix seconds, if the cloud said so readably.
    pub fn created_at(&self) -> Option<u64> {
        self.created_time.as_deref().and_then(unix_seconds)
    }
}

/// The six documented `ImageState` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageState {
    Creating,
    Normal,
    CreateFailed,
    Syncing,
    Importing,
    ImportFailed,
}

impl ImageState {
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "CREATING" => ImageState::Creating,
            "NORMAL" => ImageState::Normal,
            "CREATEFAILED" => ImageState::CreateFailed,
            "SYNCING" => ImageState::Syncing,
            "IMPORTING" => ImageState::Importing,
            "IMPORTFAILED" => ImageState::ImportFailed,
            _ => return None,
        })
    }

    pub fn is_failed(self) -> bool {
        matches!(self, ImageState::CreateFailed | ImageState::ImportFailed)
    }
}

/// A state word this module does not know: an error, never "still running".
pub fn unknown_state(what: &str, raw: &str) -> CloudError {
    let shown = if raw.is_empty() { "(none)" } else { raw };
    CloudError::new(
        Cloud::Tencent,
        ErrorKind::Unsupported,
        "State.Unknown",
        format!("{what} reports the unknown ImageState `{shown}`"),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImagePage {
    #[serde(default)]
    pub total_count: Option<u64>,
    #[serde(default)]
    pub image_set: Option<Vec<Image>>,
}

pub fn read_page(answer: &Value) -> Result<ImagePage, CloudError> {
    ImagePage::deserialize(answer).map_err(|err| {
        unexpected(
            ErrorKind::Unsupported,
            answer,
            format!("DescribeImages answered an ImageSet that cannot be read: {err}"),
        )
    })
}

/// The images among `ids` that exist in `region`, by id, in as few calls as the limit allows.
/// Malformed and repeated ids are not asked for; ids the cloud does not know are simply
/// absent (DescribeImages leaves them out).
pub async fn describe_by_ids<'a>(
    client: &CloudClient,
    region: &str,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, Image>, CloudError> {
    let mut ids: Vec<&str> = ids.into_iter().filter(|id| is_image_id(id)).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut found = HashMap::new();
    for batch in ids.chunks(MAX_IDS) {
        let body = json!({"ImageIds": batch, "Offset": 0, "Limit": PAGE_SIZE});
        let answer = call(client, "DescribeImages", region, &body, Repeat::Safe).await?;
        for image in read_page(&answer)?.image_set.unwrap_or_default() {
            found.insert(image.image_id.clone(), image);
        }
    }
    Ok(found)
}

/// Every image in `region` whose name is exactly `name` (the `image-name` filter is fuzzy).
pub async fn describe_by_name(
    client: &CloudClient,
    region: &str,
    name: &str,
) -> Result<Vec<Image>, CloudError> {
    let mut listed = Vec::new();
    let mut offset = 0;
    for _ in 0..MAX_PAGES {
        let body = json!({
            "Filters": [{"Name": "image-name", "Values": [name]}],
            "Offset": offset,
            "Limit": PAGE_SIZE,
        });
        let answer = call(client, "DescribeImages", region, &body, Repeat::Safe).await?;
        let page = read_page(&answer)?;
        let images = page.image_set.unwrap_or_default();
        let count = images.len();
        listed.extend(images);
        offset += count;
        let total = page.total_count.unwrap_or(0);
        if count == 0 || offset as u64 >= total {
            listed.retain(|image| image.image_name.as_deref() == Some(name));
            return Ok(listed);
        }
    }
    Err(CloudError::new(
        Cloud::Tencent,
        ErrorKind::Unsupported,
        "Listing.TooLong",
        format!(
            "more than {} images in {region} match the name `{name}`",
            MAX_PAGES * PAGE_SIZE
        ),
    ))
}

/// Whether `id` has the shape DescribeImages accepts; one malformed id fails a whole batch.
pub fn is_image_id(id: &str) -> bool {
    request::image_id("image_id", id).is_ok()
}

/// `YYYY-MM-DDThh:mm:ssZ` → unix seconds; `None` for any other shape.
pub fn unix_seconds(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let shape = bytes.len() == 20
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            19 => *b == b'Z',
            _ => b.is_ascii_digit(),
        });
    if !shape {
        return None;
    }
    let number = |from: usize, to: usize| text.get(from..to)?.parse::<u64>().ok();
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 61
        && year >= 1970;
    if !valid {
        return None;
    }
    let days = days_from_civil(
        i64::try_from(year).ok()?,
        i64::try_from(month).ok()?,
        i64::try_from(day).ok()?,
    )?;
    let days = u64::try_from(days).ok()?;
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// A TaskRef without what its status needs: it was not made by these starts.
pub(super) fn incomplete(task: &TaskRef, field: &str) -> CloudError {
    batch::incomplete(Cloud::Tencent, task, field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::Timestamp;

    #[test]
    fn times_round_trip_through_the_signing_clock() {
        for unix in [0, 951_782_400, 1_767_225_599, 1_709_164_800, 4_102_444_800] {
            let text = Timestamp::from_unix_seconds(unix).extended_iso8601();
            assert_eq!(unix_seconds(&text), Some(unix), "{text}");
        }
        for bad in [
            "",
            "2025-03-04 08:15:30",
            "2025-13-04T08:15:30Z",
            "2025-03-04T08:15:30+08:00",
            "+025-03-04T08:15:30Z",
        ] {
            assert_eq!(unix_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_request_is_the_sdk_json_post() {
        let request = post(
            "DescribeImages",
            "ap-guangzhou",
            &json!({"ImageIds": ["img-web00001"]}),
        );
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("POST", "/")
        );
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("x-tc-action"), Some("DescribeImages"));
        assert_eq!(request.header("x-tc-version"), Some("2017-03-12"));
        assert_eq!(request.header("x-tc-region"), Some("ap-guangzhou"));
        assert_eq!(request.body, br#"{"ImageIds":["img-web00001"]}"#);
    }

    #[test]
    fn states_and_progress_are_read_strictly() {
        let image: Image = serde_json::from_value(json!({
            "ImageId": "img-a", "ImageState": "SYNCING", "SyncPercent": 42, "Tags": []
        }))
        .expect("an image");
        assert_eq!(image.state().expect("known"), ImageState::Syncing);
        assert_eq!(image.percent(), Some(42));
        let odd: Image = serde_json::from_value(
            json!({"ImageId": "img-a", "ImageState": "EXPORTING", "SyncPercent": null}),
        )
        .expect("an image");
        let err = odd.state().expect_err("unknown");
        assert_eq!(
            (err.kind, err.code.as_str()),
            (ErrorKind::Unsupported, "State.Unknown")
        );
        assert!(err.message.contains("EXPORTING"));
        assert_eq!(odd.percent(), None);
    }
}
