//! The Volcengine answer envelope, ids and times as the cloud prints them.
//!
//! Success: `{"ResponseMetadata":{RequestId, Action, Version, Service, Region},"Result":{…}}`.
//! Error: the same metadata with `Error{CodeN, Code, Message}` and no `Result`, at the
//! documented HTTP status (the SDK raises on `Error` whatever the status).

use imgflow_shared::signing::Timestamp;
use serde_json::{Value, json};

use super::errors::ApiError;
use crate::http::{ApiRequest, ApiResponse};
use crate::world::World;

/// Beijing time, which every Volcengine timestamp and request id is printed in.
const BEIJING_OFFSET_SECONDS: u64 = 8 * 3_600;
/// The gateway echoes the request id in this header as well.
const LOG_ID_HEADER: &str = "X-Tt-Logid";

/// What `ResponseMetadata` says about a request.
#[derive(Clone, Debug)]
pub struct Meta {
    pub request_id: String,
    pub action: String,
    pub version: String,
    pub service: String,
    pub region: String,
}

impl Meta {
    pub fn new(world: &mut World, request: &ApiRequest, action: &str, version: &str) -> Self {
        let (region, service) = super::auth::scope_hint(request);
        Self {
            request_id: request_id(world),
            action: action.to_owned(),
            version: version.to_owned(),
            service,
            region,
        }
    }

    fn metadata(&self) -> serde_json::Map<String, Value> {
        let mut metadata = serde_json::Map::new();
        metadata.insert("RequestId".into(), json!(self.request_id));
        metadata.insert("Action".into(), json!(self.action));
        metadata.insert("Version".into(), json!(self.version));
        metadata.insert("Service".into(), json!(self.service));
        metadata.insert("Region".into(), json!(self.region));
        metadata
    }
}

pub fn success(meta: &Meta, result: Value) -> ApiResponse {
    let body = json!({"ResponseMetadata": meta.metadata(), "Result": result});
    ApiResponse::json(200, &body).with_header(LOG_ID_HEADER, meta.request_id.clone())
}

pub fn failure(meta: &Meta, error: &ApiError) -> ApiResponse {
    let mut metadata = meta.metadata();
    metadata.insert(
        "Error".into(),
        json!({"CodeN": error.code_n, "Code": error.code, "Message": error.message}),
    );
    let body = json!({ "ResponseMetadata": metadata });
    ApiResponse::json(error.status, &body).with_header(LOG_ID_HEADER, meta.request_id.clone())
}

/// `YYYYMMDDHHMMSS` (Beijing time) followed by 20 upper-case hex digits, as
/// `20250304161530AB12CD34EF56789012…` ids look.
fn request_id(world: &mut World) -> String {
    let unique: String = world
        .request_id()
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    let tail = &unique[unique.len().saturating_sub(20)..];
    let local = Timestamp::from_unix_seconds(world.clock.wall_unix() + BEIJING_OFFSET_SECONDS);
    let stamp: String = local
        .basic_iso8601()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    format!("{stamp}{}", tail.to_ascii_uppercase())
}

/// RFC 3339 in Beijing time, `2025-03-04T16:15:30+08:00`, as the API examples print times.
pub fn beijing_time(unix: f64) -> String {
    let local = Timestamp::from_unix_seconds(unix.max(0.0) as u64 + BEIJING_OFFSET_SECONDS);
    let text = local.extended_iso8601();
    format!("{}+08:00", text.trim_end_matches('Z'))
}

/// `prefix` + 20 lower-case letters and digits, unique per `n` and random-looking, as
/// `t-3teco18f1w5a71abcdef` and `image-ycbd6q8x9zw3pnaxyz12` are.
pub fn opaque_id(prefix: &str, n: u64) -> String {
    const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    // An odd multiplier and an xor are bijections on u64, so distinct `n` give distinct ids.
    let mut scrambled = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x2545_F491_4F6C_DD1D;
    let mut digits = Vec::with_capacity(20);
    for _ in 0..13 {
        digits.push(ALPHABET[(scrambled % 36) as usize]);
        scrambled /= 36;
    }
    let mut filler = n.wrapping_mul(0xD6E8_FEB8_6659_FD93).rotate_left(17);
    for _ in 0..7 {
        digits.push(ALPHABET[(filler % 36) as usize]);
        filler /= 36;
    }
    format!("{prefix}{}", String::from_utf8_lossy(&digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_twenty_characters_and_do_not_repeat() {
        let ids: std::collections::BTreeSet<String> =
            (0..5_000).map(|n| opaque_id("t-", n)).collect();
        assert_eq!(ids.len(), 5_000);
        assert!(ids.iter().all(|id| id.len() == 22 && id.starts_with("t-")));
    }

    #[test]
    fn times_print_in_beijing_time() {
        // 2025-03-04T08:15:30Z
        assert_eq!(beijing_time(1_741_076_130.0), "2025-03-04T16:15:30+08:00");
    }
}
