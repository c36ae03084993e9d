//! Tencent Cloud CVM, API 3.0 version `2017-03-12`: `ExportImages`, `SyncImages` and
//! `DescribeImages` (WIRE.md §1, seeds 000 and 002).
//!
//! Requests are `POST /` with a JSON body, or the SDK's `GET /?Name.0=...` form; the action,
//! version and region come from `X-TC-Action`, `X-TC-Version` and `X-TC-Region` (or the query
//! parameters `Action`, `Version`, `Region`). Every answer, errors included, is HTTP 200 with
//! `Content-Type: application/json` and a `Response` object carrying `RequestId`.

mod auth;
mod describe;
mod errors;
mod export;
mod ids;
mod images;
mod params;
mod regions;
mod sync;

use imgflow_shared::Cloud;
use serde_json::{Map, Value};

use crate::api::CloudApi;
use crate::http::{ApiRequest, ApiResponse};
use crate::world::{Caller, World};
use errors::{TcError, error_response, success_response};
use params::Params;

pub struct Tencent;

const VERSION: &str = "2017-03-12";
const ACTIONS: [&str; 3] = ["ExportImages", "SyncImages", "DescribeImages"];

/// An authenticated call in a known region, with its parameters read.
pub(crate) struct Call {
    pub caller: Caller,
    pub region: String,
    pub params: Params,
}

/// A header, or in the query form the common parameter of the same meaning.
fn header_or_query(request: &ApiRequest, header: &str, parameter: &str) -> Option<String> {
    request
        .header(header)
        .map(str::to_owned)
        .or_else(|| request.query_param(parameter))
}

impl CloudApi for Tencent {
    fn cloud(&self) -> Cloud {
        Cloud::Tencent
    }

    fn action(&self, request: &ApiRequest) -> String {
        header_or_query(request, "x-tc-action", "Action")
            .filter(|action| ACTIONS.contains(&action.as_str()))
            .unwrap_or_else(|| "Unknown".to_owned())
    }

    fn handle(&self, world: &mut World, request: &ApiRequest, action: &str) -> ApiResponse {
        let request_id = world.request_id();
        match serve(world, request, action) {
            Ok(fields) => success_response(&request_id, fields),
            Err(error) => error_response(&request_id, &error),
        }
    }

    fn throttled(
        &self,
        world: &mut World,
        _request: &ApiRequest,
        action: &str,
        _retry_after: f64,
    ) -> ApiResponse {
        let limit = world.limits.rate(Cloud::Tencent, action);
        let error = TcError::new(
            "RequestLimitExceeded",
            format!(
                "Your current request times exceeds the frequency limit `{limit}` for a second \
                 for `{action}`. Please reduce the frequency of calls."
            ),
        );
        error_response(&world.request_id(), &error)
    }

    fn internal_error(
        &self,
        world: &mut World,
        _request: &ApiRequest,
        _action: &str,
    ) -> ApiResponse {
        let error = TcError::new(
            "InternalError",
            "An internal error has occurred. Retry your request, but if the problem persists, \
             contact us.",
        );
        error_response(&world.request_id(), &error)
    }
}

fn serve(
    world: &mut World,
    request: &ApiRequest,
    action: &str,
) -> Result<Map<String, Value>, TcError> {
    let caller = auth::authenticate(world, request)?;
    if action == "Unknown" {
        return Err(match header_or_query(request, "x-tc-action", "Action") {
            Some(named) => TcError::new(
                "InvalidAction",
                format!("The action `{named}` does not exist in version {VERSION} of cvm."),
            ),
            None => TcError::missing("Action"),
        });
    }
    match header_or_query(request, "x-tc-version", "Version") {
        None => return Err(TcError::missing("Version")),
        Some(version) if version != VERSION => {
            return Err(TcError::new(
                "NoSuchVersion",
                format!("The API version `{version}` of service `cvm` does not exist."),
            ));
        }
        Some(_) => {}
    }
    let region = header_or_query(request, "x-tc-region", "Region")
        .filter(|region| !region.is_empty())
        .ok_or_else(|| TcError::missing("Region"))?;
    if !regions::is_known(&region) {
        return Err(if action == "SyncImages" {
            sync::unsupported_source_region(&region)
        } else {
            TcError::new(
                "UnsupportedRegion",
                format!("The action `{action}` does not support the region `{region}`."),
            )
        });
    }
    let call = Call {
        caller,
        region,
        params: Params::from_request(request)?,
    };
    match action {
        "ExportImages" => export::export_images(world, &call),
        "SyncImages" => sync::sync_images(world, &call),
        _ => describe::describe_images(world, &call),
    }
}
