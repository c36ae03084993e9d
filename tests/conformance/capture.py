#!/usr/bin/env python3
"""Capture signing conformance vectors from the clouds' official Python SDKs.

Each vector is one HTTP request that an official SDK really sent, over a real
TCP socket, to a capture server on 127.0.0.1.  The SDK believes it talks to the
production host (its Host header says so, the scheme is plain http) because
`socket.getaddrinfo` answers those host names, on port 80 only, with the
capture server's address.  Nothing leaves the machine: every other name is
refused.

Inside the SDK modules the clock, every nonce / uuid and every machine-specific
string that reaches a header are pinned, so two runs on any machine produce
byte-identical files.  The pinning points are listed per cloud below
(search for "Pinning points") and in README.md.

Usage:
    python capture.py [--out DIR]   write vectors/{tencent,alibaba,volcengine,huawei}.jsonl
    python capture.py --check       capture into a temp dir, diff against the committed files
"""

from __future__ import annotations

import argparse
import datetime as _datetime
import difflib
import hashlib
import importlib.metadata
import json
import os
import re
import socket
import sys
import tempfile
import threading
import time
import types
import uuid as _uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Optional

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "vectors"
PROVIDERS = ("tencent", "alibaba", "volcengine", "huawei")

# ---------------------------------------------------------------------------
# Shared test data
# ---------------------------------------------------------------------------

# Timestamps (unix seconds) the SDK clocks are pinned to.
T_PLAIN = 1751371200  # 2025-07-01T12:00:00Z
T_YEAR_END = 1767225599  # 2025-12-31T23:59:59Z: last second of a year
T_NEW_YEAR = 1767225600  # 2026-01-01T00:00:00Z: the date in the scope rolls over
T_LEAP_DAY = 1709210096  # 2024-02-29T12:34:56Z
T_LEAP_DAY_END = 1835481599  # 2028-02-29T23:59:59Z
T_FAR = 1907740800  # 2030-06-15T08:00:00Z

# Characters that stress canonicalisation: CJK, space, the sub-delims and
# percent that encoders disagree about, and a 4-byte UTF-8 emoji.
SPECIAL = "备份 /~*+%&=😀"


@dataclass(frozen=True)
class Creds:
    ak: str
    sk: str
    token: Optional[str] = None

    def as_json(self) -> dict:
        out = {"ak": self.ak, "sk": self.sk}
        if self.token is not None:
            out["token"] = self.token
        return out


@dataclass(frozen=True)
class Reply:
    """What the capture server answers: a minimal success the SDK parses."""

    body: dict
    headers: tuple = (("Content-Type", "application/json"),)
    status: int = 200


@dataclass
class Case:
    """One vector to capture: `send` makes the SDK issue exactly one request."""

    id: str
    provider: str
    service: str
    region: str
    creds: Creds
    timestamp: int
    operation: str
    send: Callable[["Case"], None]
    reply: Reply
    sdk_package: str = ""


@dataclass
class Captured:
    method: str
    target: str
    headers: list
    body: bytes


def snake_case(operation: str) -> str:
    """The SDK method name of an API operation: ExportImage -> export_image."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def ids(prefix: str, count: int, width: int = 8) -> list:
    """Deterministic, realistic-looking resource ids: prefix + zero-padded hex."""
    return [f"{prefix}{i:0{width}x}" for i in range(1, count + 1)]


# ---------------------------------------------------------------------------
# Pins: the clock and the nonces every SDK reads, per vector
# ---------------------------------------------------------------------------


class Pin:
    """The pinned clock and nonce source for the vector being captured."""

    vector_id = ""
    timestamp = 0
    _draws = 0
    # --fresh: a clock near the real one and truly random nonces, for vectors no test has
    # seen before (tests/conformance/check_fresh.py).
    fresh = False

    @classmethod
    def start(cls, case: Case) -> None:
        cls.vector_id = case.id
        cls.timestamp = case.timestamp
        if cls.fresh:
            cls.timestamp = int(time.time()) + int.from_bytes(os.urandom(4), "big") % (4 * 365 * 86400)
        cls._draws = 0

    @classmethod
    def random_bytes(cls, label: str, n: int) -> bytes:
        """Bytes derived from the vector id, so each vector has its own nonces."""
        if cls.fresh:
            return os.urandom(n)
        cls._draws += 1
        seed = f"{cls.vector_id}|{label}|{cls._draws}".encode()
        return hashlib.sha256(seed).digest()[:n]

    @classmethod
    def uuid4(cls) -> _uuid.UUID:
        return _uuid.UUID(bytes=cls.random_bytes("uuid4", 16), version=4)

    @classmethod
    def hex_nonce(cls, label: str) -> str:
        return cls.random_bytes(label, 16).hex()

    @classmethod
    def utcnow(cls) -> _datetime.datetime:
        # Naive UTC, as datetime.utcnow() returns.
        return _datetime.datetime(1970, 1, 1) + _datetime.timedelta(seconds=cls.timestamp)


class PinnedDateTime(_datetime.datetime):
    """datetime.datetime whose utcnow()/now() read the pinned clock."""

    @classmethod
    def utcnow(cls):
        return Pin.utcnow()

    @classmethod
    def now(cls, tz=None):
        if tz is None:
            raise RuntimeError("capture: a local-time clock read would be machine-specific")
        return Pin.utcnow().replace(tzinfo=_datetime.timezone.utc).astimezone(tz)


def shadow(module: types.ModuleType, **overrides) -> types.ModuleType:
    """A copy of `module` with some attributes replaced.

    Installed under the name an SDK module imported (e.g. its global `time`),
    it pins what that SDK module reads without touching the real module that
    the rest of the process (the HTTP stack, the capture server) uses.
    """
    copy = types.ModuleType(module.__name__)
    copy.__dict__.update(vars(module))
    copy.__dict__.update(overrides)
    return copy


# ---------------------------------------------------------------------------
# SDK stages: the canonical request and string to sign the SDK itself built
# ---------------------------------------------------------------------------


class SdkStages:
    """What the SDK's own signing code built for the vector being captured.

    Hooks inside each SDK (install_<cloud>_stage_hooks) record the string to sign
    the SDK handed to its HMAC, and every text it hashed on the way.  The
    canonical request is the hashed text whose SHA-256 is the last line of that
    string to sign: picking it by its hash, not by call order, means a hook that
    also sees the payload being hashed cannot record the wrong text.
    """

    hashed: list = []
    strings_to_sign: list = []

    @classmethod
    def start(cls) -> None:
        cls.hashed = []
        cls.strings_to_sign = []

    @classmethod
    def record_hashed(cls, data) -> None:
        cls.hashed.append(bytes(data))

    @classmethod
    def record_string_to_sign(cls, text: str) -> None:
        cls.strings_to_sign.append(text)

    @classmethod
    def expected(cls, case_id: str) -> dict:
        """`canonical_request` and `string_to_sign`, or {} when the SDK exposed neither."""
        if not cls.strings_to_sign:
            return {}
        if len(cls.strings_to_sign) != 1:
            raise RuntimeError(f"{case_id}: the SDK built {len(cls.strings_to_sign)} strings to sign")
        string_to_sign = cls.strings_to_sign[0]
        digest = string_to_sign.rsplit("\n", 1)[-1]
        matches = {raw for raw in cls.hashed if hashlib.sha256(raw).hexdigest() == digest}
        if len(matches) != 1:
            raise RuntimeError(f"{case_id}: {len(matches)} hashed texts match the string to sign")
        return {"canonical_request": matches.pop().decode("utf-8"), "string_to_sign": string_to_sign}


def recording_sha256(data=b"", **kwargs):
    """hashlib.sha256 that records what it hashes (for a module's shadowed `hashlib`)."""
    SdkStages.record_hashed(data)
    return hashlib.sha256(data, **kwargs)


# ---------------------------------------------------------------------------
# Process-wide determinism and isolation
# ---------------------------------------------------------------------------

# Environment variables the SDKs or `requests` read: proxies would reroute the
# socket, credential / user-agent / debug variables would change headers.
_ENV_PREFIXES = ("ALIBABA_CLOUD_", "ALICLOUD_", "TENCENTCLOUD_", "VOLCSTACK_", "VOLCENGINE_",
                 "HUAWEICLOUD_")
_ENV_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "DEBUG", "CURL_CA_BUNDLE",
              "REQUESTS_CA_BUNDLE")


