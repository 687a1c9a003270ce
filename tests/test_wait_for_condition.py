"""wait_for_condition: polls that succeed, strategies that run out, checks that crash."""

from __future__ import annotations

import itertools
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest

from durable_lambda import DurableContext, WaitForConditionError, durable_execution
from durable_lambda.config import Duration, JitterStrategy
from durable_lambda.testing import DurableFunctionTestRunner
from durable_lambda.types import WaitForConditionCheckContext
from durable_lambda.waits import WaitForConditionConfig, WaitStrategyConfig, create_wait_strategy

CHECKS: list[tuple[int, int]] = []


def backoff(should_continue: Any, max_attempts: int = 60) -> Any:
    return create_wait_strategy(
        WaitStrategyConfig(
            should_continue_polling=should_continue,
            max_attempts=max_attempts,
            initial_delay=Duration.from_seconds(5),
            max_delay=Duration.from_seconds(15),
            backoff_rate=2,
            jitter_strategy=JitterStrategy.NONE,
        )
    )


def recorded_increment(state: int, check_context: WaitForConditionCheckContext) -> int:
    CHECKS.append((state, check_context.attempt))
    return state + 1


@durable_execution
def poll_until_four(event: Any, context: DurableContext) -> int:
    config = WaitForConditionConfig(wait_strategy=backoff(lambda state: state < 4), initial_state=0)
    return context.wait_for_condition(recorded_increment, config, name="poll")


def test_polls_until_the_condition_holds_with_the_strategys_delays() -> None:
    CHECKS.clear()
    with DurableFunctionTestRunner(poll_until_four) as runner:
        execution_id = runner.run_async()
        result = runner.wait_for_result(execution_id)
        events = runner.engine.get_history(execution_id)
    assert json.loads(result.result or "") == 4
    assert CHECKS == [(0, 1), (1, 2), (2, 3), (3, 4)]
    polls = [e for e in events if e["EventType"] == "StepSucceeded"]
    assert [p["StepSucceededDetails"]["RetryDetails"] for p in polls] == [
        {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 5},
        {"CurrentAttempt": 2, "NextAttemptDelaySeconds": 10},
        {"CurrentAttempt": 3, "NextAttemptDelaySeconds": 15},
        {"CurrentAttempt": 4},
    ]
    starts = [e["EventTimestamp"] for e in events if e["EventType"] == "StepStarted"]
    gaps = [round((b - a).total_seconds()) for a, b in itertools.pairwise(starts)]
    assert gaps == [5, 10, 15]
    assert [e["EventType"] for e in events].count("InvocationCompleted") == 4


@durable_execution
def never_satisfied(event: Any, context: DurableContext) -> Any:
    config = WaitForConditionConfig(
        wait_strategy=backoff(lambda state: True, max_attempts=3), initial_state=0
    )
    try:
        return context.wait_for_condition(recorded_increment, config)
    except WaitForConditionError as error:
        return {"message": error.message, "type": error.error_type}


def test_a_strategy_that_runs_out_of_attempts_fails_with_wait_for_condition_error() -> None:
    CHECKS.clear()
    with DurableFunctionTestRunner(never_satisfied) as runner:
        result = runner.run()
    assert CHECKS == [(0, 1), (1, 2), (2, 3)]
    assert json.loads(result.result or "") == {
        "message": "wait_for_condition exhausted 3 attempts before the condition was met",
        "type": "durable_lambda.exceptions.WaitForConditionError",
    }
    step = result.operations[0]
    assert step.sub_type == "WaitForCondition"
    assert step.status.value == "FAILED"


@durable_execution
def failing_check(event: Any, context: DurableContext) -> Any:
    def check(state: int, _: WaitForConditionCheckContext) -> int:
        raise KeyError("status")

    config = WaitForConditionConfig(wait_strategy=backoff(lambda s: True), initial_state=0)
    try:
        return context.wait_for_condition(check, config)
    except WaitForConditionError as error:
        return {"message": error.message, "type": error.error_type}


def test_a_failing_check_is_not_retried_and_keeps_its_error_type() -> None:
    with DurableFunctionTestRunner(failing_check) as runner:
        result = runner.run()
    assert json.loads(result.result or "") == {"message": "'status'", "type": "KeyError"}


def test_a_failing_check_logs_its_traceback_at_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with DurableFunctionTestRunner(failing_check) as runner:
        runner.run()
    records = [r for r in caplog.records if r.name == "durable_lambda.operation.wait_for_condition"]
    assert [(r.levelname, r.getMessage()) for r in records] == [
        ("ERROR", "wait_for_condition 1 failed")
    ]
    assert records[0].exc_info is not None
    assert records[0].exc_info[0] is KeyError


def crash_once_at_state_one(state: int, check_context: WaitForConditionCheckContext) -> int:
    journal = Path(os.environ["CONDITION_JOURNAL"])
    with journal.open("a") as file:
        file.write(f"{state} {check_context.attempt}\n")
    marker = journal.with_suffix(".crashed")
    if state == 1 and not marker.exists():
        marker.touch()
        # Long enough for the poll's START to be written in the background,
        # so the crash leaves the operation STARTED, mid-check.
        time.sleep(0.3)
        os._exit(1)
    return state + 1


@durable_execution
def crashing_poll(event: Any, context: DurableContext) -> int:
    config = WaitForConditionConfig(wait_strategy=backoff(lambda state: state < 3), initial_state=0)
    return context.wait_for_condition(crash_once_at_state_one, config)


def test_a_poll_interrupted_mid_check_resumes_from_the_last_polled_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = tmp_path / "journal.txt"
    monkeypatch.setenv("CONDITION_JOURNAL", str(journal))
    with DurableFunctionTestRunner(crashing_poll, invocation_isolation="process") as runner:
        result = runner.run()
    assert json.loads(result.result or "") == 3
    assert journal.read_text().split("\n")[:-1] == ["0 1", "1 2", "1 2", "2 3"]


def test_a_missing_config_is_refused() -> None:
    @durable_execution
    def no_config(event: Any, context: DurableContext) -> Any:
        return context.wait_for_condition(lambda s, _: s, None)  # type: ignore[arg-type]

    with DurableFunctionTestRunner(no_config) as runner:
        result = runner.run()
    assert result.error is not None
    assert result.error.message == "`config` is required for wait_for_condition"
    assert result.error.type == "durable_lambda.exceptions.ValidationError"
    assert result.operations == []
