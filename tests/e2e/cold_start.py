#!/usr/bin/env python3
"""Bootstrap sizes and cold starts of the three functions (start-export, start-sync,
check-status) under a local Lambda Runtime API. Python 3.11 standard library only.

    export PATH="$PWD/.venv-e2e/bin:$PATH"
    cargo lambda build --release --arm64 -p start-export -p start-sync -p check-status
    CARGO_TARGET_DIR=target/lambda-x86 cargo lambda build --release \\
        -p start-export -p start-sync -p check-status
    python3 tests/e2e/cold_start.py [--lambda-dir target/lambda] \\
        [--native-dir target/lambda-x86/lambda] [--runs 10]

Sizes: bytes of each release `bootstrap` and of a deflate zip of it (zipfile, ZIP_DEFLATED,
level 9: what a Lambda deployment package of that one file would be), for arm64
(`--lambda-dir`, the deployed architecture) and x86_64 (`--native-dir`).

Cold start: arm64 binaries cannot run on an x86_64 host without qemu, so the cold start is
measured on the x86_64 builds. For each function and each run this script starts its own
Runtime API (http.server in a thread, a fresh port per run) with the first event already
queued, spawns the bootstrap with a clean environment (the AWS_LAMBDA_* variables Lambda
sets, IMGFLOW_WEBHOOK_SECRET and the four clouds' credentials; nothing inherited), and
measures from just before the spawn to the moment the Runtime API has received the whole
POST .../invocation/{id}/response or .../error. "init" is spawn → first
GET .../invocation/next. Then, once the process is waiting in its second GET .../next, a second
event is made available and the time to its answer is the warm invocation. The process is
killed after every run.

The events need no network: check-status gets a Step Functions input with no tasks
(`{"job_id":"cold","tasks":[]}`) and must answer a job state; the start functions get a
request that fails validation before any call and must answer errorType Request.Invalid
naming the field. Exit status 1 if any binary is missing or of the wrong architecture, or any
run failed, timed out or gave an unexpected answer.
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import os
import platform
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ("start-export", "start-sync", "check-status")
PREFIX = "/2018-06-01/runtime"

ELF_MACHINES = {0x3E: "x86_64", 0xB7: "aarch64"}

# The first (and second) event of each function, and what its answer must be.
EVENTS = {
    "start-export": {
        "request": {
            "cloud": "tencent",
            "region": "ap-guangzhou",
            "bucket": "b-1250000000",
            "image_ids": [],
            "format": "QCOW2",
        }
    },
    # The export request above would fail start-sync's parsing too; a copy request that
    # parses and then fails the request's own rules exercises the same path as start-export.
    "start-sync": {
        "request": {
            "cloud": "tencent",
            "region": "ap-guangzhou",
            "image_id": "img-cold0001",
            "destination_regions": [],
        }
    },
    "check-status": {"job_id": "cold", "tasks": []},
}
EXPECTED_FIELD = {
    "start-export": "request.image_ids",
    "start-sync": "request.destination_regions",
}
# `kind` is left out when the input has none, as here; a final state (this one: no task, so
# failed) leaves out its empty `tasks` and its zero `wait_seconds`.
CHECK_STATUS_KEYS = {"job_id", "state", "reason", "checks", "summary"}
JOB_STATES = {"running", "succeeded", "partial", "failed", "timed_out"}

CREDENTIALS = {
    "TENCENTCLOUD_SECRET_ID": "imgflow-emulator-ak",
    "TENCENTCLOUD_SECRET_KEY": "imgflow-emulator-sk",
    "ALIBABA_CLOUD_ACCESS_KEY_ID": "imgflow-emulator-ak",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "imgflow-emulator-sk",
    "VOLCENGINE_ACCESS_KEY": "imgflow-emulator-ak",
    "VOLCENGINE_SECRET_KEY": "imgflow-emulator-sk",
    "HUAWEICLOUD_SDK_AK": "imgflow-emulator-ak",
    "HUAWEICLOUD_SDK_SK": "imgflow-emulator-sk",
}


def function_env(function: str, port: int) -> dict[str, str]:
    """The bootstrap's whole environment: nothing is inherited from this process."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": "info",
        "IMGFLOW_WEBHOOK_SECRET": "x",
        **CREDENTIALS,
    }


