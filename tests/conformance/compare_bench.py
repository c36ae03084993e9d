#!/usr/bin/env python3
"""Our signers next to the official SDKs' signing functions, on the same requests, in one run.

Runs the criterion benchmark `shared/benches/signers.rs` (one full signature per cloud on the
first captured vector with a security token) and `bench_sdk.py` on the same vectors, then
prints per cloud: our time (with the day's derived key remembered, and with a new key each
time), the SDK's time, and the ratios.

Usage (from the repository root, with the conformance venv's python):
    .venv-conformance/bin/python tests/conformance/compare_bench.py
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
# criterion's bencher format: "test sign/<id> ... bench:        1234 ns/iter (+/- 56)"
BENCHER_LINE = re.compile(r"^test (sign|sign-new-key)/(\S+) \.\.\. bench:\s+([\d,]+) ns/iter")


def rust_timings() -> tuple:
    run = subprocess.run(
        ["cargo", "bench", "-q", "-p", "imgflow-shared", "--bench", "signers", "--",
         "--output-format", "bencher"],
        cwd=ROOT, check=True, capture_output=True, text=True)
    timings = {"sign": {}, "sign-new-key": {}}
    for line in run.stdout.splitlines():
        match = BENCHER_LINE.match(line.strip())
        if match:
            timings[match.group(1)][match.group(2)] = int(match.group(3).replace(",", "")) / 1000.0
    if not timings["sign"]:
        sys.exit(f"no benchmark lines in cargo bench output:\n{run.stdout}\n{run.stderr}")
    return timings["sign"], timings["sign-new-key"]


def sdk_timings(ids) -> dict:
    run = subprocess.run([sys.executable, str(HERE / "bench_sdk.py"), "--ids", ",".join(ids)],
                         check=True, capture_output=True, text=True)
    return {row["id"]: row["sdk_us_per_sign"] for row in map(json.loads, run.stdout.splitlines())}


def main() -> int:
    ours, new_key = rust_timings()
    sdk = sdk_timings(sorted(ours))
    print(f"{'vector':<44} {'imgflow µs':>10} {'new-key µs':>10} {'SDK µs':>8} {'SDK/imgflow':>11} {'SDK/new-key':>11}")
    for vector_id in sorted(ours):
        cold = new_key.get(vector_id, float("nan"))
        print(f"{vector_id:<44} {ours[vector_id]:>10.2f} {cold:>10.2f} {sdk[vector_id]:>8.2f} "
              f"{sdk[vector_id] / ours[vector_id]:>10.1f}x {sdk[vector_id] / cold:>10.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
