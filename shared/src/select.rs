//! Selectors: a request may name its images by what they are (`select`) instead of by id, so
//! that a scheduled job chooses its images when it runs (issue 14).
//!
//! A [`Selector`] is checked before anything is sent ([`Selector::validate`]). Each cloud's
//! listing maps the parts it can to the cloud's own filters and pages to the end; whatever it
//! lists is then filtered exactly here ([`choose`]), so that every cloud selects the same way:
//! - only custom (private) images that are ready;
//! - `name`: a glob over the whole name (`*` any run of characters, `?` one character);
//! - `tags`: every key with exactly its value;
//! - `created_within_days`: created at or after `now - days × 86 400`;
//! - never an image created after `now` (the item's window: see below);
//! - `exclude_ids`: never these images;
//! - `newest_per_name`: of each name, the N newest (ties broken by id);
//! - `max_images`: more matches than this is a `Request.Invalid` naming the count, never a
//!   silent cut.
//!
//! The result is sorted by name, then creation time, then id, so that the same catalogue
//! always gives the same list. `now` is the start item's window (the execution's start), the
//! same on every attempt: an image that appears between two attempts of one item was created
//! after it, so a retry resolves to the same images as the attempt before it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Cloud;
use crate::error::ValidationError;
// Defined beside the queued start that carries it, so that model needs nothing from here.
use crate::validate::{self, Checked};

/// `max_images` when a selector does not say.
pub const DEFAULT_MAX_IMAGES: usize = 100;
/// The largest `max_images`: a job tracks at most this many tasks.
pub const MAX_IMAGES: usize = crate::limits::MAX_TASKS;
/// The longest `created_within_days` (ten years).
pub const MAX_DAYS: u32 = 3650;
/// The most `exclude_ids`.
pub const MAX_EXCLUDED: usize = 100;
/// Characters of a name glob (the longest image name of the four clouds is 128).
pub const MAX_NAME_CHARS: usize = 128;

/// Which images a request acts on, chosen when it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    /// A glob over the image name: `*` any run of characters, `?` one character.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tags every selected image carries, each with exactly this value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Keep the N newest images of each name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_per_name: Option<u32>,
    /// Only images created in the last N days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_within_days: Option<u32>,
    /// Never these images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_ids: Vec<String>,
    /// More matches than this is refused (`Request.Invalid` naming the count).
    #[serde(default = "default_max_images")]
    pub max_images: usize,
}

fn default_max_images() -> usize {
    DEFAULT_MAX_IMAGES
}

/// Whether imgflow can list `cloud`'s images for a selector (and so resolve it at start).
pub fn lists_images(cloud: Cloud) -> bool {
    crate::providers::of(cloud).selector_tags().is_some()
}

/// The most tags a selector may give on `cloud`: what its listing can send as filters (each
/// provider's `selector_tags`).
pub fn max_tags(cloud: Cloud) -> usize {
    crate::providers::of(cloud).selector_tags().unwrap_or(0)
}

