//! The ACS3-HMAC-SHA256 check the ECS gateway makes: the `Authorization` header, the
//! `x-acs-date` window, the one-time `x-acs-signature-nonce`, and the signature itself,
//! recomputed with the project's signer over the headers the request lists.
//!
//! The V3 rules require `host` and every `x-acs-*` header to be signed; that is how a
//! security token (`x-acs-security-token`) is covered. Its value is not checked.

use imgflow_shared::Cloud;
use imgflow_shared::signing::parse_signed_headers;

use crate::api::{
    AuthFailure, SignatureClaim, authorization_fields, field, parse_extended_iso8601,
    verify_signature, within_window,
};
use crate::http::ApiRequest;
use crate::world::{Caller, World};

use super::error::AcsError;

const ALGORITHM: &str = "ACS3-HMAC-SHA256";

fn incomplete(detail: &str) -> AcsError {
    AcsError::new(
        400,
        "IncompleteSignature",
        format!("The request signature does not conform to Aliyun standards. {detail}"),
    )
}

/// Who signed the request, or the error the gateway answers.
pub fn authenticate(world: &mut World, request: &ApiRequest) -> Result<Caller, AcsError> {
    let header = request
        .header("authorization")
        .ok_or_else(|| incomplete("The Authorization header is missing."))?;
    let (algorithm, fields) = authorization_fields(header)
        .ok_or_else(|| incomplete("The Authorization header is malformed."))?;
    if algorithm != ALGORITHM {
        return Err(incomplete(
            "The signature algorithm must be ACS3-HMAC-SHA256.",
        ));
    }
    let (Some(access_key_id), Some(signed), Some(signature)) = (
        field(&fields, "Credential"),
        field(&fields, "SignedHeaders"),
        field(&fields, "Signature"),
    ) else {
        return Err(incomplete(
            "The Authorization header needs Credential, SignedHeaders and Signature.",
        ));
    };
    let signed_headers = parse_signed_headers(signed)
        .map_err(|_| incomplete("SignedHeaders is not a ;-separated list of lowercase names."))?;
    if let Some(unsigned) = unsigned_required_header(request, &signed_headers) {
        return Err(incomplete(&format!(
            "The header {unsigned} must be signed."
        )));
    }
    let time = request
        .header("x-acs-date")
        .and_then(parse_extended_iso8601)
        .ok_or_else(|| {
            AcsError::new(
                400,
                "InvalidTimeStamp.Format",
                "Specified time stamp or date value is not well formatted.",
            )
        })?;
    let window = world.limits.skew(Cloud::Alibaba);
    if !within_window(world, time, window) {
        return Err(AcsError::new(
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    let nonce = request
        .header("x-acs-signature-nonce")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| AcsError::missing("SignatureNonce"))?;
    let claim = SignatureClaim {
        access_key_id,
        signed_headers,
        signature,
        time,
        region: "",
        service: "",
    };
    let caller = verify_signature(world, Cloud::Alibaba, request, &claim).map_err(|failure| {
        match failure {
            AuthFailure::UnknownKey => AcsError::new(
                404,
                "InvalidAccessKeyId.NotFound",
                "Specified access key is not found.",
            ),
            AuthFailure::Mismatch {
                expected_string_to_sign,
            } => AcsError::new(
                400,
                "SignatureDoesNotMatch",
                format!(
                    "Specified signature is not matched with our calculation. server string to sign is:{expected_string_to_sign}"
                ),
            ),
            AuthFailure::Malformed(_) => {
                incomplete("A header listed in SignedHeaders is not in the request.")
            }
        }
    })?;
    use_nonce(world, access_key_id, nonce, window)?;
    Ok(caller)
}

/// The first `host` or `x-acs-*` header the request carries but does not sign.
fn unsigned_required_header(request: &ApiRequest, signed: &[&str]) -> Option<String> {
    request
        .headers
        .iter()
        .map(|(name, _)| name.to_ascii_lowercase())
        .filter(|name| name == "host" || name.starts_with("x-acs-"))
        .find(|name| !signed.contains(&name.as_str()))
}

/// Records a nonce for twice `window` seconds: a request dated up to `window` ahead stays
/// acceptable until `window` after that date, and its nonce must be remembered as long. A
/// second use meanwhile is refused. Only requests whose signature verified get here, so a
/// forger cannot burn a client's nonces.
fn use_nonce(
    world: &mut World,
    access_key_id: &str,
    nonce: &str,
    window: u64,
) -> Result<(), AcsError> {
    let now = world.clock.wall_unix();
    world
        .nonces
        .retain(|_, first_used| now.saturating_sub(*first_used) <= 2 * window);
    let key = format!("alibaba/{access_key_id}/{nonce}");
    if world.nonces.contains_key(&key) {
        return Err(AcsError::new(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    world.nonces.insert(key, now);
    Ok(())
}
