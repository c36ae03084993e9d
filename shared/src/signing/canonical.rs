//! The canonical request and the string to sign as values, as smithy-rs' `aws-sigv4` keeps
//! its `CanonicalRequest`: each cloud's signer decides what goes into each field (its own
//! path and query encoding, header-value rule and payload hash), and the layout the four
//! clouds share is written once, here, by `Display`.
//!
//! Keeping the parts apart lets a test or a person debugging a rejected request see which
//! stage went wrong instead of only a different signature.

use std::borrow::Cow;
use std::fmt;

use super::encoding::{QueryPair, uri_encode, write_uri_encoded};
use super::error::SigningError;
use super::request::HttpRequest;

/// A canonical request:
///
/// ```text
/// METHOD
/// path
/// query
/// name:value        (one line per signed header, in the listed order)
///
/// name;name         (the signed-header list)
/// payload hash
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanonicalRequest<'a> {
    pub method: Cow<'a, str>,
    pub path: Cow<'a, str>,
    pub query: CanonicalQuery<'a>,
    /// The signed headers with the values they contribute; their names, in this order, are
    /// also the signed-header list.
    pub headers: Vec<(&'a str, Cow<'a, str>)>,
    pub payload_hash: Cow<'a, str>,
}

/// The query line of a canonical request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CanonicalQuery<'a> {
    /// The query string exactly as it went on the wire.
    AsSent(&'a str),
    /// Decoded `name=value` pairs in canonical order, each side written with [`uri_encode`],
    /// joined with `&`.
    Decoded(Vec<QueryPair<'a>>),
    /// `name=value` pairs already encoded and in canonical order, joined with `&`.
    Encoded(Vec<QueryPair<'a>>),
}

/// The signed-header list (`a;b;c`) of a [`CanonicalRequest`].
#[derive(Clone, Copy, Debug)]
pub struct SignedHeaders<'r, 'a>(&'r [(&'a str, Cow<'a, str>)]);

impl<'a> CanonicalRequest<'a> {
    /// The names of the signed headers joined with `;`, as the request and the
    /// `Authorization` header list them.
    pub fn signed_headers(&self) -> SignedHeaders<'_, 'a> {
        SignedHeaders(&self.headers)
    }

    /// The rendered text, in a buffer sized for it at once.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(self.rendered_len());
        // Writing into a String cannot fail.
        let _ = self.write_to(&mut out);
        out
    }

    /// The one layout, for both `Display` and [`CanonicalRequest::render`]: generic over the
    /// writer so that rendering into a `String` appends directly, with no formatter between.
    fn write_to(&self, out: &mut impl fmt::Write) -> fmt::Result {
        for line in [&self.method, &self.path] {
            out.write_str(line)?;
            out.write_char('\n')?;
        }
        self.query.write_to(out)?;
        out.write_char('\n')?;
        for (name, value) in &self.headers {
            out.write_str(name)?;
            out.write_char(':')?;
            out.write_str(value)?;
            out.write_char('\n')?;
        }
        out.write_char('\n')?;
        self.signed_headers().write_to(out)?;
        out.write_char('\n')?;
        out.write_str(&self.payload_hash)
    }

    fn rendered_len(&self) -> usize {
        let pairs_len = |pairs: &[QueryPair<'_>]| -> usize {
            pairs.iter().map(|(n, v)| n.len() + v.len() + 2).sum()
        };
        let query = match &self.query {
            CanonicalQuery::AsSent(raw) => raw.len(),
            // Encoding at least doubles whatever it escapes.
            CanonicalQuery::Decoded(pairs) => 2 * pairs_len(pairs),
            CanonicalQuery::Encoded(pairs) => pairs_len(pairs),
        };
        let headers: usize = self
            .headers
            .iter()
            .map(|(n, v)| 2 * n.len() + v.len() + 3)
            .sum();
        self.method.len() + self.path.len() + query + headers + self.payload_hash.len() + 6
    }
}

impl fmt::Display for CanonicalRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

impl CanonicalQuery<'_> {
    fn write_to(&self, out: &mut impl fmt::Write) -> fmt::Result {
        let pairs = match self {
            Self::AsSent(raw) => return out.write_str(raw),
            Self::Decoded(pairs) | Self::Encoded(pairs) => pairs,
        };
        let encode = matches!(self, Self::Decoded(_));
        for (index, (name, value)) in pairs.iter().enumerate() {
            if index > 0 {
                out.write_char('&')?;
            }
            if encode {
                write_uri_encoded(out, name)?;
                out.write_char('=')?;
                write_uri_encoded(out, value)?;
            } else {
                out.write_str(name)?;
                out.write_char('=')?;
                out.write_str(value)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for CanonicalQuery<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

impl SignedHeaders<'_, '_> {
    fn write_to(&self, out: &mut impl fmt::Write) -> fmt::Result {
        for (index, (name, _)) in self.0.iter().enumerate() {
            if index > 0 {
                out.write_char(';')?;
            }
            out.write_str(name)?;
        }
        Ok(())
    }
}

impl fmt::Display for SignedHeaders<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

/// The signed headers of `request` with the value each contributes under the cloud's own
/// rule `value_of`, in the order of `signed_headers`.
pub(crate) fn canonical_headers<'a>(
    request: &'a HttpRequest,
    signed_headers: &[&'a str],
    value_of: impl Fn(&'a HttpRequest, &str) -> Result<Cow<'a, str>, SigningError>,
) -> Result<Vec<(&'a str, Cow<'a, str>)>, SigningError> {
    signed_headers
        .iter()
        .map(|name| Ok((*name, value_of(request, name)?)))
        .collect()
}

/// Decoded `(name, value)` pairs, each side encoded with [`uri_encode`], in the given order.
pub(crate) fn encoded_pairs<'a>(
    pairs: impl IntoIterator<Item = QueryPair<'a>>,
) -> Vec<QueryPair<'a>> {
    pairs
        .into_iter()
        .map(|(name, value)| (encode_cow(name), encode_cow(value)))
        .collect()
}

/// [`uri_encode`] that keeps a borrowed input borrowed and an owned one owned.
pub(crate) fn encode_cow(text: Cow<'_, str>) -> Cow<'_, str> {
    match text {
        Cow::Borrowed(text) => uri_encode(text),
        Cow::Owned(text) => match uri_encode(&text) {
            Cow::Owned(encoded) => Cow::Owned(encoded),
            Cow::Borrowed(_) => Cow::Owned(text),
        },
    }
}

/// A string to sign: the algorithm, then the time and the credential scope for the clouds
/// whose scheme has them, then the hash of the canonical request, one per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringToSign<'a> {
    pub algorithm: &'a str,
    pub time: Option<String>,
    pub scope: Option<&'a str>,
    pub canonical_request_hash: String,
}

impl<'a> StringToSign<'a> {
    /// A string to sign with neither time nor scope (`algorithm\nhash`).
    pub fn new(algorithm: &'a str, canonical_request_hash: String) -> Self {
        Self {
            algorithm,
            time: None,
            scope: None,
            canonical_request_hash,
        }
    }

    pub fn with_time(self, time: String) -> Self {
        Self {
            time: Some(time),
            ..self
        }
    }

    pub fn with_scope(self, scope: &'a str) -> Self {
        Self {
            scope: Some(scope),
            ..self
        }
    }
}

impl StringToSign<'_> {
    /// The rendered text, in a buffer sized for it at once.
    pub fn render(&self) -> String {
        let lines = [
            Some(self.algorithm),
            self.time.as_deref(),
            self.scope,
            Some(&self.canonical_request_hash),
        ];
        let mut out = String::with_capacity(lines.iter().flatten().map(|l| l.len() + 1).sum());
        // Writing into a String cannot fail.
        let _ = self.write_to(&mut out);
        out
    }

    fn write_to(&self, out: &mut impl fmt::Write) -> fmt::Result {
        out.write_str(self.algorithm)?;
        for line in [self.time.as_deref(), self.scope].into_iter().flatten() {
            out.write_char('\n')?;
            out.write_str(line)?;
        }
        out.write_char('\n')?;
        out.write_str(&self.canonical_request_hash)
    }
}

impl fmt::Display for StringToSign<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> CanonicalRequest<'static> {
        CanonicalRequest {
            method: "POST".into(),
            path: "/".into(),
            query: CanonicalQuery::Decoded(vec![
                ("a".into(), "1".into()),
                ("b c".into(), "".into()),
            ]),
            headers: vec![
                ("content-type", "application/json".into()),
                ("host", "example.com".into()),
            ],
            payload_hash: "e3b0".into(),
        }
    }

    #[test]
    fn a_canonical_request_renders_one_part_per_line_with_a_blank_line_after_the_headers() {
        let canonical = example();
        let expected = "POST\n/\na=1&b%20c=\ncontent-type:application/json\nhost:example.com\n\ncontent-type;host\ne3b0";
        assert_eq!(canonical.to_string(), expected);
        assert_eq!(canonical.render(), expected);
        assert_eq!(canonical.signed_headers().to_string(), "content-type;host");
    }

    #[test]
    fn a_query_as_sent_is_rendered_untouched() {
        let canonical = CanonicalRequest {
            query: CanonicalQuery::AsSent("b=2&a=%2B"),
            ..example()
        };
        assert_eq!(canonical.to_string().lines().nth(2), Some("b=2&a=%2B"));
    }

    #[test]
    fn a_string_to_sign_has_only_the_lines_its_scheme_has() {
        let bare = StringToSign::new("ACS3-HMAC-SHA256", "abc".into());
        assert_eq!(bare.to_string(), "ACS3-HMAC-SHA256\nabc");
        assert_eq!(bare.render(), bare.to_string());
        let scoped = StringToSign::new("TC3-HMAC-SHA256", "abc".into())
            .with_time("1751371200".into())
            .with_scope("2025-07-01/cvm/tc3_request");
        assert_eq!(
            scoped.to_string(),
            "TC3-HMAC-SHA256\n1751371200\n2025-07-01/cvm/tc3_request\nabc"
        );
    }

    #[test]
    fn encoded_pairs_are_joined_with_ampersands() {
        let decoded: Vec<QueryPair<'_>> =
            vec![("a b".into(), "c/d".into()), ("e".into(), "".into())];
        let encoded = CanonicalQuery::Encoded(encoded_pairs(decoded.clone()));
        assert_eq!(format!("?{encoded}"), "?a%20b=c%2Fd&e=");
        assert_eq!(
            format!("?{}", CanonicalQuery::Decoded(decoded)),
            "?a%20b=c%2Fd&e="
        );
    }

    #[test]
    fn encoding_keeps_borrowed_text_borrowed() {
        assert!(matches!(encode_cow("abc".into()), Cow::Borrowed("abc")));
        assert_eq!(encode_cow(Cow::Owned("a b".into())), "a%20b");
        assert_eq!(encode_cow(Cow::Owned("ab".into())), "ab");
    }
}
