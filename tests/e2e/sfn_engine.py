#!/usr/bin/env python3
"""A local AWS for the end-to-end tests: moto 5.2.5 as one server on one port, serving
Step Functions *with its ASL interpreter running the executions*, EventBridge, SQS, Secrets
Manager, STS and IAM (every moto service, in fact; these are the ones the tests use).

Small patches make it behave like the real thing for imgflow:
  * `execute_state_machine: True`: StartExecution runs the definition (moto's port of
    LocalStack's interpreter) instead of a stub;
  * the interpreter's Lambda calls go to --lambda-endpoint (tests/e2e/lambda_shim.py in front
    of `cargo lambda watch`); its other AWS calls (events:putEvents, ...) come back to this same
    server instead of http://localhost:$MOTO_PORT (moto's default, 5000);
  * StartExecution without a name gets a UUID, as on AWS (moto 5.2.5 would name it "None"), and
    a name is checked as AWS does (moto 5.2.5's interpreter takes any name);
  * a Lambda service error (ResourceNotFoundException, ServiceException, ...) in a Task whose
    Resource is a function ARN fails the state with `Lambda.<Code>` and AWS's cause text, as AWS
    does and as moto already does for `arn:aws:states:::lambda:invoke` (moto 5.2.5 names it
    `Exception`, so a Retry on Lambda.ServiceException could never fire), and an Invoke that
    could not reach the function (connection closed, read timeout) fails it with
    `Lambda.SdkClientException`, as AWS does;
  * GetExecutionHistory honours reverseOrder, maxResults (default 100) + nextToken and
    includeExecutionData=false (moto 5.2.5 ignores them all and returns every event, oldest first);
  * each Distributed Map child keeps its own history, as on AWS (moto 5.2.5 drops them all
    into one throwaway list): CHILD_HISTORIES[parent ARN] = [(item index, events)];
  * optionally (--retry-delay-scale, default 1) Retry waits are scaled: 0 makes every retry
    immediate, so tests of Retry with IntervalSeconds 60 do not wait for real.

    .venv-e2e/bin/python tests/e2e/sfn_engine.py --port 0 --lambda-endpoint http://127.0.0.1:9001

prints its base URL (http://127.0.0.1:PORT) as the first line of stdout. Point clients at it
with any region and any credentials (moto does not check signatures), e.g.
AWS_ENDPOINT_URL=<url> AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test.
The account is always 123456789012.

From Python (plain scripts, no pytest needed):

    import sfn_engine
    engine = sfn_engine.start(lambda_endpoint="http://127.0.0.1:9001")   # port 0: a free one
    sfn = engine.client("stepfunctions")
    definition = sfn_engine.render_definition(open(asl_path).read(), {
        "MaxConcurrency": 4, "StartExportFunctionArn": sfn_engine.LAMBDA_ARN.format("start-export"), ...})
    ...
    engine.stop()

moto's backends are global to a process: start one engine per process.
"""

import argparse
import copy
import logging
import os
import re
import sys
import threading
import uuid

import boto3
from botocore.config import Config
from moto.core.config import default_user_config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

REGION = "us-east-1"
ACCOUNT = "123456789012"
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
LAMBDA_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{{}}"


class Engine:
    def __init__(self, server: ThreadedMotoServer, url: str):
        self._server = server
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])

    def client(self, service: str, region: str = REGION):
        """A boto3 client for this server (no retries, so failures show at once)."""
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=region,
            config=Config(retries={"total_max_attempts": 1}),
            **CREDENTIALS,
        )

    def reset(self) -> None:
        """Forget every resource (state machines, executions, secrets, queues, ...)."""
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")).read()

    def stop(self) -> None:
        self._server.stop()


