#!/usr/bin/env python3
"""End-to-end: infra/statemachine/imgflow.asl.json as written (placeholders filled), run by a
real ASL engine (moto's Step Functions interpreter), its Lambda tasks invoking the real function
binaries under `cargo lambda watch` (through lambda_shim.py), the functions calling the cloud
emulator, Step Functions and Secrets Manager.

    .venv-e2e/bin/python tests/e2e/run_e2e.py [--emulator target/debug/cloud-emulator]

Real time is shortened only by the emulator's time scale (an hour of cloud time per second) and
the jobs' own wait bounds (`options.wait`); the ASL, the Retry intervals and the functions are
used as they are. Prints one line per check and exits 1 if any failed.
"""

import argparse
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

import lambda_shim  # noqa: E402
import sfn_engine  # noqa: E402

# functions/events/sign-webhook.py, the signer the README gives users (its name has a dash).
_spec = importlib.util.spec_from_file_location("sign_webhook", ROOT / "functions/events/sign-webhook.py")
sign_webhook = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sign_webhook)

AWS_SECRET = "e2e-aws-secret-key-5d1f0c"
WEBHOOK_SECRET = "e2e-webhook-secret-91ab44"
CLOUD_SK = "imgflow-emulator-sk"
CLOUD_AK = "imgflow-emulator-ak"
STATE_MACHINE = "imgflow-e2e-jobs"
BUS = "imgflow-e2e"
JOBS_BUCKET = "imgflow-e2e-jobs"
FAST = {"deadline_seconds": 600, "wait": {"min_seconds": 1, "max_seconds": 2, "base_seconds": 1}}
FUNCTIONS = ["start-export", "start-sync", "check-status"]

failures: list[str] = []


def check(condition: bool, what: str, detail: object = "") -> bool:
    print(f"{'ok  ' if condition else 'FAIL'} {what}" + ("" if condition else f"\n     {detail}"), flush=True)
    if not condition:
        failures.append(what)
    return condition


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, seconds: float) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


def emulator_call(base: str, method: str, path: str, body: object | None = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, method=method,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"null")


def secret_document() -> str:
    key = {"access_key_id": CLOUD_AK, "secret_access_key": CLOUD_SK}
    return json.dumps({
        "webhook_secret": WEBHOOK_SECRET,
        "tencent": key, "alibaba": key, "volcengine": key,
        "huawei": dict(key, projects={"cn-north-4": "0a1b2c3d4e5f40718293a4b5c6d7e8f9",
                                      "cn-east-3": "1b2c3d4e5f60418293a4b5c6d7e8f90a"}),
    })


def job(job_id: str, kind: str, requests: list, **options) -> dict:
    return {"job_id": job_id, "kind": kind, "requests": requests, "options": dict(FAST, **options)}


EXPORTS = {
    "tencent": {"cloud": "tencent", "region": "ap-guangzhou", "bucket": "imgflow-backup-1250000000",
                "image_ids": ["img-web00001"], "format": "QCOW2", "file_name_prefixes": ["e2e"]},
    "alibaba": {"cloud": "alibaba", "region": "cn-hangzhou", "image_id": "m-bp1web000000000000001",
                "bucket": "imgflow-oss-backup", "prefix": "e2e", "format": "qcow2"},
    "volcengine": {"cloud": "volcengine", "region": "cn-beijing", "image_id": "image-ycweb000000000000001",
                   "bucket": "imgflow-tos-backup", "prefix": "e2e"},
    "huawei": {"cloud": "huawei", "region": "cn-north-4", "image_id": "4d0ab5e2-3114-578f-81d7-2d843f36e39b",
               "bucket": "imgflow-obs-backup", "object_key": "e2e/web.qcow2", "file_format": "qcow2"},
}
SYNCS = {
    "tencent": {"cloud": "tencent", "region": "ap-guangzhou", "image_id": "img-win00001",
                "destination_regions": ["ap-shanghai"]},
    "alibaba": {"cloud": "alibaba", "region": "cn-hangzhou", "image_id": "m-bp1win000000000000001",
                "destination_regions": ["cn-shanghai"]},
    "volcengine": {"cloud": "volcengine", "region": "cn-beijing", "image_id": "image-ycwin000000000000001",
                   "destination_regions": ["cn-shanghai"], "image_name": "win-copy"},
    "huawei": {"cloud": "huawei", "region": "cn-north-4", "image_id": "0fc101bb-c464-587e-b340-f6ca7cc3f49d",
               "destination_regions": ["cn-east-3"], "image_name": "win-copy", "agency_name": "ims_admin_agency"},
}


