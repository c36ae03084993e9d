//! Volcengine HMAC-SHA256, as `volcengine-python-sdk` signs (`volcenginesdkcore.signv4.SignerV4`).
//!
//! Rules that differ from the other clouds:
//! - the region is carried only in the credential scope `YYYYMMDD/region/service/request`;
//! - the key is derived from the raw secret (no prefix) over date, region, service, `request`;
//! - the canonical query is re-built: names and values RFC 3986-encoded, then the encoded
//!   pairs sorted;
//! - header values are used as sent (no trimming); a `host` of `name:80` or `name:443`
//!   is signed without the port;
//! - a security token travels, signed, in `X-Security-Token`.

use std::borrow::Cow;

use crate::signing::{
    CanonicalQuery, CanonicalRequest, HttpRequest, Signature, Signer, SigningError, SigningParams,
    StringToSign, canonical_headers, decode_query, derived_key, encoded_pairs, hex, hmac_sha256,
    sdk_signed_header_names, sha256_hex, signed_header_value,
};

/// Volcengine's HMAC-SHA256 signer.
pub struct VolcSigner;

const TERMINATOR: &str = "request";

impl Signer for VolcSigner {
    const ALGORITHM: &'static str = "HMAC-SHA256";

    fn canonical_request<'a>(
        request: &'a HttpRequest,
        signed_headers: &[&'a str],
    ) -> Result<CanonicalRequest<'a>, SigningError> {
        let path = if request.path.is_empty() {
            "/"
        } else {
            request.path.as_str()
        };
        Ok(CanonicalRequest {
            method: request.method.as_str().into(),
            path: path.into(),
            query: canonical_query(&request.query)?,
            headers: canonical_headers(request, signed_headers, |request, name| {
                let value = signed_header_value(request, name)?;
                Ok(if name == "host" {
                    strip_default_port(value)
                } else {
                    value
                })
            })?,
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

        let date = params.time.date_compact();
        let scope = format!("{date}/{}/{}/{TERMINATOR}", params.region, params.service);
        let string_to_sign =
            StringToSign::new(Self::ALGORITHM, sha256_hex(canonical_request.as_bytes()))
                .with_time(params.time.basic_iso8601())
                .with_scope(&scope)
                .render();
        let secret = params.credentials.secret_access_key().expose();
        let key = derived_key(
            secret.as_bytes(),
            &[&date, params.region, params.service, TERMINATOR],
        );
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

    /// Adds `X-Date`, `X-Content-Sha256` and, for temporary credentials, `X-Security-Token`,
    /// then signs `content-type`, `content-md5`, `host` and every `x-` header, as the SDK does.
    fn prepare(
        request: &mut HttpRequest,
        params: &SigningParams<'_>,
    ) -> Result<Signature, SigningError> {
        request.set_header("X-Date", params.time.basic_iso8601());
        request.set_header("X-Content-Sha256", sha256_hex(&request.body));
        if let Some(token) = params.credentials.security_token() {
            request.set_header("X-Security-Token", token.expose());
        }
        let names = sdk_signed_header_names(request, |name| {
            matches!(name, "content-type" | "content-md5") || name.starts_with("x-")
        });
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let signature = Self::sign(request, &names, params)?;
        request.set_header("Authorization", signature.authorization.clone());
        Ok(signature)
    }
}

/// Encodes every pair first, then sorts the encoded pairs (`SignerV4.canonical_query`).
fn canonical_query(raw: &str) -> Result<CanonicalQuery<'_>, SigningError> {
    let mut pairs = encoded_pairs(decode_query(raw)?);
    pairs.sort_unstable();
    Ok(CanonicalQuery::Encoded(pairs))
}

fn strip_default_port(host: Cow<'_, str>) -> Cow<'_, str> {
    match host.split_once(':') {
        Some((name, "80" | "443")) => Cow::Owned(name.to_owned()),
        _ => host,
    }
}