impl Selector {
    /// The cloud's rules for a selector; `field` is where it sits (`select`).
    pub fn validate(&self, cloud: Cloud, field: &str) -> Checked {
        if !lists_images(cloud) {
            return Err(ValidationError::new(
                field,
                format!(
                    "is not supported on {} yet: its image listing is not built (issue 14); give image ids",
                    cloud.name()
                ),
            ));
        }
        if let Some(name) = &self.name {
            let f = format!("{field}.name");
            validate::char_length(&f, name, 1, MAX_NAME_CHARS)?;
            validate::no_control_characters(&f, name)?;
        }
        let tags = format!("{field}.tags");
        if self.tags.len() > max_tags(cloud) {
            return Err(ValidationError::new(
                tags,
                format!(
                    "must give at most {} tags on {}, got {}",
                    max_tags(cloud),
                    cloud.name(),
                    self.tags.len()
                ),
            ));
        }
        for (key, value) in &self.tags {
            let f = format!("{tags}.{key}");
            validate::char_length(&f, key, 1, 128)?;
            validate::no_control_characters(&f, key)?;
            validate::char_length(&f, value, 0, 256)?;
            validate::no_control_characters(&f, value)?;
            if key.contains('=') {
                return Err(ValidationError::new(f, "a tag key must not contain `=`"));
            }
        }
        if self.newest_per_name == Some(0) {
            return Err(ValidationError::new(
                format!("{field}.newest_per_name"),
                "must be at least 1",
            ));
        }
        if let Some(days) = self.created_within_days
            && !(1..=MAX_DAYS).contains(&days)
        {
            return Err(ValidationError::new(
                format!("{field}.created_within_days"),
                format!("must be 1 to {MAX_DAYS} days, got {days}"),
            ));
        }
        let excluded = format!("{field}.exclude_ids");
        validate::at_most(&excluded, &self.exclude_ids, MAX_EXCLUDED)?;
        validate::each(&excluded, &self.exclude_ids, |f, id| {
            crate::providers::of(cloud).validate_image_id(f, id)
        })?;
        if !(1..=MAX_IMAGES).contains(&self.max_images) {
            return Err(ValidationError::new(
                format!("{field}.max_images"),
                format!(
                    "must be 1 to {MAX_IMAGES} (a job tracks at most {MAX_IMAGES} tasks), got {}",
                    self.max_images
                ),
            ));
        }
        Ok(())
    }

    /// The literal start of the name glob (before its first `*` or `?`): what a cloud that
    /// filters names by prefix or fuzzily can be sent. Empty when the glob starts with one.
    pub fn name_prefix(&self) -> &str {
        let name = self.name.as_deref().unwrap_or("");
        let end = name.find(['*', '?']).unwrap_or(name.len());
        &name[..end]
    }

    /// The whole name when the glob has no wildcard: what a cloud that filters by exact name
    /// can be sent.
    pub fn exact_name(&self) -> Option<&str> {
        self.name.as_deref().filter(|n| !n.contains(['*', '?']))
    }
}

/// Exactly one of image ids and `select`: `ids` says whether ids were given.
pub fn one_of(ids_field: &str, has_ids: bool, select: Option<&Selector>) -> Checked {
    match (has_ids, select) {
        (true, Some(_)) => Err(ValidationError::new(
            "select",
            format!("give either `{ids_field}` or `select`, not both"),
        )),
        (false, None) => Err(ValidationError::new(
            ids_field,
            "is required (or `select` to choose the images when the job runs)",
        )),
        _ => Ok(()),
    }
}

/// A request's one image: its id by `check`, or its selector, exactly one of them.
pub fn image_or_select(
    cloud: Cloud,
    field: &str,
    id: &str,
    select: Option<&Selector>,
    check: impl Fn(&str, &str) -> Checked,
) -> Checked {
    one_of(field, !id.is_empty(), select)?;
    match select {
        Some(selector) => selector.validate(cloud, "select"),
        None => check(field, id),
    }
}

/// An image as a cloud's listing reports it, in the terms every cloud shares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedImage {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Unix seconds.
    pub created_at: u64,
    /// A custom image of the account (not public, shared or marketplace).
    pub private: bool,
    /// Ready to use (Tencent `NORMAL`, Alibaba `Available`, Volcengine `available`, Huawei
    /// `active`).
    pub ready: bool,
}

/// An image a selector matched, as the execution's output and completion event list it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectedImage {
    pub id: String,
    pub name: String,
    /// Unix seconds.
    pub created_at: u64,
}

impl From<&ListedImage> for SelectedImage {
    fn from(image: &ListedImage) -> Self {
        Self {
            id: image.id.clone(),
            name: image.name.clone(),
            created_at: image.created_at,
        }
    }
}

/// What the selector of one request (`item`, its index in the job) matched when it started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    pub item: usize,
    pub images: Vec<SelectedImage>,
}

