//! The emulated buckets (COS, OSS, TOS and OBS alike): S3-compatible `HEAD` and `GET` of an
//! object, path-style (`/bucket/key`), signed with AWS Signature Version 4, which all four
//! object stores accept. Objects appear when the export that writes them has succeeded.
//!
//! The SigV4 check here is the server half of the protocol; clients sign with maintained
//! implementations (aws-sigv4, botocore), and the tests run both against it.

use std::borrow::Cow;

use imgflow_shared::signing::{
    constant_time_eq, hex, hmac_chain, hmac_sha256, sha256_hex, uri_encode,
};
use percent_encoding::percent_decode_str;

use crate::api::{authorization_fields, field, parse_basic_iso8601, within_window};
use crate::http::{ApiRequest, ApiResponse, Body};
use crate::world::World;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Seconds a SigV4 request may be off the wall clock, as S3 allows.
const SKEW_SECONDS: u64 = 900;

pub fn handle(world: &mut World, request: &ApiRequest) -> ApiResponse {
    let request_id = world.request_id();
    let head = request.method == "HEAD";
    if request.method != "GET" && !head {
        return s3_error(
            405,
            "MethodNotAllowed",
            "only HEAD and GET of objects are emulated",
            &request_id,
            head,
        );
    }
    if let Err((status, code, message)) = authenticate(world, request) {
        return s3_error(status, code, &message, &request_id, head);
    }
    let path = percent_decode_str(&request.path)
        .decode_utf8_lossy()
        .into_owned();
    let Some((bucket, key)) = path.trim_start_matches('/').split_once('/') else {
        return s3_error(
            400,
            "InvalidRequest",
            "use path-style /bucket/key",
            &request_id,
            head,
        );
    };
    if world.bucket(bucket).is_none() {
        return s3_error(
            404,
            "NoSuchBucket",
            "The specified bucket does not exist.",
            &request_id,
            head,
        );
    }
    let Some(object) = world.object(bucket, key) else {
        return s3_error(
            404,
            "NoSuchKey",
            "The specified key does not exist.",
            &request_id,
            head,
        );
    };
    let seed = seed_of(bucket, key);
    let written_at = world
        .object_written_at(bucket, key)
        .unwrap_or_else(|| world.now());
    let last_modified =
        imgflow_shared::signing::Timestamp::from_unix_seconds(written_at.max(0.0) as u64)
            .http_date();
    let etag = format!(
        "\"{}\"",
        &sha256_hex(format!("{bucket}/{key}").as_bytes())[..32]
    );
    let base = ApiResponse::empty(200)
        .with_header("ETag", etag)
        .with_header("Accept-Ranges", "bytes")
        .with_header("Content-Type", "application/octet-stream")
        .with_header("Last-Modified", last_modified)
        .with_header("x-amz-request-id", request_id.clone());
    if head {
        return base.with_header("Content-Length", object.size.to_string());
    }
    match request.header("range").map(|r| parse_range(r, object.size)) {
        None => ApiResponse {
            body: Body::Synthetic {
                seed,
                offset: 0,
                len: object.size,
            },
            ..base
        },
        Some(Some((start, end))) => ApiResponse {
            status: 206,
            body: Body::Synthetic {
                seed,
                offset: start,
                len: end + 1 - start,
            },
            ..base.with_header(
                "Content-Range",
                format!("bytes {start}-{end}/{}", object.size),
            )
        },
        Some(None) => s3_error(
            416,
            "InvalidRange",
            "The requested range is not satisfiable",
            &request_id,
            false,
        ),
    }
}

