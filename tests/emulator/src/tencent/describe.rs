//! `DescribeImages`: the account's images in the request region, by id or by filter, paged
//! with `Offset`/`Limit`. Unknown ids are left out of `ImageSet` (no error), as CVM does.

use imgflow_shared::Cloud;
use serde_json::{Map, Value, json};

use super::Call;
use super::errors::TcError;
use super::ids::is_image_id;
use super::images::{Platform, image_type, render};
use super::params::Filter;
use crate::world::{Image, World};

const PARAMETERS: [&str; 5] = ["ImageIds", "Filters", "Offset", "Limit", "InstanceType"];
const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 100;
/// Ids per call (emulator choice; the real limit is undocumented).
const MAX_IDS: usize = 100;
const MAX_FILTERS: usize = 10;
const MAX_FILTER_VALUES: usize = 5;
const FILTER_NAMES: [&str; 8] = [
    "image-id",
    "image-type",
    "image-name",
    "platform",
    "tag-key",
    "tag-value",
    "dedicated-cluster-id",
    "cdc-cache-status",
];

fn check_filters(filters: &[Filter]) -> Result<(), TcError> {
    if filters.len() > MAX_FILTERS {
        return Err(TcError::new(
            "InvalidParameterValue.LimitExceeded",
            format!("At most {MAX_FILTERS} filters can be given."),
        ));
    }
    for filter in filters {
        if !FILTER_NAMES.contains(&filter.name.as_str()) && !filter.name.starts_with("tag:") {
            return Err(TcError::new(
                "InvalidFilter",
                format!("The filter `{}` is not supported.", filter.name),
            ));
        }
        if filter.values.len() > MAX_FILTER_VALUES {
            return Err(TcError::new(
                "InvalidFilterValue.LimitExceeded",
                format!(
                    "The filter `{}` has more than {MAX_FILTER_VALUES} values.",
                    filter.name
                ),
            ));
        }
    }
    Ok(())
}

/// Values of one filter match with OR; filters combine with AND. `tag:<key>` matches the
/// catalogue's tags; the emulated images have no dedicated cluster and no CDC cache, so those filters match nothing.
fn matches(image: &Image, filter: &Filter) -> bool {
    let spec = &image.spec;
    filter
        .values
        .iter()
        .any(|value| match filter.name.as_str() {
            "image-id" => spec.id == *value,
            "image-type" => image_type(spec) == value,
            "image-name" => spec.name.contains(value.as_str()),
            tag if tag.starts_with("tag:") => spec.tags.get(&tag[4..]) == Some(value),
            "platform" => Platform::of(spec)
                .name()
                .to_ascii_lowercase()
                .contains(&value.to_ascii_lowercase()),
            _ => false,
        })
}

fn page_bound(call: &Call, name: &str, default: i64) -> Result<i64, TcError> {
    let value = call.params.integer(name)?.unwrap_or(default);
    if value < 0 {
        return Err(TcError::invalid_value(name, "it must not be negative"));
    }
    Ok(value)
}

pub fn describe_images(world: &mut World, call: &Call) -> Result<Map<String, Value>, TcError> {
    let params = &call.params;
    params.reject_unknown(&PARAMETERS)?;
    let ids = params.strings("ImageIds")?;
    let filters = params.filters()?;
    if ids.is_some() && filters.is_some() {
        return Err(TcError::new(
            "InvalidParameter.InvalidParameterCoexistImageIdsFilters",
            "The parameters ImageIds and Filters cannot be given together.",
        ));
    }
    if let Some(ids) = &ids {
        if ids.len() > MAX_IDS {
            return Err(TcError::new(
                "InvalidParameterValue.LimitExceeded",
                format!("At most {MAX_IDS} image ids can be given."),
            ));
        }
        if let Some(bad) = ids.iter().find(|id| !is_image_id(id)) {
            return Err(TcError::new(
                "InvalidImageId.Malformed",
                format!("The image id `{bad}` is malformed."),
            ));
        }
    }
    if let Some(filters) = &filters {
        check_filters(filters)?;
    }
    let offset = page_bound(call, "Offset", 0)?;
    let limit = page_bound(call, "Limit", DEFAULT_LIMIT)?;
    if limit > MAX_LIMIT {
        return Err(TcError::new(
            "InvalidParameterValue.InvalidParameterValueLimit",
            format!("Limit must be at most {MAX_LIMIT}."),
        ));
    }
    let selected: Vec<Value> = world
        .images
        .iter()
        .filter(|image| image.spec.cloud == Cloud::Tencent)
        .filter(|image| {
            image.spec.account == call.caller.account && image.spec.region == call.region
        })
        .filter(|image| ids.as_ref().is_none_or(|ids| ids.contains(&image.spec.id)))
        .filter(|image| {
            filters
                .as_ref()
                .is_none_or(|filters| filters.iter().all(|f| matches(image, f)))
        })
        .filter_map(|image| {
            world
                .image_state(image)
                .map(|state| render(world, image, state))
        })
        .collect();
    let total = selected.len();
    let page: Vec<Value> = selected
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .collect();
    let mut fields = Map::new();
    fields.insert("TotalCount".into(), json!(total));
    fields.insert("ImageSet".into(), Value::Array(page));
    Ok(fields)
}
