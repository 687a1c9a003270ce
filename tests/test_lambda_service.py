"""The data model's API shape: what ``Operation.to_dict`` writes, ``from_dict`` reads back."""

from __future__ import annotations

import datetime

from durable_lambda.lambda_service import (
    CallbackDetails,
    ErrorObject,
    Operation,
    OperationStatus,
    OperationType,
    StepDetails,
)

T0 = datetime.datetime(2026, 11, 25, 8, 0, 0, 123456, tzinfo=datetime.UTC)


def test_a_retrying_step_round_trips_with_its_datetimes_untouched() -> None:
    step = Operation(
        operation_id="2-1",
        operation_type=OperationType.STEP,
        status=OperationStatus.PENDING,
        parent_id="2",
        name="charge",
        start_timestamp=T0,
        sub_type="Step",
        step_details=StepDetails(
            attempt=2,
            next_attempt_timestamp=T0 + datetime.timedelta(seconds=5),
            error=ErrorObject(message="503", type="Throttled", data=None, stack_trace=None),
        ),
    )
    shape = step.to_dict()
    assert shape["StartTimestamp"] == T0
    assert shape["StepDetails"] == {
        "Attempt": 2,
        "NextAttemptTimestamp": T0 + datetime.timedelta(seconds=5),
        "Error": {"ErrorMessage": "503", "ErrorType": "Throttled"},
    }
    assert Operation.from_dict(shape) == step


def test_a_finished_callback_round_trips_with_its_id() -> None:
    callback = Operation(
        operation_id="1",
        operation_type=OperationType.CALLBACK,
        status=OperationStatus.SUCCEEDED,
        start_timestamp=T0,
        end_timestamp=T0 + datetime.timedelta(minutes=3),
        callback_details=CallbackDetails(
            callback_id="abc", result='"approved"', timeout_seconds=60
        ),
    )
    shape = callback.to_dict()
    assert shape["CallbackDetails"] == {"CallbackId": "abc", "Result": '"approved"', "Timeout": 60}
    assert shape["EndTimestamp"] == T0 + datetime.timedelta(minutes=3)
    assert Operation.from_dict(shape) == callback
