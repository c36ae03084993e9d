//! Webhook authentication: the caller signs `"<timestamp>.<raw body>"` with HMAC-SHA256 and
//! a secret shared with the deployment, and sends
//!
//! ```text
//! X-Imgflow-Timestamp: 1767225599
//! X-Imgflow-Signature: sha256=<64 lowercase hex digits>
//! ```
//!
//! A request is accepted only if the timestamp is within five minutes of the function's
//! clock and the signature matches (compared in constant time). Everything else is refused
//! with 401 before the body is even parsed.

use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use imgflow_shared::error::ValidationError;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::app::{App, unix_now};
use crate::envelope::{http_answer, raw_body};

pub const TIMESTAMP_HEADER: &str = "x-imgflow-timestamp";
pub const SIGNATURE_HEADER: &str = "x-imgflow-signature";
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// How far the caller's clock may be from ours, either way.
pub const WINDOW_SECONDS: u64 = 300;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the {0} header is missing")]
    Missing(&'static str),
    #[error("X-Imgflow-Timestamp must be unix seconds")]
    MalformedTimestamp,
    #[error("X-Imgflow-Timestamp is {0} s away from the server's clock; at most 300 s are allowed")]
    Stale(u64),
    #[error("X-Imgflow-Signature must be `sha256=` followed by 64 hex digits")]
    MalformedSignature,
    #[error("the signature does not match the body and timestamp")]
    Mismatch,
}

/// The signature a caller sends for `body` at `timestamp` (also what the tests and the
/// README's curl line compute).
pub fn signature(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let digest = mac_for(secret, timestamp, body).finalize().into_bytes();
    format!("sha256={}", imgflow_shared::signing::hex(&digest))
}

fn mac_for(secret: &[u8], timestamp: u64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this never fails.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Checks the headers against `body` at `now` (unix seconds). Returns the timestamp.
pub fn verify(headers: &HeaderMap, body: &[u8], secret: &[u8], now: u64) -> Result<u64, AuthError> {
    let header = |name: &'static str, shown: &'static str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or(AuthError::Missing(shown))
    };
    let timestamp_text = header(TIMESTAMP_HEADER, "X-Imgflow-Timestamp")?;
    let signature_text = header(SIGNATURE_HEADER, "X-Imgflow-Signature")?;
    let timestamp: u64 = timestamp_text
        .parse()
        .map_err(|_| AuthError::MalformedTimestamp)?;
    let skew = now.abs_diff(timestamp);
    if skew > WINDOW_SECONDS {
        return Err(AuthError::Stale(skew));
    }
    let hex = signature_text
        .strip_prefix("sha256=")
        .filter(|h| h.len() == 64)
        .ok_or(AuthError::MalformedSignature)?;
    let expected = decode_hex(hex).ok_or(AuthError::MalformedSignature)?;
    mac_for(secret, timestamp, body)
        .verify_slice(&expected)
        .map_err(|_| AuthError::Mismatch)?;
    Ok(timestamp)
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16);
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some((digit(pair[0])? * 16 + digit(*pair.get(1)?)?) as u8))
        .collect()
}

/// A 400 naming the field and the rule.
pub fn bad_request(err: &ValidationError) -> Value {
    http_answer(
        400,
        &json!({"error": "Request.Invalid", "field": err.field, "rule": err.rule, "message": err.to_string()}),
    )
}

/// The raw body and timestamp of a correctly signed request, or the 401 (500 when the
/// deployment has no webhook secret) to answer.
pub fn authenticate(
    app: &App,
    request: &LambdaFunctionUrlRequest,
) -> Result<(Vec<u8>, u64), Value> {
    let Some(secret) = &app.settings.webhook_secret else {
        return Err(http_answer(
            500,
            &json!({"error": "Config.Invalid", "message": "no webhook secret is configured"}),
        ));
    };
    let unauthorized = |message: String| {
        tracing::warn!(%message, "webhook refused");
        http_answer(
            401,
            &json!({"error": "Webhook.Unauthorized", "message": message}),
        )
    };
    let body = raw_body(request).map_err(unauthorized)?;
    let timestamp = verify(
        &request.headers,
        &body,
        secret.expose().as_bytes(),
        unix_now(),
    )
    .map_err(|err| unauthorized(err.to_string()))?;
    Ok((body, timestamp))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec-test";
    const NOW: u64 = 1_767_225_599;

    fn headers(timestamp: &str, signature: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(TIMESTAMP_HEADER, timestamp.parse().expect("header"));
        map.insert(SIGNATURE_HEADER, signature.parse().expect("header"));
        map
    }

    #[test]
    fn a_fresh_signature_over_the_exact_body_is_accepted() {
        let body = br#"{"job_id":"j"}"#;
        let sig = signature(SECRET, NOW - 10, body);
        assert_eq!(
            verify(&headers(&(NOW - 10).to_string(), &sig), body, SECRET, NOW),
            Ok(NOW - 10)
        );
        // The same signature from a caller whose clock runs ahead is fine too.
        let ahead = signature(SECRET, NOW + 299, body);
        assert!(
            verify(
                &headers(&(NOW + 299).to_string(), &ahead),
                body,
                SECRET,
                NOW
            )
            .is_ok()
        );
    }

    #[test]
    fn anything_else_is_refused_with_the_reason() {
        let body = br#"{"job_id":"j"}"#;
        let ts = NOW.to_string();
        let good = signature(SECRET, NOW, body);
        let cases: Vec<(HeaderMap, &[u8], AuthError)> = vec![
            (
                HeaderMap::new(),
                body,
                AuthError::Missing("X-Imgflow-Timestamp"),
            ),
            (
                {
                    let mut m = HeaderMap::new();
                    m.insert(TIMESTAMP_HEADER, ts.parse().expect("h"));
                    m
                },
                body,
                AuthError::Missing("X-Imgflow-Signature"),
            ),
            (
                headers("yesterday", &good),
                body,
                AuthError::MalformedTimestamp,
            ),
            (
                headers(
                    &(NOW - 301).to_string(),
                    &signature(SECRET, NOW - 301, body),
                ),
                body,
                AuthError::Stale(301),
            ),
            (
                headers(&ts, "sha1=abc"),
                body,
                AuthError::MalformedSignature,
            ),
            (
                headers(&ts, &format!("sha256={}", "zz".repeat(32))),
                body,
                AuthError::MalformedSignature,
            ),
            (
                headers(&ts, &good),
                br#"{"job_id":"k"}"#,
                AuthError::Mismatch,
            ),
            (
                headers(&(NOW - 1).to_string(), &good),
                body,
                AuthError::Mismatch,
            ),
            (
                headers(&ts, &signature(b"other-secret", NOW, body)),
                body,
                AuthError::Mismatch,
            ),
        ];
        for (map, body, expected) in cases {
            assert_eq!(verify(&map, body, SECRET, NOW), Err(expected));
        }
    }
}
