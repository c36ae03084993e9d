//! What a function's process keeps: configuration and clients built on the first event and
//! kept for the life of the execution environment ([`App`]). The handlers use it; the
//! dispatch to them is in [`crate::dispatch`], so this module needs none of them.

use std::time::Duration;

use imgflow_shared::Cloud;
use imgflow_shared::client::CloudClient;
use imgflow_shared::config::Missing;
use imgflow_shared::endpoints::Endpoints;
use imgflow_shared::error::ValidationError;
use imgflow_shared::job::{Job, JobRequests};
use imgflow_shared::model::TaskKind;
use imgflow_shared::retry::RetryPolicy;
use imgflow_shared::transport::Transport;
use serde_json::Value;

use crate::aws::AwsClient;
use crate::errors::FunctionError;
use crate::settings::Settings;

/// Which of the three functions this process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    StartExport,
    StartSync,
    CheckStatus,
}

impl Function {
    pub fn name(self) -> &'static str {
        match self {
            Function::StartExport => "start-export",
            Function::StartSync => "start-sync",
            Function::CheckStatus => "check-status",
        }
    }
}

/// Everything a handler needs, built once per cold start.
pub struct App {
    pub cloud: CloudClient,
    pub aws: Option<AwsClient>,
    pub settings: Settings,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Builds the clients from the process environment (and the secret it names).
    pub async fn from_env() -> Result<App, FunctionError> {
        let lookup = |name: &str| std::env::var(name).ok();
        Self::load(&lookup).await
    }

    pub async fn load(lookup: &dyn Fn(&str) -> Option<String>) -> Result<App, FunctionError> {
        let aws = AwsClient::from_env_with(lookup).map_err(FunctionError::config)?;
        let settings = Settings::load(lookup, aws.as_ref()).await?;
        Self::new(settings, aws)
    }

    pub fn new(settings: Settings, aws: Option<AwsClient>) -> Result<App, FunctionError> {
        let endpoints = match &settings.cloud_endpoint {
            Some(base) => Endpoints::single(base).map_err(|err| {
                FunctionError::config(format!("IMGFLOW_CLOUD_ENDPOINT: {}", err.0))
            })?,
            None => Endpoints::real(),
        };
        let endpoints = match &settings.extra_regions {
            Some(list) => endpoints
                .with_extra_region_list(list)
                .map_err(|err| FunctionError::config(format!("IMGFLOW_EXTRA_REGIONS: {err}")))?,
            None => endpoints,
        };
        // Each request is also bounded by the invocation's time left (see `deadline`): a start
        // (120 s) or a check (300 s) answers before its function's timeout.
        let transport = Transport::new(Duration::from_secs(5), Duration::from_secs(20))
            .map_err(|err| FunctionError::config(err.to_string()))?;
        let cloud = CloudClient::new(
            transport,
            endpoints,
            settings.credentials.clone(),
            RetryPolicy::default(),
        );
        Ok(App {
            cloud,
            aws,
            settings,
        })
    }

    /// Checks a job before anything starts: its rules, and that the clouds it uses have keys.
    /// `kind` is the operation of the function that received the job, if any.
    pub fn accept_job(
        &self,
        document: &Value,
        kind: Option<TaskKind>,
    ) -> Result<Job, ValidationError> {
        let job = Job::parse(document, kind)?;
        job.check_regions(self.cloud.endpoints())?;
        // (cloud, the regions it is called in: a request's region, a copy's destinations)
        let calls: Vec<(Cloud, Vec<&str>)> = match &job.requests {
            JobRequests::Export(r) => r.iter().map(|r| (r.cloud(), vec![r.region()])).collect(),
            JobRequests::Copy(r) => r
                .iter()
                .map(|r| {
                    let destinations = r.destination_regions().iter().map(String::as_str);
                    (
                        r.cloud(),
                        std::iter::once(r.region()).chain(destinations).collect(),
                    )
                })
                .collect(),
        };
        // The same check as the command line's, before anything starts.
        for (index, (cloud, regions)) in calls.into_iter().enumerate() {
            match self.settings.credentials.missing(cloud, &regions) {
                None => {}
                Some(Missing::Keys) => {
                    return Err(ValidationError::new(
                        format!("requests[{index}].cloud"),
                        format!("no {cloud} credentials are configured for this deployment"),
                    ));
                }
                Some(Missing::Project(region)) => {
                    return Err(ValidationError::new(
                        format!("requests[{index}].region"),
                        format!(
                            "no {cloud} project is configured for region {region} in this deployment (the secret's `{cloud}.projects`, or the project variables)"
                        ),
                    ));
                }
            }
        }
        Ok(job)
    }
}

pub fn unix_now() -> u64 {
    imgflow_shared::clock::unix_seconds()
}
