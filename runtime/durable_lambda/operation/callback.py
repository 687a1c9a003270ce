"""Callbacks: create_callback, wait_for_callback, and how callbacks change.

A callback operation records START once (with the hash of its id and its
timeouts); from then on only the outside world moves it: an external caller
succeeds or fails it (``callback_succeeded``/``callback_failed``, applied by
the store's ``change_callback``), a heartbeat re-arms its heartbeat timer,
and its timers time it out. ``Callback.result()`` returns or raises what was
recorded, or suspends until something is.
"""

from __future__ import annotations

import datetime
import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from durable_lambda.backend import Backend
from durable_lambda.callback_ids import (
    callback_id_for,
    callback_url,
    check_payload_size,
    token_hash,
)
from durable_lambda.config import CallbackConfig, StepConfig, WaitForCallbackConfig
from durable_lambda.exceptions import (
    CallbackError,
    CallbackExternalError,
    CallbackTimeoutError,
    InvalidStateError,
    SuspendExecution,
    ValidationError,
)
from durable_lambda.history import Event, error_payload, operation_event, payload
from durable_lambda.identifier import OperationIdentifier
from durable_lambda.lambda_service import (
    CallbackDetails,
    CallbackOptions,
    CallbackTimeoutType,
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)
from durable_lambda.serdes import PassThroughSerDes, SerDes, deserialize
from durable_lambda.state import ExecutionState, Record
from durable_lambda.store.contract import CallbackChange
from durable_lambda.transitions import (
    TimerChange,
    Transition,
    operation_timer_key,
    register_timer_handler,
    register_update_handler,
)
from durable_lambda.types import StepContext, WaitForCallbackContext

if TYPE_CHECKING:
    from durable_lambda.context import DurableContext

T = TypeVar("T")

CALLBACK_TIMEOUT_TIMER = "callback-timeout"
"""Timer kind that times a callback out when no result came in time."""
CALLBACK_HEARTBEAT_TIMER = "callback-heartbeat"
"""Timer kind that times a callback out when no heartbeat came in time."""

FAILED_STATUSES = frozenset(
    {
        OperationStatus.FAILED,
        OperationStatus.CANCELLED,
        OperationStatus.TIMED_OUT,
        OperationStatus.STOPPED,
    }
)
"""Statuses of a callback that ended without a result."""

# region the future


class Callback(Generic[T]):
    """A callback future: its id and URL now, its result once it arrives."""

    def __init__(
        self,
        callback_id: str,
        operation_id: str,
        state: ExecutionState,
        serdes: SerDes[T] | None = None,
        url: str | None = None,
    ) -> None:
        self.callback_id: str = callback_id
        self.operation_id: str = operation_id
        self.state: ExecutionState = state
        self.serdes: SerDes[T] | None = serdes
        self.url: str | None = url
        """Where an external system POSTs ``/succeed``, ``/fail`` or ``/heartbeat``;
        None when the engine has no callback endpoint."""

    def result(self) -> T | None:
        """The callback's result; suspends the execution until it arrives.

        Without a serdes the result is the raw string that was sent.
        Raises CallbackTimeoutError when the callback timed out and
        CallbackExternalError when the external system reported failure.
        """
        operation = self.state.get(self.operation_id)
        if operation is None:
            msg = "Callback operation must exist"
            raise CallbackError(message=msg)
        if operation.status in FAILED_STATUSES:
            raise callback_failure(operation)
        if operation.status is OperationStatus.SUCCEEDED:
            if operation.result is None:
                return None
            return deserialize(
                self.serdes if self.serdes is not None else PassThroughSerDes[T](),
                operation.result,
                self.operation_id,
                self.state.durable_execution_arn,
            )
        msg = "Callback result not received yet. Suspending execution while waiting for result."
        raise SuspendExecution(msg)


def callback_failure(operation: Operation) -> CallbackError:
    """The error of a callback that ended without a result.

    TIMED_OUT is a CallbackTimeoutError, any other failure a
    CallbackExternalError; both carry the recorded ErrorType (as
    ``error_type``), ErrorMessage and ErrorData.
    """
    error = operation.error
    timed_out = operation.status is OperationStatus.TIMED_OUT
    error_cls: type[CallbackError] = CallbackTimeoutError if timed_out else CallbackExternalError
    default_message = "Callback timed out" if timed_out else "Callback failed"
    return error_cls(
        message=error.message if error and error.message else default_message,
        error_type=error.type if error else None,
        data=error.data if error else None,
        stack_trace=error.stack_trace if error else None,
    )


