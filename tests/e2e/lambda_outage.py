#!/usr/bin/env python3
"""End-to-end (issue 12): check-status unreachable for longer than the Check state's Retry.

A Lambda outage (every invocation of check-status answered with a service error) must pause a
chunk, not end it: its cloud tasks keep running. infra/statemachine/imgflow.asl.json catches
the Check state's Lambda errors after its seven attempts (six retries), counts the round in `$.outages`, waits
and checks again; check-status charges each round to the check budget; past 30 rounds in a row
the chunk ends with Check.Unreachable and the job's completion event says so.

    .venv-e2e/bin/python tests/e2e/lambda_outage.py

Two jobs through the real state machine on moto, the real functions under `cargo lambda watch`
and the cloud emulator, with the shim (tests/e2e/lambda_shim.py) losing the answers of
check-status's *checks* (not of Validate or Summarize):
  1. 14 lost answers after the first check (two rounds of seven attempts): the job succeeds,
     its chunk went through CountOutage twice, and its check count includes the two rounds;
  2. every check answer lost after the first: the chunk ends after 31 rounds with
     Check.Unreachable, and the completion event names it.
Retry waits are scaled to 0 (sfn_engine --retry-delay-scale); the Wait states run as written
(the job's own `options.wait` of 1-2 s); the emulator runs a minute of cloud time per second. Exits 1 if a check failed.
"""

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import run_e2e  # noqa: E402
from run_e2e import EXPORTS, FUNCTIONS, Stack, check, job, output  # noqa: E402

EVENTS_PER_LAMBDA_OUTAGE = 32  # shared/src/job/state.rs
CHECKS_PER_LAMBDA_OUTAGE = 4  # 32 events per round, 9 per check
MAX_OUTAGE_ROUNDS = 30  # the OutageWithinBudget state
ATTEMPTS = 7  # the Check state's attempt and its six retries (MaxAttempts 6)


class LoseChecks:
    """Loses the answers of check-status invocations that are checks (their input holds
    `starts` or `tasks`), once `armed`, `remaining` times (None: every one)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.armed = False
        self.remaining: int | None = 0
        self.lost = 0

    def __call__(self, name: str, body: bytes = b"") -> bool:
        if name != "check-status":
            return False
        try:
            event = json.loads(body or b"null")
        except ValueError:
            return False
        if not isinstance(event, dict) or not ({"starts", "tasks"} & event.keys()):
            return False
        with self.lock:
            # The first check of a job answers (it has no chosen pause yet: a round before it
            # would wait a real minute).
            if not self.armed or not event.get("checks"):
                return False
            if self.remaining is not None:
                if self.remaining <= 0:
                    return False
                self.remaining -= 1
            self.lost += 1
            return True


def entered(histories: list[list[dict]], state: str) -> int:
    return sum(1 for history in histories for e in history
               if e["type"].endswith("StateEntered") and e.get("stateEnteredEventDetails", {}).get("name") == state)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emulator", default=str(ROOT / "target/debug/cloud-emulator"))
    parser.add_argument("--log-dir", default=str(ROOT / "target/e2e-logs/lambda-outage"))
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    log_dir = Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    if not args.no_build:
        subprocess.run(["cargo", "build", "--locked", "-q", *sum((["-p", f] for f in FUNCTIONS), [])],
                       cwd=ROOT, check=True)
    lose = LoseChecks()
    # A minute of cloud time per second: an export runs for several checks, so there are
    # checks whose answers can be lost.
    stack = Stack(args.emulator, log_dir, retry_delay_scale=0, lose_answer=lose, time_scale=60)
    try:
        # 1. Two rounds without an answer, then the function is back.
        lose.armed, lose.remaining = True, 2 * ATTEMPTS
        arn = stack.start("outage-short", job("outage-short", "export",
                                               [dict(EXPORTS["alibaba"], prefix="outageshort")]))
        described = stack.wait([arn])[arn]
        histories = stack.histories(arn)
        summary = output(described)
        check(described["status"] == "SUCCEEDED" and lose.remaining == 0,
              f"a Lambda outage of two rounds ({lose.lost} lost check answers) only paused the job",
              [described["status"], lose.remaining, output(described).get("reason")])
        check(entered(histories, "CountOutage") == 2 and entered(histories, "OutageTooLong") == 0,
              "each round went through CountOutage and waited", entered(histories, "CountOutage"))
        check(summary.get("checks", 0) >= 2 * CHECKS_PER_LAMBDA_OUTAGE,
              "the rounds were charged to the check budget", summary.get("checks"))

        # 2. check-status never answers again after the first check.
        lose.lost, lose.remaining = 0, None
        arn = stack.start("outage-long", job("outage-long", "export",
                                              [dict(EXPORTS["volcengine"], prefix="outagelong")]))
        described = stack.wait([arn], seconds=420)[arn]
        histories = stack.histories(arn)
        reason = output(described).get("reason") or described.get("cause") or ""
        check(described["status"] == "FAILED" and "Check.Unreachable" in json.dumps(described, default=str),
              f"an outage past {MAX_OUTAGE_ROUNDS} rounds ends the job with Check.Unreachable",
              [described["status"], reason, described.get("error")])
        check(entered(histories, "CountOutage") == MAX_OUTAGE_ROUNDS + 1
              and lose.lost == (MAX_OUTAGE_ROUNDS + 1) * ATTEMPTS,
              f"{MAX_OUTAGE_ROUNDS + 1} rounds of {ATTEMPTS} attempts each ({lose.lost} lost answers)",
              [entered(histories, "CountOutage"), lose.lost])
        # Every round's events, counted from one CountOutage to the next in the chunk's
        # history, are within what check-status charges for it (EVENTS_PER_LAMBDA_OUTAGE).
        rounds = [[i for i, e in enumerate(history) if e["type"].endswith("StateEntered")
                   and e.get("stateEnteredEventDetails", {}).get("name") == "CountOutage"]
                  for history in histories]
        spans = [b - a for marks in rounds for a, b in zip(marks, marks[1:])]
        check(spans and max(spans) <= EVENTS_PER_LAMBDA_OUTAGE,
              f"a round costs at most {EVENTS_PER_LAMBDA_OUTAGE} history events (measured: {max(spans or [0])})",
              spans)
        events = [e for e in stack.finished_events() if e.get("detail", {}).get("job_id") == "outage-long"]
        check(len(events) == 1 and "Check.Unreachable" in json.dumps(events[0]),
              "its completion event says why", events)
    finally:
        stack.stop()
    print(f"\n{len(run_e2e.failures)} failed")
    return 1 if run_e2e.failures else 0


if __name__ == "__main__":
    sys.exit(main())
