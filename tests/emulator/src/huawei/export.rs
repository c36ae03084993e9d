//! `ExportImage` (`POST /v1/cloudimages/{image_id}/file`, seed 004): a private image to an
//! OBS bucket in the same region, as one object named exactly as `bucket_url` says.

use imgflow_shared::Cloud;
use serde_json::{Value, json};

use super::auth::Scope;
use super::errors::{
    BUCKET_INACCESSIBLE, BUCKET_NAME_EMPTY, BUCKET_NAME_INVALID, BUCKET_OTHER_REGION, FILE_EXISTS,
    FILE_NAME_EMPTY, FILE_NAME_HAS_SPACE, FILE_NAME_INVALID, FILE_NAME_TOO_LONG,
    FORMAT_UNSUPPORTED, FULL_ECS_NOT_EXPORTABLE, IMAGE_BUSY, IMAGE_TOO_LARGE, ImsError,
    JOB_FAILURE, MALFORMED_REQUEST, MARKET_NOT_EXPORTABLE, NO_BUCKET_PERMISSION, NOT_EXPORTABLE,
    ONLY_SMALL_EXPORTS, OWNED_BY_OTHER_TENANT, PUBLIC_NOT_EXPORTABLE, TOO_MANY_TASKS, URL_INVALID,
};
use super::ids::job_id;
use super::images::{is_full_ecs, source_image};
use super::params::{json_object, optional_bool, optional_string};
use crate::world::{ExportObject, Failure, Image, Task, TaskKind, World};

const FORMATS: [&str; 4] = ["qcow2", "vhd", "zvhd", "vmdk"];
/// What quick export writes, whatever the key's extension (current ExportImage doc).
const QUICK_EXPORT_FORMAT: &str = "zvhd2";
const MAX_IMAGE_GB: u64 = 1024;
const MAX_NORMAL_EXPORT_GB: u64 = 128;
const MAX_FILE_NAME_CHARS: usize = 128;
const GIB: f64 = (1u64 << 30) as f64;

/// The body, checked as the seed's parameter rules say.
#[derive(Debug, PartialEq, Eq)]
struct ExportRequest<'a> {
    bucket: &'a str,
    key: &'a str,
    format: &'a str,
    quick: bool,
}

impl<'a> ExportRequest<'a> {
    fn parse(body: &'a super::params::Body) -> Result<Self, ImsError> {
        let bucket_url = optional_string(body, "bucket_url")?.ok_or(MALFORMED_REQUEST)?;
        let (bucket, key) = bucket_url.split_once(':').ok_or(URL_INVALID)?;
        check_bucket_name(bucket)?;
        check_file_name(key)?;
        let quick = optional_bool(body, "is_quick_export")?.unwrap_or(false);
        let format = match (quick, optional_string(body, "file_format")?) {
            // "若使用快速导出，则无法指定file_format参数。"
            (true, Some(_)) => return Err(MALFORMED_REQUEST),
            (true, None) => QUICK_EXPORT_FORMAT,
            // "若不启用快速导出，则该参数必选。"
            (false, None) => return Err(MALFORMED_REQUEST),
            (false, Some(format)) if FORMATS.contains(&format) => format,
            (false, Some(_)) => return Err(FORMAT_UNSUPPORTED),
        };
        Ok(Self {
            bucket,
            key,
            format,
            quick,
        })
    }
}

/// OBS bucket names: 3 to 63 lowercase letters, digits, `-` and `.`, starting and ending
/// with a letter or digit.
fn check_bucket_name(bucket: &str) -> Result<(), ImsError> {
    if bucket.is_empty() {
        return Err(BUCKET_NAME_EMPTY);
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && edge_ok(bucket.chars().next())
        && edge_ok(bucket.chars().last());
    if valid {
        Ok(())
    } else {
        Err(BUCKET_NAME_INVALID)
    }
}

/// The object key: 1 to 128 letters, digits, `-`, `.`, `_`, with `/` between folder names.
fn check_file_name(key: &str) -> Result<(), ImsError> {
    if key.is_empty() {
        return Err(FILE_NAME_EMPTY);
    }
    if key.chars().count() > MAX_FILE_NAME_CHARS {
        return Err(FILE_NAME_TOO_LONG);
    }
    if key.contains(' ') {
        return Err(FILE_NAME_HAS_SPACE);
    }
    let valid_chars = key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '/'));
    let valid_folders = key.split('/').all(|part| !part.is_empty());
    if valid_chars && valid_folders {
        Ok(())
    } else {
        Err(FILE_NAME_INVALID)
    }
}

