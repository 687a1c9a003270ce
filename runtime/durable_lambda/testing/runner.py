"""``DurableFunctionTestRunner``: run a durable handler to completion in a test.

The constructor, methods and results are those of the AWS testing SDK's
runner of the same name, on the local engine. Time skips by default: waits,
retry delays and timeouts pass instantly whenever the engine has nothing
else to do while the test waits for a result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec

from durable_lambda.context import DurableContext
from durable_lambda.execution import durable_execution
from durable_lambda.history import Event
from durable_lambda.lambda_service import ErrorObject
from durable_lambda.local.engine import InvocationIsolation, LocalEngine
from durable_lambda.store.contract import ExecutionStatus, Store
from durable_lambda.testing.results import DurableFunctionsTestError, DurableFunctionTestResult

P = ParamSpec("P")

DEFAULT_FUNCTION_NAME = "test-function"
DEFAULT_CHILD_EXECUTION_TIMEOUT_SECONDS = 120
"""Execution timeout of registered durable functions, as in the AWS testing SDK."""


_CALLBACK_ENDINGS = frozenset({"CallbackSucceeded", "CallbackFailed", "CallbackTimedOut"})


def waiting_callback_id(events: Sequence[Event], name: str | None = None) -> str | None:
    """The id of the callback named ``name`` (else of the latest waiting one), once the
    invocation that created it has completed; None while there is none.

    Raises DurableFunctionsTestError when the named callback already ended.
    """
    ended = {e["Id"] for e in events if e["EventType"] in _CALLBACK_ENDINGS}
    ready: list[str] = []
    for index, event in enumerate(events):
        if event["EventType"] != "CallbackStarted" or name not in (None, event.get("Name")):
            continue
        if name is not None and event["Id"] in ended:
            msg = f"Callback {name} has already completed (succeeded/failed/timed out)"
            raise DurableFunctionsTestError(msg)
        settled = any(e["EventType"] == "InvocationCompleted" for e in events[index + 1 :])
        callback_id: str = event["CallbackStartedDetails"]["CallbackId"]
        if name is not None:
            return callback_id if settled else None
        if settled and event["Id"] not in ended:
            ready.append(callback_id)
    return ready[-1] if ready else None


class DurableFunctionTestRunner:
    """Runs ``handler`` (decorated with ``@durable_execution``) on a local engine.

    Args:
        handler: The durable handler under test.
        poll_interval: Seconds between checks while waiting for a callback.
        execution_timeout: Default execution timeout of runs, in seconds.
        invocation_timeout: Seconds one invocation may run.
        store: The engine's store (default: in memory, or a temporary SQLite
            file with process isolation).
        skip_time: Skip over waits, retry delays and timeouts.
        region: Region used in function ARNs and execution ids.
        invocation_isolation: "thread" (default) or "process"; with
            "process" a handler may crash its process (``os._exit``) and the
            invocation is retried, as on Lambda.
    """

    def __init__(  # noqa: PLR0917 - the AWS runner's positional signature
        self,
        handler: Callable[..., Any],
        poll_interval: float = 1.0,
        execution_timeout: int = 300,
        invocation_timeout: int = 900,
        store: Store | None = None,
        skip_time: bool = True,
        region: str = "us-west-2",
        invocation_isolation: InvocationIsolation = "thread",
    ) -> None:
        self.poll_interval = poll_interval
        self._execution_timeout = execution_timeout
        self.skip_time = skip_time
        self.engine = LocalEngine(
            store,
            skip_time=skip_time,
            invocation_isolation=invocation_isolation,
            invocation_timeout=invocation_timeout,
            region=region,
        )
        try:
            self.engine.register_durable_function(DEFAULT_FUNCTION_NAME, handler)
        except BaseException:
            self.engine.close()
            raise

    def register_durable_function(
        self,
        function_name: str,
        handler: Callable[..., Any],
        execution_timeout: int = DEFAULT_CHILD_EXECUTION_TIMEOUT_SECONDS,
    ) -> DurableFunctionTestRunner:
        """Make another durable handler invokable by name; returns the runner.

        A ``context.invoke`` of ``function_name`` runs ``handler`` as a child
        execution that times out after ``execution_timeout`` seconds (the
        invoke then raises InvokeError of type ``ChainedInvoke.Timeout``).
        Read a child's history with ``get_execution_history`` and the
        ``DurableExecutionArn`` of the parent's ``ChainedInvokeStarted`` event.
        """
        self.engine.register_durable_function(function_name, handler, execution_timeout)
        return self

    def register_function(
        self, function_name: str, handler: Callable[..., Any]
    ) -> DurableFunctionTestRunner:
        """Make a plain Lambda handler invokable by name; returns the runner.

        A ``context.invoke`` of ``function_name`` calls ``handler`` once with
        the payload and records its response.
        """
        self.engine.register_function(function_name, handler)
        return self

    def run(
        self,
        input: str | None = None,  # noqa: A002 - the AWS runner's name
        execution_timeout: int | None = None,
        timeout: int | None = None,
        function_name: str = DEFAULT_FUNCTION_NAME,
        execution_name: str | None = None,
    ) -> DurableFunctionTestResult:
        """Start an execution with JSON ``input`` and wait for its result."""
        effective = execution_timeout or timeout or self._execution_timeout
        execution_id = self.run_async(
            input, effective, function_name=function_name, execution_name=execution_name
        )
        return self.wait_for_result(execution_id, timeout=effective)

    def run_async(
        self,
        input: str | None = None,  # noqa: A002 - the AWS runner's name
        execution_timeout: int | None = None,
        timeout: int | None = None,
        function_name: str = DEFAULT_FUNCTION_NAME,
        execution_name: str | None = None,
    ) -> str:
        """Start an execution with JSON ``input``; returns its id at once."""
        return self.engine.start_execution(
            function_name,
            input,
            execution_name=execution_name,
            execution_timeout=execution_timeout or timeout or self._execution_timeout,
        )

    def wait_for_result(self, execution_arn: str, timeout: int = 60) -> DurableFunctionTestResult:
        """Wait (skipping time) until the execution ends; TimeoutError after ``timeout`` s."""
        with self.engine.time_skipping():
            record = self.engine.wait_for_completion(execution_arn, timeout)
        return DurableFunctionTestResult.create(record, self.engine.get_operations(execution_arn))

    def send_callback_success(self, callback_id: str, result: bytes | None = None) -> None:
        """Complete a callback with ``result``; the execution resumes.

        Raises ValidationError (malformed id or result), PayloadTooLargeError,
        CallbackNotFoundError (unknown id) or CallbackClosedError (already
        completed or timed out, or its execution ended).
        """
        self.engine.send_callback_success(callback_id, result)

    def send_callback_failure(
        self, callback_id: str, error: ErrorObject | Mapping[str, Any] | None = None
    ) -> None:
        """Fail a callback with ``error`` (ErrorObject, or a dict with ErrorType,
        ErrorMessage, ErrorData); raises as ``send_callback_success`` does."""
        self.engine.send_callback_failure(callback_id, error)

    def send_callback_heartbeat(self, callback_id: str) -> None:
        """Restart a callback's heartbeat timeout; raises as ``send_callback_success`` does."""
        self.engine.send_callback_heartbeat(callback_id)

    def wait_for_callback(
        self, execution_arn: str, name: str | None = None, timeout: int = 60
    ) -> str:
        """The id of a waiting callback (the one named ``name``, else the latest one).

        Returns once the invocation that created it has finished. With time
        skipping, time skips only until then (timer by timer), so the test can
        complete the callback before its timeout. Raises
        DurableFunctionsTestError when the named callback already completed
        or the execution ended first, TimeoutError after ``timeout`` real
        seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                msg = f"Callback did not become available within {timeout}s"
                raise TimeoutError(msg)
            self.engine.wait_until_idle(remaining)
            events = self.engine.get_history(execution_arn)
            callback_id = waiting_callback_id(events, name)
            if callback_id is not None:
                return callback_id
            record = self.engine.get_execution(execution_arn)
            if record.status is not ExecutionStatus.RUNNING:
                what = f"callback {name!r}" if name else "a callback"
                msg = f"Execution ended ({record.status.value}) before {what} was waiting"
                raise DurableFunctionsTestError(msg)
            if not self.skip_time or not self.engine.skip_to_next_timer(remaining):
                time.sleep(min(self.poll_interval, max(remaining, 0)))

    def get_execution_history(
        self,
        execution_arn: str,
        include_execution_data: bool = True,
    ) -> dict[str, list[dict[str, Any]]]:
        """The execution's history as ``{"Events": [...]}``, AWS-shaped."""
        return {
            "Events": self.engine.get_history(
                execution_arn, include_execution_data=include_execution_data
            )
        }

    def close(self) -> None:
        """Stop the engine."""
        self.engine.close()

    def __enter__(self) -> DurableFunctionTestRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class DurableChildContextTestRunner(DurableFunctionTestRunner):
    """Tests one ``@durable_with_child_context`` function as a whole execution."""

    def __init__(
        self,
        context_function: Callable[P, Callable[[DurableContext], Any]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> None:
        @durable_execution
        def handler(event: Any, context: DurableContext) -> Any:
            return context_function(*args, **kwargs)(context)

        super().__init__(handler)
