"""The operations a test run returns, built from the recorded ones."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest

from durable_lambda.lambda_service import (
    CallbackDetails,
    ChainedInvokeDetails,
    ContextDetails,
    ErrorObject,
    ExecutionDetails,
    InvocationStatus,
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
    DurableFunctionsTestError,
    DurableFunctionTestResult,
    ExecutionOperation,
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


def test_operations_without_details_get_the_defaults() -> None:
    operations = [
        recorded("1", OperationType.STEP),
        recorded("2", OperationType.WAIT),
        recorded("3", OperationType.CALLBACK),
        recorded("4", OperationType.CHAINED_INVOKE),
        recorded("5", OperationType.CONTEXT),
    ]
    record = ExecutionRecord("exec-1", "orders", "run-1", ExecutionStatus.SUCCEEDED, "{}", T0)

    step, wait, callback, invoke, context = DurableFunctionTestResult.create(
        record, operations
    ).operations

    assert step == expected(StepOperation, "1", OperationType.STEP)
    assert (step.attempt, step.next_attempt_timestamp, step.result) == (0, None, None)  # type: ignore[attr-defined]
    assert wait == expected(WaitOperation, "2", OperationType.WAIT)
    assert wait.scheduled_end_timestamp is None  # type: ignore[attr-defined]
    assert callback == expected(CallbackOperation, "3", OperationType.CALLBACK)
    assert callback.callback_id is None  # type: ignore[attr-defined]
    assert invoke == expected(InvokeOperation, "4", OperationType.CHAINED_INVOKE)
    assert (invoke.result, invoke.error) == (None, None)  # type: ignore[attr-defined]
    assert context == expected(ContextOperation, "5", OperationType.CONTEXT)
    assert context.child_operations == []  # type: ignore[attr-defined]
    for operation in (step, wait, callback, invoke, context):
        assert set(vars(operation)) == {f.name for f in dataclasses.fields(operation)}


def test_an_execution_operation_is_built_only_below_the_top_level() -> None:
    operations = [
        recorded("0", OperationType.EXECUTION, execution_details=ExecutionDetails("{}")),
        recorded("1", OperationType.CONTEXT),
        recorded("2", OperationType.EXECUTION, "1", execution_details=ExecutionDetails('{"a":1}')),
        recorded("3", OperationType.EXECUTION, "1"),
    ]
    record = ExecutionRecord("exec-1", "orders", "run-1", ExecutionStatus.SUCCEEDED, "{}", T0)

    result = DurableFunctionTestResult.create(record, operations)

    [context] = result.operations
    assert [op.operation_id for op in context.child_operations] == ["2", "3"]  # type: ignore[attr-defined]
    with_input, without_input = context.child_operations  # type: ignore[attr-defined]
    assert with_input == expected(
        ExecutionOperation, "2", OperationType.EXECUTION, parent_id="1", input_payload='{"a":1}'
    )
    assert without_input == expected(
        ExecutionOperation, "3", OperationType.EXECUTION, parent_id="1"
    )
    assert set(vars(with_input)) == {f.name for f in dataclasses.fields(with_input)}


def test_children_nest_in_recorded_order_and_unreachable_operations_are_left_out() -> None:
    operations = [
        recorded("1", OperationType.CONTEXT),
        recorded("12", OperationType.STEP, "11"),
        recorded("11", OperationType.CONTEXT, "1"),
        recorded("10", OperationType.STEP, "1"),
        recorded("13", OperationType.WAIT, "1"),
        recorded("14", OperationType.STEP, "13"),
        recorded("15", OperationType.STEP, "missing"),
        recorded("2", OperationType.CALLBACK),
        recorded("21", OperationType.STEP, "2"),
    ]
    record = ExecutionRecord("exec-1", "orders", "run-1", ExecutionStatus.SUCCEEDED, "{}", T0)

    result = DurableFunctionTestResult.create(record, operations)

    context, callback = result.operations
    inner, step, wait = context.child_operations  # type: ignore[attr-defined]
    assert (inner.operation_id, step.operation_id, wait.operation_id) == ("11", "10", "13")
    [grandchild] = inner.child_operations
    assert grandchild == expected(StepOperation, "12", OperationType.STEP, parent_id="11")
    assert not hasattr(wait, "child_operations")
    assert [op.operation_id for op in callback.child_operations] == ["21"]  # type: ignore[attr-defined]
    assert sorted(op.operation_id for op in result.get_all_operations()) == [
        "1",
        "10",
        "11",
        "12",
        "13",
        "2",
        "21",
    ]
    assert result.get_context("name-1").get_context("name-11").get_step("name-12") is grandchild
    assert result.get_callback("name-2").get_step("name-21").parent_id == "2"
    with pytest.raises(
        DurableFunctionsTestError,
        match=r"^Child Operation with name 'name-12' not found "
        r"\(named operations: 'name-11', 'name-10', 'name-13'\)",
    ):
        result.get_context("name-1").get_step("name-12")
    with pytest.raises(DurableFunctionsTestError, match=r"^Operation with name 'name-15'"):
        result.get_operation_by_name("name-15")


def test_result_and_error_are_read_as_the_recorded_operation_reads_them() -> None:
    other_error = ErrorObject("other", "OtherError", None, None)
    step = recorded(
        "1",
        OperationType.STEP,
        step_details=StepDetails(attempt=1, result='"step"'),
        context_details=ContextDetails(result='"context"', error=other_error),
    )
    context = recorded(
        "2",
        OperationType.CONTEXT,
        callback_details=CallbackDetails(callback_id="cb", result='"callback"'),
        chained_invoke_details=ChainedInvokeDetails('"invoke"', other_error),
    )
    callback = recorded(
        "3",
        OperationType.CALLBACK,
        context_details=ContextDetails(error=ERROR),
        callback_details=CallbackDetails(callback_id="cb-3", result='"callback"'),
    )
    invoke = recorded("4", OperationType.CHAINED_INVOKE, step_details=StepDetails(result='"step"'))
    record = ExecutionRecord("exec-1", "orders", "run-1", ExecutionStatus.SUCCEEDED, "{}", T0)

    built = DurableFunctionTestResult.create(record, [step, context, callback, invoke]).operations

    assert [(op.result, op.error) for op in built] == [  # type: ignore[attr-defined]
        ('"step"', None),
        ('"callback"', None),
        (None, ERROR),
        ('"step"', None),
    ]
    assert [(op.result, op.error) for op in built] == [
        (op.result, op.error) for op in (step, context, callback, invoke)
    ]
    assert built[2].callback_id == "cb-3"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "invocation_status"),
    [
        (ExecutionStatus.SUCCEEDED, InvocationStatus.SUCCEEDED),
        (ExecutionStatus.FAILED, InvocationStatus.FAILED),
        (ExecutionStatus.TIMED_OUT, InvocationStatus.FAILED),
    ],
)
def test_the_result_carries_the_execution_outcome(
    status: ExecutionStatus, invocation_status: InvocationStatus
) -> None:
    record = ExecutionRecord(
        "exec-1", "orders", "run-1", status, "{}", T0, result='"r"', error=ERROR
    )

    result = DurableFunctionTestResult.create(record, [])

    assert result == DurableFunctionTestResult(
        status=invocation_status,
        operations=[],
        result='"r"',
        error=ERROR,
        execution_status=status,
    )