pub fn export_image(
    world: &mut World,
    scope: &Scope,
    image_id: &str,
    body: &[u8],
) -> Result<Value, ImsError> {
    let body = json_object(body)?;
    let request = ExportRequest::parse(&body)?;
    let image = source_image(world, scope, image_id)?;
    check_exportable(world, &image, &request)?;
    check_bucket(world, scope, &request)?;
    check_limits(world, scope)?;

    let job = job_id(world);
    let object = ExportObject {
        key: request.key.to_owned(),
        size: exported_size(&image, request.format),
    };
    let failure = image.spec.flags.export_fails.then(|| Failure {
        code: JOB_FAILURE.code.to_owned(),
        message: JOB_FAILURE.message.to_owned(),
    });
    let task = Task {
        id: job.clone(),
        cloud: Cloud::Huawei,
        account: scope.account.clone(),
        region: scope.region.clone(),
        kind: TaskKind::Export {
            image_id: image.spec.id.clone(),
            bucket: request.bucket.to_owned(),
            format: request.format.to_owned(),
            objects: vec![object],
        },
        created: world.now(),
        duration: world.task_duration(&image.spec, true),
        failure: None,
        cancelled: None,
        queued_behind_limit: false,
    };
    world.add_task(task, failure);
    Ok(json!({ "job_id": job }))
}

/// The seed's "约束与限制", in the order a reader of the seed would check them.
fn check_exportable(
    world: &World,
    image: &Image,
    request: &ExportRequest<'_>,
) -> Result<(), ImsError> {
    let flags = &image.spec.flags;
    if flags.public {
        return Err(PUBLIC_NOT_EXPORTABLE);
    }
    if flags.market {
        return Err(MARKET_NOT_EXPORTABLE);
    }
    if flags.shared {
        return Err(OWNED_BY_OTHER_TENANT);
    }
    if is_full_ecs(image) {
        return Err(FULL_ECS_NOT_EXPORTABLE);
    }
    // Windows-derived images, and quick export of an encrypted image, are refused alike.
    if image.spec.os_type.eq_ignore_ascii_case("windows") || (flags.encrypted && request.quick) {
        return Err(NOT_EXPORTABLE);
    }
    if image.spec.size_gb >= MAX_IMAGE_GB {
        return Err(IMAGE_TOO_LARGE);
    }
    if image.spec.size_gb > MAX_NORMAL_EXPORT_GB && !request.quick {
        return Err(ONLY_SMALL_EXPORTS);
    }
    if flags.busy || is_being_exported(world, &image.spec.id) {
        return Err(IMAGE_BUSY);
    }
    Ok(())
}

fn is_being_exported(world: &World, image_id: &str) -> bool {
    world.tasks.iter().any(|task| {
        task.cloud == Cloud::Huawei
            && matches!(&task.kind, TaskKind::Export { image_id: id, .. } if id == image_id)
            && world.phase(task).is_active()
    })
}

fn check_bucket(world: &World, scope: &Scope, request: &ExportRequest<'_>) -> Result<(), ImsError> {
    let bucket = world
        .bucket(request.bucket)
        .filter(|bucket| bucket.cloud == Cloud::Huawei)
        .ok_or(BUCKET_INACCESSIBLE)?;
    if bucket.region != scope.region {
        return Err(BUCKET_OTHER_REGION);
    }
    if bucket.account != scope.account || !bucket.writable {
        return Err(NO_BUCKET_PERMISSION);
    }
    if object_taken(world, request.bucket, request.key) {
        return Err(FILE_EXISTS);
    }
    Ok(())
}

