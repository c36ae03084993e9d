//! `CopyImageCrossRegion` (`POST /v1/cloudimages/{image_id}/cross_region_copy`), sent to the
//! source region. The new image appears at once in the destination region as `queued`, and
//! its state follows the job; the job's `entities.image_id` names it.
//!
//! Constraints (ims_03_0628): another region; no encrypted images; at most 300 GiB from
//! cn-south-1, cn-east-2, cn-east-3 and cn-north-4, else 128 GiB; at most
//! `huawei_cross_region_copies` running copies per account, more are refused.

use imgflow_shared::Cloud;
use serde_json::{Value, json};

use super::auth::Scope;
use super::errors::{
    DESCRIPTION_INVALID, DESCRIPTION_TOO_LONG, FULL_ECS_NOT_COPYABLE, IMAGE_BUSY, IMAGE_TOO_LARGE,
    ImsError, JOB_FAILURE, MALFORMED_REQUEST, NAME_INVALID, NAME_MISSING, NAME_TOO_LONG,
    OPERATION_UNSUPPORTED, OWNED_BY_OTHER_TENANT, PROJECT_NAME_INVALID, TOO_MANY_TASKS,
};
use super::ids::{image_id, job_id};
use super::images::{is_full_ecs, source_image};
use super::params::{Body, json_object, optional_string, required_string};
use crate::catalog::{ImageFlags, ImageSpec, ImageState};
use crate::world::{Failure, Image, Task, TaskKind, World};

const MAX_NAME_CHARS: usize = 128;
const MAX_DESCRIPTION_CHARS: usize = 1024;
const LARGE_COPY_REGIONS: [&str; 4] = ["cn-south-1", "cn-east-2", "cn-east-3", "cn-north-4"];
const LARGE_COPY_MAX_GB: u64 = 300;
const COPY_MAX_GB: u64 = 128;

#[derive(Debug, PartialEq, Eq)]
struct CopyRequest<'a> {
    name: &'a str,
    region: &'a str,
    project_name: &'a str,
    vault_id: Option<&'a str>,
}

impl<'a> CopyRequest<'a> {
    fn parse(body: &'a Body) -> Result<Self, ImsError> {
        let name = required_string(body, "name", NAME_MISSING)?;
        check_name(name)?;
        if let Some(description) = optional_string(body, "description")? {
            check_description(description)?;
        }
        let region = required_string(body, "region", MALFORMED_REQUEST)?;
        let project_name = required_string(body, "project_name", MALFORMED_REQUEST)?;
        // The agency lets IMS act in the destination; any name is accepted, as IAM is not emulated.
        required_string(body, "agency_name", MALFORMED_REQUEST)?;
        let vault_id = optional_string(body, "vault_id")?.filter(|id| !id.is_empty());
        Ok(Self {
            name,
            region,
            project_name,
            vault_id,
        })
    }
}

/// IMS names: 1 to 128 letters (Chinese too), digits, `_`, `-`, `.` and spaces, not
/// starting or ending with a space.
fn check_name(name: &str) -> Result<(), ImsError> {
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(NAME_TOO_LONG);
    }
    let valid = name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '))
        && !name.starts_with(' ')
        && !name.ends_with(' ');
    if valid { Ok(()) } else { Err(NAME_INVALID) }
}

/// At most 1024 characters, without carriage returns or angle brackets.
fn check_description(description: &str) -> Result<(), ImsError> {
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(DESCRIPTION_TOO_LONG);
    }
    if description.contains(['<', '>', '\r', '\n']) {
        return Err(DESCRIPTION_INVALID);
    }
    Ok(())
}

