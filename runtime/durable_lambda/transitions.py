"""How checkpoints and timers change operations, and what history they write.

Pure functions shared by every store: an ``OperationUpdate`` (from a running
invocation), a fired timer or an outcome decided outside the execution (a
``Completion``, such as a finished child execution) turns the current
``Operation`` into its next state, the history events that record the
change, and the timers to set or clear. Stores persist a transition
atomically; nothing here does I/O.
"""

from __future__ import annotations

import datetime
import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from durable_lambda.exceptions import InvalidStateError
from durable_lambda.history import Event, error_payload, operation_event, payload
from durable_lambda.lambda_service import (
    TERMINAL_VALUES,
    ContextDetails,
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepDetails,
    WaitDetails,
    epoch_millis,
)


@dataclass(frozen=True)
class TimerChange:
    """Set (``due``) or clear (``due is None``) the timer named ``key``."""

    key: str
    due: datetime.datetime | None


class Transition(NamedTuple):
    """The next state of one operation and what records the change.

    A named tuple: every checkpoint builds one, at half a frozen dataclass's cost.
    """

    operation: Operation
    events: tuple[Event, ...] = ()
    timers: tuple[TimerChange, ...] = ()


OPERATION_TIMER = "op"
"""Timer kind that ends a wait or makes a step's next attempt ready."""


def operation_timer_key(operation_id: str, kind: str = OPERATION_TIMER) -> str:
    """The name of an operation's timer of ``kind``."""
    return f"{kind}:{operation_id}"


def parse_operation_timer(key: str) -> tuple[str, str] | None:
    """(kind, operation id) of an operation timer's name, else None."""
    kind, separator, operation_id = key.partition(":")
    return (kind, operation_id) if separator and operation_id else None


def new_operation(
    update: OperationUpdate,
    current: Operation | None,
    status: OperationStatus,
    now: datetime.datetime,
    **details: Any,
) -> Operation:
    """The operation after ``update``, with ``details`` (e.g. ``step_details=``)."""
    return Operation(
        operation_id=update.operation_id,
        operation_type=update.operation_type,
        status=status,
        parent_id=update.parent_id,
        name=update.name,
        sub_type=update.sub_type,
        start_timestamp=current.start_timestamp if current else now,
        end_timestamp=now if status._value_ in TERMINAL_VALUES else None,
        **details,
    )


_NO_ATTEMPTS = StepDetails()


def _step(update: OperationUpdate, current: Operation | None, now: datetime.datetime) -> Transition:
    previous = current.step_details if current and current.step_details else _NO_ATTEMPTS
    action = update.action
    if action is OperationAction.START:
        # The result stays: a wait_for_condition keeps its last polled state
        # there while it checks again (a step has none before it succeeds).
        operation = new_operation(
            update,
            current,
            OperationStatus.STARTED,
            now,
            step_details=StepDetails(
                previous.attempt, previous.next_attempt_timestamp, previous.result
            ),
        )
        return Transition(operation, (operation_event("StepStarted", operation, now),))

    attempt = previous.attempt + 1
    retry_details: dict[str, int] = {"CurrentAttempt": attempt}
    if action is OperationAction.RETRY:
        delay = update.step_options.next_attempt_delay_seconds if update.step_options else 0
        due = now + datetime.timedelta(seconds=delay)
        operation = new_operation(
            update,
            current,
            OperationStatus.PENDING,
            now,
            step_details=StepDetails(attempt, due, update.payload, update.error),
        )
        retry_details["NextAttemptDelaySeconds"] = delay
        # A retry without an error is a wait_for_condition asking to poll again.
        event = (
            operation_event(
                "StepFailed",
                operation,
                now,
                {"Error": error_payload(update.error), "RetryDetails": retry_details},
            )
            if update.error is not None
            else operation_event(
                "StepSucceeded",
                operation,
                now,
                {"Result": payload(update.payload), "RetryDetails": retry_details},
            )
        )
        timer = TimerChange(operation_timer_key(update.operation_id), due)
        return Transition(operation, (event,), (timer,))

    if action is OperationAction.SUCCEED:
        operation = new_operation(
            update,
            current,
            OperationStatus.SUCCEEDED,
            now,
            step_details=StepDetails(attempt, None, update.payload, None),
        )
        details = {"Result": payload(update.payload), "RetryDetails": retry_details}
        return Transition(operation, (operation_event("StepSucceeded", operation, now, details),))

    if action is OperationAction.FAIL and update.error is not None:
        operation = new_operation(
            update,
            current,
            OperationStatus.FAILED,
            now,
            step_details=StepDetails(attempt, None, None, update.error),
        )
        details = {"Error": error_payload(update.error), "RetryDetails": retry_details}
        return Transition(operation, (operation_event("StepFailed", operation, now, details),))
    raise invalid_update(update)


