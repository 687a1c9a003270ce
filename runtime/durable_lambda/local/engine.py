"""The embedded local engine: the same runtime, a SQLite store, local wakers.

``LocalEngine`` plays the part of Lambda and of the AWS parts around it:
it invokes registered handlers with a resume event, invokes again what a
fired timer or a crash left to do, times executions out, stops them, and
starts the targets of chained invokes. Timers run on the wall clock, or on a
skipping clock that jumps to the next timer whenever nothing else can happen
(tests: no waiting for waits, retries or callback timeouts; execution
timeouts keep to the wall clock, as on the AWS testing SDK's runner).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from durable_lambda import callback_requests
from durable_lambda.arguments import require, require_seconds_from
from durable_lambda.backend import Backend
from durable_lambda.chained import ChainedInvokeRequest, durable_execution_arn
from durable_lambda.clock import Clock, SystemClock
from durable_lambda.exceptions import InvalidStateError, ValidationError
from durable_lambda.execution import RESUME_KEY, require_durable_handler
from durable_lambda.history import Event, present
from durable_lambda.lambda_service import ErrorObject, Operation, OperationStatus
from durable_lambda.local import process_identity
from durable_lambda.local.callback_key import callback_key_for
from durable_lambda.local.clock import SkippingClock
from durable_lambda.local.deadlines import WallClockDeadlines
from durable_lambda.local.invoker import (
    Crashed,
    InvocationRequest,
    InvocationResult,
    Invoker,
    ProcessInvoker,
    Raised,
    Returned,
    ThreadInvoker,
)
from durable_lambda.local.targets import (
    LocalTargets,
    TargetDirectory,
    TargetInfo,
)
from durable_lambda.operation.callback import (
    with_callback_id,
    with_callback_started_id,
)
from durable_lambda.store.contract import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    REINVOKE_TIMER,
    START_TARGET_RETRY_SECONDS,
    ExecutionPage,
    ExecutionRecord,
    ExecutionStatus,
    NewExecution,
    Store,
    exit_error,
    is_delivery_timer,
)
from durable_lambda.store.memory import MemoryStore
from durable_lambda.store.sqlite import SqliteStore
from durable_lambda.transitions import Completion

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

logger = logging.getLogger(__name__)

InvocationIsolation = Literal["thread", "process"]
"""Where the engine runs invocations: engine threads, or worker processes."""
Handler = Callable[[Any, Any], Any]

REINVOKE_BACKOFF_CAP_SECONDS = 60
"""Longest delay before invoking again after consecutive failed invocations."""
TIMER_RETRY_SECONDS = 0.05
"""First pause of the timer loop after the store failed it; doubled each time."""
TIMER_RETRY_CAP_SECONDS = 5.0
"""Longest pause of the timer loop between attempts on a failing store."""
FUNCTION_CALL_GRACE_SECONDS = 5
"""How long past the invocation timeout a call of a function that is not
durable may report before its invoke fails as timed out."""


@dataclass(frozen=True)
class RegisteredFunction:
    """A function the engine can invoke."""

    name: str
    handler: Handler
    durable: bool
    execution_timeout: int | None = None


class LocalEngine:
    """Runs durable functions on this machine.

    Args:
        store: Where executions live; by default a ``MemoryStore`` (a
            temporary SQLite file with process isolation).
        skip_time: Jump over timers instead of waiting for them in real time.
            Execution timeouts still run on the wall clock: time skipped does
            not count toward them.
        invocation_isolation: "thread" (default) runs invocations in engine
            threads; "process" runs each in a worker process, so a handler
            that kills its process is a crashed invocation that is invoked
            again, as on Lambda.
        invocation_timeout: Seconds an invocation may run (process isolation
            stops it then, as Lambda would).
        region: The region in function ARNs and execution ids.
        account_id: The account in function ARNs and execution ids.
        max_concurrent_invocations: Invocations running at once, across
            executions.
        callback_key: Secret that callback ids derive from; by default kept
            next to a file store's database (``<database>-callback-key``),
            or fresh for an in-memory store.
        callback_port: Port of the callback HTTP server on 127.0.0.1; 0 lets
            the operating system choose (see ``callback_endpoint``).
        managed_limits: Hold executions to the managed service's limits
            (3,000 operations, 256 KiB per step result or error): a checkpoint
            past them fails the execution as the service makes it fail
            (``durable_lambda.managed_limits``).
        http_routes: Makes the WSGI application that the callback server
            runs for every path outside ``/callbacks``, given this engine
            (called before the engine has finished starting: keep the
            engine, use it when requests come). The dev server's pages and
            API are served this way, beside the callback routes.
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        skip_time: bool = False,
        invocation_isolation: InvocationIsolation = "thread",
        invocation_timeout: float = 900,
        region: str = "us-east-1",
        account_id: str = "000000000000",
        max_concurrent_invocations: int = 8,
        callback_key: bytes | None = None,
        callback_port: int = 0,
        managed_limits: bool = False,
        http_routes: Callable[[LocalEngine], WSGIApplication] | None = None,
    ) -> None:
        if invocation_isolation not in ("thread", "process"):
            msg = (
                f'invocation_isolation must be "thread" or "process", got: {invocation_isolation!r}'
            )
            raise ValidationError(msg)
        self._temporary_dir: tempfile.TemporaryDirectory[str] | None = None
        if store is None:
            store = self._default_store(invocation_isolation)
        self.store: Store = store
        self.clock: Clock = SkippingClock() if skip_time else SystemClock()
        key = callback_key or callback_key_for(store)
        self._region = region
        self._account_id = account_id
        self._functions: dict[str, RegisteredFunction] = {}
        self._target_functions: dict[str, TargetInfo] = {}
        self._targets = TargetDirectory(self._target_functions, region, account_id)
        self._invocation_timeout = invocation_timeout
        self._cond = threading.Condition()
        self._running: set[str] = set()
        self._again: set[str] = set()
        self._failures: dict[str, int] = {}
        self._deferred_targets: dict[str, list[ChainedInvokeRequest]] = {}
        self._to_take_up: list[str] = []
        """Functions registered since the timer loop last took up their executions."""
        self._functions_running = 0
        self._skip_holds = 0
        self._firing = False
        self._closed = False
        from durable_lambda.local.callback_server import CallbackServer  # noqa: PLC0415 - imports waitress

        self._callback_server = CallbackServer(
            self, callback_port, other_routes=http_routes(self) if http_routes else None
        )
        try:
            self.backend = Backend(
                store,
                self.clock,
                key,
                self._callback_server.endpoint,
                LocalTargets(self._targets, self._start_target_later),
                lease_holder=process_identity.current(),
                managed_limits=managed_limits,
            )
            self._invoker = self._create_invoker(invocation_isolation)
        except BaseException:
            self._callback_server.close()
            raise
        self._pool = ThreadPoolExecutor(
            max_workers=max_concurrent_invocations, thread_name_prefix="invocation"
        )
        self._deadlines = WallClockDeadlines(self._time_out) if skip_time else None
        self._timers = threading.Thread(target=self._run_timers, name="timers", daemon=True)
        self._timers.start()

    def _default_store(self, isolation: InvocationIsolation) -> Store:
        if isolation == "thread":
            return MemoryStore()
        self._temporary_dir = tempfile.TemporaryDirectory(prefix="durable-lambda-")
        return SqliteStore(str(Path(self._temporary_dir.name) / "engine.sqlite3"))

    def _create_invoker(self, isolation: InvocationIsolation) -> Invoker:
        if isolation == "thread":
            return ThreadInvoker(self.backend)
        clock = self.clock
        functions, region, account_id = self._target_functions, self._region, self._account_id
        return ProcessInvoker(
            self.store.opener(),
            lambda: clock.offset if isinstance(clock, SkippingClock) else None,
            targets=lambda: TargetDirectory(dict(functions), region, account_id),
            start_target=self._start_target_later,
            callback_key=self.backend.callback_key,
            callback_endpoint=self.backend.callback_endpoint,
            managed_limits=self.backend.managed_limits,
        )

    # region functions and executions

    def register_durable_function(
        self, name: str, handler: Handler, execution_timeout: int | None = None
    ) -> None:
        """Make ``handler`` (decorated with ``@durable_execution``) invokable as ``name``.

        ``execution_timeout`` (seconds, None: none) bounds the executions it
        runs, those started by chained invokes included.
        """
        require_durable_handler(name, handler)
        require_seconds_from(
            "execution_timeout", execution_timeout, self.clock.now(), optional=True
        )
        self._register(RegisteredFunction(name, handler, True, execution_timeout))

    def register_function(self, name: str, handler: Handler) -> None:
        """Make a plain (not durable) Lambda handler invokable as ``name``."""
        self._register(RegisteredFunction(name, handler, False))

    def _register(self, function: RegisteredFunction) -> None:
        if not isinstance(function.name, str) or not function.name:
            msg = f"A function name must be a non-empty string, got: {function.name!r}"
            raise ValidationError(msg)
        self._invoker.check_handler(function.handler)
        self._functions[function.name] = function
        self._target_functions[function.name] = TargetInfo(
            function.name, function.durable, self.function_arn(function.name)
        )
        if function.durable:
            with self._cond:
                self._to_take_up.append(function.name)
                self._cond.notify_all()

    def function(self, name: str) -> RegisteredFunction:
        """A registered function, or a ValidationError naming those that exist."""
        try:
            return self._functions[name]
        except KeyError:
            known = ", ".join(sorted(self._functions)) or "none"
            msg = f"No function named {name!r} is registered (registered: {known})"
            raise ValidationError(msg) from None

    def function_arn(self, name: str) -> str:
        """The ARN of the function ``name`` in the engine's region and account."""
        return f"arn:aws:lambda:{self._region}:{self._account_id}:function:{name}"

    def start_execution(
        self,
        function_name: str,
        input: str | None = None,  # noqa: A002 - the AWS API's name
        *,
        execution_name: str | None = None,
        execution_timeout: int | None = None,
    ) -> str:
        """Start an execution of a registered durable function; returns its id.

        ``input`` is the JSON text of the event. Starting again with the
        name of an existing execution returns that execution's id.
        """
        function = self.function(function_name)
        if not function.durable:
            msg = f"{function_name!r} is not a durable function"
            raise ValidationError(msg)
        require(
            input is None or isinstance(input, str),
            "Execution input",
            input,
            "JSON text (a string such as json.dumps(event)) or None",
        )
        if input is not None:
            try:
                json.loads(input)
            except ValueError as e:  # a JSONDecodeError, or a number too long to convert
                msg = f"Execution input must be JSON text: {e}"
                raise ValidationError(msg) from e
        timeout = execution_timeout if execution_timeout is not None else function.execution_timeout
        require_seconds_from("execution_timeout", timeout, self.clock.now(), optional=True)
        name = execution_name or str(uuid.uuid4())
        execution_id = durable_execution_arn(
            self.function_arn(function_name), name, str(uuid.uuid4())
        )
        record, _ = self._create_and_invoke(
            NewExecution(execution_id, function_name, name, input, timeout)
        )
        return record.execution_id

    def _create_execution(self, new: NewExecution) -> tuple[ExecutionRecord, bool]:
        """Create an execution; while the clock skips, its timeout runs on the wall clock."""
        deadlines = self._deadlines
        if deadlines is None or new.timeout_seconds is None:
            return self.store.create_execution(new, self.clock.now())
        record, created = self.store.create_execution(
            dataclasses.replace(new, timeout_timer=False), self.clock.now()
        )
        if created:
            deadlines.arm(record.execution_id, new.timeout_seconds)
        return record, created

    def _time_out(self, execution_id: str) -> None:
        if self.store.time_out_execution(execution_id, self.clock.now()):
            self._notify()

    def invoke(self, execution_id: str) -> None:
        """Invoke the execution's function (again); a no-op when nothing is to be done."""
        with self._cond:
            if self._closed:
                return
            if execution_id in self._running:
                self._again.add(execution_id)
                return
            self._running.add(execution_id)
        self._pool.submit(self._invoke_until_settled, execution_id)

    def _create_and_invoke(self, new: NewExecution) -> tuple[ExecutionRecord, bool]:
        """Create the execution (idempotently) and invoke it if it is new.

        Marked as being invoked before it exists, so the timer loop, which sees
        the new execution due, leaves its first invocation to this call.
        """
        execution_id = new.execution_id
        with self._cond:
            reserved = not self._closed and execution_id not in self._running
            if reserved:
                self._running.add(execution_id)
        try:
            record, created = self._create_execution(new)
        except BaseException:
            if reserved:
                self._settled(execution_id)
            raise
        if reserved and created:
            self._pool.submit(self._invoke_until_settled, execution_id)
        elif reserved:
            self._settled(execution_id)
        return record, created

    def _settled(self, execution_id: str) -> None:
        """The engine no longer invokes the execution."""
        with self._cond:
            self._running.discard(execution_id)
            self._again.discard(execution_id)
            self._cond.notify_all()

    def get_execution(self, execution_id: str) -> ExecutionRecord:
        """The execution's record (ExecutionNotFoundError when none has the id)."""
        return self.store.get_execution(execution_id)

    def stop_execution(self, execution_id: str, error: ErrorObject | None = None) -> bool:
        """Stop a running execution, and the chained invoke children it has running.

        False when it had already ended.
        """
        stopped = self.store.stop_execution(
            execution_id,
            self.clock.now(),
            error or ErrorObject.from_message("Execution stopped by user request"),
        )
        self._notify()
        return stopped

    def describe_execution(self, execution_id: str) -> ExecutionRecord:
        """The execution (``DurableExecutionsApi``)."""
        return self.store.get_execution(execution_id)

    def list_executions(
        self,
        *,
        function_name: str | None = None,
        status: ExecutionStatus | None = None,
        started_after: datetime.datetime | None = None,
        started_before: datetime.datetime | None = None,
        page_token: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> ExecutionPage:
        """Executions in the engine's store, a page at a time (``DurableExecutionsApi``)."""
        return self.store.list_executions(
            function_name=function_name,
            status=status,
            started_after=started_after,
            started_before=started_before,
            page_token=page_token,
            limit=limit,
        )

    def get_execution_history(self, execution_id: str) -> list[Event]:
        """The execution's events with their payloads (``DurableExecutionsApi``)."""
        return self.get_history(execution_id)

    def wait_for_result(self, execution_id: str, timeout: float = 60) -> ExecutionRecord:
        """Block until the execution ends (``DurableExecutionsApi``)."""
        return self.wait_for_completion(execution_id, timeout)

    def get_operations(self, execution_id: str) -> list[Operation]:
        """The execution's operations; callbacks show their ids."""
        key = self.backend.require_callback_key()
        return [
            with_callback_id(operation, key, execution_id)
            for operation in self.store.get_operations(execution_id)
        ]

    def get_history(self, execution_id: str, *, include_execution_data: bool = True) -> list[Event]:
        """The execution's events, AWS-shaped, with EventId from 1.

        ``CallbackStarted`` events show the callback's id, derived here from
        the engine's key: the store never holds it.
        """
        key = self.backend.require_callback_key()
        return [
            present(
                with_callback_started_id(event, key, execution_id),
                event["EventId"],
                include_data=include_execution_data,
            )
            for event in self.store.get_history(execution_id)
        ]

    def wait_for_completion(self, execution_id: str, timeout: float) -> ExecutionRecord:
        """Block until the execution ends; TimeoutError after ``timeout`` real seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                record = self.store.get_execution(execution_id)
                if record.status is not ExecutionStatus.RUNNING:
                    return record
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    msg = f"Execution {execution_id} did not complete within {timeout} s"
                    raise TimeoutError(msg)
                self._cond.wait(timeout=min(remaining, 0.5))

    # endregion
    # region callbacks

    @property
    def callback_endpoint(self) -> str:
        """Base URL of the callback HTTP API (``http://127.0.0.1:<port>``)."""
        return self._callback_server.endpoint

    def send_callback_success(self, callback_id: str, result: bytes | None = None) -> None:
        """Complete a waiting callback with ``result`` (UTF-8 text) and resume its execution.

        Refusals (``callback_requests``) change nothing.
        """
        self._change_callback(callback_requests.success(callback_id, result))

    def send_callback_failure(
        self, callback_id: str, error: ErrorObject | Mapping[str, Any] | None = None
    ) -> None:
        """Fail a waiting callback with ``error`` and resume its execution.

        ``error`` is an ErrorObject or a mapping with ErrorType, ErrorMessage,
        ErrorData (strings) and StackTrace (list of strings), each optional.
        """
        self._change_callback(callback_requests.failure(callback_id, error))

    def send_callback_heartbeat(self, callback_id: str) -> None:
        """Tell a waiting callback its caller is alive: its heartbeat timeout starts over."""
        self._change_callback(callback_requests.heartbeat(callback_id))

    def _change_callback(self, request: callback_requests.CallbackRequest) -> None:
        callback_requests.apply(self.store, request, self.clock.now())
        if request.wakes:
            self._notify()  # the store made the execution due; the timer loop invokes it

    # endregion
    # region time

    @contextlib.contextmanager
    def time_skipping(self) -> Iterator[None]:
        """Let a skipping clock jump to the next timer while the engine is idle.

        Outside such a block time only moves with the wall clock, so a test
        can complete a callback before its timeout without racing the clock.
        """
        with self._cond:
            self._skip_holds += 1
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._skip_holds -= 1

    def wait_until_idle(self, timeout: float = 60) -> None:
        """Block until no invocation runs and no timer is due; TimeoutError after
        ``timeout`` real seconds."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                busy = bool(self._running) or self._firing
            if not busy:
                due = self.store.next_timer_due(self._function_names())
                if due is None or due > self.clock.now():
                    with self._cond:
                        if not self._running and not self._firing:
                            return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                msg = f"The engine did not become idle within {timeout} s"
                raise TimeoutError(msg)
            with self._cond:
                self._cond.wait(timeout=min(remaining, 0.05))

    def skip_to_next_timer(self, timeout: float = 60) -> bool:
        """Once idle, jump the skipping clock to the next timer and let it fire.

        Returns once the invocations it caused have finished; False (and no
        jump) when no timer is set.
        """
        clock = self._skipping_clock()
        self.wait_until_idle(timeout)
        due = self.store.next_timer_due(self._function_names())
        if due is None:
            return False
        clock.advance_to(due)
        self._notify()
        self.wait_until_idle(timeout)
        return True

    def advance_time(self, seconds: float, timeout: float = 60) -> None:
        """Skip the clock ``seconds`` ahead, firing every timer due on the way, in order.

        Each timer fires at its own time and the invocations it causes finish
        before the clock moves on; returns idle, ``seconds`` later.
        """
        clock = self._skipping_clock()
        if seconds < 0:
            msg = f"Time only moves forward; got {seconds} seconds"
            raise ValidationError(msg)
        target = clock.now() + datetime.timedelta(seconds=seconds)
        self.wait_until_idle(timeout)
        while (
            due := self.store.next_timer_due(self._function_names())
        ) is not None and due <= target:
            self.skip_to_next_timer(timeout)
        clock.advance_to(target)
        self.wait_until_idle(timeout)

    def _skipping_clock(self) -> SkippingClock:
        clock = self.clock
        if not isinstance(clock, SkippingClock):
            msg = "Only an engine with skip_time=True can move its clock"
            raise ValidationError(msg)
        return clock

    # endregion
    # region closing

    def close(self) -> None:
        """Stop the callback server and timers, wait for running invocations,
        release workers and store."""
        self._callback_server.close()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._timers.join()
        if self._deadlines is not None:
            self._deadlines.close()
        self._pool.shutdown(wait=True)
        self._invoker.close()
        self.store.close()
        if self._temporary_dir is not None:
            self._temporary_dir.cleanup()

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # endregion
    # region invoking

    def _invoke_until_settled(self, execution_id: str) -> None:
        try:
            while True:
                try:
                    self._invoke_once(execution_id)
                finally:
                    self._start_deferred_targets(execution_id)
                with self._cond:
                    if execution_id in self._again and not self._closed:
                        self._again.discard(execution_id)
                        continue
                    self._running.discard(execution_id)
                    self._cond.notify_all()
                    return
        except BaseException:
            # What was due stays due in the store: the timer loop tries again.
            logger.exception("The engine failed to invoke %s", execution_id)
            self._settled(execution_id)

    def _invoke_once(self, execution_id: str) -> None:
        record = self.store.get_execution(execution_id)
        if record.status is not ExecutionStatus.RUNNING:
            return
        function = self._functions.get(record.function_name)
        if function is None:
            # Its wake-up stays due in the store, for an engine that has the function.
            logger.debug(
                "Not invoking %s: %s is not registered here", execution_id, record.function_name
            )
            return
        request = self._invocation(function, {RESUME_KEY: execution_id})
        result = self._invoker.invoke(request)
        if isinstance(result, Raised | Crashed):
            self._retry_later(execution_id, request.request_id, result.error)
        else:
            self._failures.pop(execution_id, None)

    def _invocation(self, function: RegisteredFunction, event: Any) -> InvocationRequest:
        """A new invocation of ``function`` with ``event``, as Lambda would run it."""
        return InvocationRequest(
            handler=function.handler,
            event=event,
            request_id=str(uuid.uuid4()),
            function_name=function.name,
            function_arn=self.function_arn(function.name),
            timeout_seconds=self._invocation_timeout,
        )

    def _retry_later(self, execution_id: str, request_id: str, error: ErrorObject) -> None:
        now = self.clock.now()
        failures = self._failures.get(execution_id, 0) + 1
        self._failures[execution_id] = failures
        delay = min(2 ** (failures - 1), REINVOKE_BACKOFF_CAP_SECONDS)
        retry_at = now + datetime.timedelta(seconds=delay)
        logger.warning(
            "Invocation %s of %s failed (%s: %s); invoking again in %d s",
            request_id,
            execution_id,
            error.type,
            error.message,
            delay,
        )
        # A crashed invocation still holds its lease; a failed one released it
        # when it recorded the failure, leaving its expiry due.
        if not self.store.abandon_invocation(execution_id, request_id, now, error, retry_at):
            self.store.schedule_reinvoke(execution_id, retry_at)

    # endregion
    # region chained invokes

    def _start_target_later(self, request: ChainedInvokeRequest) -> None:
        """Start a target once the invocation that recorded its START has ended.

        The service starts a target after the START checkpoint, while the
        parent winds down to suspend; waiting for the invocation to end
        keeps the parent's history in that order every time. Until the
        target starts, the START's ``invoke:<op>`` timer keeps it due: if this
        engine stops first, the parent is invoked again and asks again.
        """
        with self._cond:
            self._deferred_targets.setdefault(request.parent_execution_id, []).append(request)

    def _start_deferred_targets(self, execution_id: str) -> None:
        with self._cond:
            requests = self._deferred_targets.pop(execution_id, [])
        for request in requests:
            try:
                self._start_target(request)
            except Exception:
                logger.exception(
                    "Could not start the target of %s; the invoke is retried in %d s",
                    request,
                    START_TARGET_RETRY_SECONDS,
                )

    def _start_target(self, request: ChainedInvokeRequest) -> None:
        function = self.function(request.function_name)
        if request.payload is not None:
            try:
                json.loads(request.payload)
            except json.JSONDecodeError as e:
                error = ErrorObject(
                    message=f"Could not parse request body into json: {e}",
                    type="InvalidRequestContentException",
                    data=None,
                    stack_trace=None,
                )
                self._complete_target(request, Completion(OperationStatus.FAILED, error=error))
                return
        if request.durable_execution_arn is not None:
            self._start_child_execution(request, function)
            return
        now = self.clock.now()
        deadline = now + datetime.timedelta(
            seconds=self._invocation_timeout + FUNCTION_CALL_GRACE_SECONDS
        )
        with self._cond:
            if self._closed:
                return
            self._functions_running += 1
        try:
            # At most once per recorded start, across engines and restarts.
            claimed = self.store.claim_function_call(
                request.parent_execution_id, request.operation_id, now, deadline
            )
        except BaseException:
            self._end_function_call()
            raise
        if claimed:
            self._pool.submit(self._call_function, request, function)
        else:
            self._end_function_call()

    def _start_child_execution(
        self, request: ChainedInvokeRequest, function: RegisteredFunction
    ) -> None:
        assert request.durable_execution_arn is not None
        try:
            self._create_and_invoke(
                NewExecution(
                    execution_id=request.durable_execution_arn,
                    function_name=function.name,
                    execution_name=request.execution_name,
                    input_payload=request.payload,
                    timeout_seconds=function.execution_timeout,
                    parent_execution_id=request.parent_execution_id,
                    parent_operation_id=request.operation_id,
                )
            )
        except InvalidStateError:
            logger.info("Not starting %s: its parent has ended", request.durable_execution_arn)

    def _call_function(self, request: ChainedInvokeRequest, function: RegisteredFunction) -> None:
        """Invoke a function that is not durable once and record its response."""
        try:
            event = json.loads(request.payload) if request.payload is not None else {}
            result = self._invoker.invoke(self._invocation(function, event))
            self._complete_target(request, _function_outcome(result))
        except Exception:
            logger.exception("The engine failed to invoke %s", function.name)
        finally:
            self._end_function_call()

    def _end_function_call(self) -> None:
        with self._cond:
            self._functions_running -= 1
            self._cond.notify_all()

    def _complete_target(self, request: ChainedInvokeRequest, completion: Completion) -> None:
        if not self.store.complete_operation(
            request.parent_execution_id, request.operation_id, completion, self.clock.now()
        ):
            logger.info(
                "Outcome of invoke %s of %s dropped: the operation no longer waits",
                request.operation_id,
                request.parent_execution_id,
            )
        self._notify()

    # endregion
    # region timers

    def _notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _function_names(self) -> list[str]:
        """The durable functions registered here: the only executions this engine wakes."""
        return [name for name, function in list(self._functions.items()) if function.durable]

    def _run_timers(self) -> None:
        """Fire due timers and take up executions, until closed; survive any store failure."""
        failures = 0
        while True:
            with self._cond:
                if self._closed:
                    return
                self._firing = True
            try:
                fired = self._fire_due_timers()
                self._take_up_registered_functions()
                pause = 0.0 if fired else self._idle_pause()
                failures = 0
            except Exception:
                failures += 1
                pause = min(TIMER_RETRY_SECONDS * 2 ** (failures - 1), TIMER_RETRY_CAP_SECONDS)
                logger.exception("The timer loop failed; trying again in %.2f s", pause)
            finally:
                with self._cond:
                    self._firing = False
                    self._cond.notify_all()
            if pause:
                with self._cond:
                    if not self._closed:
                        self._cond.wait(timeout=pause)

    def _fire_due_timers(self) -> bool:
        """Fire what is due; whether anything fired."""
        now = self.clock.now()
        with self._cond:
            # A wake-up this engine is delivering already is skipped: ask for
            # enough that those never hide the others.
            delivering = set(self._running)
        due = self.store.due_timers(now, 100 + len(delivering), self._function_names())
        fired = False
        for timer in due:
            delivery = is_delivery_timer(timer.key)
            if delivery and timer.execution_id in delivering:
                continue
            fired = True
            if timer.key == REINVOKE_TIMER or self.store.fire_timer(
                timer.execution_id, timer.key, now
            ):
                self.invoke(timer.execution_id)
        return fired

    def _idle_pause(self) -> float:
        """How long the timer loop may wait for the next timer; jumps a skipping clock.

        Wake-ups this engine is delivering are due but not waited for: the
        invocations' ends notify the loop.
        """
        with self._cond:
            # Read under the lock: an invocation settles (under the lock)
            # only after its timers are written, so none is missed here.
            next_due = self.store.next_timer_due(self._function_names())
            if next_due is not None and self._can_skip():
                clock = self.clock
                assert isinstance(clock, SkippingClock)
                clock.advance_to(next_due)
                return 0.0
            if next_due is None:
                return 0.5
            return min(max((next_due - self.clock.now()).total_seconds(), 0.0), 0.5) or 0.5

    def _take_up_registered_functions(self) -> None:
        """Take over the leases of newly registered functions' executions whose process is gone.

        Such an invocation will never finish: waiting for its lease to expire
        (up to the invocation timeout) would leave its execution idle. Its
        execution is made due at once.
        """
        with self._cond:
            functions, self._to_take_up = self._to_take_up, []
        try:
            while functions:
                self._take_up(functions[0])
                functions.pop(0)
        except BaseException:
            with self._cond:
                self._to_take_up[:0] = functions
            raise

    def _take_up(self, function_name: str) -> None:
        page_token: str | None = None
        while True:
            page = self.store.list_executions(
                function_name=function_name,
                status=ExecutionStatus.RUNNING,
                page_token=page_token,
                limit=MAX_PAGE_SIZE,
            )
            for record in page.executions:
                lease = record.lease
                if lease is None or not process_identity.is_gone(lease.holder):
                    continue
                now = self.clock.now()
                error = exit_error(lease.invocation_id)
                if self.store.abandon_invocation(
                    record.execution_id, lease.invocation_id, now, error, now
                ):
                    logger.warning(
                        "Invocation %s of %s died with its process %s; invoking again",
                        lease.invocation_id,
                        record.execution_id,
                        lease.holder,
                    )
            page_token = page.next_page_token
            if page_token is None:
                return

    def _can_skip(self) -> bool:
        return (
            isinstance(self.clock, SkippingClock)
            and self._skip_holds > 0
            and not self._running
            and self._functions_running == 0
        )

    # endregion


def _function_outcome(result: InvocationResult) -> Completion:
    """The outcome of one invocation of a function that is not durable."""
    if not isinstance(result, Returned):
        return Completion(OperationStatus.FAILED, error=result.error)
    try:
        return Completion(OperationStatus.SUCCEEDED, result=json.dumps(result.output))
    except (TypeError, ValueError) as e:
        error = ErrorObject(
            message=f"Unable to marshal response: {e}",
            type="Runtime.MarshalError",
            data=None,
            stack_trace=None,
        )
        return Completion(OperationStatus.FAILED, error=error)
