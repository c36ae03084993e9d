#!/usr/bin/env python3
"""Scale benchmark (issue 15): one export job of up to 10,000 tasks through the real state
machine (infra/statemachine/imgflow.asl.json on moto's engine: Validate plans, a Distributed Map
runs the chunks as children, Summarize adds them up), the real function binaries under
`cargo lambda watch` and the cloud emulator. Not a test: it prints figures.

    .venv-e2e/bin/python tests/e2e/scale_bench.py [--tasks 10000] [--chunks-at-once 16]

The job is a few lines of JSON: Tencent, Alibaba and Volcengine images are named by selector
(a tag per hundred images, `max_images` 100), Huawei's (no listing, so no selectors) by id, 4%
of the job (400 of 10,000). The emulator keeps the clouds' limit of 5 exports running at once
per account (--running-exports): a selector request of 100 images starts 5 and queues 95, which
the chunk's checks start as room frees up (README "Concurrency limits: queued starts"). Its
request rates stay the clouds' own; both are checked (the emulator refuses what would pass
either, and its stats show the peaks).

Prints: wall time; Lambda invocations, state transitions and cloud API calls per task; the peak
calls per second per cloud action against its limit; the largest state (input or output of any
state) and the largest history of any execution (parent or child); the AWS cost per 1,000 tasks
from transitions, Lambda requests and GB-seconds (256 MB arm64) and the S3 PUTs, at list prices
(us-east-1). Lambda durations here are debug builds under `cargo lambda watch` on a shared
2-core machine: an upper bound of what AWS would bill.
"""

import argparse
import collections
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import run_e2e  # noqa: E402
from run_e2e import FUNCTIONS, JOBS_BUCKET, Stack, emulator_call  # noqa: E402

PLACES = {"tencent": ("ap-guangzhou", "imgflow-backup-1250000000"),
          "alibaba": ("cn-hangzhou", "imgflow-oss-backup"),
          "volcengine": ("cn-beijing", "imgflow-tos-backup"),
          "huawei": ("cn-north-4", "imgflow-obs-backup")}
RATES = {"tencent:ExportImages": 20, "tencent:SyncImages": 10, "tencent:DescribeImages": 40}
DEFAULT_RATE = 50
# List prices, us-east-1.
TRANSITION = 0.025 / 1000        # Step Functions Standard, per state transition
LAMBDA_REQUEST = 0.20 / 1e6      # per invocation
LAMBDA_GB_SECOND = 0.0000133334  # arm64
S3_PUT = 0.005 / 1000
MEMORY_GB = 256 / 1024           # infra/template.yaml MemorySize


def image_id(cloud: str, n: int) -> str:
    return {"tencent": f"img-b{n:07d}", "alibaba": f"m-bnc{n:017d}",
            "volcengine": f"image-ycbnc{n:015d}"}.get(cloud) or str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-{n}"))


