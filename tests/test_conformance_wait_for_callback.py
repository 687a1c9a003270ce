"""Conformance suite "wait_for_callback" (tests/conformance/wait_for_callback)."""

from __future__ import annotations

from typing import Any

import pytest
from conformance_harness import Suite

from durable_lambda import CallbackError, DurableContext, durable_execution
from durable_lambda.config import Duration, JitterStrategy, WaitForCallbackConfig
from durable_lambda.retries import RetryStrategyConfig, create_retry_strategy
from durable_lambda.serdes import JsonSerDes
from durable_lambda.types import WaitForCallbackContext

suite = Suite("wait_for_callback")


def submit_nothing(callback_id: str, context: WaitForCallbackContext) -> None:
    context.logger.info("submitted callback %s", callback_id)


@suite.requirement("7-1")
@durable_execution
def wait_for_callback_basic(event: str, context: DurableContext) -> Any:
    return context.wait_for_callback(submit_nothing, name=event)


@suite.requirement("7-2")
@durable_execution
def wait_for_callback_named(event: Any, context: DurableContext) -> Any:
    return context.wait_for_callback(submit_nothing, name="approval")


@suite.requirement("7-3")
@durable_execution
def wait_for_callback_anonymous(event: Any, context: DurableContext) -> Any:
    return context.wait_for_callback(lambda callback_id, submit_context: None)


@suite.requirement("7-4")
@durable_execution
def wait_for_callback_failure(event: str, context: DurableContext) -> Any:
    return context.wait_for_callback(submit_nothing, name=event)


@suite.requirement("7-5")
@durable_execution
def wait_for_callback_timeout(event: str, context: DurableContext) -> Any:
    config = WaitForCallbackConfig(timeout=Duration.from_seconds(3))
    return context.wait_for_callback(submit_nothing, name=event, config=config)


@suite.requirement("7-6")
@durable_execution
def wait_for_callback_failure_caught(event: str, context: DurableContext) -> Any:
    try:
        return context.wait_for_callback(submit_nothing, name=event)
    except CallbackError:
        return "recovered"


@suite.requirement("7-7")
@durable_execution
def wait_for_callback_submitter_exhausted(event: str, context: DurableContext) -> Any:
    def failing_submitter(callback_id: str, submit_context: WaitForCallbackContext) -> None:
        raise RuntimeError("the external system is unreachable")

    retry = create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=2,
            initial_delay=Duration.from_seconds(1),
            jitter_strategy=JitterStrategy.NONE,
        )
    )
    config = WaitForCallbackConfig(retry_strategy=retry)
    return context.wait_for_callback(failing_submitter, name=event, config=config)


@suite.requirement("7-8")
@durable_execution
def wait_for_callback_in_child(event: str, context: DurableContext) -> Any:
    return context.run_in_child_context(
        lambda child: child.wait_for_callback(submit_nothing, name=event), name="wrapper"
    )


@suite.requirement("7-9")
@durable_execution
def two_wait_for_callbacks(event: Any, context: DurableContext) -> Any:
    context.wait_for_callback(submit_nothing, name="first")
    return context.wait_for_callback(submit_nothing, name="second")


@suite.requirement("7-10")
@durable_execution
def wait_for_callback_after_wait_and_step(event: str, context: DurableContext) -> Any:
    context.wait(Duration.from_seconds(1))
    context.step(lambda _: {"prepared": True})
    return context.wait_for_callback(submit_nothing, name=event)


@suite.requirement("7-11")
@durable_execution
def wait_for_callback_json_result(event: str, context: DurableContext) -> Any:
    config = WaitForCallbackConfig(serdes=JsonSerDes())
    return context.wait_for_callback(submit_nothing, name=event, config=config)["status"]


@suite.requirement("7-12")
@durable_execution
def wait_for_callback_heartbeat_timeout(event: str, context: DurableContext) -> Any:
    config = WaitForCallbackConfig(heartbeat_timeout=Duration.from_seconds(5))
    return context.wait_for_callback(submit_nothing, name=event, config=config)


@suite.requirement("7-13")
@durable_execution
def wait_for_callback_heartbeat_then_success(event: str, context: DurableContext) -> Any:
    config = WaitForCallbackConfig(heartbeat_timeout=Duration.from_seconds(10))
    return context.wait_for_callback(submit_nothing, name=event, config=config)


@suite.requirement("7-14")
@durable_execution
def wait_for_callback_timeout_caught(event: str, context: DurableContext) -> Any:
    config = WaitForCallbackConfig(timeout=Duration.from_seconds(3))
    try:
        return context.wait_for_callback(submit_nothing, name=event, config=config)
    except CallbackError:
        return "timed-out-handled"


@suite.requirement("7-15")
@durable_execution
def wait_for_callback_empty_result(event: str, context: DurableContext) -> Any:
    return context.wait_for_callback(submit_nothing, name=event)


@pytest.mark.parametrize("requirement_id", suite.ids())
def test_wait_for_callback_requirement(
    requirement_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    suite.check(requirement_id, caplog)
