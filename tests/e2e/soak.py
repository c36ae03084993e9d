#!/usr/bin/env python3
"""Soak benchmark (issue 12): many jobs on the four clouds through the real state machine
(infra/statemachine/imgflow.asl.json on moto's ASL engine) and the real function binaries
under `cargo lambda watch`, against the cloud emulator with random faults on every cloud call,
a whole-cloud outage, and Lambda answers lost after the start functions ran.

    .venv-e2e/bin/python tests/e2e/soak.py [--jobs 200] [--fault-rate 0.05] [--seed 1]

Not a test CI runs: it prints figures. It exits 1 if any wrong terminal state, duplicate cloud
task, orphaned cloud task or execution without a completion event was seen (2 on a harness
error). It reuses the harness of run_e2e.py (Stack), sfn_engine.py and lambda_shim.py.

Jobs run in waves. Within a wave no source image is used twice on one cloud, so every cloud
task the emulator created during the wave belongs to exactly one start item (cloud, kind,
source image): the yardstick for duplicates and orphans. The start windows of the functions'
look-before-submit (the execution's start) then never hold another job's task, which the
project documents as the one case a lookup cannot tell apart (shared/src/idempotence.rs).
"""

import argparse
import collections
import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from run_e2e import FUNCTIONS, Stack, emulator_call, output  # noqa: E402

# The cloud clock runs at the wall clock's pace: the functions compare the clouds' creation
# times with the execution's start (look before you submit), which a faster cloud clock would
# put in the future (at run_e2e's 3600, a task of the previous wave was "created" hours after
# the next wave started and was adopted by it). Tasks are made short instead, by the catalogue.
TIME_SCALE = 1
FAST_TIMING = {"export_seconds_per_gb": 0.02, "copy_seconds_per_gb": 0.01, "min_task_seconds": 1.0,
               "pending_share": 0.05, "fail_share": 0.5}
OPTIONS = {"deadline_seconds": 240, "wait": {"min_seconds": 1, "max_seconds": 2, "base_seconds": 1}}
START_FUNCTIONS = ("start-export", "start-sync")
CLOUDS = ("tencent", "alibaba", "volcengine", "huawei")
REGIONS = {"tencent": ("ap-guangzhou", "ap-shanghai"), "alibaba": ("cn-hangzhou", "cn-shanghai"),
           "volcengine": ("cn-beijing", "cn-shanghai"), "huawei": ("cn-north-4", "cn-east-3")}


def images_by_cloud() -> dict[str, list[dict]]:
    """Source images of the built-in catalogue: the ones that export and copy in seconds, the
    ones that fail halfway, and the encrypted ones (refused at the start)."""
    catalog = json.loads((ROOT / "tests/emulator/default-catalog.json").read_text())
    found = collections.defaultdict(list)
    for image in catalog["images"]:
        cloud, flags = image["cloud"], image.get("flags") or {}
        if image["region"] != REGIONS[cloud][0] or image.get("account", "default") != "default":
            continue
        if image["size_gb"] > 200 or image.get("state", "available") != "available":
            continue
        if flags and not (flags.get("export_fails") or flags.get("encrypted")):
            continue
        found[cloud].append(image)
    return found


def request_for(cloud: str, kind: str, image_id: str, tag: str) -> dict:
    """One request of a job: `tag` makes its objects and copy names its own."""
    source, destination = REGIONS[cloud]
    if kind == "sync":
        request = {"cloud": cloud, "region": source, "image_id": image_id, "destination_regions": [destination]}
        if cloud in ("volcengine", "huawei"):
            request["image_name"] = f"soak-{tag}"
        if cloud == "huawei":
            request["agency_name"] = "ims_admin_agency"
        return request
    return {
        "tencent": {"cloud": cloud, "region": source, "bucket": "imgflow-backup-1250000000",
                    "image_ids": [image_id], "format": "QCOW2", "file_name_prefixes": [tag]},
        "alibaba": {"cloud": cloud, "region": source, "image_id": image_id, "bucket": "imgflow-oss-backup",
                    "prefix": tag, "format": "qcow2"},
        "volcengine": {"cloud": cloud, "region": source, "image_id": image_id, "bucket": "imgflow-tos-backup",
                       "prefix": tag},
        "huawei": {"cloud": cloud, "region": source, "image_id": image_id, "bucket": "imgflow-obs-backup",
                   "object_key": f"soak/{tag}.qcow2", "file_format": "qcow2"},
    }[cloud]


def plan_waves(jobs: int, rng: random.Random) -> list[list[dict]]:
    """Jobs of 1 to 3 requests on distinct clouds, exports and copies mixed, grouped in waves
    in which no (cloud, image) repeats."""
    images = images_by_cloud()
    waves, n = [], 0
    while n < jobs:
        pools = {cloud: rng.sample(images[cloud], len(images[cloud])) for cloud in CLOUDS}
        wave = []
        while n < jobs:
            clouds = [c for c in CLOUDS if pools[c]]
            if not clouds:
                break
            kind = rng.choice(("export", "sync"))
            chosen = rng.sample(clouds, min(len(clouds), rng.randint(1, 3)))
            job_id = f"soak-{n:04d}"
            requests, items = [], []
            for index, cloud in enumerate(chosen):
                image = pools[cloud].pop()
                tag = f"s{n:04d}i{index}"
                requests.append(request_for(cloud, kind, image["id"], tag))
                items.append((cloud, kind, image["id"]))
            wave.append({"job_id": job_id, "kind": kind, "requests": requests, "items": items})
            n += 1
        waves.append(wave)
    return waves