# --------------------------------------------------------------------------- Runtime API


@dataclass
class Answer:
    request_id: str
    kind: str  # "response" or "error"
    at: float  # perf_counter() once the whole body was read
    body: bytes
    error_type_header: str | None


@dataclass
class RuntimeState:
    function: str
    cond: threading.Condition = field(default_factory=threading.Condition)
    events: collections.deque = field(default_factory=collections.deque)
    next_calls: list[float] = field(default_factory=list)
    answers: dict[str, Answer] = field(default_factory=dict)
    init_error: bytes | None = None
    unexpected: list[str] = field(default_factory=list)
    closing: bool = False


class RuntimeApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "imgflow-cold-start-runtime/1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass

    @property
    def state(self) -> RuntimeState:
        return self.server.state  # type: ignore[attr-defined]

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        state = self.state
        if self.path != f"{PREFIX}/invocation/next":
            with state.cond:
                state.unexpected.append(f"GET {self.path}")
            self._send(404, b'{"errorType":"NotFound"}')
            return
        with state.cond:
            state.next_calls.append(time.perf_counter())
            state.cond.notify_all()
            while not state.events and not state.closing:
                state.cond.wait()
            if state.closing:
                self.close_connection = True
                return
            request_id, payload = state.events.popleft()
        deadline_ms = int(time.time() * 1000) + 60_000
        trace = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"
        self._send(
            200,
            payload,
            {
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": (
                    f"arn:aws:lambda:us-east-1:123456789012:function:{state.function}"
                ),
                "Lambda-Runtime-Trace-Id": trace,
            },
        )

    def do_POST(self) -> None:  # noqa: N802
        body = self._read_body()
        at = time.perf_counter()
        state = self.state
        match = re.fullmatch(rf"{PREFIX}/invocation/([^/]+)/(response|error)", self.path)
        if match:
            answer = Answer(
                request_id=match.group(1),
                kind=match.group(2),
                at=at,
                body=body,
                error_type_header=self.headers.get("Lambda-Runtime-Function-Error-Type"),
            )
            with state.cond:
                if answer.request_id in state.answers:
                    state.unexpected.append(f"second answer for {answer.request_id}")
                state.answers[answer.request_id] = answer
                state.cond.notify_all()
            self._send(202, b'{"status":"OK"}')
        elif self.path == f"{PREFIX}/init/error":
            with state.cond:
                state.init_error = body or b"(empty body)"
                state.cond.notify_all()
            self._send(202, b'{"status":"OK"}')
        else:
            with state.cond:
                state.unexpected.append(f"POST {self.path}")
                state.cond.notify_all()
            self._send(404, b'{"errorType":"NotFound"}')


class RuntimeApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: RuntimeState) -> None:
        self.state = state
        super().__init__(("127.0.0.1", 0), RuntimeApiHandler)

    def handle_error(self, request, client_address) -> None:
        # A killed process resets its connections (and may miss the 202 to its last answer):
        # expected. Anything else is recorded and fails the run.
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionResetError, BrokenPipeError)):
            return
        with self.state.cond:
            if not self.state.closing:
                self.state.unexpected.append(f"Runtime API error: {error!r}")
                self.state.cond.notify_all()


class RuntimeApi:
    """One Runtime API server on a free port of 127.0.0.1, serving in a daemon thread."""

    def __init__(self, function: str) -> None:
        self.state = RuntimeState(function)
        self.server = RuntimeApiServer(self.state)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def queue(self, payload: bytes) -> tuple[str, float]:
        request_id = str(uuid.uuid4())
        with self.state.cond:
            at = time.perf_counter()
            self.state.events.append((request_id, payload))
            self.state.cond.notify_all()
        return request_id, at

    def wait_for(self, predicate, process: subprocess.Popen, timeout: float) -> str | None:
        """Waits until predicate() holds (under the lock). Returns None, or why it stopped."""
        end = time.monotonic() + timeout
        with self.state.cond:
            while True:
                if predicate():
                    return None
                if self.state.init_error is not None:
                    return "init error: " + self.state.init_error.decode(errors="replace")[:500]
                if self.state.unexpected:
                    return "unexpected Runtime API calls: " + "; ".join(self.state.unexpected)
                code = process.poll()
                if code is not None:
                    return f"the process exited with status {code}"
                left = end - time.monotonic()
                if left <= 0:
                    return f"timed out after {timeout:g} s"
                self.state.cond.wait(min(left, 0.05))

    def close(self) -> None:
        with self.state.cond:
            self.state.closing = True
            self.state.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- checks


