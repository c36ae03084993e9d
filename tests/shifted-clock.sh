#!/usr/bin/env bash
# Runs a cargo command with every program it runs (test binaries and what they spawn, such as
# the cloud emulator) seeing the wall clock moved by OFFSET (libfaketime's form: +400d, -30d,
# +2y). Cargo and rustc themselves keep the real clock, so nothing is rebuilt.
#
#   bash tests/shifted-clock.sh +400d cargo test --workspace --locked
#
# Only the wall clock moves (FAKETIME_DONT_FAKE_MONOTONIC): timeouts, sleeps and tokio timers
# run at their real pace. Doc tests do not go through the runner and keep the real clock.
# The Python steps (SDK checks, end to end) cannot run under it: libfaketime 0.9.10 makes
# Python's time.sleep fail with EINVAL (clock_nanosleep), so they are not shifted.
set -euo pipefail
offset="${1:?usage: shifted-clock.sh OFFSET COMMAND...}"
shift

if ! command -v faketime >/dev/null; then
  echo "faketime is missing: apt-get install faketime (Debian package), or run .ci/run" >&2
  exit 1
fi
export FAKETIME_DONT_FAKE_MONOTONIC=1

# faketime must really move the clock (a broken preload would make the run prove nothing).
real_now=$(date +%s)
shifted_now=$(faketime -f "$offset" date +%s)
if [[ $((shifted_now - real_now)) -lt 86400 && $((real_now - shifted_now)) -lt 86400 ]]; then
  echo "faketime did not move the clock by $offset (real $real_now, shifted $shifted_now)" >&2
  exit 1
fi
echo "clock for test programs: $(faketime -f "$offset" date -u +%FT%TZ) (real: $(date -u +%FT%TZ))" >&2

host=$(rustc -vV | sed -n 's/^host: //p')
runner_var="CARGO_TARGET_$(echo "$host" | tr 'a-z-' 'A-Z_')_RUNNER"
export "$runner_var"="faketime -f $offset"
exec "$@"
