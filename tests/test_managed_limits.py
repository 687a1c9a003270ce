"""``managed_limits=True``: executions held to the managed service's limits fail as there.

The service refuses such a checkpoint with ``InvalidParameterValueException``
("STEP output payload size must be less than or equal to 262144 bytes.");
the AWS SDK raises ``CheckpointError`` without retrying, and the execution
fails with it even when the handler catches it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from durable_lambda import DurableContext, durable_execution
from durable_lambda.config import Duration
from durable_lambda.store import ExecutionStatus
from durable_lambda.testing import DurableFunctionTestResult, DurableFunctionTestRunner
from durable_lambda.waits import WaitForConditionConfig, WaitForConditionDecision

LIMIT = 262144
REFUSED = (
    "An error occurred (InvalidParameterValueException) when calling the "
    "CheckpointDurableExecution operation: "
)
runs: list[str] = []


def run(handler: Any, event: Any, *, managed_limits: bool = True) -> DurableFunctionTestResult:
    runs.clear()
    with DurableFunctionTestRunner(handler, managed_limits=managed_limits) as runner:
        return runner.run(json.dumps(event))


def assert_refused(result: DurableFunctionTestResult, message: str) -> None:
    assert result.execution_status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.type == "durable_lambda.exceptions.CheckpointError"
    assert result.error.message == REFUSED + message


@durable_execution
def returns_text(event: dict[str, Any], context: DurableContext) -> int:
    def body(_: Any) -> str:
        runs.append("ran")
        return "x" * event["size"]

    return len(context.step(body, name="big"))


def test_a_step_result_over_256_kib_fails_the_execution_without_retry() -> None:
    # The result is JSON text: the string and its two quotes.
    result = run(returns_text, {"size": LIMIT - 1})
    assert_refused(result, "STEP output payload size must be less than or equal to 262144 bytes.")
    assert runs == ["ran"]


def test_a_step_result_of_256_kib_is_recorded() -> None:
    result = run(returns_text, {"size": LIMIT - 2})
    assert result.execution_status is ExecutionStatus.SUCCEEDED
    assert result.result == str(LIMIT - 2)


def test_without_the_switch_the_limits_are_ours() -> None:
    result = run(returns_text, {"size": 2 * LIMIT}, managed_limits=False)
    assert result.execution_status is ExecutionStatus.SUCCEEDED


@durable_execution
def swallows_the_refusal(event: dict[str, Any], context: DurableContext) -> str:
    try:
        context.step(lambda _: "x" * LIMIT, name="big")
    except Exception:  # the point: catching does not save the execution
        return "caught"
    return "recorded"


def test_catching_the_refusal_does_not_save_the_execution() -> None:
    assert_refused(
        run(swallows_the_refusal, {}),
        "STEP output payload size must be less than or equal to 262144 bytes.",
    )


@durable_execution
def fails_loudly(event: dict[str, Any], context: DurableContext) -> None:
    def body(_: Any) -> None:
        raise ValueError("x" * LIMIT)

    context.step(body, name="loud")


def test_an_error_object_over_256_kib_fails_the_execution() -> None:
    assert_refused(
        run(fails_loudly, {}), "Error object size must be less than or equal to 262144 bytes."
    )


@durable_execution
def polls_a_big_state(event: dict[str, Any], context: DurableContext) -> int:
    config = WaitForConditionConfig(
        lambda state, attempt: WaitForConditionDecision.continue_waiting(Duration.from_seconds(5)),
        initial_state="",
    )
    return len(context.wait_for_condition(lambda state, _: "x" * LIMIT, config, name="poll"))


def test_a_wait_for_condition_state_over_256_kib_fails_the_execution() -> None:
    assert_refused(
        run(polls_a_big_state, {}),
        "STEP output payload size must be less than or equal to 262144 bytes.",
    )


@durable_execution
def many_steps(event: dict[str, Any], context: DurableContext) -> int:
    for index in range(event["steps"]):
        context.step(lambda _: None, name=f"s{index}")
    return event["steps"]


@pytest.mark.parametrize(
    ("steps", "status"),
    # The execution's own operation counts: 2,999 steps make 3,000 operations.
    [(2999, ExecutionStatus.SUCCEEDED), (3000, ExecutionStatus.FAILED)],
)
def test_an_execution_records_at_most_3000_operations(steps: int, status: ExecutionStatus) -> None:
    result = run(many_steps, {"steps": steps})
    assert result.execution_status is status
    if status is ExecutionStatus.FAILED:
        assert_refused(
            result,
            "The number of operations in a durable execution must be less than or equal to 3000.",
        )
        # The refused checkpoint records none of its operations; earlier ones stay.
        assert 0 < len(result.operations) <= 2999


@durable_execution
def big_result_in_a_worker(event: dict[str, Any], context: DurableContext) -> int:
    return len(context.step(lambda _: "x" * LIMIT, name="big"))


def test_the_switch_holds_in_worker_processes() -> None:
    with DurableFunctionTestRunner(
        big_result_in_a_worker, invocation_isolation="process", managed_limits=True
    ) as runner:
        result = runner.run("{}")
    assert_refused(result, "STEP output payload size must be less than or equal to 262144 bytes.")