def check_answer(function: str, answer: Answer) -> str | None:
    """None if the answer is the one expected for this function's event, else why not."""
    try:
        body = json.loads(answer.body)
    except ValueError:
        return f"{answer.kind} body is not JSON: {answer.body[:300]!r}"
    if function == "check-status":
        if answer.kind != "response":
            return f"expected a response, got an error: {answer.body[:300]!r}"
        if not isinstance(body, dict):
            return f"expected a job state object, got {body!r:.300}"
        missing = CHECK_STATUS_KEYS - body.keys()
        if missing:
            return f"job state without {sorted(missing)}: {answer.body[:300]!r}"
        if body["job_id"] != "cold" or body.get("tasks", []) != [] or body["state"] not in JOB_STATES:
            return f"unexpected job state: {answer.body[:300]!r}"
        return None
    if answer.kind != "error":
        return f"expected an error, got a response: {answer.body[:300]!r}"
    error_type = body.get("errorType") if isinstance(body, dict) else None
    message = body.get("errorMessage", "") if isinstance(body, dict) else ""
    if error_type != "Request.Invalid":
        return f"expected errorType Request.Invalid, got {answer.body[:300]!r}"
    if EXPECTED_FIELD[function] not in str(message):
        return f"expected the message to name {EXPECTED_FIELD[function]}: {message!r:.300}"
    return None


# --------------------------------------------------------------------------- one run


@dataclass
class Run:
    cold_ms: float | None = None
    init_ms: float | None = None
    warm_ms: float | None = None
    error: str | None = None


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("      | " + line[:300] for line in text[-lines:])


