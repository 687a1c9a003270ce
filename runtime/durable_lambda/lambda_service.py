"""The durable execution data model: operations, updates and errors.

Shapes and names follow the AWS durable execution API (``Operation``,
``OperationUpdate``, ``ErrorObject`` and their details), so a checkpoint read
from our store looks the same as one read from the managed service.
``to_dict``/``from_dict`` use datetimes; ``details_to_json_dict``/``from_stored``
use epoch milliseconds, the form the stores keep.
"""

from __future__ import annotations

import builtins
import datetime
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum, StrEnum
from typing import Any, NoReturn, TypeAlias

from durable_lambda.exceptions import DurableOperationError, SerDesError

OperationPayload: TypeAlias = str


class OperationAction(Enum):
    """What a checkpoint asks to happen to an operation."""

    START = "START"
    SUCCEED = "SUCCEED"
    FAIL = "FAIL"
    RETRY = "RETRY"
    CANCEL = "CANCEL"


class OperationStatus(Enum):
    """Lifecycle status of an operation."""

    STARTED = "STARTED"
    PENDING = "PENDING"
    READY = "READY"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"


TERMINAL_STATUSES = frozenset(
    {
        OperationStatus.SUCCEEDED,
        OperationStatus.FAILED,
        OperationStatus.CANCELLED,
        OperationStatus.TIMED_OUT,
        OperationStatus.STOPPED,
    }
)


TERMINAL_VALUES = frozenset(status._value_ for status in TERMINAL_STATUSES)
"""Terminal statuses by value: a str hashes in C, an Enum member in Python."""


class OperationType(Enum):
    """Kind of durable operation."""

    EXECUTION = "EXECUTION"
    CONTEXT = "CONTEXT"
    STEP = "STEP"
    WAIT = "WAIT"
    CALLBACK = "CALLBACK"
    CHAINED_INVOKE = "CHAINED_INVOKE"


class OperationSubType(StrEnum):
    """Subtypes recorded for the SDK's own operations."""

    STEP = "Step"
    WAIT = "Wait"
    CALLBACK = "Callback"
    RUN_IN_CHILD_CONTEXT = "RunInChildContext"
    MAP = "Map"
    MAP_ITERATION = "MapIteration"
    PARALLEL = "Parallel"
    PARALLEL_BRANCH = "ParallelBranch"
    WAIT_FOR_CALLBACK = "WaitForCallback"
    WAIT_FOR_CONDITION = "WaitForCondition"
    CHAINED_INVOKE = "ChainedInvoke"


class CallbackTimeoutType(Enum):
    """Error types recorded when a callback times out."""

    TIMEOUT = "Callback.Timeout"
    HEARTBEAT = "Callback.Heartbeat"


