//! Why a request cannot be signed; its own module so that the encoding and canonical-request
//! modules name it without reaching back into their parent.

/// A request that cannot be signed as asked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SigningError {
    #[error("signed_headers: header `{name}` is listed for signing but not present in the request")]
    MissingSignedHeader { name: String },
    #[error("signed_headers: the list is empty; at least `host` must be signed")]
    NoSignedHeaders,
    #[error(
        "signed_headers: `{name}` is not a valid header name (lowercase token characters only)"
    )]
    InvalidSignedHeaderName { name: String },
    #[error("query: `{component}` does not decode to UTF-8")]
    QueryNotUtf8 { component: String },
    #[error("path: `{path}` must start with `/`")]
    InvalidPath { path: String },
}
