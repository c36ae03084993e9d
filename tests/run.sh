#!/usr/bin/env bash
# The project's whole test suite, with its own set-up. README.md and .ci/run both call this.
#  1. the official SDKs, at pinned versions, in a venv of their own (tests/conformance);
#  2. the committed signing vectors are exactly what those SDKs send today (re-captured);
#  3. freshly captured requests, with the real clock and random nonces, are re-signed by
#     the `sign-check` binary byte for byte;
#  4. the official SDKs, pointed at the cloud emulator, run exports and copies to completion;
#  5. formatting, clippy with warnings denied, and every Rust test, twice: the second time with
#     the tests' clock 400 days ahead (libfaketime), so a test that mixes a committed date with
#     the wall clock fails on the day it is written, not on the day the calendar reaches it;
#  6. infra/: cfn-lint on the SAM template, asl-validator on the state machine;
#  7. end to end: the state machine on a real ASL engine (moto), its tasks invoking the real
#     function binaries under `cargo lambda watch`, against the cloud emulator (tests/e2e).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export VENV="${VENV:-.venv-conformance}"
step() { printf '\n== %s\n' "$*"; }

step "official SDKs (pinned) in $VENV"
bash tests/conformance/setup-venv.sh

export VENV_E2E="${VENV_E2E:-.venv-e2e}"
step "end-to-end tools (cargo-lambda, moto, cfn-lint, asl-validator) in $VENV_E2E"
bash tests/e2e/setup-venv.sh

step "committed vectors match what the SDKs send"
"$VENV/bin/python" tests/conformance/capture.py --check

step "build sign-check and cloud-emulator"
# The release profile is sized for the Lambda bootstraps (opt-level "z", fat LTO, one codegen
# unit: slow to link); sign-check only needs to be fast, so CI builds it with the usual release
# settings, as before.
CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo build --locked --release --bin sign-check
# A debug build: the Rust tests below reuse it, and the emulator's speed does not matter here.
cargo build --locked --bin cloud-emulator

step "sign-check on requests captured just now"
"$VENV/bin/python" tests/conformance/check_fresh.py --sign-check target/release/sign-check

step "official SDKs against the cloud emulator"
"$VENV/bin/python" tests/emulator/sdk/sdk_check.py --emulator target/debug/cloud-emulator

step "cargo fmt"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked

step "cargo test with the clock 400 days ahead"
bash tests/shifted-clock.sh +400d cargo test --workspace --locked

step "infra: cfn-lint, asl-validator, sam validate --lint"
SAM="$PWD/${VENV_SAM:-.venv-sam}/bin/sam" SAM_CLI_TELEMETRY=0 bash infra/check.sh

step "end to end: state machine on moto's ASL engine, functions under cargo lambda watch"
# cargo-lambda runs zig as `python3 -m ziglang`: the e2e venv must come first on PATH.
PATH="$PWD/$VENV_E2E/bin:$PATH" "$VENV_E2E/bin/python" tests/e2e/run_e2e.py