class Losses:
    """Loses the answer of a start function with probability `rate` (seeded)."""

    def __init__(self, rate: float, seed: int):
        self.rate, self.rng, self.lock = rate, random.Random(seed), threading.Lock()
        self.lost = 0

    def __call__(self, function: str, payload: bytes = b"") -> bool:
        if function not in START_FUNCTIONS:
            return False
        with self.lock:
            lose = self.rng.random() < self.rate
            self.lost += lose
            return lose


def follows(summary_task: dict, task: dict) -> bool:
    """Whether a task of a job's final result is this emulator task."""
    if summary_task.get("cloud") != task["cloud"] or summary_task.get("image_id") != task["detail"]["image_id"]:
        return False
    if summary_task.get("task_id"):
        # The emulator names a Tencent export `TASKID-IMAGEID`, one per image of the task.
        return task["id"] == summary_task["task_id"] or task["id"].startswith(summary_task["task_id"] + "-")
    if task["kind"] == "copy":
        images = (summary_task.get("result") or {}).get("images", [])
        if images:
            return any(i.get("image_id") == task["detail"]["destination_image_id"] for i in images)
        return summary_task.get("destination_region") == task["detail"]["destination_region"]
    return True


AGREES = {"succeeded": {"succeeded"}, "failed": {"failed", "cancelled"}}


