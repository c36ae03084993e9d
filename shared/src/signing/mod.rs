//! What the four signers share: the request, the clock, credentials, hashing and encoding.
//! Each cloud's own rules live in its own module (`crate::tencent::signer`, ...).

mod canonical;
mod credentials;
mod digest;
mod encoding;
mod error;
mod key_cache;
mod request;
pub mod sigv4;
mod time;

pub use canonical::{CanonicalQuery, CanonicalRequest, SignedHeaders, StringToSign};
pub(crate) use canonical::{canonical_headers, encoded_pairs};
pub use credentials::{Credentials, Secret};
pub use digest::{constant_time_eq, hex, hmac_chain, hmac_sha256, sha256_hex};
pub use encoding::{QueryPair, decode_query, uri_encode};
pub use error::SigningError;
pub use key_cache::derived_key;
pub use request::HttpRequest;
pub use time::{CivilTime, Timestamp, days_from_civil};

/// The SHA-256 of an empty payload, which every bodyless request hashes to.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What a signer produced: the header to send, and the two intermediate strings a person
/// debugging a rejected request compares with the cloud's error message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub authorization: String,
    pub canonical_request: String,
    pub string_to_sign: String,
}

/// Everything a signature depends on besides the request itself. Not every cloud uses every
/// field: Alibaba and Huawei ignore region and service, only Alibaba's headers carry a nonce.
#[derive(Clone, Copy, Debug)]
pub struct SigningParams<'a> {
    pub credentials: &'a Credentials,
    pub time: Timestamp,
    pub region: &'a str,
    pub service: &'a str,
    pub nonce: &'a str,
}

/// One cloud's signature algorithm.
pub trait Signer {
    /// The algorithm's name as it opens the `Authorization` header.
    const ALGORITHM: &'static str;

    /// The canonical request over `request` and the headers named in `signed_headers`, under
    /// this cloud's rules; its `Display` is the text whose hash the string to sign carries.
    fn canonical_request<'a>(
        request: &'a HttpRequest,
        signed_headers: &[&'a str],
    ) -> Result<CanonicalRequest<'a>, SigningError>;

    /// Signs `request` exactly as it stands, over the headers named in `signed_headers`
    /// (lowercase, in the order the `SignedHeaders` field will list them). This is the
    /// recomputation a server does, and what `sign-check` runs.
    fn sign(
        request: &HttpRequest,
        signed_headers: &[&str],
        params: &SigningParams<'_>,
    ) -> Result<Signature, SigningError>;

    /// Adds the headers the cloud requires (time, token, content hash, nonce), picks the
    /// headers to sign the way the official SDK does, signs, and sets `Authorization`.
    fn prepare(
        request: &mut HttpRequest,
        params: &SigningParams<'_>,
    ) -> Result<Signature, SigningError>;
}

/// One [`Signer`]'s two entry points as function pointers: how a provider names its signer
/// once, behind `dyn Provider`, instead of forwarding each call.
#[derive(Clone, Copy)]
pub struct SignerFns {
    pub sign: fn(&HttpRequest, &[&str], &SigningParams<'_>) -> Result<Signature, SigningError>,
    pub prepare: fn(&mut HttpRequest, &SigningParams<'_>) -> Result<Signature, SigningError>,
}

impl SignerFns {
    pub fn of<S: Signer>() -> Self {
        Self {
            sign: S::sign,
            prepare: S::prepare,
        }
    }
}

/// Splits a `SignedHeaders` value (`a;b;c`) into its names, checking each is a header name.
pub fn parse_signed_headers(list: &str) -> Result<Vec<&str>, SigningError> {
    if list.trim().is_empty() {
        return Err(SigningError::NoSignedHeaders);
    }
    list.split(';')
        .map(|name| {
            let valid = !name.is_empty()
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b)
                });
            if valid {
                Ok(name)
            } else {
                Err(SigningError::InvalidSignedHeaderName {
                    name: name.to_owned(),
                })
            }
        })
        .collect()
}

/// The value a signed header contributes: its values in the order sent, joined by `,`;
/// `host` falls back to the request's host when the header list does not carry it.
pub(crate) fn signed_header_value<'a>(
    request: &'a HttpRequest,
    name: &str,
) -> Result<std::borrow::Cow<'a, str>, SigningError> {
    let mut values = request.header_values(name);
    match (values.next(), values.next()) {
        (Some(only), None) => Ok(only.into()),
        (Some(first), Some(second)) => {
            let mut joined = format!("{first},{second}");
            for value in values {
                joined.push(',');
                joined.push_str(value);
            }
            Ok(joined.into())
        }
        (None, _) if name == "host" => Ok(request.host.as_str().into()),
        (None, _) => Err(SigningError::MissingSignedHeader {
            name: name.to_owned(),
        }),
    }
}

/// The headers an SDK that "signs what it sends" would list: the lowercase names of the
/// request's headers that `include` accepts, plus `host`, sorted and without repeats.
pub(crate) fn sdk_signed_header_names(
    request: &HttpRequest,
    include: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut names: Vec<String> = request
        .headers
        .iter()
        .map(|(name, _)| name.to_ascii_lowercase())
        .filter(|name| include(name))
        .chain(std::iter::once("host".to_owned()))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_header_lists_are_split_and_checked() {
        assert_eq!(
            parse_signed_headers("content-type;host"),
            Ok(vec!["content-type", "host"])
        );
        assert_eq!(parse_signed_headers(""), Err(SigningError::NoSignedHeaders));
        assert!(matches!(
            parse_signed_headers("host;Content-Type"),
            Err(SigningError::InvalidSignedHeaderName { name }) if name == "Content-Type"
        ));
        assert!(matches!(
            parse_signed_headers("host;;x"),
            Err(SigningError::InvalidSignedHeaderName { name }) if name.is_empty()
        ));
    }

    #[test]
    fn repeated_headers_join_and_host_falls_back_to_the_request_host() {
        let mut request = HttpRequest::new("GET", "h.example.com", "/");
        request.headers.push(("X-A".into(), "1".into()));
        request.headers.push(("x-a".into(), "2".into()));
        assert_eq!(signed_header_value(&request, "x-a").as_deref(), Ok("1,2"));
        assert_eq!(
            signed_header_value(&request, "host").as_deref(),
            Ok("h.example.com")
        );
        assert_eq!(
            signed_header_value(&request, "x-b"),
            Err(SigningError::MissingSignedHeader { name: "x-b".into() })
        );
    }
}
