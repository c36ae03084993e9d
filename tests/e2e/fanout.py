#!/usr/bin/env python3
"""End-to-end (issue 15): one export job big enough to fan out, across the four clouds, through
infra/statemachine/imgflow.asl.json on moto's engine (Validate plans the chunks, RunChunks runs
each as a child execution of the Distributed Map, Summarize sums them), the real function
binaries under `cargo lambda watch` and the cloud emulator.

    .venv-e2e/bin/python tests/e2e/fanout.py [--tasks 1000]

The job's images are added to the emulator for the run: a quarter per cloud (Tencent: ten per
request), some whose export fails halfway (Alibaba, Volcengine, Huawei) and some encrypted
(refused at the start), with the start calls of two clouds throttled for a while. Checked: the
execution ends in Task.PartiallyFailed; its completion event carries the right counts, the
chunks and where the results lie; every task's result is a line in the jobs bucket with the
state the emulator says it must have (objects with sizes for the exports that succeeded); each
cloud task was created once; no emulator rate limit was passed. Prints one line per check and
figures; exits 1 if any check failed. run_e2e.py runs it after its own phases.

The clouds allow five exports at once per account, so most starts meet the limit: they answer
with the exports that started and queue the rest, which the chunks' checks start as room frees
up (README "Concurrency limits: queued starts"); every cloud task is still created once. Retry
waits (throttling) are scaled (--retry-delay-scale, default 0.02) - the same ASL, a shorter
clock.
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
from run_e2e import FUNCTIONS, JOBS_BUCKET, Stack, check, emulator_call  # noqa: E402

CLOUDS = ("tencent", "alibaba", "volcengine", "huawei")
PLACES = {"tencent": ("ap-guangzhou", "imgflow-backup-1250000000"),
          "alibaba": ("cn-hangzhou", "imgflow-oss-backup"),
          "volcengine": ("cn-beijing", "imgflow-tos-backup"),
          "huawei": ("cn-north-4", "imgflow-obs-backup")}
# Each cloud's start action, throttled for its first calls.
THROTTLED = [("alibaba", "ExportImage", 4), ("tencent", "ExportImages", 3), ("volcengine", "ExportImage", 3)]
# The emulator's documented rates (tests/emulator/src/catalog.rs Limits::default).
RATES = {"tencent:ExportImages": 20, "tencent:SyncImages": 10, "tencent:DescribeImages": 40}
DEFAULT_RATE = 50
# The emulator's (and the clouds') exports running at once per account.
RUNNING_EXPORTS = 5


def image_id(cloud: str, n: int) -> str:
    if cloud == "tencent":
        return f"img-f{n:07d}"
    if cloud == "alibaba":
        return f"m-fan{n:017d}"
    if cloud == "volcengine":
        return f"image-ycfan{n:015d}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"imgflow-fanout-{n}"))


def fate(cloud: str, n: int) -> str:
    """What the emulator does with image n: succeeded, failed (halfway) or not_started
    (encrypted). Tencent exports that fail halfway are never seen to fail (soak.py KNOWN_GAPS),
    so Tencent images all succeed."""
    if cloud == "tencent":
        return "succeeded"
    if n % 40 == 7:
        return "failed"
    if n % 50 == 13 and cloud != "huawei":  # Huawei exports encrypted images (the emulator agrees)
        return "not_started"
    return "succeeded"


def build(tasks: int, job_id: str, options: dict) -> tuple[dict, list[dict], dict]:
    """The job, the images to add to the emulator, and {(cloud, image_id): fate}."""
    per_cloud = [tasks // 4 + (1 if i < tasks % 4 else 0) for i in range(4)]
    requests, images, fates, n_of = [], [], {}, {}
    for cloud, count in zip(CLOUDS, per_cloud):
        region, bucket = PLACES[cloud]
        ids = []
        for k in range(count):
            n = CLOUDS.index(cloud) * 100_000 + k
            ident, what = image_id(cloud, n), fate(cloud, n)
            flags = {"export_fails": what == "failed", "encrypted": what == "not_started"}
            images.append({"cloud": cloud, "region": region, "id": ident, "name": f"fanout-{n}",
                           "size_gb": 1, "flags": flags})
            fates[(cloud, ident)] = what
            n_of[ident] = n
            ids.append(ident)
        if cloud == "tencent":
            # Ten images per request (one ExportImages): CVM refuses the call whole while fewer
            # than ten slots of its five are free, so the start splits it, starts what fits
            # and queues the rest.
            for at in range(0, len(ids), 10):
                requests.append({"cloud": cloud, "region": region, "bucket": bucket,
                                 "image_ids": ids[at:at + 10], "format": "QCOW2",
                                 "file_name_prefixes": [f"fan{at + i}" for i in range(len(ids[at:at + 10]))]})
        for ident in ids if cloud != "tencent" else []:
            if cloud == "alibaba":
                requests.append({"cloud": cloud, "region": region, "image_id": ident, "bucket": bucket,
                                 "prefix": f"fan{n_of[ident]}", "format": "qcow2"})
            elif cloud == "volcengine":
                requests.append({"cloud": cloud, "region": region, "image_id": ident, "bucket": bucket,
                                 "prefix": f"fan{n_of[ident]}"})
            else:
                requests.append({"cloud": cloud, "region": region, "image_id": ident, "bucket": bucket,
                                 "object_key": f"fan/{ident}.qcow2", "file_format": "qcow2"})
    job = {"job_id": job_id, "kind": "export", "requests": requests, "options": options}
    return job, images, fates


def results(stack: Stack, prefix: str) -> list[dict]:
    lines, token = [], None
    while True:
        page = stack.s3.list_objects_v2(Bucket=JOBS_BUCKET, Prefix=prefix,
                                         **({"ContinuationToken": token} if token else {}))
        for item in page.get("Contents", []):
            body = stack.s3.get_object(Bucket=JOBS_BUCKET, Key=item["Key"])["Body"].read().decode()
            lines += [json.loads(line) for line in body.splitlines() if line]
        token = page.get("NextContinuationToken")
        if not token:
            return lines


def run(stack: Stack, tasks: int, job_id: str = "fanout", chunks_at_once: int = 8,
        seconds: float = 1800) -> dict:
    """Runs the fan-out job on `stack` and checks it; returns the figures."""
    options = {"deadline_seconds": 1800, "chunks_at_once": chunks_at_once,
               "wait": {"min_seconds": 1, "max_seconds": 3, "base_seconds": 1}}
    job, images, fates = build(tasks, job_id, options)
    for at in range(0, len(images), 200):
        emulator_call(stack.emulator_url, "POST", "/_emulator/images",
                      [{"image": image, "age_seconds": 3600} for image in images[at:at + 200]])
    emulator_call(stack.emulator_url, "POST", "/_emulator/stats/reset", {})
    for cloud, action, times in THROTTLED:
        emulator_call(stack.emulator_url, "POST", "/_emulator/faults",
                      {"cloud": cloud, "action": action, "kind": "throttle", "times": times})
    input_bytes = len(json.dumps(job))
    started = time.time()
    arn = stack.start(job_id, job)
    # The status webhook while the job runs: the chunks' progress, once the Map run has begun.
    progress = []
    while not progress and stack.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        status, body = run_e2e.http(stack.invoke("check-status", run_e2e.signed(
            "check-status/webhook.json", body={"execution_arn": arn})))
        if body.get("chunks"):
            progress.append((status, body))
        time.sleep(0.5)
    described = stack.wait([arn], seconds=seconds)[arn]
    wall = time.time() - started
    print(f"     {tasks} tasks in {len(job['requests'])} requests ({input_bytes} B of input): "
          f"{described['status']} in {wall:.1f} s", flush=True)

    expected = collections.Counter(fates.values())
    check(described["status"] == "FAILED" and described.get("error") == "Task.PartiallyFailed",
          f"fan-out job of {tasks} tasks: partial success ends in Task.PartiallyFailed",
          {k: described.get(k) for k in ("status", "error", "cause")})
    history = stack.history(arn)
    plan = next((json.loads(e["stateExitedEventDetails"]["output"]) for e in history
                 if e["type"] == "TaskStateExited" and e["stateExitedEventDetails"]["name"] == "Validate"), {})
    chunks = plan.get("chunks", [])
    check(len(chunks) >= 4 and all(len({(c["chunk"]["cloud"], c["chunk"]["region"])}) == 1 and c["chunk"]["tasks"] <= 100
                                  for c in chunks),
          f"… planned in {len(chunks)} chunks of one cloud and region, at most 100 tasks each",
          [c.get("chunk", {}).get("tasks") for c in chunks])
    check(any(e["type"] == "MapRunStarted" for e in history), "… run by a Distributed Map (MapRunStarted)")

    events = [e for e in stack.finished_events() if e["detail"].get("job_id") == job_id]
    detail = events[0]["detail"] if events else {}
    counts = {k: detail.get(k) for k in ("tasks_total", "tasks_succeeded", "tasks_failed", "tasks_timed_out",
                                         "start_errors", "chunks", "checks", "duration_seconds")}
    check(len(events) == 1 and detail.get("state") == "partial"
          and detail.get("tasks_succeeded") == expected["succeeded"]
          and detail.get("tasks_failed") == expected["failed"]
          and detail.get("start_errors") == expected["not_started"]
          and detail.get("tasks_total") == expected["succeeded"] + expected["failed"]
          and detail.get("tasks_timed_out") == 0 and detail.get("chunks") == len(chunks),
          f"… one completion event with the right counts {dict(expected)}", counts)
    location = detail.get("results") or {}
    check(location.get("bucket") == JOBS_BUCKET and location.get("files") == len(chunks)
          and location.get("prefix", "").startswith(f"results/{job_id}/"),
          "… and where the results lie", location)

    lines = results(stack, location.get("prefix", f"results/{job_id}/"))
    seen = collections.Counter((line.get("cloud"), line.get("image_id") or "") for line in lines)
    # A start refused for good names its request (item), not its image: map items to images.
    by_item = {i: r for i, r in enumerate(job["requests"])}
    got, line_of = {}, {}
    not_started_lines = sum(1 for line in lines if line.get("state") == "not_started")
    for line in lines:
        if line.get("state") == "not_started":
            request = by_item[line["item"]]
            for ident in request.get("image_ids") or [request.get("image_id")]:
                got[(request["cloud"], ident)] = "not_started"
                line_of[(request["cloud"], ident)] = line
        else:
            got[(line["cloud"], line["image_id"])] = line["state"]
    check(len(lines) == tasks - expected["not_started"] + not_started_lines and got == fates,
          f"every task's result is in s3://{JOBS_BUCKET}/{location.get('prefix')} ({len(lines)} lines, "
          f"{len(got)} images) with the state it must have",
          [(k, got.get(k), v, line_of.get(k)) for k, v in fates.items() if got.get(k) != v][:5])
    exported = [line for line in lines if line.get("state") == "succeeded"]
    check(exported and all((line.get("result") or {}).get("objects")
                           and all(o["size"] > 0 for o in line["result"]["objects"]) for line in exported),
          "… the exports that succeeded with their objects and sizes")

    running = progress[0][1] if progress else {}
    check(progress and progress[0][0] == 200 and running.get("status") == "RUNNING"
          # moto counts in `total` the chunks begun so far (AWS: all of the run's items).
          and running.get("state") == "running" and 1 <= running["chunks"].get("running", 0)
          and running["chunks"].get("total", 0) <= len(chunks),
          "the status webhook answers a running fanned-out job with its chunks' progress", running)
    status, body = run_e2e.http(stack.invoke("check-status", run_e2e.signed("check-status/webhook.json",
                                                                           body={"execution_arn": arn})))
    summary = body.get("summary") or {}
    check(status == 200 and body.get("state") == "partial"
          and [summary.get(k) for k in ("tasks_total", "tasks_succeeded", "tasks_failed")]
          == [detail.get(k) for k in ("tasks_total", "tasks_succeeded", "tasks_failed")],
          "the status webhook answers the ended job with the same counts",
          {k: body.get(k) for k in ("status", "state", "error")} | {"summary": {k: summary.get(k) for k in (
              "tasks_total", "tasks_succeeded", "tasks_failed")}})

    stats = emulator_call(stack.emulator_url, "GET", "/_emulator/stats")
    created = sum(stats.get("tasks_created", {}).values())
    check(created == expected["succeeded"] + expected["failed"],
          f"each cloud task was created once ({created} created)", stats.get("tasks_created"))
    over = {action: s for action, s in stats["actions"].items()
            if s["max_accepted_per_second"] > RATES.get(action, DEFAULT_RATE)}
    check(not over, "no emulator rate limit was passed (accepted calls per second per action)", over)
    running = stats.get("most_running_exports") or {}
    check(len(running) == 4 and all(v == RUNNING_EXPORTS for v in running.values()),
          f"each cloud ran up to its limit of {RUNNING_EXPORTS} exports at once, never more "
          "(the rest queued and started as room freed up)", running)
    peak = {action: (s["requests"], s["max_per_second"], s["max_accepted_per_second"], s["throttled"])
            for action, s in stats["actions"].items()}
    print("     emulator: action: requests, peak arrivals/s, peak accepted/s (limit), throttled", flush=True)
    for action, (requests, arrived, accepted, throttled) in sorted(peak.items()):
        print(f"       {action}: {requests}, {arrived}/s, {accepted}/s ({RATES.get(action, DEFAULT_RATE)}), "
              f"{throttled}", flush=True)
    return {"arn": arn, "wall_seconds": wall, "history": history, "stats": stats, "detail": detail,
            "chunks": len(chunks), "plan": plan, "lines": len(lines)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emulator", default=str(ROOT / "target/debug/cloud-emulator"))
    parser.add_argument("--log-dir", default=str(ROOT / "target/e2e-logs/fanout"))
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--chunks-at-once", type=int, default=8)
    parser.add_argument("--retry-delay-scale", type=float, default=0.02)
    parser.add_argument("--no-build", action="store_true", help="the functions are built already")
    args = parser.parse_args()
    log_dir = Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    if not args.no_build:
        subprocess.run(["cargo", "build", "--locked", "-q", *sum((["-p", f] for f in FUNCTIONS), [])],
                       cwd=ROOT, check=True)
    started = time.time()
    stack = Stack(args.emulator, log_dir, retry_delay_scale=args.retry_delay_scale)
    try:
        run(stack, args.tasks, chunks_at_once=args.chunks_at_once)
    finally:
        stack.stop()
    print(f"\n{len(run_e2e.failures)} failed; {time.time() - started:.1f} s (logs in {log_dir})")
    return 1 if run_e2e.failures else 0


if __name__ == "__main__":
    sys.exit(main())
