//! Every request the official SDKs sent to the capture server (tests/conformance/capture.py)
//! must be signed again here, byte for byte, and a change to any signed input must change the
//! signature. Where the vector carries the SDK's own canonical request and string to sign,
//! they are compared first, so a failure names the first stage that differs.

use std::collections::BTreeMap;

use imgflow_shared::Cloud;
use imgflow_shared::sign_check::SignCheckInput;
use imgflow_shared::signing::{Credentials, HttpRequest, Signature, SigningParams, Timestamp};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vector {
    #[serde(flatten)]
    input: SignCheckInput,
    expected: Expected,
}

/// What the SDK built: the two intermediate strings (absent where the SDK does not expose
/// them, see tests/conformance/README.md) and the header it sent.
#[derive(Deserialize)]
struct Expected {
    #[serde(default)]
    canonical_request: Option<String>,
    #[serde(default)]
    string_to_sign: Option<String>,
    authorization: String,
}

/// The first stage at which `ours` differs from what the SDK built, with both texts; `None`
/// when every stage the vector carries is equal.
fn first_difference(sdk: &Expected, ours: &Signature) -> Option<String> {
    let stages = [
        (
            "canonical request",
            sdk.canonical_request.as_deref(),
            ours.canonical_request.as_str(),
        ),
        (
            "string to sign",
            sdk.string_to_sign.as_deref(),
            ours.string_to_sign.as_str(),
        ),
        (
            "Authorization",
            Some(sdk.authorization.as_str()),
            ours.authorization.as_str(),
        ),
    ];
    stages.into_iter().find_map(|(stage, sdk, ours)| match sdk {
        Some(sdk) if sdk != ours => Some(describe_difference(stage, sdk, ours)),
        _ => None,
    })
}

fn describe_difference(stage: &str, sdk: &str, ours: &str) -> String {
    let line = sdk
        .split('\n')
        .zip(ours.split('\n'))
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| sdk.split('\n').count().min(ours.split('\n').count()))
        + 1;
    let indent = |text: &str| format!("    {}", text.replace('\n', "\n    "));
    format!(
        "{stage} differs (first at line {line}):\n  sdk:\n{}\n  ours:\n{}",
        indent(sdk),
        indent(ours)
    )
}

