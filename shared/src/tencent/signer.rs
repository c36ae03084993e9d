//! TC3-HMAC-SHA256, as `tencentcloud-sdk-python-common` signs (`AbstractClient._get_tc3_signature`).
//!
//! Rules that differ from the other clouds:
//! - the canonical query is the query string exactly as sent (the SDK's GET form is
//!   `urlencode(params)` in its own order, and the server does not re-sort it);
//! - header values are lowercased and trimmed (the documented rule; the SDK only ever signs
//!   `content-type` and `host`, which are already lowercase);
//! - a GET hashes an empty payload, and `X-TC-Content-SHA256: UNSIGNED-PAYLOAD` hashes that
//!   literal instead of the body;
//! - the key is derived from `"TC3" + secret` over date, service and `tc3_request`;
//! - a security token travels, unsigned, in `X-TC-Token`.

use std::borrow::Cow;

use crate::signing::{
    CanonicalQuery, CanonicalRequest, HttpRequest, Signature, Signer, SigningError, SigningParams,
    StringToSign, canonical_headers, derived_key, hex, hmac_sha256, sha256_hex,
    signed_header_value,
};

/// Tencent Cloud's TC3-HMAC-SHA256 signer.
pub struct Tc3Signer;

const TERMINATOR: &str = "tc3_request";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The headers the official SDK signs; the server accepts any list that includes them.
const SDK_SIGNED_HEADERS: [&str; 2] = ["content-type", "host"];

impl Signer for Tc3Signer {
    const ALGORITHM: &'static str = "TC3-HMAC-SHA256";

    fn canonical_request<'a>(
        request: &'a HttpRequest,
        signed_headers: &[&'a str],
    ) -> Result<CanonicalRequest<'a>, SigningError> {
        let payload_hash = if request.header("x-tc-content-sha256") == Some(UNSIGNED_PAYLOAD) {
            sha256_hex(UNSIGNED_PAYLOAD.as_bytes())
        } else if request.method == "GET" {
            sha256_hex(b"")
        } else {
            sha256_hex(&request.body)
        };
        Ok(CanonicalRequest {
            method: request.method.as_str().into(),
            path: request.path.as_str().into(),
            query: CanonicalQuery::AsSent(&request.query),
            headers: canonical_headers(request, signed_headers, |request, name| {
                Ok(lowercase_trimmed(signed_header_value(request, name)?))
            })?,
            payload_hash: payload_hash.into(),
        })
    }

    fn sign(
        request: &HttpRequest,
        signed_headers: &[&str],
        params: &SigningParams<'_>,
    ) -> Result<Signature, SigningError> {
        let canonical = Self::canonical_request(request, signed_headers)?;
        let canonical_request = canonical.render();

        let date = params.time.date_dashed();
        let scope = format!("{date}/{}/{TERMINATOR}", params.service);
        let string_to_sign =
            StringToSign::new(Self::ALGORITHM, sha256_hex(canonical_request.as_bytes()))
                .with_time(params.time.unix_seconds().to_string())
                .with_scope(&scope)
                .render();
        let secret = format!("TC3{}", params.credentials.secret_access_key().expose());
        let key = derived_key(secret.as_bytes(), &[&date, params.service, TERMINATOR]);
        let signature = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));
        let authorization = format!(
            "{} Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
            Self::ALGORITHM,
            params.credentials.access_key_id(),
            canonical.signed_headers(),
        );
        Ok(Signature {
            authorization,
            canonical_request,
            string_to_sign,
        })
    }

    /// Adds `X-TC-Timestamp` and, for temporary credentials, `X-TC-Token`, then signs
    /// `content-type;host` as the SDK does. The caller sets `Content-Type`, `X-TC-Action`,
    /// `X-TC-Version` and `X-TC-Region`.
    fn prepare(
        request: &mut HttpRequest,
        params: &SigningParams<'_>,
    ) -> Result<Signature, SigningError> {
        request.set_header("X-TC-Timestamp", params.time.unix_seconds().to_string());
        if let Some(token) = params.credentials.security_token() {
            request.set_header("X-TC-Token", token.expose());
        }
        let signature = Self::sign(request, &SDK_SIGNED_HEADERS, params)?;
        request.set_header("Authorization", signature.authorization.clone());
        Ok(signature)
    }
}

/// The documented header-value rule: trimmed and lowercased (borrowed when already so).
fn lowercase_trimmed(value: Cow<'_, str>) -> Cow<'_, str> {
    let clean = |v: &str| v.trim().len() == v.len() && !v.chars().any(char::is_uppercase);
    if clean(&value) {
        value
    } else {
        Cow::Owned(value.trim().to_lowercase())
    }
}
