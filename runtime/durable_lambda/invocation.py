"""One invocation of a durable handler: lease, replay, record, release."""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from durable_lambda.backend import Backend
from durable_lambda.context import DurableContext
from durable_lambda.exceptions import (
    ExecutionError,
    InvocationError,
    SuspendExecution,
)
from durable_lambda.lambda_service import ErrorObject, InvocationStatus
from durable_lambda.state import ExecutionState
from durable_lambda.store.contract import (
    CheckpointBatch,
    ExecutionRecord,
    ExecutionStatus,
    Failed,
    InvocationFailed,
    InvocationOutcome,
    Lease,
    LeaseLostError,
    Succeeded,
    Suspended,
)
from durable_lambda.types import LambdaContext

logger = logging.getLogger(__name__)

Handler = Callable[[Any, DurableContext], Any]

DEFAULT_INVOCATION_SECONDS = 900
"""Lambda's longest invocation, used when the context cannot tell."""


class InvocationFailedError(Exception):
    """Raised to the invoker after a failed invocation was recorded, so it is retried."""


@dataclass(frozen=True)
class InvocationSummary:
    """What one invocation did, for its log line and metrics."""

    execution: ExecutionRecord
    operations_replayed: int
    """Operations recorded before the invocation (loaded at its start)."""
    operations_new: int
    outcome: InvocationOutcome


def run_invocation(
    handler: Handler,
    backend: Backend,
    execution_id: str,
    lambda_context: LambdaContext,
    on_finished: Callable[[InvocationSummary], None] | None = None,
) -> dict[str, Any]:
    """Run the handler for ``execution_id`` until it returns, fails or blocks.

    Returns the invocation output (``{"Status": ...}``). A replay that blocks
    while a waker changed the execution reloads and goes on in the same
    invocation. A retryable invocation failure is recorded, then raised as
    InvocationFailedError for the invoker to retry. ``on_finished`` hears what
    an invocation that held the lease did.
    """
    store, clock = backend.store, backend.clock
    now = clock.now()
    remaining_ms = _remaining_millis(lambda_context)
    lease = store.acquire_lease(
        execution_id,
        lambda_context.aws_request_id,
        now,
        now + datetime.timedelta(milliseconds=remaining_ms),
        backend.lease_holder,
    )
    if lease is None:
        return _output_of(store.get_execution(execution_id))
    replayed = len(lease.operations)
    try:
        while True:
            outcome, last_checkpoints, operations = _replay(handler, backend, lease, lambda_context)
            if store.finish_invocation(lease, clock.now(), outcome, last_checkpoints):
                break
            lease = store.reload(lease)
    except LeaseLostError:
        logger.warning("Invocation %s lost its lease", lambda_context.aws_request_id)
        return {"Status": InvocationStatus.PENDING.value}
    if on_finished is not None:
        on_finished(InvocationSummary(lease.execution, replayed, operations - replayed, outcome))
    if isinstance(outcome, InvocationFailed):
        msg = f"{outcome.error.type}: {outcome.error.message}"
        raise InvocationFailedError(msg)
    return _output(outcome)


def _replay(
    handler: Handler, backend: Backend, lease: Lease, lambda_context: LambdaContext
) -> tuple[InvocationOutcome, CheckpointBatch | None, int]:
    """Run the handler once: how it ended, the checkpoints its end is to write, and
    how many operations the execution has then."""
    state = ExecutionState(
        lease, backend.store, backend.clock, managed_limits=backend.managed_limits
    )
    context = DurableContext.from_lambda_context(
        state, lambda_context, replaying=state.has_prior_operations()
    )
    outcome: InvocationOutcome
    try:
        result = handler(_input_event(lease.execution.input_payload), context)
        outcome = Succeeded(json.dumps(result))
    except SuspendExecution:
        outcome = Suspended()
    except InvocationError as e:
        logger.exception("Invocation failed")
        outcome = _invocation_error_outcome(e)
    except ExecutionError as e:
        logger.exception("Execution failed without retry")
        outcome = Failed(ErrorObject.from_exception(e))
    except Exception as e:
        logger.exception("Execution failed")
        outcome = Failed(ErrorObject.from_exception(e))
    except BaseException:
        # SystemExit, KeyboardInterrupt or a lost lease end the invocation: what
        # it queued is still written where its lease allows, and the writer
        # thread does not outlive it.
        with contextlib.suppress(BaseException):
            state.close()
        raise
    operations = state.operation_count()
    try:
        return outcome, state.hand_over(), operations
    except InvocationError as e:
        return _invocation_error_outcome(e), None, operations


def _invocation_error_outcome(error: InvocationError) -> InvocationOutcome:
    """A retryable error fails the invocation (it is retried); any other, the execution."""
    recorded = ErrorObject.from_exception(error)
    return InvocationFailed(recorded) if error.is_retryable() else Failed(recorded)


def _input_event(payload: str | None) -> Any:
    if payload is None or not payload.strip():
        return {}
    return json.loads(payload)


def _remaining_millis(lambda_context: LambdaContext) -> int:
    remaining = getattr(lambda_context, "get_remaining_time_in_millis", None)
    return remaining() if callable(remaining) else DEFAULT_INVOCATION_SECONDS * 1000


def _output(outcome: InvocationOutcome) -> dict[str, Any]:
    match outcome:
        case Succeeded(result=result):
            return {"Status": InvocationStatus.SUCCEEDED.value, "Result": result}
        case Failed(error=error):
            return {"Status": InvocationStatus.FAILED.value, "Error": error.to_dict()}
        case _:
            return {"Status": InvocationStatus.PENDING.value}


def _output_of(record: ExecutionRecord) -> dict[str, Any]:
    if record.status is ExecutionStatus.SUCCEEDED:
        return _output(Succeeded(record.result))
    if record.status is ExecutionStatus.RUNNING or record.error is None:
        return {"Status": InvocationStatus.PENDING.value}
    return _output(Failed(record.error))
