//! TC3-HMAC-SHA256 verification, in the order the API 3.0 gateway reports failures:
//! a missing or malformed `Authorization` (`AuthFailure.InvalidAuthorization`), a
//! `X-TC-Timestamp` outside the skew window (`AuthFailure.SignatureExpire`), an unknown
//! SecretId (`AuthFailure.SecretIdNotFound`), then the signature (`AuthFailure.SignatureFailure`).
//!
//! `X-TC-Token` is not signed by Tencent (the SDK signs `content-type;host` only), so any
//! token is accepted: the emulator has no temporary credentials to check it against.

use imgflow_shared::Cloud;
use imgflow_shared::signing::{Timestamp, parse_signed_headers};

use super::errors::TcError;
use crate::api::{
    AuthFailure, SignatureClaim, authorization_fields, field, verify_signature, within_window,
};
use crate::http::ApiRequest;
use crate::world::{Caller, World};

const ALGORITHM: &str = "TC3-HMAC-SHA256";
const SERVICE: &str = "cvm";
const TERMINATOR: &str = "tc3_request";
/// Headers the API 3.0 documentation makes mandatory in `SignedHeaders`.
const REQUIRED_SIGNED: [&str; 2] = ["content-type", "host"];

fn invalid_authorization(why: &str) -> TcError {
    TcError::new(
        "AuthFailure.InvalidAuthorization",
        format!("The Authorization header is not in the TC3-HMAC-SHA256 format: {why}."),
    )
}

fn signature_failure() -> TcError {
    TcError::new(
        "AuthFailure.SignatureFailure",
        "The provided credentials could not be validated. Please check your signature is correct.",
    )
}

/// What the `Authorization` header says, before anything is looked up.
struct Tc3Authorization<'a> {
    secret_id: &'a str,
    date: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(header: &str) -> Result<Tc3Authorization<'_>, TcError> {
    let (algorithm, fields) =
        authorization_fields(header).ok_or_else(|| invalid_authorization("no fields"))?;
    if algorithm != ALGORITHM {
        return Err(invalid_authorization(
            "the algorithm must be TC3-HMAC-SHA256",
        ));
    }
    let credential = field(&fields, "Credential")
        .ok_or_else(|| invalid_authorization("Credential is missing"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [secret_id, date, _service, terminator] = scope[..] else {
        return Err(invalid_authorization(
            "Credential must be SecretId/YYYY-MM-DD/service/tc3_request",
        ));
    };
    if secret_id.is_empty() || terminator != TERMINATOR {
        return Err(invalid_authorization(
            "Credential must be SecretId/YYYY-MM-DD/service/tc3_request",
        ));
    }
    let signed_headers = field(&fields, "SignedHeaders")
        .ok_or_else(|| invalid_authorization("SignedHeaders is missing"))
        .and_then(|list| {
            parse_signed_headers(list)
                .map_err(|_| invalid_authorization("SignedHeaders is malformed"))
        })?;
    if let Some(absent) = REQUIRED_SIGNED
        .iter()
        .find(|name| !signed_headers.contains(name))
    {
        return Err(invalid_authorization(&format!(
            "SignedHeaders must include `{absent}`"
        )));
    }
    let signature = field(&fields, "Signature")
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| invalid_authorization("Signature must be 64 hexadecimal digits"))?;
    Ok(Tc3Authorization {
        secret_id,
        date,
        signed_headers,
        signature,
    })
}

/// The request's `X-TC-Timestamp` (or, in the query form, `Timestamp`).
fn signed_at(request: &ApiRequest) -> Result<Timestamp, TcError> {
    let text = request
        .header("x-tc-timestamp")
        .map(str::to_owned)
        .or_else(|| request.query_param("Timestamp"))
        .ok_or_else(|| TcError::missing("Timestamp"))?;
    text.trim()
        .parse::<u64>()
        .map(Timestamp::from_unix_seconds)
        .map_err(|_| TcError::invalid_value("Timestamp", "it must be unix seconds"))
}

/// Who signed the request, or the error Tencent answers with.
pub fn authenticate(world: &World, request: &ApiRequest) -> Result<Caller, TcError> {
    let header = request
        .header("authorization")
        .ok_or_else(|| invalid_authorization("the header is missing"))?;
    let authorization = parse_authorization(header)?;
    let time = signed_at(request)?;
    if !within_window(world, time, world.limits.skew(Cloud::Tencent)) {
        return Err(TcError::new(
            "AuthFailure.SignatureExpire",
            format!(
                "Signature expired. Timestamp `{}` and server time cannot differ by more \
                 than {} seconds.",
                time.unix_seconds(),
                world.limits.skew(Cloud::Tencent)
            ),
        ));
    }
    if world.key(authorization.secret_id).is_none() {
        return Err(TcError::new(
            "AuthFailure.SecretIdNotFound",
            "The SecretId is not found, please ensure that your SecretId is correct.",
        ));
    }
    // The signing key is derived from the credential date; the SDK uses the timestamp's date.
    if authorization.date != time.date_dashed() {
        return Err(signature_failure());
    }
    let claim = SignatureClaim {
        access_key_id: authorization.secret_id,
        signed_headers: authorization.signed_headers,
        signature: authorization.signature,
        time,
        region: "",
        // The gateway signs with its own service name: a client that used another one fails.
        service: SERVICE,
    };
    match verify_signature(world, Cloud::Tencent, request, &claim) {
        Ok(caller) => Ok(caller),
        Err(AuthFailure::UnknownKey) => Err(TcError::new(
            "AuthFailure.SecretIdNotFound",
            "The SecretId is not found, please ensure that your SecretId is correct.",
        )),
        Err(AuthFailure::Mismatch { .. }) => Err(signature_failure()),
        Err(AuthFailure::Malformed(why)) => Err(invalid_authorization(&why)),
    }
}
