//! Credentials for the four clouds, loaded once: from environment variables (a terminal, CI)
//! or from one JSON document (the secret the deployed functions read from Secrets Manager).
//! Nothing here is ever logged: [`Credentials`] prints `***` for secrets.
//!
//! | cloud | variables |
//! | --- | --- |
//! | tencent | `TENCENTCLOUD_SECRET_ID`, `TENCENTCLOUD_SECRET_KEY`, `TENCENTCLOUD_SESSION_TOKEN`? |
//! | alibaba | `ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET`, `ALIBABA_CLOUD_SECURITY_TOKEN`? |
//! | volcengine | `VOLCENGINE_ACCESS_KEY`, `VOLCENGINE_SECRET_KEY`, `VOLCENGINE_SESSION_TOKEN`? |
//! | huawei | `HUAWEICLOUD_SDK_AK`, `HUAWEICLOUD_SDK_SK`, `HUAWEICLOUD_SDK_SECURITY_TOKEN`?, `HUAWEICLOUD_SDK_PROJECT_ID` (one region) or `HUAWEICLOUD_PROJECT_IDS` (`region=id,region=id`) |
//!
//! The JSON document:
//! ```json
//! {"tencent":    {"access_key_id": "...", "secret_access_key": "...", "security_token": "..."},
//!  "alibaba":    {"access_key_id": "...", "secret_access_key": "..."},
//!  "volcengine": {"access_key_id": "...", "secret_access_key": "..."},
//!  "huawei":     {"access_key_id": "...", "secret_access_key": "...",
//!                 "projects": {"cn-north-4": "<project id>"}}}
//! ```
//! Every cloud is optional; a job on a cloud without credentials is refused before it starts.
//! A cloud whose API is project-scoped (Huawei's IMS) also needs the project of each region
//! it calls; its provider's [`regional_setting`](crate::provider::Provider::regional_setting)
//! names the variable and reads it (Huawei's in `crate::huawei::projects`).

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

pub use crate::error::ConfigError;

use crate::Cloud;
use crate::providers;
use crate::signing::Credentials;

/// Credentials per cloud, and the project per region of a project-scoped cloud.
#[derive(Clone, Default)]
pub struct CloudCredentials {
    keys: BTreeMap<Cloud, Credentials>,
    /// Cloud → region → project id.
    projects: BTreeMap<Cloud, BTreeMap<String, String>>,
}

impl fmt::Debug for CloudCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudCredentials")
            .field("keys", &self.keys)
            .field("projects", &self.projects)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyDocument {
    access_key_id: String,
    secret_access_key: String,
    #[serde(default)]
    security_token: Option<String>,
    #[serde(default)]
    projects: BTreeMap<String, String>,
}

impl KeyDocument {
    fn credentials(&self) -> Credentials {
        let credentials = Credentials::new(&self.access_key_id, &self.secret_access_key);
        match &self.security_token {
            Some(token) => credentials.with_security_token(token),
            None => credentials,
        }
    }
}

impl CloudCredentials {
    /// Reads the documented variables through `lookup` (`std::env::var` in practice).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut loaded = Self::default();
        for cloud in Cloud::ALL {
            let variables = providers::of(cloud).credential_variables();
            let (id_var, secret_var, token_var) =
                (variables.key_id, variables.secret, variables.session_token);
            let id = lookup(id_var).filter(|v| !v.is_empty());
            let secret = lookup(secret_var).filter(|v| !v.is_empty());
            let credentials = match (id, secret) {
                (None, None) => continue,
                (Some(_), None) => return Err(incomplete(id_var, secret_var)),
                (None, Some(_)) => return Err(incomplete(secret_var, id_var)),
                (Some(id), Some(secret)) => Credentials::new(id, secret),
            };
            let credentials = match lookup(token_var).filter(|v| !v.is_empty()) {
                Some(token) => credentials.with_security_token(token),
                None => credentials,
            };
            loaded.keys.insert(cloud, credentials);
        }
        for cloud in Cloud::ALL {
            if let Some(setting) = providers::of(cloud).regional_setting() {
                loaded.projects.insert(cloud, (setting.read)(&lookup)?);
            }
        }
        Ok(loaded)
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Parses the JSON document (the Secrets Manager secret's format).
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let document: BTreeMap<Cloud, KeyDocument> =
            serde_json::from_str(text).map_err(|err| ConfigError::Json(redact_serde(&err)))?;
        let mut loaded = Self::default();
        for (cloud, keys) in document {
            if providers::of(cloud).regional_setting().is_some() {
                loaded.projects.insert(cloud, keys.projects.clone());
            }
            loaded.keys.insert(cloud, keys.credentials());
        }
        Ok(loaded)
    }

    pub fn with(mut self, cloud: Cloud, credentials: Credentials) -> Self {
        self.keys.insert(cloud, credentials);
        self
    }

    pub fn with_project(mut self, cloud: Cloud, region: &str, project_id: &str) -> Self {
        self.projects
            .entry(cloud)
            .or_default()
            .insert(region.into(), project_id.into());
        self
    }

    pub fn get(&self, cloud: Cloud) -> Option<&Credentials> {
        self.keys.get(&cloud)
    }

    /// The project of `region` on a project-scoped `cloud`.
    pub fn project(&self, cloud: Cloud, region: &str) -> Option<&str> {
        self.projects
            .get(&cloud)
            .and_then(|projects| projects.get(region))
            .map(String::as_str)
    }

