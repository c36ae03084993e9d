//! The HTTP request every signer reads: exactly what goes on the wire.

/// An HTTP request as it will be sent. `path` and `query` are the raw, already-encoded
/// strings of the request line; `headers` keep their case and order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub host: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn new(
        method: impl Into<String>,
        host: impl Into<String>,
        path: impl Into<String>,
    ) -> Self {
        Self {
            method: method.into(),
            host: host.into(),
            path: path.into(),
            ..Self::default()
        }
    }

    /// Every value of the header `name` (compared without case), in the order sent.
    pub fn header_values<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.headers
            .iter()
            .filter(move |(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The first value of the header `name` (compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).next()
    }

    /// The value the `host` header has on the wire: the header when set, else [`HttpRequest::host`].
    pub fn host_header(&self) -> &str {
        self.header("host").unwrap_or(&self.host)
    }

    /// Sets the header `name`, replacing every earlier value of it.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        self.headers
            .retain(|(header, _)| !header.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_found_without_case_and_replaced_whole() {
        let mut request = HttpRequest::new("GET", "example.com", "/");
        request.headers.push(("X-A".into(), "1".into()));
        request.headers.push(("x-a".into(), "2".into()));
        assert_eq!(request.header_values("X-a").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(request.host_header(), "example.com");
        request.set_header("x-A", "3");
        assert_eq!(request.headers, [("x-A".to_string(), "3".to_string())]);
        request.set_header("Host", "other.example.com");
        assert_eq!(request.host_header(), "other.example.com");
    }
}
