"""What a test run returns: the outcome and the operations, found by name."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from durable_lambda.lambda_service import (
    ErrorObject,
    InvocationStatus,
    OperationStatus,
    OperationType,
)
from durable_lambda.lambda_service import (
    Operation as RecordedOperation,
)
from durable_lambda.store.contract import ExecutionRecord, ExecutionStatus
from durable_lambda.testing.exceptions import DurableFunctionsTestError


@dataclass(frozen=True)
class Operation:
    """An operation of a finished test execution."""

    operation_id: str
    operation_type: OperationType
    status: OperationStatus
    parent_id: str | None = field(default=None, kw_only=True)
    name: str | None = field(default=None, kw_only=True)
    sub_type: str | None = field(default=None, kw_only=True)
    start_timestamp: datetime.datetime | None = field(default=None, kw_only=True)
    end_timestamp: datetime.datetime | None = field(default=None, kw_only=True)


class _FindsOperations:
    """``get_step(name)`` and friends over a list of operations."""

    def _searched(self) -> tuple[list[Operation], str]:
        raise NotImplementedError

    def get_operation_by_name(self, name: str) -> Operation:
        """The first operation called ``name``."""
        operations, what = self._searched()
        for operation in operations:
            if operation.name == name:
                return operation
        names = ", ".join(repr(op.name) for op in operations if op.name) or "none"
        msg = f"{what} with name {name!r} not found (named operations: {names})"
        raise DurableFunctionsTestError(msg)

    def get_step(self, name: str) -> StepOperation:
        """The first operation called ``name``, a step."""
        return cast(StepOperation, self.get_operation_by_name(name))

    def get_wait(self, name: str) -> WaitOperation:
        """The first operation called ``name``, a wait."""
        return cast(WaitOperation, self.get_operation_by_name(name))

    def get_context(self, name: str) -> ContextOperation:
        """The first operation called ``name``, a child context."""
        return cast(ContextOperation, self.get_operation_by_name(name))

    def get_callback(self, name: str) -> CallbackOperation:
        """The first operation called ``name``, a callback."""
        return cast(CallbackOperation, self.get_operation_by_name(name))

    def get_invoke(self, name: str) -> InvokeOperation:
        """The first operation called ``name``, a chained invoke."""
        return cast(InvokeOperation, self.get_operation_by_name(name))

    def get_execution(self, name: str) -> ExecutionOperation:
        """The first operation called ``name``, an execution."""
        return cast(ExecutionOperation, self.get_operation_by_name(name))


@dataclass(frozen=True)
class _Children(_FindsOperations):
    child_operations: list[Operation] = field(default_factory=list, kw_only=True)

    def _searched(self) -> tuple[list[Operation], str]:
        return self.child_operations, "Child Operation"


@dataclass(frozen=True)
class ExecutionOperation(Operation):
    """The execution's own operation."""

    input_payload: str | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class ContextOperation(_Children, Operation):
    """A child context, with its operations nested.

    Map, parallel, their branches and wait_for_callback are child contexts too.
    """

    result: str | None = field(default=None, kw_only=True)
    error: ErrorObject | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class StepOperation(ContextOperation):
    """A step (a wait_for_condition too)."""

    attempt: int = field(default=0, kw_only=True)
    next_attempt_timestamp: datetime.datetime | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class WaitOperation(Operation):
    """A wait."""

    scheduled_end_timestamp: datetime.datetime | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class CallbackOperation(ContextOperation):
    """A callback."""

    callback_id: str | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class InvokeOperation(Operation):
    """A chained invoke."""

    result: str | None = field(default=None, kw_only=True)
    error: ErrorObject | None = field(default=None, kw_only=True)


OperationT = TypeVar("OperationT", bound=Operation)


def _filled(cls: type[OperationT], fields: dict[str, Any]) -> OperationT:
    """``cls(**fields)`` for one of the frozen classes above, given every field.

    Their generated ``__init__`` sets each field through ``object.__setattr__``;
    a result holds one instance per operation of the execution (a 1,000-item
    map has 2,001), so it is built by filling the instance dict at once.
    """
    operation = object.__new__(cls)
    operation.__dict__.update(fields)
    return operation


def build_operation(
    op: RecordedOperation, children_of: dict[str | None, list[RecordedOperation]]
) -> Operation:
    """The test view of a recorded operation, with its children nested."""
    fields: dict[str, Any] = {
        "operation_id": op.operation_id,
        "operation_type": op.operation_type,
        "status": op.status,
        "parent_id": op.parent_id,
        "name": op.name,
        "sub_type": op.sub_type,
        "start_timestamp": op.start_timestamp,
        "end_timestamp": op.end_timestamp,
    }
    match op.operation_type:
        case OperationType.WAIT:
            wait = op.wait_details
            fields["scheduled_end_timestamp"] = wait.scheduled_end_timestamp if wait else None
            return _filled(WaitOperation, fields)
        case OperationType.CHAINED_INVOKE:
            fields["result"] = op.result
            fields["error"] = op.error
            return _filled(InvokeOperation, fields)
        case OperationType.EXECUTION:
            execution = op.execution_details
            fields["input_payload"] = execution.input_payload if execution else None
            return _filled(ExecutionOperation, fields)
    fields["child_operations"] = [
        build_operation(o, children_of) for o in children_of.get(op.operation_id, [])
    ]
    fields["result"] = op.result
    fields["error"] = op.error
    match op.operation_type:
        case OperationType.STEP:
            step = op.step_details
            fields["attempt"] = step.attempt if step else 0
            fields["next_attempt_timestamp"] = step.next_attempt_timestamp if step else None
            return _filled(StepOperation, fields)
        case OperationType.CALLBACK:
            callback = op.callback_details
            fields["callback_id"] = callback.callback_id if callback else None
            return _filled(CallbackOperation, fields)
    return _filled(ContextOperation, fields)


@dataclass(frozen=True)
class DurableFunctionTestResult(_FindsOperations):
    """The outcome of a test execution and its top-level operations."""

    status: InvocationStatus
    operations: list[Operation]
    result: str | None = None
    """The handler's return value as JSON text."""
    error: ErrorObject | None = None
    execution_status: ExecutionStatus | None = None

    @classmethod
    def create(
        cls, record: ExecutionRecord, operations: list[RecordedOperation]
    ) -> DurableFunctionTestResult:
        """The result of the execution ``record``, from its recorded ``operations``."""
        children_of: dict[str | None, list[RecordedOperation]] = {}
        for op in operations:
            children_of.setdefault(op.parent_id, []).append(op)
        top_level = [
            build_operation(op, children_of)
            for op in children_of.get(None, [])
            if op.operation_type is not OperationType.EXECUTION
        ]
        succeeded = record.status is ExecutionStatus.SUCCEEDED
        return cls(
            status=InvocationStatus.SUCCEEDED if succeeded else InvocationStatus.FAILED,
            operations=top_level,
            result=record.result,
            error=record.error,
            execution_status=record.status,
        )

    def _searched(self) -> tuple[list[Operation], str]:
        return self.operations, "Operation"

    def get_all_operations(self) -> list[Operation]:
        """Every operation, nested ones included."""
        found: list[Operation] = []
        stack = list(self.operations)
        while stack:
            operation = stack.pop()
            found.append(operation)
            stack.extend(getattr(operation, "child_operations", []))
        return found
