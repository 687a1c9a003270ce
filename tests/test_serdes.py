"""Serialization: the extended envelope, class serdes, and clear failures."""

from __future__ import annotations

import datetime
import json
import logging
import re
import uuid
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Any, NamedTuple

import pytest

from durable_lambda import DurableContext, SerDesError, StepError, durable_execution
from durable_lambda.concurrency.models import BatchItem, BatchResult, CompletionReason
from durable_lambda.config import BatchItemStatus, StepConfig
from durable_lambda.lambda_service import ErrorObject
from durable_lambda.serdes import (
    ExtendedTypeSerDes,
    JsonSerDes,
    SerDesContext,
    create_class_serdes,
    create_class_serdes_with_dates,
    deserialize,
    parse_json,
    serialize,
)
from durable_lambda.store import ExecutionStatus
from durable_lambda.testing import DurableFunctionTestRunner

CONTEXT = SerDesContext("1", "arn")


@pytest.mark.parametrize(
    "value",
    [
        None,
        "text",
        7,
        2.5,
        True,
        [1, "two", None],
        {"nested": {"list": [1, 2], "tuple": (3, 4)}},
        (1, (2, 3)),
        b"\x00\xffbytes",
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        Decimal("12.3400"),
        datetime.datetime(2026, 11, 25, 6, 0, tzinfo=datetime.UTC),
        datetime.date(2026, 11, 25),
        BatchResult(
            [BatchItem(0, BatchItemStatus.SUCCEEDED, {"a": 1})], CompletionReason.ALL_COMPLETED
        ),
    ],
)
def test_extended_serdes_round_trips_python_values(value: Any) -> None:
    serdes = ExtendedTypeSerDes()
    assert serdes.deserialize(serdes.serialize(value, CONTEXT), CONTEXT) == value


def test_primitives_are_plain_json_and_other_values_tagged() -> None:
    serdes = ExtendedTypeSerDes()
    assert serdes.serialize([1, "a"], CONTEXT) == '[1,"a"]'
    assert json.loads(serdes.serialize((1,), CONTEXT)) == {"t": "t", "v": [{"t": "i", "v": 1}]}


def test_a_batch_result_is_written_in_the_aws_sdk_wire_format() -> None:
    result = BatchResult(
        [
            BatchItem(0, BatchItemStatus.SUCCEEDED, {"a": (1, 2)}),
            BatchItem(
                1, BatchItemStatus.FAILED, None, ErrorObject("declined", "CardError", None, None)
            ),
            BatchItem(2, BatchItemStatus.STARTED),
        ],
        CompletionReason.FAILURE_TOLERANCE_EXCEEDED,
    )

    written = ExtendedTypeSerDes().serialize(result, CONTEXT)

    none = '{"t":"n","v":null}'
    assert written == (
        '{"t":"br","v":{"all":{"t":"l","v":['
        '{"t":"m","v":{"index":{"t":"i","v":0},"status":{"t":"s","v":"SUCCEEDED"},'
        '"result":{"t":"m","v":{"a":{"t":"t","v":[{"t":"i","v":1},{"t":"i","v":2}]}}},'
        f'"error":{none}}}}},'
        '{"t":"m","v":{"index":{"t":"i","v":1},"status":{"t":"s","v":"FAILED"},'
        f'"result":{none},"error":{{"t":"m","v":{{"ErrorMessage":{{"t":"s","v":"declined"}},'
        '"ErrorType":{"t":"s","v":"CardError"}}}}},'
        '{"t":"m","v":{"index":{"t":"i","v":2},"status":{"t":"s","v":"STARTED"},'
        f'"result":{none},"error":{none}}}}}]}},'
        '"completionReason":{"t":"s","v":"FAILURE_TOLERANCE_EXCEEDED"}}}'
    )


def test_malformed_envelope_is_a_serdes_error() -> None:
    with pytest.raises(SerDesError, match='missing "t" or "v"'):
        deserialize(None, '{"x": 1}', "3", "arn")
    with pytest.raises(SerDesError, match='Unknown type tag: "zz"'):
        deserialize(None, '{"t": "zz", "v": 1}', "3", "arn")


