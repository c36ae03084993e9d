//! Webhook authentication: the caller signs, with HMAC-SHA256 and a secret shared with the
//! deployment,
//!
//! ```text
//! "<timestamp>.<raw body>"                      without an Idempotency-Key header
//! "<timestamp>.<raw body>.<idempotency key>"    with one (its bytes as sent)
//! ```
//!
//! and sends
//!
//! ```text
//! X-Imgflow-Timestamp: 1767225599
//! X-Imgflow-Signature: sha256=<64 lowercase hex digits>
//! Idempotency-Key: build-4711                   (optional)
//! ```
//!
//! The key goes last so that a signature made without a key stays valid (callers that send
//! none sign what they always signed) and the string splits one way only: the body must be
//! one JSON document, which never ends inside a `.`-separated tail, so a signed body cannot
//! be re-cut into a shorter body plus a key, nor a signed key moved into the body.
//!
//! A request is accepted only if the timestamp is within five minutes of the function's
//! clock and the signature matches (compared in constant time). Everything else is refused
//! with 401 before the body is even parsed. The 401 says which header is missing or
//! malformed, that the timestamp is outside the window, or that the signature does not
//! match: never by how much the clocks differ, nor anything about the deployment.

use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue};
use imgflow_shared::error::ValidationError;
use imgflow_shared::error_name::ErrorName;
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
    /// The skew is logged, not answered: it would tell anyone the server's clock.
    #[error("X-Imgflow-Timestamp is more than 300 s away from the server's clock")]
    Stale(u64),
    #[error("X-Imgflow-Signature must be `sha256=` followed by 64 hex digits")]
    MalformedSignature,
    #[error("the signature does not match the timestamp, body and idempotency key")]
    Mismatch,
}

/// The signature a caller sends for `body` at `timestamp`, with the `Idempotency-Key`
/// header's bytes when it sends one (also what the tests and the README's curl line compute).
pub fn signature(secret: &[u8], timestamp: u64, body: &[u8], key: Option<&[u8]>) -> String {
    let digest = mac_for(secret, timestamp, body, key)
        .finalize()
        .into_bytes();
    format!("sha256={}", imgflow_shared::signing::hex(&digest))
}

/// The exact bytes signed: `<timestamp>.<body>`, then `.<key>` when there is a key.
pub fn signed_bytes(timestamp: u64, body: &[u8], key: Option<&[u8]>) -> Vec<u8> {
    let mut text = format!("{timestamp}.").into_bytes();
    text.extend_from_slice(body);
    if let Some(key) = key {
        text.push(b'.');
        text.extend_from_slice(key);
    }
    text
}

fn mac_for(secret: &[u8], timestamp: u64, body: &[u8], key: Option<&[u8]>) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this never fails.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(&signed_bytes(timestamp, body, key));
    mac
}

/// The `Idempotency-Key` header's bytes as sent, if the request has one.
pub fn idempotency_key_bytes(headers: &HeaderMap) -> Option<&[u8]> {
    headers.get(IDEMPOTENCY_HEADER).map(HeaderValue::as_bytes)
}

/// The longest idempotency key.
pub const KEY_MAX_CHARS: usize = 128;
/// The rule an `Idempotency-Key` follows (a 400 names the header and this rule).
pub const KEY_RULE: &str = "must be 1 to 128 visible ASCII characters (0x21-0x7E; no spaces, no letters outside ASCII such as é)";

/// The idempotency key of an authenticated request: `None` without the header, the key when
/// it follows [`KEY_RULE`], or the 400's error. A key is never dropped silently: a retry
/// whose key were ignored would start a second execution.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ValidationError> {
    let Some(bytes) = idempotency_key_bytes(headers) else {
        return Ok(None);
    };
    let valid = !bytes.is_empty()
        && bytes.len() <= KEY_MAX_CHARS
        && bytes.iter().all(|b| (0x21..=0x7e).contains(b));
    match std::str::from_utf8(bytes) {
        Ok(key) if valid => Ok(Some(key)),
        _ => Err(ValidationError::new("Idempotency-Key", KEY_RULE)),
    }
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
    mac_for(secret, timestamp, body, idempotency_key_bytes(headers))
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
        &json!({"error": ErrorName::RequestInvalid, "field": err.field, "rule": err.rule, "message": err.to_string()}),
    )
}

