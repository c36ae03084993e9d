//! The HTTP server: one port for all four clouds, their object storage and the control API.
//! A request goes to the cloud whose signature algorithm its `Authorization` header names,
//! or, unsigned, to the cloud whose own headers or paths it carries.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use imgflow_shared::Cloud;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::CloudApi;
use crate::body::WireBody;
use crate::faults::{FaultKind, Faults};
use crate::http::{ApiRequest, ApiResponse, Body};
use crate::world::World;
use crate::{alibaba, control, huawei, objects, tencent, volcengine};

/// Everything the connections share.
pub struct Shared {
    pub world: Mutex<World>,
    pub faults: Mutex<Faults>,
    clouds: Vec<Box<dyn CloudApi>>,
}

impl Shared {
    pub fn new(world: World, faults: Faults) -> Self {
        Self {
            world: Mutex::new(world),
            faults: Mutex::new(faults),
            clouds: vec![
                Box::new(tencent::Tencent),
                Box::new(alibaba::Alibaba),
                Box::new(volcengine::Volcengine),
                Box::new(huawei::Huawei),
            ],
        }
    }

    fn cloud(&self, cloud: Cloud) -> &dyn CloudApi {
        self.clouds
            .iter()
            .find(|api| api.cloud() == cloud)
            .map(AsRef::as_ref)
            .expect("every cloud is registered")
    }

    pub fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn faults(&self) -> std::sync::MutexGuard<'_, Faults> {
        self.faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Where a request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Control,
    Cloud(Cloud),
    Objects,
}

pub fn route(request: &ApiRequest) -> Route {
    if request.path.starts_with("/_emulator/") {
        return Route::Control;
    }
    let algorithm = request
        .header("authorization")
        .and_then(|a| a.split(' ').next())
        .unwrap_or("");
    match algorithm {
        "TC3-HMAC-SHA256" => return Route::Cloud(Cloud::Tencent),
        "ACS3-HMAC-SHA256" => return Route::Cloud(Cloud::Alibaba),
        "HMAC-SHA256" => return Route::Cloud(Cloud::Volcengine),
        "SDK-HMAC-SHA256" => return Route::Cloud(Cloud::Huawei),
        "AWS4-HMAC-SHA256" => return Route::Objects,
        _ => {}
    }
    if request.header("x-tc-action").is_some() {
        Route::Cloud(Cloud::Tencent)
    } else if request.header("x-acs-action").is_some() {
        Route::Cloud(Cloud::Alibaba)
    } else if request.query.contains("Action=") {
        Route::Cloud(Cloud::Volcengine)
    } else if request.path.starts_with("/v1/") || request.path.starts_with("/v2/") {
        Route::Cloud(Cloud::Huawei)
    } else {
        Route::Objects
    }
}

/// The connection is to be closed without an answer (an injected reset or lost answer).
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DropConnection {}

/// Serves connections until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        let Ok((stream, _peer)) = accepted else {
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(Arc::clone(&shared), request));
            // A dropped connection ends here with an error; that is the point of the fault.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<WireBody>, DropConnection> {
    let request = match read_request(request).await {
        Ok(request) => request,
        Err(response) => return Ok(to_hyper(response)),
    };
    let response = match route(&request) {
        Route::Control => control::handle(&shared, &request),
        Route::Objects => objects::handle(&mut shared.world(), &request),
        Route::Cloud(cloud) => return cloud_answer(&shared, cloud, &request).await,
    };
    Ok(to_hyper(response))
}

async fn cloud_answer(
    shared: &Shared,
    cloud: Cloud,
    request: &ApiRequest,
) -> Result<Response<WireBody>, DropConnection> {
    let api = shared.cloud(cloud);
    let action = api.action(request);
    let now = shared.world().clock.cloud_now();
    let fault = shared.faults().next(cloud, &action, now);
    if let Some(fault) = &fault {
        match fault.kind {
            FaultKind::Reset => return Err(DropConnection),
            FaultKind::Slow => tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await,
            FaultKind::Throttle => {
                let mut world = shared.world();
                world.stats.injected_throttle(cloud, &action);
                return Ok(to_hyper(api.throttled(&mut world, request, &action, 1.0)));
            }
            FaultKind::ServerError => {
                return Ok(to_hyper(api.internal_error(
                    &mut shared.world(),
                    request,
                    &action,
                )));
            }
            FaultKind::Truncated | FaultKind::Lost => {}
        }
    }
    let response = {
        let mut world = shared.world();
        let limit = world.limits.rate(cloud, &action);
        match world.stats.admit(cloud, &action, limit) {
            Err(retry_after) => api.throttled(&mut world, request, &action, retry_after),
            Ok(()) => {
                world.release_queued();
                api.handle(&mut world, request, &action)
            }
        }
    };
    match fault.map(|f| f.kind) {
        Some(FaultKind::Lost) => Err(DropConnection),
        Some(FaultKind::Truncated) => Ok(to_hyper(truncate(response))),
        _ => Ok(to_hyper(response)),
    }
}

fn truncate(mut response: ApiResponse) -> ApiResponse {
    if let Body::Bytes(bytes) = &mut response.body {
        let half = bytes.len() / 2;
        bytes.truncate(half);
    }
    response
}

async fn read_request(request: Request<Incoming>) -> Result<ApiRequest, ApiResponse> {
    let (parts, body) = request.into_parts();
    let body: Bytes = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .map_err(|_| ApiResponse::empty(400))?;
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            // Header values may carry UTF-8 (Huawei sends them so); keep them as text.
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    Ok(ApiRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers,
        body,
    })
}

fn to_hyper(response: ApiResponse) -> Response<WireBody> {
    let mut builder =
        Response::builder().status(StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK));
    for (name, value) in &response.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder
        .body(WireBody::from(response.body))
        .unwrap_or_else(|_| Response::new(WireBody::Full(None)))
}
