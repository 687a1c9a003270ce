"""``DurableFunctionTestRunner``: run a durable handler to completion in a test.

The constructor (positional order included), methods and results are those
of the AWS testing SDK's runner of the same name, on the local engine, so a
test ports by its import line. Time skips by default: waits, retry delays
and callback timeouts pass instantly whenever the engine has nothing else to
do while the test waits for a result; execution timeouts count real seconds
only, as on AWS's runner.
"""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from durable_lambda.context import DurableContext
from durable_lambda.exceptions import ValidationError
from durable_lambda.execution import durable_execution
from durable_lambda.history import Event
from durable_lambda.lambda_service import ErrorObject
from durable_lambda.local.engine import InvocationIsolation, LocalEngine
from durable_lambda.store.contract import ExecutionStatus, Store
from durable_lambda.testing.exceptions import DurableFunctionsTestError
from durable_lambda.testing.model import GetDurableExecutionHistoryResponse
from durable_lambda.testing.results import DurableFunctionTestResult

DEFAULT_FUNCTION_NAME = "test-function"
DEFAULT_EXECUTION_NAME = "execution-name"
DEFAULT_ACCOUNT_ID = "123456789012"
"""The account of the runner's functions, as in the AWS testing SDK."""
DEFAULT_CHILD_EXECUTION_TIMEOUT_SECONDS = 120
"""Execution timeout of registered durable functions, as in the AWS testing SDK."""
DEFAULT_CHILD_RETENTION_PERIOD_DAYS = 1
"""Retention of registered durable functions, as in the AWS testing SDK (checked only)."""
TIMEOUT_GRACE_SECONDS = 5
"""How long ``run`` waits past the execution timeout, so that a timed-out
execution's result arrives rather than the wait giving up first."""


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
        max_invocation_page_bytes: Accepted as the AWS runner accepts it
            (None or a positive size); invocations here read their state
            from the store, unpaged, so it changes nothing.
        execution_timeout: Default execution timeout of runs, in real
            seconds: time skipped does not count.
        invocation_timeout: Seconds one invocation may run.
        store: The engine's store (default: in memory, or a temporary SQLite
            file with process isolation).
        skip_time: Skip over waits, retry delays and callback timeouts.
        region: Region used in function ARNs and execution ids.
        invocation_isolation: Ours, keyword only: "thread" (default) or
            "process"; with "process" a handler may crash its process
            (``os._exit``) and the invocation is retried, as on Lambda.
        managed_limits: Ours, keyword only: hold executions to the managed
            service's limits (3,000 operations, 256 KiB per step result or
            error object); past them the execution fails with the
            ``CheckpointError`` the AWS SDK raises there.
    """

    def __init__(  # noqa: PLR0917 - the AWS runner's positional signature
        self,
        handler: Callable[..., Any],
        poll_interval: float = 1.0,
        max_invocation_page_bytes: int | None = None,
        execution_timeout: int = 300,
        invocation_timeout: int = 900,
        store: Store | None = None,
        skip_time: bool = True,
        region: str = "us-west-2",
        *,
        invocation_isolation: InvocationIsolation = "thread",
        managed_limits: bool = False,
    ) -> None:
        if max_invocation_page_bytes is not None and max_invocation_page_bytes < 1:
            msg = f"max_invocation_page_bytes must be positive, got: {max_invocation_page_bytes}"
            raise ValidationError(msg)
        self.poll_interval = poll_interval
        self._execution_timeout = execution_timeout
        self.skip_time = skip_time
        self.engine = LocalEngine(
            store,
            skip_time=skip_time,
            invocation_isolation=invocation_isolation,
            invocation_timeout=invocation_timeout,
            region=region,
            account_id=DEFAULT_ACCOUNT_ID,
            managed_limits=managed_limits,
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
        retention_period_days: int = DEFAULT_CHILD_RETENTION_PERIOD_DAYS,
    ) -> DurableFunctionTestRunner:
        """Make another durable handler invokable by name; returns the runner.

        A ``context.invoke`` of ``function_name`` runs ``handler`` as a child
        execution that times out after ``execution_timeout`` real seconds (the
        invoke then raises InvokeError of type ``ChainedInvoke.Timeout``).
        Read a child's history with ``get_execution_history`` and the
        ``DurableExecutionArn`` of the parent's ``ChainedInvokeStarted`` event.
        ``retention_period_days`` (positive) is accepted as AWS's runner
        accepts it; histories here last as long as the runner.
        """
        if retention_period_days < 1:
            msg = f"retention_period_days must be positive, got: {retention_period_days}"
            raise ValidationError(msg)
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

    def run(  # noqa: PLR0917 - the AWS runner's positional signature
        self,
        input: str | None = None,  # noqa: A002 - the AWS runner's name
        execution_timeout: int | None = None,
        timeout: int | None = None,
        function_name: str = DEFAULT_FUNCTION_NAME,
        execution_name: str = DEFAULT_EXECUTION_NAME,
        account_id: str = DEFAULT_ACCOUNT_ID,
        tenant_id: str | None = None,
    ) -> DurableFunctionTestResult:
        """Start an execution with JSON ``input`` and wait for its result, until
        its execution timeout has passed.

        ``timeout`` is the AWS runner's deprecated name of ``execution_timeout``.
        """
        if timeout is not None and execution_timeout is None:
            warnings.warn(
                "timeout on run() is deprecated. Use execution_timeout instead.",
                DeprecationWarning,
                stacklevel=2,
            )
            execution_timeout = timeout
        effective = self._execution_timeout if execution_timeout is None else execution_timeout
        execution_id = self.run_async(
            input, effective, None, function_name, execution_name, account_id, tenant_id
        )
        return self.wait_for_result(execution_id, timeout=effective + TIMEOUT_GRACE_SECONDS)

    def run_async(  # noqa: PLR0917 - the AWS runner's positional signature
        self,
        input: str | None = None,  # noqa: A002 - the AWS runner's name
        execution_timeout: int | None = None,
        timeout: int | None = None,
        function_name: str = DEFAULT_FUNCTION_NAME,
        execution_name: str = DEFAULT_EXECUTION_NAME,
        account_id: str = DEFAULT_ACCOUNT_ID,
        tenant_id: str | None = None,
    ) -> str:
        """Start an execution with JSON ``input``; returns its id at once.

        Every call starts a new execution, whatever its ``execution_name``,
        as on the AWS runner. Executions run in the runner's account; one
        for another account or for a tenant is refused (ValidationError).
        """
        if account_id != DEFAULT_ACCOUNT_ID:
            msg = (
                f"account_id {account_id!r} is not supported: this runner runs every "
                f"execution in account {DEFAULT_ACCOUNT_ID}"
            )
            raise ValidationError(msg)
        if tenant_id is not None:
            msg = f"tenant_id {tenant_id!r} is not supported: this runner has no tenants"
            raise ValidationError(msg)
        if execution_timeout is None:
            execution_timeout = self._execution_timeout if timeout is None else timeout
        return self.engine.start_execution(
            function_name,
            input,
            execution_name=f"{execution_name}-{uuid.uuid4()}",
            execution_timeout=execution_timeout,
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
        include_execution_data: bool = False,
    ) -> GetDurableExecutionHistoryResponse:
        """The execution's history: ``.events`` (``Event`` objects), ``to_dict()``.

        Without ``include_execution_data`` results and inputs are left out
        (``truncated``); errors always show. Works for chained child
        executions too (the ``DurableExecutionArn`` of the parent's
        ``ChainedInvokeStarted`` event).
        """
        events = self.engine.get_history(
            execution_arn, include_execution_data=include_execution_data
        )
        return GetDurableExecutionHistoryResponse.from_dict({"Events": events})

    def pause_execution(self, execution_arn: str, timeout: float = 60) -> None:
        """Experimental in the AWS runner, and not offered here: NotImplementedError."""
        msg = "pause_execution() is not implemented by this runner"
        raise NotImplementedError(msg)

    def resume_execution(self, execution_arn: str) -> None:
        """Experimental in the AWS runner, and not offered here: NotImplementedError."""
        msg = "resume_execution() is not implemented by this runner"
        raise NotImplementedError(msg)

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
        context_function: Callable[..., Callable[[DurableContext], Any]],
        *args: Any,
        skip_time: bool = True,
        **kwargs: Any,
    ) -> None:
        @durable_execution
        def handler(event: Any, context: DurableContext) -> Any:
            return context_function(*args, **kwargs)(context)

        super().__init__(handler, skip_time=skip_time)
