"""Conformance suite "child" (tests/conformance/child): one handler per requirement."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from conformance_harness import Suite

from durable_lambda import (
    ChildContextError,
    DurableContext,
    StepContext,
    durable_execution,
    durable_with_child_context,
)
from durable_lambda.config import ChildConfig, Duration, JitterStrategy, StepConfig
from durable_lambda.retries import RetryPresets, RetryStrategyConfig, create_retry_strategy
from durable_lambda.serdes import SerDes, SerDesContext

suite = Suite("child")

NO_RETRY = StepConfig(retry_strategy=RetryPresets.none())
replay_visible_logger = logging.getLogger("conformance.child")


class UppercaseSerDes(SerDes[str]):
    """Records strings upper-cased, verbatim."""

    def serialize(self, value: str, serdes_context: SerDesContext) -> str:
        return value.upper()

    def deserialize(self, data: str, serdes_context: SerDesContext) -> str:
        return data


def retry_once_config(max_attempts: int) -> StepConfig:
    return StepConfig(
        retry_strategy=create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=max_attempts,
                initial_delay=Duration.from_seconds(1),
                jitter_strategy=JitterStrategy.NONE,
            )
        )
    )


@durable_with_child_context
def echo_in_child(child: DurableContext, value: str) -> str:
    return child.step(lambda _: value)


@suite.requirement("3-1")
@durable_execution
def child_basic(event: str, context: DurableContext) -> str:
    return context.run_in_child_context(lambda child: child.step(lambda _: event))


@suite.requirement("3-2")
@durable_execution
def child_with_name(event: dict[str, str], context: DurableContext) -> str:
    return context.run_in_child_context(
        lambda child: child.step(lambda _: event["value"]), name=event["name"]
    )


@suite.requirement("3-3")
@durable_execution
def child_sequential_steps(event: str, context: DurableContext) -> str:
    @durable_with_child_context
    def two_steps(child: DurableContext) -> str:
        first = child.step(lambda _: event)
        return child.step(lambda _: first)

    return context.run_in_child_context(two_steps())


@suite.requirement("3-4")
@durable_execution
def child_error(event: Any, context: DurableContext) -> None:
    @durable_with_child_context
    def failing(child: DurableContext) -> None:
        child.step(lambda _: _raise("step inside the child failed"), config=NO_RETRY)

    context.run_in_child_context(failing())


@suite.requirement("3-5")
@durable_execution
def child_error_caught(event: str, context: DurableContext) -> str:
    with contextlib.suppress(ChildContextError):
        context.run_in_child_context(
            lambda child: child.step(lambda _: _raise("child step failed"), config=NO_RETRY)
        )
    return context.step(lambda _: event)


@suite.requirement("3-6")
@durable_execution
def nested_children(event: str, context: DurableContext) -> str:
    @durable_with_child_context
    def outer(child: DurableContext) -> str:
        child.step(lambda _: event)
        return child.run_in_child_context(echo_in_child(event))

    return context.run_in_child_context(outer())


@suite.requirement("3-7")
@durable_execution
def child_step_retry(event: str, context: DurableContext) -> str:
    @durable_with_child_context
    def retried(child: DurableContext) -> str:
        def flaky(step_context: StepContext) -> str:
            if step_context.attempt == 1:
                raise RuntimeError("first attempt fails")
            return event

        return child.step(flaky, config=retry_once_config(max_attempts=3))

    return context.run_in_child_context(retried())


@suite.requirement("3-8")
@durable_execution
def child_step_retry_exhausted(event: Any, context: DurableContext) -> None:
    @durable_with_child_context
    def exhausted(child: DurableContext) -> None:
        child.step(lambda _: _raise("always fails"), config=retry_once_config(max_attempts=2))

    context.run_in_child_context(exhausted())


@suite.requirement("3-9")
@durable_execution
def child_replay_cached(event: str, context: DurableContext) -> str:
    result = context.run_in_child_context(lambda child: child.step(lambda _: event))
    context.wait(Duration.from_seconds(1))
    return result


@suite.requirement("3-10")
@durable_execution
def child_step_and_wait(event: str, context: DurableContext) -> str:
    @durable_with_child_context
    def step_then_wait(child: DurableContext) -> str:
        value = child.step(lambda _: event)
        child.wait(Duration.from_seconds(1))
        return value

    return context.run_in_child_context(step_then_wait())


@suite.requirement("3-11")
@durable_execution
def child_large_payload(event: str, context: DurableContext) -> int:
    @durable_with_child_context
    def large(child: DurableContext) -> str:
        replay_visible_logger.info(f"building large result for {event}")
        small = child.step(lambda _: event)
        return small * (300 * 1024 // len(small) + 1)

    result = context.run_in_child_context(large())
    context.wait(Duration.from_seconds(1))
    return len(result)


def _crash_marker(context: DurableContext) -> Path:
    digest = hashlib.sha256(context.execution_context.durable_execution_arn.encode()).hexdigest()
    return Path(tempfile.gettempdir()) / f"durable-lambda-crash-{digest[:16]}"


@suite.requirement("3-12", isolation="process")
@durable_execution
def child_interrupted(event: str, context: DurableContext) -> str:
    marker = _crash_marker(context)

    @durable_with_child_context
    def crashing_once(child: DurableContext) -> str:
        def crash_first_time(_: StepContext) -> str:
            if not marker.exists():
                marker.touch()
                time.sleep(0.5)  # lets the step's START record reach the store
                os._exit(1)
            return event

        return child.step(crash_first_time)

    try:
        return context.run_in_child_context(crashing_once())
    finally:
        marker.unlink(missing_ok=True)


@suite.requirement("3-13")
@durable_execution
def child_only_wait(event: str, context: DurableContext) -> str:
    @durable_with_child_context
    def waiting(child: DurableContext) -> str:
        child.wait(Duration.from_seconds(1))
        return event

    context.run_in_child_context(waiting())
    return context.step(lambda _: event)


@suite.requirement("3-14")
@durable_execution
def child_custom_serdes(event: str, context: DurableContext) -> str:
    @durable_with_child_context
    def shouting(child: DurableContext) -> str:
        return child.step(lambda _: event)

    return context.run_in_child_context(shouting(), config=ChildConfig(serdes=UppercaseSerDes()))


@suite.requirement("3-15")
@durable_execution
def child_error_without_step(event: Any, context: DurableContext) -> None:
    @durable_with_child_context
    def failing_directly(child: DurableContext) -> None:
        _raise("the child body failed")

    context.run_in_child_context(failing_directly())


@suite.requirement("3-16")
@durable_execution
def child_returning_null(event: Any, context: DurableContext) -> None:
    @durable_with_child_context
    def nothing(child: DurableContext) -> None:
        return None

    return context.run_in_child_context(nothing())


@suite.requirement("3-17")
@durable_execution
def child_logger_only(event: str, context: DurableContext) -> str:
    @durable_with_child_context
    def logging_only(child: DurableContext) -> str:
        child.logger.info(f"child says {event}")
        return event

    result = context.run_in_child_context(logging_only())
    context.wait(Duration.from_seconds(1))
    return result


@suite.requirement("3-18")
@durable_execution
def child_then_more(event: str, context: DurableContext) -> str:
    @durable_with_child_context
    def step_then_wait(child: DurableContext) -> str:
        value = child.step(lambda _: event)
        child.wait(Duration.from_seconds(1))
        return value

    context.run_in_child_context(step_then_wait())
    result = context.step(lambda _: event)
    context.wait(Duration.from_seconds(1))
    return result


def _raise(message: str) -> None:
    raise RuntimeError(message)


@pytest.mark.parametrize("requirement_id", suite.ids())
def test_child_requirement(requirement_id: str, caplog: pytest.LogCaptureFixture) -> None:
    suite.check(requirement_id, caplog)
