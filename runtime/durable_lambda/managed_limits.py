"""The managed service's limits on checkpoints, for executions held to them.

AWS Lambda durable functions refuse a checkpoint that would take an execution
past 3,000 operations, or that carries a step result, a wait_for_condition
state or an error object over 256 KiB. The service answers
``InvalidParameterValueException``; the AWS SDK turns that into a
``CheckpointError`` that is not retried, and the execution fails with it.
Engines started with ``managed_limits=True`` refuse the same checkpoints the
same way, so a workflow meant for the managed service fails locally where
it would fail there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from durable_lambda.exceptions import CheckpointError, DurableApiErrorCategory
from durable_lambda.lambda_service import Operation, OperationStatus, OperationType
from durable_lambda.store.contract import CheckpointBatch

MAX_OPERATIONS = 3000
"""Operations one execution may record (the service's quota; it cannot be raised)."""
MAX_PAYLOAD_BYTES = 262144
"""Bytes of a step result, a wait_for_condition state or an error object."""

STEP_PAYLOAD_TOO_LARGE = (
    f"STEP output payload size must be less than or equal to {MAX_PAYLOAD_BYTES} bytes."
)
ERROR_OBJECT_TOO_LARGE = (
    f"Error object size must be less than or equal to {MAX_PAYLOAD_BYTES} bytes."
)
TOO_MANY_OPERATIONS = (
    f"The number of operations in a durable execution must be less than or equal "
    f"to {MAX_OPERATIONS}."
)


def refused(message: str) -> CheckpointError:
    """The error the AWS SDK raises for a checkpoint the service refused with ``message``."""
    return CheckpointError(
        "An error occurred (InvalidParameterValueException) when calling the "
        f"CheckpointDurableExecution operation: {message}",
        DurableApiErrorCategory.EXECUTION,
    )


class ManagedLimits:
    """Admits the checkpoints of one invocation as the managed service would."""

    def __init__(self, recorded: Iterable[Operation]) -> None:
        self._recorded = {
            operation.operation_id
            for operation in recorded
            if operation.operation_type is not OperationType.EXECUTION
        }

    def admit(self, batch: CheckpointBatch) -> None:
        """Count the batch's new operations; CheckpointError (not retried) over a limit.

        The service counts the execution itself as one of its operations.
        """
        for operation in batch.operations.values():
            _check_payloads(operation)
        new = batch.operations.keys() - self._recorded
        if 1 + len(self._recorded) + len(new) > MAX_OPERATIONS:
            raise refused(TOO_MANY_OPERATIONS)
        self._recorded |= new


def _check_payloads(operation: Operation) -> None:
    if operation.status not in (
        OperationStatus.SUCCEEDED,
        OperationStatus.PENDING,
        OperationStatus.FAILED,
    ):
        return
    result = operation.result
    if (
        operation.operation_type is OperationType.STEP
        and result is not None
        and len(result.encode()) > MAX_PAYLOAD_BYTES
    ):
        raise refused(STEP_PAYLOAD_TOO_LARGE)
    error = operation.error
    if error is not None and len(json.dumps(error.to_dict()).encode()) > MAX_PAYLOAD_BYTES:
        raise refused(ERROR_OBJECT_TOO_LARGE)
