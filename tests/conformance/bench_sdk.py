#!/usr/bin/env python3
"""Time each official SDK's own signing function on captured conformance vectors.

For every requested vector the SDK's signing call is rebuilt from the vector
(the same inputs the SDK had when it sent the request), run once and checked
against the vector's expected Authorization (exit 1 on any mismatch), then
timed with timeit (auto-ranged loop count, best of 5 repeats).

What is timed, per cloud (all SDK code; this script only prepares inputs):
  tencent     AbstractClient._get_tc3_signature: canonical request, payload hash, Sign.sign_tc3
  alibaba     Utils.hash(body) for x-acs-content-sha256, then Utils.get_authorization
  volcengine  SignerV4.sign (on a fresh copy of the header dict, which it fills in)
  huawei      Signer.sign (on a fresh SdkRequest, which it fills in)
The signers of Volcengine and Huawei mutate their input, so each timed call
includes building that small input afresh; the cost is a dict copy / one object.

Usage: python bench_sdk.py [--ids id1,id2,...] [--vectors DIR]
Prints one JSON line per id: {"id": ..., "provider": ..., "sdk_us_per_sign": ...}
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import timeit
from pathlib import Path
from urllib.parse import parse_qsl

from capture import DEFAULT_OUT, PROVIDERS, Pin, install_huawei_pins, install_volcengine_pins

REPEATS = 5


def load_vectors(directory: Path) -> dict:
    vectors = {}
    for provider in PROVIDERS:
        for line in (directory / f"{provider}.jsonl").read_text(encoding="utf-8").splitlines():
            vector = json.loads(line)
            vectors[vector["id"]] = vector
    return vectors


def default_ids(vectors: dict) -> list:
    """The first vector of each cloud that carries a security token."""
    chosen = []
    for provider in PROVIDERS:
        for vector in vectors.values():
            if vector["provider"] == provider and "token" in vector["credentials"]:
                chosen.append(vector["id"])
                break
    return chosen


def headers_named(vector: dict, names) -> dict:
    """The vector's headers whose lower-cased names are in `names`, original case kept."""
    return {k: v for k, v in vector["headers"] if k.lower() in names}


def signed_header_names(vector: dict) -> set:
    return set(vector["signed_headers"].split(";"))


# --- one "signer factory" per cloud: returns (sign_once, authorization_of_result) ---


def tencent_signer(vector: dict):
    from tencentcloud.common import credential
    from tencentcloud.common.http.request import RequestInternal
    from tencentcloud.cvm.v20170312 import cvm_client

    creds = vector["credentials"]
    client = cvm_client.CvmClient(credential.Credential(creds["ak"], creds["sk"], creds.get("token")),
                                  vector["region"])
    header = headers_named(vector, {"content-type", "host", "x-tc-timestamp"})
    # The SDK keeps the JSON body (POST) or the urlencoded parameters (GET) in req.data.
    data = vector["query"] if vector["method"] == "GET" else vector["body"]
    req = RequestInternal(vector["host"], vector["method"], vector["path"], header=header, data=data)
    date = datetime.datetime.fromtimestamp(vector["timestamp"], datetime.timezone.utc).strftime("%Y-%m-%d")
    service = vector["service"]

    def sign():
        return client._get_tc3_signature(None, req, date, service, creds["sk"])

    def authorization(signature):
        return ("TC3-HMAC-SHA256 Credential=%s/%s/%s/tc3_request, SignedHeaders=content-type;host, "
                "Signature=%s" % (creds["ak"], date, service, signature))

    return sign, authorization


class _AlibabaRequest:
    """The attributes of darabonba's request that Utils.get_authorization reads."""

    def __init__(self, method, pathname, query, headers):
        self.method, self.pathname, self.query, self.headers = method, pathname, query, headers


