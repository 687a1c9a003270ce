"""Helpers every operation shares."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

from durable_lambda.concurrency.models import BatchResult
from durable_lambda.exceptions import (
    DurableOperationError,
    SuspendExecution,
    TimedSuspendExecution,
)
from durable_lambda.lambda_service import (
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
    StepOptions,
)
from durable_lambda.serdes import SerDes, deserialize, serialize

if TYPE_CHECKING:
    from durable_lambda.identifier import OperationIdentifier
    from durable_lambda.state import ExecutionState

T = TypeVar("T")

_READ_BACK_EQUAL: frozenset[type] = frozenset({type(None), str, int, float, bool})


def raise_recorded_error(operation: Operation, error_cls: type[DurableOperationError]) -> NoReturn:
    """Raise ``error_cls`` rebuilt from the operation's recorded error."""
    if operation.error is None:
        msg = f"Operation {operation.operation_id} failed without a recorded error"
        raise error_cls(message=msg)
    operation.error.raise_as_operation_error(error_cls)


def round_trip(
    serdes: SerDes[Any] | None, value: T, operation_id: str, execution_arn: str
) -> tuple[str | None, T]:
    """Serialize ``value`` and read it back, so a first run returns what replay will.

    Under the default serdes a None, str, int, float or bool (not a subclass)
    reads back equal, and a batch result's items were read back from their own
    records: these are returned as they are.
    """
    serialized: str | None = serialize(serdes, value, operation_id, execution_arn)
    if serialized is None:  # a custom serdes may record nothing
        return None, cast(T, None)
    if serdes is None and (type(value) in _READ_BACK_EQUAL or isinstance(value, BatchResult)):
        return serialized, value
    return serialized, cast(T, deserialize(serdes, serialized, operation_id, execution_arn))


def recorded_result(serdes: SerDes[Any] | None, operation: Operation, execution_arn: str) -> Any:
    """The operation's recorded result, deserialized (None when none was recorded)."""
    result = operation.result
    if result is None:
        return None
    return deserialize(serdes, result, operation.operation_id, execution_arn)


def suspend_until(message: str, moment: datetime.datetime | None) -> NoReturn:
    """End the invocation until ``moment`` (or until woken, when None)."""
    if moment is None:
        raise SuspendExecution(message)
    raise TimedSuspendExecution(message, moment.timestamp())


def replay_attempts(
    operation: Operation | None,
    serdes: SerDes[Any] | None,
    execution_arn: str,
    error_cls: type[DurableOperationError],
    waiting: Callable[[], str],
) -> tuple[bool, Any]:
    """Replay an operation recorded as attempts (a step, a wait_for_condition).

    Returns ``(True, result)`` when it succeeded; raises its recorded error as
    ``error_cls`` when it failed; suspends until its next attempt (``waiting()``
    says why) when it waits to retry; else ``(False, None)``: an attempt runs.
    """
    if operation is None:
        return False, None
    if operation.status is OperationStatus.SUCCEEDED:
        return True, recorded_result(serdes, operation, execution_arn)
    if operation.status is OperationStatus.FAILED:
        raise_recorded_error(operation, error_cls)
    if operation.status is OperationStatus.PENDING:
        details = operation.step_details
        suspend_until(waiting(), details.next_attempt_timestamp if details else None)
    return False, None


def retry_after(
    state: ExecutionState,
    identifier: OperationIdentifier,
    delay_seconds: int,
    waiting: str,
    *,
    error: ErrorObject | None = None,
    payload: str | None = None,
) -> NoReturn:
    """Record a RETRY whose next attempt is due in ``delay_seconds``, then suspend until it."""
    retried = state.checkpoint(
        identifier.update(
            OperationAction.RETRY,
            error=error,
            payload=payload,
            step_options=StepOptions(next_attempt_delay_seconds=delay_seconds),
        )
    )
    details = retried.step_details
    suspend_until(waiting, details.next_attempt_timestamp if details else None)
