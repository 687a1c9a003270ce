"""Helpers every operation shares."""

from __future__ import annotations

import datetime
from typing import Any, NoReturn, TypeVar, cast

from durable_lambda.concurrency.models import BatchResult
from durable_lambda.exceptions import (
    DurableOperationError,
    SuspendExecution,
    TimedSuspendExecution,
)
from durable_lambda.lambda_service import Operation
from durable_lambda.serdes import SerDes, deserialize, serialize

T = TypeVar("T")


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

    A batch result under the default serdes is returned as is: its items were
    read back from their own records, so reading it back again changes nothing.
    """
    serialized: str | None = serialize(serdes, value, operation_id, execution_arn)
    if serialized is None:  # a custom serdes may record nothing
        return None, cast(T, None)
    if serdes is None and isinstance(value, BatchResult):
        return serialized, value
    return serialized, cast(T, deserialize(serdes, serialized, operation_id, execution_arn))


def recorded_result(serdes: SerDes[Any] | None, operation: Operation, execution_arn: str) -> Any:
    """The operation's recorded result, deserialized (None when none was recorded)."""
    if operation.result is None:
        return None
    return deserialize(serdes, operation.result, operation.operation_id, execution_arn)


def suspend_until(message: str, moment: datetime.datetime | None) -> NoReturn:
    """End the invocation until ``moment`` (or until woken, when None)."""
    if moment is None:
        raise SuspendExecution(message)
    raise TimedSuspendExecution(message, moment.timestamp())
