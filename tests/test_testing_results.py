"""The operations a test run returns, built from the recorded ones."""

from __future__ import annotations

import dataclasses
import datetime

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

    common = {"sub_type": "Sub", "start_timestamp": T0, "end_timestamp": T1}
    assert context == ContextOperation(
        "1",
        OperationType.CONTEXT,
        OperationStatus.SUCCEEDED,
        name="name-1",
        **common,
        child_operations=[step, wait],
        result='"ok"',
    )
    assert step == StepOperation(
        "2",
        OperationType.STEP,
        OperationStatus.SUCCEEDED,
        parent_id="1",
        name="name-2",
        **common,
        error=ERROR,
        attempt=2,
        next_attempt_timestamp=T1,
    )
    assert wait == WaitOperation(
        "3",
        OperationType.WAIT,
        OperationStatus.SUCCEEDED,
        parent_id="1",
        name="name-3",
        **common,
        scheduled_end_timestamp=T1,
    )
    assert callback == CallbackOperation(
        "4",
        OperationType.CALLBACK,
        OperationStatus.SUCCEEDED,
        name="name-4",
        **common,
        result='"done"',
        callback_id="cb-4",
    )
    assert invoke == InvokeOperation(
        "5",
        OperationType.CHAINED_INVOKE,
        OperationStatus.SUCCEEDED,
        name="name-5",
        **common,
        result="7",
    )
    for operation in (context, step, wait, callback, invoke):
        assert set(vars(operation)) == {f.name for f in dataclasses.fields(operation)}
