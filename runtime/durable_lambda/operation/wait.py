"""The wait operation: suspend until a duration has passed."""

from __future__ import annotations

from durable_lambda.identifier import OperationIdentifier
from durable_lambda.lambda_service import (
    OperationAction,
    OperationStatus,
    WaitOptions,
)
from durable_lambda.operation.base import suspend_until
from durable_lambda.state import ExecutionState, Record


def wait(state: ExecutionState, identifier: OperationIdentifier, seconds: int) -> None:
    """Record the wait's start once, then suspend until its timer completes it."""
    operation = state.get(identifier.operation_id)
    if operation is not None and operation.status is OperationStatus.SUCCEEDED:
        return
    if operation is None:
        # The suspension that follows writes it with the invocation's end.
        operation = state.checkpoint(
            identifier.update(
                OperationAction.START, wait_options=WaitOptions(wait_seconds=seconds)
            ),
            record=Record.WITH_NEXT,
        )
    details = operation.wait_details
    suspend_until(
        f"Wait {identifier.operation_id} for {seconds} s",
        details.scheduled_end_timestamp if details else None,
    )
