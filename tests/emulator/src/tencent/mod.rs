//! PLACEHOLDER while the cloud module is written: answers every request with HTTP 501.

use imgflow_shared::Cloud;

use crate::api::CloudApi;
use crate::http::{ApiRequest, ApiResponse};
use crate::world::World;

pub struct Tencent;

impl CloudApi for Tencent {
    fn cloud(&self) -> Cloud {
        Cloud::Tencent
    }

    fn action(&self, _request: &ApiRequest) -> String {
        "Unknown".to_owned()
    }

    fn handle(&self, _world: &mut World, _request: &ApiRequest, _action: &str) -> ApiResponse {
        ApiResponse::empty(501)
    }

    fn throttled(
        &self,
        _world: &mut World,
        _request: &ApiRequest,
        _action: &str,
        _retry_after: f64,
    ) -> ApiResponse {
        ApiResponse::empty(429)
    }

    fn internal_error(
        &self,
        _world: &mut World,
        _request: &ApiRequest,
        _action: &str,
    ) -> ApiResponse {
        ApiResponse::empty(500)
    }
}