    /// What these credentials lack for calling `cloud` in every one of `regions` (a request's
    /// region and a copy's destinations): the cloud's keys, or (a project-scoped cloud) the
    /// project of a region. One check for the command line and the functions, run before
    /// anything is sent.
    pub fn missing<'r>(&self, cloud: Cloud, regions: &[&'r str]) -> Option<Missing<'r>> {
        if self.get(cloud).is_none() {
            return Some(Missing::Keys);
        }
        if providers::of(cloud).regional_setting().is_some() {
            let region = regions.iter().find(|r| self.project(cloud, r).is_none())?;
            return Some(Missing::Project(region));
        }
        None
    }
}

/// What [`CloudCredentials::missing`] found missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing<'r> {
    /// No key pair for the cloud.
    Keys,
    /// No project for this region (a project-scoped cloud needs one per region).
    Project(&'r str),
}

fn incomplete(variable: &str, missing: &str) -> ConfigError {
    ConfigError::Incomplete {
        variable: variable.into(),
        missing: missing.into(),
    }
}

/// serde_json's message with its position, but never the offending value (it could be a key).
fn redact_serde(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let message = match text.find(": ") {
        Some(_) if text.starts_with("invalid type") => "a value has the wrong type".to_owned(),
        _ => text.split(" at line").next().unwrap_or(&text).to_owned(),
    };
    format!("{message} (line {}, column {})", err.line(), err.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_variables_load_each_cloud_and_huawei_projects() {
        let env = |name: &str| {
            Some(
                match name {
                    "TENCENTCLOUD_SECRET_ID" => "AKID",
                    "TENCENTCLOUD_SECRET_KEY" => "tc-secret",
                    "TENCENTCLOUD_SESSION_TOKEN" => "tc-token",
                    "HUAWEICLOUD_SDK_AK" => "HWAK",
                    "HUAWEICLOUD_SDK_SK" => "hw-secret",
                    "HUAWEICLOUD_PROJECT_IDS" => "cn-north-4=p1, cn-east-3=p2",
                    _ => return None,
                }
                .to_owned(),
            )
        };
        let loaded = CloudCredentials::from_env_with(env).expect("loads");
        let tencent = loaded.get(Cloud::Tencent).expect("tencent");
        assert_eq!(tencent.access_key_id(), "AKID");
        assert_eq!(
            tencent.security_token().map(|t| t.expose()),
            Some("tc-token")
        );
        assert!(loaded.get(Cloud::Alibaba).is_none());
        assert_eq!(loaded.project(Cloud::Huawei, "cn-east-3"), Some("p2"));
        let shown = format!("{loaded:?}");
        assert!(
            !shown.contains("tc-secret")
                && !shown.contains("tc-token")
                && !shown.contains("hw-secret"),
            "{shown}"
        );
    }

    #[test]
    fn only_the_clouds_with_a_regional_setting_keep_projects_from_the_json_document() {
        let loaded = CloudCredentials::from_json(
            r#"{"tencent": {"access_key_id": "T", "secret_access_key": "s", "projects": {"ap-guangzhou": "x"}},
                "huawei": {"access_key_id": "H", "secret_access_key": "s", "projects": {"cn-north-4": "p"}}}"#,
        )
        .expect("loads");
        assert_eq!(loaded.project(Cloud::Tencent, "ap-guangzhou"), None);
        assert_eq!(loaded.project(Cloud::Huawei, "cn-north-4"), Some("p"));
        assert_eq!(loaded.missing(Cloud::Tencent, &["ap-guangzhou"]), None);
        assert_eq!(
            loaded.missing(Cloud::Huawei, &["cn-north-4", "cn-east-3"]),
            Some(Missing::Project("cn-east-3"))
        );
    }

    #[test]
    fn half_a_key_pair_is_an_error_naming_the_missing_variable() {
        let env = |name: &str| (name == "VOLCENGINE_ACCESS_KEY").then(|| "AK".to_owned());
        assert_eq!(
            CloudCredentials::from_env_with(env).expect_err("incomplete"),
            incomplete("VOLCENGINE_ACCESS_KEY", "VOLCENGINE_SECRET_KEY")
        );
    }

    #[test]
    fn the_json_document_loads_and_its_errors_never_echo_a_secret() {
        let loaded = CloudCredentials::from_json(
            r#"{"alibaba": {"access_key_id": "LTAI", "secret_access_key": "ali-secret"},
                "huawei": {"access_key_id": "HW", "secret_access_key": "s", "projects": {"cn-north-4": "p"}}}"#,
        )
        .expect("loads");
        assert_eq!(
            loaded.get(Cloud::Alibaba).map(Credentials::access_key_id),
            Some("LTAI")
        );
        assert_eq!(loaded.project(Cloud::Huawei, "cn-north-4"), Some("p"));
        let err = CloudCredentials::from_json(
            r#"{"alibaba": {"access_key_id": "LTAI", "secret_access_key": 12345678}}"#,
        )
        .expect_err("wrong type");
        assert!(!err.to_string().contains("12345678"), "{err}");
        let err = CloudCredentials::from_json(r#"{"aws": {}}"#).expect_err("unknown cloud");
        assert!(err.to_string().contains("aws"), "{err}");
    }
}
