//! Sending a signed request: HTTPS with rustls (the `ring` provider, no OpenSSL), timeouts,
//! and the one distinction the start calls depend on: a request that never left (safe to
//! send again) versus one whose outcome is unknown (it may have been carried out).

use std::time::Duration;

use crate::deadline;
use crate::signing::HttpRequest;

/// Where requests go: `https` to the clouds, `http` to a local emulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// An answer, whatever its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why no answer came back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The request never reached the server (no connection): sending it again is safe.
    #[error("not sent: {0}")]
    NotSent(String),
    /// The request may have reached the server and been carried out, but no full answer came
    /// back (timeout, connection reset, answer cut short).
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(String),
    /// The request was not sent because its URL would not reach the host and path it names
    /// (a URL parser would move the host or rewrite the path): sending it again cannot help.
    #[error("refused: {0}")]
    Refused(String),
}

/// The URL of `request`, parsed, when parsing keeps its host and path exactly as written:
/// no user info, no port or host other than `request.host`, no `.`/`..` resolution, no `\`
/// read as `/`. The host and the path are never in the message (a path may hold a key).
pub fn exact_url(scheme: Scheme, request: &HttpRequest) -> Result<reqwest::Url, TransportError> {
    let mut text = format!("{}://{}{}", scheme.as_str(), request.host, request.path);
    if !request.query.is_empty() {
        text.push('?');
        text.push_str(&request.query);
    }
    let url = reqwest::Url::parse(&text)
        .map_err(|err| TransportError::Refused(format!("not a URL: {err}")))?;
    let host = url.host_str().unwrap_or_default();
    let named = |authority: &str| !host.is_empty() && authority.eq_ignore_ascii_case(&request.host);
    let with_port = |port: u16| named(&format!("{host}:{port}"));
    let same_authority = match url.port() {
        Some(port) => with_port(port),
        None => named(host) || url.port_or_known_default().is_some_and(with_port),
    };
    let same_host = url.username().is_empty() && url.password().is_none() && same_authority;
    if !same_host {
        return Err(TransportError::Refused(
            "the host would not be the one the request names".into(),
        ));
    }
    if url.path() != request.path || url.fragment().is_some() {
        return Err(TransportError::Refused(
            "a URL parser would rewrite the path (dot segments, `\\`, or `#`)".into(),
        ));
    }
    let query = url.query().unwrap_or_default();
    if query != request.query {
        return Err(TransportError::Refused(
            "a URL parser would rewrite the query".into(),
        ));
    }
    Ok(url)
}

/// reqwest is built without a default TLS crypto provider (to keep aws-lc's C build out):
/// every process that builds an HTTP client installs ring first. Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[derive(Clone, Debug)]
pub struct Transport {
    client: reqwest::Client,
    request_timeout: Duration,
}

/// The least time left in an invocation for a request to be worth sending.
const MIN_REQUEST_TIME: Duration = Duration::from_millis(500);

impl Transport {
    /// A client with a connect timeout and an overall per-request timeout.
    pub fn new(
        connect_timeout: Duration,
        request_timeout: Duration,
    ) -> Result<Self, TransportError> {
        // reqwest is built without a default crypto provider; install ring once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(request_timeout)
            // A redirect would re-send a start (307/308 keep the body) and carry the security
            // token headers to another host: the clouds' APIs never redirect, so none is followed.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|err| {
                TransportError::NotSent(format!("cannot build the HTTP client: {err}"))
            })?;
        Ok(Self {
            client,
            request_timeout,
        })
    }

    pub async fn send(
        &self,
        scheme: Scheme,
        request: &HttpRequest,
    ) -> Result<RawResponse, TransportError> {
        let url = exact_url(scheme, request)?;
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| TransportError::NotSent(format!("invalid method `{}`", request.method)))?;
        let mut builder = self.client.request(method, url).body(request.body.clone());
        // Inside an invocation no request may outlive it: its answer would be lost with it.
        if let Some(left) = deadline::remaining() {
            if left < MIN_REQUEST_TIME {
                return Err(TransportError::NotSent(format!(
                    "the invocation has {} ms left, too little to send a request",
                    left.as_millis()
                )));
            }
            builder = builder.timeout(left.min(self.request_timeout));
        }
        for (name, value) in &request.headers {
            // The client writes Host from the URL; the signed value is the same.
            if !name.eq_ignore_ascii_case("host") {
                builder = builder.header(name.as_str(), value.as_str());
            }
        }
        let response = builder.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response.bytes().await.map_err(|err| {
            TransportError::OutcomeUnknown(format!("the answer was cut short: {}", describe(err)))
        })?;
        Ok(RawResponse {
            status,
            headers,
            body: body.to_vec(),
        })
    }
}

fn classify(err: reqwest::Error) -> TransportError {
    let not_sent = err.is_connect() && !err.is_timeout();
    let text = describe(err);
    if not_sent {
        TransportError::NotSent(text)
    } else {
        TransportError::OutcomeUnknown(text)
    }
}

/// The error chain as one line, without the URL (it carries only hosts and ids, but the
/// query of a GET could carry names users consider private).
fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(host: &str, path: &str) -> HttpRequest {
        HttpRequest::new("HEAD", host, path)
    }

    #[test]
    fn a_url_is_sent_only_when_parsing_keeps_its_host_and_path() {
        let fine = exact_url(
            Scheme::Https,
            &request("b.cos.ap-guangzhou.myqcloud.com", "/a/b%20c"),
        );
        assert_eq!(
            fine.map(|u| u.to_string()).ok().as_deref(),
            Some("https://b.cos.ap-guangzhou.myqcloud.com/a/b%20c")
        );
        assert!(exact_url(Scheme::Http, &request("127.0.0.1:4566", "/bkt/k")).is_ok());
        assert!(exact_url(Scheme::Https, &request("host:443", "/")).is_ok());
        let refused = [
            request("ecs.x@127.0.0.1:9/.aliyuncs.com", "/"),
            request("ims.cn-north-4.myhuaweicloud.com", "/exports/../web2.qcow2"),
            request(
                "ims.cn-north-4.myhuaweicloud.com",
                "/exports/%2e%2E/web2.qcow2",
            ),
            request("ims.cn-north-4.myhuaweicloud.com", "/exports/./web2.qcow2"),
            request("ims.cn-north-4.myhuaweicloud.com", "/a\\b"),
            request("ims.cn-north-4.myhuaweicloud.com", "/a#b"),
            request("a.example:1", "/"),
        ];
        for (index, request) in refused.iter().enumerate() {
            let mut request = request.clone();
            if index == 6 {
                request.host = "a.example:1:2".into();
            }
            assert!(
                matches!(
                    exact_url(Scheme::Https, &request),
                    Err(TransportError::Refused(_))
                ),
                "{request:?}"
            );
        }
    }
}
