#!/usr/bin/env python3
"""The Lambda Invoke API as real Lambda answers it, in front of `cargo lambda watch`.

`cargo lambda watch` serves POST /2015-03-31/functions/NAME/invocations for bare binary names
only, and answers a function error with HTTP 500. Real Lambda (and so the SDKs and Step
Functions) expects ARNs and `name:qualifier` too, and a function error as 200 plus
`X-Amz-Function-Error: Unhandled`. This shim:

  * accepts NAME, NAME:QUALIFIER, a full or partial function ARN, raw or %-encoded;
  * forwards to UPSTREAM/2015-03-31/functions/NAME/invocations with the body unchanged;
  * upstream 500 -> 200 + X-Amz-Function-Error: Unhandled, body unchanged
    ({"errorType": ..., "errorMessage": ...});
  * upstream 404 -> 404 ResourceNotFoundException (as Lambda: x-amzn-ErrorType header, JSON body);
  * upstream unreachable -> 502 ServiceException;
  * X-Amz-Invocation-Type: Event -> 202 at once, the function runs in the background;
    DryRun -> 204 without running it;
  * optionally (`lose_answer`, for tests/e2e/soak.py) a synchronous invocation runs the
    function and then answers 500 ServiceException instead of its result, as Lambda does when
    it loses an answer: the caller (Step Functions) sees a Lambda service error and retries.

    python3 tests/e2e/lambda_shim.py --listen 9001 --upstream http://127.0.0.1:9000

prints its base URL (http://127.0.0.1:PORT) as the first line of stdout; --listen 0 picks a
free port. From Python: `server, url = start(upstream, port=0)`; `server.shutdown()` stops it.
"""

import argparse
import http.client
import json
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")
# arn:aws:lambda:us-east-1:123456789012:function:NAME[:QUALIFIER], 123456789012:function:NAME[:Q], NAME[:Q]
FUNCTION_REF = re.compile(
    r"^(?:arn:[^:]+:lambda:[^:]*:\d{12}:function:|\d{12}:function:)?([A-Za-z0-9_-]{1,140})(?::([$A-Za-z0-9_-]+))?$"
)
REGION = "us-east-1"
ACCOUNT = "123456789012"
# The first invocation of a function makes watch compile it (`cargo run`): be generous.
UPSTREAM_TIMEOUT = 900


class _Server(ThreadingHTTPServer):
    # The listen backlog: the default 5 resets connections when a fanned-out job's chunks
    # invoke dozens of functions at once (Lambda itself queues them).
    request_queue_size = 256


def function_name(ref: str) -> str | None:
    """The bare function name in a name, `name:qualifier` or ARN; None if it is none of them."""
    m = FUNCTION_REF.match(urllib.parse.unquote(ref))
    return m.group(1) if m else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream: urllib.parse.SplitResult  # set by start()
    quiet = False
    # Called with the function name and the invocation's payload after it ran; True: lose its
    # answer (500 ServiceException).
    lose_answer = None

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urllib.parse.urlsplit(self.path).path
        m = INVOKE_PATH.match(path)
        if not m:
            return self._error(404, "UnknownOperationException", f"unknown operation POST {path}")
        ref = urllib.parse.unquote(m.group(1))
        name = function_name(ref)
        if name is None:
            return self._error(400, "ValidationException", f"invalid function name: {ref}")

        kind = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if kind == "DryRun":
            return self._send(204, b"", {})
        if kind == "Event":
            threading.Thread(target=self._forward, args=(name, body), daemon=True).start()
            return self._send(202, b"", {})

        started = time.monotonic()
        try:
            status, payload = self._forward(name, body)
        except OSError as e:
            return self._error(502, "ServiceException", f"upstream {self.upstream.geturl()}: {e}")
        self._log(f"invoke {name} ({ref}) -> upstream {status} in {time.monotonic() - started:.2f}s")

        headers = {"X-Amz-Executed-Version": "$LATEST", "Content-Type": "application/json"}
        if self.lose_answer is not None and self.lose_answer(name, body):
            return self._error(500, "ServiceException", f"answer of {name} lost (simulated)")
        if status == 200:
            return self._send(200, payload, headers)
        if status == 500:  # the function returned an error: as Lambda answers it
            return self._send(200, payload, headers | {"X-Amz-Function-Error": "Unhandled"})
        if status == 404:
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
            return self._error(404, "ResourceNotFoundException", f"Function not found: {arn}")
        return self._send(status, payload, {"Content-Type": "application/json"})

    def _forward(self, name: str, body: bytes) -> tuple[int, bytes]:
        up = self.upstream
        conn = http.client.HTTPConnection(up.hostname, up.port or 80, timeout=UPSTREAM_TIMEOUT)
        try:
            path = f"{up.path.rstrip('/')}/2015-03-31/functions/{name}/invocations"
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def _error(self, status: int, kind: str, message: str) -> None:
        self._log(f"{kind}: {message}")
        body = json.dumps({"Type": "User" if status < 500 else "Service", "Message": message})
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": f"{kind}:"}
        self._send(status, body.encode(), headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("x-amzn-RequestId", f"shim-{time.time_ns():x}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _log(self, line: str) -> None:
        if not self.quiet:
            print(f"lambda_shim: {line}", file=sys.stderr, flush=True)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's signature)
        pass  # one line per invocation is logged by do_POST instead


def start(upstream: str, port: int = 0, host: str = "127.0.0.1", quiet: bool = False, lose_answer=None):
    """Serve in a background thread; returns (server, base_url). `lose_answer(name, payload)
    -> bool`, if given, decides after each synchronous invocation whether its answer is lost."""
    lose = None if lose_answer is None else staticmethod(lose_answer)
    handler = type("BoundHandler", (Handler,), {"upstream": urllib.parse.urlsplit(upstream), "quiet": quiet,
                                                "lose_answer": lose})
    server = _Server((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", type=int, default=9001, help="port (0: any free port); default 9001")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--upstream", default="http://127.0.0.1:9000", help="cargo lambda watch's base URL")
    ap.add_argument("--quiet", action="store_true", help="do not log invocations to stderr")
    args = ap.parse_args()
    server, url = start(args.upstream, args.listen, args.host, args.quiet)
    print(url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
