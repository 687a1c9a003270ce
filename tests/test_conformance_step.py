"""Conformance suite "step" (tests/conformance/step): one handler per requirement."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from conformance_harness import Suite

from durable_lambda import DurableContext, StepContext, StepError, durable_execution, durable_step
from durable_lambda.config import Duration, JitterStrategy, StepConfig, StepSemantics
from durable_lambda.retries import (
    RetryDecision,
    RetryPresets,
    RetryStrategyConfig,
    create_retry_strategy,
)
from durable_lambda.serdes import SerDes, SerDesContext

suite = Suite("step")

NO_RETRY = StepConfig(retry_strategy=RetryPresets.none())


def fixed_retry(max_attempts: int, seconds: int = 1) -> StepConfig:
    return StepConfig(
        retry_strategy=create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=max_attempts,
                initial_delay=Duration.from_seconds(seconds),
                backoff_rate=1,
                jitter_strategy=JitterStrategy.NONE,
            )
        )
    )


class TransientError(Exception):
    """An error worth retrying."""


class UppercaseSerDes(SerDes[str]):
    """Writes strings upper-cased; reads them as written."""

    def serialize(self, value: str, serdes_context: SerDesContext) -> str:
        return json.dumps(value.upper())

    def deserialize(self, data: str, serdes_context: SerDesContext) -> str:
        return json.loads(data)  # type: ignore[no-any-return]


@durable_step
def greet(step_context: StepContext, name: str) -> str:
    return f"Hello, {name}!"


@durable_step
def fail(step_context: StepContext, message: str = "step failed") -> None:
    raise RuntimeError(message)


@suite.requirement("1-1")
@durable_execution
def step_basic(event: str, context: DurableContext) -> str:
    return context.step(greet(event))


@suite.requirement("1-2")
@durable_execution
def step_with_name(event: str, context: DurableContext) -> str:
    return context.step(lambda _: f"Hello, {event}!", name="custom_step_name")


@suite.requirement("1-3")
@durable_execution
def sequential_steps(event: Any, context: DurableContext) -> str:
    first = context.step(lambda _: "first")
    return context.step(lambda _: f"{first}_second")


@suite.requirement("1-4")
@durable_execution
def complex_result(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    def build_response(_: StepContext) -> dict[str, Any]:
        return {"user": {"name": event["name"], "tags": event["tags"]}, "count": len(event["tags"])}

    return context.step(build_response)


@suite.requirement("1-5")
@durable_execution
def null_result(event: Any, context: DurableContext) -> None:
    return context.step(lambda _: None)


@suite.requirement("1-6")
@durable_execution
def custom_serdes(event: str, context: DurableContext) -> str:
    return context.step(lambda _: event, config=StepConfig(serdes=UppercaseSerDes()))


@suite.requirement("1-7")
@durable_execution
def step_logger(event: str, context: DurableContext) -> str:
    def greet_and_log(step_context: StepContext) -> str:
        step_context.logger.info(f"Greeting step started for: {event}")
        greeting = f"Hello, {event}!"
        step_context.logger.info(f"Greeting step completed with: {greeting}")
        return greeting

    return context.step(greet_and_log)


@suite.requirement("1-8")
@durable_execution
def step_then_wait(event: Any, context: DurableContext) -> str:
    result = context.step(lambda _: "computed")
    context.wait(Duration.from_seconds(2))
    return result


@suite.requirement("1-9")
@durable_execution
def replay_skips_succeeded_step(event: Any, context: DurableContext) -> str:
    def compute(step_context: StepContext) -> str:
        step_context.logger.info("step executed")
        return "cached_value"

    result = context.step(compute)
    context.wait(Duration.from_seconds(1))
    return result


@suite.requirement("1-10")
@durable_execution
def replay_rethrows_failed_step(event: Any, context: DurableContext) -> str:
    try:
        context.step(fail("step executed and failed"), config=NO_RETRY)
    except StepError as error:
        caught = str(error)
    context.wait(Duration.from_seconds(1))
    return caught


@suite.requirement("1-11")
@durable_execution
def retry_then_succeed(event: Any, context: DurableContext) -> str:
    def unreliable(step_context: StepContext) -> str:
        if step_context.attempt == 1:
            raise RuntimeError("first attempt fails")
        return "Operation succeeded"

    return context.step(unreliable, config=fixed_retry(max_attempts=3))


@suite.requirement("1-12")
@durable_execution
def retry_exhaustion(event: Any, context: DurableContext) -> None:
    context.step(fail("always fails"), config=fixed_retry(max_attempts=4))


@suite.requirement("1-13")
@durable_execution
def default_retry(event: Any, context: DurableContext) -> str:
    def unreliable(step_context: StepContext) -> str:
        if step_context.attempt < 3:
            raise RuntimeError(f"attempt {step_context.attempt} fails")
        return "third time lucky"

    return context.step(unreliable)


@suite.requirement("1-14")
@durable_execution
def custom_backoff(event: Any, context: DurableContext) -> str:
    def unreliable(step_context: StepContext) -> str:
        if step_context.attempt < 3:
            raise RuntimeError(f"attempt {step_context.attempt} fails")
        return "done"

    strategy = create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=5,
            initial_delay=Duration.from_seconds(2),
            backoff_rate=3,
            jitter_strategy=JitterStrategy.NONE,
        )
    )
    return context.step(unreliable, config=StepConfig(retry_strategy=strategy))


@suite.requirement("1-15")
@durable_execution
def retry_specific_exception(event: Any, context: DurableContext) -> str:
    def flaky(step_context: StepContext) -> str:
        if step_context.attempt == 1:
            raise TransientError("temporarily unavailable")
        return "recovered"

    retry_on_transient = create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=3,
            initial_delay=Duration.from_seconds(1),
            jitter_strategy=JitterStrategy.NONE,
            retryable_error_types=[TransientError],
        )
    )
    return context.step(flaky, config=StepConfig(retry_strategy=retry_on_transient))


@suite.requirement("1-16")
@durable_execution
def non_retryable_exception(event: Any, context: DurableContext) -> None:
    def flaky(_: StepContext) -> None:
        raise TransientError("not retried")

    def no_retry_on_transient_error(error: Exception, attempts_made: int) -> RetryDecision:
        if isinstance(error, TransientError):
            return RetryDecision.no_retry()
        return RetryDecision.retry(Duration.from_seconds(1))

    context.step(flaky, config=StepConfig(retry_strategy=no_retry_on_transient_error))


@suite.requirement("1-17", isolation="process")
@durable_execution
def at_most_once_interrupted(event: str, context: DurableContext) -> str:
    def crash(step_context: StepContext) -> str:
        step_context.logger.info(f"running with {event}")
        os._exit(1)

    return context.step(
        crash,
        name="at_most_once_flaky_step",
        config=StepConfig(
            retry_strategy=RetryPresets.none(),
            step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
        ),
    )


@suite.requirement("1-18", isolation="process")
@durable_execution
def at_most_once_retried(event: str, context: DurableContext) -> str:
    def crash_first(step_context: StepContext) -> str:
        step_context.logger.info(f"running with {event}")
        if step_context.attempt == 1:
            os._exit(1)
        return "succeeded on second attempt"

    return context.step(
        crash_first,
        config=StepConfig(
            retry_strategy=fixed_retry(max_attempts=3).retry_strategy,
            step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
        ),
    )


@suite.requirement("1-19")
@durable_execution
def fails_permanently(event: Any, context: DurableContext) -> None:
    context.step(fail(), config=NO_RETRY)


@suite.requirement("1-20")
@durable_execution
def error_caught(event: Any, context: DurableContext) -> str:
    try:
        context.step(fail(), config=NO_RETRY)
        fallback = "unreachable"
    except StepError:
        fallback = "fallback_result"
    return context.step(lambda _: fallback)


@pytest.mark.parametrize("requirement_id", suite.ids())
def test_step_requirement(requirement_id: str, caplog: pytest.LogCaptureFixture) -> None:
    suite.check(requirement_id, caplog)