pub fn copy_image_cross_region(
    world: &mut World,
    scope: &Scope,
    source_id: &str,
    body: &[u8],
) -> Result<Value, ImsError> {
    let body = json_object(body)?;
    let request = CopyRequest::parse(&body)?;
    let image = source_image(world, scope, source_id)?;
    if request.region == scope.region {
        return Err(MALFORMED_REQUEST);
    }
    check_destination(world, scope, &request)?;
    check_copyable(world, scope, &image, &request)?;

    let job = job_id(world);
    let destination_id = image_id(world);
    let now = world.now();
    world.images.push(Image {
        spec: ImageSpec {
            cloud: Cloud::Huawei,
            account: scope.account.clone(),
            region: request.region.to_owned(),
            id: destination_id.clone(),
            name: request.name.to_owned(),
            size_gb: image.spec.size_gb,
            data_disks_gb: image.spec.data_disks_gb.clone(),
            os_type: image.spec.os_type.clone(),
            state: ImageState::Creating,
            flags: ImageFlags::default(),
            tags: Default::default(),
        },
        created: now,
        made_by: Some(job.clone()),
    });
    let failure = image.spec.flags.copy_fails.then(|| Failure {
        code: JOB_FAILURE.code.to_owned(),
        message: JOB_FAILURE.message.to_owned(),
    });
    let task = Task {
        id: job.clone(),
        cloud: Cloud::Huawei,
        account: scope.account.clone(),
        region: scope.region.clone(),
        kind: TaskKind::Copy {
            image_id: image.spec.id.clone(),
            destination_region: request.region.to_owned(),
            destination_image_id: destination_id,
        },
        created: now,
        duration: world.task_duration(&image.spec, false),
        failure: None,
        cancelled: None,
        queued_behind_limit: false,
    };
    world.add_task(task, failure);
    Ok(json!({ "job_id": job }))
}

/// The account has a project in the destination region, and `project_name` is that region's
/// project (`cn-east-3`) or one of its sub-projects (`cn-east-3_dev`).
fn check_destination(
    world: &World,
    scope: &Scope,
    request: &CopyRequest<'_>,
) -> Result<(), ImsError> {
    let names_region = request.project_name == request.region
        || request
            .project_name
            .strip_prefix(request.region)
            .is_some_and(|rest| rest.starts_with('_'));
    if !names_region {
        return Err(PROJECT_NAME_INVALID);
    }
    world
        .huawei_project_of(&scope.account, request.region)
        .map(|_| ())
        .ok_or(PROJECT_NAME_INVALID)
}

fn check_copyable(
    world: &World,
    scope: &Scope,
    image: &Image,
    request: &CopyRequest<'_>,
) -> Result<(), ImsError> {
    let flags = &image.spec.flags;
    if flags.shared {
        return Err(OWNED_BY_OTHER_TENANT);
    }
    if flags.public || flags.market || flags.encrypted {
        return Err(OPERATION_UNSUPPORTED);
    }
    if is_full_ecs(image) && request.vault_id.is_none() {
        return Err(FULL_ECS_NOT_COPYABLE);
    }
    let max_gb = if LARGE_COPY_REGIONS.contains(&scope.region.as_str()) {
        LARGE_COPY_MAX_GB
    } else {
        COPY_MAX_GB
    };
    if image.spec.size_gb > max_gb {
        return Err(IMAGE_TOO_LARGE);
    }
    if flags.busy {
        return Err(IMAGE_BUSY);
    }
    let running = world.running_copies(Cloud::Huawei, &scope.account, None);
    if running >= world.limits.huawei_cross_region_copies {
        return Err(TOO_MANY_TASKS);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<(), ImsError> {
        let body = json_object(body.as_bytes())?;
        CopyRequest::parse(&body).map(|_| ())
    }

    #[test]
    fn names_and_descriptions_follow_the_ims_rules() {
        let base = r#""region":"cn-east-3","project_name":"cn-east-3","agency_name":"ims""#;
        let with = |extra: &str| format!("{{{base},{extra}}}");
        assert_eq!(parse(&with(r#""name":"copy 2025_v1.0""#)), Ok(()));
        assert_eq!(parse(&with(r#""name":"镜像-副本""#)), Ok(()));
        assert_eq!(parse(&format!("{{{base}}}")), Err(NAME_MISSING));
        assert_eq!(parse(&with(r#""name":"""#)), Err(NAME_MISSING));
        assert_eq!(parse(&with(r#""name":" lead""#)), Err(NAME_INVALID));
        assert_eq!(parse(&with(r#""name":"a/b""#)), Err(NAME_INVALID));
        let long = format!(r#""name":"{}""#, "n".repeat(129));
        assert_eq!(parse(&with(&long)), Err(NAME_TOO_LONG));
        let long = format!(r#""name":"n","description":"{}""#, "d".repeat(1025));
        assert_eq!(parse(&with(&long)), Err(DESCRIPTION_TOO_LONG));
        assert_eq!(
            parse(&with(r#""name":"n","description":"<b>""#)),
            Err(DESCRIPTION_INVALID)
        );
        assert_eq!(
            parse(r#"{"name":"n","project_name":"cn-east-3","agency_name":"ims"}"#),
            Err(MALFORMED_REQUEST)
        );
        assert_eq!(
            parse(r#"{"name":"n","region":"cn-east-3","project_name":"cn-east-3"}"#),
            Err(MALFORMED_REQUEST)
        );
    }
}
