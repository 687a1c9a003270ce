"""An AWS account in the test process: moto for DynamoDB, S3, SQS, Scheduler and
Secrets Manager, and a stand-in for Lambda that runs handlers.

The runtime's code is the one that runs on Lambda: its boto3 clients make
their real calls. moto answers all but Lambda's; Lambda's go, as boto3 sends
them (``AWS_ENDPOINT_URL_LAMBDA``), to ``LambdaStandIn``, a server on
127.0.0.1 speaking the Invoke and GetFunctionConfiguration APIs, which runs
each function's handler in a thread with a Lambda context and a deadline, and
gives each function its own container runtime built from its own environment
(the constructs' contract). moto stores schedules and delayed messages but
never delivers them: the tests do, on a virtual clock (``advance``), through
the runtime's timer relay and the schedules' targets. Every AWS call made is
recorded by caller (botocore's event hooks), for the constructs' policy tests.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import json
import os
import queue
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from moto import mock_aws

from durable_lambda.aws import callback_api, entrypoint, environment, sweeper, timer_relay
from durable_lambda.aws.engine import EngineRuntime
from durable_lambda.aws.runtime import FunctionRuntime, read_callback_key
from durable_lambda.aws.services import AwsServices
from durable_lambda.callback_ids import callback_id_for
from durable_lambda.client import DurableClient
from durable_lambda.store.dynamodb import DynamoDBStore, create_table

REGION = "us-east-1"
ACCOUNT = "123456789012"
TABLE = "durable-executions"
BUCKET = "durable-payloads"
GROUP = "durable-timers"
CALLBACK_URL = "https://callbacks.example.com"
WEEK = 7 * 86400
"""Functions' execution timeout unless a test sets one: past every timer of the tests."""
FUNCTION_TIMEOUT_SECONDS = 60
"""Every function's Lambda timeout: a crashed invocation's lease expires after it."""

Handler = Callable[[Any, Any], Any]


class VirtualClock:
    """Real time plus whatever the test skipped."""

    def __init__(self) -> None:
        self._skipped = datetime.timedelta(0)

    def now(self) -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC) + self._skipped

    def skip(self, seconds: float) -> None:
        self._skipped += datetime.timedelta(seconds=seconds)


