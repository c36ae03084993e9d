//! One full signature per cloud, on the same captured request that
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
    }
}

criterion_group!(benches, signers);
criterion_main!(benches);
