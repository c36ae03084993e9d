//! Proof that an export produced its files: an S3-compatible `HEAD` of each object, signed
//! with AWS Signature Version 4 by the maintained `aws-sigv4` crate. COS, OSS, TOS and OBS
//! all accept SigV4 with the cloud's own access key.

use std::time::SystemTime;

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use crate::Cloud;
use crate::endpoints::Endpoints;
use crate::error::{CloudError, ErrorKind};
use crate::signing::{Credentials, HttpRequest};
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
    let target = endpoints.object(cloud, region, bucket, key);
    let mut request = HttpRequest::new("HEAD", target.host.clone(), target.path.clone());
    sign_sigv4(
        &mut request,
        target.scheme.as_str(),
        region,
        credentials,
        SystemTime::now(),
    )
    .map_err(|message| {
        CloudError::new(cloud, ErrorKind::InvalidRequest, "Storage.Signing", message)
    })?;
    let response = transport
        .send(target.scheme, &request)
        .await
        .map_err(|err| match err {
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

/// Adds the SigV4 headers (`x-amz-date`, `x-amz-content-sha256`, token, `Authorization`)
/// with S3's rules: single URI encoding, unsigned payload.
fn sign_sigv4(
    request: &mut HttpRequest,
    scheme: &str,
    region: &str,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<(), String> {
    let identity: Identity = aws_credential_types::Credentials::new(
        credentials.access_key_id(),
        credentials.secret_access_key().expose(),
        credentials.security_token().map(|t| t.expose().to_owned()),
        None,
        "imgflow",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|err| err.to_string())?
        .into();
    let url = format!("{scheme}://{}{}", request.host, request.path);
    let headers = [("host", request.host.as_str())];
    let signable = SignableRequest::new(
        &request.method,
        &url,
        headers.into_iter(),
        SignableBody::UnsignedPayload,
    )
    .map_err(|err| err.to_string())?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|err| err.to_string())?
        .into_parts();
    let (new_headers, _params) = instructions.into_parts();
    for header in new_headers {
        request.set_header(header.name(), header.value());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigv4_headers_are_added_for_an_s3_head() {
        let mut request =
            HttpRequest::new("HEAD", "bkt.cos.ap-guangzhou.myqcloud.com", "/a%20b.qcow2");
        let credentials = Credentials::new("AKID", "secret").with_security_token("token");
        let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_599);
        sign_sigv4(&mut request, "https", "ap-guangzhou", &credentials, time).expect("signs");
        let authorization = request.header("authorization").expect("Authorization");
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKID/20251231/ap-guangzhou/s3/aws4_request, SignedHeaders="),
            "{authorization}"
        );
        assert_eq!(request.header("x-amz-date"), Some("20251231T235959Z"));
        assert_eq!(
            request.header("x-amz-content-sha256"),
            Some("UNSIGNED-PAYLOAD")
        );
        assert_eq!(request.header("x-amz-security-token"), Some("token"));
    }
}
