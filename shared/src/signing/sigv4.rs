//! AWS Signature Version 4 through the maintained `aws-sigv4` crate: for the object stores'
//! S3-compatible APIs (COS, OSS, TOS, OBS accept it with the cloud's own key) and for the
//! AWS JSON APIs the functions call (Step Functions, Secrets Manager).

use std::time::SystemTime;

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    sign as sigv4_sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use super::{Credentials, HttpRequest};

/// Which service a request is for, and that service's SigV4 rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Service {
    /// S3 rules: single URI encoding, unsigned payload with `x-amz-content-sha256`.
    S3,
    /// An AWS JSON API by its signing name (`states`, `secretsmanager`): the body is hashed.
    Json(&'static str),
}

/// Adds `x-amz-date`, the token header and `Authorization` to `request`.
pub fn sign(
    request: &mut HttpRequest,
    scheme: &str,
    service: &Service,
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
    let (name, body) = match service {
        Service::S3 => {
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            ("s3", SignableBody::UnsignedPayload)
        }
        Service::Json(name) => (*name, SignableBody::Bytes(&request.body)),
    };
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(name)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|err| err.to_string())?
        .into();
    let url = if request.query.is_empty() {
        format!("{scheme}://{}{}", request.host, request.path)
    } else {
        format!(
            "{scheme}://{}{}?{}",
            request.host, request.path, request.query
        )
    };
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .filter(|(n, _)| n != "host")
        .chain(std::iter::once(("host".to_owned(), request.host.clone())))
        .collect();
    let signable = SignableRequest::new(
        &request.method,
        &url,
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        body,
    )
    .map_err(|err| err.to_string())?;
    let (instructions, _signature) = sigv4_sign(signable, &params)
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
        sign(
            &mut request,
            "https",
            &Service::S3,
            "ap-guangzhou",
            &credentials,
            time,
        )
        .expect("signs");
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
