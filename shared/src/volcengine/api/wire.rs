//! ECS 2020-04-01 on the wire: the query as the SDK builds it, the two Describe calls with
//! their pages, and the answer fields imgflow reads.

use serde::Deserialize;
use serde_json::Value;

use crate::Cloud;
use crate::batch;
use crate::client::{CloudClient, Repeat};
use crate::error::{CloudError, ErrorKind};
use crate::model::TaskRef;
use crate::signing::{HttpRequest, days_from_civil, uri_encode};

/// The service in the credential scope.
const SERVICE: &str = "ecs";
const VERSION: &str = "2020-04-01";
/// The most ids `TaskIds.N`, `ResourceIds.N` and `ImageIds.N` may carry, and the largest page.
pub const MAX_IDS: usize = 100;
const PAGE_SIZE: &str = "100";
/// A listing longer than this many pages is not read to its end: lookups that must see every
/// match would rather fail than decide on part of it.
const MAX_PAGES: usize = 50;

/// Query parameters in the order they are added; `Action` and `Version` go last, as the SDK
/// sends them. Every name and value is RFC 3986-encoded (the signer re-sorts its own copy).
#[derive(Clone, Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.pairs.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Leaves the parameter out when there is no value, as the SDK drops `None`.
    pub fn optional(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.param(name, value),
            None => self,
        }
    }

    /// A list as `Name.1`, `Name.2`, … (1-based).
    pub fn list<'a>(mut self, name: &str, values: impl IntoIterator<Item = &'a str>) -> Self {
        for (index, value) in values.into_iter().enumerate() {
            self.pairs
                .push((format!("{name}.{}", index + 1), value.to_owned()));
        }
        self
    }

    /// The query string as it goes on the wire.
    pub fn encode(&self, action: &str) -> String {
        let mut parts: Vec<String> = self
            .pairs
            .iter()
            .map(|(name, value)| format!("{}={}", uri_encode(name), uri_encode(value)))
            .collect();
        parts.push(format!("Action={}", uri_encode(action)));
        parts.push(format!("Version={VERSION}"));
        parts.join("&")
    }

    /// An unsigned `GET /?…` with the SDK's `Accept` and `Content-Type` (the client fills
    /// the host and signs).
    fn request(&self, action: &str) -> HttpRequest {
        let mut request = HttpRequest::new("GET", "", "/");
        request.query = self.encode(action);
        request.set_header("Accept", "application/json");
        request.set_header("Content-Type", "text/plain");
        request
    }
}

/// Sends `action` signed for `region` and returns its `Result` object.
pub async fn call(
    client: &CloudClient,
    action: &str,
    region: &str,
    query: &Query,
    repeat: Repeat,
) -> Result<Value, CloudError> {
    client
        .call(
            Cloud::Volcengine,
            action,
            region,
            SERVICE,
            &query.request(action),
            repeat,
        )
        .await
}

/// A `DescribeTasks` task.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct WireTask {
    pub id: String,
    /// `ExportImage`, `CopyImage`, …
    #[serde(rename = "Type")]
    pub kind: String,
    /// `Pending`, `Running`, `Succeeded`, `Failed` (or `UnknownStatus`).
    pub status: String,
    /// Percent done: an int, though the SDK also accepts a numeric string.
    pub process: Value,
    pub resource_id: String,
    pub created_at: String,
    pub end_at: String,
}

impl WireTask {
    pub fn progress(&self) -> Option<u8> {
        let percent = match &self.process {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }?;
        Some(percent.min(100) as u8)
    }

    /// `CreatedAt` in unix seconds, when it reads as RFC 3339.
    pub fn created(&self) -> Option<u64> {
        parse_rfc3339(&self.created_at)
    }
}

/// A `DescribeImages` image.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct WireImage {
    pub image_id: String,
    pub image_name: String,
    /// `available`, `creating`, `error`.
    pub status: String,
    pub created_at: String,
    pub snapshots: Vec<WireSnapshot>,
    /// `private`, `public`, `shared`.
    pub visibility: String,
    pub tags: Vec<WireTag>,
}

/// The SDK's `TagForDescribeImagesOutput`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct WireTag {
    pub key: String,
    pub value: String,
}

impl WireImage {
    pub fn created(&self) -> Option<u64> {
        parse_rfc3339(&self.created_at)
    }

