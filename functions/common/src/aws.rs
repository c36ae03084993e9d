//! Calls to the AWS APIs the functions need (Step Functions and Secrets Manager, and S3
//! GetObject/PutObject for the start records), signed with SigV4 by the official `aws-sigv4`
//! crate and sent with the project's own HTTP transport, which bounds every request by the
//! invocation's deadline (`imgflow_shared::deadline`). The AWS SDK crates would add about a hundred crates to every build for
//! five calls (measured; see functions/README.md).
//!
//! Credentials are the function's role credentials Lambda puts in the environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`). Endpoints follow the
//! AWS SDKs' variables: `AWS_ENDPOINT_URL_SFN`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`, then
//! `AWS_ENDPOINT_URL`.

use std::time::Duration;

use imgflow_shared::clock;
use imgflow_shared::endpoints::split_base_url;
use imgflow_shared::signing::sigv4::{self, Service};
use imgflow_shared::signing::{Credentials, HttpRequest};
use imgflow_shared::transport::{Scheme, Transport, TransportError};
use serde_json::Value;

/// An AWS service the functions call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AwsService {
    StepFunctions,
    SecretsManager,
    S3,
}

impl AwsService {
    fn signing_name(self) -> &'static str {
        match self {
            AwsService::StepFunctions => "states",
            AwsService::SecretsManager => "secretsmanager",
            AwsService::S3 => "s3",
        }
    }

    fn target_prefix(self) -> &'static str {
        match self {
            AwsService::StepFunctions => "AWSStepFunctions",
            AwsService::SecretsManager => "secretsmanager",
            // S3 is no JSON API: its calls are `get_object` and `put_object_if_absent`.
            AwsService::S3 => "s3",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            AwsService::StepFunctions => "application/x-amz-json-1.0",
            AwsService::SecretsManager => "application/x-amz-json-1.1",
            AwsService::S3 => "application/json",
        }
    }

    fn endpoint_variable(self) -> &'static str {
        match self {
            AwsService::StepFunctions => "AWS_ENDPOINT_URL_SFN",
            AwsService::SecretsManager => "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            AwsService::S3 => "AWS_ENDPOINT_URL_S3",
        }
    }
}

/// An error from an AWS call: the service's error code (`ExecutionAlreadyExists`) and
/// message, or a transport failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{service:?} {code}: {message}")]
pub struct AwsError {
    pub service: AwsService,
    pub code: String,
    pub message: String,
    pub status: Option<u16>,
    pub request_id: Option<String>,
}

impl AwsError {
    pub fn retryable(&self) -> bool {
        self.status.is_none_or(|s| s >= 500 || s == 429)
            || self.code.contains("Throttl")
            || self.code == "TooManyRequestsException"
    }
}

/// Where a service's requests go.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Endpoint {
    scheme: Scheme,
    host: String,
    path: String,
}

fn endpoint(
    service: AwsService,
    region: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Endpoint, String> {
    let configured = lookup(service.endpoint_variable())
        .or_else(|| lookup("AWS_ENDPOINT_URL"))
        .filter(|v| !v.is_empty());
    let Some(url) = configured else {
        let host = match service {
            AwsService::StepFunctions => format!("states.{region}.amazonaws.com"),
            AwsService::SecretsManager => format!("secretsmanager.{region}.amazonaws.com"),
            AwsService::S3 => format!("s3.{region}.amazonaws.com"),
        };
        return Ok(Endpoint {
            scheme: Scheme::Https,
            host,
            path: "/".into(),
        });
    };
    let (scheme, host, path) = split_base_url(&url).ok_or_else(|| {
        format!(
            "{}: `{url}` must be http:// or https:// with a host",
            service.endpoint_variable()
        )
    })?;
    Ok(Endpoint {
        scheme,
        host: host.to_owned(),
        path: path.to_owned(),
    })
}

/// A client for the AWS JSON APIs, built once per cold start.
#[derive(Clone)]
pub struct AwsClient {
    transport: Transport,
    region: String,
    credentials: Credentials,
    step_functions: Endpoint,
    secrets_manager: Endpoint,
    s3: Endpoint,
    /// Whether S3 is a configured endpoint (path-style addressing) rather than AWS's.
    s3_path_style: bool,
}

/// What a conditional PutObject (`If-None-Match: *`) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Put {
    Written,
    /// An object already had the key (412 PreconditionFailed): it was left as it was.
    AlreadyThere,
}