def test_unsupported_values_name_the_operation() -> None:
    with pytest.raises(SerDesError, match="Unsupported type: <class 'object'>"):
        serialize(None, {"x": object()}, "4", "arn")
    with pytest.raises(SerDesError, match="Serialization failed for id: 4"):
        serialize(JsonSerDes(), {1, 2}, "4", "arn")


class Account:
    def __init__(self, owner: str, opened: datetime.datetime) -> None:
        self.owner = owner
        self.opened = opened


@dataclass
class Line:
    sku: str
    at: datetime.datetime


@dataclass
class Invoice:
    number: str
    lines: list[Line]
    paid_on: datetime.date | None
    tags: dict[str, Line]


def test_class_serdes_with_dates_restores_a_plain_class() -> None:
    serdes = create_class_serdes_with_dates(Account, ["opened"])
    opened = datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.UTC)
    restored = serdes.deserialize(serdes.serialize(Account("ana", opened), CONTEXT), CONTEXT)
    assert isinstance(restored, Account)
    assert (restored.owner, restored.opened) == ("ana", opened)


def test_class_serdes_restores_nested_dataclasses_from_annotations() -> None:
    serdes = create_class_serdes(Invoice)
    at = datetime.datetime(2026, 5, 6, tzinfo=datetime.UTC)
    invoice = Invoice("I-1", [Line("a", at)], datetime.date(2026, 5, 7), {"first": Line("b", at)})
    restored = serdes.deserialize(serdes.serialize(invoice, CONTEXT), CONTEXT)
    assert restored == invoice
    assert isinstance(restored.lines[0], Line) and isinstance(
        restored.tags["first"].at, datetime.datetime
    )


def test_a_step_result_that_cannot_be_serialized_fails_the_step_without_retry() -> None:
    attempts: list[int] = []

    @durable_execution
    def handler(event: Any, context: DurableContext) -> str:
        try:
            context.step(lambda s: attempts.append(s.attempt) or {object()}, name="bad")
        except SerDesError as error:
            return f"{type(error).__name__}: {error.message}"
        except StepError:
            return "StepError"
        return "no error"

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run()
    assert result.execution_status is ExecutionStatus.SUCCEEDED
    assert json.loads(result.result or "null") == ("SerDesError: Unsupported type: <class 'set'>")
    assert attempts == [1]
    assert result.get_step("bad").status.value == "FAILED"


def test_a_step_result_that_cannot_be_serialized_is_logged_at_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)

    @durable_execution
    def handler(event: Any, context: DurableContext) -> Any:
        return context.step(lambda _: {object()}, name="bad")

    with DurableFunctionTestRunner(handler) as runner:
        runner.run()
    step_records = [r for r in caplog.records if r.name == "durable_lambda.operation.step"]
    assert [(r.levelname, r.getMessage()) for r in step_records] == [
        ("ERROR", "Step 1 'bad' could not serialize its result")
    ]
    assert step_records[0].exc_info is not None
    assert step_records[0].exc_info[0] is SerDesError


def test_custom_step_serdes_is_used_for_the_record() -> None:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> Any:
        return context.step(
            lambda _: {"b": 1, "a": 2}, name="plain", config=StepConfig(serdes=JsonSerDes())
        )

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run()
    assert result.get_step("plain").result == '{"b": 1, "a": 2}'


@pytest.mark.parametrize(
    "text", ["42", '"x"', " 1", "1 ", "[1, 2]", '{"a": {"t": 1}}', "null", "-0.0"]
)
def test_parse_json_reads_what_json_loads_reads(text: str) -> None:
    assert parse_json(text) == json.loads(text)


@pytest.mark.parametrize("text", ["", "1 2", "{", "x"])
def test_parse_json_refuses_what_json_loads_refuses_with_its_message(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError, match=re.escape(str(expected.value))):
        parse_json(text)


class Color(IntEnum):
    RED = 1


class Shape(StrEnum):
    ROUND = "round"


class Shouting(str):
    __slots__ = ()

    def __str__(self) -> str:
        return self.upper()


class Ratio(float):
    pass


class Count(int):
    def __str__(self) -> str:
        return "many"