class InvocationStatus(Enum):
    """Outcome of one invocation of a durable handler."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    PENDING = "PENDING"


def _qualified_error_type(exception: BaseException) -> str:
    cls = type(exception)
    module = "" if cls.__module__ == "builtins" else f"{cls.__module__}."
    return f"{module}{cls.__qualname__}"


@dataclass(frozen=True)
class ErrorObject:
    """A recorded error: type, message, optional data and stack trace."""

    message: str | None
    type: str | None
    data: str | None
    stack_trace: list[str] | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ErrorObject:
        return cls(
            message=data.get("ErrorMessage"),
            type=data.get("ErrorType"),
            data=data.get("ErrorData"),
            stack_trace=data.get("StackTrace"),
        )

    @classmethod
    def from_exception(cls, exception: BaseException) -> ErrorObject:
        if isinstance(exception, SerDesError):
            return cls(
                message=exception.message,
                type=f"{SerDesError.__module__}.{SerDesError.__qualname__}",
                data=exception.data,
                stack_trace=exception.stack_trace,
            )
        if isinstance(exception, DurableOperationError):
            return cls(
                message=exception.message,
                type=_qualified_error_type(exception),
                data=exception.data,
                stack_trace=exception.stack_trace,
            )
        return cls(
            message=str(exception),
            type=_qualified_error_type(exception),
            data=None,
            stack_trace=None,
        )

    @classmethod
    def from_message(cls, message: str) -> ErrorObject:
        return cls(message=message, type=None, data=None, stack_trace=None)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if self.message is not None:
            result["ErrorMessage"] = self.message
        if self.type is not None:
            result["ErrorType"] = self.type
        if self.data is not None:
            result["ErrorData"] = self.data
        if self.stack_trace is not None:
            result["StackTrace"] = self.stack_trace
        return result

    def to_durable_operation_error(self) -> DurableOperationError:
        return DurableOperationError.from_error_fields(
            self.type, self.message, self.data, self.stack_trace
        )

    def raise_as_operation_error(
        self, operation_error_cls: builtins.type[DurableOperationError]
    ) -> NoReturn:
        """Raise ``operation_error_cls`` rebuilt from this error.

        First runs and replays take this same path, so a handler sees an
        identical error either way. A serdes failure surfaces as SerDesError.
        """
        cause = self.to_durable_operation_error()
        if self.type == f"{SerDesError.__module__}.{SerDesError.__qualname__}":
            raise SerDesError(
                message=self.message,
                error_type=self.type,
                data=self.data,
                stack_trace=self.stack_trace,
            ) from cause
        raise operation_error_cls(
            message=self.message,
            error_type=self.type,
            data=self.data,
            stack_trace=self.stack_trace,
        ) from cause


def _error_from(data: Mapping[str, Any], key: str = "Error") -> ErrorObject | None:
    raw = data.get(key)
    return ErrorObject.from_dict(raw) if raw else None


@dataclass(frozen=True)
class ExecutionDetails:
    input_payload: str | None = None


@dataclass(frozen=True)
class ContextDetails:
    replay_children: bool = False
    result: OperationPayload | None = None
    error: ErrorObject | None = None


@dataclass(frozen=True)
class StepDetails:
    attempt: int = 0
    next_attempt_timestamp: datetime.datetime | None = None
    result: OperationPayload | None = None
    error: ErrorObject | None = None


@dataclass(frozen=True)
class WaitDetails:
    scheduled_end_timestamp: datetime.datetime | None = None


@dataclass(frozen=True)
class CallbackDetails:
    """A callback's outcome and what finds it.

    Stores never keep the id itself (a capability): they keep ``token_hash``,
    the SHA-256 of the id, and ``callback_id`` is filled in, derived from the
    engine's key, only where the id is shown.
    """

    callback_id: str | None = None
    result: str | None = None
    error: ErrorObject | None = None
    token_hash: str | None = None
    timeout_seconds: int = 0
    heartbeat_timeout_seconds: int = 0


@dataclass(frozen=True)
class ChainedInvokeDetails:
    result: str | None = None
    error: ErrorObject | None = None


@dataclass(frozen=True)
class StepOptions:
    next_attempt_delay_seconds: int = 0


@dataclass(frozen=True)
class WaitOptions:
    wait_seconds: int = 1


@dataclass(frozen=True)
class CallbackOptions:
    """Timeouts of a callback in seconds (0 means none), and its id's hash."""

    timeout_seconds: int = 0
    heartbeat_timeout_seconds: int = 0
    token_hash: str | None = None
    """SHA-256 of the callback id, which the runtime derives; the store indexes it."""


@dataclass(frozen=True)
class ChainedInvokeOptions:
    function_name: str
    tenant_id: str | None = None
    durable_execution_arn: str | None = None
    """The child execution the invoke starts (None for a function that is not
    durable). The managed service assigns it itself; here the runtime resolves
    it before the START checkpoint, so ChainedInvokeStarted can record it."""


@dataclass(frozen=True)
class ContextOptions:
    replay_children: bool = False


def epoch_millis(moment: datetime.datetime) -> int:
    """Epoch milliseconds of a datetime."""
    return round(moment.timestamp() * 1000)


_SUB_MILLISECONDS = tuple(datetime.timedelta(microseconds=n) for n in range(1000))
"""Every offset below a millisecond, made once: every checkpoint cuts its time, and
``datetime.replace`` parses keyword arguments at over ten times the cost."""


def whole_millis(moment: datetime.datetime) -> datetime.datetime:
    """``moment`` cut to the millisecond, the precision stores keep."""
    return moment - _SUB_MILLISECONDS[moment.microsecond % 1000]


def from_epoch_millis(millis: int) -> datetime.datetime:
    """UTC datetime from epoch milliseconds."""
    return datetime.datetime.fromtimestamp(millis / 1000, tz=datetime.UTC)


def to_millis(moment: datetime.datetime | None) -> int | None:
    """Epoch milliseconds of a datetime (None stays None)."""
    return epoch_millis(moment) if moment is not None else None


def from_millis(millis: int | None) -> datetime.datetime | None:
    """UTC datetime from epoch milliseconds (None stays None)."""
    return from_epoch_millis(millis) if millis is not None else None


