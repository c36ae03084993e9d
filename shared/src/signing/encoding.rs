//! URI encoding shared by the four clouds: all of them canonicalise with RFC 3986's unreserved set.

use std::borrow::Cow;
use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use super::error::SigningError;

/// Everything but RFC 3986's unreserved characters `A-Z a-z 0-9 - _ . ~` is escaped.
/// This is Python's `quote(s, safe='~')`, which all four official SDKs use.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes `s` (as UTF-8) with RFC 3986's unreserved set left as is; `/` is escaped too.
pub fn uri_encode(s: &str) -> Cow<'_, str> {
    utf8_percent_encode(s, RFC3986).into()
}

/// Writes `s` percent-encoded as [`uri_encode`] does, straight into `out`.
pub(crate) fn write_uri_encoded(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    utf8_percent_encode(s, RFC3986).try_for_each(|chunk| out.write_str(chunk))
}

/// A decoded query parameter: name and value.
pub type QueryPair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// Splits a raw query string as it goes on the wire into decoded `(name, value)` pairs,
/// borrowing wherever a component needs no decoding.
///
/// Decoding follows `application/x-www-form-urlencoded`, so `+` is a space: the SDKs that
/// build their query with Python's `urlencode` send a space as `+` and a plus as `%2B`.
/// A name without `=` gets an empty value; empty segments are skipped.
pub fn decode_query(raw: &str) -> Result<Vec<QueryPair<'_>>, SigningError> {
    raw.split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            let (name, value) = segment.split_once('=').unwrap_or((segment, ""));
            Ok((form_decode(name)?, form_decode(value)?))
        })
        .collect()
}

fn form_decode(component: &str) -> Result<Cow<'_, str>, SigningError> {
    if !component.contains(['+', '%']) {
        return Ok(Cow::Borrowed(component));
    }
    let spaced = component.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|decoded| Cow::Owned(decoded.into_owned()))
        .map_err(|_| SigningError::QueryNotUtf8 {
            component: component.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_characters_stay_and_everything_else_is_escaped() {
        assert_eq!(uri_encode("aZ09-_.~"), "aZ09-_.~");
        assert_eq!(
            uri_encode("a b/c*d+e%f&g=h"),
            "a%20b%2Fc%2Ad%2Be%25f%26g%3Dh"
        );
        assert_eq!(uri_encode("备"), "%E5%A4%87");
        assert_eq!(uri_encode("😀"), "%F0%9F%98%80");
    }

    #[test]
    fn decoding_treats_plus_as_space_and_percent_escapes_as_bytes() {
        let pairs = decode_query("a=x+y&b=%2B%E5%A4%87&c&&d=").expect("valid query");
        let expected = [("a", "x y"), ("b", "+备"), ("c", ""), ("d", "")];
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (&**k, &**v)).collect();
        assert_eq!(pairs, expected);
    }

    #[test]
    fn decoding_rejects_escapes_that_are_not_utf8() {
        let err = decode_query("a=%FF").expect_err("not UTF-8");
        assert!(matches!(err, SigningError::QueryNotUtf8 { .. }), "{err}");
    }
}