def create_callback(
    state: ExecutionState,
    identifier: OperationIdentifier,
    config: CallbackConfig,
    backend: Backend,
) -> Callback[Any]:
    """Record the callback's START once; the id is derived, so replays get the same one.

    A failed or timed-out callback is not raised here but by ``result()``,
    so the code between the two runs the same on every replay.
    """
    callback_id = callback_id_for(
        backend.require_callback_key(), state.durable_execution_arn, identifier.operation_id
    )
    if state.get(identifier.operation_id) is None:
        state.checkpoint(
            identifier.update(
                OperationAction.START,
                callback_options=CallbackOptions(
                    timeout_seconds=config.timeout_seconds,
                    heartbeat_timeout_seconds=config.heartbeat_timeout_seconds,
                    token_hash=token_hash(callback_id),
                ),
            ),
            record=Record.NOW,
        )
    endpoint = backend.callback_endpoint
    url = callback_url(endpoint, callback_id) if endpoint else None
    return Callback(callback_id, identifier.operation_id, state, config.serdes, url)


# endregion
# region wait_for_callback


def wait_for_callback_handler(
    context: DurableContext,
    submitter: Callable[..., Any],
    name: str | None = None,
    config: WaitForCallbackConfig | None = None,
) -> Any:
    """Create a callback, hand its id to ``submitter`` in a step, and wait for the result.

    Runs inside the WaitForCallback child context. The inner operations are
    named ``"{name} create callback id"`` and ``"{name} submitter"``.
    """
    prefix = f"{name} " if name else ""
    callback = context.create_callback(name=f"{prefix}create callback id", config=config)
    submit = _submit_call(submitter)

    def submitter_step(step_context: StepContext) -> Any:
        return submit(callback.callback_id, WaitForCallbackContext(logger=step_context.logger))

    step_config = (
        StepConfig(retry_strategy=config.retry_strategy, serdes=config.serdes) if config else None
    )
    context.step(func=submitter_step, name=f"{prefix}submitter", config=step_config)
    return callback.result()


def _submit_call(submitter: Callable[..., Any]) -> Callable[[str, WaitForCallbackContext], Any]:
    """Call ``submitter(callback_id, context)``, or ``submitter(callback_id)`` when
    it takes only the id (as handlers written from the seed's examples do)."""
    try:
        signature = inspect.signature(submitter)
    except (TypeError, ValueError):  # nothing to inspect: call it as the AWS SDK does
        return cast(Callable[[str, WaitForCallbackContext], Any], submitter)
    if not _accepts(signature, 2) and _accepts(signature, 1):
        return lambda callback_id, _context: submitter(callback_id)
    return cast(Callable[[str, WaitForCallbackContext], Any], submitter)


def _accepts(signature: inspect.Signature, positional: int) -> bool:
    try:
        signature.bind(*range(positional))
    except TypeError:
        return False
    return True


# endregion
# region what external callers send, and how ids are shown

_ERROR_FIELDS = ("ErrorType", "ErrorMessage", "ErrorData")


def callback_error(error: ErrorObject | Mapping[str, Any] | None) -> ErrorObject:
    """The ErrorObject an external caller's failure records, validated.

    A mapping may hold ErrorType, ErrorMessage, ErrorData (strings) and
    StackTrace (a list of strings); anything else is a ValidationError.
    None is a failure without details. Over 256 KiB (as JSON) is a
    PayloadTooLargeError.
    """
    if error is None:
        return ErrorObject(message=None, type=None, data=None, stack_trace=None)
    if not isinstance(error, ErrorObject):
        if not isinstance(error, Mapping):
            kind = type(error).__name__
            msg = f"A callback error must be a mapping or an ErrorObject, got {kind}"
            raise ValidationError(msg)
        unknown = sorted(set(error) - {*_ERROR_FIELDS, "StackTrace"})
        if unknown:
            msg = (
                f"Unknown callback error fields {unknown}: use ErrorType, ErrorMessage, "
                "ErrorData and StackTrace"
            )
            raise ValidationError(msg)
        for field in _ERROR_FIELDS:
            if error.get(field) is not None and not isinstance(error[field], str):
                msg = f"{field} must be a string, got {type(error[field]).__name__}"
                raise ValidationError(msg)
        stack_trace = error.get("StackTrace")
        if stack_trace is not None and not (
            isinstance(stack_trace, list) and all(isinstance(line, str) for line in stack_trace)
        ):
            msg = "StackTrace must be a list of strings"
            raise ValidationError(msg)
        error = ErrorObject.from_dict(error)
    check_payload_size("error", len(json.dumps(error.to_dict()).encode()))
    return error


def with_callback_id(operation: Operation, key: bytes, execution_id: str) -> Operation:
    """``operation`` with its callback id filled in, when it is a callback."""
    details = operation.callback_details
    if details is None:
        return operation
    callback_id = callback_id_for(key, execution_id, operation.operation_id)
    return replace(operation, callback_details=replace(details, callback_id=callback_id))


def with_callback_started_id(event: Event, key: bytes, execution_id: str) -> Event:
    """A stored ``CallbackStarted`` event with the callback's ``CallbackId`` shown."""
    if event.get("EventType") != "CallbackStarted":
        return event
    callback_id = callback_id_for(key, execution_id, event["Id"])
    details = {"CallbackId": callback_id, **event.get("CallbackStartedDetails", {})}
    return {**event, "CallbackStartedDetails": details}


# endregion
# region transitions