def alibaba_signer(vector: dict):
    from alibabacloud_tea_openapi.utils import Utils

    creds = vector["credentials"]
    algorithm = vector["expected"]["authorization"].split(" ", 1)[0]
    # ACS3 signs every header the SDK had set, i.e. exactly the SignedHeaders.
    headers = headers_named(vector, signed_header_names(vector))
    query = dict(parse_qsl(vector["query"], keep_blank_values=True))
    request = _AlibabaRequest(vector["method"], vector["path"], query, headers)
    body = vector["body"].encode("utf-8")

    def sign():
        payload = Utils.hash(body, algorithm).hex()
        return Utils.get_authorization(request, algorithm, payload, creds["ak"], creds["sk"])

    return sign, lambda auth: auth


def volcengine_signer(vector: dict):
    from volcenginesdkcore.signv4 import SignerV4

    install_volcengine_pins()
    Pin.timestamp = vector["timestamp"]
    creds = vector["credentials"]
    # The header dict as the SDK passes it: SignerV4.sign adds X-Date,
    # X-Content-Sha256, X-Security-Token and Authorization itself.
    added_by_signer = {"authorization", "x-date", "x-content-sha256", "x-security-token"}
    headers = {k: v for k, v in vector["headers"]
               if k.lower() in signed_header_names(vector) - added_by_signer}
    query = parse_qsl(vector["query"], keep_blank_values=True)
    body = vector["body"]  # "" for these GET requests, as the SDK passes it

    def sign():
        sent = dict(headers)
        SignerV4.sign(vector["path"], vector["method"], sent, body, None, query, creds["ak"],
                      creds["sk"], vector["region"], vector["service"], creds.get("token"))
        return sent["Authorization"]

    return sign, lambda auth: auth


def huawei_signer(vector: dict):
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.sdk_request import SdkRequest
    from huaweicloudsdkcore.signer.signer import Signer

    install_huawei_pins()
    Pin.timestamp = vector["timestamp"]
    creds = vector["credentials"]
    signer = Signer(BasicCredentials(creds["ak"], creds["sk"]))
    # Signer.sign adds X-Sdk-Date (from the pinned clock) and Host itself.
    headers = headers_named(vector, signed_header_names(vector) - {"host", "x-sdk-date"})
    query = parse_qsl(vector["query"], keep_blank_values=True)
    body = vector["body"] or None

    def sign():
        request = SdkRequest(method=vector["method"], schema="http", host=vector["host"],
                             resource_path=vector["path"], query_params=list(query),
                             header_params=dict(headers), body=body)
        return signer.sign(request).header_params["Authorization"]

    return sign, lambda auth: auth


SIGNERS = {
    "tencent": tencent_signer,
    "alibaba": alibaba_signer,
    "volcengine": volcengine_signer,
    "huawei": huawei_signer,
}


def bench(vector: dict) -> dict:
    sign, authorization = SIGNERS[vector["provider"]](vector)
    got = authorization(sign())
    if got != vector["expected"]["authorization"]:
        raise SystemExit(f"{vector['id']}: the SDK signer disagrees with the vector\n"
                         f"  expected {vector['expected']['authorization']}\n  got      {got}")
    timer = timeit.Timer(sign)
    loops, _ = timer.autorange()
    best = min(timer.repeat(repeat=REPEATS, number=loops)) / loops
    return {"id": vector["id"], "provider": vector["provider"], "sdk_us_per_sign": round(best * 1e6, 3)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ids", help="comma-separated vector ids (default: first STS vector per cloud)")
    parser.add_argument("--vectors", type=Path, default=DEFAULT_OUT, help="vector directory")
    args = parser.parse_args(argv)
    vectors = load_vectors(args.vectors)
    wanted = args.ids.split(",") if args.ids else default_ids(vectors)
    unknown = [i for i in wanted if i not in vectors]
    if unknown:
        raise SystemExit(f"unknown vector ids: {', '.join(unknown)}")
    for vector_id in wanted:
        print(json.dumps(bench(vectors[vector_id])), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
