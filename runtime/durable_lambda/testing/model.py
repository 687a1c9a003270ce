"""The history a test reads, in the classes of the AWS testing SDK's ``model`` module.

``DurableFunctionTestRunner.get_execution_history`` returns a
``GetDurableExecutionHistoryResponse``: ``.events`` are ``Event`` objects
with snake_case attributes and one typed ``<kind>_details``, ``to_dict()``
gives the API's JSON shape (``{"Events": [...]}``). Field names follow the
API's keys (``callback_id`` is ``CallbackId``, ``operation_id`` is ``Id``).
Two fields are ours: ``InvocationCompletedDetails.error`` (why a crashed or
failed invocation ended) and ``ChainedInvokeStartedDetails.executed_version``,
which the service reports and the AWS testing SDK leaves out.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing
from enum import Enum
from typing import Any, Self

from durable_lambda.lambda_service import ErrorObject

_KEYS = {"operation_id": "Id"}
"""Fields whose key is not their name in CamelCase."""


def _key(field_name: str) -> str:
    return _KEYS.get(field_name) or "".join(p.capitalize() for p in field_name.split("_"))


_DECODERS: dict[type, dict[str, tuple[str, Any]]] = {}


def _decoders(cls: type) -> dict[str, tuple[str, Any]]:
    """For each field of ``cls``: its key, and the class that decodes its value (or None)."""
    if cls in _DECODERS:
        return _DECODERS[cls]
    hints = typing.get_type_hints(cls)
    decoders: dict[str, tuple[str, Any]] = {}
    for field in dataclasses.fields(cls):
        decoder = next(
            (
                arg
                for arg in typing.get_args(hints[field.name])
                if isinstance(arg, type) and issubclass(arg, _Shape | ErrorObject)
            ),
            None,
        )
        decoders[field.name] = (_key(field.name), decoder)
    _DECODERS[cls] = decoders
    return decoders


class _Shape:
    """A JSON object of the API: built from its dict, and back."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Built from the API's JSON object."""
        values: dict[str, Any] = {}
        for name, (key, decoder) in _decoders(cls).items():
            if key in data:
                value = data[key]
                values[name] = decoder.from_dict(value) if decoder and value is not None else value
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The API's JSON object, without the fields that are None."""
        result: dict[str, Any] = {}
        for name, (key, decoder) in _decoders(type(self)).items():
            value = getattr(self, name)
            if value is not None:
                result[key] = value.to_dict() if decoder else value
        return result


class EventType(Enum):
    """The types of history events."""

    EXECUTION_STARTED = "ExecutionStarted"
    EXECUTION_SUCCEEDED = "ExecutionSucceeded"
    EXECUTION_FAILED = "ExecutionFailed"
    EXECUTION_TIMED_OUT = "ExecutionTimedOut"
    EXECUTION_STOPPED = "ExecutionStopped"
    CONTEXT_STARTED = "ContextStarted"
    CONTEXT_SUCCEEDED = "ContextSucceeded"
    CONTEXT_FAILED = "ContextFailed"
    WAIT_STARTED = "WaitStarted"
    WAIT_SUCCEEDED = "WaitSucceeded"
    WAIT_CANCELLED = "WaitCancelled"
    STEP_STARTED = "StepStarted"
    STEP_SUCCEEDED = "StepSucceeded"
    STEP_FAILED = "StepFailed"
    CHAINED_INVOKE_STARTED = "ChainedInvokeStarted"
    CHAINED_INVOKE_SUCCEEDED = "ChainedInvokeSucceeded"
    CHAINED_INVOKE_FAILED = "ChainedInvokeFailed"
    CHAINED_INVOKE_TIMED_OUT = "ChainedInvokeTimedOut"
    CHAINED_INVOKE_STOPPED = "ChainedInvokeStopped"
    CALLBACK_STARTED = "CallbackStarted"
    CALLBACK_SUCCEEDED = "CallbackSucceeded"
    CALLBACK_FAILED = "CallbackFailed"
    CALLBACK_TIMED_OUT = "CallbackTimedOut"
    INVOCATION_COMPLETED = "InvocationCompleted"


# region payloads