def _patch(lambda_endpoint: str | None, own_endpoint: "list[str]", retry_delay_scale: float) -> None:
    """Apply the patches listed in the module's docstring. Idempotent."""
    default_user_config["stepfunctions"]["execute_state_machine"] = True

    # Every module of the parser that imported boto_client_for (by name) must see the new one.
    import moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_factory  # noqa: F401
    import moto.stepfunctions.parser.asl.utils.boto_client as boto_client_module
    import moto.stepfunctions.parser.models as parser_models

    original = getattr(boto_client_module.boto_client_for, "_imgflow_original", boto_client_module.boto_client_for)

    def boto_client_for(region: str, service: str, state_credentials=None):
        if _intercepting():  # inside @mock_aws: moto's own in-process interception
            return original(region=region, service=service, state_credentials=state_credentials)
        return boto3.client(
            service_name=service,
            region_name=region,
            endpoint_url=lambda_endpoint if service == "lambda" and lambda_endpoint else own_endpoint[0],
            aws_access_key_id="ak",
            aws_secret_access_key="sk",
            # As moto's own: no retries (Retry in the ASL decides), no timeouts (the first call of a
            # function makes `cargo lambda watch` compile it).
            config=Config(
                parameter_validation=False,
                retries={"max_attempts": 0, "total_max_attempts": 1},
                connect_timeout=60,
                read_timeout=3600,
            ),
        )

    boto_client_for._imgflow_original = original
    for module in list(sys.modules.values()):
        if module and module.__name__.startswith("moto.stepfunctions.parser") and hasattr(module, "boto_client_for"):
            module.boto_client_for = boto_client_for

    backend = parser_models.StepFunctionsParserBackend
    if not hasattr(backend.start_execution, "_imgflow_original"):
        start_execution = backend.start_execution

        def start_execution_named(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
            if name:
                self._validate_name(name)  # InvalidName, NameTooLongException
            return start_execution(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)

        start_execution_named._imgflow_original = start_execution
        backend.start_execution = start_execution_named

    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda

    if not hasattr(StateTaskLambda._from_error, "_imgflow_original"):
        StateTaskLambda._from_error = _lambda_service_error(StateTaskLambda._from_error)

    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor_worker import (  # noqa: E501
        DistributedItemProcessorWorker,
    )

    if not hasattr(DistributedItemProcessorWorker._eval_job, "_imgflow_original"):
        DistributedItemProcessorWorker._eval_job = _child_history(DistributedItemProcessorWorker._eval_job)

    from moto.stepfunctions.responses import StepFunctionResponse

    StepFunctionResponse.get_execution_history = _get_execution_history

    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    retrier_decl.time = _ScaledSleep(retry_delay_scale)


def _lambda_service_error(from_error):
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotocoreConnectionError
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (
        StateTaskServiceLambda,
    )

    def _from_error(self, env, ex):
        event = from_error(self, env, ex)
        if isinstance(ex, ClientError):
            error, cause = StateTaskServiceLambda._error_cause_from_client_error(ex)
            event.error_name = CustomErrorName(error)
            event.event_details["lambdaFunctionFailedEventDetails"].update(error=error, cause=cause)
        elif isinstance(ex, (HTTPClientError, BotocoreConnectionError)):
            # The Invoke call itself failed (connection closed or refused, read timeout): on AWS
            # the state fails with Lambda.SdkClientException, which the ASL's Retry handles;
            # moto 5.2.5 names it `Exception` (seen when many chunks invoke at once).
            error, cause = "Lambda.SdkClientException", str(ex)
            event.error_name = CustomErrorName(error)
            event.event_details["lambdaFunctionFailedEventDetails"].update(error=error, cause=cause)
        return event

    _from_error._imgflow_original = from_error
    return _from_error


# Each Distributed Map child's history, by its parent execution's ARN: [(item index, events)].
CHILD_HISTORIES: "dict[str, list[tuple[int, list[dict]]]]" = {}
_CHILD_LOCK = threading.Lock()


def _child_history(eval_job):
    """On AWS each child execution of a Distributed Map has its own history (and its own
    25,000-event limit). moto 5.2.5 runs the children in the parent's process and sends the
    events of all of them to one EventManager it then drops: here each child gets its own,
    kept in CHILD_HISTORIES for the tests (GetExecutionHistory of a child does not exist in
    moto)."""
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager

    def _eval_job(self, env, job):
        env.event_manager = EventManager()
        try:
            return eval_job(self, env, job)
        finally:
            parent = env.states.context_object.context_object_data["Execution"]["Id"]
            events = env.event_manager.get_event_history()
            with _CHILD_LOCK:
                CHILD_HISTORIES.setdefault(parent, []).append((job.job_index, events))

    _eval_job._imgflow_original = eval_job
    return _eval_job


class _ScaledSleep:
    """Stands for the `time` module in moto's retrier: the one place that sleeps between retries."""

    def __init__(self, scale: float):
        import time

        self._sleep, self.scale = time.sleep, scale

    def sleep(self, seconds: float) -> None:
        self._sleep(seconds * self.scale)


def _get_execution_history(self):
    """GetExecutionHistory as AWS pages it (moto 5.2.5 ignores every parameter but the ARN)."""
    from moto.core.responses import ActionResult

    events = list(self.stepfunction_backend.get_execution_history(self._get_param("executionArn"))["events"])
    if self._get_param("reverseOrder"):
        events.reverse()
    if self._get_param("includeExecutionData") is False:
        events = copy.deepcopy(events)  # the history itself must keep its data
        for event in events:
            for key, details in event.items():
                if key.endswith("EventDetails") and isinstance(details, dict):
                    for field in ("input", "inputDetails", "output", "outputDetails"):
                        details.pop(field, None)
    size = self._get_int_param("maxResults") or 100
    start = int(self._get_param("nextToken") or 0)
    result = {"events": events[start : start + size]}
    if start + size < len(events):
        result["nextToken"] = str(start + size)
    return ActionResult(result)


def render_definition(text: str, substitutions: dict) -> str:
    """Fill `${Name}` placeholders as SAM's DefinitionSubstitutions does (plain text replacement).

    A placeholder standing alone as a JSON value (`"MaxConcurrency": ${MaxConcurrency}`) takes a
    number as is; inside a string it takes its text. Every placeholder must be given.
    """

    def value(m: "re.Match[str]") -> str:
        if m.group(1) not in substitutions:
            raise KeyError(f"no substitution for ${{{m.group(1)}}}")
        return str(substitutions[m.group(1)])

    return re.sub(r"\$\{([A-Za-z0-9_]+)\}", value, text)


def _intercepting() -> bool:
    from moto.core.models import botocore_stubber

    return botocore_stubber.enabled


def start(
    port: int = 0,
    lambda_endpoint: str | None = None,
    host: str = "127.0.0.1",
    retry_delay_scale: float = 1.0,
    verbose: bool = False,
) -> Engine:
    """Start the server in a background thread of this process.

    verbose=False silences the per-request log and the interpreter's tracebacks of failed states
    (the execution's history has the same facts)."""
    if not verbose:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
    own = [""]
    _patch(lambda_endpoint, own, retry_delay_scale)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_port = server.get_host_and_port()[1]
    own[0] = f"http://{host}:{bound_port}"
    os.environ["MOTO_PORT"] = str(bound_port)  # for anything that still uses moto's default
    return Engine(server, own[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=5000, help="port (0: any free port); default 5000")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--lambda-endpoint", help="Lambda Invoke API for Task states, e.g. http://127.0.0.1:9001")
    ap.add_argument("--retry-delay-scale", type=float, default=1.0, help="factor on Retry waits (0: none)")
    ap.add_argument("--verbose", action="store_true", help="log every request and failed state")
    args = ap.parse_args()
    engine = start(args.port, args.lambda_endpoint, args.host, args.retry_delay_scale, args.verbose)
    print(engine.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        engine.stop()


if __name__ == "__main__":
    main()