def scrub_environment(scratch: Path) -> None:
    for name in list(os.environ):
        if name.upper() in _ENV_NAMES or name.upper().startswith(_ENV_PREFIXES):
            del os.environ[name]
    # requests would add an Authorization from ~/.netrc; point it at nothing.
    os.environ["NETRC"] = str(scratch / "no-netrc")


def pin_http_stack() -> None:
    """Pin what `requests` puts in headers by itself.

    Its default Accept-Encoding gains ",br"/",zstd" when brotli or zstandard
    happen to be importable (Python 3.14 ships zstd), so it is machine-specific.
    """
    import requests.utils

    requests.utils.DEFAULT_ACCEPT_ENCODING = "gzip, deflate"


# ---------------------------------------------------------------------------
# Capture server and loopback redirect
# ---------------------------------------------------------------------------


class CaptureServer:
    """A loopback HTTP server that records each request and answers a set reply."""

    def __init__(self) -> None:
        self.reply: Optional[Reply] = None
        self.captured: list = []
        self._lock = threading.Lock()
        handler = type("Handler", (_CaptureHandler,), {"capture": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> "CaptureServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def record(self, request: Captured) -> Reply:
        with self._lock:
            self.captured.append(request)
            return self.reply

    def take_one(self, case_id: str) -> Captured:
        with self._lock:
            got, self.captured = self.captured, []
        if len(got) != 1:
            raise RuntimeError(f"{case_id}: expected exactly one request, the SDK sent {len(got)}")
        return got[0]


class _CaptureHandler(BaseHTTPRequestHandler):
    capture: CaptureServer  # set on the subclass made per server

    def _handle(self) -> None:
        if "Transfer-Encoding" in self.headers:
            raise RuntimeError("capture: chunked bodies are not expected from these SDKs")
        length = int(self.headers.get("Content-Length") or 0)
        request = Captured(
            method=self.command,
            target=self.path,  # the raw request-target, exactly as on the wire
            headers=[[name, value] for name, value in self.headers.items()],
            body=self.rfile.read(length),
        )
        reply = self.capture.record(request)
        payload = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    def log_message(self, format, *args) -> None:  # keep the run quiet
        pass


_real_getaddrinfo = socket.getaddrinfo


def redirect_to_loopback(hosts: set, port: int) -> None:
    """Resolve the production `hosts` on port 80 to the capture server.

    Any other name is refused, so a forgotten endpoint fails loudly instead of
    reaching the network.
    """

    def getaddrinfo(host, service, *args, **kwargs):
        if isinstance(host, bytes):
            host = host.decode()
        if host in hosts and str(service) == "80":
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", port))]
        if host in ("127.0.0.1", "localhost"):
            return _real_getaddrinfo(host, service, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, f"capture: refusing to resolve {host}:{service}")

    socket.getaddrinfo = getaddrinfo


# ---------------------------------------------------------------------------
# Vector assembly
# ---------------------------------------------------------------------------


def header_value(headers: list, name: str) -> str:
    found = [value for key, value in headers if key.lower() == name.lower()]
    if len(found) != 1:
        raise RuntimeError(f"expected one {name} header, got {found!r}")
    return found[0]


def wire_text(value: str) -> str:
    """http.server decodes header bytes as Latin-1; recover the UTF-8 that was sent."""
    return value.encode("latin-1").decode("utf-8")


def signed_headers_of(authorization: str) -> str:
    match = re.search(r"SignedHeaders=([^,\s]+)", authorization)
    if not match:
        raise RuntimeError(f"no SignedHeaders in {authorization!r}")
    return match.group(1)


def build_vector(case: Case, got: Captured) -> dict:
    headers = [[name, wire_text(value)] for name, value in got.headers]
    path, _, query = got.target.partition("?")
    authorization = header_value(headers, "Authorization")
    return {
        "id": case.id,
        "provider": case.provider,
        "service": case.service,
        "region": case.region,
        "credentials": case.creds.as_json(),
        "timestamp": Pin.timestamp,
        "method": got.method,
        "host": header_value(headers, "Host"),
        "path": path,
        "query": query,
        "headers": headers,
        "body": got.body.decode("utf-8"),  # strict: a non-UTF-8 body is an error
        "signed_headers": signed_headers_of(authorization),
        "sdk": {
            "package": case.sdk_package,
            "version": importlib.metadata.version(case.sdk_package),
            "operation": case.operation,
        },
        "expected": {**SdkStages.expected(case.id), "authorization": authorization},
    }


# ---------------------------------------------------------------------------
# Tencent Cloud: tencentcloud-sdk-python, CvmClient, TC3-HMAC-SHA256
#
# Signing function: tencentcloud.common.abstract_client.AbstractClient
#   ._build_req_with_tc3_signature -> _get_tc3_signature -> sign.Sign.sign_tc3
# Pinning points:
#   tencentcloud.common.abstract_client.time   (time.time -> X-TC-Timestamp)
#   tencentcloud.common.abstract_client.uuid   (uuid.uuid4 -> X-TC-TraceId)
#   tencentcloud.common.abstract_client.AbstractClient._sdkVersion
#       (X-TC-RequestClient: both tencentcloud-sdk-python-common and -cvm ship
#        tencentcloud/__init__.py, so its __version__ depends on install order)
# ---------------------------------------------------------------------------

TENCENT_HOST = "cvm.tencentcloudapi.com"
TENCENT_PACKAGE = "tencentcloud-sdk-python-cvm"

TC_KEY = Creds("AKIDEXAMPLEz8krbsJ5yKBZQpn74WFkmLPx3", "EXAMPLEGu5t9xGARNpq86cd98joQYCN3")
TC_KEY_SLASHY = Creds("AKIDEXAMPLE0000000000000000000000002", "EXAMPLE+sk/with+slash/and=eq==")
TC_STS = Creds(
    "AKIDEXAMPLEsts7Hq3vW1nLk2pR8tY4uZ0xB",
    "EXAMPLEstsSecret+9f/2Kq=",
    "EXAMPLEtoken_tc3.ZjQ5YjE4ZDMtOWUxMi00YzE3LWE1ZjAtM2IyZDk4NzY1NDMy.sig+/=",
)


def install_tencent_pins() -> None:
    import time

    from tencentcloud.common import abstract_client

    abstract_client.time = shadow(time, time=lambda: float(Pin.timestamp))
    abstract_client.uuid = shadow(_uuid, uuid4=Pin.uuid4)
    common_version = importlib.metadata.version("tencentcloud-sdk-python-common")
    abstract_client.AbstractClient._sdkVersion = f"SDK_PYTHON_{common_version}"


def install_tencent_stage_hooks() -> None:
    """`_get_tc3_signature` keeps both strings local: its `hashlib` records the canonical
    request it hashes, and `Sign.sign_tc3` (as the module sees it) the string to sign."""
    from tencentcloud.common import abstract_client, sign

    class RecordingSign(sign.Sign):
        @staticmethod
        def sign_tc3(secret_key, date, service, str2sign):
            SdkStages.record_string_to_sign(str2sign)
            return sign.Sign.sign_tc3(secret_key, date, service, str2sign)

    abstract_client.hashlib = shadow(hashlib, sha256=recording_sha256)
    abstract_client.Sign = RecordingSign


def tencent_case(slug, operation, params, *, region="ap-guangzhou", creds=TC_KEY,
                 timestamp=T_PLAIN, method="POST", reply=None) -> Case:
    """A CvmClient call: `params` uses the API's own field names."""

    def send(case: Case) -> None:
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.cvm.v20170312 import cvm_client, models

        http_profile = HttpProfile(protocol="http", endpoint=TENCENT_HOST, reqMethod=method)
        profile = ClientProfile(httpProfile=http_profile)  # TC3-HMAC-SHA256 is the default
        cred = credential.Credential(case.creds.ak, case.creds.sk, case.creds.token)
        client = cvm_client.CvmClient(cred, case.region, profile)
        request = getattr(models, f"{operation}Request")()
        request.from_json_string(json.dumps(params))
        getattr(client, operation)(request)

    body = {"Response": {"RequestId": f"req-{slug}", **(reply or {})}}
    return Case(f"tencent/{slug}", "tencent", "cvm", region, creds, timestamp, operation, send,
                Reply(body), TENCENT_PACKAGE)


def tencent_cases() -> list:
    many_images = ids("img-", 12)
    many_regions = ["ap-beijing", "ap-shanghai", "ap-chengdu", "ap-chongqing", "ap-nanjing",
                    "ap-hongkong", "ap-singapore", "ap-tokyo", "ap-seoul", "ap-bangkok",
                    "na-siliconvalley", "eu-frankfurt"]
    filters = [{"Name": "image-type", "Values": ["PRIVATE_IMAGE", "SHARED_IMAGE"]},
               {"Name": "image-name", "Values": [SPECIAL]}]
    export_reply = {"TaskId": 1234567, "CosPaths": []}
    return [
        tencent_case("export-images-basic", "ExportImages",
                     {"BucketName": "examplebucket-1250000000", "ImageIds": ["img-0a1b2c3d"],
                      "ExportFormat": "QCOW2"}, reply=export_reply),
        tencent_case("export-images-sts-cjk-prefix", "ExportImages",
                     {"BucketName": "examplebucket-1250000000", "ImageIds": ["img-0a1b2c3d"],
                      "ExportFormat": "RAW", "FileNamePrefixList": [SPECIAL],
                      "OnlyExportRootDisk": True, "DryRun": False, "RoleName": "CVM_QcsRole"},
                     creds=TC_STS, region="ap-shanghai", timestamp=T_YEAR_END, reply=export_reply),
        tencent_case("export-images-many-ids", "ExportImages",
                     {"BucketName": "examplebucket-1250000000", "ImageIds": many_images,
                      "ExportFormat": "VMDK",
                      "FileNamePrefixList": [f"导出-{i:02d}" for i in range(12)]},
                     creds=TC_KEY_SLASHY, timestamp=T_NEW_YEAR, reply=export_reply),
        tencent_case("export-images-empty-strings-and-list", "ExportImages",
                     {"BucketName": "examplebucket-1250000000", "ImageIds": ["img-0a1b2c3d"],
                      "ExportFormat": "", "FileNamePrefixList": [], "RoleName": ""},
                     timestamp=T_LEAP_DAY, reply=export_reply),
        tencent_case("sync-images-basic", "SyncImages",
                     {"ImageIds": ["img-0a1b2c3d"], "DestinationRegions": ["ap-shanghai"]}),
        tencent_case("sync-images-sts-many-regions-cjk-name", "SyncImages",
                     {"ImageIds": ["img-0a1b2c3d"], "DestinationRegions": many_regions,
                      "ImageName": SPECIAL, "ImageSetRequired": True},
                     creds=TC_STS, region="ap-beijing", timestamp=T_FAR),
        tencent_case("sync-images-encrypt-dry-run", "SyncImages",
                     {"ImageIds": ["img-0a1b2c3d"], "DestinationRegions": ["ap-guangzhou"],
                      "DryRun": True, "Encrypt": True,
                      "KmsKeyId": "kms-key-00000000-0000-4000-8000-000000000001"},
                     creds=TC_KEY_SLASHY, timestamp=T_LEAP_DAY_END),
        tencent_case("describe-images-many-ids", "DescribeImages",
                     {"ImageIds": many_images, "Limit": 100}, reply={"ImageSet": [], "TotalCount": 0}),
        tencent_case("describe-images-filters-cjk", "DescribeImages",
                     {"Filters": filters, "Offset": 0, "Limit": 20, "InstanceType": "S5.MEDIUM2"},
                     region="na-siliconvalley", timestamp=T_YEAR_END,
                     reply={"ImageSet": [], "TotalCount": 0}),
        tencent_case("describe-images-no-params", "DescribeImages", {},
                     creds=TC_STS, reply={"ImageSet": [], "TotalCount": 0}),
        # The GET form: parameters are flattened (Name.0.Field) into the query.
        tencent_case("get-describe-images-filters-cjk", "DescribeImages",
                     {"ImageIds": ["img-0a1b2c3d", "img-4e5f6a7b"], "Filters": filters,
                      "Offset": 0, "Limit": 20},
                     method="GET", timestamp=T_LEAP_DAY, reply={"ImageSet": [], "TotalCount": 0}),
        tencent_case("get-export-images-sts-cjk-prefix", "ExportImages",
                     {"BucketName": "examplebucket-1250000000", "ImageIds": ["img-0a1b2c3d"],
                      "FileNamePrefixList": [SPECIAL], "OnlyExportRootDisk": False,
                      "RoleName": "CVM_QcsRole"},
                     method="GET", creds=TC_STS, region="ap-hongkong", timestamp=T_NEW_YEAR,
                     reply=export_reply),
        tencent_case("get-sync-images-many-regions", "SyncImages",
                     {"ImageIds": ["img-0a1b2c3d"], "DestinationRegions": many_regions,
                      "DryRun": True, "ImageName": ""},
                     method="GET", creds=TC_KEY_SLASHY, timestamp=T_FAR),
        tencent_case("get-describe-images-no-params", "DescribeImages", {},
                     method="GET", timestamp=T_YEAR_END, reply={"ImageSet": [], "TotalCount": 0}),
        tencent_case("get-export-images-many-ids", "ExportImages",
                     {"BucketName": "examplebucket-1250000000", "ImageIds": many_images,
                      "ExportFormat": "QCOW2"},
                     method="GET", region="ap-singapore", reply=export_reply),
    ]


# ---------------------------------------------------------------------------
# Alibaba Cloud: alibabacloud_ecs20140526 + alibabacloud_tea_openapi, ACS3-HMAC-SHA256
#
# Signing function: alibabacloud_tea_openapi.utils.Utils.get_authorization
#   (called from alibabacloud_tea_openapi.client.Client.do_request)
# Pinning points:
#   alibabacloud_tea_openapi.utils.datetime          (utcnow -> x-acs-date)
#   alibabacloud_tea_openapi.utils.Utils.get_nonce   (x-acs-signature-nonce)
#   alibabacloud_tea_openapi.utils.platform          (system/machine/python_version
#                                                     in user-agent, which ACS3 signs)
# ---------------------------------------------------------------------------

ALIBABA_PACKAGE = "alibabacloud-ecs20140526"

# The endpoint map of the ECS client sends cn-hangzhou to ecs-cn-hangzhou.aliyuncs.com;
# other regions follow the ecs.<region>.aliyuncs.com rule.
ALIBABA_REGIONS = ("cn-hangzhou", "cn-beijing", "cn-shanghai", "ap-southeast-1", "eu-central-1")
ALIBABA_HOSTS = {"ecs-cn-hangzhou.aliyuncs.com"} | {f"ecs.{r}.aliyuncs.com" for r in ALIBABA_REGIONS}

ALI_KEY = Creds("LTAI5tEXAMPLEAccessKeyId01", "EXAMPLEAccessKeySecret0123456789")
ALI_KEY_SLASHY = Creds("LTAI5tEXAMPLEAccessKeyId02", "EXAMPLE+secret/with=Plus+Slash/Eq=")
ALI_STS = Creds(
    "STS.NUgYrLnoC37mZZCNnAbEXAMPLE",
    "EXAMPLEstsSecretKey9Tq/Lm+Zz==",
    "CAIS8gF1q6Ft5B2yfSjIr5EXAMPLEtokenBASE64/AAAA+BBBB==GhgKEXAMPLEstsSession",
)

# What the pinned platform module reports in the user-agent.
ALIBABA_PLATFORM = {"system": "Linux", "machine": "x86_64", "python_version": "3.11.7"}


def install_alibaba_pins() -> None:
    import platform

    from alibabacloud_tea_openapi import utils

    utils.datetime = PinnedDateTime
    utils.Utils.get_nonce = staticmethod(lambda: Pin.hex_nonce("x-acs-signature-nonce"))
    utils.platform = shadow(platform, **{k: (lambda v=v: v) for k, v in ALIBABA_PLATFORM.items()})


def install_alibaba_stage_hooks() -> None:
    """`Utils.get_authorization` keeps both strings local: `Utils.hash` records what it
    hashes (the payload and the canonical request), `signature_method` the string to sign."""
    from alibabacloud_tea_openapi import utils

    sdk_hash = utils.Utils.hash
    sdk_signature_method = utils.signature_method

    def recording_hash(raw, sign_type):
        SdkStages.record_hashed(raw)
        return sdk_hash(raw, sign_type)

    def recording_signature_method(secret, source, sign_type):
        SdkStages.record_string_to_sign(source)
        return sdk_signature_method(secret, source, sign_type)

    utils.Utils.hash = staticmethod(recording_hash)
    utils.signature_method = recording_signature_method


def alibaba_case(slug, operation, request_map, *, region="cn-hangzhou", creds=ALI_KEY,
                 timestamp=T_PLAIN, reply=None) -> Case:
    """An ECS Client call: `request_map` uses the API's own field names (from_map)."""

    def send(case: Case) -> None:
        from alibabacloud_ecs20140526 import models
        from alibabacloud_ecs20140526.client import Client
        from alibabacloud_tea_openapi.utils_models import Config
        from darabonba.runtime import RuntimeOptions

        config = Config(access_key_id=case.creds.ak, access_key_secret=case.creds.sk,
                        security_token=case.creds.token, region_id=case.region, protocol="http",
                        user_agent="")  # "" rather than ALIBABA_CLOUD_USER_AGENT from the env
        client = Client(config)
        request = getattr(models, f"{operation}Request")().from_map(request_map)
        runtime = RuntimeOptions(autoretry=False, read_timeout=10000, connect_timeout=5000)
        getattr(client, snake_case(operation) + "_with_options")(request, runtime)

    body = {"RequestId": f"EXAMPLE-{slug}", **(reply or {})}
    return Case(f"alibaba/{slug}", "alibaba", "ecs", region, creds, timestamp, operation, send,
                Reply(body), ALIBABA_PACKAGE)


def alibaba_cases() -> list:
    many_tasks = ",".join(ids("t-bp1", 12, 14))
    many_images = ",".join(ids("m-bp1", 12, 14))
    return [
        alibaba_case("export-image-basic", "ExportImage",
                     {"RegionId": "cn-hangzhou", "ImageId": "m-bp1g6zv0ce8oghu7k5b2",
                      "OSSBucket": "example-export-bucket", "OSSPrefix": "exports/2025/",
                      "ImageFormat": "qcow2", "RoleName": "AliyunECSImageExportDefaultRole"},
                     reply={"TaskId": "t-bp1000000000000001", "RegionId": "cn-hangzhou"}),
        alibaba_case("export-image-sts-cjk-prefix", "ExportImage",
                     {"RegionId": "cn-beijing", "ImageId": "m-2ze0000000000000001",
                      "OSSBucket": "example-export-bucket", "OSSPrefix": SPECIAL,
                      "ImageFormat": "raw", "RoleName": "AliyunECSImageExportDefaultRole"},
                     region="cn-beijing", creds=ALI_STS, timestamp=T_YEAR_END),
        alibaba_case("export-image-empty-prefix-and-role", "ExportImage",
                     {"RegionId": "cn-hangzhou", "ImageId": "m-bp1g6zv0ce8oghu7k5b2",
                      "OSSBucket": "example-export-bucket", "OSSPrefix": "", "RoleName": ""},
                     creds=ALI_KEY_SLASHY, timestamp=T_LEAP_DAY),
        alibaba_case("export-image-dry-run", "ExportImage",
                     {"RegionId": "ap-southeast-1", "ImageId": "m-t4n0000000000000001",
                      "OSSBucket": "example-export-bucket", "ImageFormat": "vhd", "DryRun": True},
                     region="ap-southeast-1", timestamp=T_FAR),
        alibaba_case("copy-image-basic", "CopyImage",
                     {"RegionId": "cn-hangzhou", "ImageId": "m-bp1g6zv0ce8oghu7k5b2",
                      "DestinationRegionId": "cn-shanghai", "DestinationImageName": "backup-copy",
                      "ClientToken": "0c593ea1-3bea-11e9-b96b-88e9fe637760"},
                     reply={"ImageId": "m-uf60000000000000001"}),
        alibaba_case("copy-image-sts-cjk-name", "CopyImage",
                     {"RegionId": "cn-shanghai", "ImageId": "m-uf60000000000000002",
                      "DestinationRegionId": "cn-beijing", "DestinationImageName": SPECIAL,
                      "DestinationDescription": f"跨地域复制 {SPECIAL}",
                      "ClientToken": "token+/=~*&x y"},
                     region="cn-shanghai", creds=ALI_STS, timestamp=T_NEW_YEAR,
                     reply={"ImageId": "m-2ze0000000000000002"}),
        alibaba_case("copy-image-encrypted-tags", "CopyImage",
                     {"RegionId": "eu-central-1", "ImageId": "m-gw80000000000000001",
                      "DestinationRegionId": "eu-central-1", "DestinationImageName": "enc-copy",
                      "Encrypted": True, "KMSKeyId": "0e478b7a-4262-4802-b8cb-00d3fb40****",
                      "Tag": [{"Key": "项目", "Value": SPECIAL}, {"Key": "env", "Value": ""}]},
                     region="eu-central-1", creds=ALI_KEY_SLASHY, timestamp=T_LEAP_DAY_END,
                     reply={"ImageId": "m-gw80000000000000002"}),
        alibaba_case("describe-tasks-many-ids", "DescribeTasks",
                     {"RegionId": "cn-hangzhou", "TaskIds": many_tasks, "PageSize": 50},
                     reply={"TaskSet": {"Task": []}, "TotalCount": 0}),
        alibaba_case("describe-tasks-action-status-sts", "DescribeTasks",
                     {"RegionId": "cn-beijing", "TaskAction": "ExportImage", "TaskStatus": "Finished",
                      "PageNumber": 1, "PageSize": 100,
                      "ResourceIds": ["m-2ze0000000000000001", "m-2ze0000000000000002"]},
                     region="cn-beijing", creds=ALI_STS, timestamp=T_LEAP_DAY,
                     reply={"TaskSet": {"Task": []}, "TotalCount": 0}),
        alibaba_case("describe-task-attribute", "DescribeTaskAttribute",
                     {"RegionId": "cn-hangzhou", "TaskId": "t-bp1000000000000001"},
                     reply={"TaskId": "t-bp1000000000000001", "TaskStatus": "Processing"}),
        alibaba_case("describe-task-attribute-sts", "DescribeTaskAttribute",
                     {"RegionId": "ap-southeast-1", "TaskId": "t-t4n0000000000000001"},
                     region="ap-southeast-1", creds=ALI_STS, timestamp=T_FAR,
                     reply={"TaskId": "t-t4n0000000000000001", "TaskStatus": "Finished"}),
        alibaba_case("describe-images-status-many-ids", "DescribeImages",
                     {"RegionId": "cn-hangzhou", "Status": "Creating,Waiting,Available",
                      "ImageId": many_images, "PageSize": 100},
                     timestamp=T_YEAR_END, reply={"Images": {"Image": []}, "TotalCount": 0}),
        alibaba_case("describe-images-filter-tag-cjk", "DescribeImages",
                     {"RegionId": "cn-shanghai", "ImageName": SPECIAL,
                      "Filter": [{"Key": "CreationStartTime", "Value": "2025-01-01T00:00Z"}],
                      "Tag": [{"Key": "备份", "Value": "每日 daily"}], "ImageOwnerAlias": "self"},
                     region="cn-shanghai", creds=ALI_KEY_SLASHY,
                     reply={"Images": {"Image": []}, "TotalCount": 0}),
        alibaba_case("describe-images-empty-strings", "DescribeImages",
                     {"RegionId": "cn-hangzhou", "ImageId": "", "Status": "", "ImageName": ""},
                     creds=ALI_STS, timestamp=T_NEW_YEAR,
                     reply={"Images": {"Image": []}, "TotalCount": 0}),
        alibaba_case("describe-images-region-only", "DescribeImages",
                     {"RegionId": "eu-central-1"}, region="eu-central-1", timestamp=T_LEAP_DAY_END,
                     reply={"Images": {"Image": []}, "TotalCount": 0}),
    ]


# ---------------------------------------------------------------------------
# Volcengine: volcenginesdkecs.ECSApi + volcenginesdkcore, HMAC-SHA256 (SigV4 style)
#
# Signing function: volcenginesdkcore.signv4.SignerV4.sign
#   (called from volcenginesdkcore.interceptor.interceptors.sign_request_interceptor)
# Pinning points:
#   volcenginesdkcore.signv4.datetime                           (utcnow -> X-Date)
#   volcenginesdkcore.interceptor.interceptors.request.uuid     (uuid4 -> X-Sdk-Invocation-Id)
# ---------------------------------------------------------------------------

VOLCENGINE_HOST = "open.volcengineapi.com"
VOLCENGINE_PACKAGE = "volcenginesdk-ecs"

VOLC_KEY = Creds("AKLTEXAMPLEZjZiNzU0ZmY0YmFiNDcxNWI", "EXAMPLETWpFeE5XTXdZV0V0T0dGa1l5MDBN==")
VOLC_KEY_SLASHY = Creds("AKLTEXAMPLEMmQ4Y2E3NzU2NjRlNDQ0Yjk", "EXAMPLE+volc/secret+key/with=padding=")
VOLC_STS = Creds(
    "AKTPEXAMPLEYjQ2ZDVhNjA0YmM0NDk0ODg",
    "EXAMPLEstsTnpNd1lUVTRZV0V0WlRNMk==",
    "STS2eyJMVEFjY2Vzc0tleUlkIjoiQUtMVEVYQU1QTEUiLCJFeHBpcmVkVGltZSI6IkVYQU1QTEUifQ==",
)


def install_volcengine_pins() -> None:
    from volcenginesdkcore import signv4
    from volcenginesdkcore.interceptor.interceptors import request

    signv4.datetime = shadow(_datetime, datetime=PinnedDateTime)
    request.uuid = shadow(_uuid, uuid4=Pin.uuid4)


class _VolcengineSignLog:
    """Stands in for `sdk_core_logger` in `volcenginesdkcore.signv4`: `SignerV4.sign` logs
    its canonical request and string to sign through `debug_sign`, whatever the log level."""

    def __init__(self, logger):
        self._logger = logger

    def debug_sign(self, msg, *args, **kwargs):
        if msg == "canonical_request:\n%s":
            SdkStages.record_hashed(args[0].encode("utf-8"))
        elif msg == "string_to_sign:\n%s":
            SdkStages.record_string_to_sign(args[0])
        return self._logger.debug_sign(msg, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._logger, name)


def install_volcengine_stage_hooks() -> None:
    from volcenginesdkcore import signv4

    if not isinstance(signv4.sdk_core_logger, _VolcengineSignLog):
        signv4.sdk_core_logger = _VolcengineSignLog(signv4.sdk_core_logger)


def volcengine_case(slug, operation, fields, *, region="cn-beijing", creds=VOLC_KEY,
                    timestamp=T_PLAIN, reply=None) -> Case:
    """An ECSApi call: `fields` are the request model's keyword arguments."""

    def send(case: Case) -> None:
        import volcenginesdkcore
        import volcenginesdkecs

        configuration = volcenginesdkcore.Configuration()
        configuration.ak = case.creds.ak
        configuration.sk = case.creds.sk
        if case.creds.token:
            configuration.session_token = case.creds.token
        configuration.region = case.region
        configuration.host = VOLCENGINE_HOST
        configuration.scheme = "http"
        configuration.auto_retry = False
        api = volcenginesdkecs.ECSApi(volcenginesdkcore.ApiClient(configuration))
        request = getattr(volcenginesdkecs, f"{operation}Request")(**fields)
        getattr(api, snake_case(operation))(request)

    body = {"ResponseMetadata": {"RequestId": f"EXAMPLE-{slug}", "Action": operation,
                                 "Version": "2020-04-01", "Service": "ecs", "Region": region},
            "Result": reply or {}}
    return Case(f"volcengine/{slug}", "volcengine", "ecs", region, creds, timestamp, operation,
                send, Reply(body), VOLCENGINE_PACKAGE)


def volcengine_cases() -> list:
    import volcenginesdkecs as ecs

    many_tasks = ids("t-ycm", 12, 16)
    many_images = ids("image-ycm", 12, 16)
    return [
        volcengine_case("export-image-basic", "ExportImage",
                        {"image_id": "image-ycmexample0001", "tos_bucket": "example-export-bucket",
                         "tos_prefix": "exports/2025/"},
                        reply={"TaskId": "t-ycm0000000000000001"}),
        volcengine_case("export-image-sts-cjk-prefix", "ExportImage",
                        {"image_id": "image-ycmexample0001", "tos_bucket": "example-export-bucket",
                         "tos_prefix": SPECIAL},
                        creds=VOLC_STS, timestamp=T_YEAR_END),
        volcengine_case("export-image-empty-prefix", "ExportImage",
                        {"image_id": "image-ycmexample0002", "tos_bucket": "example-export-bucket",
                         "tos_prefix": ""},
                        region="cn-shanghai", creds=VOLC_KEY_SLASHY, timestamp=T_LEAP_DAY),
        volcengine_case("copy-image-basic", "CopyImage",
                        {"image_id": "image-ycmexample0001", "destination_region": "cn-shanghai",
                         "image_name": "backup-copy"},
                        reply={"ImageId": "image-ycmexample0101"}),
        volcengine_case("copy-image-sts-cjk-name", "CopyImage",
                        {"image_id": "image-ycmexample0001", "destination_region": "cn-guangzhou",
                         "image_name": SPECIAL, "description": f"跨地域复制 {SPECIAL}",
                         "copy_image_tags": True, "project_name": "default"},
                        creds=VOLC_STS, timestamp=T_NEW_YEAR),
        volcengine_case("copy-image-tags-empty-description", "CopyImage",
                        {"image_id": "image-ycmexample0003", "destination_region": "ap-southeast-1",
                         "image_name": "tagged-copy", "description": "", "copy_image_tags": False,
                         "tags": [ecs.TagForCopyImageInput(key="项目", value=SPECIAL),
                                  ecs.TagForCopyImageInput(key="env", value="prod")]},
                        region="cn-shanghai", creds=VOLC_KEY_SLASHY, timestamp=T_FAR),
        volcengine_case("describe-tasks-many-ids", "DescribeTasks", {"task_ids": many_tasks},
                        reply={"Tasks": []}),
        volcengine_case("describe-tasks-empty-list-and-string", "DescribeTasks",
                        {"task_ids": [], "resource_id": ""},
                        creds=VOLC_STS, timestamp=T_LEAP_DAY_END, reply={"Tasks": []}),
        volcengine_case("describe-tasks-resource-ids-token", "DescribeTasks",
                        {"resource_ids": ["image-ycmexample0001", "image-ycmexample0002"],
                         "max_results": "50", "next_token": "eyJ0b2tlbiI6IjEyMyJ9+/=="},
                        region="ap-southeast-1", reply={"Tasks": []}),
        volcengine_case("describe-images-many-ids", "DescribeImages", {"image_ids": many_images},
                        timestamp=T_YEAR_END, reply={"Images": []}),
        volcengine_case("describe-images-status-visibility-cjk", "DescribeImages",
                        {"status": ["available", "creating"], "visibility": "private",
                         "image_name": SPECIAL, "max_results": 100, "is_support_cloud_init": True},
                        creds=VOLC_KEY_SLASHY, timestamp=T_NEW_YEAR, reply={"Images": []}),
        volcengine_case("describe-images-tag-filters", "DescribeImages",
                        {"tag_filters": [ecs.TagFilterForDescribeImagesInput(key="项目", values=[SPECIAL, "a b"]),
                                         ecs.TagFilterForDescribeImagesInput(key="env", values=["prod"])],
                         "os_type": "Linux"},
                        creds=VOLC_STS, region="cn-guangzhou", timestamp=T_LEAP_DAY,
                        reply={"Images": []}),
        volcengine_case("describe-images-no-params", "DescribeImages", {}, timestamp=T_FAR,
                        reply={"Images": []}),
        volcengine_case("describe-images-empty-name-list", "DescribeImages",
                        {"image_name": "", "image_ids": []}, region="cn-shanghai",
                        reply={"Images": []}),
    ]


# ---------------------------------------------------------------------------
# Huawei Cloud: huaweicloudsdkims v2 ImsClient + huaweicloudsdkcore, SDK-HMAC-SHA256
#
# Signing function: huaweicloudsdkcore.signer.signer.Signer.sign
#   (called from huaweicloudsdkcore.auth.credentials.Credentials.sign_request)
# Pinning points:
#   huaweicloudsdkcore.signer.signer.datetime   (utcnow -> X-Sdk-Date)
#   HttpConfig.user_agent                       (a fixed string; left unset the SDK puts
#       os name/version/arch, the Python version and a per-home uuid stored in
#       ~/.huaweicloud/application_id into User-Agent, which this scheme signs)
# ---------------------------------------------------------------------------

HUAWEI_PACKAGE = "huaweicloudsdkims"
HUAWEI_REGIONS = ("cn-north-4", "cn-east-3", "cn-south-1", "ap-southeast-1")
HUAWEI_HOSTS = {f"ims.{r}.myhuaweicloud.com" for r in HUAWEI_REGIONS}
HUAWEI_USER_AGENT = "os/Linux#pinned#x86_64 python/3.11.7 impl/CPython"

HW_PROJECT = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
HW_PROJECT_2 = "f9e8d7c6b5a4938271605f4e3d2c1b0a"
HW_KEY = Creds("HPUAEXAMPLE0ACCESSKEY01", "EXAMPLEhuaweiSecretKey0123456789abcdefghij")
HW_KEY_SLASHY = Creds("HPUAEXAMPLE0ACCESSKEY02", "EXAMPLE+huawei/secret+key/with=eq==")
HW_STS = Creds(
    "HSTAEXAMPLE0TEMPKEY0001",
    "EXAMPLEstsSecretKeyHuawei+/9876543210",
    "gQpjbi1ub3J0aC00EXAMPLEsecuritytoken+/ABCDEFabcdef0123456789==",
)


def install_huawei_pins() -> None:
    from huaweicloudsdkcore.signer import signer

    signer.datetime = PinnedDateTime


def install_huawei_stage_hooks() -> None:
    """`Signer.sign` builds each stage in a method of its own; their results are recorded."""
    from huaweicloudsdkcore.signer import signer

    sdk_canonical = signer.Signer._process_canonical_request
    sdk_string_to_sign = signer.Signer._process_string_to_sign

    def canonical_request(self, request, signed_headers):
        text = sdk_canonical(self, request, signed_headers)
        SdkStages.record_hashed(text.encode("utf-8"))
        return text

    def string_to_sign(self, canonical_request, time):
        text = sdk_string_to_sign(self, canonical_request, time)
        SdkStages.record_string_to_sign(text)
        return text

    signer.Signer._process_canonical_request = canonical_request
    signer.Signer._process_string_to_sign = string_to_sign


def huawei_case(slug, operation, request_factory, *, region="cn-north-4", creds=HW_KEY,
                project=HW_PROJECT, timestamp=T_PLAIN, reply=None) -> Case:
    """An ImsClient call: `request_factory(ims_v2)` builds the request model."""

    def send(case: Case) -> None:
        from huaweicloudsdkcore.auth.credentials import BasicCredentials
        from huaweicloudsdkcore.http.http_config import HttpConfig
        from huaweicloudsdkims import v2

        credentials = BasicCredentials(case.creds.ak, case.creds.sk, project)
        if case.creds.token:
            credentials = credentials.with_security_token(case.creds.token)
        config = HttpConfig.get_default_config()
        config.user_agent = HUAWEI_USER_AGENT
        config.retry_times = 0
        client = (v2.ImsClient.new_builder()
                  .with_http_config(config)
                  .with_credentials(credentials)
                  .with_endpoints([f"http://ims.{case.region}.myhuaweicloud.com"])
                  .build())
        getattr(client, snake_case(operation))(request_factory(v2))

    headers = (("Content-Type", "application/json"), ("X-Request-Id", f"EXAMPLE-{slug}"))
    return Case(f"huawei/{slug}", "huawei", "ims", region, creds, timestamp, operation, send,
                Reply(reply if reply is not None else {"job_id": "ff8080828f0000000000000000000001"},
                      headers),
                HUAWEI_PACKAGE)


def huawei_cases() -> list:
    image = "b2a3c4d5-e6f7-4890-a1b2-c3d4e5f60718"
    job = "ff8080828f0000000000000000000001"
    many_ids = ",".join(str(_uuid.UUID(int=i, version=4)) for i in range(1, 13))

    def export(bucket_url, file_format=None, quick=None, image_id=image):
        return lambda v2: v2.ExportImageRequest(
            image_id=image_id,
            body=v2.ExportImageRequestBody(bucket_url=bucket_url, file_format=file_format,
                                           is_quick_export=quick))

    def copy(**body):
        return lambda v2: v2.CopyImageCrossRegionRequest(
            image_id=image, body=v2.CopyImageCrossRegionRequestBody(**body))

    def list_images(**query):
        return lambda v2: v2.ListImagesRequest(**query)

    job_reply = {"status": "SUCCESS", "job_id": job, "job_type": "exportImageJob",
                 "begin_time": "2025-07-01T12:00:00Z", "end_time": "2025-07-01T12:05:00Z",
                 "entities": {}}
    return [
        huawei_case("export-image-basic", "ExportImage",
                    export("example-bucket:exports/image.qcow2", "qcow2")),
        huawei_case("export-image-sts-cjk-bucket-path", "ExportImage",
                    export(f"example-bucket:{SPECIAL}/镜像.zvhd2", "zvhd2"),
                    creds=HW_STS, timestamp=T_YEAR_END),
        huawei_case("export-image-quick", "ExportImage",
                    export("example-bucket:quick/image.raw", "raw", quick=True),
                    region="cn-east-3", creds=HW_KEY_SLASHY, project=HW_PROJECT_2,
                    timestamp=T_LEAP_DAY),
        huawei_case("export-image-empty-format", "ExportImage",
                    export("example-bucket:exports/", "", quick=False),
                    region="ap-southeast-1", timestamp=T_FAR),
        huawei_case("copy-cross-region-basic", "CopyImageCrossRegion",
                    copy(region="cn-east-3", project_name="cn-east-3", name="backup-copy",
                         agency_name="ims_admin_agency")),
        huawei_case("copy-cross-region-sts-cjk", "CopyImageCrossRegion",
                    copy(region="cn-south-1", project_name="cn-south-1", name=SPECIAL,
                         description=f"跨区域复制 {SPECIAL}", agency_name="ims_admin_agency"),
                    creds=HW_STS, timestamp=T_NEW_YEAR),
        huawei_case("copy-cross-region-empty-description-vault", "CopyImageCrossRegion",
                    copy(region="ap-southeast-1", project_name="ap-southeast-1", name="vault-copy",
                         description="", vault_id="3b5816b5-f29c-4172-9d9a-76c719a659ce"),
                    region="cn-east-3", creds=HW_KEY_SLASHY, project=HW_PROJECT_2,
                    timestamp=T_LEAP_DAY_END),
        huawei_case("show-job", "ShowJob", lambda v2: v2.ShowJobRequest(job_id=job),
                    reply=job_reply),
        huawei_case("show-job-sts", "ShowJob", lambda v2: v2.ShowJobRequest(job_id=job),
                    region="cn-south-1", creds=HW_STS, timestamp=T_FAR, reply=job_reply),
        huawei_case("show-job-progress", "ShowJobProgress",
                    lambda v2: v2.ShowJobProgressRequest(job_id=job), timestamp=T_YEAR_END,
                    reply={"status": "RUNNING", "job_id": job, "job_type": "exportImageJob"}),
        huawei_case("list-images-private-underscore-params", "ListImages",
                    list_images(imagetype="private", status="active", limit=100,
                                os_type="Linux", sort_key="created_at", sort_dir="desc",
                                support_kvm="true", visibility="private", protected=False,
                                enterprise_project_id="all_granted_eps"),
                    reply={"images": []}),
        huawei_case("list-images-sts-cjk-name", "ListImages",
                    list_images(name=SPECIAL, tag=f"备份={SPECIAL}", limit=10),
                    creds=HW_STS, region="cn-east-3", project=HW_PROJECT_2, timestamp=T_LEAP_DAY,
                    reply={"images": []}),
        huawei_case("list-images-many-ids", "ListImages",
                    list_images(id=f"in:{many_ids}", marker=image, member_status="accepted"),
                    creds=HW_KEY_SLASHY, timestamp=T_NEW_YEAR, reply={"images": []}),
        huawei_case("list-images-empty-name", "ListImages", list_images(name="", imagetype="gold"),
                    region="ap-southeast-1", reply={"images": []}),
        huawei_case("list-images-no-params", "ListImages", list_images(), timestamp=T_LEAP_DAY_END,
                    reply={"images": []}),
    ]


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

CLOUDS = {
    "tencent": (install_tencent_pins, install_tencent_stage_hooks, tencent_cases),
    "alibaba": (install_alibaba_pins, install_alibaba_stage_hooks, alibaba_cases),
    "volcengine": (install_volcengine_pins, install_volcengine_stage_hooks, volcengine_cases),
    "huawei": (install_huawei_pins, install_huawei_stage_hooks, huawei_cases),
}
PRODUCTION_HOSTS = {TENCENT_HOST, VOLCENGINE_HOST} | ALIBABA_HOSTS | HUAWEI_HOSTS


def capture_provider(server: CaptureServer, provider: str) -> list:
    install_pins, install_stage_hooks, make_cases = CLOUDS[provider]
    install_pins()
    install_stage_hooks()
    vectors = []
    for case in make_cases():
        Pin.start(case)
        SdkStages.start()
        server.reply = case.reply
        case.send(case)  # any SDK exception propagates: a capture must not fail silently
        vectors.append(build_vector(case, server.take_one(case.id)))
    seen = [v["id"] for v in vectors]
    if len(seen) != len(set(seen)):
        raise RuntimeError(f"{provider}: duplicate vector ids")
    return vectors


def render(vectors: list) -> str:
    return "".join(json.dumps(v, ensure_ascii=False, sort_keys=False) + "\n" for v in vectors)


def capture_all(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        scrub_environment(Path(scratch))
        pin_http_stack()
        with CaptureServer() as server:
            redirect_to_loopback(PRODUCTION_HOSTS, server.port)
            for provider in PROVIDERS:
                vectors = capture_provider(server, provider)
                (out_dir / f"{provider}.jsonl").write_text(render(vectors), encoding="utf-8")
                print(f"{provider}: {len(vectors)} vectors", file=sys.stderr)


def check(committed: Path) -> int:
    """Capture afresh and diff against the committed vectors; 0 when identical."""
    with tempfile.TemporaryDirectory() as fresh:
        capture_all(Path(fresh))
        status = 0
        for provider in PROVIDERS:
            name = f"{provider}.jsonl"
            old_path = committed / name
            old = old_path.read_text(encoding="utf-8").splitlines(True) if old_path.exists() else []
            new = (Path(fresh) / name).read_text(encoding="utf-8").splitlines(True)
            if old != new:
                status = 1
                sys.stdout.writelines(difflib.unified_diff(old, new, f"committed/{name}", f"captured/{name}"))
        if status == 0:
            print("conformance vectors match what the SDKs send", file=sys.stderr)
        return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    parser.add_argument("--check", action="store_true",
                        help="capture into a temp dir and fail with a diff if it differs from --out")
    parser.add_argument("--fresh", action="store_true",
                        help="real clock (plus a random offset of up to 4 years) and random nonces: "
                             "vectors nobody has seen, for check_fresh.py")
    args = parser.parse_args(argv)
    if args.fresh and args.check:
        parser.error("--fresh vectors differ on every run; they cannot be --check'ed")
    Pin.fresh = args.fresh
    if args.check:
        return check(args.out)
    capture_all(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