def _wait(update: OperationUpdate, current: Operation | None, now: datetime.datetime) -> Transition:
    key = operation_timer_key(update.operation_id)
    if update.action is OperationAction.START and update.wait_options is not None:
        seconds = update.wait_options.wait_seconds
        due = now + datetime.timedelta(seconds=seconds)
        operation = new_operation(
            update, current, OperationStatus.STARTED, now, wait_details=WaitDetails(due)
        )
        details: dict[str, Any] = {
            "Duration": seconds,
            "ScheduledEndTimestamp": epoch_millis(due),
        }
        event = operation_event("WaitStarted", operation, now, details)
        return Transition(operation, (event,), (TimerChange(key, due),))
    if update.action is OperationAction.CANCEL and current is not None:
        operation = replace(current, status=OperationStatus.CANCELLED, end_timestamp=now)
        details = {"Error": error_payload(update.error)} if update.error else {}
        event = operation_event("WaitCancelled", operation, now, details)
        return Transition(operation, (event,), (TimerChange(key, None),))
    raise invalid_update(update)


def _context(
    update: OperationUpdate, current: Operation | None, now: datetime.datetime
) -> Transition:
    match update.action:
        case OperationAction.START:
            operation = new_operation(update, current, OperationStatus.STARTED, now)
            event = operation_event("ContextStarted", operation, now)
        case OperationAction.SUCCEED:
            replay_children = bool(
                update.context_options and update.context_options.replay_children
            )
            operation = new_operation(
                update,
                current,
                OperationStatus.SUCCEEDED,
                now,
                context_details=ContextDetails(replay_children, update.payload, None),
            )
            event = operation_event(
                "ContextSucceeded", operation, now, {"Result": payload(update.payload)}
            )
        case OperationAction.FAIL if update.error is not None:
            operation = new_operation(
                update,
                current,
                OperationStatus.FAILED,
                now,
                context_details=ContextDetails(False, None, update.error),
            )
            event = operation_event(
                "ContextFailed", operation, now, {"Error": error_payload(update.error)}
            )
        case _:
            raise invalid_update(update)
    return Transition(operation, (event,))


def invalid_update(update: OperationUpdate) -> InvalidStateError:
    """The error refusing an update its operation cannot take."""
    return InvalidStateError(
        f"{update.action.value} is not a valid checkpoint for the "
        f"{update.operation_type.value} operation {update.operation_id}"
    )


UpdateHandler = Callable[[OperationUpdate, Operation | None, datetime.datetime], Transition]

# Keyed by the operation type's value: a str hashes in C, an Enum member in Python.
_UPDATE_HANDLERS: dict[str, UpdateHandler] = {
    OperationType.STEP._value_: _step,
    OperationType.WAIT._value_: _wait,
    OperationType.CONTEXT._value_: _context,
}


_DEFINING_MODULES: dict[str, str] = {
    OperationType.CALLBACK._value_: "durable_lambda.operation.callback",
    OperationType.CHAINED_INVOKE._value_: "durable_lambda.operation.invoke",
}
"""Where the transitions of operation types defined in their own modules live.

Operation modules load on first use, and a store may apply a transition (a
timer, an outside outcome) before any operation of that type ran in this
process: the module is then imported on the spot."""


