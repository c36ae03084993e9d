#!/usr/bin/env python3
"""Fills a webhook example event's X-Imgflow-Timestamp and X-Imgflow-Signature headers.

    python3 functions/events/sign-webhook.py functions/events/start-export/webhook.json > signed.json
    cargo lambda invoke start-export --data-file signed.json

The secret is read from IMGFLOW_WEBHOOK_SECRET. A signature is valid for five minutes.
"""
import hashlib
import hmac
import json
import os
import sys
import time


def sign(event: dict, secret: str, timestamp: int | None = None) -> dict:
    """The event with its timestamp and signature headers filled in (a copy)."""
    event = json.loads(json.dumps(event))
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    body = event.get("body") or ""
    digest = hmac.new(secret.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
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
