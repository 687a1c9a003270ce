"""Conformance suite "callback" (tests/conformance/callback): one handler per requirement."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

import pytest
from conformance_harness import Suite

from durable_lambda import CallbackError, DurableContext, durable_execution
from durable_lambda.config import CallbackConfig, Duration
from durable_lambda.serdes import SerDes, SerDesContext

suite = Suite("callback")


@suite.requirement("4-1")
@durable_execution
def callback_basic(event: str, context: DurableContext) -> Any:
    return context.create_callback(event).result()


@suite.requirement("4-2")
@durable_execution
def callback_named(event: Any, context: DurableContext) -> Any:
    return context.create_callback(name="approval").result()


@suite.requirement("4-3")
@durable_execution
def callback_timeout(event: str, context: DurableContext) -> Any:
    config = CallbackConfig(timeout=Duration.from_seconds(5))
    return context.create_callback(event, config).result()


@suite.requirement("4-4")
@durable_execution
def callback_heartbeat_timeout(event: str, context: DurableContext) -> Any:
    config = CallbackConfig(heartbeat_timeout=Duration.from_seconds(5))
    return context.create_callback(event, config).result()


@suite.requirement("4-5")
@durable_execution
def callback_heartbeat_then_success(event: str, context: DurableContext) -> Any:
    config = CallbackConfig(heartbeat_timeout=Duration.from_seconds(10))
    return context.create_callback(event, config).result()


@suite.requirement("4-6")
@durable_execution
def callback_failure(event: str, context: DurableContext) -> Any:
    return context.create_callback(event).result()


@suite.requirement("4-7")
@durable_execution
def callback_step_then_failure(event: str, context: DurableContext) -> Any:
    callback = context.create_callback(event)
    context.step(lambda _: "between")
    return callback.result()


@suite.requirement("4-8")
@durable_execution
def callback_step_then_timeout(event: str, context: DurableContext) -> Any:
    callback = context.create_callback(event, CallbackConfig(timeout=Duration.from_seconds(5)))
    context.step(lambda _: "between")
    return callback.result()


@suite.requirement("4-9")
@durable_execution
def callback_wait_then_success(event: str, context: DurableContext) -> Any:
    callback = context.create_callback(event)
    context.wait(Duration.from_seconds(5))
    return callback.result()


@suite.requirement("4-10")
@durable_execution
def callback_wait_then_failure(event: str, context: DurableContext) -> Any:
    callback = context.create_callback(event)
    context.wait(Duration.from_seconds(5))
    return callback.result()


@suite.requirement("4-11")
@durable_execution
def callback_times_out_during_wait(event: str, context: DurableContext) -> Any:
    callback = context.create_callback(event, CallbackConfig(timeout=Duration.from_seconds(3)))
    context.wait(Duration.from_seconds(6))
    return callback.result()


@suite.requirement("4-12")
@durable_execution
def callback_then_wait(event: str, context: DurableContext) -> Any:
    result = context.create_callback(event).result()
    context.wait(Duration.from_seconds(2))
    return result


@suite.requirement("4-13")
@durable_execution
def callback_failure_caught_then_wait(event: str, context: DurableContext) -> str:
    try:
        message = str(context.create_callback(event).result())
    except CallbackError as error:
        message = f"callback failed: {error.message}"
    context.wait(Duration.from_seconds(2))
    return message


@suite.requirement("4-14")
@durable_execution
def callback_timeout_caught_then_wait(event: str, context: DurableContext) -> str:
    config = CallbackConfig(timeout=Duration.from_seconds(3))
    try:
        message = str(context.create_callback(event, config).result())
    except CallbackError as error:
        message = f"callback timed out: {error.message}"
    context.wait(Duration.from_seconds(2))
    return message


@dataclass(frozen=True)
class Received:
    id: str
    message: str
    timestamp: datetime.datetime


class ReceivedSerDes(SerDes[Received]):
    """Reads the JSON an external system sends into a Received with a datetime."""

    def serialize(self, value: Received, serdes_context: SerDesContext) -> str:
        return json.dumps(
            {"id": value.id, "message": value.message, "timestamp": value.timestamp.isoformat()}
        )

    def deserialize(self, data: str, serdes_context: SerDesContext) -> Received:
        raw = json.loads(data)
        return Received(
            raw["id"], raw["message"], datetime.datetime.fromisoformat(raw["timestamp"])
        )


@suite.requirement("4-15")
@durable_execution
def callback_custom_serdes(event: str, context: DurableContext) -> dict[str, Any]:
    received = context.create_callback(event, CallbackConfig(serdes=ReceivedSerDes())).result()
    assert received is not None
    return {
        "received": {
            "id": received.id,
            "message": received.message,
            "timestamp": int(received.timestamp.timestamp()),
        }
    }


class NumberSerDes(SerDes[int]):
    """Reads the payload as a number."""

    def serialize(self, value: int, serdes_context: SerDesContext) -> str:
        return str(value)

    def deserialize(self, data: str, serdes_context: SerDesContext) -> int:
        return int(data)


@suite.requirement("4-16")
@durable_execution
def callback_numeric_serdes(event: str, context: DurableContext) -> dict[str, int]:
    count = context.create_callback(event, CallbackConfig(serdes=NumberSerDes())).result()
    assert count is not None
    return {"count": count, "doubled": count * 2}


@suite.requirement("4-17")
@durable_execution
def two_callbacks_in_sequence(event: list[str], context: DurableContext) -> list[Any]:
    first = context.create_callback(event[0]).result()
    second = context.create_callback(event[1]).result()
    return [first, second]


@suite.requirement("4-18")
@durable_execution
def two_callbacks_awaited_in_order(event: list[str], context: DurableContext) -> list[Any]:
    a = context.create_callback(event[0])
    b = context.create_callback(event[1])
    return [a.result(), b.result()]


@suite.requirement("4-19")
@durable_execution
def two_callbacks_awaited_in_reverse(event: list[str], context: DurableContext) -> list[Any]:
    a = context.create_callback(event[0])
    b = context.create_callback(event[1])
    b_result = b.result()
    return [a.result(), b_result]


@pytest.mark.parametrize("requirement_id", suite.ids())
def test_callback_requirement(requirement_id: str, caplog: pytest.LogCaptureFixture) -> None:
    suite.check(requirement_id, caplog)
