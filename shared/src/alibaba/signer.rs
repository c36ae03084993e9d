//! ACS3-HMAC-SHA256, as `alibabacloud-tea-openapi` signs (`Utils.get_authorization`).
//!
//! Rules that differ from the other clouds:
//! - the canonical query is re-built: parameters sorted by name, values RFC 3986-encoded;
//! - header values are trimmed; repeated headers are sorted and joined with `,`;
//! - the signature is a plain HMAC under the raw secret: no key derivation, no scope;
//! - no date enters the string to sign: `x-acs-date` and `x-acs-signature-nonce` are
//!   headers, signed like any other (the server rejects a reused nonce);
//! - the `Authorization` fields are separated by `,` without spaces;
//! - a security token travels, signed, in `x-acs-security-token`.

use std::borrow::Cow;

use crate::signing::{
    CanonicalQuery, CanonicalRequest, HttpRequest, Signature, Signer, SigningError, SigningParams,
    StringToSign, canonical_headers, decode_query, hex, hmac_sha256, sdk_signed_header_names,
    sha256_hex,
};

/// Alibaba Cloud's ACS3-HMAC-SHA256 signer.
pub struct Acs3Signer;

impl Signer for Acs3Signer {
    const ALGORITHM: &'static str = "ACS3-HMAC-SHA256";

    fn canonical_request<'a>(
        request: &'a HttpRequest,
        signed_headers: &[&'a str],
    ) -> Result<CanonicalRequest<'a>, SigningError> {
        let mut query = decode_query(&request.query)?;
        query.sort_unstable();
        let path = if request.path.is_empty() {
            "/"
        } else {
            request.path.as_str()
        };
        Ok(CanonicalRequest {
            method: request.method.as_str().into(),
            path: path.into(),
            query: CanonicalQuery::Decoded(query),
            headers: canonical_headers(request, signed_headers, header_value)?,
            payload_hash: sha256_hex(&request.body).into(),
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
            StringToSign::new(Self::ALGORITHM, sha256_hex(canonical_request.as_bytes())).render();
        let secret = params.credentials.secret_access_key().expose();
        let signature = hex(&hmac_sha256(secret.as_bytes(), string_to_sign.as_bytes()));
        let authorization = format!(
            "{} Credential={},SignedHeaders={},Signature={signature}",
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

    /// Adds `host`, `x-acs-date`, `x-acs-signature-nonce` (from `params.nonce`),
    /// `x-acs-content-sha256` and, for temporary credentials, `x-acs-security-token`, then
    /// signs every header the request carries, as the SDK does. The caller sets
    /// `x-acs-action` and `x-acs-version`.
    fn prepare(
        request: &mut HttpRequest,
        params: &SigningParams<'_>,
    ) -> Result<Signature, SigningError> {
        if request.header("host").is_none() {
            let host = request.host.clone();
            request.set_header("host", host);
        }
        request.set_header("x-acs-date", params.time.extended_iso8601());
        request.set_header("x-acs-signature-nonce", params.nonce);
        request.set_header("x-acs-content-sha256", sha256_hex(&request.body));
        if let Some(token) = params.credentials.security_token() {
            request.set_header("x-acs-security-token", token.expose());
        }
        let names = sdk_signed_header_names(request, |name| name != "authorization");
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let signature = Self::sign(request, &names, params)?;
        request.set_header("Authorization", signature.authorization.clone());
        Ok(signature)
    }
}

/// Trimmed values, sorted and joined with `,` (`get_canonicalized_headers`).
fn header_value<'r>(request: &'r HttpRequest, name: &str) -> Result<Cow<'r, str>, SigningError> {
    let mut values: Vec<&str> = request.header_values(name).map(str::trim).collect();
    match values.as_slice() {
        [] if name == "host" => Ok(Cow::Borrowed(request.host.trim())),
        [] => Err(SigningError::MissingSignedHeader {
            name: name.to_owned(),
        }),
        [only] => Ok(Cow::Borrowed(only)),
        _ => {
            values.sort_unstable();
            Ok(Cow::Owned(values.join(",")))
        }
    }
}
