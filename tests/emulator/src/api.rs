//! What each emulated cloud implements, and the signature check they share.

use imgflow_shared::Cloud;
use imgflow_shared::signing::{SigningParams, Timestamp, constant_time_eq};

use crate::http::{ApiRequest, ApiResponse};
use crate::world::{Caller, World};

/// One emulated cloud API: its actions, its answers and its own error shapes.
pub trait CloudApi: Send + Sync {
    fn cloud(&self) -> Cloud;

    /// The action a request asks for, as stats and fault rules name it (`ExportImages`,
    /// `CopyImageCrossRegion`, ...); `"Unknown"` when the request names none the cloud has.
    fn action(&self, request: &ApiRequest) -> String;

    /// Authenticates the request, carries it out and answers in the cloud's shape.
    fn handle(&self, world: &mut World, request: &ApiRequest, action: &str) -> ApiResponse;

    /// The cloud's throttling error; `retry_after` is in seconds.
    fn throttled(
        &self,
        world: &mut World,
        request: &ApiRequest,
        action: &str,
        retry_after: f64,
    ) -> ApiResponse;

    /// The cloud's internal server error (HTTP 5xx where the cloud uses one).
    fn internal_error(&self, world: &mut World, request: &ApiRequest, action: &str) -> ApiResponse;
}

/// What a request's `Authorization` header claims.
#[derive(Clone, Debug)]
pub struct SignatureClaim<'a> {
    pub access_key_id: &'a str,
    pub signed_headers: Vec<&'a str>,
    pub signature: &'a str,
    /// The time the signature was made with (from the cloud's date header).
    pub time: Timestamp,
    pub region: &'a str,
    pub service: &'a str,
}

/// Why a signature was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// No such access key.
    UnknownKey,
    /// The signature does not match the request; `expected_string_to_sign` helps debugging.
    Mismatch { expected_string_to_sign: String },
    /// A header the signature lists is not in the request.
    Malformed(String),
}

/// Recomputes the signature with the cloud's own signer over the headers the request lists
/// (unknown extra headers included), and compares in constant time.
pub fn verify_signature(
    world: &World,
    cloud: Cloud,
    request: &ApiRequest,
    claim: &SignatureClaim<'_>,
) -> Result<Caller, AuthFailure> {
    let (secret, account) = world
        .key(claim.access_key_id)
        .ok_or(AuthFailure::UnknownKey)?;
    let credentials = imgflow_shared::signing::Credentials::new(claim.access_key_id, secret);
    let params = SigningParams {
        credentials: &credentials,
        time: claim.time,
        region: claim.region,
        service: claim.service,
        nonce: "",
    };
    let mut signable = request.to_signable();
    signable
        .headers
        .retain(|(name, _)| !name.eq_ignore_ascii_case("authorization"));
    let expected = cloud
        .sign(&signable, &claim.signed_headers, &params)
        .map_err(|err| AuthFailure::Malformed(err.to_string()))?;
    let expected_signature = expected
        .authorization
        .rsplit("Signature=")
        .next()
        .unwrap_or_default();
    if constant_time_eq(expected_signature.as_bytes(), claim.signature.as_bytes()) {
        Ok(Caller {
            account: account.to_owned(),
            access_key_id: claim.access_key_id.to_owned(),
        })
    } else {
        Err(AuthFailure::Mismatch {
            expected_string_to_sign: expected.string_to_sign,
        })
    }
}

/// Splits `Key=value` fields of an `Authorization` header (after the algorithm), separated
/// by `,` with optional spaces, into a lookup.
pub fn authorization_fields(header: &str) -> Option<(&str, Vec<(&str, &str)>)> {
    let (algorithm, rest) = header.split_once(' ')?;
    let fields = rest
        .split(',')
        .filter_map(|field| field.trim().split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    Some((algorithm, fields))
}

pub fn field<'a>(fields: &[(&'a str, &'a str)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
}

/// Parses `YYYYMMDDTHHMMSSZ` (Volcengine `X-Date`, Huawei `X-Sdk-Date`, AWS `x-amz-date`).
pub fn parse_basic_iso8601(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| text.get(range)?.parse::<u64>().ok();
    civil_to_unix(
        num(0..4)?,
        num(4..6)?,
        num(6..8)?,
        num(9..11)?,
        num(11..13)?,
        num(13..15)?,
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` (Alibaba `x-acs-date`).
pub fn parse_extended_iso8601(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| text.get(range)?.parse::<u64>().ok();
    civil_to_unix(
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    )
}

fn civil_to_unix(y: u64, m: u64, d: u64, hh: u64, mm: u64, ss: u64) -> Option<Timestamp> {
    Timestamp::from_civil(y, m, d, hh, mm, ss)
}

/// Whether a signature time is within `window` seconds of the wall clock.
pub fn within_window(world: &World, signed_at: Timestamp, window: u64) -> bool {
    world.clock.wall_unix().abs_diff(signed_at.unix_seconds()) <= window
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_back_to_the_instant_they_were_printed_from() {
        for unix in [
            0,
            1_709_210_096,
            1_767_225_599,
            1_767_225_600,
            1_907_740_800,
        ] {
            let t = Timestamp::from_unix_seconds(unix);
            assert_eq!(parse_basic_iso8601(&t.basic_iso8601()), Some(t));
            assert_eq!(parse_extended_iso8601(&t.extended_iso8601()), Some(t));
        }
        assert_eq!(parse_basic_iso8601("20250231T000000Z"), None);
        assert_eq!(parse_extended_iso8601("2025-13-01T00:00:00Z"), None);
        assert_eq!(parse_basic_iso8601("garbage"), None);
    }

    #[test]
    fn authorization_fields_split_with_or_without_spaces() {
        let (algorithm, fields) =
            authorization_fields("ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=ff")
                .expect("parses");
        assert_eq!(algorithm, "ACS3-HMAC-SHA256");
        assert_eq!(field(&fields, "SignedHeaders"), Some("a;b"));
        let (_, fields) =
            authorization_fields("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=00")
                .expect("parses");
        assert_eq!(field(&fields, "Access"), Some("AK"));
    }
}