class Stack:
    """The emulator, the engine, the shim and cargo lambda watch, started and stopped together."""

    def __init__(self, emulator_binary: str, log_dir: Path, emulator_args: tuple = (),
                 retry_delay_scale: float = 1.0, lose_answer=None, concurrency: int = 4,
                 time_scale: float = 3600):
        """`emulator_args`, `retry_delay_scale`, `lose_answer` (see lambda_shim.start), the
        watch `concurrency` and the emulator's `time_scale` are for tests/e2e/soak.py; run_e2e
        uses the defaults."""
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []
        self.emulator = subprocess.Popen([emulator_binary, "--time-scale", str(time_scale), *emulator_args],
                                         stdout=subprocess.PIPE,
                                         stderr=open(log_dir / "emulator.log", "w"), text=True)
        self.procs.append(self.emulator)
        self.emulator_url = self.emulator.stdout.readline().strip()
        watch_port = free_port()
        self.shim, self.shim_url = lambda_shim.start(f"http://127.0.0.1:{watch_port}", quiet=True,
                                                     lose_answer=lose_answer)
        self.engine = sfn_engine.start(lambda_endpoint=self.shim_url, retry_delay_scale=retry_delay_scale)
        self.sfn = self.engine.client("stepfunctions")
        # Webhooks and events reach the functions the way Lambda delivers them: an Invoke by ARN.
        self.lam = boto3.client("lambda", endpoint_url=self.shim_url, region_name=sfn_engine.REGION,
                                config=Config(retries={"total_max_attempts": 1}, read_timeout=900),
                                **sfn_engine.CREDENTIALS)
        secrets = self.engine.client("secretsmanager")
        self.secret_arn = secrets.create_secret(Name="imgflow/e2e", SecretString=secret_document())["ARN"]
        # The jobs bucket: the start functions keep their start records under starts/.
        self.engine.client("s3").create_bucket(Bucket=JOBS_BUCKET)  # REGION is us-east-1
        events = self.engine.client("events")
        events.create_event_bus(Name=BUS)
        sqs = self.engine.client("sqs")
        self.queue_url = sqs.create_queue(QueueName="imgflow-e2e-finished")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="finished", EventBusName=BUS, EventPattern=json.dumps({"source": ["imgflow"]}))
        events.put_targets(Rule="finished", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": queue_arn}])
        self.sqs = sqs
        self.s3 = self.engine.client("s3")
        self.s3.create_bucket(Bucket=JOBS_BUCKET)  # each chunk's WriteResults puts its results here
        definition = sfn_engine.render_definition((ROOT / "infra/statemachine/imgflow.asl.json").read_text(), {
            "MaxConcurrency": 4,
            "StartExportFunctionArn": sfn_engine.LAMBDA_ARN.format("start-export"),
            "StartSyncFunctionArn": sfn_engine.LAMBDA_ARN.format("start-sync"),
            "CheckStatusFunctionArn": sfn_engine.LAMBDA_ARN.format("check-status"),
            "EventBusName": BUS,
            "JobsBucketName": JOBS_BUCKET,
        })
        self.state_machine_arn = self.sfn.create_state_machine(
            name=STATE_MACHINE, definition=definition,
            roleArn=f"arn:aws:iam::{sfn_engine.ACCOUNT}:role/imgflow")["stateMachineArn"]
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TENCENTCLOUD_", "ALIBABA_CLOUD_", "VOLCENGINE_", "HUAWEICLOUD_", "IMGFLOW_", "AWS_"))}
        env.update({
            "IMGFLOW_SECRET_ARN": self.secret_arn,
            "IMGFLOW_STATE_MACHINE_ARN": self.state_machine_arn,
            "IMGFLOW_CLOUD_ENDPOINT": self.emulator_url,
            "IMGFLOW_JOBS_BUCKET": JOBS_BUCKET,
            "AWS_ACCESS_KEY_ID": "AKIDIMGFLOWE2E",
            "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
            "AWS_REGION": sfn_engine.REGION,
            "AWS_ENDPOINT_URL": self.engine.url,
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            "AWS_LAMBDA_LOG_LEVEL": "trace",
        })
        self.watch_log = log_dir / "watch.log"
        self.watch = subprocess.Popen(
            ["cargo", "lambda", "watch", "-A", "127.0.0.1", "-P", str(watch_port), "--ignore-changes",
             "--concurrency", str(concurrency)],
            cwd=ROOT, env=env, stdout=open(self.watch_log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(self.watch)
        wait_for_port(watch_port, 120)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            try:
                os.killpg(proc.pid, signal.SIGTERM) if proc is self.watch else proc.terminate()
                proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                proc.kill()
        self.shim.shutdown()
        self.engine.stop()

    def start(self, name: str, document: dict) -> str:
        return self.sfn.start_execution(stateMachineArn=self.state_machine_arn, name=name,
                                        input=json.dumps(document))["executionArn"]

    def wait(self, arns: list[str], seconds: float = 240) -> dict[str, dict]:
        done: dict[str, dict] = {}
        deadline = time.time() + seconds
        while len(done) < len(arns) and time.time() < deadline:
            for arn in arns:
                if arn not in done:
                    described = self.sfn.describe_execution(executionArn=arn)
                    if described["status"] != "RUNNING":
                        done[arn] = described
            time.sleep(0.5)
        for arn in arns:
            done.setdefault(arn, {"status": "STILL RUNNING", "executionArn": arn})
        return done

    def history(self, arn: str) -> list[dict]:
        events, token = [], None
        while True:
            page = self.sfn.get_execution_history(executionArn=arn, maxResults=1000,
                                                  **({"nextToken": token} if token else {}))
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                return events

    def chunk_histories(self, arn: str) -> list[list[dict]]:
        """The histories of the execution's chunks (Distributed Map children), in plan order,
        events as GetExecutionHistory gives them (type, ids, details)."""
        children = sorted(sfn_engine.CHILD_HISTORIES.get(arn, []), key=lambda c: c[0])
        return [json.loads(json.dumps(events, default=str)) for _, events in children]

    def histories(self, arn: str) -> list[list[dict]]:
        """The execution's own history, then each of its chunks'."""
        return [self.history(arn), *self.chunk_histories(arn)]

    def invoke(self, function: str, event: dict) -> dict:
        answer = self.lam.invoke(FunctionName=sfn_engine.LAMBDA_ARN.format(function), Payload=json.dumps(event))
        payload = json.loads(answer["Payload"].read())
        if answer.get("FunctionError"):
            return {"function_error": payload}
        return payload

    def executions(self) -> list[dict]:
        return self.sfn.list_executions(stateMachineArn=self.state_machine_arn, maxResults=1000)["executions"]

    def finished_events(self) -> list[dict]:
        found = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def output(described: dict) -> dict:
    return json.loads(described.get("output") or "null") or {}


def signed(path: str, secret: str = WEBHOOK_SECRET, body: dict | None = None) -> dict:
    """A webhook example event, with `body` instead of its own, signed now."""
    event = json.loads((ROOT / "functions/events" / path).read_text())
    if body is not None:
        event["body"] = json.dumps(body, separators=(",", ":"))
    return sign_webhook.sign(event, secret)


def http(answer: dict) -> tuple[int, dict]:
    return answer.get("statusCode", 0), json.loads(answer.get("body") or "null") or {}


def phase_one(stack: Stack) -> None:
    """Jobs started directly (as another workflow would), all at once."""
    arns = {}
    for cloud, request in EXPORTS.items():
        arns[f"export-{cloud}"] = stack.start(f"export-{cloud}", job(f"export-{cloud}", "export", [request]))
    for cloud, request in SYNCS.items():
        arns[f"sync-{cloud}"] = stack.start(f"sync-{cloud}", job(f"sync-{cloud}", "sync", [request]))
    arns["map"] = stack.start("map", job("map", "export", [
        {"cloud": "tencent", "region": "ap-guangzhou", "bucket": "imgflow-backup-1250000000",
         "image_ids": ["img-db000001"], "format": "QCOW2", "file_name_prefixes": ["map"]},
        {"cloud": "alibaba", "region": "cn-hangzhou", "image_id": "m-bp1db0000000000000001",
         "bucket": "imgflow-oss-backup", "prefix": "map", "format": "qcow2"},
        {"cloud": "huawei", "region": "cn-north-4", "image_id": "1a5c6615-fa49-5428-a91a-5e09f60c4e36",
         "bucket": "imgflow-obs-backup", "object_key": "map/fails.qcow2", "file_format": "qcow2"},
        {"cloud": "alibaba", "region": "cn-hangzhou", "image_id": "m-bp1enc000000000000001",
         "bucket": "imgflow-oss-backup", "prefix": "map", "format": "qcow2"},
    ]))
    arns["fails"] = stack.start("fails", job("fails", "export", [
        {"cloud": "volcengine", "region": "cn-beijing", "image_id": "image-ycfail00000000000001",
         "bucket": "imgflow-tos-backup", "prefix": "fails"}]))
    arns["timeout"] = stack.start("timeout", job("timeout", "export", [
        {"cloud": "volcengine", "region": "cn-beijing", "image_id": "image-ycbig000000000000001",
         "bucket": "imgflow-tos-backup", "prefix": "big"}], deadline_seconds=15))
    arns["invalid"] = stack.start("invalid", job("invalid", "export", [EXPORTS["tencent"]],
                                                 wait={"min_seconds": 0, "max_seconds": 2, "base_seconds": 1}))
    # Not a job at all (a job state with bare tasks): it used to pass Validate and die in
    # StartAll with States.Runtime and no completion event.
    arns["notajob"] = stack.start("notajob", {"job_id": "notajob", "tasks": []})
    started = time.time()
    results = stack.wait(list(arns.values()))
    print(f"     phase one: {len(arns)} executions in {time.time() - started:.1f} s", flush=True)
    by_name = {name: results[arn] for name, arn in arns.items()}

    for cloud in EXPORTS:
        described = by_name[f"export-{cloud}"]
        summary = output(described)
        objects = [o for item in summary.get("items", []) for t in item["tasks"]
                   for o in (t.get("result") or {}).get("objects", [])]
        check(described["status"] == "SUCCEEDED" and objects and all(o["size"] > 0 for o in objects),
              f"export on {cloud}: SUCCEEDED with its objects and sizes", described)
    for cloud, request in SYNCS.items():
        described = by_name[f"sync-{cloud}"]
        summary = output(described)
        images = [i for item in summary.get("items", []) for t in item["tasks"]
                  for i in (t.get("result") or {}).get("images", [])]
        check(described["status"] == "SUCCEEDED" and [i["region"] for i in images] == request["destination_regions"],
              f"sync on {cloud}: SUCCEEDED with the new image in {request['destination_regions']}", described)

    described = by_name["map"]
    check(described["status"] == "FAILED" and described.get("error") == "Task.PartiallyFailed",
          "Map job with 4 images: partial success fails with Task.PartiallyFailed", described)
    cause = described.get("cause", "")
    check("IMG.0014" in cause, "… its cause keeps the cloud's code for the image that failed halfway", cause)
    check("did not start" in cause and "Cloud.Rejected" in cause,
          "… and the start error of the encrypted image, by its error name", cause)
    check(any(e["type"] == "MapStateEntered" for e in stack.history(arns["map"])), "… it went through the Map state")

    described = by_name["fails"]
    check(described["status"] == "FAILED" and described.get("error") == "Task.Failed"
          and "image-ycfail00000000000001" in described.get("cause", ""),
          "a cloud failure reaches the Failed state with the cloud's reason", described)
    described = by_name["timeout"]
    check(described["status"] == "FAILED" and described.get("error") == "Task.TimedOut"
          and "deadline" in described.get("cause", ""),
          "a job past its deadline ends in TimedOut with the reason", described)

    described = by_name["invalid"]
    history = stack.history(arns["invalid"])
    check(described["status"] == "FAILED" and described.get("error") == "Request.Invalid"
          and "options.wait.min_seconds" in described.get("cause", "")
          and not any(e["type"] == "MapStateEntered" for e in history),
          "an invalid job started by hand fails in Validate, naming the field, before anything starts", described)

    described = by_name["notajob"]
    history = stack.history(arns["notajob"])
    check(described["status"] == "FAILED" and described.get("error") == "Request.Invalid"
          and not any(e["type"] == "MapStateEntered" for e in history),
          "an input that is not a job fails in Validate with Request.Invalid, before anything starts",
          described)

    waits = [json.loads(e["stateEnteredEventDetails"]["input"])["wait_seconds"]
             for arn in arns.values() for history in stack.histories(arn) for e in history
             if e["type"] == "WaitStateEntered"]
    check(waits and all(1 <= w <= 2 for w in waits),
          f"the Wait states took check-status's wait_seconds, within the jobs' bounds ({len(waits)} waits)", waits)

    # Each further check costs the events from one Check's start to the next: they bound how
    # many checks fit in one execution's 25,000-event history.
    longest = max(arns, key=lambda name: output(by_name[name]).get("checks", 0))
    history = max(stack.histories(arns[longest]), key=len)  # the chunk's: its loop runs there
    starts = [i for i, e in enumerate(history) if e["type"] == "TaskStateEntered"
              and e["stateEnteredEventDetails"]["name"] == "Check"]
    gaps = sorted({b - a for a, b in zip(starts, starts[1:])})
    check(len(starts) >= 2 and max(gaps) <= 10,
          f"each further check costs {gaps} history events ({longest}: {len(history)} events for "
          f"{len(starts)} checks), so options.max_checks 2,000 fits in 25,000 events", gaps)

    events = stack.finished_events()
    by_job = {e["detail"].get("job_id") or e["detail"].get("job", {}).get("job_id"): e for e in events}
    check(set(by_job) == set(arns), "a completion event reached EventBridge for every execution",
          sorted(by_job))
    invalid = by_job.get("invalid", {}).get("detail", {})
    check(invalid.get("state") == "failed" and invalid.get("error") == "Request.Invalid"
          and invalid.get("execution_arn") == arns["invalid"],
          "… and its completion event says so", invalid)
    notajob = by_job.get("notajob", {}).get("detail", {})
    check(notajob.get("state") == "failed" and notajob.get("error") == "Request.Invalid"
          and notajob.get("execution_arn") == arns["notajob"],
          "… and so does the completion event of the input that was not a job", notajob)
    detail = by_job.get("map", {}).get("detail", {})
    check(detail.get("state") == "partial" and len(detail.get("items", [])) == 4
          and detail.get("checks", 0) >= 1 and "duration_seconds" in detail
          and {i["state"] for i in detail["items"]} == {"succeeded", "failed"},
          "the Map job's event has per-item results, state partial, checks and duration", detail)


def phase_two(stack: Stack) -> None:
    """Throttling absorbed by Retry; webhooks and events handing jobs to the state machine."""
    emulator_call(stack.emulator_url, "POST", "/_emulator/faults",
                  {"cloud": "alibaba", "action": "ExportImage", "kind": "throttle", "times": 5})
    throttled = stack.start("throttled", job("throttled", "export", [dict(EXPORTS["alibaba"], prefix="throttled")]))

    before = len(stack.executions())
    for case, event in [("unsigned", json.loads((ROOT / "functions/events/start-sync/webhook.json").read_text())),
                        ("wrong secret", signed("start-sync/webhook.json", secret="not-the-secret"))]:
        status, body = http(stack.invoke("start-sync", event))
        check(status == 401 and body.get("error") == "Webhook.Unauthorized", f"webhook {case}: 401", body)
    status, body = http(stack.invoke("start-sync", signed("start-sync/webhook.json",
                                                          body={"job_id": "bad", "requests": [{"cloud": "alibaba"}]})))
    check(status == 400 and body.get("field") == "requests[0]", "webhook with an invalid job: 400 naming the field", body)
    check(len(stack.executions()) == before, "refused webhooks started no execution")

    event = signed("start-sync/webhook.json")
    first = http(stack.invoke("start-sync", event))
    again = http(stack.invoke("start-sync", event))
    check(first[0] == 202 and first[1].get("duplicate") is False, "signed webhook: 202, execution started", first)
    check(again[0] == 202 and again[1].get("duplicate") is True
          and again[1].get("execution_arn") == first[1].get("execution_arn"),
          "the same delivery again: 202 with the same execution, nothing new started", again)
    status, body = http(stack.invoke("check-status", signed("check-status/webhook.json", body={"job_id": "replicate-web"})))
    check(status == 200 and body.get("status") in ("RUNNING", "SUCCEEDED") and body.get("execution_arn") == first[1].get("execution_arn"),
          "check-status webhook answers the running job's status", body)

    scheduled = json.loads((ROOT / "functions/events/start-export/eventbridge.json").read_text())
    from_event = stack.invoke("start-export", scheduled)
    repeated = stack.invoke("start-export", scheduled)
    check("execution_arn" in from_event and from_event.get("duplicate") is False,
          "EventBridge event: the job's execution started", from_event)
    check(repeated.get("duplicate") is True and repeated.get("execution_arn") == from_event.get("execution_arn"),
          "the same event delivered twice starts one execution", repeated)

    arns = [throttled, first[1].get("execution_arn"), from_event.get("execution_arn")]
    results = stack.wait([a for a in arns if a])
    described = results.get(throttled, {})
    failed = [e for history in stack.histories(throttled) for e in history if e["type"] == "LambdaFunctionFailed"]
    check(described.get("status") == "SUCCEEDED" and failed
          and all(e["lambdaFunctionFailedEventDetails"]["error"] == "Cloud.Throttled" for e in failed),
          f"throttling absorbed by Retry on Cloud.Throttled ({len(failed)} failed attempt(s), then success)",
          [described.get("status"), [e.get("lambdaFunctionFailedEventDetails") for e in failed]])
    for arn in arns[1:]:
        check(arn in results and results[arn]["status"] == "SUCCEEDED", f"started by webhook/event: SUCCEEDED ({arn})",
              results.get(arn))
    status, body = http(stack.invoke("check-status", signed("check-status/webhook.json", body={"job_id": "replicate-web"})))
    check(status == 200 and body.get("status") == "SUCCEEDED" and body.get("state") == "succeeded",
          "check-status webhook after the end: SUCCEEDED with the summary", body)


def phase_selection(stack: Stack) -> None:
    """Issue 14: a selector job with skip_existing, run twice on the state machine with a new
    image build appearing between the runs: the second run exports only the new build and
    reports the rest skipped; the summary lists what the selector matched."""
    def add_builds(builds: list) -> None:
        # Ages on the cloud clock (which runs ahead): each build predates the execution's start.
        clock = emulator_call(stack.emulator_url, "GET", "/_emulator/clock")
        ahead = max(0.0, clock["cloud_now"] - clock["wall_now"])
        emulator_call(stack.emulator_url, "POST", "/_emulator/images", [
            {"image": {"cloud": "volcengine", "region": "cn-beijing", "id": image_id, "name": name,
                       "size_gb": 1, "tags": {"backup": "e2e"}}, "age_seconds": ahead + age}
            for image_id, name, age in builds])

    add_builds([("image-yce2esel00000000001", "e2e-a", 7200), ("image-yce2esel00000000002", "e2e-b", 7200),
                ("image-yce2esel00000000003", "e2e-c", 7200)])
    nightly = job("nightly-e2e", "export", [
        {"cloud": "volcengine", "region": "cn-beijing", "bucket": "imgflow-tos-backup", "prefix": "e2esel",
         "select": {"tags": {"backup": "e2e"}, "newest_per_name": 1}, "skip_existing": True}])
    runs = []
    for night in (1, 2):
        if night == 2:
            add_builds([("image-yce2esel00000000004", "e2e-a", 60)])
        arn = stack.start(f"nightly-e2e-{night}", nightly)
        runs.append(output(stack.wait([arn])[arn]))
    counts = [(r.get("state"), r.get("tasks_total"), r.get("tasks_skipped")) for r in runs]
    check(counts == [("succeeded", 3, 0), ("succeeded", 3, 2)],
          "selector job with skip_existing: run 1 exports 3, run 2 exports the new build and skips 2", counts)
    selected = [sorted(i["id"] for s in r.get("selections", []) for i in s["images"]) for r in runs]
    check(selected[1] == ["image-yce2esel00000000002", "image-yce2esel00000000003", "image-yce2esel00000000004"],
          "… the summary lists what the selector matched on the second night", selected)
    exported = [t["image_id"] for item in runs[1].get("items", []) for t in item["tasks"] if not t.get("skipped")]
    check(exported == ["image-yce2esel00000000004"], "… and only the new build was exported", exported)


def logs_hold_no_secret(stack: Stack) -> None:
    logs = stack.watch_log.read_text(errors="replace")
    check('"job_id"' in logs and '"level":"TRACE"' in logs.replace(" ", ""),
          "the functions logged JSON at TRACE level", logs[-2000:])
    for name, secret in [("cloud secret key", CLOUD_SK), ("webhook secret", WEBHOOK_SECRET),
                         ("AWS secret key", AWS_SECRET)]:
        check(secret not in logs, f"no {name} in the functions' logs ({len(logs)} bytes at TRACE)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emulator", default=str(ROOT / "target/debug/cloud-emulator"))
    parser.add_argument("--log-dir", default=str(ROOT / "target/e2e-logs"))
    args = parser.parse_args()
    log_dir = Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    # watch runs `cargo run --bin NAME`: build once here so the first invocation does not compile.
    subprocess.run(["cargo", "build", "--locked", "-q", *sum((["-p", f] for f in FUNCTIONS), [])], cwd=ROOT, check=True)
    started = time.time()
    stack = Stack(args.emulator, log_dir)
    try:
        phase_one(stack)
        phase_two(stack)
        phase_selection(stack)
    finally:
        stack.stop()
    logs_hold_no_secret(stack)
    # A job of 1,000 tasks fanned out over the four clouds (issue 15): its own engine, so its
    # own process (moto's backends are global to one).
    fanout = subprocess.run([sys.executable, str(HERE / "fanout.py"), "--tasks", "1000", "--no-build",
                             "--emulator", args.emulator, "--log-dir", str(log_dir / "fanout")])
    check(fanout.returncode == 0, "tests/e2e/fanout.py: a job of 1,000 tasks fanned out end to end",
          f"exit {fanout.returncode}")
    # check-status unreachable past the Check's Retry (issue 12): its own engine too.
    outage = subprocess.run([sys.executable, str(HERE / "lambda_outage.py"), "--no-build",
                             "--emulator", args.emulator, "--log-dir", str(log_dir / "lambda-outage")])
    check(outage.returncode == 0, "tests/e2e/lambda_outage.py: a Lambda outage pauses a chunk, a long one ends it "
          "with Check.Unreachable", f"exit {outage.returncode}")
    print(f"\n{len(failures)} failed; {time.time() - started:.1f} s (logs in {log_dir})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
