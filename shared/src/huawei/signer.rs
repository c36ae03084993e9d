//! SDK-HMAC-SHA256, as `huaweicloudsdkcore` signs (`huaweicloudsdkcore.signer.signer.Signer`).
//!
//! Rules that differ from the other clouds:
//! - the canonical URI is the path with each segment decoded and re-encoded, and always
//!   ends with `/` (the request line keeps its own form);
//! - the canonical query is re-built: pairs sorted by decoded name and value, then encoded;
//! - header values are trimmed;
//! - the payload hash is the empty-body hash for an empty body, else the value of
//!   `X-Sdk-Content-Sha256` when present (`UNSIGNED-PAYLOAD`), else the body's hash;
//! - the string to sign has no credential scope and the key is the raw secret;
//! - `Authorization` names the key with `Access=`;
//! - a security token travels, signed, in `X-Security-Token`, and the project in
//!   `X-Project-Id` (the caller sets it).

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use crate::signing::{
    CanonicalQuery, CanonicalRequest, EMPTY_SHA256, HttpRequest, Signature, Signer, SigningError,
    SigningParams, StringToSign, canonical_headers, decode_query, hex, hmac_sha256,
    sdk_signed_header_names, sha256_hex, signed_header_value, uri_encode,
};

/// Huawei Cloud's SDK-HMAC-SHA256 signer.
pub struct SdkHmacSigner;

const CONTENT_SHA256_HEADER: &str = "X-Sdk-Content-Sha256";

impl Signer for SdkHmacSigner {
    const ALGORITHM: &'static str = "SDK-HMAC-SHA256";

    fn canonical_request<'a>(
        request: &'a HttpRequest,
        signed_headers: &[&'a str],
    ) -> Result<CanonicalRequest<'a>, SigningError> {
        let payload_hash: Cow<'_, str> = if request.body.is_empty() {
            EMPTY_SHA256.into()
        } else if let Some(declared) = request.header(CONTENT_SHA256_HEADER) {
            declared.into()
        } else {
            sha256_hex(&request.body).into()
        };
        let mut query = decode_query(&request.query)?;
        query.sort_unstable();
        Ok(CanonicalRequest {
            method: request.method.to_ascii_uppercase().into(),
            path: canonical_uri(&request.path)?.into(),
            query: CanonicalQuery::Decoded(query),
            headers: canonical_headers(request, signed_headers, |request, name| {
                Ok(match signed_header_value(request, name)? {
                    Cow::Borrowed(value) => Cow::Borrowed(value.trim()),
                    Cow::Owned(value) => Cow::Owned(value.trim().to_owned()),
                })
            })?,
            payload_hash,
        })
    }

    fn sign(
        request: &HttpRequest,
        signed_headers: &[&str],
        params: &SigningParams<'_>,
    ) -> Result<Signature, SigningError> {
        let canonical = Self::canonical_request(request, signed_headers)?;
        let canonical_request = canonical.render();
        let string_to_sign =
            StringToSign::new(Self::ALGORITHM, sha256_hex(canonical_request.as_bytes()))
                .with_time(params.time.basic_iso8601())
                .render();
        let secret = params.credentials.secret_access_key().expose();
        let signature = hex(&hmac_sha256(secret.as_bytes(), string_to_sign.as_bytes()));
        let authorization = format!(
            "{} Access={}, SignedHeaders={}, Signature={signature}",
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

    /// Adds `X-Sdk-Date`, `X-Security-Token` for temporary credentials and, for a body that
    /// is neither JSON nor BSON, `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`; then signs every
    /// header whose name has no `_`, plus `host`, as the SDK does.
    fn prepare(
        request: &mut HttpRequest,
        params: &SigningParams<'_>,
    ) -> Result<Signature, SigningError> {
        let content_type = request.header("content-type").unwrap_or("application/json");
        if !content_type.starts_with("application/json")
            && !content_type.starts_with("application/bson")
        {
            request.set_header(CONTENT_SHA256_HEADER, "UNSIGNED-PAYLOAD");
        }
        request.set_header("X-Sdk-Date", params.time.basic_iso8601());
        if let Some(token) = params.credentials.security_token() {
            request.set_header("X-Security-Token", token.expose());
        }
        let names = sdk_signed_header_names(request, |name| {
            !name.contains('_') && name != "authorization"
        });
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let signature = Self::sign(request, &names, params)?;
        request.set_header("Authorization", signature.authorization.clone());
        Ok(signature)
    }
}

/// Each segment decoded and re-encoded; a `/` is appended when the path does not end in one.
fn canonical_uri(path: &str) -> Result<String, SigningError> {
    if !path.starts_with('/') {
        return Err(SigningError::InvalidPath {
            path: path.to_owned(),
        });
    }
    let decoded =
        percent_decode_str(path)
            .decode_utf8()
            .map_err(|_| SigningError::InvalidPath {
                path: path.to_owned(),
            })?;
    let mut out = String::with_capacity(path.len() + 1);
    for (index, segment) in decoded.split('/').enumerate() {
        if index > 0 {
            out.push('/');
        }
        out.push_str(&uri_encode(segment));
    }
    if !decoded.ends_with('/') {
        out.push('/');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uri_re_encodes_segments_and_always_ends_with_a_slash() {
        let cases = [
            ("/v1/cloudimages/abc/file", "/v1/cloudimages/abc/file/"),
            ("/", "/"),
            ("/v2/a%20b/c~d/", "/v2/a%20b/c~d/"),
            // `%2F` decodes to a separator and `+` is a plus, as Python's `unquote` reads them.
            ("/v2/a+b%2Fc", "/v2/a%2Bb/c/"),
        ];
        for (path, canonical) in cases {
            assert_eq!(canonical_uri(path).as_deref(), Ok(canonical), "{path}");
        }
        assert!(canonical_uri("v1").is_err());
    }
}
