//! The Volcengine gateway's signature check: `Authorization: HMAC-SHA256
//! Credential=AK/YYYYMMDD/region/service/request, SignedHeaders=…, Signature=…` with the
//! time in `X-Date`. The region exists only in the credential scope.

use imgflow_shared::Cloud;

use super::errors::{self, ApiError};
use crate::api::{
    AuthFailure, SignatureClaim, authorization_fields, field, parse_basic_iso8601,
    verify_signature, within_window,
};
use crate::http::ApiRequest;
use crate::world::{Caller, World};

const ALGORITHM: &str = "HMAC-SHA256";
const SCOPE_TERMINATOR: &str = "request";
/// The only service whose API the emulator serves.
pub const SERVICE: &str = "ecs";

/// A caller whose signature checked out, and the region their request is for.
#[derive(Clone, Debug)]
pub struct Authenticated {
    pub caller: Caller,
    pub region: String,
}

/// `AK/date/region/service/request`.
struct CredentialScope<'a> {
    access_key_id: &'a str,
    region: &'a str,
    service: &'a str,
}

impl<'a> CredentialScope<'a> {
    fn parse(credential: &'a str) -> Result<Self, ApiError> {
        let parts: Vec<&str> = credential.split('/').collect();
        let [access_key_id, date, region, service, terminator] = parts[..] else {
            return Err(errors::invalid_credential());
        };
        let date_is_valid = date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit());
        if terminator != SCOPE_TERMINATOR || !date_is_valid {
            return Err(errors::invalid_credential());
        }
        for (value, what) in [
            (access_key_id, "AccessKey"),
            (region, "region"),
            (service, "service"),
        ] {
            if value.is_empty() {
                return Err(errors::missing_request_info(what));
            }
        }
        Ok(Self {
            access_key_id,
            region,
            service,
        })
    }
}

/// The region and service a request's credential scope names, read without checking
/// anything, so that every answer (errors included) can carry them in `ResponseMetadata`.
pub fn scope_hint(request: &ApiRequest) -> (String, String) {
    let credential = request
        .header("authorization")
        .and_then(authorization_fields)
        .and_then(|(_, fields)| field(&fields, "Credential").map(str::to_owned))
        .unwrap_or_default();
    let mut parts = credential.split('/').skip(2);
    let region = parts.next().unwrap_or_default().to_owned();
    let service = parts.next().filter(|s| !s.is_empty()).unwrap_or(SERVICE);
    (region, service.to_owned())
}

/// Checks the request's signature as the gateway does, in the gateway's order: header
/// present and well formed, credential scope, `X-Date`, service, time window, security
/// token, access key, signature.
pub fn authenticate(world: &World, request: &ApiRequest) -> Result<Authenticated, ApiError> {
    let header = request
        .header("authorization")
        .ok_or_else(errors::missing_authentication_token)?;
    let (algorithm, fields) =
        authorization_fields(header).ok_or_else(errors::invalid_authorization)?;
    if algorithm != ALGORITHM {
        return Err(errors::invalid_authorization());
    }
    let credential = field(&fields, "Credential").ok_or_else(errors::invalid_authorization)?;
    let signed_list = field(&fields, "SignedHeaders").ok_or_else(errors::invalid_authorization)?;
    let signature = field(&fields, "Signature")
        .filter(|signature| !signature.is_empty())
        .ok_or_else(errors::missing_signature)?;
    let scope = CredentialScope::parse(credential)?;
    let x_date = request
        .header("x-date")
        .ok_or_else(|| errors::missing_request_info("X-Date"))?;
    let signed_at = parse_basic_iso8601(x_date).ok_or_else(errors::invalid_timestamp)?;
    if scope.service != SERVICE {
        return Err(errors::service_not_found(scope.service));
    }
    if !within_window(world, signed_at, world.limits.skew(Cloud::Volcengine)) {
        return Err(errors::invalid_timestamp());
    }
    let signed_headers: Vec<String> = signed_list
        .split(';')
        .filter(|name| !name.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if signed_headers.is_empty() {
        return Err(errors::invalid_authorization());
    }
    check_security_token(request, &signed_headers)?;
    let claim = SignatureClaim {
        access_key_id: scope.access_key_id,
        signed_headers: signed_headers.iter().map(String::as_str).collect(),
        signature,
        time: signed_at,
        region: scope.region,
        service: scope.service,
    };
    match verify_signature(world, Cloud::Volcengine, request, &claim) {
        Ok(caller) => Ok(Authenticated {
            caller,
            region: scope.region.to_owned(),
        }),
        Err(AuthFailure::UnknownKey) => Err(errors::invalid_access_key(scope.access_key_id)),
        Err(AuthFailure::Mismatch { .. } | AuthFailure::Malformed(_)) => {
            Err(errors::signature_does_not_match())
        }
    }
}

/// Temporary credentials send `X-Security-Token`; any value is accepted, but it must be
/// signed (the SDK always signs it), and the gateway checks it before the access key.
fn check_security_token(request: &ApiRequest, signed_headers: &[String]) -> Result<(), ApiError> {
    let Some(token) = request.header("x-security-token") else {
        return Ok(());
    };
    if token.trim().is_empty() {
        return Err(errors::invalid_secret_token("the security token is empty"));
    }
    if !signed_headers.iter().any(|name| name == "x-security-token") {
        return Err(errors::invalid_secret_token(
            "X-Security-Token is not covered by the signature",
        ));
    }
    Ok(())
}