@dataclass(frozen=True, init=False)
class Operation:
    """The recorded state of one durable operation."""

    operation_id: str
    operation_type: OperationType
    status: OperationStatus
    parent_id: str | None = None
    name: str | None = None
    start_timestamp: datetime.datetime | None = None
    end_timestamp: datetime.datetime | None = None
    sub_type: str | None = None
    execution_details: ExecutionDetails | None = None
    context_details: ContextDetails | None = None
    step_details: StepDetails | None = None
    wait_details: WaitDetails | None = None
    callback_details: CallbackDetails | None = None
    chained_invoke_details: ChainedInvokeDetails | None = None

    def __init__(  # noqa: PLR0917 - the fields, in order
        self,
        operation_id: str,
        operation_type: OperationType,
        status: OperationStatus,
        parent_id: str | None = None,
        name: str | None = None,
        start_timestamp: datetime.datetime | None = None,
        end_timestamp: datetime.datetime | None = None,
        sub_type: str | None = None,
        execution_details: ExecutionDetails | None = None,
        context_details: ContextDetails | None = None,
        step_details: StepDetails | None = None,
        wait_details: WaitDetails | None = None,
        callback_details: CallbackDetails | None = None,
        chained_invoke_details: ChainedInvokeDetails | None = None,
    ) -> None:
        # Every checkpoint builds one: filling the instance dict at once costs a
        # third of the frozen dataclass __init__'s object.__setattr__ per field.
        self.__dict__.update(
            operation_id=operation_id,
            operation_type=operation_type,
            status=status,
            parent_id=parent_id,
            name=name,
            start_timestamp=start_timestamp,
            end_timestamp=end_timestamp,
            sub_type=sub_type,
            execution_details=execution_details,
            context_details=context_details,
            step_details=step_details,
            wait_details=wait_details,
            callback_details=callback_details,
            chained_invoke_details=chained_invoke_details,
        )

    @property
    def is_terminal(self) -> bool:
        return self.status._value_ in TERMINAL_VALUES

    @property
    def result(self) -> str | None:
        """The payload recorded by whichever details this operation has."""
        details = self._outcome_details()
        return details.result if details is not None else None

    @property
    def error(self) -> ErrorObject | None:
        """The error recorded by whichever details this operation has."""
        details = self._outcome_details()
        return details.error if details is not None else None

    def _outcome_details(
        self,
    ) -> StepDetails | ContextDetails | CallbackDetails | ChainedInvokeDetails | None:
        return (
            self.step_details
            or self.context_details
            or self.callback_details
            or self.chained_invoke_details
        )

    def with_status(self, status: OperationStatus, **changes: Any) -> Operation:
        return replace(self, status=status, **changes)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Operation:
        """Build from the API shape (timestamps as datetimes)."""
        return cls(
            operation_id=data["Id"],
            operation_type=_OPERATION_TYPES[data["Type"]],
            status=_OPERATION_STATUSES[data["Status"]],
            parent_id=data.get("ParentId"),
            name=data.get("Name"),
            start_timestamp=data.get("StartTimestamp"),
            end_timestamp=data.get("EndTimestamp"),
            sub_type=data.get("SubType") or None,
            **_details_from_mapping(data, _identity),
        )

    @classmethod
    def from_stored(
        cls,
        *,
        operation_id: str,
        operation_type: str,
        status: str,
        parent_id: str | None,
        name: str | None,
        sub_type: str | None,
        start_millis: int | None,
        end_millis: int | None,
        details: Mapping[str, Any],
    ) -> Operation:
        """Build from a store's columns and ``details_to_json_dict`` output."""
        return cls(
            operation_id,
            _OPERATION_TYPES[operation_type],
            _OPERATION_STATUSES[status],
            parent_id,
            name,
            from_millis(start_millis),
            from_millis(end_millis),
            sub_type or None,
            **_details_from_mapping(details, from_millis),
        )

    def details_to_json_dict(self) -> dict[str, Any]:
        """Only the ``<Kind>Details`` objects of the stored shape."""
        return self._details_mapping(to_millis)

    def to_dict(self) -> dict[str, Any]:
        """The API shape, timestamps as datetimes."""
        result: dict[str, Any] = {
            "Id": self.operation_id,
            "Type": self.operation_type._value_,
            "Status": self.status._value_,
        }
        if self.parent_id:
            result["ParentId"] = self.parent_id
        if self.name:
            result["Name"] = self.name
        if self.sub_type:
            result["SubType"] = self.sub_type
        if self.start_timestamp:
            result["StartTimestamp"] = self.start_timestamp
        if self.end_timestamp:
            result["EndTimestamp"] = self.end_timestamp
        result.update(self._details_mapping(_identity))
        return result

    def _details_mapping(self, moment: Any) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if self.execution_details:
            result["ExecutionDetails"] = {"InputPayload": self.execution_details.input_payload}
        if self.context_details:
            context: dict[str, Any] = _outcome_fields(self.context_details)
            if self.context_details.replay_children:
                context["ReplayChildren"] = True
            result["ContextDetails"] = context
        if self.step_details:
            step: dict[str, Any] = {"Attempt": self.step_details.attempt}
            if self.step_details.next_attempt_timestamp:
                step["NextAttemptTimestamp"] = moment(self.step_details.next_attempt_timestamp)
            step.update(_outcome_fields(self.step_details))
            result["StepDetails"] = step
        if self.wait_details:
            result["WaitDetails"] = (
                {"ScheduledEndTimestamp": moment(self.wait_details.scheduled_end_timestamp)}
                if self.wait_details.scheduled_end_timestamp
                else {}
            )
        if self.callback_details:
            result["CallbackDetails"] = _callback_fields(self.callback_details)
        if self.chained_invoke_details:
            result["ChainedInvokeDetails"] = _outcome_fields(self.chained_invoke_details)
        return result