impl std::fmt::Debug for AwsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsClient")
            .field("region", &self.region)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl AwsClient {
    /// From the environment Lambda provides (and the endpoint overrides). `None` when no
    /// AWS credentials are set (a local run without Step Functions).
    pub fn from_env_with(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Option<Self>, String> {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let (Some(key_id), Some(secret)) = (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"))
        else {
            return Ok(None);
        };
        let region = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .ok_or("AWS_REGION is not set")?;
        let mut credentials = Credentials::new(key_id, secret);
        if let Some(token) = get("AWS_SESSION_TOKEN") {
            credentials = credentials.with_security_token(token);
        }
        let transport = Transport::new(Duration::from_secs(5), Duration::from_secs(20))
            .map_err(|err| err.to_string())?;
        Ok(Some(Self {
            transport,
            step_functions: endpoint(AwsService::StepFunctions, &region, lookup)?,
            secrets_manager: endpoint(AwsService::SecretsManager, &region, lookup)?,
            s3: endpoint(AwsService::S3, &region, lookup)?,
            s3_path_style: get("AWS_ENDPOINT_URL_S3")
                .or_else(|| get("AWS_ENDPOINT_URL"))
                .is_some(),
            region,
            credentials,
        }))
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// Calls `action` (`StartExecution`) with `body`; returns the answer's JSON. Throttling,
    /// 5xx answers and transport failures are tried again (three attempts in all, full
    /// jitter): every call made here is a read or, for StartExecution, idempotent by name.
    pub async fn call(
        &self,
        service: AwsService,
        action: &str,
        body: &Value,
    ) -> Result<Value, AwsError> {
        let mut jitter = imgflow_shared::retry::Jitter::from_clock();
        let mut attempt = 0u32;
        loop {
            match self.call_once(service, action, body).await {
                Err(error) if error.retryable() && attempt < 2 => {
                    let ceiling = 200.0 * f64::from(1u32 << attempt);
                    let pause = Duration::from_millis((ceiling * jitter.unit()) as u64);
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    /// S3 GetObject: the object's bytes, `None` when there is no such key (404; S3 answers
    /// 404 rather than 403 only to a caller allowed s3:ListBucket). Retried like
    /// [`call`](Self::call), and never past the invocation's deadline.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, AwsError> {
        let mut jitter = imgflow_shared::retry::Jitter::from_clock();
        let mut attempt = 0u32;
        loop {
            match self.s3_once("GET", bucket, key, &[], None).await {
                Ok(response) if response.status == 200 => return Ok(Some(response.body)),
                // A missing bucket is a 404 too (`NoSuchBucket`); only a missing key is "none".
                // Without s3:ListBucket S3 answers a missing key 403, not 404.
                Ok(response) if response.status == 404 => {
                    let error = s3_error(&response);
                    return match error.code.as_str() {
                        "NoSuchBucket" => Err(error),
                        _ => Ok(None),
                    };
                }
                Ok(response) => {
                    let error = s3_error(&response);
                    if !(error.retryable() && attempt < 2 && pause(&mut jitter, attempt).await) {
                        return Err(error);
                    }
                }
                Err(error) => {
                    if !(attempt < 2 && pause(&mut jitter, attempt).await) {
                        return Err(error);
                    }
                }
            }
            attempt += 1;
        }
    }

    /// S3 PutObject with `If-None-Match: *`: written only when the key is free; an existing
    /// object is never replaced. Tried `attempts` times in all (full jitter), never past the
    /// invocation's deadline. Repeating it is safe: a repeat after a lost answer finds the
    /// object there.
    pub async fn put_object_if_absent(
        &self,
        bucket: &str,
        key: &str,
        body: &[u8],
        content_type: &str,
        attempts: u32,
    ) -> Result<Put, AwsError> {
        let mut jitter = imgflow_shared::retry::Jitter::from_clock();
        let mut attempt = 0u32;
        loop {
            let outcome = self
                .s3_once("PUT", bucket, key, body, Some(content_type))
                .await;
            let error = match outcome {
                Ok(response) if response.status == 200 => return Ok(Put::Written),
                Ok(response) if response.status == 412 => return Ok(Put::AlreadyThere),
                Ok(response) => s3_error(&response),
                Err(error) => error,
            };
            if !(error.retryable()
                && attempt + 1 < attempts
                && pause(&mut jitter, attempt.min(4)).await)
            {
                return Err(error);
            }
            attempt += 1;
        }
    }

    async fn s3_once(
        &self,
        method: &str,
        bucket: &str,
        key: &str,
        body: &[u8],
        content_type: Option<&str>,
    ) -> Result<imgflow_shared::transport::RawResponse, AwsError> {
        let fail = |code: &str, message: String| AwsError {
            service: AwsService::S3,
            code: code.to_owned(),
            message,
            status: None,
            request_id: None,
        };
        let key = key.trim_start_matches('/');
        let (host, path) = if self.s3_path_style {
            let base = self.s3.path.trim_end_matches('/');
            (self.s3.host.clone(), format!("{base}/{bucket}/{key}"))
        } else {
            (format!("{bucket}.{}", self.s3.host), format!("/{key}"))
        };
        let mut request = HttpRequest::new(method, host, path);
        request.body = body.to_vec();
        if let Some(content_type) = content_type {
            request.set_header("content-type", content_type);
            request.set_header("if-none-match", "*");
        }
        sigv4::sign(
            &mut request,
            self.s3.scheme.as_str(),
            &Service::S3,
            &self.region,
            &self.credentials,
            clock::now(),
        )
        .map_err(|message| fail("Client.Signing", message))?;
        self.transport
            .send(self.s3.scheme, &request)
            .await
            .map_err(|err| match err {
                TransportError::NotSent(m)
                | TransportError::OutcomeUnknown(m)
                | TransportError::Refused(m) => fail("Client.Transport", m),
            })
    }

    async fn call_once(
        &self,
        service: AwsService,
        action: &str,
        body: &Value,
    ) -> Result<Value, AwsError> {
        let endpoint = match service {
            AwsService::StepFunctions => &self.step_functions,
            AwsService::SecretsManager => &self.secrets_manager,
            AwsService::S3 => &self.s3,
        };
        let fail = |code: &str, message: String| AwsError {
            service,
            code: code.to_owned(),
            message,
            status: None,
            request_id: None,
        };
        let mut request = HttpRequest::new("POST", endpoint.host.clone(), endpoint.path.clone());
        request.body =
            serde_json::to_vec(body).map_err(|err| fail("Client.Serialize", err.to_string()))?;
        request.set_header("content-type", service.content_type());
        request.set_header(
            "x-amz-target",
            format!("{}.{action}", service.target_prefix()),
        );
        sigv4::sign(
            &mut request,
            endpoint.scheme.as_str(),
            &Service::Json(service.signing_name()),
            &self.region,
            &self.credentials,
            clock::now(),
        )
        .map_err(|message| fail("Client.Signing", message))?;
        let response = self
            .transport
            .send(endpoint.scheme, &request)
            .await
            .map_err(|err| match err {
                TransportError::NotSent(m)
                | TransportError::OutcomeUnknown(m)
                | TransportError::Refused(m) => fail("Client.Transport", m),
            })?;
        let request_id = response.header("x-amzn-requestid").map(str::to_owned);
        let json: Value = if response.body.is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(&response.body).map_err(|err| AwsError {
                status: Some(response.status),
                request_id: request_id.clone(),
                ..fail("Client.Parse", format!("the answer is not JSON: {err}"))
            })?
        };
        if response.status == 200 {
            return Ok(json);
        }
        // `__type` is `com.amazonaws.swf.service.v2.model#ExecutionAlreadyExists` or bare.
        let code = json
            .get("__type")
            .and_then(Value::as_str)
            .or_else(|| response.header("x-amzn-errortype"))
            .map(|t| {
                t.rsplit('#')
                    .next()
                    .unwrap_or(t)
                    .split(':')
                    .next()
                    .unwrap_or(t)
                    .to_owned()
            })
            .unwrap_or_else(|| format!("Http{}", response.status));
        let message = json
            .get("message")
            .or_else(|| json.get("Message"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Err(AwsError {
            service,
            code,
            message,
            status: Some(response.status),
            request_id,
        })
    }
}

/// Waits before retry `attempt` (full jitter on 200 ms × 2^attempt); `false`, without
/// waiting, when the pause and another attempt would not fit before the deadline.
async fn pause(jitter: &mut imgflow_shared::retry::Jitter, attempt: u32) -> bool {
    let ceiling = 200.0 * f64::from(1u32 << attempt.min(10));
    let pause = Duration::from_millis((ceiling * jitter.unit()) as u64);
    if !imgflow_shared::deadline::allows(pause + Duration::from_secs(1)) {
        return false;
    }
    tokio::time::sleep(pause).await;
    true
}

/// An S3 error answer: `<Error><Code>…</Code><Message>…</Message></Error>`.
fn s3_error(response: &imgflow_shared::transport::RawResponse) -> AwsError {
    let text = String::from_utf8_lossy(&response.body);
    let element = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text.get(start..)?.find(&format!("</{name}>"))?;
        text.get(start..start + end).map(str::to_owned)
    };
    AwsError {
        service: AwsService::S3,
        code: element("Code").unwrap_or_else(|| format!("Http{}", response.status)),
        message: element("Message").unwrap_or_default(),
        status: Some(response.status),
        request_id: response.header("x-amz-request-id").map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn endpoints_follow_the_sdk_variables() {
        let real = endpoint(AwsService::StepFunctions, "eu-west-1", &env(&[])).expect("real");
        assert_eq!(real.host, "states.eu-west-1.amazonaws.com");
        let both = [
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_ENDPOINT_URL_SFN", "http://127.0.0.1:6000/sfn"),
        ];
        let sfn = endpoint(AwsService::StepFunctions, "eu-west-1", &env(&both)).expect("sfn");
        assert_eq!(
            (sfn.scheme, sfn.host.as_str(), sfn.path.as_str()),
            (Scheme::Http, "127.0.0.1:6000", "/sfn")
        );
        let secrets = endpoint(AwsService::SecretsManager, "eu-west-1", &env(&both)).expect("sm");
        assert_eq!(secrets.host, "127.0.0.1:5000");
        let bad = endpoint(
            AwsService::SecretsManager,
            "eu-west-1",
            &env(&[("AWS_ENDPOINT_URL", "ftp://x")]),
        );
        assert!(
            bad.expect_err("ftp")
                .contains("AWS_ENDPOINT_URL_SECRETS_MANAGER")
        );
    }

    #[test]
    fn s3_is_path_style_on_a_configured_endpoint_and_virtual_hosted_on_aws() {
        let creds = [
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_REGION", "eu-west-1"),
        ];
        let real = AwsClient::from_env_with(&env(&creds))
            .expect("ok")
            .expect("a client");
        assert_eq!(
            (real.s3.host.as_str(), real.s3_path_style),
            ("s3.eu-west-1.amazonaws.com", false)
        );
        let mut local = creds.to_vec();
        local.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"));
        local.push(("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:7000/s3"));
        let local = AwsClient::from_env_with(&env(&local))
            .expect("ok")
            .expect("a client");
        assert_eq!(
            (
                local.s3.host.as_str(),
                local.s3.path.as_str(),
                local.s3_path_style
            ),
            ("127.0.0.1:7000", "/s3", true)
        );
    }

    #[test]
    fn an_s3_error_keeps_its_code_message_and_request_id() {
        let response = imgflow_shared::transport::RawResponse {
            status: 404,
            headers: vec![("x-amz-request-id".into(), "R1".into())],
            body: b"<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>".to_vec(),
        };
        let error = s3_error(&response);
        assert_eq!(
            (
                error.code.as_str(),
                error.status,
                error.request_id.as_deref()
            ),
            ("NoSuchBucket", Some(404), Some("R1"))
        );
        assert!(!error.retryable());
        let bare = imgflow_shared::transport::RawResponse {
            status: 503,
            headers: Vec::new(),
            body: Vec::new(),
        };
        assert_eq!(s3_error(&bare).code, "Http503");
        assert!(s3_error(&bare).retryable());
    }

    #[test]
    fn no_credentials_means_no_client_and_a_region_is_required() {
        assert!(AwsClient::from_env_with(&env(&[])).expect("ok").is_none());
        let no_region = AwsClient::from_env_with(&env(&[
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ]));
        assert_eq!(no_region.expect_err("region"), "AWS_REGION is not set");
    }
}