/// The images of `listed` that `selector` selects at `now` (unix seconds), sorted by name,
/// creation time and id; more than `max_images` is a `Request.Invalid` naming the count.
pub fn choose(
    selector: &Selector,
    listed: Vec<ListedImage>,
    now: u64,
) -> Result<Vec<ListedImage>, ValidationError> {
    let oldest = selector
        .created_within_days
        .map(|days| now.saturating_sub(u64::from(days) * 86_400));
    let mut chosen: Vec<ListedImage> = listed
        .into_iter()
        .filter(|image| {
            image.private
                && image.ready
                && image.created_at <= now
                && oldest.is_none_or(|oldest| image.created_at >= oldest)
                && selector
                    .name
                    .as_deref()
                    .is_none_or(|glob| glob_matches(glob, &image.name))
                && selector
                    .tags
                    .iter()
                    .all(|(key, value)| image.tags.get(key) == Some(value))
                && !selector.exclude_ids.contains(&image.id)
        })
        .collect();
    // One entry per id, whatever the paging repeated.
    chosen.sort_by(|a, b| a.id.cmp(&b.id));
    chosen.dedup_by(|a, b| a.id == b.id);
    if let Some(keep) = selector.newest_per_name {
        let keep = usize::try_from(keep).unwrap_or(usize::MAX);
        let mut by_name: BTreeMap<String, Vec<ListedImage>> = BTreeMap::new();
        for image in chosen {
            by_name.entry(image.name.clone()).or_default().push(image);
        }
        chosen = by_name
            .into_values()
            .flat_map(|mut images| {
                images.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
                images.truncate(keep);
                images
            })
            .collect();
    }
    chosen.sort_by(|a, b| {
        (a.name.as_str(), a.created_at, a.id.as_str()).cmp(&(
            b.name.as_str(),
            b.created_at,
            b.id.as_str(),
        ))
    });
    if chosen.len() > selector.max_images {
        return Err(ValidationError::new(
            "select.max_images",
            format!(
                "{} images match the selector, more than max_images {}: narrow the selector or raise max_images",
                chosen.len(),
                selector.max_images
            ),
        ));
    }
    Ok(chosen)
}