@dataclasses.dataclass(frozen=True)
class EventInput(_Shape):
    """An input carried by an event; without execution data, only ``truncated``."""

    payload: str | None = None
    truncated: bool = False


@dataclasses.dataclass(frozen=True)
class EventResult(_Shape):
    """A result carried by an event; without execution data, only ``truncated``."""

    payload: str | None = None
    truncated: bool = False


@dataclasses.dataclass(frozen=True)
class EventError(_Shape):
    """An error carried by an event."""

    payload: ErrorObject | None = None
    truncated: bool = False


@dataclasses.dataclass(frozen=True)
class RetryDetails(_Shape):
    """The attempt a step outcome ends, and the delay before the next one."""

    current_attempt: int = 0
    next_attempt_delay_seconds: int | None = None


# endregion
# region details


@dataclasses.dataclass(frozen=True)
class ExecutionStartedDetails(_Shape):
    """Details of an ``ExecutionStarted`` event."""

    input: EventInput | None = None
    execution_timeout: int | None = None


@dataclasses.dataclass(frozen=True)
class ExecutionSucceededDetails(_Shape):
    """Details of an ``ExecutionSucceeded`` event."""

    result: EventResult | None = None


@dataclasses.dataclass(frozen=True)
class ExecutionFailedDetails(_Shape):
    """Details of an ``ExecutionFailed`` event."""

    error: EventError | None = None


@dataclasses.dataclass(frozen=True)
class ExecutionTimedOutDetails(_Shape):
    """Details of an ``ExecutionTimedOut`` event."""

    error: EventError | None = None


@dataclasses.dataclass(frozen=True)
class ExecutionStoppedDetails(_Shape):
    """Details of an ``ExecutionStopped`` event."""

    error: EventError | None = None


@dataclasses.dataclass(frozen=True)
class ContextStartedDetails(_Shape):
    """Details of a ``ContextStarted`` event."""


@dataclasses.dataclass(frozen=True)
class ContextSucceededDetails(_Shape):
    """Details of a ``ContextSucceeded`` event."""

    result: EventResult | None = None


@dataclasses.dataclass(frozen=True)
class ContextFailedDetails(_Shape):
    """Details of a ``ContextFailed`` event."""

    error: EventError | None = None


@dataclasses.dataclass(frozen=True)
class WaitStartedDetails(_Shape):
    """Details of a ``WaitStarted`` event."""

    duration: int | None = None
    scheduled_end_timestamp: datetime.datetime | None = None


@dataclasses.dataclass(frozen=True)
class WaitSucceededDetails(_Shape):
    """Details of a ``WaitSucceeded`` event."""

    duration: int | None = None


@dataclasses.dataclass(frozen=True)
class WaitCancelledDetails(_Shape):
    """Details of a ``WaitCancelled`` event."""

    error: EventError | None = None


@dataclasses.dataclass(frozen=True)
class StepStartedDetails(_Shape):
    """Details of a ``StepStarted`` event."""


@dataclasses.dataclass(frozen=True)
class StepSucceededDetails(_Shape):
    """Details of a ``StepSucceeded`` event."""

    result: EventResult | None = None
    retry_details: RetryDetails | None = None


@dataclasses.dataclass(frozen=True)
class StepFailedDetails(_Shape):
    """Details of a ``StepFailed`` event."""

    error: EventError | None = None
    retry_details: RetryDetails | None = None


@dataclasses.dataclass(frozen=True)
class ChainedInvokeStartedDetails(_Shape):
    """Details of a ``ChainedInvokeStarted`` event."""

    function_name: str | None = None
    tenant_id: str | None = None
    input: EventInput | None = None
    durable_execution_arn: str | None = None
    executed_version: str | None = None
    """Ours: the version the service ran (``$LATEST``); the AWS testing SDK leaves it out."""


@dataclasses.dataclass(frozen=True)
class ChainedInvokeSucceededDetails(_Shape):
    """Details of a ``ChainedInvokeSucceeded`` event."""

    result: EventResult | None = None


@dataclasses.dataclass(frozen=True)
class ChainedInvokeFailedDetails(_Shape):
    """Details of a ``ChainedInvokeFailed`` event."""

    error: EventError | None = None


