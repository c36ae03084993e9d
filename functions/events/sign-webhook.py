#!/usr/bin/env python3
"""Fills a webhook example event's X-Imgflow-Timestamp and X-Imgflow-Signature headers.

    python3 functions/events/sign-webhook.py functions/events/start-export/webhook.json > signed.json
    cargo lambda invoke start-export --data-file signed.json

The secret is read from IMGFLOW_WEBHOOK_SECRET. A signature is valid for five minutes.

What is signed (HMAC-SHA256, hex), exactly as the functions check it (webhook.rs):
    "<timestamp>.<raw body>"                      without an Idempotency-Key header
    "<timestamp>.<raw body>.<idempotency key>"    with one
The raw body is the bytes the caller sent: an event marked isBase64Encoded carries them base64
encoded, and they are decoded before signing. The key is signed as UTF-8, as the event holds it
(a key outside visible ASCII is then refused with 400, not ignored).
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time


def raw_body(event: dict) -> bytes:
    """The bytes the caller sent, as the function sees them after decoding."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body, validate=True)
    return body.encode()


def idempotency_key(event: dict) -> bytes | None:
    """The Idempotency-Key header's value (header names are case-insensitive)."""
    for name, value in (event.get("headers") or {}).items():
        if name.lower() == "idempotency-key":
            return value.encode()
    return None


def signed_string(stamp: str, body: bytes, key: bytes | None) -> bytes:
    text = stamp.encode() + b"." + body
    return text if key is None else text + b"." + key


def sign(event: dict, secret: str, timestamp: int | None = None) -> dict:
    """The event with its timestamp and signature headers filled in (a copy)."""
    event = json.loads(json.dumps(event))
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    message = signed_string(stamp, raw_body(event), idempotency_key(event))
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    event.setdefault("headers", {})
    event["headers"]["x-imgflow-timestamp"] = stamp
    event["headers"]["x-imgflow-signature"] = f"sha256={digest}"
    return event


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    secret = os.environ.get("IMGFLOW_WEBHOOK_SECRET")
    if not secret:
        print("IMGFLOW_WEBHOOK_SECRET is not set", file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        event = json.load(f)
    json.dump(sign(event, secret), sys.stdout, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