    /// How many data disks the image holds (one `data` snapshot each).
    pub fn data_disks(&self) -> usize {
        self.snapshots
            .iter()
            .filter(|snapshot| snapshot.volume_kind == "data")
            .count()
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct WireSnapshot {
    pub volume_kind: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TasksPage {
    #[serde(default)]
    tasks: Vec<WireTask>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ImagesPage {
    #[serde(default)]
    images: Vec<WireImage>,
    #[serde(default)]
    next_token: Option<String>,
}

/// Every task `DescribeTasks` in `region` lists for `filter`, all pages.
pub async fn describe_tasks(
    client: &CloudClient,
    region: &str,
    filter: Query,
) -> Result<Vec<WireTask>, CloudError> {
    let (pages, _) = all_pages(client, "DescribeTasks", region, filter, |result| {
        serde_json::from_value::<TasksPage>(result).map(|page| (page.tasks, page.next_token))
    })
    .await?;
    Ok(pages
        .into_iter()
        .filter(|task| !task.id.is_empty())
        .collect())
}

/// Every image `DescribeImages` in `region` lists for `filter`, all pages.
pub async fn describe_images(
    client: &CloudClient,
    region: &str,
    filter: Query,
) -> Result<Vec<WireImage>, CloudError> {
    describe_images_counted(client, region, filter)
        .await
        .map(|(images, _)| images)
}

/// [`describe_images`] with the number of calls it took.
pub async fn describe_images_counted(
    client: &CloudClient,
    region: &str,
    filter: Query,
) -> Result<(Vec<WireImage>, usize), CloudError> {
    let (pages, calls) = all_pages(client, "DescribeImages", region, filter, |result| {
        serde_json::from_value::<ImagesPage>(result).map(|page| (page.images, page.next_token))
    })
    .await?;
    Ok((
        pages
            .into_iter()
            .filter(|image| !image.image_id.is_empty())
            .collect(),
        calls,
    ))
}

type Page<T> = (Vec<T>, Option<String>);

/// Reads pages of `MaxResults=100` until `NextToken` is empty or absent. Reads are safe to
/// repeat, so the client retries them.
async fn all_pages<T>(
    client: &CloudClient,
    action: &str,
    region: &str,
    filter: Query,
    read: impl Fn(Value) -> Result<Page<T>, serde_json::Error>,
) -> Result<(Vec<T>, usize), CloudError> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    for call_number in 1..=MAX_PAGES {
        let query = filter
            .clone()
            .param("MaxResults", PAGE_SIZE)
            .optional("NextToken", token.as_deref());
        let result = call(client, action, region, &query, Repeat::Safe).await?;
        let (page, next) = read(result).map_err(|err| unreadable(action, &err.to_string()))?;
        items.extend(page);
        match next.filter(|next| !next.is_empty()) {
            Some(next) => token = Some(next),
            None => return Ok((items, call_number)),
        }
    }
    Err(CloudError::new(
        Cloud::Volcengine,
        ErrorKind::Transient,
        "Response.TooManyPages",
        format!("{action} listed more than {MAX_PAGES} pages; the listing was not read to its end"),
    ))
}

/// A success answer whose `Result` is not the documented shape.
pub fn unreadable(action: &str, detail: &str) -> CloudError {
    CloudError::new(
        Cloud::Volcengine,
        ErrorKind::Transient,
        "Response.Unreadable",
        format!("{action}: the Result is not the documented shape: {detail}"),
    )
}

/// A state word this code does not know: an error, never "still running", so a new state
/// the cloud introduces is seen rather than waited on forever.
pub fn unknown_state(what: &str, raw: &str) -> CloudError {
    CloudError::new(
        Cloud::Volcengine,
        ErrorKind::Unsupported,
        "State.Unknown",
        format!("{what} is in the unknown state `{raw}`"),
    )
}

/// `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` in unix seconds: DescribeTasks and DescribeImages
/// print Beijing time (`2025-03-04T16:15:30+08:00`).
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || bytes[13] != b':' {
        return None;
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') || bytes[16] != b':' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let rest = text.get(19..)?;
    // Fractions of a second do not matter at the one-second resolution used here.
    let zone = rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset = match zone.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let hours: i64 = zone.get(1..3)?.parse().ok()?;
            let minutes: i64 = zone.get(4..6)?.parse().ok()?;
            let magnitude = hours * 3_600 + minutes * 60;
            if *sign == b'+' { magnitude } else { -magnitude }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day)?;
    let local = days * 86_400 + hour * 3_600 + minute * 60 + second;
    u64::try_from(local - offset).ok()
}

/// The cloud no longer knows the task (or the image a copy makes).
pub(super) fn not_found(message: String) -> CloudError {
    CloudError::task_not_found(Cloud::Volcengine, message)
}

/// A TaskRef without what its status needs: it was not made by these starts.
pub(super) fn incomplete(task: &TaskRef, field: &str) -> CloudError {
    batch::incomplete(Cloud::Volcengine, task, field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_encoded_with_one_based_lists_and_action_and_version_last() {
        let query = Query::new()
            .param("ImageName", "web copy/1")
            .optional("Description", None)
            .list("TaskIds", ["t-a", "t-b"]);
        assert_eq!(
            query.encode("DescribeTasks"),
            "ImageName=web%20copy%2F1&TaskIds.1=t-a&TaskIds.2=t-b&Action=DescribeTasks&Version=2020-04-01"
        );
        let request = query.request("DescribeTasks");
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("GET", "/")
        );
        assert_eq!(request.header("content-type"), Some("text/plain"));
    }

    #[test]
    fn beijing_times_read_as_unix_seconds() {
        // 2025-03-04T08:15:30Z
        assert_eq!(
            parse_rfc3339("2025-03-04T16:15:30+08:00"),
            Some(1_741_076_130)
        );
        assert_eq!(parse_rfc3339("2025-03-04T08:15:30Z"), Some(1_741_076_130));
        assert_eq!(
            parse_rfc3339("2025-03-04T08:15:30.250Z"),
            Some(1_741_076_130)
        );
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00-01:00"), Some(3_600));
        for bad in [
            "",
            "2025-03-04",
            "2025-13-04T16:15:30Z",
            "2025-03-04T16:15:30",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn progress_reads_ints_and_numeric_strings_and_caps_at_100() {
        let task = |process: Value| WireTask {
            process,
            ..WireTask::default()
        };
        assert_eq!(task(serde_json::json!(45)).progress(), Some(45));
        assert_eq!(task(serde_json::json!("7")).progress(), Some(7));
        assert_eq!(task(serde_json::json!(250)).progress(), Some(100));
        assert_eq!(task(Value::Null).progress(), None);
        assert_eq!(task(serde_json::json!("45%")).progress(), None);
    }
}