def measure_once(function: str, bootstrap: Path, timeout: float, log_dir: Path, index: int) -> Run:
    run = Run()
    api = RuntimeApi(function)
    payload = json.dumps(EVENTS[function]).encode()
    log_path = log_dir / f"{function}-{index}.log"
    process = None
    try:
        first_id, _ = api.queue(payload)
        with open(log_path, "wb") as log:
            spawned = time.perf_counter()
            process = subprocess.Popen(
                [str(bootstrap)],
                env=function_env(function, api.port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=tempfile.gettempdir(),
                start_new_session=True,  # its own process group, killed as a whole below
            )
        state = api.state
        why = api.wait_for(lambda: first_id in state.answers, process, timeout)
        if why:
            run.error = f"first event: {why}"
            return run
        first = state.answers[first_id]
        run.cold_ms = (first.at - spawned) * 1000
        run.init_ms = (state.next_calls[0] - spawned) * 1000
        wrong = check_answer(function, first)
        if wrong:
            run.error = f"first event: {wrong}"
            return run

        # Warm: wait until the process is blocked in its second GET .../next, then queue.
        why = api.wait_for(lambda: len(state.next_calls) >= 2, process, timeout)
        if why:
            run.error = f"waiting for the second GET /next: {why}"
            return run
        second_id, available = api.queue(payload)
        why = api.wait_for(lambda: second_id in state.answers, process, timeout)
        if why:
            run.error = f"second event: {why}"
            return run
        second = state.answers[second_id]
        run.warm_ms = (second.at - available) * 1000
        wrong = check_answer(function, second)
        if wrong:
            run.error = f"second event: {wrong}"
        return run
    finally:
        if process is not None:
            if process.returncode is None:  # not reaped yet: the group id is still ours
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            process.wait(timeout=10)
        api.close()
        if run.error:
            run.error += f"\n    last lines of the function's output:\n{tail(log_path)}"


# --------------------------------------------------------------------------- sizes


def elf_machine(path: Path) -> str:
    with open(path, "rb") as f:
        header = f.read(20)
    if header[:4] != b"\x7fELF":
        return "not ELF"
    order = "little" if header[5] == 1 else "big"
    machine = int.from_bytes(header[18:20], order)
    return ELF_MACHINES.get(machine, f"e_machine {machine:#x}")


def zip_size(path: Path) -> int:
    buffer = io.BytesIO()
    info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(info, path.read_bytes(), compresslevel=9)
    return len(buffer.getvalue())


@dataclass
class Binary:
    path: Path
    size: int | None = None
    zipped: int | None = None
    mtime: float | None = None
    error: str | None = None


def inspect(path: Path, expected_machine: str) -> Binary:
    binary = Binary(path)
    if not path.is_file():
        binary.error = f"{path}: missing"
        return binary
    machine = elf_machine(path)
    if machine != expected_machine:
        binary.error = f"{path}: {machine}, expected {expected_machine}"
    binary.size = path.stat().st_size
    binary.mtime = path.stat().st_mtime
    binary.zipped = zip_size(path)
    return binary


def newest_source() -> tuple[float, Path | None]:
    """The newest file that goes into the functions' binaries (not tests, benches, the CLI)."""
    newest, newest_path = 0.0, None
    candidates = [ROOT / "Cargo.toml", ROOT / "Cargo.lock", ROOT / "shared/Cargo.toml"]
    candidates += (ROOT / "shared/src").rglob("*.rs")
    for crate in ("common", *FUNCTIONS):
        candidates.append(ROOT / "functions" / crate / "Cargo.toml")
        candidates += (ROOT / "functions" / crate / "src").rglob("*.rs")
    for path in candidates:
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        if mtime > newest:
            newest, newest_path = mtime, path
    return newest, newest_path


def arm64_emulation() -> str:
    binfmt = Path("/proc/sys/fs/binfmt_misc")
    try:
        entries = sorted(p.name for p in binfmt.iterdir())
    except OSError:
        return f"{binfmt} not readable: no binfmt handlers"
    handlers = [e for e in entries if e not in ("register", "status")]
    arm = [e for e in handlers if "aarch64" in e or "arm64" in e]
    if arm:
        return f"binfmt_misc has {', '.join(arm)} (arm64 could run emulated; not used: emulated timings mean nothing)"
    return f"binfmt_misc handlers: {', '.join(handlers) or 'none'} (no qemu-aarch64)"


# --------------------------------------------------------------------------- main


def fmt_bytes(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lambda-dir",
        type=Path,
        default=ROOT / "target/lambda",
        help="arm64 release bootstraps, <dir>/<fn>/bootstrap (default: %(default)s)",
    )
    parser.add_argument(
        "--native-dir",
        type=Path,
        default=ROOT / "target/lambda-x86/lambda",
        help="x86_64 release bootstraps, run for the cold starts (default: %(default)s)",
    )
    parser.add_argument("--runs", type=int, default=10, help="cold starts per function (default 10)")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for each answer (default 10)"
    )
    parser.add_argument(
        "--function", action="append", choices=FUNCTIONS, help="only these functions (repeatable)"
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    functions = tuple(f for f in FUNCTIONS if not args.function or f in args.function)
    lambda_dir = args.lambda_dir.resolve()
    native_dir = args.native_dir.resolve()

    def rel(path: Path) -> str:
        try:
            return str(path.relative_to(ROOT))
        except ValueError:
            return str(path)

    packages = " ".join(f"-p {f}" for f in FUNCTIONS)
    script_args = [
        "python3",
        "tests/e2e/cold_start.py",
        "--lambda-dir",
        rel(lambda_dir),
        "--native-dir",
        rel(native_dir),
        "--runs",
        str(args.runs),
    ] + [a for f in (args.function or []) for a in ("--function", f)]
    print("# Cold starts and bootstrap sizes\n")
    print("Reproduce (from the workspace root):\n")
    print("```bash")
    print('export PATH="$PWD/.venv-e2e/bin:$PATH"')
    print(f"cargo lambda build --release --arm64 {packages}")
    print(f"CARGO_TARGET_DIR=target/lambda-x86 cargo lambda build --release {packages}")
    print(shlex.join(script_args))
    print("```\n")

    failures: list[str] = []
    arm = {f: inspect(lambda_dir / f / "bootstrap", "aarch64") for f in functions}
    native = {f: inspect(native_dir / f / "bootstrap", "x86_64") for f in functions}
    for binary in [*arm.values(), *native.values()]:
        if binary.error:
            failures.append(binary.error)

    newest, newest_path = newest_source()
    stale = [
        rel(b.path)
        for b in [*arm.values(), *native.values()]
        if b.mtime is not None and b.mtime < newest
    ]

    host_machine = platform.machine()
    print(f"- Host: {platform.system()} {host_machine}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())} (1 / 5 / 15 min) at start.")
    print(f"- arm64 on this host: {arm64_emulation()}. Sizes are given for both architectures; "
          f"**cold and warm times are measured on the x86_64 builds** ({rel(native_dir)}), "
          f"not on the arm64 ones that are deployed.")
    print("- Zip: one-file deployment package, python zipfile ZIP_DEFLATED level 9.")
    print(f"- Cold start: {args.runs} runs per function, each a fresh process and a fresh Runtime API "
          "(http.server, 127.0.0.1), from just before the process spawn to the Runtime API having "
          "read the whole answer (POST .../response or .../error) to the first event. "
          "Warm: the second event on the same process, from making it available (the process "
          "already waiting in GET .../next) to its answer.")
    events = "; ".join(f"{f}: `{json.dumps(EVENTS[f], separators=(',', ':'))}`" for f in functions)
    print(f"- Events (no network needed): {events}. Expected: check-status answers a job state; "
          "the start functions answer errorType `Request.Invalid` naming the field.")
    env_names = ", ".join(k for k in function_env("FN", 0) if k != "PATH")
    print(f"- Environment of the bootstrap (nothing inherited but PATH): {env_names}.")
    if stale:
        print(f"- **Warning:** older than the newest source file ({rel(newest_path)}): "
              f"{', '.join(stale)}. Rebuild for current numbers.")
    print()
    sys.stdout.flush()

    results: dict[str, list[Run]] = {}
    with tempfile.TemporaryDirectory(prefix="imgflow-cold-start-") as tmp:
        log_dir = Path(tmp)
        for function in functions:
            runs: list[Run] = []
            if native[function].error is None:
                for index in range(args.runs):
                    run = measure_once(function, native[function].path, args.timeout, log_dir, index)
                    runs.append(run)
                    if run.error:
                        # The log's tail is in run.error: the directory goes away.
                        failures.append(f"{function} run {index + 1}: {run.error}")
            results[function] = runs

    print("| function | arm64 bytes | arm64 zip | x86_64 bytes | x86_64 zip "
          "| cold start median / min / max ms (x86_64, process spawn → first answer) "
          "| warm median ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for function in functions:
        cold = [r.cold_ms for r in results[function] if r.cold_ms is not None and not r.error]
        warm = [r.warm_ms for r in results[function] if r.warm_ms is not None and not r.error]
        cold_text = (
            f"{statistics.median(cold):.1f} / {min(cold):.1f} / {max(cold):.1f}" if cold else "—"
        )
        ok = len(cold)
        if ok != args.runs:
            cold_text += f" ({ok} of {args.runs} runs ok)"
        print(
            f"| {function} | {fmt_bytes(arm[function].size)} | {fmt_bytes(arm[function].zipped)} "
            f"| {fmt_bytes(native[function].size)} | {fmt_bytes(native[function].zipped)} "
            f"| {cold_text} | {fmt_ms(statistics.median(warm)) if warm else '—'} |"
        )

    print("\nBreakdown of the cold start (medians, ms): init = spawn → first GET .../next; "
          "first invocation = the rest (configuration and clients built on the first event, "
          "the handler, the POST).\n")
    print("| function | init | first invocation | cold total | warm min / max |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for function in functions:
        good = [r for r in results[function] if not r.error and r.cold_ms is not None]
        if not good:
            print(f"| {function} | — | — | — | — |")
            continue
        init = statistics.median(r.init_ms for r in good)
        first = statistics.median(r.cold_ms - r.init_ms for r in good)
        total = statistics.median(r.cold_ms for r in good)
        warm = [r.warm_ms for r in good]
        print(f"| {function} | {init:.1f} | {first:.1f} | {total:.1f} | {min(warm):.2f} / {max(warm):.2f} |")

    print(f"\nLoad average at the end: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}.")
    if failures:
        print(f"\n**{len(failures)} failure(s):**\n")
        for failure in failures:
            print(f"- {failure}")
        return 1
    print("\nAll runs answered as expected.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
