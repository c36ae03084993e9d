//! Huawei Cloud error codes → kinds. The export page documents HTTP statuses rather than
//! codes, so the status decides for `IMG.*` codes; the API gateway's `APIGW.*` codes are
//! mapped one by one.

use crate::error::ErrorKind;

const GATEWAY: &[(&str, ErrorKind)] = &[
    // Authentication: bad signature, expired X-Sdk-Date, unknown key, token problems.
    ("APIGW.0101", ErrorKind::NotFound),
    ("APIGW.0301", ErrorKind::Permission),
    ("APIGW.0302", ErrorKind::Permission),
    ("APIGW.0303", ErrorKind::Permission),
    ("APIGW.0305", ErrorKind::Permission),
    ("APIGW.0306", ErrorKind::Permission),
    ("APIGW.0307", ErrorKind::Permission),
    ("APIGW.0308", ErrorKind::Throttled),
    ("APIGW.0201", ErrorKind::InvalidRequest),
    ("APIGW.0202", ErrorKind::Transient),
    ("APIGW.0203", ErrorKind::Transient),
];

/// IMS codes (from IMS's error-code page) whose kind the HTTP status alone gets wrong: they
/// all come as 400.
const IMS: &[(&str, ErrorKind)] = &[
    // The image's own state or another operation on it.
    ("IMG.0046", ErrorKind::Conflict),
    ("IMG.0070", ErrorKind::Conflict),
    ("IMG.0148", ErrorKind::Conflict),
    // Images the operation does not support.
    ("IMG.0059", ErrorKind::Unsupported),
    ("IMG.0071", ErrorKind::Unsupported),
    ("IMG.0077", ErrorKind::Unsupported),
    ("IMG.0078", ErrorKind::Unsupported),
    ("IMG.0105", ErrorKind::Unsupported),
    ("IMG.0106", ErrorKind::Unsupported),
    ("IMG.0128", ErrorKind::Unsupported),
    ("IMG.0160", ErrorKind::Unsupported),
    // Concurrency and quota limits.
    ("IMG.0060", ErrorKind::Quota),
    // Missing things.
    ("IMG.0027", ErrorKind::NotFound),
    ("IMG.0069", ErrorKind::NotFound),
    ("IMG.0121", ErrorKind::NotFound),
    ("IMG.0026", ErrorKind::Permission),
];

/// Codes that mean "too many of these tasks run at once, try again when one ends": a start
/// refused with one waits in the job's queue (see `crate::job::queue`) instead of failing.
/// IMS refuses a task beyond its flow-control limit on running tasks ("IMG.0060": exports, and cross-region copies, 5 at once per tenant); the task can start once one ends.
pub const CONCURRENCY_LIMITS: &[&str] = &["IMG.0060"];

/// The kind of a Huawei error from its code and HTTP status (the seed page's statuses:
/// 400, 401, 403, 404, 500, 503).
pub fn kind_of(code: &str, status: u16) -> ErrorKind {
    if let Some((_, kind)) = GATEWAY.iter().chain(IMS).find(|(known, _)| *known == code) {
        return *kind;
    }
    match status {
        401 | 403 => ErrorKind::Permission,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::Conflict,
        429 => ErrorKind::Throttled,
        500..=599 => ErrorKind::Transient,
        _ => ErrorKind::InvalidRequest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_of_the_seed_page_has_its_kind() {
        let statuses = [
            (400, ErrorKind::InvalidRequest),
            (401, ErrorKind::Permission),
            (403, ErrorKind::Permission),
            (404, ErrorKind::NotFound),
            (500, ErrorKind::Transient),
            (503, ErrorKind::Transient),
        ];
        for (status, kind) in statuses {
            assert_eq!(kind_of("IMG.0001", status), kind, "HTTP {status}");
        }
    }

    #[test]
    fn ims_codes_that_all_come_as_400_keep_their_meaning() {
        assert_eq!(kind_of("IMG.0148", 400), ErrorKind::Conflict);
        assert_eq!(kind_of("IMG.0071", 400), ErrorKind::Unsupported);
        assert_eq!(kind_of("IMG.0060", 400), ErrorKind::Quota);
        assert_eq!(kind_of("IMG.0069", 400), ErrorKind::NotFound);
    }

    #[test]
    fn gateway_codes_decide_whatever_the_status() {
        assert_eq!(kind_of("APIGW.0301", 401), ErrorKind::Permission);
        assert_eq!(kind_of("APIGW.0308", 429), ErrorKind::Throttled);
        assert!(kind_of("APIGW.0308", 429).is_retryable());
    }
}
