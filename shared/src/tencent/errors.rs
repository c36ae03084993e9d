//! Tencent Cloud error codes → kinds: every code of the ExportImages and SyncImages pages,
//! the common authentication and throttling codes, and prefix rules for the rest.

use crate::error::ErrorKind;

/// Exact codes first: the seed pages' codes whose kind a prefix would get wrong.
const EXACT: &[(&str, ErrorKind)] = &[
    ("InvalidImageId.NotFound", ErrorKind::NotFound),
    ("InvalidParameter.SnapshotNotFound", ErrorKind::NotFound),
    ("InvalidParameterValue.BucketNotFound", ErrorKind::NotFound),
    ("InvalidRegion.NotFound", ErrorKind::NotFound),
    (
        "InvalidParameterValue.InvalidBucketPermissionForExport",
        ErrorKind::Permission,
    ),
    (
        "InvalidParameterValue.InvalidImageId",
        ErrorKind::Unsupported,
    ),
    (
        "InvalidParameterValue.InvalidImageOsName",
        ErrorKind::Unsupported,
    ),
    (
        "InvalidParameterValue.InvalidImageState",
        ErrorKind::Conflict,
    ),
    ("FailedOperation.InvalidImageState", ErrorKind::Conflict),
    ("InvalidImageId.IncorrectState", ErrorKind::Conflict),
    ("InvalidImageName.Duplicate", ErrorKind::Conflict),
    (
        "LimitExceeded.ExportImageTaskLimitExceeded",
        ErrorKind::Quota,
    ),
    ("ImageQuotaLimitExceeded", ErrorKind::Quota),
    ("InvalidImageId.TooLarge", ErrorKind::Unsupported),
    (
        "InvalidParameter.InstanceImageNotSupport",
        ErrorKind::Unsupported,
    ),
    ("InvalidRegion.Unavailable", ErrorKind::Unsupported),
    ("InternalError", ErrorKind::Transient),
    ("ServiceUnavailable", ErrorKind::Transient),
    ("ResourceUnavailable", ErrorKind::Transient),
];

/// Then the code families of Tencent's common error codes.
const PREFIXES: &[(&str, ErrorKind)] = &[
    ("AuthFailure", ErrorKind::Permission),
    ("UnauthorizedOperation", ErrorKind::Permission),
    ("RequestLimitExceeded", ErrorKind::Throttled),
    ("InternalError", ErrorKind::Transient),
    ("UnsupportedOperation", ErrorKind::Unsupported),
    ("LimitExceeded", ErrorKind::Quota),
    ("ResourceNotFound", ErrorKind::NotFound),
    ("ResourceInUse", ErrorKind::Conflict),
    ("ResourceBusy", ErrorKind::Conflict),
    ("FailedOperation", ErrorKind::Conflict),
    ("InvalidImageId", ErrorKind::InvalidRequest),
    ("InvalidParameter", ErrorKind::InvalidRequest),
    ("MissingParameter", ErrorKind::InvalidRequest),
    ("InvalidAction", ErrorKind::InvalidRequest),
];

/// Codes that mean "too many of these tasks run at once, try again when one ends": a start
/// refused with one waits in the job's queue (see `crate::job::queue`) instead of failing.
/// ExportImages refuses an export beyond the account's running-export limit (seed 000: "LimitExceeded.ExportImageTaskLimitExceeded"); the export can start once one ends.
pub const CONCURRENCY_LIMITS: &[&str] = &["LimitExceeded.ExportImageTaskLimitExceeded"];