def _start(
    update: OperationUpdate, current: Operation | None, now: datetime.datetime
) -> Transition:
    options = update.callback_options
    if (
        update.action is not OperationAction.START
        or current is not None
        or options is None
        or not options.token_hash
    ):
        msg = (
            f"{update.action.value} is not a valid checkpoint for the CALLBACK operation "
            f"{update.operation_id}: a callback records START once, with its id's hash; "
            "only its external caller and its timers complete it"
        )
        raise InvalidStateError(msg)
    operation = Operation(
        operation_id=update.operation_id,
        operation_type=OperationType.CALLBACK,
        status=OperationStatus.STARTED,
        parent_id=update.parent_id,
        name=update.name,
        sub_type=update.sub_type,
        start_timestamp=now,
        callback_details=CallbackDetails(
            token_hash=options.token_hash,
            timeout_seconds=options.timeout_seconds,
            heartbeat_timeout_seconds=options.heartbeat_timeout_seconds,
        ),
    )
    details: dict[str, int] = {}
    timers: list[TimerChange] = []
    if options.timeout_seconds > 0:
        details["Timeout"] = options.timeout_seconds
        timers.append(_timer(operation, CALLBACK_TIMEOUT_TIMER, now, options.timeout_seconds))
    if options.heartbeat_timeout_seconds > 0:
        details["HeartbeatTimeout"] = options.heartbeat_timeout_seconds
        timers.append(
            _timer(operation, CALLBACK_HEARTBEAT_TIMER, now, options.heartbeat_timeout_seconds)
        )
    event = operation_event("CallbackStarted", operation, now, details)
    return Transition(operation, (event,), tuple(timers))


def _timer(operation: Operation, kind: str, now: datetime.datetime, seconds: int) -> TimerChange:
    return TimerChange(
        operation_timer_key(operation.operation_id, kind),
        now + datetime.timedelta(seconds=seconds),
    )


def _clear_timers(operation: Operation) -> tuple[TimerChange, ...]:
    return tuple(
        TimerChange(operation_timer_key(operation.operation_id, kind), None)
        for kind in (CALLBACK_TIMEOUT_TIMER, CALLBACK_HEARTBEAT_TIMER)
    )


def _end(
    operation: Operation,
    status: OperationStatus,
    now: datetime.datetime,
    *,
    result: str | None = None,
    error: ErrorObject | None = None,
) -> Operation:
    details = operation.callback_details or CallbackDetails()
    return replace(
        operation,
        status=status,
        end_timestamp=now,
        callback_details=replace(details, result=result, error=error),
    )


def callback_succeeded(result: str | None) -> CallbackChange:
    """The change an external caller's success makes: SUCCEEDED with ``result``."""

    def change(operation: Operation, now: datetime.datetime) -> Transition:
        succeeded = _end(operation, OperationStatus.SUCCEEDED, now, result=result)
        event = operation_event("CallbackSucceeded", succeeded, now, {"Result": payload(result)})
        return Transition(succeeded, (event,), _clear_timers(operation))

    return change


def callback_failed(error: ErrorObject) -> CallbackChange:
    """The change an external caller's failure makes: FAILED with ``error``."""

    def change(operation: Operation, now: datetime.datetime) -> Transition:
        failed = _end(operation, OperationStatus.FAILED, now, error=error)
        event = operation_event("CallbackFailed", failed, now, {"Error": error_payload(error)})
        return Transition(failed, (event,), _clear_timers(operation))

    return change


def callback_heartbeat(operation: Operation, now: datetime.datetime) -> Transition:
    """A heartbeat: the heartbeat timer starts over (nothing else changes)."""
    details = operation.callback_details or CallbackDetails()
    seconds = details.heartbeat_timeout_seconds
    timers = (_timer(operation, CALLBACK_HEARTBEAT_TIMER, now, seconds),) if seconds > 0 else ()
    return Transition(operation, (), timers)


def _on_timer(operation: Operation, kind: str, now: datetime.datetime) -> Transition | None:
    if operation.status is not OperationStatus.STARTED:
        return None
    details = operation.callback_details or CallbackDetails()
    if kind == CALLBACK_TIMEOUT_TIMER:
        error = ErrorObject(
            message=f"Callback timeout: no result within {details.timeout_seconds} seconds",
            type=CallbackTimeoutType.TIMEOUT.value,
            data=None,
            stack_trace=None,
        )
    elif kind == CALLBACK_HEARTBEAT_TIMER:
        error = ErrorObject(
            message=(
                "Callback heartbeat timeout: no heartbeat within "
                f"{details.heartbeat_timeout_seconds} seconds"
            ),
            type=CallbackTimeoutType.HEARTBEAT.value,
            data=None,
            stack_trace=None,
        )
    else:
        return None
    timed_out = _end(operation, OperationStatus.TIMED_OUT, now, error=error)
    event = operation_event("CallbackTimedOut", timed_out, now, {"Error": error_payload(error)})
    return Transition(timed_out, (event,), _clear_timers(operation))


register_update_handler(OperationType.CALLBACK, _start)
register_timer_handler(OperationType.CALLBACK, _on_timer)

# endregion
