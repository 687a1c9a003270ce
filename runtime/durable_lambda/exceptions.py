"""Exceptions, with the names and hierarchy of the AWS durable execution SDK.

``DurableExecutionsError`` is the root. ``ExecutionError`` fails the execution
without retry; ``InvocationError`` fails only the invocation, which is retried.
``DurableOperationError`` and its subclasses are what a handler catches when
an operation fails. ``SuspendExecution`` derives from ``BaseException`` so that
a handler's ``except Exception`` can never swallow a suspension.
"""

from __future__ import annotations

import time
from enum import Enum


class TerminationReason(Enum):
    """Why a durable execution terminated."""

    UNHANDLED_ERROR = "UNHANDLED_ERROR"
    INVOCATION_ERROR = "INVOCATION_ERROR"
    EXECUTION_ERROR = "EXECUTION_ERROR"
    CHECKPOINT_FAILED = "CHECKPOINT_FAILED"
    NON_DETERMINISTIC_EXECUTION = "NON_DETERMINISTIC_EXECUTION"
    STEP_INTERRUPTED = "STEP_INTERRUPTED"
    SERIALIZATION_ERROR = "SERIALIZATION_ERROR"


class DurableExecutionsError(Exception):
    """Base class for durable execution exceptions."""


class UnrecoverableError(DurableExecutionsError):
    """Base class for errors that terminate the invocation or the execution."""

    def __init__(self, message: str, termination_reason: TerminationReason):
        super().__init__(message)
        self.termination_reason = termination_reason


class ExecutionError(UnrecoverableError):
    """Fails the execution without retry."""

    def __init__(
        self,
        message: str,
        termination_reason: TerminationReason = TerminationReason.EXECUTION_ERROR,
    ):
        super().__init__(message, termination_reason)


class InvocationError(UnrecoverableError):
    """Fails the invocation; the invocation is retried."""

    def __init__(
        self,
        message: str,
        termination_reason: TerminationReason = TerminationReason.INVOCATION_ERROR,
    ):
        super().__init__(message, termination_reason)

    def is_retryable(self) -> bool:
        """Whether retrying the invocation can help. True unless overridden."""
        return True


class DurableApiErrorCategory(Enum):
    """Whether a failed call to record state is worth another invocation."""

    INVOCATION = "INVOCATION"
    """Retry the invocation (the store failed)."""
    EXECUTION = "EXECUTION"
    """Fail the execution (the checkpoint was refused: retrying repeats it)."""


CheckpointErrorCategory = DurableApiErrorCategory
"""The AWS SDK's earlier name of ``DurableApiErrorCategory``."""


class CheckpointError(InvocationError):
    """A checkpoint was not recorded.

    With ``error_category`` INVOCATION (the store failed) the invocation is
    retried; with EXECUTION (the checkpoint was refused, as the managed
    service refuses one over its limits) the execution fails.
    """

    def __init__(
        self,
        message: str,
        error_category: DurableApiErrorCategory = DurableApiErrorCategory.INVOCATION,
    ):
        super().__init__(message, TerminationReason.CHECKPOINT_FAILED)
        self.error_category = error_category

    def is_retryable(self) -> bool:
        """True for an ``INVOCATION`` error; an ``EXECUTION`` one fails the execution."""
        return self.error_category is DurableApiErrorCategory.INVOCATION


class NonDeterministicExecutionError(ExecutionError):
    """The code no longer issues the operations that the execution recorded."""

    def __init__(self, message: str, step_id: str | None = None):
        super().__init__(message, TerminationReason.NON_DETERMINISTIC_EXECUTION)
        self.step_id = step_id


class ValidationError(DurableExecutionsError):
    """Incorrect arguments to a durable operation or configuration."""


class InvalidStateError(DurableExecutionsError):
    """An operation was attempted on an object in an invalid state."""