/// The kind of a Tencent error code; an unknown code is treated as a rejected request, never
/// as something to retry blindly.
pub fn kind_of(code: &str) -> ErrorKind {
    crate::error::kind_by_table(code, EXACT, PREFIXES)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code of seed 000 (ExportImages) and seed 002 (SyncImages), with its kind.
    const SEED_CODES: &[(&str, ErrorKind)] = &[
        (
            "AuthFailure.CamRoleNameAuthenticateFailed",
            ErrorKind::Permission,
        ),
        ("InvalidImageId.Malformed", ErrorKind::InvalidRequest),
        ("InvalidImageId.NotFound", ErrorKind::NotFound),
        (
            "InvalidParameter.ImageIdsSnapshotIdsMustOne",
            ErrorKind::InvalidRequest,
        ),
        ("InvalidParameter.SnapshotNotFound", ErrorKind::NotFound),
        ("InvalidParameterValue.BucketNotFound", ErrorKind::NotFound),
        (
            "InvalidParameterValue.InvalidAppIdFormat",
            ErrorKind::InvalidRequest,
        ),
        (
            "InvalidParameterValue.InvalidBucketPermissionForExport",
            ErrorKind::Permission,
        ),
        (
            "InvalidParameterValue.InvalidFileNamePrefixList",
            ErrorKind::InvalidRequest,
        ),
        (
            "InvalidParameterValue.InvalidImageId",
            ErrorKind::Unsupported,
        ),
        (
            "InvalidParameterValue.InvalidImageOsName",
            ErrorKind::Unsupported,
        ),
        (
            "InvalidParameterValue.InvalidImageState",
            ErrorKind::Conflict,
        ),
        (
            "InvalidParameterValue.LimitExceeded",
            ErrorKind::InvalidRequest,
        ),
        ("InvalidParameterValue.TooLarge", ErrorKind::InvalidRequest),
        (
            "LimitExceeded.ExportImageTaskLimitExceeded",
            ErrorKind::Quota,
        ),
        (
            "UnsupportedOperation.EncryptedImagesNotSupported",
            ErrorKind::Unsupported,
        ),
        (
            "UnsupportedOperation.ImageTooLargeExportUnsupported",
            ErrorKind::Unsupported,
        ),
        (
            "UnsupportedOperation.MarketImageExportUnsupported",
            ErrorKind::Unsupported,
        ),
        (
            "UnsupportedOperation.PublicImageExportUnsupported",
            ErrorKind::Unsupported,
        ),
        (
            "UnsupportedOperation.RedHatImageExportUnsupported",
            ErrorKind::Unsupported,
        ),
        (
            "UnsupportedOperation.SharedImageExportUnsupported",
            ErrorKind::Unsupported,
        ),
        (
            "UnsupportedOperation.WindowsImageExportUnsupported",
            ErrorKind::Unsupported,
        ),
        ("FailedOperation.InvalidImageState", ErrorKind::Conflict),
        ("ImageQuotaLimitExceeded", ErrorKind::Quota),
        ("InvalidImageId.IncorrectState", ErrorKind::Conflict),
        ("InvalidImageId.TooLarge", ErrorKind::Unsupported),
        ("InvalidImageName.Duplicate", ErrorKind::Conflict),
        (
            "InvalidParameter.InstanceImageNotSupport",
            ErrorKind::Unsupported,
        ),
        (
            "InvalidParameterValue.InvalidRegion",
            ErrorKind::InvalidRequest,
        ),
        ("InvalidRegion.NotFound", ErrorKind::NotFound),
        ("InvalidRegion.Unavailable", ErrorKind::Unsupported),
        (
            "UnsupportedOperation.LocationImageNotSupported",
            ErrorKind::Unsupported,
        ),
        ("UnsupportedOperation.Region", ErrorKind::Unsupported),
        // Common codes every call can return.
        ("AuthFailure.SignatureFailure", ErrorKind::Permission),
        ("AuthFailure.SignatureExpire", ErrorKind::Permission),
        ("AuthFailure.SecretIdNotFound", ErrorKind::Permission),
        ("RequestLimitExceeded", ErrorKind::Throttled),
        (
            "RequestLimitExceeded.UinLimitExceeded",
            ErrorKind::Throttled,
        ),
        ("InternalError", ErrorKind::Transient),
    ];

    #[test]
    fn every_seed_code_has_its_kind() {
        for (code, kind) in SEED_CODES {
            assert_eq!(kind_of(code), *kind, "{code}");
        }
    }

    #[test]
    fn unknown_codes_are_not_retried() {
        assert_eq!(kind_of("SomethingNew.NeverSeen"), ErrorKind::InvalidRequest);
        assert!(!kind_of("SomethingNew.NeverSeen").is_retryable());
    }
}
