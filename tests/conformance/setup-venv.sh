#!/usr/bin/env bash
# Create the Python venv with the pinned official SDKs used by tests/conformance.
#
#   VENV=path PYTHON=python3 bash tests/conformance/setup-venv.sh
#
# VENV defaults to .venv-conformance, relative to the repository root unless absolute.
# Idempotent: a stamp file in the venv holds the hash of requirements.txt, and the
# install is skipped while it matches.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${VENV:-.venv-conformance}"
[[ "$venv" == /* ]] || venv="$repo_root/$venv"
requirements="$repo_root/tests/conformance/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"
echo "$want" > "$stamp"
echo "conformance venv ready: $venv" >&2