fn seed_of(bucket: &str, key: &str) -> u64 {
    let digest = sha256_hex(format!("{bucket}/{key}").as_bytes());
    u64::from_str_radix(&digest[..16], 16).unwrap_or(0)
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` within an object of `size` bytes.
fn parse_range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.strip_prefix("bytes=")?;
    let (start, end) = spec.split_once('-')?;
    let last = size.checked_sub(1)?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            (size.saturating_sub(n), last)
        }
        (start, "") => (start.parse().ok()?, last),
        (start, end) => (start.parse().ok()?, end.parse::<u64>().ok()?.min(last)),
    };
    (start <= end && start <= last).then_some((start, end))
}

type S3Failure = (u16, &'static str, String);

fn authenticate(world: &World, request: &ApiRequest) -> Result<(), S3Failure> {
    let denied = |code: &'static str, message: &str| (403, code, message.to_owned());
    let header = request
        .header("authorization")
        .ok_or_else(|| denied("AccessDenied", "Anonymous access is forbidden"))?;
    let (algorithm, fields) = authorization_fields(header)
        .ok_or_else(|| denied("AuthorizationHeaderMalformed", "malformed Authorization"))?;
    if algorithm != ALGORITHM {
        return Err(denied(
            "AuthorizationHeaderMalformed",
            "only AWS4-HMAC-SHA256 is accepted",
        ));
    }
    let credential = field(&fields, "Credential").unwrap_or_default();
    let mut scope = credential.split('/');
    let (Some(ak), Some(date), Some(region), Some(service), Some("aws4_request")) = (
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
    ) else {
        return Err(denied(
            "AuthorizationHeaderMalformed",
            "Credential must be AK/date/region/service/aws4_request",
        ));
    };
    let signed = field(&fields, "SignedHeaders").unwrap_or_default();
    let signature = field(&fields, "Signature").unwrap_or_default();
    let amz_date = request.header("x-amz-date").unwrap_or_default();
    let time = parse_basic_iso8601(amz_date)
        .ok_or_else(|| denied("AccessDenied", "x-amz-date is missing or malformed"))?;
    if !within_window(world, time, SKEW_SECONDS) {
        return Err(denied(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        ));
    }
    let (secret, _account) = world.key(ak).ok_or_else(|| {
        denied(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        )
    })?;
    let names: Vec<&str> = signed.split(';').filter(|n| !n.is_empty()).collect();
    let canonical = canonical_request(request, &names)
        .ok_or_else(|| denied("SignatureDoesNotMatch", "a signed header is missing"))?;
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let key = hmac_chain(
        format!("AWS4{secret}").as_bytes(),
        &[date, region, service, "aws4_request"],
    );
    let expected = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));
    if constant_time_eq(expected.as_bytes(), signature.as_bytes()) && time.date_compact() == date {
        Ok(())
    } else {
        Err(denied(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        ))
    }
}

fn canonical_request(request: &ApiRequest, signed: &[&str]) -> Option<String> {
    let path = percent_decode_str(&request.path)
        .decode_utf8_lossy()
        .into_owned();
    let uri: Vec<Cow<'_, str>> = path.split('/').map(uri_encode).collect();
    let mut query: Vec<(String, String)> = request
        .query_pairs()
        .into_iter()
        .map(|(k, v)| (uri_encode(&k).into_owned(), uri_encode(&v).into_owned()))
        .collect();
    query.sort();
    let query: Vec<String> = query.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut headers = String::new();
    for name in signed {
        let values: Vec<String> = request
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if values.is_empty() {
            return None;
        }
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let payload = request
        .header("x-amz-content-sha256")
        .map_or_else(|| sha256_hex(&request.body), str::to_owned);
    Some(format!(
        "{}\n{}\n{}\n{headers}\n{}\n{payload}",
        request.method,
        uri.join("/"),
        query.join("&"),
        signed.join(";")
    ))
}

fn s3_error(status: u16, code: &str, message: &str, request_id: &str, head: bool) -> ApiResponse {
    let response = ApiResponse::empty(status).with_header("x-amz-request-id", request_id);
    if head {
        // A HEAD answer has no body; S3 puts the code in a header instead.
        return response.with_header("x-amz-error-code", code);
    }
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
    );
    ApiResponse {
        body: Body::Bytes(xml.into_bytes()),
        ..response.with_header("Content-Type", "application/xml")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }
}
