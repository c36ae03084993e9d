//! Images as IMS shows them: the lookup every start shares, and `ListImages`
//! (`GET /v2/cloudimages`) with its filters, sorting and marker paging.

use std::cmp::Ordering;

use imgflow_shared::Cloud;
use serde_json::{Map, Value, json};

use super::auth::Scope;
use super::errors::{
    IMAGE_ID_INVALID, IMAGE_NOT_FOUND, IMAGE_TYPE_INVALID, IMAGE_UNAVAILABLE, ImsError,
    MALFORMED_REQUEST, MARKER_NOT_FOUND,
};
use super::ids::{is_uuid, utc_seconds};
use crate::catalog::ImageState;
use crate::world::{Image, Phase, TaskKind, World};

const GIB: u64 = 1 << 30;
const DEFAULT_LIMIT: usize = 500;
const MAX_LIMIT: usize = 1000;

/// The caller's own image in the project's region, ready for an export or a copy.
pub fn source_image(world: &World, scope: &Scope, image_id: &str) -> Result<Image, ImsError> {
    if !is_uuid(image_id) {
        return Err(IMAGE_ID_INVALID);
    }
    let image = world
        .own_image(Cloud::Huawei, &scope.account, &scope.region, image_id)
        .ok_or(IMAGE_NOT_FOUND)?;
    match world.image_state(image) {
        Some(ImageState::Available) => Ok(image.clone()),
        _ => Err(IMAGE_UNAVAILABLE),
    }
}

/// Full-ECS images carry their data disks; IMS treats them apart.
pub fn is_full_ecs(image: &Image) -> bool {
    !image.spec.data_disks_gb.is_empty()
}

/// What `__imagetype` says an image is.
fn image_type(image: &Image) -> &'static str {
    let flags = &image.spec.flags;
    if flags.public {
        "gold"
    } else if flags.market {
        "market"
    } else if flags.shared {
        "shared"
    } else {
        "private"
    }
}

fn os_type(image: &Image) -> &'static str {
    match image.spec.os_type.to_ascii_lowercase().as_str() {
        "linux" => "Linux",
        "windows" => "Windows",
        _ => "Other",
    }
}

/// Glance's status words: `queued` until the file is being written, `saving` while it is,
/// `active` when usable, `killed` when the upload failed.
fn status(world: &World, image: &Image) -> &'static str {
    let copy_phase = image
        .made_by
        .as_deref()
        .and_then(|id| world.task(Cloud::Huawei, id))
        .map(|task| world.phase(task));
    match (world.image_state(image), copy_phase) {
        (Some(ImageState::Creating), Some(Phase::Pending)) => "queued",
        (Some(ImageState::Creating), _) => "saving",
        (Some(ImageState::Available), _) => "active",
        (Some(ImageState::Failed), _) => "killed",
        (None, _) => "deleted",
    }
}

/// The image a copy was made from, for `__originalimagename` and `__data_origin`.
fn copied_from(world: &World, image: &Image) -> Option<String> {
    let task = world.task(Cloud::Huawei, image.made_by.as_deref()?)?;
    match &task.kind {
        TaskKind::Copy { image_id, .. } => Some(image_id.clone()),
        TaskKind::Export { .. } => None,
    }
}

/// One `ImageInfo`, with the fields the SDK model lists as required.
pub fn image_info(world: &World, image: &Image) -> Value {
    let spec = &image.spec;
    let kind = image_type(image);
    let linux = os_type(image) != "Windows";
    let status = status(world, image);
    let owner = world
        .huawei_project_of(&spec.account, &spec.region)
        .unwrap_or_default();
    let image_bytes = if status == "active" {
        (spec.size_gb * GIB * 35 / 100).max(1)
    } else {
        0
    };
    let created = utc_seconds(image.created);
    let mut info = json!({
        "id": spec.id,
        "name": spec.name,
        "status": status,
        "visibility": if matches!(kind, "gold" | "market") { "public" } else { "private" },
        "protected": matches!(kind, "gold" | "market"),
        "container_format": "bare",
        "disk_format": "zvhd2",
        "min_disk": spec.size_gb,
        "min_ram": 0,
        "owner": owner,
        "size": 0,
        "virtual_size": 0,
        "self": format!("/v2/images/{}", spec.id),
        "file": format!("/v2/images/{}/file", spec.id),
        "schema": "/v2/schemas/image",
        "checksum": "d41d8cd98f00b204e9800998ecf8427e",
        "tags": spec.tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "created_at": created,
        "updated_at": created,
        "active_at": if status == "active" { created.clone() } else { String::new() },
        "__imagetype": kind,
        "__isregistered": "true",
        "__os_type": os_type(image),
        "__os_version": if linux { "CentOS 7.9 64bit" } else { "Windows Server 2022 Datacenter 64bit English" },
        "__os_bit": "64",
        "__platform": if linux { "CentOS" } else { "Windows" },
        "__image_size": image_bytes.to_string(),
        "__image_source_type": "uds",
        "virtual_env_type": "FusionCompute",
        "__support_kvm": "true",
        "hw_firmware_type": "bios",
        "enterprise_project_id": "0",
    });
    let Value::Object(fields) = &mut info else {
        return info;
    };
    add_optional_fields(world, image, fields);
    info
}

