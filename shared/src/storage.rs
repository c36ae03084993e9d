//! Proof that an export produced its files: an S3-compatible `HEAD` of each object, signed
//! with AWS Signature Version 4 by the maintained `aws-sigv4` crate. COS, OSS, TOS and OBS
//! all accept SigV4 with the cloud's own access key.

use crate::Cloud;
use crate::endpoints::Endpoints;
use crate::error::{CloudError, ErrorKind};
use crate::signing::{Credentials, HttpRequest, sigv4};
use crate::transport::{Transport, TransportError};

/// How far the object store's clock may be behind ours when an object's age is judged.
const CLOCK_SKEW_SECONDS: u64 = 300;

/// An object's size, or `None` when it does not exist (yet). With `not_before` (unix seconds,
/// the export's start), an object last written before then is an older file of the same name,
/// not this export's, and counts as absent too.
#[allow(clippy::too_many_arguments)]
pub async fn head_object(
    transport: &Transport,
    endpoints: &Endpoints,
    cloud: Cloud,
    region: &str,
    credentials: &Credentials,
    bucket: &str,
    key: &str,
    not_before: Option<u64>,
) -> Result<Option<u64>, CloudError> {
    let target = endpoints
        .object(cloud, region, bucket, key)
        .map_err(|err| {
            CloudError::new(
                cloud,
                ErrorKind::InvalidRequest,
                "Request.Invalid",
                err.to_string(),
            )
        })?;
    let mut request = HttpRequest::new("HEAD", target.host.clone(), target.path.clone());
    sigv4::sign(
        &mut request,
        target.scheme.as_str(),
        &sigv4::Service::S3,
        region,
        credentials,
        crate::clock::now(),
    )
    .map_err(|message| {
        CloudError::new(cloud, ErrorKind::InvalidRequest, "Storage.Signing", message)
    })?;
    let response = transport
        .send(target.scheme, &request)
        .await
        .map_err(|err| match err {
            TransportError::Refused(m) => {
                CloudError::new(cloud, ErrorKind::InvalidRequest, "Request.Refused", m)
            }
            TransportError::NotSent(m) | TransportError::OutcomeUnknown(m) => {
                // A HEAD changes nothing, so an unknown outcome is merely a failed read.
                CloudError::new(cloud, ErrorKind::Transient, "Storage.Transport", m)
            }
        })?;
    let request_id = response
        .header("x-amz-request-id")
        .or_else(|| response.header("x-cos-request-id"))
        .or_else(|| response.header("x-oss-request-id"))
        .or_else(|| response.header("x-obs-request-id"))
        .map(str::to_owned);
    let code = response
        .header("x-amz-error-code")
        .unwrap_or_default()
        .to_owned();
    let fail = |kind: ErrorKind, fallback: &str| {
        let code = if code.is_empty() {
            fallback.to_owned()
        } else {
            code.clone()
        };
        CloudError::new(
            cloud,
            kind,
            code,
            format!("HEAD {bucket}/{key}: HTTP {}", response.status),
        )
        .with_request_id(request_id.clone())
        .with_http_status(response.status)
    };
    let older = not_before.is_some_and(|start| {
        response
            .header("last-modified")
            .and_then(crate::signing::Timestamp::parse_http_date)
            .is_some_and(|written| written.unix_seconds() + CLOCK_SKEW_SECONDS < start)
    });
    match response.status {
        200 if older => Ok(None),
        200 => response
            .header("content-length")
            .and_then(|length| length.parse().ok())
            .map(Some)
            .ok_or_else(|| fail(ErrorKind::Transient, "Storage.NoContentLength")),
        404 if code == "NoSuchBucket" => Err(fail(ErrorKind::NotFound, "NoSuchBucket")),
        404 => Ok(None),
        401 | 403 => Err(fail(ErrorKind::Permission, "AccessDenied")),
        429 | 503 => Err(fail(ErrorKind::Throttled, "SlowDown")),
        status if status >= 500 => Err(fail(ErrorKind::Transient, "InternalError")),
        _ => Err(fail(ErrorKind::InvalidRequest, "Storage.UnexpectedStatus")),
    }
}
