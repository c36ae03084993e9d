//! One full signature per cloud (`sign/…`, and `sign-new-key/…` where the day changes every
//! time, so no derived key is reused), on the same captured request that
//! `tests/conformance/bench_sdk.py` times the official SDK on (the first vector of each
//! cloud that carries a security token). `tests/conformance/compare_bench.py` runs both
//! and prints the ratios.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use imgflow_shared::Cloud;
use imgflow_shared::sign_check::SignCheckInput;
use imgflow_shared::signing::{SigningParams, Timestamp, parse_signed_headers};

fn first_vector_with_token(cloud: Cloud) -> SignCheckInput {
    let path = format!(
        "{}/../tests/conformance/vectors/{}.jsonl",
        env!("CARGO_MANIFEST_DIR"),
        cloud.name()
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    text.lines()
        .filter_map(|line| serde_json::from_str::<SignCheckInput>(line).ok())
        .find(|input| input.credentials.token.is_some())
        .unwrap_or_else(|| panic!("{path} has no vector with a security token"))
}

fn signers(c: &mut Criterion) {
    for cloud in Cloud::ALL {
        let input = first_vector_with_token(cloud);
        let request = input.request();
        let signed_headers = parse_signed_headers(&input.signed_headers).expect("valid list");
        let credentials = input.credentials.to_credentials();
        let params = SigningParams {
            credentials: &credentials,
            time: Timestamp::from_unix_seconds(input.timestamp),
            region: &input.region,
            service: &input.service,
            nonce: "",
        };
        c.bench_function(&format!("sign/{}", input.id), |b| {
            b.iter(|| cloud.sign(black_box(&request), black_box(&signed_headers), &params))
        });
        // Each signature on another day, so Tencent's and Volcengine's derived key is never
        // the remembered one: the cost of a process's first signature of the day.
        let mut day = 0u64;
        c.bench_function(&format!("sign-new-key/{}", input.id), |b| {
            b.iter(|| {
                day = (day + 1) % 10_000;
                let params = SigningParams {
                    time: Timestamp::from_unix_seconds(input.timestamp + day * 86_400),
                    ..params
                };
                cloud.sign(black_box(&request), black_box(&signed_headers), &params)
            })
        });
    }
}

criterion_group!(benches, signers);
criterion_main!(benches);
