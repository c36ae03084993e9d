//! The signature checker behind the `sign-check` binary: one JSON request description in,
//! the `Authorization` header and its intermediate strings out.
//!
//! Input fields (others are ignored, so captured vectors can be fed in as they are):
//! `id`, `provider`, `service`, `region`, `credentials {ak, sk, token?}`, `timestamp` (unix
//! seconds), `method`, `host`, `path`, `query`, `headers` (`[[name, value], ...]`), `body`,
//! `signed_headers` (`;`-joined lowercase names).

use serde::{Deserialize, Serialize};

use crate::cloud::Cloud;
use crate::signing::{
    Credentials, HttpRequest, Signature, SigningError, SigningParams, Timestamp,
    parse_signed_headers,
};

/// One request to sign, as `sign-check` reads it.
#[derive(Clone, Debug, Deserialize)]
pub struct SignCheckInput {
    pub id: String,
    pub provider: Cloud,
    pub service: String,
    pub region: String,
    pub credentials: InputCredentials,
    pub timestamp: u64,
    pub method: String,
    pub host: String,
    pub path: String,
    #[serde(default)]
    pub query: String,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body: String,
    pub signed_headers: String,
}

/// Credentials as they appear in the input. Kept apart from [`Credentials`] so that the
/// redacting type is the only one that ever reaches a formatter.
#[derive(Clone, Deserialize)]
pub struct InputCredentials {
    pub ak: String,
    pub sk: String,
    #[serde(default)]
    pub token: Option<String>,
}

impl std::fmt::Debug for InputCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_credentials().fmt(f)
    }
}

impl InputCredentials {
    pub fn to_credentials(&self) -> Credentials {
        let credentials = Credentials::new(&self.ak, &self.sk);
        match &self.token {
            Some(token) => credentials.with_security_token(token),
            None => credentials,
        }
    }
}

/// One answer line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignCheckOutput {
    pub id: String,
    pub authorization: String,
    pub canonical_request: String,
    pub string_to_sign: String,
}

/// The answer to a line that could not be signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignCheckError {
    pub id: Option<String>,
    pub line: usize,
    pub error: String,
}

impl SignCheckInput {
    /// The request as it went on the wire. An `Authorization` header in the input is dropped:
    /// it is what is being checked, never part of what is signed.
    pub fn request(&self) -> HttpRequest {
        HttpRequest {
            method: self.method.clone(),
            host: self.host.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            headers: self
                .headers
                .iter()
                .filter(|(name, _)| !name.eq_ignore_ascii_case("authorization"))
                .cloned()
                .collect(),
            body: self.body.clone().into_bytes(),
        }
    }

    pub fn sign(&self) -> Result<Signature, SigningError> {
        let signed_headers = parse_signed_headers(&self.signed_headers)?;
        let credentials = self.credentials.to_credentials();
        let params = SigningParams {
            credentials: &credentials,
            time: Timestamp::from_unix_seconds(self.timestamp),
            region: &self.region,
            service: &self.service,
            nonce: "",
        };
        self.provider
            .sign(&self.request(), &signed_headers, &params)
    }
}

/// Checks one input line (`line` counts from 1) and returns the JSON answer line.
pub fn check_line(line: usize, text: &str) -> Result<SignCheckOutput, SignCheckError> {
    let input: SignCheckInput = serde_json::from_str(text).map_err(|err| SignCheckError {
        id: id_of(text),
        line,
        error: format!("invalid input: {err}"),
    })?;
    let signature = input.sign().map_err(|err| SignCheckError {
        id: Some(input.id.clone()),
        line,
        error: err.to_string(),
    })?;
    Ok(SignCheckOutput {
        id: input.id,
        authorization: signature.authorization,
        canonical_request: signature.canonical_request,
        string_to_sign: signature.string_to_sign,
    })
}

/// The `id` of a line that failed to parse as a whole, if it has one, to label the error.
fn id_of(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value.get("id")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{"id":"x","provider":"huawei","service":"ims","region":"r",
        "credentials":{"ak":"AK","sk":"SK"},"timestamp":0,"method":"GET","host":"h",
        "path":"/","signed_headers":"host"}"#;

    #[test]
    fn a_minimal_line_is_signed() {
        let output = check_line(1, &MINIMAL.replace('\n', "")).expect("signs");
        assert_eq!(output.id, "x");
        assert!(
            output
                .authorization
                .starts_with("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, ")
        );
        assert_eq!(
            output.string_to_sign.lines().nth(1),
            Some("19700101T000000Z")
        );
    }

    #[test]
    fn errors_name_the_field_and_keep_the_id_when_there_is_one() {
        let err = check_line(3, r#"{"id":"y","provider":"aws"}"#).expect_err("bad provider");
        assert_eq!((err.id.as_deref(), err.line), (Some("y"), 3));
        assert!(err.error.contains("unknown variant `aws`"), "{}", err.error);

        let err = check_line(4, "not json").expect_err("not JSON");
        assert_eq!(err.id, None);

        let missing = MINIMAL.replace(
            r#""signed_headers":"host""#,
            r#""signed_headers":"host;x-a""#,
        );
        let err = check_line(5, &missing).expect_err("x-a absent");
        assert!(err.error.contains("`x-a`"), "{}", err.error);
    }

    #[test]
    fn input_credentials_do_not_print_the_secret() {
        let input: SignCheckInput = serde_json::from_str(MINIMAL).expect("parses");
        assert!(!format!("{input:?}").contains("\"SK\""));
    }
}
