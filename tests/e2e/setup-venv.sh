#!/usr/bin/env bash
# Set up the tools of the local end-to-end harness (tests/e2e):
#   1. a Python venv with the pins of tests/e2e/requirements.txt (cargo-lambda, zig, moto, cfn-lint);
#   2. tests/e2e/node_modules from package-lock.json (asl-validator), and the SAM CLI in
#      .venv-sam (or $VENV_SAM; requirements-sam.txt);
#   3. the aarch64-unknown-linux-gnu rust-std, for `cargo lambda build --arm64` (a warning if it fails).
#
#   VENV_E2E=path PYTHON=python3 bash tests/e2e/setup-venv.sh
#
# VENV_E2E defaults to .venv-e2e, relative to the repository root unless absolute.
# Idempotent and quick when up to date: stamps hold the hashes of requirements.txt and
# package-lock.json, and each install is skipped while its stamp matches.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
# A venv at $1 (relative to the repository root unless absolute) with the pins of $2,
# rebuilt only when the requirements file's hash differs from the one stamped in the venv.
ensure_venv() {
  local venv="$1" requirements="$2" want
  [[ "$venv" == /* ]] || venv="$repo_root/$venv"
  want="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [[ ! -x "$venv/bin/python" || ! -f "$venv/.requirements.sha256" ||
        "$(cat "$venv/.requirements.sha256")" != "$want" ]]; then
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"
    echo "$want" > "$venv/.requirements.sha256"
    echo "venv ready: $venv ($(basename "$requirements"))" >&2
  fi
}

# 1. Python venvs: the e2e tools, and the SAM CLI on its own (its pins clash with moto's)
ensure_venv "${VENV_E2E:-.venv-e2e}" "$here/requirements.txt"
ensure_venv "${VENV_SAM:-.venv-sam}" "$here/requirements-sam.txt"

# 2. Node tools
lock="$here/package-lock.json"
node_stamp="$here/node_modules/.package-lock.sha256"
want="$(cat "$here/package.json" "$lock" | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$node_stamp" || "$(cat "$node_stamp")" != "$want" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
  echo "$want" > "$node_stamp"
  echo "e2e node_modules ready: $here/node_modules" >&2
fi

# 3. rust-std for arm64 builds (rustup reaches its dist server here; elsewhere it may not)
if command -v rustup >/dev/null; then
  if ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    rustup target add aarch64-unknown-linux-gnu >&2 ||
      echo "warning: rustup target add aarch64-unknown-linux-gnu failed; arm64 builds will not work" >&2
  fi
else
  echo "warning: rustup not found; cannot add aarch64-unknown-linux-gnu" >&2
fi