_OPERATION_TYPES = {member._value_: member for member in OperationType}
_OPERATION_STATUSES = {member._value_: member for member in OperationStatus}


def _identity(value: Any) -> Any:
    return value


def _details_from_mapping(data: Mapping[str, Any], moment: Any) -> dict[str, Any]:
    """The ``*_details`` fields of an operation, from the ``<Kind>Details`` objects present."""
    fields: dict[str, Any] = {}
    if (execution := data.get("ExecutionDetails")) is not None:
        fields["execution_details"] = ExecutionDetails(execution.get("InputPayload"))
    if (context := data.get("ContextDetails")) is not None:
        fields["context_details"] = ContextDetails(
            replay_children=context.get("ReplayChildren", False),
            result=context.get("Result"),
            error=_error_from(context),
        )
    if (step := data.get("StepDetails")) is not None:
        fields["step_details"] = StepDetails(
            attempt=step.get("Attempt", 0),
            next_attempt_timestamp=moment(step.get("NextAttemptTimestamp")),
            result=step.get("Result"),
            error=_error_from(step),
        )
    if (wait := data.get("WaitDetails")) is not None:
        fields["wait_details"] = WaitDetails(moment(wait.get("ScheduledEndTimestamp")))
    if (callback := data.get("CallbackDetails")) is not None:
        fields["callback_details"] = CallbackDetails(
            callback_id=callback.get("CallbackId"),
            result=callback.get("Result"),
            error=_error_from(callback),
            token_hash=callback.get("TokenHash"),
            timeout_seconds=callback.get("Timeout", 0),
            heartbeat_timeout_seconds=callback.get("HeartbeatTimeout", 0),
        )
    if (invoke := data.get("ChainedInvokeDetails")) is not None:
        fields["chained_invoke_details"] = ChainedInvokeDetails(
            result=invoke.get("Result"), error=_error_from(invoke)
        )
    return fields


def _callback_fields(details: CallbackDetails) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if details.callback_id is not None:
        fields["CallbackId"] = details.callback_id
    fields.update(_outcome_fields(details))
    if details.token_hash is not None:
        fields["TokenHash"] = details.token_hash
    if details.timeout_seconds:
        fields["Timeout"] = details.timeout_seconds
    if details.heartbeat_timeout_seconds:
        fields["HeartbeatTimeout"] = details.heartbeat_timeout_seconds
    return fields


def _outcome_fields(
    details: StepDetails | ContextDetails | CallbackDetails | ChainedInvokeDetails,
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if details.result is not None:
        fields["Result"] = details.result
    if details.error is not None:
        fields["Error"] = details.error.to_dict()
    return fields


@dataclass(frozen=True, init=False)
class OperationUpdate:
    """A checkpoint request: apply ``action`` to one operation."""

    operation_id: str
    operation_type: OperationType
    action: OperationAction
    parent_id: str | None = None
    name: str | None = None
    sub_type: str | None = None
    payload: str | None = None
    error: ErrorObject | None = None
    context_options: ContextOptions | None = None
    step_options: StepOptions | None = None
    wait_options: WaitOptions | None = None
    callback_options: CallbackOptions | None = None
    chained_invoke_options: ChainedInvokeOptions | None = None

    def __init__(  # noqa: PLR0917 - the fields, in order
        self,
        operation_id: str,
        operation_type: OperationType,
        action: OperationAction,
        parent_id: str | None = None,
        name: str | None = None,
        sub_type: str | None = None,
        payload: str | None = None,
        error: ErrorObject | None = None,
        context_options: ContextOptions | None = None,
        step_options: StepOptions | None = None,
        wait_options: WaitOptions | None = None,
        callback_options: CallbackOptions | None = None,
        chained_invoke_options: ChainedInvokeOptions | None = None,
    ) -> None:
        # As Operation's: every checkpoint builds one.
        self.__dict__.update(
            operation_id=operation_id,
            operation_type=operation_type,
            action=action,
            parent_id=parent_id,
            name=name,
            sub_type=sub_type,
            payload=payload,
            error=error,
            context_options=context_options,
            step_options=step_options,
            wait_options=wait_options,
            callback_options=callback_options,
            chained_invoke_options=chained_invoke_options,
        )