def _load_definition(operation_type: OperationType) -> None:
    module = _DEFINING_MODULES.get(operation_type._value_)
    if module is not None:
        importlib.import_module(module)


def register_update_handler(operation_type: OperationType, handler: UpdateHandler) -> None:
    """Add the transitions of an operation type defined in its own module."""
    _UPDATE_HANDLERS[operation_type._value_] = handler


def apply_update(
    update: OperationUpdate, current: Operation | None, now: datetime.datetime
) -> Transition:
    """The transition a checkpoint causes."""
    handler = _UPDATE_HANDLERS.get(update.operation_type._value_)
    if handler is None:
        _load_definition(update.operation_type)
        handler = _UPDATE_HANDLERS.get(update.operation_type._value_)
        if handler is None:
            raise invalid_update(update)
    return handler(update, current, now)


TimerHandler = Callable[[Operation, str, datetime.datetime], Transition | None]


def _wait_or_step_timer(
    operation: Operation, kind: str, now: datetime.datetime
) -> Transition | None:
    if kind != OPERATION_TIMER:
        return None
    if (
        operation.operation_type is OperationType.WAIT
        and operation.status is OperationStatus.STARTED
    ):
        succeeded = replace(operation, status=OperationStatus.SUCCEEDED, end_timestamp=now)
        details = operation.wait_details or WaitDetails()
        scheduled = details.scheduled_end_timestamp or now
        duration = round((scheduled - (operation.start_timestamp or now)).total_seconds())
        event = operation_event("WaitSucceeded", succeeded, now, {"Duration": duration})
        return Transition(succeeded, (event,))
    if (
        operation.operation_type is OperationType.STEP
        and operation.status is OperationStatus.PENDING
    ):
        return Transition(replace(operation, status=OperationStatus.READY))
    return None


_TIMER_HANDLERS: dict[str, TimerHandler] = {
    OperationType.WAIT._value_: _wait_or_step_timer,
    OperationType.STEP._value_: _wait_or_step_timer,
}


def register_timer_handler(operation_type: OperationType, handler: TimerHandler) -> None:
    """Add what timers of an operation type defined in its own module do."""
    _TIMER_HANDLERS[operation_type._value_] = handler


def on_timer(operation: Operation, kind: str, now: datetime.datetime) -> Transition | None:
    """The transition when an operation's timer fires; None if it no longer waits."""
    handler = _TIMER_HANDLERS.get(operation.operation_type._value_)
    if handler is None:
        _load_definition(operation.operation_type)
        handler = _TIMER_HANDLERS.get(operation.operation_type._value_)
    return handler(operation, kind, now) if handler else None


@dataclass(frozen=True)
class Completion:
    """An outcome decided outside the execution for one of its operations."""

    status: OperationStatus
    result: str | None = None
    error: ErrorObject | None = None


CompletionHandler = Callable[[Operation, Completion, datetime.datetime], Transition | None]

_COMPLETION_HANDLERS: dict[str, CompletionHandler] = {}


def register_completion_handler(operation_type: OperationType, handler: CompletionHandler) -> None:
    """Add how an operation type defined in its own module takes an outside outcome."""
    _COMPLETION_HANDLERS[operation_type._value_] = handler


def on_completion(
    operation: Operation, completion: Completion, now: datetime.datetime
) -> Transition | None:
    """The transition an outside outcome causes; None if the operation no longer waits."""
    handler = _COMPLETION_HANDLERS.get(operation.operation_type._value_)
    if handler is None:
        _load_definition(operation.operation_type)
        handler = _COMPLETION_HANDLERS.get(operation.operation_type._value_)
    if handler is None:
        msg = (
            f"A {operation.operation_type.value} operation cannot be completed from outside "
            f"its execution (operation {operation.operation_id})"
        )
        raise InvalidStateError(msg)
    return handler(operation, completion, now)
