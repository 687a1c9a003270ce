"""Helpers every operation shares."""

from __future__ import annotations

import datetime
from typing import NoReturn, TypeVar

from durable_lambda.exceptions import (
    DurableOperationError,
    SuspendExecution,
    TimedSuspendExecution,
)
from durable_lambda.lambda_service import Operation
from durable_lambda.serdes import SerDes, deserialize, serialize

T = TypeVar("T")


def raise_recorded_error(
    operation: Operation, error_cls: type[DurableOperationError]
) -> NoReturn:
    """Raise ``error_cls`` rebuilt from the operation's recorded error."""
    if operation.error is None:
        msg = f"Operation {operation.operation_id} failed without a recorded error"
        raise error_cls(message=msg)
    operation.error.raise_as_operation_error(error_cls)


def round_trip(
    serdes: SerDes[T] | None, value: T, operation_id: str, execution_arn: str
) -> tuple[str | None, T]:
    """Serialize ``value`` and read it back, so a first run returns what replay will."""
    serialized = serialize(serdes, value, operation_id, execution_arn)
    if serialized is None:
        return None, None  # type: ignore[return-value]
    return serialized, deserialize(serdes, serialized, operation_id, execution_arn)


def suspend_until(message: str, moment: datetime.datetime | None) -> NoReturn:
    """End the invocation until ``moment`` (or until woken, when None)."""
    if moment is None:
        raise SuspendExecution(message)
    raise TimedSuspendExecution(message, moment.timestamp())
