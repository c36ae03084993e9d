//! The request and response every cloud handler sees: plain data, no hyper types.

use bytes::Bytes;
use imgflow_shared::signing::{HttpRequest, decode_query};
use serde::Serialize;

/// A request as it arrived, with the raw path and query of the request line.
#[derive(Clone, Debug)]
pub struct ApiRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl ApiRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Decoded query parameters in the order sent (`+` is a space); undecodable ones are dropped
    /// (the signature check has rejected such a request already).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        decode_query(&self.query)
            .map(|pairs| {
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The request as a signer reads it.
    pub fn to_signable(&self) -> HttpRequest {
        HttpRequest {
            method: self.method.clone(),
            host: self.header("host").unwrap_or_default().to_owned(),
            path: self.path.clone(),
            query: self.query.clone(),
            headers: self.headers.clone(),
            body: self.body.to_vec(),
        }
    }
}

/// What the emulator answers, before any injected fault changes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

/// A response body: bytes, or a synthetic object content generated as it is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Bytes(Vec<u8>),
    /// `len` bytes of the deterministic pattern of object `seed`, starting at `offset`.
    Synthetic {
        seed: u64,
        offset: u64,
        len: u64,
    },
}

impl ApiResponse {
    pub fn json(status: u16, value: &impl Serialize) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Self {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Body::Bytes(body),
        }
    }

    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Bytes(Vec::new()),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers
            .retain(|(header, _)| !header.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub fn body_bytes(&self) -> Option<&[u8]> {
        match &self.body {
            Body::Bytes(bytes) => Some(bytes),
            Body::Synthetic { .. } => None,
        }
    }
}