def judge(job: dict, described: dict, event: dict | None, tasks: list[dict], figures: dict, problems: list) -> None:
    """Compares one execution's end (its completion event, else its output) with the tasks the
    emulator made for its items."""
    summary = (event or {}).get("detail") or output(described)
    summary_tasks = {item.get("item"): item.get("tasks", []) for item in summary.get("items", [])}
    wrong = []
    expected_ok = []
    for index, (cloud, kind, image_id) in enumerate(job["items"]):
        mine = [t for t in tasks if (t["cloud"], t["kind"], t["detail"]["image_id"])
                == (cloud, "export" if kind == "export" else "copy", image_id)]
        figures["tasks"] += len(mine)
        if len(mine) > 1:
            figures["duplicates"] += len(mine) - 1
            problems.append(f"{job['job_id']} item {index} ({cloud} {kind} {image_id}): {len(mine)} cloud tasks "
                            f"{[t['id'] for t in mine]}")
        followed = summary_tasks.get(index, [])
        for task in mine:
            matched = [s for s in followed if follows(s, task)]
            if not matched:
                figures["orphans"] += 1
                problems.append(f"{job['job_id']} item {index}: cloud task {task['id']} ({cloud} {kind}, "
                                f"{task['phase']}) is in no final result; the item ended {followed or 'without tasks'}")
                continue
            state = matched[0].get("state")
            if task["phase"] not in AGREES.get(state, set()):
                wrong.append(f"item {index}: job says {state}, the cloud task {task['id']} is {task['phase']}")
        expected_ok.append(bool(mine) and all(t["phase"] == "succeeded" for t in mine))
        if not mine and any(s.get("state") == "succeeded" for s in followed):
            wrong.append(f"item {index}: job says succeeded, the cloud has no task")
    status = described.get("status")
    if status == "SUCCEEDED" and not all(expected_ok):
        wrong.append(f"SUCCEEDED but the cloud tasks did not all succeed ({expected_ok})")
    if status != "SUCCEEDED" and all(expected_ok) and expected_ok:
        wrong.append(f"{status} {described.get('error')} but every item's cloud task succeeded")
    if status not in ("SUCCEEDED", "FAILED"):
        wrong.append(f"ended {status}")
    if wrong:
        figures["wrong"] += 1
        problems.append(f"{job['job_id']} wrong terminal state: {'; '.join(wrong)} "
                        f"({described.get('error')}: {str(described.get('cause'))[:300]})")
    else:
        figures["correct"] += 1
    figures["states"][f"{status} {described.get('error') or ''}".strip()] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--fault-rate", type=float, default=0.05, help="random fault per cloud call (0 to 1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lose-rate", type=float, default=0.1,
                        help="share of start-function answers lost after the function ran")
    parser.add_argument("--outage-cloud", choices=CLOUDS, help="default: one chosen by the seed")
    parser.add_argument("--outage-seconds", type=float, default=120, help="length of the whole-cloud outage")
    parser.add_argument("--outage-wave", type=int, default=1, help="the wave (0-based) it starts in")
    parser.add_argument("--retry-delay-scale", type=float, default=0.05, help="factor on the ASL's Retry waits")
    parser.add_argument("--wave-timeout", type=float, default=300)
    parser.add_argument("--emulator", default=str(ROOT / "target/debug/cloud-emulator"))
    parser.add_argument("--log-dir", default=str(ROOT / "target/soak-logs"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    outage_cloud = args.outage_cloud or rng.choice(CLOUDS)
    waves = plan_waves(args.jobs, rng)
    log_dir = Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cargo", "build", "--locked", "-q", "-p", "cloud-emulator",
                    *sum((["-p", f] for f in FUNCTIONS), [])], cwd=ROOT, check=True)

    catalog = json.loads((ROOT / "tests/emulator/default-catalog.json").read_text())
    catalog["timing"] = FAST_TIMING
    catalog_path = log_dir / "soak-catalog.json"
    catalog_path.write_text(json.dumps(catalog))
    losses = Losses(args.lose_rate, args.seed)
    started = time.time()
    stack = Stack(args.emulator, log_dir, emulator_args=("--fault-rate", f"{args.fault_rate}:{args.seed}",
                                                         "--catalog", str(catalog_path)),
                  retry_delay_scale=args.retry_delay_scale, lose_answer=losses, concurrency=4,
                  time_scale=TIME_SCALE)
    figures = {"jobs": 0, "tasks": 0, "correct": 0, "wrong": 0, "duplicates": 0, "orphans": 0, "silent": 0,
               "states": collections.Counter()}
    problems: list[str] = []
    outage = None
    try:
        for number, wave in enumerate(waves):
            before = len(emulator_call(stack.emulator_url, "GET", "/_emulator/tasks"))
            arns = {job["job_id"]: stack.start(job["job_id"], {"job_id": job["job_id"], "kind": job["kind"],
                                                               "requests": job["requests"], "options": OPTIONS})
                    for job in wave}
            if number == args.outage_wave:
                # A few seconds in, when the wave's starts are under way and its first checks come.
                outage = emulator_call(stack.emulator_url, "POST", "/_emulator/outages", {
                    "cloud": outage_cloud, "seconds": args.outage_seconds * TIME_SCALE,
                    "start_in_seconds": 3 * TIME_SCALE})
            wave_started = time.time()
            results = stack.wait(list(arns.values()), seconds=args.wave_timeout)
            tasks = emulator_call(stack.emulator_url, "GET", "/_emulator/tasks")[before:]
            events = {}
            for e in stack.finished_events():
                detail = e.get("detail") or {}
                events[detail.get("job_id") or (detail.get("job") or {}).get("job_id")] = e
            for job in wave:
                arn = arns[job["job_id"]]
                figures["jobs"] += 1
                event = events.get(job["job_id"])
                if event is None:
                    figures["silent"] += 1
                    problems.append(f"{job['job_id']}: ended {results[arn]['status']} without a completion event")
                judge(job, results[arn], event, tasks, figures, problems)
            print(f"wave {number + 1}/{len(waves)}: {len(wave)} jobs, {len(tasks)} cloud tasks, "
                  f"{time.time() - wave_started:.1f} s; so far {figures['wrong']} wrong, {figures['duplicates']} "
                  f"duplicates, {figures['orphans']} orphans, {figures['silent']} silent", flush=True)
        stats = emulator_call(stack.emulator_url, "GET", "/_emulator/stats")
        outages = emulator_call(stack.emulator_url, "GET", "/_emulator/outages")
    finally:
        stack.stop()
    elapsed = time.time() - started
    injected = stats["faults_injected"]
    # `requests` counts the calls that passed the fault check; server_error, throttle and reset
    # are answered before it.
    calls = sum(a["requests"] for a in stats["actions"].values()) + sum(
        injected.get(k, 0) for k in ("server_error", "throttle", "reset"))
    random_faults = sum(injected.values()) - stats["outage_calls_failed"]
    print()
    print(f"command: tests/e2e/soak.py --jobs {args.jobs} --fault-rate {args.fault_rate} --seed {args.seed} "
          f"--lose-rate {args.lose_rate}")
    print(f"jobs: {figures['jobs']} in {len(waves)} waves, {elapsed:.0f} s")
    print(f"tasks: {figures['tasks']} cloud tasks created ({dict(stats['tasks_created'])})")
    print(f"cloud calls: {calls}; faults injected: {sum(injected.values())} ({injected}); "
          f"of which outage: {stats['outage_calls_failed']}; random: {random_faults} "
          f"({100 * random_faults / max(1, calls - stats['outage_calls_failed']):.1f} % of the other calls)")
    if outage:
        print(f"outage: {outage_cloud}, {args.outage_seconds * TIME_SCALE / 60:.1f} cloud minutes, "
              f"in wave {args.outage_wave + 1}; calls failed "
              f"{[o['calls_failed'] for o in outages['outages']]}")
    print(f"lambda answers lost after a start ran: {losses.lost}")
    print(f"terminal states: {dict(figures['states'])}")
    print(f"terminal states correct: {figures['correct']}  wrong: {figures['wrong']}")
    print(f"duplicate cloud tasks: {figures['duplicates']}")
    print(f"orphaned cloud tasks: {figures['orphans']}")
    print(f"executions without a completion event: {figures['silent']}")
    for problem in problems:
        print(f"  - {problem}")
    bad = figures["wrong"] + figures["duplicates"] + figures["orphans"] + figures["silent"]
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(2)