fn vectors(cloud: Cloud) -> Vec<Vector> {
    let path = format!(
        "{}/../tests/conformance/vectors/{}.jsonl",
        env!("CARGO_MANIFEST_DIR"),
        cloud.name()
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    text.lines()
        .enumerate()
        .map(|(index, line)| {
            serde_json::from_str(line).unwrap_or_else(|err| panic!("{path}:{}: {err}", index + 1))
        })
        .collect()
}

fn all_vectors() -> impl Iterator<Item = (Cloud, Vector)> {
    Cloud::ALL
        .into_iter()
        .flat_map(|cloud| vectors(cloud).into_iter().map(move |v| (cloud, v)))
}

#[test]
fn each_cloud_has_at_least_twelve_captured_vectors() {
    for cloud in Cloud::ALL {
        let vectors = vectors(cloud);
        assert!(
            vectors.len() >= 12,
            "{cloud}: only {} vectors",
            vectors.len()
        );
        assert!(
            vectors.iter().all(|v| v.input.provider == cloud),
            "{cloud}: foreign vector"
        );
        assert!(
            vectors.iter().any(|v| v.input.credentials.token.is_some()),
            "{cloud}: no vector with a security token"
        );
    }
}

#[test]
fn every_vector_carries_the_sdk_canonical_request_and_string_to_sign() {
    for cloud in Cloud::ALL {
        let bare: Vec<String> = vectors(cloud)
            .into_iter()
            .filter(|v| {
                v.expected.canonical_request.is_none() || v.expected.string_to_sign.is_none()
            })
            .map(|v| v.input.id)
            .collect();
        assert!(
            bare.is_empty(),
            "{cloud}: no canonical request or string to sign from the SDK in {bare:?}"
        );
    }
}

#[test]
fn every_captured_authorization_is_reproduced_byte_for_byte() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (_, vector) in all_vectors() {
        count += 1;
        match vector.input.sign() {
            Ok(signature) => {
                if let Some(difference) = first_difference(&vector.expected, &signature) {
                    failures.push(format!("{}: {difference}", vector.input.id));
                }
            }
            Err(err) => failures.push(format!("{}: {err}", vector.input.id)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} vectors differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_difference_is_reported_at_the_first_stage_that_has_it() {
    let (_, vector) = all_vectors().next().expect("at least one vector");
    let signature = vector.input.sign().expect("signs");
    assert_eq!(first_difference(&vector.expected, &signature), None);
    let broken = |edit: fn(&mut Signature)| {
        let mut broken = signature.clone();
        edit(&mut broken);
        first_difference(&vector.expected, &broken).expect("differs")
    };
    let canonical = broken(|s| {
        s.canonical_request = s.canonical_request.replacen('\n', "\nX", 2);
        s.string_to_sign.push('0');
        s.authorization.push('0');
    });
    assert!(
        canonical.starts_with("canonical request differs (first at line 2):"),
        "{canonical}"
    );
    let to_sign = broken(|s| {
        s.string_to_sign.push('0');
        s.authorization.push('0');
    });
    assert!(to_sign.starts_with("string to sign differs"), "{to_sign}");
    let header = broken(|s| s.authorization.push('0'));
    assert!(header.starts_with("Authorization differs"), "{header}");
}

#[test]
fn a_wrong_secret_changes_every_signature() {
    for (_, mut vector) in all_vectors() {
        vector.input.credentials.sk.push('x');
        let signature = vector.input.sign().expect("still signable");
        assert_ne!(
            signature.authorization, vector.expected.authorization,
            "{}",
            vector.input.id
        );
    }
}

#[test]
fn tampering_with_any_signed_header_changes_the_signature() {
    for (_, vector) in all_vectors() {
        for signed in vector.input.signed_headers.split(';') {
            let mut tampered = vector.input.clone();
            let mut touched = false;
            for (name, value) in &mut tampered.headers {
                if name.eq_ignore_ascii_case(signed) {
                    value.push('0');
                    touched = true;
                }
            }
            if !touched {
                assert_eq!(
                    signed, "host",
                    "{}: `{signed}` is signed but not sent",
                    vector.input.id
                );
                tampered.host.push('0');
            }
            let signature = tampered.sign().expect("still signable");
            assert_ne!(
                signature.authorization, vector.expected.authorization,
                "{}: changing `{signed}` went unnoticed",
                vector.input.id
            );
        }
    }
}

#[test]
fn tampering_with_the_query_body_or_clock_changes_the_signature() {
    for (_, vector) in all_vectors() {
        let input = &vector.input;
        let mut later = input.clone();
        later.timestamp += 1;
        let mut changed = vec![later];
        if !input.query.is_empty() {
            let mut query = input.query.clone();
            query.push_str("&extra=1");
            changed.push(SignCheckInput {
                query,
                ..input.clone()
            });
        }
        let body_is_signed = !input.body.is_empty()
            && !input.headers.iter().any(|(_, v)| v == "UNSIGNED-PAYLOAD")
            && input.method != "GET";
        if body_is_signed {
            let mut body = input.body.clone();
            body.push(' ');
            changed.push(SignCheckInput {
                body,
                ..input.clone()
            });
        }
        for variant in changed {
            let signature = variant.sign().expect("still signable");
            if variant.timestamp != input.timestamp && input.provider == Cloud::Alibaba {
                // Alibaba signs no clock of its own: the time is only the x-acs-date header.
                continue;
            }
            assert_ne!(
                signature.authorization, vector.expected.authorization,
                "{}",
                input.id
            );
        }
    }
}

/// The headers each signer's `prepare` writes itself; the rest of the SDK's headers are what
/// the caller (the API client) would have set.
fn headers_prepare_adds(cloud: Cloud) -> &'static [&'static str] {
    match cloud {
        Cloud::Tencent => &["x-tc-timestamp", "x-tc-token"],
        Cloud::Alibaba => &[
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-content-sha256",
            "x-acs-security-token",
        ],
        Cloud::Volcengine => &["x-date", "x-content-sha256", "x-security-token"],
        Cloud::Huawei => &["x-sdk-date", "x-security-token", "x-sdk-content-sha256"],
    }
}

fn lowercase_headers(headers: &[(String, String)]) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
        .collect()
}

/// Whether the SDK picks the headers it signs by a rule (so the request may carry headers it
/// leaves unsigned) rather than signing every header it set. For the latter, the unsigned
/// headers on the wire were added by the HTTP library after signing.
fn signs_by_rule(cloud: Cloud) -> bool {
    matches!(cloud, Cloud::Tencent | Cloud::Volcengine)
}

#[test]
fn prepare_adds_the_same_headers_and_signature_as_the_sdk() {
    for (cloud, vector) in all_vectors() {
        let input = &vector.input;
        let added = headers_prepare_adds(cloud);
        let signed: Vec<&str> = input.signed_headers.split(';').collect();
        let mut request = input.request();
        request.headers.retain(|(name, _)| {
            let name = name.to_ascii_lowercase();
            !added.contains(&name.as_str())
                && (signs_by_rule(cloud) || signed.contains(&name.as_str()))
        });
        let caller_set: Vec<String> = request
            .headers
            .iter()
            .map(|(name, _)| name.to_ascii_lowercase())
            .collect();
        let nonce = input
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("x-acs-signature-nonce"))
            .map_or("", |(_, value)| value.as_str());
        let credentials: Credentials = input.credentials.to_credentials();
        let params = SigningParams {
            credentials: &credentials,
            time: Timestamp::from_unix_seconds(input.timestamp),
            region: &input.region,
            service: &input.service,
            nonce,
        };
        let signature = cloud.prepare(&mut request, &params).expect("prepares");
        if let Some(difference) = first_difference(&vector.expected, &signature) {
            panic!("{}: {difference}", input.id);
        }
        assert_eq!(
            signature.authorization, vector.expected.authorization,
            "{}",
            input.id
        );

        let HttpRequest { headers, .. } = request;
        let sdk_headers: Vec<(String, String)> = input
            .headers
            .iter()
            .filter(|(name, _)| {
                let name = name.to_ascii_lowercase();
                caller_set.contains(&name)
                    || added.contains(&name.as_str())
                    || name == "authorization"
            })
            .cloned()
            .collect();
        assert_eq!(
            lowercase_headers(&headers),
            lowercase_headers(&sdk_headers),
            "{}",
            input.id
        );
    }
}
