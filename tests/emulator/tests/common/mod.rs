//! What every emulator test needs: an emulator on a random port, and a way to send it a
//! request signed by the project's own signers (`Cloud::prepare`), as the clients will.
#![allow(dead_code)]

use cloud_emulator::{EmulatorConfig, RunningEmulator};
use imgflow_shared::Cloud;
use imgflow_shared::signing::{Credentials, HttpRequest, SigningParams, Timestamp};

/// The built-in catalogue's key of the account `default`.
pub const AK: &str = "imgflow-emulator-ak";
pub const SK: &str = "imgflow-emulator-sk";

pub async fn emulator() -> RunningEmulator {
    emulator_with(EmulatorConfig::default()).await
}

pub async fn emulator_with(config: EmulatorConfig) -> RunningEmulator {
    cloud_emulator::start(config)
        .await
        .expect("the emulator starts")
}

/// A request to the emulator: `host` is its address, as the HTTP client will send it.
pub fn request(emulator: &RunningEmulator, method: &str, path: &str) -> HttpRequest {
    HttpRequest::new(method, emulator.addr.to_string(), path)
}

/// Signs `request` as the official SDK would, with the real clock.
pub fn sign(
    cloud: Cloud,
    request: &mut HttpRequest,
    credentials: &Credentials,
    region: &str,
    service: &str,
) {
    sign_at(
        cloud,
        request,
        credentials,
        region,
        service,
        Timestamp::now(),
    );
}

pub fn sign_at(
    cloud: Cloud,
    request: &mut HttpRequest,
    credentials: &Credentials,
    region: &str,
    service: &str,
    time: Timestamp,
) {
    let nonce = format!(
        "{:032x}",
        NONCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as u128
            + (time.unix_seconds() as u128) * 1_000_000
    );
    let params = SigningParams {
        credentials,
        time,
        region,
        service,
        nonce: &nonce,
    };
    cloud
        .prepare(request, &params)
        .expect("the request can be signed");
}

static NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

pub fn credentials() -> Credentials {
    Credentials::new(AK, SK)
}

/// An answer, with the body as text and (when it is JSON) parsed.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub json: serde_json::Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `request` as it stands (its headers, its body) and reads the answer.
pub async fn send(emulator: &RunningEmulator, request: &HttpRequest) -> Reply {
    try_send(emulator, request)
        .await
        .expect("the emulator answers")
}

/// Like [`send`], but a dropped connection is an `Err`.
pub async fn try_send(
    emulator: &RunningEmulator,
    request: &HttpRequest,
) -> Result<Reply, reqwest::Error> {
    imgflow_shared::transport::install_crypto_provider();
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let mut url = format!("{}{}", emulator.base_url, request.path);
    if !request.query.is_empty() {
        url.push('?');
        url.push_str(&request.query);
    }
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).expect("method");
    let mut builder = client.request(method, url).body(request.body.clone());
    for (name, value) in &request.headers {
        if !name.eq_ignore_ascii_case("host") {
            builder = builder.header(name.as_str(), value.as_str());
        }
    }
    let response = builder.send().await?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let text = response.text().await?;
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    Ok(Reply {
        status,
        headers,
        text,
        json,
    })
}

/// Moves the emulator's cloud clock forward.
pub fn advance(emulator: &RunningEmulator, seconds: f64) {
    emulator.world().clock.advance(seconds);
}
