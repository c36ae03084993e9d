//! The API gateway's checks before IMS sees a request: the SDK-HMAC-SHA256 signature, the
//! `X-Sdk-Date` window, and the project in `X-Project-Id`, which names account and region.
//! Every failure is `APIGW.0301` (HTTP 401) with the gateway's sub-reason.

use imgflow_shared::Cloud;

use super::errors::{GatewayError, unauthorized};
use crate::api::{
    AuthFailure, SignatureClaim, authorization_fields, field, parse_basic_iso8601,
    verify_signature, within_window,
};
use crate::http::ApiRequest;
use crate::world::World;

const ALGORITHM: &str = "SDK-HMAC-SHA256";
const SECURITY_TOKEN: &str = "x-security-token";

/// Who calls, and where: the project picks the account and the region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub account: String,
    pub region: String,
    pub project_id: String,
}

pub fn authenticate(world: &World, request: &ApiRequest) -> Result<Scope, GatewayError> {
    let header = request
        .header("authorization")
        .ok_or_else(|| unauthorized("Authorization header is missing"))?;
    let malformed = || unauthorized("Authorization header is malformed");
    let (algorithm, fields) = authorization_fields(header).ok_or_else(malformed)?;
    if algorithm != ALGORITHM {
        return Err(malformed());
    }
    let non_empty = |name: &str| field(&fields, name).filter(|value| !value.is_empty());
    let (Some(access_key_id), Some(signed), Some(signature)) = (
        non_empty("Access"),
        non_empty("SignedHeaders"),
        non_empty("Signature"),
    ) else {
        return Err(malformed());
    };
    let signed_headers: Vec<&str> = signed.split(';').filter(|h| !h.is_empty()).collect();
    let time = request
        .header("x-sdk-date")
        .and_then(parse_basic_iso8601)
        .ok_or_else(|| unauthorized("X-Sdk-Date is missing or malformed"))?;
    if !within_window(world, time, world.limits.skew(Cloud::Huawei)) {
        return Err(unauthorized("the signature has expired"));
    }
    // The SDK signs every header; a token that travels unsigned could be swapped in transit.
    let token_unsigned = request.header(SECURITY_TOKEN).is_some()
        && !signed_headers
            .iter()
            .any(|name| name.eq_ignore_ascii_case(SECURITY_TOKEN));
    if token_unsigned {
        return Err(unauthorized("verify aksk signature fail"));
    }
    // The signer takes a declared body hash on trust; the gateway compares it with the body.
    let declared = request.header("x-sdk-content-sha256").map(str::trim);
    let body_hash_wrong = declared.is_some_and(|hash| {
        hash != "UNSIGNED-PAYLOAD"
            && !request.body.is_empty()
            && !hash.eq_ignore_ascii_case(&imgflow_shared::signing::sha256_hex(&request.body))
    });
    if body_hash_wrong {
        return Err(unauthorized("verify aksk signature fail"));
    }
    let claim = SignatureClaim {
        access_key_id,
        signed_headers,
        signature,
        time,
        region: "",
        service: "",
    };
    let caller =
        verify_signature(world, Cloud::Huawei, request, &claim).map_err(
            |failure| match failure {
                AuthFailure::UnknownKey => unauthorized("ak not found"),
                AuthFailure::Mismatch { .. } | AuthFailure::Malformed(_) => {
                    unauthorized("verify aksk signature fail")
                }
            },
        )?;
    let project_id = request
        .header("x-project-id")
        .map(str::trim)
        .filter(|project| !project.is_empty())
        .ok_or_else(|| unauthorized("X-Project-Id is missing"))?;
    let (account, region) = world
        .huawei_project(project_id)
        .filter(|(account, _)| *account == caller.account)
        .ok_or_else(|| unauthorized("the project does not exist or does not belong to the ak"))?;
    Ok(Scope {
        account: account.to_owned(),
        region: region.to_owned(),
        project_id: project_id.to_owned(),
    })
}