@dataclass
class LambdaContext:
    """What Lambda's context object offers a handler."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    deadline: float
    memory_limit_in_mb: str = "512"
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class Crash(BaseException):
    """Raised in a handler: its container dies mid-invocation (nothing is reported)."""


@dataclass
class Function:
    name: str
    handler: Handler
    environment: dict[str, str] = field(default_factory=dict)
    runtime: FunctionRuntime | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.name}"


@dataclass(frozen=True)
class Call:
    """One AWS call a part of the runtime made."""

    caller: str
    action: str
    resource: str


class LambdaStandIn:
    """Lambda's Invoke and GetFunctionConfiguration on 127.0.0.1, running handlers."""

    def __init__(self, account: AwsAccount) -> None:
        self._account = account
        self.functions: dict[str, Function] = {}
        self._async: queue.Queue[tuple[Function, str, bytes] | None] = queue.Queue()
        self._busy = 0
        self._busy_lock = threading.Condition()
        self.current = threading.local()
        self.errors: list[BaseException] = []
        stand_in = self

        class Requests(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                stand_in._on_invoke(self)

            def do_GET(self) -> None:
                stand_in._on_configuration(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Requests)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._threads = [
            threading.Thread(target=self._server.serve_forever, daemon=True),
            *(threading.Thread(target=self._run_async, daemon=True) for _ in range(4)),
        ]
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        for _ in range(4):
            self._async.put(None)
        self._server.shutdown()
        self._server.server_close()

    # region the API

    def _function(self, path: str) -> tuple[Function | None, str]:
        name = unquote(path.split("/")[3])
        parts = name.split(":")
        short = parts[6] if name.startswith("arn:") else parts[0]
        qualifier = (
            (parts[7] if len(parts) > 7 else None)
            if name.startswith("arn:")
            else (parts[1] if len(parts) > 1 else None)
        )
        query = parse_qs(urlsplit(path).query)
        qualifier = query.get("Qualifier", [qualifier])[0]
        function = self.functions.get(short)
        invoked = function.arn + (f":{qualifier}" if qualifier else "") if function else name
        return function, invoked

    def _not_found(self, request: BaseHTTPRequestHandler, name: str) -> None:
        body = json.dumps({"Type": "User", "message": f"Function not found: {name}"}).encode()
        request.send_response(HTTPStatus.NOT_FOUND)
        request.send_header("x-amzn-ErrorType", "ResourceNotFoundException")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def _on_configuration(self, request: BaseHTTPRequestHandler) -> None:
        function, invoked = self._function(request.path)
        if function is None:
            self._not_found(request, invoked)
            return
        body = json.dumps(
            {
                "FunctionName": function.name,
                "FunctionArn": invoked,
                "Environment": {"Variables": function.environment},
            }
        ).encode()
        request.send_response(HTTPStatus.OK)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def _on_invoke(self, request: BaseHTTPRequestHandler) -> None:
        function, invoked = self._function(request.path)
        payload = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        if function is None:
            self._not_found(request, invoked)
            return
        if request.headers.get("X-Amz-Invocation-Type") == "Event":
            with self._busy_lock:
                self._busy += 1
            self._async.put((function, invoked, payload))
            request.send_response(HTTPStatus.ACCEPTED)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        status, body, error = self.run(function, invoked, payload)
        request.send_response(status)
        if error:
            request.send_header("X-Amz-Function-Error", "Unhandled")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    # endregion
    # region running handlers

    def run(self, function: Function, invoked: str, payload: bytes) -> tuple[int, bytes, bool]:
        """One invocation, as Lambda runs it: its answer, and whether it failed."""
        context = LambdaContext(
            function_name=function.name,
            invoked_function_arn=invoked,
            aws_request_id=str(uuid.uuid4()),
            deadline=time.monotonic() + FUNCTION_TIMEOUT_SECONDS,
        )
        self.current.function = function
        try:
            result = function.handler(json.loads(payload or b"{}"), context)
            return HTTPStatus.OK, json.dumps(result).encode(), False
        except Crash:
            return HTTPStatus.OK, b'{"errorType": "Runtime.ExitError"}', True
        except Exception as e:
            self.errors.append(e)
            body = {"errorMessage": str(e), "errorType": type(e).__name__}
            return HTTPStatus.OK, json.dumps(body).encode(), True
        finally:
            self.current.function = None

    def _run_async(self) -> None:
        while (item := self._async.get()) is not None:
            function, invoked, payload = item
            try:
                self.run(function, invoked, payload)
            finally:
                with self._busy_lock:
                    self._busy -= 1
                    self._busy_lock.notify_all()

    def wait_until_idle(self, timeout: float = 30) -> None:
        """Until every asynchronous invocation, and those they caused, has ended."""
        deadline = time.monotonic() + timeout
        with self._busy_lock:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    msg = f"Lambda did not become idle within {timeout} s"
                    raise TimeoutError(msg)
                self._busy_lock.wait(left)

    # endregion


class AwsAccount:
    """The engine of one test: its resources on moto, its functions on the stand-in."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        self.clock = VirtualClock()
        self.calls: list[Call] = []
        self.lambda_ = LambdaStandIn(self)
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", self.lambda_.endpoint)
        # What tells a handler it runs as a deployed durable function; the rest of
        # each function's environment is its own (``deploy``).
        monkeypatch.setenv(environment.TABLE, TABLE)
        for name, value in (
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_DEFAULT_REGION", REGION),
        ):
            monkeypatch.setenv(name, value)
        self._tmp_path = tmp_path
        self._delayed: list[tuple[datetime.datetime, int, dict[str, Any]]] = []
        self._sequence = itertools.count()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def running(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsAccount]:
        with mock_aws():
            services = self.services("setup")
            create_table(services.dynamodb, TABLE)
            services.s3.create_bucket(Bucket=BUCKET)
            sqs = services.sqs
            self.queue_url = sqs.create_queue(QueueName="durable-timers")["QueueUrl"]
            dlq = sqs.create_queue(QueueName="durable-timers-dlq")["QueueUrl"]
            self.dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            services.scheduler.create_schedule_group(Name=GROUP)
            self.secret_arn = services.secrets.create_secret(
                Name="durable-callback-key", SecretString=uuid.uuid4().hex * 2
            )["ARN"]
            self.engine = EngineRuntime(
                self.store("callback-api"), self.services("callback-api"), self.clock
            )
            sweeping = EngineRuntime(self.store("sweeper"), self.services("sweeper"), self.clock)
            relaying = self.services("timer-relay")
            monkeypatch.setattr(entrypoint, "container_runtime", self._container_runtime)
            monkeypatch.setattr(callback_api, "_runtime", lambda: self.engine)
            monkeypatch.setattr(sweeper, "_runtime", lambda: sweeping)
            monkeypatch.setattr(timer_relay, "_services", lambda: relaying)
            try:
                yield self
            finally:
                self.lambda_.close()
            check_granted(self.granted_calls())

    # region the calls the runtime makes

    def granted_calls(self) -> set[tuple[str, str, str]]:
        """(caller, IAM action, resource) of every call a part of the runtime made,
        named as the constructs name them (``tests/data/aws_calls.json``)."""
        durable = {n for n, f in self.lambda_.functions.items() if f.environment}
        plain = set(self.lambda_.functions) - durable
        found: set[tuple[str, str, str]] = set()
        for call in self.calls:
            if call.caller in ("setup", "user") or call.caller in plain:
                continue
            caller = "durable-function" if call.caller in durable else call.caller
            for action in _iam_actions(call.action):
                found.add((caller, action, self._resource(call, durable)))
            if call.action == "scheduler:CreateSchedule":
                # Scheduler checks that the caller may pass the role its target names.
                found.add((caller, "iam:PassRole", "scheduler-role"))
        return found

    def _resource(self, call: Call, durable: set[str]) -> str:
        resource = call.resource
        if resource == TABLE:
            return "table"
        if resource == BUCKET:
            return "payload-bucket"
        if resource == getattr(self, "queue_url", None):
            return "timer-queue"
        if resource == getattr(self, "secret_arn", None):
            return "callback-key-secret"
        if resource == GROUP:
            return "schedule-group"
        name = resource.split(":")[6] if resource.startswith("arn:") else resource.split(":")[0]
        if name == call.caller:
            return "itself"
        return "durable-function" if name in durable else "plain-function"

    # endregion
    # region parts

    def services(self, caller: str) -> AwsServices:
        """boto3 clients of one part of the runtime, recording every call it makes."""
        services = AwsServices(REGION)
        for name in ("dynamodb", "s3", "sqs", "scheduler", "secretsmanager", "lambda"):
            client = services.client(name)
            client.meta.events.register("before-parameter-build.*.*", self._recorder(caller))
        sqs = services.client("sqs")
        sqs.meta.events.register("before-parameter-build.sqs.SendMessage", self._delay)
        return services

    def _recorder(self, caller: str) -> Callable[..., None]:
        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            service = model.service_model.service_name
            resource = (
                params.get("TableName")
                or params.get("Bucket")
                or params.get("QueueUrl")
                or params.get("FunctionName")
                or params.get("SecretId")
                or params.get("GroupName")
                or ""
            )
            if model.name in ("TransactWriteItems", "BatchGetItem"):
                resource = TABLE
            with self._lock:
                self.calls.append(Call(caller, f"{service}:{model.name}", str(resource)))

        return record

    def _delay(self, params: dict[str, Any], **_: Any) -> None:
        """Keep a timer message, to deliver it when its delay has passed on the clock."""
        if params.get("QueueUrl", "").endswith("/durable-timers"):
            due = self.clock.now() + datetime.timedelta(seconds=params.get("DelaySeconds", 0))
            with self._lock:
                self._delayed.append((due, next(self._sequence), json.loads(params["MessageBody"])))

    def _engine_part(self, caller: str) -> EngineRuntime:
        services = self.services(caller)
        store = DynamoDBStore(
            TABLE, client=services.dynamodb, payload_bucket=BUCKET, s3_client=services.s3
        )
        return EngineRuntime(store, services, self.clock)

    def store(self, caller: str) -> DynamoDBStore:
        services = self.services(caller)
        return DynamoDBStore(
            TABLE, client=services.dynamodb, payload_bucket=BUCKET, s3_client=services.s3
        )

    def function_environment(self, execution_timeout: int = WEEK) -> dict[str, str]:
        """The environment the constructs give every durable function."""
        return {
            environment.TABLE: TABLE,
            environment.PAYLOAD_BUCKET: BUCKET,
            environment.SCHEDULE_GROUP: GROUP,
            environment.SCHEDULER_ROLE_ARN: f"arn:aws:iam::{ACCOUNT}:role/durable-scheduler",
            environment.TIMER_DLQ_ARN: self.dlq_arn,
            environment.TIMER_QUEUE_URL: self.queue_url,
            environment.CALLBACK_URL: CALLBACK_URL,
            environment.CALLBACK_KEY_SECRET_ARN: self.secret_arn,
            environment.RETENTION_DAYS: "14",
            environment.EXECUTION_TIMEOUT_SECONDS: str(execution_timeout),
        }

    def deploy(
        self, name: str, handler: Handler, *, execution_timeout: int = 7 * 86400
    ) -> Function:
        """A durable function, as ``DurableFunction`` deploys it."""
        function = Function(name, handler, self.function_environment(execution_timeout))
        self.lambda_.functions[name] = function
        return function

    def deploy_plain(self, name: str, handler: Handler) -> Function:
        function = Function(name, handler)
        self.lambda_.functions[name] = function
        return function

    def _container_runtime(self) -> FunctionRuntime:
        """The runtime of the container running this thread's function."""
        function: Function = self.lambda_.current.function
        if function.runtime is None:
            settings = environment.FunctionEnvironment.read(function.environment)
            function.runtime = FunctionRuntime(settings, self.services(function.name), self.clock)
        return function.runtime

    # endregion
    # region what a user and the engine do

    def client(self) -> DurableClient:
        """A user's ``DurableClient`` of this engine."""
        return DurableClient(TABLE, payload_bucket=BUCKET, services=self.services("client"))

    def callback_id(self, execution_id: str, operation_id: str) -> str:
        """The id of a callback, as the function that created it derived it."""
        key = read_callback_key(self.services("setup"), self.secret_arn)
        return callback_id_for(key, execution_id, operation_id)

    def invoke(self, function: str, event: Any, *, asynchronous: bool = False) -> Any:
        """Invoke a function as a caller would, through Lambda."""
        lambda_ = self.services("user").lambda_
        answer = lambda_.invoke(
            FunctionName=function,
            InvocationType="Event" if asynchronous else "RequestResponse",
            Payload=json.dumps(event).encode(),
        )
        body = answer["Payload"].read()
        if not asynchronous:
            self.lambda_.wait_until_idle()
        return json.loads(body) if body else None

    def post_callback(self, url: str, action: str, body: bytes = b"") -> dict[str, Any]:
        """An HTTP POST to a callback URL, as API Gateway hands it to the callback handler."""
        path = urlsplit(url).path + f"/{action}"
        event = {
            "version": "2.0",
            "rawPath": path,
            "requestContext": {"http": {"method": "POST", "path": path}},
            "body": body.decode(),
            "isBase64Encoded": False,
        }
        response = callback_api.handler(event, None)
        self.lambda_.wait_until_idle()
        return response

    def sweep(self) -> int:
        delivered: int = sweeper.handler({}, None)["Delivered"]
        self.lambda_.wait_until_idle()
        return delivered

    def advance(self, seconds: float) -> None:
        """Move the clock on, delivering timers as they come due, in order."""
        target = self.clock.now() + datetime.timedelta(seconds=seconds)
        while True:
            due = self._next_due()
            if due is None or due[0] > target:
                break
            self.clock.skip(max(0.0, (due[0] - self.clock.now()).total_seconds()))
            due[1]()
            self.lambda_.wait_until_idle()
        self.clock.skip(max(0.0, (target - self.clock.now()).total_seconds()))

    def run_to_end(self, execution_id: str, within_seconds: float = 3 * 86400) -> Any:
        """Deliver timers in order until the execution ends; its record."""
        store = self.engine.store
        deadline = self.clock.now() + datetime.timedelta(seconds=within_seconds)
        while (record := store.get_execution(execution_id)).status.value == "RUNNING":
            due = self._next_due()
            assert due is not None and due[0] <= deadline, f"{execution_id} waits on nothing"
            self.advance(max(0.0, (due[0] - self.clock.now()).total_seconds()))
        return record

    def _next_due(self) -> tuple[datetime.datetime, Callable[[], None]] | None:
        candidates: list[tuple[datetime.datetime, Callable[[], None]]] = []
        with self._lock:
            if self._delayed:
                self._delayed.sort(key=lambda d: (d[0], d[1]))
                due, _, message = self._delayed[0]
                candidates.append((due, lambda: self._deliver_message(message)))
        for schedule in self._schedules():
            candidates.append(schedule)
        return min(candidates, key=lambda c: c[0], default=None)

    def _deliver_message(self, message: dict[str, Any]) -> None:
        with self._lock:
            self._delayed.pop(0)
        event = {"Records": [{"messageId": str(uuid.uuid4()), "body": json.dumps(message)}]}
        timer_relay.handler(event, None)

    def _schedules(self) -> Iterator[tuple[datetime.datetime, Callable[[], None]]]:
        scheduler = self.services("setup").scheduler
        for summary in scheduler.list_schedules(GroupName=GROUP).get("Schedules", []):
            schedule = scheduler.get_schedule(GroupName=GROUP, Name=summary["Name"])
            found = re.fullmatch(r"at\((.+)\)", schedule["ScheduleExpression"])
            assert found is not None
            at = datetime.datetime.fromisoformat(found[1]).replace(tzinfo=datetime.UTC)
            yield at, lambda s=schedule: self._fire_schedule(s)

    def _fire_schedule(self, schedule: dict[str, Any]) -> None:
        """Scheduler invokes the target with its input, then deletes the schedule."""
        services = self.services("scheduler")
        target = schedule["Target"]
        services.lambda_.invoke(
            FunctionName=target["Arn"], InvocationType="Event", Payload=target["Input"].encode()
        )
        # Scheduler's own doing (ActionAfterCompletion DELETE), not its role's.
        self.services("setup").scheduler.delete_schedule(GroupName=GROUP, Name=schedule["Name"])

    # endregion


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


CALLS_FILE = Path(__file__).parent / "data" / "aws_calls.json"
"""Every (caller, IAM action, resource) the runtime makes in these tests; the
constructs' tests check that each is granted, and nothing more."""
_TRANSACTION_ACTIONS = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
)


def _iam_actions(call: str) -> tuple[str, ...]:
    """The IAM actions a call needs."""
    if call == "dynamodb:TransactWriteItems":
        return _TRANSACTION_ACTIONS
    if call == "lambda:Invoke":
        return ("lambda:InvokeFunction",)
    return (call,)


def check_granted(found: set[tuple[str, str, str]]) -> None:
    """Fail if the runtime made a call ``aws_calls.json`` does not list (the constructs
    grant exactly what it lists); with ``DURABLE_LAMBDA_RECORD_AWS_CALLS=1``, add it."""
    known = {tuple(c) for c in json.loads(CALLS_FILE.read_text())} if CALLS_FILE.exists() else set()
    new = found - known
    if new and os.environ.get("DURABLE_LAMBDA_RECORD_AWS_CALLS") == "1":
        CALLS_FILE.parent.mkdir(exist_ok=True)
        CALLS_FILE.write_text(json.dumps(sorted(known | new), indent=1) + "\n")
        return
    assert not new, f"calls not in {CALLS_FILE.name} (grant them, then record them): {sorted(new)}"
