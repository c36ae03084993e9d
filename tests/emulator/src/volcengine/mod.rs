//! Volcengine ECS `2020-04-01`: `ExportImage`, `CopyImage`, `DescribeTasks` and
//! `DescribeImages`, RPC over `GET /?Action=…&Version=…` (WIRE.md §3).
//!
//! The region comes only from the `Authorization` credential scope
//! (`AK/date/region/ecs/request`); the account from the access key.

mod auth;
mod copy;
mod errors;
mod export;
mod images;
mod params;
mod render;
mod tasks;

use imgflow_shared::Cloud;
use serde_json::Value;

use self::errors::ApiError;
use self::params::Params;
use self::render::Meta;
use crate::api::CloudApi;
use crate::http::{ApiRequest, ApiResponse};
use crate::world::World;

pub struct Volcengine;

const VERSION: &str = "2020-04-01";
const ACTIONS: [&str; 4] = [
    "ExportImage",
    "CopyImage",
    "DescribeTasks",
    "DescribeImages",
];

impl CloudApi for Volcengine {
    fn cloud(&self) -> Cloud {
        Cloud::Volcengine
    }

    fn action(&self, request: &ApiRequest) -> String {
        let params = Params::from_request(request);
        params
            .get("Action")
            .filter(|action| ACTIONS.contains(action))
            .unwrap_or("Unknown")
            .to_owned()
    }

    fn handle(&self, world: &mut World, request: &ApiRequest, _action: &str) -> ApiResponse {
        let params = Params::from_request(request);
        let meta = meta(world, request, &params);
        match serve(world, request, &params) {
            Ok(result) => render::success(&meta, result),
            Err(error) => render::failure(&meta, &error),
        }
    }

    fn throttled(
        &self,
        world: &mut World,
        request: &ApiRequest,
        _action: &str,
        _retry_after: f64,
    ) -> ApiResponse {
        let params = Params::from_request(request);
        let meta = meta(world, request, &params);
        render::failure(&meta, &errors::flow_limit_exceeded())
    }

    fn internal_error(
        &self,
        world: &mut World,
        request: &ApiRequest,
        _action: &str,
    ) -> ApiResponse {
        let params = Params::from_request(request);
        let meta = meta(world, request, &params);
        render::failure(&meta, &errors::internal_error())
    }
}

fn meta(world: &mut World, request: &ApiRequest, params: &Params) -> Meta {
    let action = params.get("Action").unwrap_or_default();
    let version = params.get("Version").unwrap_or_default();
    Meta::new(world, request, action, version)
}

/// The gateway's checks (parameters, signature, action), then the action itself.
fn serve(world: &mut World, request: &ApiRequest, params: &Params) -> Result<Value, ApiError> {
    let action = params
        .non_empty("Action")
        .ok_or_else(|| errors::missing_parameter("Action"))?;
    let version = params
        .non_empty("Version")
        .ok_or_else(|| errors::missing_parameter("Version"))?;
    let who = auth::authenticate(world, request)?;
    if version != VERSION {
        return Err(errors::invalid_action_or_version(action, version));
    }
    match action {
        "ExportImage" => export::export_image(world, &who, params),
        "CopyImage" => copy::copy_image(world, &who, params),
        "DescribeTasks" => tasks::describe_tasks(world, &who, params),
        "DescribeImages" => images::describe_images(world, &who, params),
        _ => Err(errors::invalid_action_or_version(action, version)),
    }
}
