//! Volcengine error codes → kinds: every code of the ExportImage page, the gateway's
//! signature and throttling codes, and prefix rules for the rest.

use crate::error::ErrorKind;

const EXACT: &[(&str, ErrorKind)] = &[
    (
        "InvalidImageForExportImage.UnSupported",
        ErrorKind::Unsupported,
    ),
    ("InvalidImageStatus", ErrorKind::Conflict),
    ("InvalidTOSPrefix.Malformed", ErrorKind::InvalidRequest),
    ("InvalidTosPutObject.AccessDenied", ErrorKind::Permission),
    ("OperationDenied.ResourceLocked", ErrorKind::Conflict),
    ("InternalError", ErrorKind::Transient),
    ("ServiceUnavailable", ErrorKind::Transient),
    ("InvalidAccessKey", ErrorKind::Permission),
    ("InvalidAccessKeyId.NotFound", ErrorKind::Permission),
];

const PREFIXES: &[(&str, ErrorKind)] = &[
    ("SignatureDoesNotMatch", ErrorKind::Permission),
    ("InvalidAuthorization", ErrorKind::Permission),
    ("MissingAuthenticationToken", ErrorKind::Permission),
    ("InvalidTimestamp", ErrorKind::Permission),
    ("InvalidCredential", ErrorKind::Permission),
    ("AccessDenied", ErrorKind::Permission),
    ("FlowLimitExceeded", ErrorKind::Throttled),
    ("AccountFlowLimitExceeded", ErrorKind::Throttled),
    ("InvalidSecretToken", ErrorKind::Permission),
    ("MissingSignature", ErrorKind::Permission),
    ("MissingRequestInfo", ErrorKind::InvalidRequest),
    ("InternalServiceTimeout", ErrorKind::Transient),
    ("RequestLimitExceeded", ErrorKind::Throttled),
    ("Throttling", ErrorKind::Throttled),
    ("QuotaExceeded", ErrorKind::Quota),
    ("LimitExceeded", ErrorKind::Quota),
    ("OperationDenied", ErrorKind::Conflict),
    ("MissingParameter", ErrorKind::InvalidRequest),
    ("InvalidParameter", ErrorKind::InvalidRequest),
    ("UnsupportedOperation", ErrorKind::Unsupported),
];

/// Codes that mean "too many of these tasks run at once, try again when one ends": a start
/// refused with one waits in the job's queue (see `crate::job::queue`) instead of failing.
/// ExportImage refuses an export beyond the running-export quota ("QuotaExceeded.ExportImageTask"); the export can start once one ends.
pub const CONCURRENCY_LIMITS: &[&str] = &["QuotaExceeded.ExportImageTask"];

pub fn kind_of(code: &str) -> ErrorKind {
    crate::error::kind_by_table(code, EXACT, PREFIXES)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code of seed 001 (ExportImage), and the common ones.
    const SEED_CODES: &[(&str, ErrorKind)] = &[
        (
            "InvalidImageForExportImage.UnSupported",
            ErrorKind::Unsupported,
        ),
        ("InvalidImageStatus", ErrorKind::Conflict),
        ("InvalidTOSPrefix.Malformed", ErrorKind::InvalidRequest),
        ("InvalidTosPutObject.AccessDenied", ErrorKind::Permission),
        ("MissingParameter.ImageId", ErrorKind::InvalidRequest),
        ("MissingParameter.TOSBucket", ErrorKind::InvalidRequest),
        ("MissingParameter.TOSPrefix", ErrorKind::InvalidRequest),
        ("InvalidImage.NotFound", ErrorKind::NotFound),
        ("InvalidTOSBucket.NotFound", ErrorKind::NotFound),
        ("OperationDenied.ResourceLocked", ErrorKind::Conflict),
        ("InternalError", ErrorKind::Transient),
        ("SignatureDoesNotMatch", ErrorKind::Permission),
        ("InvalidTimestamp", ErrorKind::Permission),
        ("FlowLimitExceeded", ErrorKind::Throttled),
        ("AccountFlowLimitExceeded", ErrorKind::Throttled),
        ("InvalidSecretToken", ErrorKind::Permission),
        ("MissingSignature", ErrorKind::Permission),
        ("MissingRequestInfo", ErrorKind::InvalidRequest),
        ("InternalServiceTimeout", ErrorKind::Transient),
    ];

    #[test]
    fn every_seed_code_has_its_kind() {
        for (code, kind) in SEED_CODES {
            assert_eq!(kind_of(code), *kind, "{code}");
        }
    }
}