/// Whether `glob` matches all of `text`: `*` any run of characters, `?` one character,
/// everything else itself.
pub fn glob_matches(glob: &str, text: &str) -> bool {
    let pattern: Vec<char> = glob.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if *c == '?' || *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;
    const NOW: u64 = 1_800_000_000;

    fn image(id: &str, name: &str, age_days: u64, tags: &[(&str, &str)]) -> ListedImage {
        ListedImage {
            id: id.into(),
            name: name.into(),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            created_at: NOW - age_days * DAY,
            private: true,
            ready: true,
        }
    }

    fn selector(json: serde_json::Value) -> Selector {
        serde_json::from_value(json).expect("parses")
    }

    #[test]
    fn globs_match_whole_names() {
        assert!(glob_matches("web-*", "web-1"));
        assert!(glob_matches("web-*", "web-"));
        assert!(!glob_matches("web-*", "db-web-1"));
        assert!(glob_matches("*-prod", "api-prod"));
        assert!(glob_matches("w?b-*-x", "wab-1-2-x"));
        assert!(!glob_matches("web", "web-1"));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("备份*", "备份-1"));
    }

    #[test]
    fn each_part_narrows_the_selection_and_the_order_is_stable() {
        let catalogue = vec![
            image("img-web00003", "web-a", 1, &[("backup", "nightly")]),
            image("img-web00001", "web-a", 3, &[("backup", "nightly")]),
            image("img-web00002", "web-a", 2, &[("backup", "nightly")]),
            image("img-web00004", "web-b", 40, &[("backup", "nightly")]),
            image("img-web00005", "web-b", 5, &[("backup", "weekly")]),
            image("img-db000001", "db", 1, &[("backup", "nightly")]),
        ];
        let pick = |json| {
            choose(&selector(json), catalogue.clone(), NOW)
                .expect("within max")
                .into_iter()
                .map(|i| i.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            pick(
                serde_json::json!({"name": "web-*", "tags": {"backup": "nightly"},
                "newest_per_name": 2, "created_within_days": 30})
            ),
            ["img-web00002", "img-web00003"]
        );
        assert_eq!(
            pick(serde_json::json!({"name": "web-*", "newest_per_name": 1})),
            ["img-web00003", "img-web00005"]
        );
        assert_eq!(
            pick(serde_json::json!({"tags": {"backup": "nightly"},
                "exclude_ids": ["img-web00002"]})),
            [
                "img-db000001",
                "img-web00001",
                "img-web00003",
                "img-web00004"
            ]
        );
        // The list does not depend on the order the cloud listed in.
        let mut reversed = catalogue.clone();
        reversed.reverse();
        assert_eq!(
            choose(&selector(serde_json::json!({})), reversed, NOW),
            choose(&selector(serde_json::json!({})), catalogue.clone(), NOW)
        );
    }

    #[test]
    fn only_ready_private_images_made_before_the_window_are_chosen() {
        let mut public = image("img-pub00001", "web-a", 1, &[]);
        public.private = false;
        let mut creating = image("img-new00001", "web-a", 1, &[]);
        creating.ready = false;
        let mut later = image("img-lat00001", "web-a", 0, &[]);
        later.created_at = NOW + 1;
        let kept = image("img-web00001", "web-a", 2, &[]);
        let chosen = choose(
            &selector(serde_json::json!({"newest_per_name": 1})),
            vec![public, creating, later, kept.clone()],
            NOW,
        );
        assert_eq!(chosen, Ok(vec![kept]));
    }

    #[test]
    fn more_matches_than_max_images_is_refused_naming_the_count() {
        let catalogue: Vec<ListedImage> = (0..5)
            .map(|i| image(&format!("img-web0000{i}"), "web", i, &[]))
            .collect();
        let err = choose(
            &selector(serde_json::json!({"max_images": 4})),
            catalogue.clone(),
            NOW,
        )
        .expect_err("five match");
        assert_eq!(err.field, "select.max_images");
        assert!(err.rule.contains("5 images match"), "{}", err.rule);
        assert_eq!(
            choose(
                &selector(serde_json::json!({"max_images": 5})),
                catalogue,
                NOW
            )
            .map(|c| c.len()),
            Ok(5)
        );
    }

    #[test]
    fn each_rule_names_its_field() {
        let cases = [
            (serde_json::json!({"name": ""}), "select.name"),
            (
                serde_json::json!({"newest_per_name": 0}),
                "select.newest_per_name",
            ),
            (
                serde_json::json!({"created_within_days": 0}),
                "select.created_within_days",
            ),
            (
                serde_json::json!({"created_within_days": 4000}),
                "select.created_within_days",
            ),
            (serde_json::json!({"max_images": 0}), "select.max_images"),
            (serde_json::json!({"max_images": 101}), "select.max_images"),
            (
                serde_json::json!({"exclude_ids": ["img-ok000001", "bad"]}),
                "select.exclude_ids[1]",
            ),
            (serde_json::json!({"tags": {"": "x"}}), "select.tags."),
            (serde_json::json!({"tags": {"a=b": "x"}}), "select.tags.a=b"),
        ];
        for (json, field) in cases {
            assert_eq!(
                selector(json.clone())
                    .validate(Cloud::Tencent, "select")
                    .map_err(|e| e.field),
                Err(field.to_owned()),
                "{json}"
            );
        }
        let nine: BTreeMap<String, String> =
            (0..9).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        let many = Selector {
            tags: nine,
            ..selector(serde_json::json!({}))
        };
        assert_eq!(
            many.validate(Cloud::Tencent, "select").map_err(|e| e.field),
            Err("select.tags".to_owned())
        );
        assert_eq!(
            selector(serde_json::json!({})).validate(Cloud::Huawei, "select"),
            Ok(())
        );
        assert!(serde_json::from_value::<Selector>(serde_json::json!({"colour": "red"})).is_err());
    }

    #[test]
    fn prefixes_and_exact_names_for_the_clouds_filters() {
        let s = selector(serde_json::json!({"name": "web-*-prod"}));
        assert_eq!((s.name_prefix(), s.exact_name()), ("web-", None));
        let s = selector(serde_json::json!({"name": "web-1"}));
        assert_eq!((s.name_prefix(), s.exact_name()), ("web-1", Some("web-1")));
        assert_eq!(selector(serde_json::json!({})).name_prefix(), "");
    }
}