/// The key holds an object already, or a running export is about to write it.
fn object_taken(world: &World, bucket: &str, key: &str) -> bool {
    world.object(bucket, key).is_some()
        || world.tasks.iter().any(|task| match &task.kind {
            TaskKind::Export {
                bucket: b, objects, ..
            } => {
                b == bucket
                    && objects.iter().any(|object| object.key == key)
                    && world.phase(task).is_active()
            }
            TaskKind::Copy { .. } => false,
        })
}

fn check_limits(world: &World, scope: &Scope) -> Result<(), ImsError> {
    if world.running_exports(Cloud::Huawei, &scope.account)
        >= world.limits.running_exports_per_account
    {
        return Err(TOO_MANY_TASKS);
    }
    Ok(())
}

/// Converted formats hold the used blocks (about a third of the disk); quick export copies
/// the zvhd2 disk as stored, at full size.
fn exported_size(image: &Image, format: &str) -> u64 {
    let share = if format == QUICK_EXPORT_FORMAT {
        1.0
    } else {
        0.35
    };
    (image.spec.size_gb as f64 * GIB * share) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::huawei::params::json_object;

    fn parse(body: &str) -> Result<(String, String, String, bool), ImsError> {
        let body = json_object(body.as_bytes())?;
        ExportRequest::parse(&body).map(|r| {
            (
                r.bucket.to_owned(),
                r.key.to_owned(),
                r.format.to_owned(),
                r.quick,
            )
        })
    }

    #[test]
    fn the_bucket_url_splits_on_the_first_colon_and_the_key_is_verbatim() {
        assert_eq!(
            parse(r#"{"bucket_url":"ims-image:centos7_5.qcow2","file_format":"qcow2"}"#),
            Ok((
                "ims-image".into(),
                "centos7_5.qcow2".into(),
                "qcow2".into(),
                false
            ))
        );
        assert_eq!(
            parse(r#"{"bucket_url":"ims-image:dir/a.raw","is_quick_export":true}"#),
            Ok(("ims-image".into(), "dir/a.raw".into(), "zvhd2".into(), true))
        );
    }

    #[test]
    fn parameter_rules_follow_the_seed() {
        let cases = [
            (r#"{"file_format":"qcow2"}"#, MALFORMED_REQUEST),
            (
                r#"{"bucket_url":"nocolon","file_format":"qcow2"}"#,
                URL_INVALID,
            ),
            (
                r#"{"bucket_url":":a.qcow2","file_format":"qcow2"}"#,
                BUCKET_NAME_EMPTY,
            ),
            (
                r#"{"bucket_url":"Bad_Bucket:a","file_format":"qcow2"}"#,
                BUCKET_NAME_INVALID,
            ),
            (
                r#"{"bucket_url":"bucket:","file_format":"qcow2"}"#,
                FILE_NAME_EMPTY,
            ),
            (
                r#"{"bucket_url":"bucket:a b","file_format":"qcow2"}"#,
                FILE_NAME_HAS_SPACE,
            ),
            (
                r#"{"bucket_url":"bucket:a*b","file_format":"qcow2"}"#,
                FILE_NAME_INVALID,
            ),
            (
                r#"{"bucket_url":"bucket:/a","file_format":"qcow2"}"#,
                FILE_NAME_INVALID,
            ),
            (r#"{"bucket_url":"bucket:a"}"#, MALFORMED_REQUEST),
            (
                r#"{"bucket_url":"bucket:a","file_format":"raw"}"#,
                FORMAT_UNSUPPORTED,
            ),
            (
                r#"{"bucket_url":"bucket:a","file_format":"vhd","is_quick_export":true}"#,
                MALFORMED_REQUEST,
            ),
            (
                r#"{"bucket_url":"bucket:a","file_format":"vhd","is_quick_export":"yes"}"#,
                MALFORMED_REQUEST,
            ),
        ];
        for (body, error) in cases {
            assert_eq!(parse(body).map(|_| ()), Err(error), "{body}");
        }
        let long_key = format!(
            r#"{{"bucket_url":"bucket:{}","file_format":"vhd"}}"#,
            "a".repeat(129)
        );
        assert_eq!(parse(&long_key).map(|_| ()), Err(FILE_NAME_TOO_LONG));
    }
}