/// The raw body and timestamp of a correctly signed request, or the answer to give: 401
/// saying what is wrong with the request (nothing about the server), or 503 when the
/// deployment has no webhook secret (the reason is logged, not answered).
pub fn authenticate(
    app: &App,
    request: &LambdaFunctionUrlRequest,
) -> Result<(Vec<u8>, u64), Value> {
    let Some(secret) = &app.settings.webhook_secret else {
        tracing::error!(
            "webhook refused: no webhook secret is configured (webhook_secret in the secret, or IMGFLOW_WEBHOOK_SECRET)"
        );
        return Err(unavailable());
    };
    let unauthorized = |message: String| {
        tracing::warn!(%message, "webhook refused");
        http_answer(
            401,
            &json!({"error": ErrorName::WebhookUnauthorized, "message": message}),
        )
    };
    let body = raw_body(request).map_err(unauthorized)?;
    let timestamp = verify(
        &request.headers,
        &body,
        secret.expose().as_bytes(),
        unix_now(),
    )
    .map_err(|err| {
        if let AuthError::Stale(skew) = err {
            tracing::warn!(skew_seconds = skew, "webhook timestamp outside the window");
        }
        unauthorized(err.to_string())
    })?;
    Ok((body, timestamp))
}

/// The webhook cannot authenticate anything: the same words whatever the cause.
pub fn unavailable() -> Value {
    http_answer(
        503,
        &json!({"error": ErrorName::WebhookUnavailable, "message": "this webhook is not available; its operator can find the reason in the function's logs"}),
    )
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
        let sig = signature(SECRET, NOW - 10, body, None);
        assert_eq!(
            verify(&headers(&(NOW - 10).to_string(), &sig), body, SECRET, NOW),
            Ok(NOW - 10)
        );
        // The same signature from a caller whose clock runs ahead is fine too.
        let ahead = signature(SECRET, NOW + 299, body, None);
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
        let good = signature(SECRET, NOW, body, None);
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
                    &signature(SECRET, NOW - 301, body, None),
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
                headers(&ts, &signature(b"other-secret", NOW, body, None)),
                body,
                AuthError::Mismatch,
            ),
        ];
        for (map, body, expected) in cases {
            assert_eq!(verify(&map, body, SECRET, NOW), Err(expected));
        }
    }

    fn with_key(mut map: HeaderMap, key: &[u8]) -> HeaderMap {
        map.insert(
            IDEMPOTENCY_HEADER,
            HeaderValue::from_bytes(key).expect("header"),
        );
        map
    }

    #[test]
    fn the_signed_string_is_timestamp_body_then_the_key() {
        assert_eq!(signed_bytes(7, b"{}", None), b"7.{}");
        assert_eq!(signed_bytes(7, b"{}", Some(b"k-1")), b"7.{}.k-1");
    }

    #[test]
    fn the_idempotency_key_is_signed_so_a_captured_request_cannot_take_another_key() {
        let body = br#"{"job_id":"j"}"#;
        let ts = NOW.to_string();
        let signed = signature(SECRET, NOW, body, Some(b"build-4711"));
        let good = with_key(headers(&ts, &signed), b"build-4711");
        assert_eq!(verify(&good, body, SECRET, NOW), Ok(NOW));
        for other in [&b"build-4712"[..], b"build-4711 ", b"x"] {
            let replay = with_key(headers(&ts, &signed), other);
            assert_eq!(
                verify(&replay, body, SECRET, NOW),
                Err(AuthError::Mismatch),
                "{other:?}"
            );
        }
        // Nor be sent without its key, nor a keyless signature be given a key.
        assert_eq!(
            verify(&headers(&ts, &signed), body, SECRET, NOW),
            Err(AuthError::Mismatch)
        );
        let keyless = signature(SECRET, NOW, body, None);
        assert_eq!(
            verify(&with_key(headers(&ts, &keyless), b"k"), body, SECRET, NOW),
            Err(AuthError::Mismatch)
        );
    }

    #[test]
    fn a_refusal_does_not_tell_the_servers_clock() {
        let body = b"{}";
        let then = NOW - 4000;
        let map = headers(&then.to_string(), &signature(SECRET, then, body, None));
        let err = verify(&map, body, SECRET, NOW).expect_err("stale");
        assert_eq!(err, AuthError::Stale(4000));
        assert!(!err.to_string().contains("4000"), "{err}");
    }

    #[test]
    fn an_idempotency_key_outside_visible_ascii_is_refused_not_ignored() {
        assert_eq!(idempotency_key(&HeaderMap::new()), Ok(None));
        let ok = with_key(HeaderMap::new(), b"nightly-2026-12-04");
        assert_eq!(idempotency_key(&ok), Ok(Some("nightly-2026-12-04")));
        let long = "k".repeat(KEY_MAX_CHARS);
        let at_limit = with_key(HeaderMap::new(), long.as_bytes());
        assert_eq!(idempotency_key(&at_limit), Ok(Some(long.as_str())));
        for bad in [
            "clé-4711".as_bytes(),
            b"",
            b"two words",
            b"tab\there",
            "k".repeat(KEY_MAX_CHARS + 1).as_bytes(),
        ] {
            let err = idempotency_key(&with_key(HeaderMap::new(), bad)).expect_err("refused");
            assert_eq!(
                (err.field.as_str(), err.rule.as_str()),
                ("Idempotency-Key", KEY_RULE)
            );
        }
    }
}
