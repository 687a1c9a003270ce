"""What a test run returns: the outcome and the operations, found by name."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, cast

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


class DurableFunctionsTestError(Exception):
    """A test asked for something the execution does not have."""


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
        return cast(StepOperation, self.get_operation_by_name(name))

    def get_wait(self, name: str) -> WaitOperation:
        return cast(WaitOperation, self.get_operation_by_name(name))

    def get_context(self, name: str) -> ContextOperation:
        return cast(ContextOperation, self.get_operation_by_name(name))

    def get_callback(self, name: str) -> CallbackOperation:
        return cast(CallbackOperation, self.get_operation_by_name(name))

    def get_invoke(self, name: str) -> InvokeOperation:
        return cast(InvokeOperation, self.get_operation_by_name(name))

    def get_execution(self, name: str) -> ExecutionOperation:
        return cast(ExecutionOperation, self.get_operation_by_name(name))


@dataclass(frozen=True)
class _Children(_FindsOperations):
    child_operations: list[Operation] = field(default_factory=list, kw_only=True)

    def _searched(self) -> tuple[list[Operation], str]:
        return self.child_operations, "Child operation"


@dataclass(frozen=True)
class ExecutionOperation(Operation):
    input_payload: str | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class ContextOperation(_Children, Operation):
    result: str | None = field(default=None, kw_only=True)
    error: ErrorObject | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class StepOperation(ContextOperation):
    attempt: int = field(default=0, kw_only=True)
    next_attempt_timestamp: datetime.datetime | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class WaitOperation(Operation):
    scheduled_end_timestamp: datetime.datetime | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class CallbackOperation(ContextOperation):
    callback_id: str | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class InvokeOperation(Operation):
    result: str | None = field(default=None, kw_only=True)
    error: ErrorObject | None = field(default=None, kw_only=True)


def build_operation(
    op: RecordedOperation, children_of: dict[str | None, list[RecordedOperation]]
) -> Operation:
    """The test view of a recorded operation, with its children nested."""
    common: dict[str, Any] = {
        "parent_id": op.parent_id,
        "name": op.name,
        "sub_type": op.sub_type,
        "start_timestamp": op.start_timestamp,
        "end_timestamp": op.end_timestamp,
    }
    children = [build_operation(o, children_of) for o in children_of.get(op.operation_id, [])]
    base = (op.operation_id, op.operation_type, op.status)
    match op.operation_type:
        case OperationType.STEP:
            details = op.step_details
            return StepOperation(
                *base,
                **common,
                child_operations=children,
                result=op.result,
                error=op.error,
                attempt=details.attempt if details else 0,
                next_attempt_timestamp=details.next_attempt_timestamp if details else None,
            )
        case OperationType.WAIT:
            return WaitOperation(
                *base,
                **common,
                scheduled_end_timestamp=op.wait_details.scheduled_end_timestamp
                if op.wait_details
                else None,
            )
        case OperationType.CALLBACK:
            return CallbackOperation(
                *base,
                **common,
                child_operations=children,
                result=op.result,
                error=op.error,
                callback_id=op.callback_details.callback_id if op.callback_details else None,
            )
        case OperationType.CHAINED_INVOKE:
            return InvokeOperation(*base, **common, result=op.result, error=op.error)
        case OperationType.EXECUTION:
            return ExecutionOperation(
                *base,
                **common,
                input_payload=op.execution_details.input_payload if op.execution_details else None,
            )
        case _:
            return ContextOperation(
                *base, **common, child_operations=children, result=op.result, error=op.error
            )


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
