"""The child context operation: group operations under one recorded result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from durable_lambda.config import ChildConfig
from durable_lambda.exceptions import (
    ChildContextError,
    ExecutionError,
    InvocationError,
    NonDeterministicExecutionError,
)
from durable_lambda.identifier import OperationIdentifier
from durable_lambda.lambda_service import (
    ContextOptions,
    ErrorObject,
    OperationAction,
    OperationStatus,
)
from durable_lambda.operation.base import raise_recorded_error, recorded_result, round_trip
from durable_lambda.state import ExecutionState, Record

T = TypeVar("T")

DEFAULT_CONFIG: ChildConfig[Any] = ChildConfig()
"""The configuration of a child context run without one."""

CHECKPOINT_SIZE_LIMIT_BYTES = 256 * 1024
"""A child result larger than this is not recorded; replay re-runs the child."""


def run_child(
    func: Callable[[], T],
    state: ExecutionState,
    identifier: OperationIdentifier,
    config: ChildConfig[T],
    *,
    record_success: Record = Record.DURABLY,
) -> T:
    """Replay a recorded child result, or run the child and record its outcome.

    A map or parallel branch records its success with ``Record.SOON``: its
    result reaches the handler only through its batch's own (durable)
    checkpoint, which is written after it.
    """
    operation = state.get(identifier.operation_id)
    if config.is_virtual and operation is not None:
        msg = (
            f"Non-deterministic execution: operation {identifier.operation_id} was "
            "recorded as a child context but the code now runs it as a virtual one"
        )
        raise NonDeterministicExecutionError(msg, step_id=identifier.operation_id)
    replay_children = bool(
        operation and operation.context_details and operation.context_details.replay_children
    )
    if operation is not None and operation.status is OperationStatus.SUCCEEDED:
        if not replay_children:
            return cast(T, recorded_result(config.serdes, operation, state.durable_execution_arn))
    elif operation is not None and operation.status is OperationStatus.FAILED:
        raise_recorded_error(operation, ChildContextError)
    elif operation is None and not config.is_virtual:
        state.checkpoint(identifier.update(OperationAction.START), record=Record.SOON)

    try:
        raw_result = func()
        serialized, value = round_trip(
            config.serdes, raw_result, identifier.operation_id, state.durable_execution_arn
        )
    except ExecutionError:
        raise
    except Exception as e:
        if isinstance(e, InvocationError) and e.is_retryable():
            raise
        error = ErrorObject.from_exception(e)
        if not config.is_virtual:
            state.checkpoint(identifier.update(OperationAction.FAIL, error=error))
        error.raise_as_operation_error(ChildContextError)

    if config.is_virtual or replay_children:
        return value
    recorded = serialized
    too_large = serialized is not None and len(serialized) > CHECKPOINT_SIZE_LIMIT_BYTES
    if too_large:
        recorded = config.summary_generator(raw_result) if config.summary_generator else ""
    state.checkpoint(
        identifier.update(
            OperationAction.SUCCEED,
            payload=recorded,
            context_options=ContextOptions(replay_children=too_large),
        ),
        record=record_success,
    )
    return value