class Local(datetime.datetime):
    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        return "local"


class Point(NamedTuple):
    x: int
    y: str


NONE = '{"t":"n","v":null}'


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (
            (None, "s", 1, 2.5, True, False),
            '{"t":"t","v":[' + NONE + ',{"t":"s","v":"s"},{"t":"i","v":1},{"t":"f","v":2.5},'
            '{"t":"b","v":true},{"t":"b","v":false}]}',
        ),
        (
            (float("nan"), float("inf"), -float("inf"), -0.0, 1e300, 0.1 + 0.2, 2**70),
            '{"t":"t","v":[{"t":"f","v":NaN},{"t":"f","v":Infinity},{"t":"f","v":-Infinity},'
            '{"t":"f","v":-0.0},{"t":"f","v":1e+300},{"t":"f","v":0.30000000000000004},'
            '{"t":"i","v":1180591620717411303424}]}',
        ),
        (('é"\n\x00',), r'{"t":"t","v":[{"t":"s","v":"\u00e9\"\n\u0000"}]}'),
        (
            {"ключ": {"a": [1, [2, (3,)]], "": {}, "e": [], "f": ()}},
            r'{"t":"m","v":{"\u043a\u043b\u044e\u0447":{"t":"m","v":{"a":{"t":"l","v":['
            r'{"t":"i","v":1},{"t":"l","v":[{"t":"i","v":2},{"t":"t","v":[{"t":"i","v":3}]}]}]},'
            r'"":{"t":"m","v":{}},"e":{"t":"l","v":[]},"f":{"t":"t","v":[]}}}}}',
        ),
        (
            (b"\x00\xff", bytearray(b"ab"), memoryview(b"abc")),
            '{"t":"t","v":[{"t":"B","v":"AP8="},{"t":"B","v":"YWI="},{"t":"B","v":"YWJj"}]}',
        ),
        (
            (
                uuid.UUID("12345678-1234-5678-1234-567812345678"),
                Decimal("12.3400"),
                Decimal("-Infinity"),
            ),
            '{"t":"t","v":[{"t":"u","v":"12345678-1234-5678-1234-567812345678"},'
            '{"t":"d","v":"12.3400"},{"t":"d","v":"-Infinity"}]}',
        ),
        (
            (
                datetime.datetime(2026, 11, 25, 6, 0, tzinfo=datetime.UTC),
                datetime.datetime(2026, 11, 25, 6, 0, 1, 5),
                datetime.date(2026, 11, 25),
            ),
            '{"t":"t","v":[{"t":"dt","v":"2026-11-25T06:00:00+00:00"},'
            '{"t":"dt","v":"2026-11-25T06:00:01.000005"},{"t":"D","v":"2026-11-25"}]}',
        ),
        (
            (
                Color.RED,
                Shape.ROUND,
                Shouting("quiet"),
                Ratio(0.5),
                Count(3),
                Local(2026, 1, 1),
                Point(1, "y"),
                OrderedDict(b=None, a=1),
                defaultdict(list, z=[]),
            ),
            '{"t":"t","v":[{"t":"i","v":1},{"t":"s","v":"round"},{"t":"s","v":"QUIET"},'
            '{"t":"f","v":0.5},{"t":"i","v":3},{"t":"dt","v":"local"},'
            '{"t":"t","v":[{"t":"i","v":1},{"t":"s","v":"y"}]},'
            '{"t":"m","v":{"b":' + NONE + ',"a":{"t":"i","v":1}}},'
            '{"t":"m","v":{"z":{"t":"l","v":[]}}}]}',
        ),
        (
            {"batch": BatchResult([], CompletionReason.MIN_SUCCESSFUL_REACHED)},
            '{"t":"m","v":{"batch":{"t":"br","v":{"all":{"t":"l","v":[]},'
            '"completionReason":{"t":"s","v":"MIN_SUCCESSFUL_REACHED"}}}}}',
        ),
    ],
)
def test_tagged_values_are_written_exactly(value: Any, text: str) -> None:
    assert ExtendedTypeSerDes().serialize(value) == text


