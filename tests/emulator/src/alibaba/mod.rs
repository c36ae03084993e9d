//! Alibaba Cloud ECS, API version 2014-05-26, RPC style, as the official SDK calls it
//! (WIRE.md §2): `POST /` with the action in `x-acs-action`, the version in `x-acs-version`,
//! the business parameters in the query string and an ACS3-HMAC-SHA256 signature.
//!
//! Served: ExportImage, CopyImage, CancelCopyImage, DescribeTasks, DescribeTaskAttribute,
//! DescribeImages. The region of a call is its `RegionId` parameter (the SDK picks the host
//! from the client's region, not from `RegionId`); the account is the access key's.
//! tests/emulator/docs/alibaba.md lists every error code with its trigger.

mod auth;
mod copy;
mod error;
mod export;
mod ids;
mod images;
mod params;
mod regions;
mod tasks;

use imgflow_shared::Cloud;
use serde_json::{Map, Value};

use crate::api::CloudApi;
use crate::http::{ApiRequest, ApiResponse};
use crate::world::{Caller, World};

use error::{AcsError, error_response, request_id, success_response};
use params::Params;

const VERSION: &str = "2014-05-26";

type Handler = fn(&mut World, &Caller, &Params) -> Result<Map<String, Value>, AcsError>;

const ACTIONS: &[(&str, Handler)] = &[
    ("ExportImage", export::export_image),
    ("CopyImage", copy::copy_image),
    ("CancelCopyImage", copy::cancel_copy_image),
    ("DescribeTasks", tasks::describe_tasks),
    ("DescribeTaskAttribute", tasks::describe_task_attribute),
    ("DescribeImages", images::describe_images),
];

pub struct Alibaba;

/// The action a request names: the V3 header, or an `Action` query parameter.
fn named_action(request: &ApiRequest) -> Option<String> {
    request
        .header("x-acs-action")
        .map(str::to_owned)
        .or_else(|| request.query_param("Action"))
}

fn handler(action: &str) -> Option<Handler> {
    ACTIONS
        .iter()
        .find(|(name, _)| *name == action)
        .map(|(_, handler)| *handler)
}

impl CloudApi for Alibaba {
    fn cloud(&self) -> Cloud {
        Cloud::Alibaba
    }

    fn action(&self, request: &ApiRequest) -> String {
        named_action(request)
            .filter(|action| handler(action).is_some())
            .unwrap_or_else(|| "Unknown".to_owned())
    }

    fn handle(&self, world: &mut World, request: &ApiRequest, action: &str) -> ApiResponse {
        let request_id = request_id(world);
        let params = Params::from_request(request);
        let region = params.get("RegionId");
        match run(world, request, action, &params) {
            Ok(fields) => success_response(&request_id, fields),
            Err(error) => error_response(&request_id, region, &error),
        }
    }

    fn throttled(
        &self,
        world: &mut World,
        request: &ApiRequest,
        _action: &str,
        retry_after: f64,
    ) -> ApiResponse {
        let request_id = request_id(world);
        let params = Params::from_request(request);
        let error = AcsError::new(
            400,
            "Throttling.User",
            "Request was denied due to user flow control.",
        );
        // The SDK turns this header into `ThrottlingException.retry_after` and its retry
        // policy sleeps that many milliseconds (darabonba `sleep(ms / 1000)`), so the
        // emulator sends milliseconds, at least 1 (the SDK ignores 0).
        let millis = (retry_after * 1000.0).ceil().max(1.0) as u64;
        error_response(&request_id, params.get("RegionId"), &error)
            .with_header("x-acs-retry-after", millis.to_string())
    }

    fn internal_error(
        &self,
        world: &mut World,
        request: &ApiRequest,
        _action: &str,
    ) -> ApiResponse {
        let request_id = request_id(world);
        let params = Params::from_request(request);
        let error = AcsError::new(
            500,
            "InternalError",
            "The request processing has failed due to some unknown error, exception or failure.",
        );
        error_response(&request_id, params.get("RegionId"), &error)
    }
}

/// Authenticates, checks the API exists, and runs it.
fn run(
    world: &mut World,
    request: &ApiRequest,
    action: &str,
    params: &Params,
) -> Result<Map<String, Value>, AcsError> {
    let caller = auth::authenticate(world, request)?;
    let Some(handler) = handler(action) else {
        return Err(AcsError::new(
            404,
            "InvalidApi.NotFound",
            "Specified api is not found, please check your url and method.",
        ));
    };
    let version = request
        .header("x-acs-version")
        .map(str::to_owned)
        .or_else(|| request.query_param("Version"));
    if version.as_deref() != Some(VERSION) {
        return Err(AcsError::new(
            400,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        ));
    }
    handler(world, &caller, params)
}
