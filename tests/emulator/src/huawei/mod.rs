//! Huawei Cloud IMS: image export to OBS, cross-region copy, the job APIs and the image list,
//! behind an emulated API gateway (SDK-HMAC-SHA256, `X-Project-Id`, throttling).
//!
//! The project in `X-Project-Id` names the account and the region (`World::huawei_project`).
//! Every answer carries `X-Request-Id`, the only place the SDK reads the request id from.
//! See `docs/huawei.md` for the catalogue images, the error codes and their triggers.

mod auth;
mod copy;
mod errors;
mod export;
mod ids;
mod images;
mod jobs;
mod params;
mod routes;

use imgflow_shared::Cloud;

use crate::api::CloudApi;
use crate::http::{ApiRequest, ApiResponse};
use crate::world::World;

use errors::{ApiError, INTERNAL, answer, api_not_found};
use routes::Route;

pub struct Huawei;

impl CloudApi for Huawei {
    fn cloud(&self) -> Cloud {
        Cloud::Huawei
    }

    fn action(&self, request: &ApiRequest) -> String {
        Route::parse(&request.method, &request.path)
            .map_or("Unknown", Route::action)
            .to_owned()
    }

    fn handle(&self, world: &mut World, request: &ApiRequest, _action: &str) -> ApiResponse {
        let request_id = ids::request_id(world);
        match serve(world, request) {
            Ok(body) => answer(200, &body, &request_id),
            Err(error) => error.into_response(&request_id),
        }
    }

    fn throttled(
        &self,
        world: &mut World,
        _request: &ApiRequest,
        action: &str,
        retry_after: f64,
    ) -> ApiResponse {
        let request_id = ids::request_id(world);
        let limit = world.limits.rate(Cloud::Huawei, action);
        // urllib3's Retry, which the SDK's 429 retries use, honours Retry-After.
        let retry_after = retry_after.ceil().max(1.0) as u64;
        ApiError::from(errors::throttled(limit))
            .into_response(&request_id)
            .with_header("Retry-After", retry_after.to_string())
    }

    fn internal_error(
        &self,
        world: &mut World,
        _request: &ApiRequest,
        _action: &str,
    ) -> ApiResponse {
        let request_id = ids::request_id(world);
        ApiError::from(INTERNAL).into_response(&request_id)
    }
}

/// The gateway's order: find the API, authenticate, then let IMS do the work.
fn serve(world: &mut World, request: &ApiRequest) -> Result<serde_json::Value, ApiError> {
    let route = Route::parse(&request.method, &request.path).ok_or_else(api_not_found)?;
    let scope = auth::authenticate(world, request)?;
    let body = &request.body;
    let result = match route {
        Route::ExportImage { image_id } => export::export_image(world, &scope, image_id, body),
        Route::CopyImageCrossRegion { image_id } => {
            copy::copy_image_cross_region(world, &scope, image_id, body)
        }
        Route::ShowJobProgress { job_id } => jobs::show_job_progress(world, &scope, job_id),
        Route::ShowJob { project_id, job_id } => jobs::show_job(world, &scope, project_id, job_id),
        Route::ListImages => images::list_images(world, &scope, &request.query_pairs()),
    };
    Ok(result?)
}