def test_a_batch_item_error_is_written_with_all_its_fields() -> None:
    error = ErrorObject("declined", "CardError", '{"code":7}', ["at pay", "at main"])
    result = BatchResult(
        [BatchItem(4, BatchItemStatus.FAILED, None, error)], CompletionReason.ALL_COMPLETED
    )

    written = ExtendedTypeSerDes().serialize(result)

    assert written == (
        '{"t":"br","v":{"all":{"t":"l","v":[{"t":"m","v":{"index":{"t":"i","v":4},'
        '"status":{"t":"s","v":"FAILED"},"result":' + NONE + ',"error":{"t":"m","v":{'
        '"ErrorMessage":{"t":"s","v":"declined"},"ErrorType":{"t":"s","v":"CardError"},'
        r'"ErrorData":{"t":"s","v":"{\"code\":7}"},'
        '"StackTrace":{"t":"l","v":[{"t":"s","v":"at pay"},{"t":"s","v":"at main"}]}}}}}]},'
        '"completionReason":{"t":"s","v":"ALL_COMPLETED"}}}'
    )


def test_a_batch_result_is_written_as_its_to_dict_tagged_as_a_batch_result() -> None:
    result = BatchResult(
        [
            BatchItem(0, BatchItemStatus.SUCCEEDED, [1, {"k": (2.5, None)}]),
            BatchItem(1, BatchItemStatus.FAILED, None, ErrorObject(None, "E", None, None)),
            BatchItem(2, BatchItemStatus.STARTED),
        ],
        CompletionReason.FAILURE_TOLERANCE_EXCEEDED,
    )
    serdes = ExtendedTypeSerDes()

    as_dict = serdes.serialize(result.to_dict())

    assert as_dict.startswith('{"t":"m",')
    assert serdes.serialize(result) == '{"t":"br",' + as_dict.removeprefix('{"t":"m",')


class LabelledItem(BatchItem[Any]):
    def to_dict(self) -> dict[str, Any]:
        return {"label": f"item {self.index}"}


class AnnotatedResult(BatchResult[Any]):
    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "note": None}


def test_subclasses_of_batch_results_and_items_are_written_as_their_to_dict() -> None:
    items: list[BatchItem[Any]] = [LabelledItem(0, BatchItemStatus.SUCCEEDED)]
    serdes = ExtendedTypeSerDes()

    plain = serdes.serialize(BatchResult(items, CompletionReason.ALL_COMPLETED))
    annotated = serdes.serialize(AnnotatedResult(items, CompletionReason.ALL_COMPLETED))

    labelled = '{"all":{"t":"l","v":[{"t":"m","v":{"label":{"t":"s","v":"item 0"}}}]},'
    reason = '"completionReason":{"t":"s","v":"ALL_COMPLETED"}'
    assert plain == '{"t":"br","v":' + labelled + reason + "}}"
    assert annotated == '{"t":"br","v":' + labelled + reason + ',"note":' + NONE + "}}"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({1: "a"}, "Only str dictionary keys can be serialized"),
        ([{"a": 1}, {None: 1}], "Only str dictionary keys can be serialized"),
        ({"a": object(), 1: 2}, "Only str dictionary keys can be serialized"),
        ((1, [{"a": {2}}], object()), "Unsupported type: <class 'set'>"),
        ({"a": [object()], "b": {3: 4}}, "Unsupported type: <class 'object'>"),
        (
            BatchResult(
                [
                    BatchItem(0, BatchItemStatus.SUCCEEDED, 1),
                    BatchItem(1, BatchItemStatus.SUCCEEDED, frozenset()),
                ],
                CompletionReason.ALL_COMPLETED,
            ),
            "Unsupported type: <class 'frozenset'>",
        ),
        (
            BatchResult(
                [BatchItem(0, BatchItemStatus.SUCCEEDED, {("k",): 1})],
                CompletionReason.ALL_COMPLETED,
            ),
            "Only str dictionary keys can be serialized",
        ),
    ],
)
def test_values_that_cannot_be_written_raise_the_first_problem_found(
    value: Any, message: str
) -> None:
    with pytest.raises(SerDesError) as raised:
        ExtendedTypeSerDes().serialize(value)
    assert raised.value.message == message