fn add_optional_fields(world: &World, image: &Image, fields: &mut Map<String, Value>) {
    let spec = &image.spec;
    if spec.flags.encrypted {
        fields.insert(
            "__system__cmkid".into(),
            json!(format!(
                "{}-kms0-4000-8000-000000000001",
                spec.id.chars().take(8).collect::<String>()
            )),
        );
        fields.insert("__system_encrypted".into(), json!("1"));
    }
    if spec.flags.market {
        fields.insert("__productcode".into(), json!("00301-112233-0--0"));
    }
    if is_full_ecs(image) {
        fields.insert("__whole_image".into(), json!("true"));
    }
    if let Some(source) = copied_from(world, image) {
        fields.insert("__data_origin".into(), json!(format!("image,{source}")));
        fields.insert("__originalimagename".into(), json!(source));
    }
}

/// `GET /v2/cloudimages`: the caller's images in the project's region.
pub fn list_images(
    world: &World,
    scope: &Scope,
    query: &[(String, String)],
) -> Result<Value, ImsError> {
    let param = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    if let Some(kind) = param("__imagetype")
        && !matches!(kind, "gold" | "private" | "shared" | "market")
    {
        return Err(IMAGE_TYPE_INVALID);
    }
    let limit = match param("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or(MALFORMED_REQUEST)?,
    };
    let ascending = match param("sort_dir").unwrap_or("desc") {
        "asc" => true,
        "desc" => false,
        _ => return Err(MALFORMED_REQUEST),
    };
    let sort_key = param("sort_key").unwrap_or("created_at");
    if !matches!(
        sort_key,
        "created_at" | "updated_at" | "name" | "id" | "min_disk" | "status"
    ) {
        return Err(MALFORMED_REQUEST);
    }

    let mut listed: Vec<Value> = world
        .images
        .iter()
        .filter(|image| image.spec.cloud == Cloud::Huawei)
        .filter(|image| image.spec.account == scope.account && image.spec.region == scope.region)
        .filter(|image| world.image_state(image).is_some())
        .filter(|image| matches_tag_and_time(image, query))
        .map(|image| image_info(world, image))
        .filter(|info| matches_filters(info, query))
        .collect();
    listed.sort_by(|a, b| {
        let order = compare(a, b, sort_key).then_with(|| compare(a, b, "id"));
        if ascending { order } else { order.reverse() }
    });

    let start = match param("marker") {
        None => 0,
        Some(marker) => {
            listed
                .iter()
                .position(|info| info["id"] == marker)
                .ok_or(MARKER_NOT_FOUND)?
                + 1
        }
    };
    let remaining = listed.len().saturating_sub(start);
    let page: Vec<Value> = listed.into_iter().skip(start).take(limit).collect();
    let mut answer = json!({ "images": page });
    if remaining > limit
        && let Some(last) = page_last_id(&answer)
    {
        answer["page_info"] = json!({ "next_marker": last });
    }
    Ok(answer)
}

fn page_last_id(answer: &Value) -> Option<String> {
    answer["images"]
        .as_array()?
        .last()?
        .get("id")?
        .as_str()
        .map(str::to_owned)
}

/// `tag=<key>=<value>` (the image carries the tag with that value) and
/// `created_at=<op>:<UTC time>` (`gt`, `gte`, `lt`, `lte`, `eq`, `neq`; `yyyy-MM-ddThh:mm:ssZ`,
/// as the SDK model documents). A filter that cannot be read matches nothing.
fn matches_tag_and_time(image: &Image, query: &[(String, String)]) -> bool {
    query.iter().all(|(key, wanted)| match key.as_str() {
        "tag" => wanted
            .split_once('=')
            .is_some_and(|(k, v)| image.spec.tags.get(k).map(String::as_str) == Some(v)),
        "created_at" => {
            let Some((op, at)) = wanted.split_once(':') else {
                return false;
            };
            let Some(at) = parse_utc(at) else {
                return false;
            };
            let created = image.created.max(0.0) as u64;
            match op {
                "gt" => created > at,
                "gte" => created >= at,
                "lt" => created < at,
                "lte" => created <= at,
                "eq" => created == at,
                "neq" => created != at,
                _ => false,
            }
        }
        _ => true,
    })
}

/// `yyyy-MM-ddThh:mm:ssZ` in unix seconds.
fn parse_utc(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

/// Filters compare the rendered field: the query names the wire field, and so do we.
fn matches_filters(info: &Value, query: &[(String, String)]) -> bool {
    const EXACT: [&str; 10] = [
        "__imagetype",
        "id",
        "status",
        "name",
        "__os_type",
        "visibility",
        "owner",
        "disk_format",
        "container_format",
        "virtual_env_type",
    ];
    query.iter().all(|(key, wanted)| {
        if EXACT.contains(&key.as_str()) {
            info[key.as_str()].as_str() == Some(wanted.as_str())
        } else if key == "protected" {
            info["protected"]
                .as_bool()
                .map(|b| b.to_string())
                .as_deref()
                == Some(wanted)
        } else {
            true
        }
    })
}

fn compare(a: &Value, b: &Value, key: &str) -> Ordering {
    match (&a[key], &b[key]) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (x, y) => x.as_str().cmp(&y.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_at_filters_read_utc_times() {
        assert_eq!(parse_utc("1970-01-02T00:00:01Z"), Some(86_401));
        assert_eq!(parse_utc("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(parse_utc("2000-03-01 00:00:00"), None);
    }
}
