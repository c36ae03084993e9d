//! The `sign-check` binary as a user runs it: JSON lines in, one JSON line out per input.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

fn run_sign_check(input: &str) -> (Vec<Value>, Option<i32>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sign-check"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sign-check starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("input is written");
    let output = child.wait_with_output().expect("sign-check ends");
    let lines = String::from_utf8(output.stdout)
        .expect("UTF-8 output")
        .lines()
        .map(|line| serde_json::from_str(line).expect("every answer line is JSON"))
        .collect();
    (lines, output.status.code())
}

fn first_vector(cloud: &str) -> String {
    let path = format!(
        "{}/../tests/conformance/vectors/{cloud}.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("vectors are committed");
    text.lines().next().expect("at least one vector").to_owned()
}

#[test]
fn answers_each_line_with_the_sdk_header_and_the_intermediate_strings() {
    let lines: Vec<String> = ["tencent", "alibaba", "volcengine", "huawei"]
        .iter()
        .map(|c| first_vector(c))
        .collect();
    let (answers, status) = run_sign_check(&(lines.join("\n") + "\n"));
    assert_eq!(status, Some(0));
    assert_eq!(answers.len(), 4);
    for (line, answer) in lines.iter().zip(&answers) {
        let vector: Value = serde_json::from_str(line).expect("vector is JSON");
        assert_eq!(answer["id"], vector["id"]);
        assert_eq!(answer["authorization"], vector["expected"]["authorization"]);
        assert_eq!(
            answer["canonical_request"],
            vector["expected"]["canonical_request"]
        );
        assert_eq!(
            answer["string_to_sign"],
            vector["expected"]["string_to_sign"]
        );
        let canonical = answer["canonical_request"]
            .as_str()
            .expect("canonical request");
        assert!(
            canonical.starts_with(vector["method"].as_str().expect("method")),
            "{canonical}"
        );
        let to_sign = answer["string_to_sign"].as_str().expect("string to sign");
        let algorithm = vector["expected"]["authorization"]
            .as_str()
            .and_then(|auth| auth.split(' ').next())
            .expect("algorithm");
        assert!(to_sign.starts_with(algorithm), "{to_sign}");
    }
}

#[test]
fn a_malformed_line_gets_an_error_line_and_the_checker_goes_on() {
    let good = first_vector("huawei");
    let missing_field = r#"{"id":"no-method","provider":"tencent","service":"cvm","region":"r","credentials":{"ak":"a","sk":"s"},"timestamp":1,"host":"h","path":"/","signed_headers":"host"}"#;
    let input = format!("{good}\nnot json at all\n\n{missing_field}\n{good}\n");
    let (answers, status) = run_sign_check(&input);
    assert_eq!(status, Some(1), "a failed line makes the exit status 1");
    assert_eq!(
        answers.len(),
        4,
        "blank lines are skipped, every other line answered"
    );
    assert!(answers[0]["authorization"].is_string());
    assert_eq!(answers[1]["line"], 2);
    assert!(
        answers[1]["error"]
            .as_str()
            .expect("error text")
            .contains("invalid input")
    );
    assert_eq!(answers[2]["id"], "no-method");
    assert!(
        answers[2]["error"]
            .as_str()
            .expect("error text")
            .contains("missing field `method`")
    );
    assert_eq!(answers[3]["authorization"], answers[0]["authorization"]);
}