def build(tasks: int) -> tuple[dict, list[dict]]:
    huawei = min(tasks // 25, 400)
    rest = tasks - huawei
    shares = {"tencent": rest // 3 + (rest % 3 > 0), "alibaba": rest // 3 + (rest % 3 > 1), "volcengine": rest // 3}
    requests, images = [], []
    for c, (cloud, count) in enumerate(shares.items()):
        region, bucket = PLACES[cloud]
        for batch in range(0, count, 100):
            size = min(100, count - batch)
            tag = f"b{c}x{batch // 100}"
            for k in range(batch, batch + size):
                n = c * 100_000 + k
                images.append({"cloud": cloud, "region": region, "id": image_id(cloud, n), "name": f"bench-{n}",
                               "size_gb": 1, "tags": {"bench": tag}})
            select = {"tags": {"bench": tag}, "max_images": size}
            if cloud == "tencent":
                requests.append({"cloud": cloud, "region": region, "bucket": bucket, "format": "QCOW2",
                                 "file_name_prefixes": [tag], "select": select})
            elif cloud == "alibaba":
                requests.append({"cloud": cloud, "region": region, "bucket": bucket, "format": "qcow2",
                                 "prefix": tag, "select": select})
            else:
                requests.append({"cloud": cloud, "region": region, "bucket": bucket, "prefix": tag,
                                 "select": select})
    region, bucket = PLACES["huawei"]
    for k in range(huawei):
        n = 300_000 + k
        ident = image_id("huawei", n)
        images.append({"cloud": "huawei", "region": region, "id": ident, "name": f"bench-{n}", "size_gb": 1})
        requests.append({"cloud": "huawei", "region": region, "image_id": ident, "bucket": bucket,
                         "object_key": f"b/{k}.qcow2", "file_format": "qcow2"})
    return {"job_id": "bench", "kind": "export", "requests": requests}, images


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emulator", default=str(ROOT / "target/debug/cloud-emulator"))
    parser.add_argument("--log-dir", default=str(ROOT / "target/e2e-logs/bench"))
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--chunks-at-once", type=int, default=16)
    parser.add_argument("--running-exports", type=int, default=5)
    parser.add_argument("--time-scale", type=float, default=3600)
    parser.add_argument("--retry-delay-scale", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=4, help="cargo lambda watch --concurrency")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    log_dir = Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    if not args.no_build:
        subprocess.run(["cargo", "build", "--locked", "-q", *sum((["-p", f] for f in FUNCTIONS), [])],
                       cwd=ROOT, check=True)
    catalog = json.loads((ROOT / "tests/emulator/default-catalog.json").read_text())
    catalog.setdefault("limits", {})["running_exports_per_account"] = args.running_exports
    catalog_path = log_dir / "bench-catalog.json"
    catalog_path.write_text(json.dumps(catalog))

    job, images = build(args.tasks)
    job["options"] = {"deadline_seconds": 7200, "chunks_at_once": args.chunks_at_once,
                      "wait": {"min_seconds": 1, "max_seconds": 5, "base_seconds": 1}}
    stack = Stack(args.emulator, log_dir, emulator_args=("--catalog", str(catalog_path)),
                  retry_delay_scale=args.retry_delay_scale, concurrency=args.concurrency,
                  time_scale=args.time_scale)
    try:
        for at in range(0, len(images), 500):
            emulator_call(stack.emulator_url, "POST", "/_emulator/images",
                          # A selector picks images that existed when the execution began; the
                          # cloud clock runs --time-scale times faster than the wall clock.
                          [{"image": image, "age_seconds": 365 * 86400} for image in images[at:at + 500]])
        emulator_call(stack.emulator_url, "POST", "/_emulator/stats/reset", {})
        body = json.dumps(job, separators=(",", ":"))
        print(f"job: {args.tasks} tasks in {len(job['requests'])} requests, {len(body)} B of input", flush=True)
        started = time.time()
        arn = stack.start("bench", job)
        described = stack.wait([arn], seconds=4 * 3600)[arn]
        wall = time.time() - started
        histories = stack.histories(arn)
        stats = emulator_call(stack.emulator_url, "GET", "/_emulator/stats")
        events = [e for e in stack.finished_events() if e["detail"].get("job_id") == "bench"]
    finally:
        stack.stop()
    detail = events[0]["detail"] if events else json.loads(described.get("output") or "{}")
    print(f"status: {described['status']} {described.get('error', '')}; wall {wall:.0f} s", flush=True)
    print("summary: " + json.dumps({k: detail.get(k) for k in (
        "state", "tasks_total", "tasks_succeeded", "tasks_failed", "tasks_timed_out", "start_errors",
        "chunks", "checks", "duration_seconds", "results")}), flush=True)
    tasks = detail.get("tasks_total") or args.tasks

    invocations = transitions = failed_attempts = 0
    gb_seconds = 0.0
    largest_state = (0, "")
    for history in histories:
        by_id = {e["id"]: e for e in history}
        for e in history:
            kind = e["type"]
            if kind == "LambdaFunctionScheduled":
                invocations += 1
            if kind.endswith("StateEntered"):
                transitions += 1
            if kind in ("LambdaFunctionFailed", "LambdaFunctionTimedOut", "TaskFailed"):
                failed_attempts += 1
            if kind in ("LambdaFunctionSucceeded", "LambdaFunctionFailed"):
                begun = by_id.get(e.get("previousEventId"))
                if begun and begun["type"] == "LambdaFunctionStarted":
                    gb_seconds += max(0.001, _seconds(e["timestamp"]) - _seconds(begun["timestamp"])) * MEMORY_GB
            for details in e.values():
                if isinstance(details, dict):
                    for field in ("input", "output"):
                        text = details.get(field)
                        if isinstance(text, str) and len(text) > largest_state[0]:
                            largest_state = (len(text), f"{kind}.{field}")
    transitions += failed_attempts  # a retried attempt is a transition too
    calls = sum(s["requests"] for s in stats["actions"].values())
    puts = detail.get("results", {}).get("files", 0) if isinstance(detail.get("results"), dict) else 0
    cost = transitions * TRANSITION + invocations * LAMBDA_REQUEST + gb_seconds * LAMBDA_GB_SECOND + puts * S3_PUT
    print(f"executions: 1 parent + {len(histories) - 1} children; largest history "
          f"{max(len(h) for h in histories)} events (parent {len(histories[0])}); largest state "
          f"{largest_state[0]} B ({largest_state[1]})")
    print(f"per task: {invocations / tasks:.2f} Lambda invocations, {transitions / tasks:.2f} state transitions "
          f"({failed_attempts} retried attempts), {calls / tasks:.2f} cloud API calls")
    print(f"totals: {invocations} invocations, {gb_seconds:.0f} GB-s, {transitions} transitions, {calls} cloud calls, "
          f"{puts} S3 PUTs")
    print(f"AWS cost per 1,000 tasks: ${cost / tasks * 1000:.3f} (transitions ${transitions * TRANSITION / tasks * 1000:.3f}, "
          f"Lambda ${(invocations * LAMBDA_REQUEST + gb_seconds * LAMBDA_GB_SECOND) / tasks * 1000:.3f})")
    print("cloud action: requests, peak arrivals/s, peak accepted/s vs limit, throttled")
    over = []
    for action, s in sorted(stats["actions"].items()):
        limit = RATES.get(action, DEFAULT_RATE)
        over += [action] if s["max_accepted_per_second"] > limit else []
        print(f"  {action}: {s['requests']}, {s['max_per_second']}/s, {s['max_accepted_per_second']}/s vs {limit}, "
              f"{s['throttled']}")
    over += [f"{k} ran {v} exports at once" for k, v in (stats.get("most_running_exports") or {}).items()
             if v > args.running_exports]
    print(f"tasks created: {stats.get('tasks_created')}; limits passed: {over or 'none'}")
    print(f"emulator running_exports_per_account: {args.running_exports} (the clouds document 5); "
          f"most exports running at once per cloud and account: {stats.get('most_running_exports')}")
    return 0 if described["status"] in ("SUCCEEDED", "FAILED") and not over else 1


def _seconds(stamp) -> float:
    from datetime import datetime

    if isinstance(stamp, (int, float)):
        return float(stamp)
    if hasattr(stamp, "timestamp"):
        return stamp.timestamp()
    return datetime.fromisoformat(str(stamp)).timestamp()


if __name__ == "__main__":
    sys.exit(main())