class DurableOperationError(DurableExecutionsError):
    """Base class for typed, per-operation failures.

    ``error_type`` names the error that escaped the operation (for example
    ``"ValueError"``), ``message``, ``data`` and ``stack_trace`` are as
    recorded. ``__cause__`` is rebuilt from the recorded fields on both the
    first run and replay, so both surface the same error.
    """

    def __init__(
        self,
        message: str | None = None,
        error_type: str | None = None,
        data: str | None = None,
        stack_trace: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message: str | None = message
        self.error_type: str = error_type or f"{type(self).__module__}.{type(self).__qualname__}"
        self.data: str | None = data
        self.stack_trace: list[str] | None = stack_trace

    @classmethod
    def from_error_fields(
        cls,
        error_type: str | None,
        message: str | None,
        data: str | None,
        stack_trace: list[str] | None,
    ) -> DurableOperationError:
        """Rebuild the SDK's own error class named by ``error_type``, else the base."""
        target = _DURABLE_OPERATION_ERROR_REGISTRY.get(error_type or "", DurableOperationError)
        return target(message=message, error_type=error_type, data=data, stack_trace=stack_trace)


class StepError(DurableOperationError):
    """Raised when a step fails."""


class InvokeError(DurableOperationError):
    """Raised when a chained invoke fails."""


class ChildContextError(DurableOperationError):
    """Raised when a child context (run_in_child_context, map, parallel) fails."""


class WaitForConditionError(DurableOperationError):
    """Raised when a wait_for_condition fails."""


class SerDesError(DurableExecutionsError):
    """Serializing or deserializing a value failed permanently."""

    def __init__(
        self,
        message: str | None = None,
        error_type: str | None = None,
        data: str | None = None,
        stack_trace: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message: str | None = message
        self.error_type: str = error_type or f"{type(self).__module__}.{type(self).__qualname__}"
        self.data: str | None = data
        self.stack_trace: list[str] | None = stack_trace


class CallbackError(DurableOperationError):
    """Base class of callback failures."""


class CallbackExternalError(CallbackError):
    """The external system reported failure for the callback."""


class CallbackTimeoutError(CallbackError):
    """The callback timed out (overall timeout or missed heartbeat)."""


class CallbackSubmitterError(CallbackError):
    """The submitter of a wait_for_callback failed."""


_DURABLE_OPERATION_ERROR_REGISTRY: dict[str, type[DurableOperationError]] = {
    f"{cls.__module__}.{cls.__qualname__}": cls
    for cls in (
        StepError,
        InvokeError,
        ChildContextError,
        WaitForConditionError,
        CallbackError,
        CallbackExternalError,
        CallbackTimeoutError,
        CallbackSubmitterError,
    )
}


def register_operation_error(error_cls: type[DurableOperationError]) -> None:
    """Let replay rebuild an SDK-owned operation error defined in a later module."""
    _DURABLE_OPERATION_ERROR_REGISTRY[f"{error_cls.__module__}.{error_cls.__qualname__}"] = (
        error_cls
    )


class StepInterruptedError(InvocationError):
    """An at-most-once step was interrupted before its outcome was recorded."""

    def __init__(self, message: str, step_id: str | None = None):
        super().__init__(message, TerminationReason.STEP_INTERRUPTED)
        self.step_id = step_id


class RetryableSerDesError(InvocationError):
    """A transient serdes failure: the invocation is retried."""

    def __init__(
        self,
        message: str,
        termination_reason: TerminationReason = TerminationReason.SERIALIZATION_ERROR,
    ):
        super().__init__(message, termination_reason)


class SuspendExecution(BaseException):
    """Unwinds the handler so the invocation can end until something changes."""

    def __init__(self, message: str):
        super().__init__(message)


class TimedSuspendExecution(SuspendExecution):
    """Suspend until ``scheduled_timestamp`` (Unix seconds)."""

    def __init__(self, message: str, scheduled_timestamp: float):
        super().__init__(message)
        self.scheduled_timestamp = scheduled_timestamp

    @classmethod
    def from_delay(cls, message: str, delay_seconds: float) -> TimedSuspendExecution:
        """A suspension until ``delay_seconds`` from now."""
        return cls(message, scheduled_timestamp=time.time() + delay_seconds)


class OrphanedChildException(BaseException):
    """A branch tried to checkpoint after its map or parallel had completed."""

    def __init__(self, message: str, operation_id: str):
        super().__init__(message)
        self.operation_id = operation_id
