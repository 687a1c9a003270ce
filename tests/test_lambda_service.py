"""The data model's API shape: what ``Operation.to_dict`` writes, ``from_dict`` reads back."""

from __future__ import annotations

import dataclasses
import datetime
import inspect

import pytest

from durable_lambda.identifier import OperationIdentifier
from durable_lambda.lambda_service import (
    CallbackDetails,
    ErrorObject,
    Operation,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepDetails,
    whole_millis,
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


@pytest.mark.parametrize("cls", [Operation, OperationUpdate, OperationIdentifier])
def test_hand_written_init_takes_every_field_with_its_default(cls: type) -> None:
    """These frozen dataclasses fill their fields in their own __init__: a field added
    to the class must be a parameter there too, with the same default."""
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [p.name for p in parameters] == [f.name for f in dataclasses.fields(cls)]
    for parameter, field in zip(parameters, dataclasses.fields(cls), strict=True):
        missing = field.default is dataclasses.MISSING
        expected = inspect.Parameter.empty if missing else field.default
        assert parameter.default == expected, field.name
        assert (parameter.kind is inspect.Parameter.KEYWORD_ONLY) == field.kw_only, field.name


@pytest.mark.parametrize(
    ("microsecond", "cut"),
    [(0, 0), (999, 0), (1_000, 1_000), (123_456, 123_000), (999_999, 999_000)],
)
def test_whole_millis_cuts_below_the_millisecond_and_keeps_the_zone(
    microsecond: int, cut: int
) -> None:
    zone = datetime.timezone(datetime.timedelta(hours=2))
    moment = datetime.datetime(2026, 11, 25, 23, 59, 59, microsecond, tzinfo=zone)

    assert whole_millis(moment) == datetime.datetime(2026, 11, 25, 23, 59, 59, cut, tzinfo=zone)
    assert whole_millis(moment).tzinfo is zone
