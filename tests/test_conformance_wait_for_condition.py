"""Conformance suite "wait_for_condition" (tests/conformance/wait_for_condition)."""

from __future__ import annotations

from typing import Any

import pytest
from conformance_harness import Suite

from durable_lambda import DurableContext, WaitForConditionError, durable_execution
from durable_lambda.config import Duration, JitterStrategy
from durable_lambda.serdes import SerDes, SerDesContext
from durable_lambda.types import WaitForConditionCheckContext
from durable_lambda.waits import (
    WaitForConditionConfig,
    WaitForConditionDecision,
    WaitStrategyConfig,
    create_wait_strategy,
)

suite = Suite("wait_for_condition")


def increment(state: int, check_context: WaitForConditionCheckContext) -> int:
    return state + 1


def fixed_delay(should_continue: Any, seconds: int = 1, max_attempts: int = 60) -> Any:
    return create_wait_strategy(
        WaitStrategyConfig(
            should_continue_polling=should_continue,
            max_attempts=max_attempts,
            initial_delay=Duration.from_seconds(seconds),
            backoff_rate=1,
            jitter_strategy=JitterStrategy.NONE,
        )
    )


def count_up(context: DurableContext, initial: int, threshold: int, name: str | None = None) -> int:
    config = WaitForConditionConfig(
        wait_strategy=fixed_delay(lambda state: state < threshold), initial_state=initial
    )
    return context.wait_for_condition(increment, config, name=name)


@suite.requirement("6-1")
@durable_execution
def condition_basic(event: int, context: DurableContext) -> int:
    return count_up(context, 0, event)


@suite.requirement("6-2")
@durable_execution
def condition_met_at_once(event: int, context: DurableContext) -> int:
    config = WaitForConditionConfig(
        wait_strategy=fixed_delay(lambda state: state < event), initial_state=5
    )
    return context.wait_for_condition(lambda state, _: state, config)


@suite.requirement("6-3")
@durable_execution
def condition_named(event: int, context: DurableContext) -> int:
    return count_up(context, 0, event, name="poll-status")


@suite.requirement("6-4")
@durable_execution
def condition_initial_state(event: int, context: DurableContext) -> int:
    return count_up(context, 5, event)


@suite.requirement("6-5")
@durable_execution
def condition_fixed_delay(event: int, context: DurableContext) -> int:
    config = WaitForConditionConfig(
        wait_strategy=fixed_delay(lambda state: state < event, seconds=2), initial_state=0
    )
    return context.wait_for_condition(increment, config)


@suite.requirement("6-6")
@durable_execution
def condition_never_met(event: int, context: DurableContext) -> int:
    config = WaitForConditionConfig(
        wait_strategy=fixed_delay(lambda state: True, seconds=2, max_attempts=3),
        initial_state=event,
    )
    return context.wait_for_condition(increment, config)


def failing_check(state: Any, check_context: WaitForConditionCheckContext) -> Any:
    raise RuntimeError("the status endpoint is down")


def stop_at_once(state: Any, attempt: int) -> WaitForConditionDecision:
    return WaitForConditionDecision.stop_polling()


@suite.requirement("6-7")
@durable_execution
def condition_check_raises(event: Any, context: DurableContext) -> Any:
    config = WaitForConditionConfig(wait_strategy=stop_at_once, initial_state=None)
    return context.wait_for_condition(failing_check, config)


@suite.requirement("6-8")
@durable_execution
def condition_check_raises_caught(event: Any, context: DurableContext) -> Any:
    config = WaitForConditionConfig(wait_strategy=stop_at_once, initial_state=None)
    try:
        return context.wait_for_condition(failing_check, config)
    except WaitForConditionError:
        return "recovered"


@suite.requirement("6-9")
@durable_execution
def condition_object_state(event: Any, context: DurableContext) -> dict[str, Any]:
    def check(state: dict[str, Any], _: WaitForConditionCheckContext) -> dict[str, Any]:
        attempts = state["attempts"] + 1
        return {"status": "DONE" if attempts >= 2 else "PENDING", "attempts": attempts}

    config = WaitForConditionConfig(
        wait_strategy=fixed_delay(lambda state: state["status"] == "PENDING"),
        initial_state={"status": "PENDING", "attempts": 0},
    )
    return context.wait_for_condition(check, config)


@suite.requirement("6-10")
@durable_execution
def condition_null_state(event: Any, context: DurableContext) -> Any:
    config = WaitForConditionConfig(wait_strategy=stop_at_once, initial_state=None)
    return context.wait_for_condition(lambda state, _: None, config)


class TaggedSerDes(SerDes[str]):
    """Records a string state as ``tagged:<state>``."""

    def serialize(self, value: str, serdes_context: SerDesContext) -> str:
        return f"tagged:{value}"

    def deserialize(self, data: str, serdes_context: SerDesContext) -> str:
        assert data.startswith("tagged:"), data
        return data.removeprefix("tagged:")


@suite.requirement("6-11")
@durable_execution
def condition_custom_serdes(event: Any, context: DurableContext) -> str:
    config = WaitForConditionConfig(
        wait_strategy=fixed_delay(lambda state: len(state) < 2),
        initial_state="",
        serdes=TaggedSerDes(),
    )
    return context.wait_for_condition(lambda state, _: state + "x", config)


@suite.requirement("6-12")
@durable_execution
def condition_then_step(event: int, context: DurableContext) -> int:
    final = count_up(context, 0, event)
    return context.step(lambda _: final * 10)


@suite.requirement("6-13")
@durable_execution
def two_conditions(event: Any, context: DurableContext) -> int:
    first = count_up(context, 0, 2)
    return count_up(context, first, 4)


@pytest.mark.parametrize("requirement_id", suite.ids())
def test_wait_for_condition_requirement(
    requirement_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    suite.check(requirement_id, caplog)
