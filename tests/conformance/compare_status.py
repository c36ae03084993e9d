#!/usr/bin/env python3
"""The project's command line next to the official SDKs on one status check, process against
process, against the cloud emulator, in one run.

For each cloud, one export is started on the emulator (`imgflow export --json`), then, turn
about, RUNS times each:
  - imgflow:  `imgflow status --tasks TASKS --endpoint URL --json` (the release binary;
    process start to its answer, which for Tencent also HEADs the export's objects and for
    Alibaba adds DescribeTaskAttribute);
  - SDK:      `python sdk_status.py CLOUD URL REGION ID` with this interpreter (the
    conformance venv's): imports the cloud's official SDK and makes the one status call
    (Tencent DescribeImages, Alibaba and Volcengine DescribeTasks, Huawei ShowJobProgress).
Wall time is from just before the spawn to the child's exit; peak memory is the child's
maximum resident set (os.wait4's ru_maxrss). Prints the medians and the ratios SDK/imgflow.

Usage (from the repository root):
    .venv-conformance/bin/python tests/conformance/compare_status.py [--runs 10]
        [--imgflow target/release/imgflow] [--emulator target/debug/cloud-emulator] [--no-build]

Without --no-build it first runs `cargo build --release -p imgflow --bin imgflow` and
`cargo build --bin cloud-emulator`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CATALOG = json.loads((ROOT / "tests/emulator/default-catalog.json").read_text())
AK = CATALOG["accounts"][0]["credentials"][0]["ak"]
SK = CATALOG["accounts"][0]["credentials"][0]["sk"]
PROJECTS = CATALOG["accounts"][0]["huawei_projects"]

EXPORTS = {
    "tencent": {"cloud": "tencent", "region": "ap-guangzhou", "bucket": "imgflow-backup-1250000000",
                "image_ids": ["img-web00001"], "format": "QCOW2", "file_name_prefixes": ["bench"]},
    "alibaba": {"cloud": "alibaba", "region": "cn-hangzhou", "image_id": "m-bp1web000000000000001",
                "bucket": "imgflow-oss-backup", "prefix": "bench", "format": "qcow2"},
    "volcengine": {"cloud": "volcengine", "region": "cn-beijing", "image_id": "image-ycweb000000000000001",
                   "bucket": "imgflow-tos-backup", "prefix": "bench"},
    "huawei": {"cloud": "huawei", "region": "cn-north-4", "image_id": "4d0ab5e2-3114-578f-81d7-2d843f36e39b",
               "bucket": "imgflow-obs-backup", "object_key": "bench/web.qcow2", "file_format": "qcow2"},
}


def environment() -> dict:
    """Credentials of the emulator's default account for both sides; no proxies."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    for name in ("TENCENTCLOUD_SECRET_ID", "ALIBABA_CLOUD_ACCESS_KEY_ID", "VOLCENGINE_ACCESS_KEY",
                 "HUAWEICLOUD_SDK_AK"):
        env[name] = AK
    for name in ("TENCENTCLOUD_SECRET_KEY", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "VOLCENGINE_SECRET_KEY",
                 "HUAWEICLOUD_SDK_SK"):
        env[name] = SK
    env["HUAWEICLOUD_PROJECT_IDS"] = ",".join(f"{region}={project}" for region, project in PROJECTS.items())
    env["IMGFLOW_BENCH_AK"], env["IMGFLOW_BENCH_SK"] = AK, SK
    return env


def measure(argv: list, env: dict) -> tuple:
    """(wall seconds, peak RSS in MiB, stdout) of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    out, err = child.stdout.read(), child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"{argv} exited {child.returncode}:\n{out.decode()}\n{err.decode()}")
    return wall, usage.ru_maxrss / 1024.0, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--imgflow", type=Path, default=ROOT / "target/release/imgflow")
    parser.add_argument("--emulator", type=Path, default=ROOT / "target/debug/cloud-emulator")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "-q", "--release", "-p", "imgflow", "--bin", "imgflow"], cwd=ROOT, check=True)
        subprocess.run(["cargo", "build", "-q", "--bin", "cloud-emulator"], cwd=ROOT, check=True)
    env = environment()
    emulator = subprocess.Popen([str(args.emulator)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        base_url = emulator.stdout.readline().strip()
        if not base_url.startswith("http://"):
            sys.exit(f"the emulator printed {base_url!r} instead of its URL")
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            for cloud, request in EXPORTS.items():
                request_file = Path(tmp) / f"{cloud}-request.json"
                request_file.write_text(json.dumps(request))
                _, _, started = measure([str(args.imgflow), "export", "--request", str(request_file),
                                         "--endpoint", base_url, "--json"], env)
                tasks_file = Path(tmp) / f"{cloud}-tasks.json"
                tasks_file.write_bytes(started)
                task = json.loads(started)["tasks"][0]
                ident = task["image_id"] if cloud == "tencent" else task["task_id"]
                ours_argv = [str(args.imgflow), "status", "--tasks", str(tasks_file), "--endpoint", base_url, "--json"]
                sdk_argv = [sys.executable, str(HERE / "sdk_status.py"), cloud, base_url, task["region"], ident]
                # One of each first, outside the figures (page cache, the emulator's first answers).
                measure(ours_argv, env)
                measure(sdk_argv, env)
                ours, sdk = [], []
                for _ in range(args.runs):
                    ours.append(measure(ours_argv, env))
                    sdk.append(measure(sdk_argv, env))
                rows.append((cloud, statistics.median(w for w, _, _ in ours), max(m for _, m, _ in ours),
                             statistics.median(w for w, _, _ in sdk), max(m for _, m, _ in sdk)))
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    print(f"median of {args.runs} runs each; peak RSS is the largest of the runs")
    print(f"{'cloud':<11} {'imgflow ms':>10} {'SDK ms':>8} {'time SDK/imgflow':>16} "
          f"{'imgflow MiB':>11} {'SDK MiB':>8} {'memory SDK/imgflow':>18}")
    for cloud, ours_wall, ours_rss, sdk_wall, sdk_rss in rows:
        print(f"{cloud:<11} {ours_wall * 1000:>10.1f} {sdk_wall * 1000:>8.1f} {sdk_wall / ours_wall:>15.1f}x "
              f"{ours_rss:>11.1f} {sdk_rss:>8.1f} {sdk_rss / ours_rss:>17.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
