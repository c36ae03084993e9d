//! Huawei's project per region. IMS is project-scoped: every call names the project of its
//! region, so Huawei's credentials are a key pair plus one project id per region. The key
//! pair's variables are the provider's (`HUAWEICLOUD_SDK_AK`, ...); the projects are read
//! here, and [`crate::config`] keeps them beside the keys without knowing their variables.

use std::collections::BTreeMap;

use crate::error::ConfigError;

/// `region=project_id,region=project_id`: a project for each region.
pub const PROJECT_IDS: &str = "HUAWEICLOUD_PROJECT_IDS";
/// The Huawei SDKs' single project, for the region in [`REGION`].
pub const PROJECT_ID: &str = "HUAWEICLOUD_SDK_PROJECT_ID";
/// The region of [`PROJECT_ID`]; the SDKs' default when unset.
pub const REGION: &str = "HUAWEICLOUD_SDK_REGION";
const DEFAULT_REGION: &str = "cn-north-4";

/// The projects the variables name, region → project id, read through `lookup`.
/// [`PROJECT_IDS`] wins over [`PROJECT_ID`] for a region both name: the list is the more
/// deliberate of the two.
pub fn from_env_with(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut projects = BTreeMap::new();
    if let Some(list) = lookup(PROJECT_IDS).filter(|v| !v.is_empty()) {
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (region, project) =
                entry
                    .split_once('=')
                    .ok_or_else(|| ConfigError::ProjectList {
                        variable: PROJECT_IDS.into(),
                        value: list.clone(),
                    })?;
            projects.insert(region.trim().into(), project.trim().into());
        }
    }
    if let Some(project) = lookup(PROJECT_ID).filter(|v| !v.is_empty()) {
        let region = lookup(REGION).unwrap_or_else(|| DEFAULT_REGION.into());
        projects.entry(region).or_insert(project);
    }
    Ok(projects)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_and_the_single_project_combine_and_the_list_wins() {
        let env = |name: &str| {
            Some(
                match name {
                    PROJECT_IDS => "cn-north-4=p1, cn-east-3=p2,",
                    PROJECT_ID => "single",
                    _ => return None,
                }
                .to_owned(),
            )
        };
        let projects = from_env_with(&env).expect("loads");
        assert_eq!(projects.get("cn-north-4").map(String::as_str), Some("p1"));
        assert_eq!(projects.get("cn-east-3").map(String::as_str), Some("p2"));
        let env = |name: &str| {
            Some(
                match name {
                    PROJECT_ID => "single",
                    REGION => "ap-southeast-1",
                    _ => return None,
                }
                .to_owned(),
            )
        };
        let projects = from_env_with(&env).expect("loads");
        assert_eq!(
            projects.get("ap-southeast-1").map(String::as_str),
            Some("single")
        );
    }

    #[test]
    fn a_list_entry_without_its_region_is_an_error_naming_the_variable() {
        let env = |name: &str| (name == PROJECT_IDS).then(|| "p1".to_owned());
        assert_eq!(
            from_env_with(&env).expect_err("malformed"),
            ConfigError::ProjectList {
                variable: PROJECT_IDS.into(),
                value: "p1".into()
            }
        );
    }
}
