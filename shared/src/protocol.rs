//! Reading the clouds' answers: each cloud wraps success and failure its own way (its
//! provider's `parse`), and every failure keeps the cloud's code, message and request id.

use serde_json::Value;

use crate::Cloud;
use crate::error::CloudError;
use crate::transport::RawResponse;

/// The success document of `response`, or the cloud's error.
pub fn parse(cloud: Cloud, response: &RawResponse) -> Result<Value, CloudError> {
    let json: Option<Value> = serde_json::from_slice(&response.body).ok();
    crate::providers::of(cloud).parse(response, json)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::error::ErrorKind;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> RawResponse {
        RawResponse {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn tencent_errors_come_in_a_200_and_keep_code_message_and_request_id() {
        let err = parse(Cloud::Tencent, &response(200, &[], r#"{"Response":{"Error":{"Code":"RequestLimitExceeded","Message":"slow down"},"RequestId":"r-1"}}"#))
            .expect_err("an error");
        assert_eq!(
            (
                err.kind,
                err.code.as_str(),
                err.message.as_str(),
                err.request_id.as_deref()
            ),
            (
                ErrorKind::Throttled,
                "RequestLimitExceeded",
                "slow down",
                Some("r-1")
            )
        );
        assert!(err.retryable);
        let ok = parse(
            Cloud::Tencent,
            &response(200, &[], r#"{"Response":{"TaskId":7,"RequestId":"r-2"}}"#),
        )
        .expect("success");
        assert_eq!(ok["TaskId"], 7);
    }

    #[test]
    fn alibaba_throttling_is_a_400_with_a_retry_hint_in_milliseconds() {
        let err = parse(
            Cloud::Alibaba,
            &response(
                400,
                &[("x-acs-retry-after", "1500")],
                r#"{"RequestId":"r","Code":"Throttling.User","Message":"flow control"}"#,
            ),
        )
        .expect_err("throttled");
        assert_eq!(err.kind, ErrorKind::Throttled);
        assert_eq!(err.retry_after, Some(Duration::from_millis(1500)));
        assert_eq!(err.http_status, Some(400));
    }

    #[test]
    fn volcengine_and_huawei_errors_keep_the_cloud_words() {
        let err = parse(Cloud::Volcengine, &response(404, &[], r#"{"ResponseMetadata":{"RequestId":"v-1","Error":{"Code":"InvalidImage.NotFound","Message":"no such image"}}}"#))
            .expect_err("not found");
        assert_eq!(
            (err.kind, err.request_id.as_deref()),
            (ErrorKind::NotFound, Some("v-1"))
        );
        let ok = parse(
            Cloud::Volcengine,
            &response(
                200,
                &[],
                r#"{"ResponseMetadata":{"RequestId":"v-2"},"Result":{"TaskId":"t-1"}}"#,
            ),
        )
        .expect("success");
        assert_eq!(ok["TaskId"], "t-1");

        let err = parse(Cloud::Huawei, &response(401, &[("X-Request-Id", "h-1")], r#"{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information"}"#))
            .expect_err("auth");
        assert_eq!(
            (err.kind, err.code.as_str(), err.request_id.as_deref()),
            (ErrorKind::Permission, "APIGW.0301", Some("h-1"))
        );
        let err = parse(
            Cloud::Huawei,
            &response(
                400,
                &[],
                r#"{"error":{"code":"IMG.0001","message":"bad bucket_url"}}"#,
            ),
        )
        .expect_err("ims");
        assert_eq!(
            (err.kind, err.code.as_str()),
            (ErrorKind::InvalidRequest, "IMG.0001")
        );
    }

    #[test]
    fn a_cut_off_success_is_an_unknown_outcome_and_a_cut_off_failure_transient() {
        let err = parse(
            Cloud::Alibaba,
            &response(200, &[], r#"{"RequestId":"r","TaskId":"t-"#),
        )
        .expect_err("cut");
        assert_eq!(err.kind, ErrorKind::UnknownOutcome);
        let err = parse(Cloud::Huawei, &response(503, &[], "<html>")).expect_err("proxy");
        assert_eq!(err.kind, ErrorKind::Transient);
    }
}