@dataclasses.dataclass(frozen=True)
class ChainedInvokeTimedOutDetails(_Shape):
    """Details of a ``ChainedInvokeTimedOut`` event."""

    error: EventError | None = None


@dataclasses.dataclass(frozen=True)
class ChainedInvokeStoppedDetails(_Shape):
    """Details of a ``ChainedInvokeStopped`` event."""

    error: EventError | None = None


@dataclasses.dataclass(frozen=True)
class CallbackStartedDetails(_Shape):
    """Details of a ``CallbackStarted`` event."""

    callback_id: str | None = None
    heartbeat_timeout: int | None = None
    timeout: int | None = None


@dataclasses.dataclass(frozen=True)
class CallbackSucceededDetails(_Shape):
    """Details of a ``CallbackSucceeded`` event."""

    result: EventResult | None = None


@dataclasses.dataclass(frozen=True)
class CallbackFailedDetails(_Shape):
    """Details of a ``CallbackFailed`` event."""

    error: EventError | None = None


@dataclasses.dataclass(frozen=True)
class CallbackTimedOutDetails(_Shape):
    """Details of a ``CallbackTimedOut`` event."""

    error: EventError | None = None


@dataclasses.dataclass(frozen=True)
class InvocationCompletedDetails(_Shape):
    """Details of an ``InvocationCompleted`` event."""

    start_timestamp: datetime.datetime
    end_timestamp: datetime.datetime
    request_id: str
    error: EventError | None = None
    """Ours: why the invocation crashed or failed (it is invoked again)."""


# endregion


@dataclasses.dataclass(frozen=True)
class Event(_Shape):
    """One history event: its identity and the details of its type."""

    event_type: str
    event_timestamp: datetime.datetime
    sub_type: str | None = None
    event_id: int = 1
    operation_id: str | None = None
    name: str | None = None
    parent_id: str | None = None
    execution_started_details: ExecutionStartedDetails | None = None
    execution_succeeded_details: ExecutionSucceededDetails | None = None
    execution_failed_details: ExecutionFailedDetails | None = None
    execution_timed_out_details: ExecutionTimedOutDetails | None = None
    execution_stopped_details: ExecutionStoppedDetails | None = None
    context_started_details: ContextStartedDetails | None = None
    context_succeeded_details: ContextSucceededDetails | None = None
    context_failed_details: ContextFailedDetails | None = None
    wait_started_details: WaitStartedDetails | None = None
    wait_succeeded_details: WaitSucceededDetails | None = None
    wait_cancelled_details: WaitCancelledDetails | None = None
    step_started_details: StepStartedDetails | None = None
    step_succeeded_details: StepSucceededDetails | None = None
    step_failed_details: StepFailedDetails | None = None
    chained_invoke_started_details: ChainedInvokeStartedDetails | None = None
    chained_invoke_succeeded_details: ChainedInvokeSucceededDetails | None = None
    chained_invoke_failed_details: ChainedInvokeFailedDetails | None = None
    chained_invoke_timed_out_details: ChainedInvokeTimedOutDetails | None = None
    chained_invoke_stopped_details: ChainedInvokeStoppedDetails | None = None
    callback_started_details: CallbackStartedDetails | None = None
    callback_succeeded_details: CallbackSucceededDetails | None = None
    callback_failed_details: CallbackFailedDetails | None = None
    callback_timed_out_details: CallbackTimedOutDetails | None = None
    invocation_completed_details: InvocationCompletedDetails | None = None


@dataclasses.dataclass(frozen=True)
class GetDurableExecutionHistoryResponse:
    """An execution's history: ``events`` in order, ``to_dict()`` as the API returns it."""

    events: list[Event]
    next_marker: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GetDurableExecutionHistoryResponse:
        """Built from the API's JSON (``{"Events": [...]}``)."""
        return cls(
            events=[Event.from_dict(event) for event in data.get("Events", [])],
            next_marker=data.get("NextMarker"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The API's JSON: ``{"Events": [...]}``, ``NextMarker`` when there is one."""
        result: dict[str, Any] = {"Events": [event.to_dict() for event in self.events]}
        if self.next_marker is not None:
            result["NextMarker"] = self.next_marker
        return result
