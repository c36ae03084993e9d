//! Alibaba Cloud error codes → kinds: every code of the ExportImage page, the signature,
//! throttling and server codes, and prefix rules for the CopyImage / Describe* families.

use crate::error::ErrorKind;

const EXACT: &[(&str, ErrorKind)] = &[
    ("Forbidden", ErrorKind::Permission),
    ("InvalidAccessKeyId.NotFound", ErrorKind::Permission),
    ("IncorrectImageStatus", ErrorKind::Conflict),
    ("OssPrefix.Malformed", ErrorKind::InvalidRequest),
    // The page gives no cause beyond "failed to export"; with HTTP 403 it is the export role
    // (AliyunECSImageExportDefaultRole) lacking rights in practice.
    ("ExportImageFailed", ErrorKind::Permission),
    ("ImageNotSupported", ErrorKind::Unsupported),
    ("InvalidRegion.NotSupport", ErrorKind::Unsupported),
    ("OperationDenied.ImageExporting", ErrorKind::Conflict),
    // A fresh nonce cures it, and every attempt of ours draws one.
    ("SignatureNonceUsed", ErrorKind::Transient),
    ("InternalError", ErrorKind::Transient),
    ("UnknownError", ErrorKind::Transient),
    ("ServiceUnavailable", ErrorKind::Transient),
];

const PREFIXES: &[(&str, ErrorKind)] = &[
    ("Throttling", ErrorKind::Throttled),
    ("SignatureDoesNotMatch", ErrorKind::Permission),
    ("IncompleteSignature", ErrorKind::Permission),
    ("InvalidAccessKeyId", ErrorKind::Permission),
    ("InvalidSecurityToken", ErrorKind::Permission),
    ("InvalidTimeStamp", ErrorKind::Permission),
    ("Forbidden", ErrorKind::Permission),
    ("NoPermission", ErrorKind::Permission),
    ("QuotaExceed", ErrorKind::Quota),
    ("QuotaExceeded", ErrorKind::Quota),
    // Five exports at once per region and account: the rest wait for a slot (seen when a
    // large job's chunks start many exports of one region at once).
    ("ConcurrentQuotaExceed", ErrorKind::Quota),
    ("OperationDenied", ErrorKind::Conflict),
    ("OperationConflict", ErrorKind::Conflict),
    ("IncorrectImageStatus", ErrorKind::Conflict),
    ("MissingParameter", ErrorKind::InvalidRequest),
    ("InvalidParameter", ErrorKind::InvalidRequest),
    ("UnsupportedOperation", ErrorKind::Unsupported),
];

/// Codes that mean "too many of these tasks run at once, try again when one ends": a start
/// refused with one waits in the job's queue (see `crate::job::queue`) instead of failing.
/// ExportImage refuses an export beyond the concurrent-export quota (seed 003: "ConcurrentQuotaExceed.ExportImage"); the export can start once one ends.
pub const CONCURRENCY_LIMITS: &[&str] = &["ConcurrentQuotaExceed.ExportImage"];

pub fn kind_of(code: &str) -> ErrorKind {
    crate::error::kind_by_table(code, EXACT, PREFIXES)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code of seed 003 (ExportImage), and the common ones.
    const SEED_CODES: &[(&str, ErrorKind)] = &[
        ("Forbidden", ErrorKind::Permission),
        ("IncorrectImageStatus", ErrorKind::Conflict),
        ("MissingParameter", ErrorKind::InvalidRequest),
        ("OssBucket.NotFound", ErrorKind::NotFound),
        ("OssPrefix.Malformed", ErrorKind::InvalidRequest),
        ("RegionId.NotFound", ErrorKind::NotFound),
        ("ExportImageFailed", ErrorKind::Permission),
        ("ImageId.NotFound", ErrorKind::NotFound),
        ("ImageNotSupported", ErrorKind::Unsupported),
        ("InvalidRegion.NotSupport", ErrorKind::Unsupported),
        ("OperationDenied.ImageExporting", ErrorKind::Conflict),
        ("SignatureDoesNotMatch", ErrorKind::Permission),
        ("InvalidAccessKeyId.NotFound", ErrorKind::Permission),
        ("InvalidTimeStamp.Expired", ErrorKind::Permission),
        ("SignatureNonceUsed", ErrorKind::Transient),
        ("Throttling.User", ErrorKind::Throttled),
        ("Throttling", ErrorKind::Throttled),
        ("InternalError", ErrorKind::Transient),
        ("InvalidTaskId.NotFound", ErrorKind::NotFound),
        ("ConcurrentQuotaExceed.ExportImage", ErrorKind::Quota),
    ];

    #[test]
    fn every_seed_code_has_its_kind() {
        for (code, kind) in SEED_CODES {
            assert_eq!(kind_of(code), *kind, "{code}");
        }
    }
}
