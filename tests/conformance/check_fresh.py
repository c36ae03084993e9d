#!/usr/bin/env python3
"""Re-sign requests the official SDKs send right now with the `sign-check` binary.

The committed vectors pin the clock and nonces so they can be diffed; this check does the
opposite: `capture.py --fresh` makes every SDK send its requests with a clock near the real
one and random nonces, so no test, and no table in the binary, has seen them before. Every
line goes through `sign-check` unchanged (the expected header is an extra field it ignores)
and the header it computes must equal the one the SDK sent, byte for byte. The SDK's
canonical request and string to sign (capture.py records them) are compared first, so a
failure names the first stage that differs.

Usage: python check_fresh.py --sign-check target/release/sign-check
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


STAGES = ("canonical_request", "string_to_sign", "authorization")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sign-check", required=True, type=Path, help="path to the sign-check binary")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, str(HERE / "capture.py"), "--fresh", "--out", out], check=True)
        lines = [line for path in sorted(Path(out).glob("*.jsonl"))
                 for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    answer = subprocess.run([str(args.sign_check)], input="\n".join(lines) + "\n",
                            capture_output=True, text=True, encoding="utf-8")
    answers = answer.stdout.splitlines()
    if len(answers) != len(lines):
        print(f"sign-check answered {len(answers)} lines for {len(lines)}: {answer.stderr}", file=sys.stderr)
        return 1

    failed = 0
    for line, reply in zip(lines, answers):
        vector, result = json.loads(line), json.loads(reply)
        # The SDK's stages in signing order: the first that differs is the one to report.
        stage = next((stage for stage in STAGES
                      if stage in vector["expected"] and result.get(stage) != vector["expected"][stage]),
                     None)
        if result.get("id") != vector["id"] or stage is not None:
            failed += 1
            stage = stage or "authorization"
            print(f"FAIL {vector['id']}: {stage} differs\n  sdk:\n{vector['expected'][stage]}\n"
                  f"  sign-check: {result}", file=sys.stderr)
    print(f"fresh SDK requests re-signed by sign-check: {len(lines) - failed} passed, {failed} failed")
    return 1 if failed or answer.returncode != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
