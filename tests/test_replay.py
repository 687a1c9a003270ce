"""Replay: recorded outcomes come back, changed code is refused, logs stay quiet."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import pytest

from durable_lambda import (
    ChildContextError,
    DurableContext,
    StepContext,
    StepError,
    WithRetryConfig,
    durable_execution,
    with_retry,
)
from durable_lambda.config import Duration, JitterStrategy, StepConfig
from durable_lambda.exceptions import ExecutionError, NonDeterministicExecutionError
from durable_lambda.retries import RetryPresets, RetryStrategyConfig, create_retry_strategy
from durable_lambda.store import ExecutionStatus
from durable_lambda.testing import DurableFunctionTestRunner

calls: list[str] = []
code_version = {"second_step": "charge"}


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls.clear()
    code_version["second_step"] = "charge"


def _wait_until_suspended(runner: DurableFunctionTestRunner, execution_id: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        events = runner.engine.get_history(execution_id)
        if any(e["EventType"] == "InvocationCompleted" for e in events):
            return
        time.sleep(0.01)
    raise AssertionError("the first invocation did not complete")


@durable_execution
def evolving(event: Any, context: DurableContext) -> str:
    context.step(lambda _: "reserved", name="reserve")
    context.wait(Duration.from_seconds(10), name="cool-off")
    return context.step(lambda _: "done", name=code_version["second_step"])


def test_changed_operation_fails_the_execution_naming_both_versions() -> None:
    @durable_execution
    def reordered(event: Any, context: DurableContext) -> str:
        if code_version["second_step"] == "charge":
            context.step(lambda _: "reserved", name="reserve")
        else:
            context.wait(Duration.from_seconds(1), name="reserve-later")
        context.wait(Duration.from_seconds(10), name="cool-off")
        return "done"

    with DurableFunctionTestRunner(reordered) as runner:
        execution_id = runner.run_async("{}")
        _wait_until_suspended(runner, execution_id)
        before = runner.engine.get_history(execution_id)
        code_version["second_step"] = "ship"
        result = runner.wait_for_result(execution_id)
        after = runner.engine.get_history(execution_id)

    assert result.execution_status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.type == "durable_lambda.exceptions.NonDeterministicExecutionError"
    message = result.error.message or ""
    assert "operation 1 was recorded as STEP/Step named 'reserve'" in message
    assert "the code now runs WAIT/Wait named 'reserve-later'" in message
    # Nothing was recorded for the refused operation: the record still says "reserve".
    assert result.get_step("reserve").status.value == "SUCCEEDED"
    new_events = [e["EventType"] for e in after[len(before) :]]
    assert new_events == ["WaitSucceeded", "InvocationCompleted", "ExecutionFailed"]


def test_new_code_after_the_last_recorded_operation_runs_as_new() -> None:
    with DurableFunctionTestRunner(evolving) as runner:
        execution_id = runner.run_async("{}")
        _wait_until_suspended(runner, execution_id)
        code_version["second_step"] = "renamed"
        result = runner.wait_for_result(execution_id)
    assert result.execution_status is ExecutionStatus.SUCCEEDED
    # The step after the wait was never recorded, so a new name is just new code.
    assert result.get_step("renamed").result == '"done"'


def test_renaming_a_recorded_step_is_refused() -> None:
    @durable_execution
    def renames_first(event: Any, context: DurableContext) -> str:
        context.step(lambda _: "reserved", name=code_version["second_step"])
        context.wait(Duration.from_seconds(10))
        return "done"

    with DurableFunctionTestRunner(renames_first) as runner:
        execution_id = runner.run_async("{}")
        _wait_until_suspended(runner, execution_id)
        code_version["second_step"] = "reserve-v2"
        result = runner.wait_for_result(execution_id)
    assert result.execution_status is ExecutionStatus.FAILED
    assert result.error is not None
    assert "recorded as STEP/Step named 'charge'" in (result.error.message or "")
    assert "now runs STEP/Step named 'reserve-v2'" in (result.error.message or "")


def test_replay_returns_recorded_results_without_running_bodies() -> None:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> list[Any]:
        def body(step_context: StepContext) -> dict[str, Any]:
            calls.append("body")
            return {"when": "first run", "items": (1, 2)}

        value = context.step(body, name="compute")
        context.wait(Duration.from_seconds(5))
        again = context.step(body, name="compute-again")
        return [value, again == value, isinstance(value["items"], tuple)]

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run()
    assert json.loads(result.result or "null") == [
        {"when": "first run", "items": [1, 2]},
        True,
        True,
    ]
    assert calls == ["body", "body"]


def test_a_failed_step_raises_the_same_error_on_replay() -> None:
    seen: list[tuple[str, str | None]] = []

    @durable_execution
    def handler(event: Any, context: DurableContext) -> list[Any]:
        try:
            context.step(
                lambda _: int("not a number"),
                name="parse",
                config=StepConfig(retry_strategy=RetryPresets.none()),
            )
        except StepError as error:
            seen.append((error.error_type, error.message))
        context.wait(Duration.from_seconds(1))
        return [list(item) for item in seen]

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run()
    first, replayed = json.loads(result.result or "null")
    assert (
        first
        == replayed
        == ["ValueError", "invalid literal for int() with base 10: 'not a number'"]
    )


def test_large_child_result_is_rebuilt_by_replaying_the_child() -> None:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> int:
        def build(child: DurableContext) -> str:
            piece = child.step(lambda _: "x" * 1024, name="piece")
            return piece * 300

        text = context.run_in_child_context(build, name="big")
        context.wait(Duration.from_seconds(1))
        return len(text)

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run()
    assert result.result == str(300 * 1024)
    big = result.get_context("big")
    assert big.result == ""
    assert big.get_step("piece").result == json.dumps("x" * 1024)


def test_child_context_error_keeps_the_inner_error_type() -> None:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> dict[str, Any]:
        def failing(child: DurableContext) -> None:
            raise KeyError("missing-key")

        try:
            context.run_in_child_context(failing, name="lookup")
        except ChildContextError as error:
            return {"type": error.error_type, "message": error.message}
        return {}

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run()
    assert json.loads(result.result or "null") == {"type": "KeyError", "message": "'missing-key'"}


def test_with_retry_reruns_a_block_after_durable_backoff() -> None:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> str:
        def block(ctx: DurableContext, attempt: int) -> str:
            value = ctx.step(lambda _: attempt, name=f"try-{attempt}")
            if value < 3:
                raise RuntimeError(f"attempt {value} not good enough")
            return f"accepted attempt {value}"

        strategy = create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=5,
                initial_delay=Duration.from_seconds(2),
                jitter_strategy=JitterStrategy.NONE,
            )
        )
        return with_retry(context, block, WithRetryConfig(retry_strategy=strategy), name="block")

    with DurableFunctionTestRunner(handler) as runner:
        execution_id = runner.run_async()
        result = runner.wait_for_result(execution_id)
        events = runner.engine.get_history(execution_id)
    assert json.loads(result.result or "null") == "accepted attempt 3"
    waits = [e["Name"] for e in events if e["EventType"] == "WaitStarted"]
    assert waits == ["block-backoff-1", "block-backoff-2"]


def test_wait_shorter_than_a_second_is_refused_before_anything_is_recorded() -> None:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> None:
        context.wait(Duration.from_seconds(0))

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run()
    assert result.execution_status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.type == "durable_lambda.exceptions.ValidationError"
    assert result.error.message == "duration must be at least 1 second, got: 0"
    assert result.operations == []


class RecordingLogger:
    """A stand-in for a structured logger such as AWS Lambda Powertools' Logger."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, object]]] = []

    def _record(self, level: str, msg: object, extra: Mapping[str, object] | None) -> None:
        self.lines.append((level, str(msg), dict(extra or {})))

    def debug(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None:
        self._record("debug", msg, extra)

    def info(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None:
        self._record("info", msg, extra)

    def warning(
        self, msg: object, *args: object, extra: Mapping[str, object] | None = None
    ) -> None:
        self._record("warning", msg, extra)

    def error(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None:
        self._record("error", msg, extra)

    def exception(
        self, msg: object, *args: object, extra: Mapping[str, object] | None = None
    ) -> None:
        self._record("exception", msg, extra)


def test_context_logger_writes_nothing_while_replaying(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    @durable_execution
    def handler(event: Any, context: DurableContext) -> None:
        context.logger.info("before the wait", extra={"order": 7})
        context.step(lambda step_context: step_context.logger.info("in the step"), name="work")
        context.wait(Duration.from_seconds(3), name="pause")
        context.logger.info("after the wait")

    with DurableFunctionTestRunner(handler) as runner:
        execution_id = runner.run_async()
        runner.wait_for_result(execution_id)

    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("before the wait") == 1
    assert messages.count("in the step") == 1
    assert messages.count("after the wait") == 1
    before = next(r for r in caplog.records if r.getMessage() == "before the wait")
    assert (before.order, before.executionArn) == (7, execution_id)  # type: ignore[attr-defined]
    step_record = next(r for r in caplog.records if r.getMessage() == "in the step")
    assert step_record.operationName == "work"  # type: ignore[attr-defined]
    assert step_record.attempt == 1  # type: ignore[attr-defined]


def test_a_failing_step_logs_its_traceback_at_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    twice = StepConfig(retry_strategy=create_retry_strategy(RetryStrategyConfig(max_attempts=2)))

    @durable_execution
    def handler(event: Any, context: DurableContext) -> Any:
        return context.step(lambda _: event["customer"], name="lookup", config=twice)

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run("{}")

    assert result.error is not None
    assert result.error.message == "'customer'"
    logged = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert logged == [
        ("durable_lambda.operation.step", "ERROR", "Step 1 'lookup' failed its attempt 1"),
        ("durable_lambda.operation.step", "ERROR", "Step 1 'lookup' failed its attempt 2"),
        ("durable_lambda.invocation", "ERROR", "Execution failed"),
    ]
    attempt = caplog.records[0]
    assert attempt.exc_info is not None
    traceback = logging.Formatter().formatException(attempt.exc_info)
    assert f'File "{__file__}", line' in traceback
    assert 'event["customer"]' in traceback
    assert traceback.endswith("KeyError: 'customer'")


def test_set_logger_sends_logs_to_another_logger_with_the_same_fields() -> None:
    replacement = RecordingLogger()

    @durable_execution
    def handler(event: Any, context: DurableContext) -> None:
        context.set_logger(replacement)
        context.logger.info("hello", extra={"customer": "c-1"})
        context.wait(Duration.from_seconds(1))
        context.logger.warning("after")

    with DurableFunctionTestRunner(handler) as runner:
        execution_id = runner.run_async()
        runner.wait_for_result(execution_id)

    assert [(level, msg) for level, msg, _ in replacement.lines] == [
        ("info", "hello"),
        ("warning", "after"),
    ]
    assert replacement.lines[0][2] == {"executionArn": execution_id, "customer": "c-1"}


def test_non_deterministic_error_fails_the_execution_without_retry() -> None:
    assert issubclass(NonDeterministicExecutionError, ExecutionError)
    error = NonDeterministicExecutionError("changed", step_id="2")
    assert error.step_id == "2"
    assert error.termination_reason.value == "NON_DETERMINISTIC_EXECUTION"
