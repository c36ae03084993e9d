//! Every request the official SDKs sent to the capture server (tests/conformance/capture.py)
//! must be signed again here, byte for byte, and a change to any signed input must change the
//! signature.

use std::collections::BTreeMap;

use imgflow_shared::Cloud;
use imgflow_shared::sign_check::SignCheckInput;
use imgflow_shared::signing::{Credentials, HttpRequest, SigningParams, Timestamp};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vector {
    #[serde(flatten)]
    input: SignCheckInput,
    expected: Expected,
}

#[derive(Deserialize)]
struct Expected {
    authorization: String,
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
fn every_captured_authorization_is_reproduced_byte_for_byte() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (_, vector) in all_vectors() {
        count += 1;
        match vector.input.sign() {
            Ok(signature) if signature.authorization == vector.expected.authorization => {}
            Ok(signature) => failures.push(format!(
                "{}:\n  sdk:  {}\n  ours: {}\n  canonical request:\n{}",
                vector.input.id,
                vector.expected.authorization,
                signature.authorization,
                signature.canonical_request
            )),
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
