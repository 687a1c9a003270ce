"""The operations a test run returns, built from the recorded ones."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from durable_lambda.lambda_service import (
    CallbackDetails,
    ChainedInvokeDetails,
    ContextDetails,
    ErrorObject,
    OperationStatus,
    OperationType,
    StepDetails,
    WaitDetails,
)
from durable_lambda.lambda_service import Operation as RecordedOperation
from durable_lambda.store import ExecutionRecord, ExecutionStatus
from durable_lambda.testing.results import (
    CallbackOperation,
    ContextOperation,
    DurableFunctionTestResult,
    InvokeOperation,
    Operation,
    StepOperation,
    WaitOperation,
)

T0 = datetime.datetime(2026, 11, 25, 8, 0, tzinfo=datetime.UTC)
T1 = T0 + datetime.timedelta(seconds=5)
ERROR = ErrorObject(message="declined", type="CardError", data=None, stack_trace=None)


def recorded(
    operation_id: str,
    operation_type: OperationType,
    parent_id: str | None = None,
    **details: object,
) -> RecordedOperation:
    return RecordedOperation(
        operation_id,
        operation_type,
        OperationStatus.SUCCEEDED,
        parent_id=parent_id,
        name=f"name-{operation_id}",
        start_timestamp=T0,
        end_timestamp=T1,
        sub_type="Sub",
        **details,  # type: ignore[arg-type]
    )


def expected(
    cls: type[Operation], operation_id: str, operation_type: OperationType, **fields: Any
) -> Operation:
    """What the test view of ``recorded(operation_id, ...)`` is, built by its own __init__."""
    return cls(
        operation_id,
        operation_type,
        OperationStatus.SUCCEEDED,
        name=f"name-{operation_id}",
        sub_type="Sub",
        start_timestamp=T0,
        end_timestamp=T1,
        **fields,
    )


def test_every_operation_type_is_built_with_all_its_fields() -> None:
    operations = [
        recorded("1", OperationType.CONTEXT, context_details=ContextDetails(result='"ok"')),
        recorded(
            "2",
            OperationType.STEP,
            "1",
            step_details=StepDetails(attempt=2, next_attempt_timestamp=T1, error=ERROR),
        ),
        recorded("3", OperationType.WAIT, "1", wait_details=WaitDetails(T1)),
        recorded(
            "4",
            OperationType.CALLBACK,
            callback_details=CallbackDetails(callback_id="cb-4", result='"done"'),
        ),
        recorded(
            "5", OperationType.CHAINED_INVOKE, chained_invoke_details=ChainedInvokeDetails("7")
        ),
    ]
    record = ExecutionRecord("exec-1", "orders", "run-1", ExecutionStatus.SUCCEEDED, "{}", T0)

    result = DurableFunctionTestResult.create(record, operations)
    context, callback, invoke = result.operations
    step, wait = context.child_operations  # type: ignore[attr-defined]

    assert context == expected(
        ContextOperation, "1", OperationType.CONTEXT, child_operations=[step, wait], result='"ok"'
    )
    assert step == expected(
        StepOperation,
        "2",
        OperationType.STEP,
        parent_id="1",
        error=ERROR,
        attempt=2,
        next_attempt_timestamp=T1,
    )
    assert wait == expected(
        WaitOperation, "3", OperationType.WAIT, parent_id="1", scheduled_end_timestamp=T1
    )
    assert callback == expected(
        CallbackOperation, "4", OperationType.CALLBACK, result='"done"', callback_id="cb-4"
    )
    assert invoke == expected(InvokeOperation, "5", OperationType.CHAINED_INVOKE, result="7")
    for operation in (context, step, wait, callback, invoke):
        assert set(vars(operation)) == {f.name for f in dataclasses.fields(operation)}
