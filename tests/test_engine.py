"""The local engine: invoking, retrying failed invocations, timing out, skipping time."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from durable_lambda import (
    DurableContext,
    DurableExecutionsError,
    InvocationError,
    ValidationError,
    durable_execution,
)
from durable_lambda.backend import Backend
from durable_lambda.client import DurableExecutionsApi
from durable_lambda.clock import SystemClock
from durable_lambda.config import Duration
from durable_lambda.local import LocalEngine
from durable_lambda.local.lambda_context import LocalLambdaContext
from durable_lambda.store import ExecutionStatus, SqliteStore
from durable_lambda.testing import DurableFunctionTestRunner

invocations: list[str] = []


@pytest.fixture(autouse=True)
def _reset() -> None:
    invocations.clear()


@durable_execution
def echo(event: Any, context: DurableContext) -> Any:
    return context.step(lambda _: event, name="echo")


def test_unknown_function_is_refused_naming_the_registered_ones() -> None:
    with LocalEngine() as engine:
        engine.register_durable_function("echo", echo)
        with pytest.raises(
            ValidationError, match=r"No function named 'ehco' is registered \(registered: echo\)"
        ):
            engine.start_execution("ehco", "{}")


def test_input_must_be_json_text() -> None:
    with (
        DurableFunctionTestRunner(echo) as runner,
        pytest.raises(ValidationError, match="Execution input must be JSON text"),
    ):
        runner.run_async("{not json")


def test_process_isolation_refuses_handlers_it_cannot_import() -> None:
    @durable_execution
    def local_handler(event: Any, context: DurableContext) -> None:
        return None

    with pytest.raises(ValidationError, match="Define the handler at module level"):
        DurableFunctionTestRunner(local_handler, invocation_isolation="process")


SCRIPT_WITHOUT_MAIN_GUARD = """\
from durable_lambda import durable_execution
from durable_lambda.testing import DurableFunctionTestRunner


@durable_execution
def handler(event, context):
    return context.step(lambda _: "done", name="work")


with DurableFunctionTestRunner(handler, invocation_isolation="process") as runner:
    print("result:", runner.run().result)
"""


def test_process_isolation_in_a_script_without_a_main_guard_is_one_clear_error(
    tmp_path: Path,
) -> None:
    script = tmp_path / "workflow.py"
    script.write_text(SCRIPT_WITHOUT_MAIN_GUARD)

    ran = subprocess.run(
        [sys.executable, str(script)],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert ran.returncode == 1
    assert ran.stdout == ""
    assert ran.stderr.count("Traceback") == 1
    assert ran.stderr.splitlines()[-1] == (
        'durable_lambda.exceptions.ValidationError: invocation_isolation="process" runs '
        f"handlers in worker processes, which import {script} again; importing it started an "
        "engine in the worker. Start engines and test runners under "
        '`if __name__ == "__main__":` in that script.'
    )


def test_invocation_isolation_must_be_thread_or_process() -> None:
    with pytest.raises(ValidationError, match='must be "thread" or "process"'):
        LocalEngine(invocation_isolation="fiber")  # type: ignore[arg-type]


def test_starting_twice_with_one_name_returns_the_same_execution() -> None:
    with LocalEngine(skip_time=True) as engine:
        engine.register_durable_function("echo", echo)
        first = engine.start_execution("echo", '"a"', execution_name="order-7")
        second = engine.start_execution("echo", '"b"', execution_name="order-7")
        record = engine.wait_for_completion(first, timeout=10)
    assert first == second
    assert record.result == '"a"'


def test_time_skipped_does_not_count_toward_the_execution_timeout() -> None:
    @durable_execution
    def slow(event: Any, context: DurableContext) -> str:
        context.wait(Duration.from_days(2))
        return "waited"

    with DurableFunctionTestRunner(slow) as runner:
        result = runner.run(execution_timeout=3600)
    assert result.execution_status is ExecutionStatus.SUCCEEDED
    assert result.result == '"waited"'


@durable_execution
def stuck(event: Any, context: DurableContext) -> None:
    context.create_callback("never answered").result()


def test_execution_timeout_ends_a_stuck_execution_after_real_seconds() -> None:
    with DurableFunctionTestRunner(stuck) as runner:
        started = time.monotonic()
        result = runner.run(execution_timeout=1)
        waited = time.monotonic() - started
    assert result.execution_status is ExecutionStatus.TIMED_OUT
    assert result.error is not None
    assert result.error.message == "Execution timed out after 1 seconds"
    assert waited >= 1


class FlakyInfrastructure(InvocationError):
    """A failure that is the invocation's, not the execution's."""


@durable_execution
def fails_first_invocation(event: Any, context: DurableContext) -> str:
    invocations.append("invoked")
    if len(invocations) == 1:
        raise FlakyInfrastructure("connection reset")
    return "second invocation succeeded"


def test_a_failed_invocation_is_recorded_and_invoked_again() -> None:
    with DurableFunctionTestRunner(fails_first_invocation) as runner:
        execution_id = runner.run_async()
        result = runner.wait_for_result(execution_id)
        events = runner.engine.get_history(execution_id)
    assert result.result == '"second invocation succeeded"'
    completed = [e for e in events if e["EventType"] == "InvocationCompleted"]
    assert completed[0]["InvocationCompletedDetails"]["Error"]["Payload"] == {
        "ErrorMessage": "connection reset",
        "ErrorType": "test_engine.FlakyInfrastructure",
    }
    assert "Error" not in completed[1]["InvocationCompletedDetails"]


@durable_execution
def exits_first_invocation(event: Any, context: DurableContext) -> str:
    invocations.append("invoked")
    context.step(lambda _: "before exit", name="first")
    if len(invocations) == 1:
        sys.exit(3)
    return "recovered"


def test_a_thread_invocation_that_exits_is_a_crash_and_is_invoked_again() -> None:
    with DurableFunctionTestRunner(exits_first_invocation) as runner:
        execution_id = runner.run_async()
        result = runner.wait_for_result(execution_id)
        events = runner.engine.get_history(execution_id)
    assert result.result == '"recovered"'
    errors = [
        e["InvocationCompletedDetails"].get("Error")
        for e in events
        if e["EventType"] == "InvocationCompleted"
    ]
    assert errors[0]["Payload"]["ErrorType"] == "Runtime.ExitError"
    assert errors[1] is None
    assert [e["EventType"] for e in events].count("StepSucceeded") == 1


def test_time_skips_only_while_the_test_waits_for_a_result() -> None:
    @durable_execution
    def waits_an_hour(event: Any, context: DurableContext) -> str:
        context.wait(Duration.from_hours(1))
        return "done"

    with DurableFunctionTestRunner(waits_an_hour) as runner:
        execution_id = runner.run_async(execution_timeout=7200)
        deadline = time.monotonic() + 10
        while not any(
            e["EventType"] == "InvocationCompleted" for e in runner.engine.get_history(execution_id)
        ):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.2)
        assert runner.engine.get_execution(execution_id).status is ExecutionStatus.RUNNING
        result = runner.wait_for_result(execution_id)
    assert result.result == '"done"'


def test_handlers_see_a_lambda_context() -> None:
    @durable_execution
    def reports(event: Any, context: DurableContext) -> dict[str, Any]:
        lambda_context = context.lambda_context
        assert lambda_context is not None
        return {
            "function": lambda_context.function_name,
            "has_time_left": lambda_context.get_remaining_time_in_millis() > 0,
        }

    with DurableFunctionTestRunner(reports) as runner:
        result = runner.run()
    assert json.loads(result.result or "null") == {
        "function": "test-function",
        "has_time_left": True,
    }


def test_a_plain_event_starts_an_execution_named_after_the_request() -> None:
    store = SqliteStore()
    backend = Backend(store, SystemClock())

    def invoke(request_id: str) -> dict[str, Any]:
        context = LocalLambdaContext(request_id, "orders", "arn:orders", backend)
        return echo({"order": 7}, context)

    assert invoke("req-1") == {"Status": "SUCCEEDED", "Result": '{"order": 7}'}
    assert invoke("req-1") == {"Status": "SUCCEEDED", "Result": '{"order": 7}'}
    record = store.get_execution("req-1")
    assert (record.function_name, record.input_payload) == ("orders", '{"order": 7}')
    assert [op.name for op in store.get_operations("req-1")] == ["echo"]


def test_handlers_refuse_to_run_without_a_backend() -> None:
    class BareContext:
        aws_request_id = "req"
        function_name = "f"

    with pytest.raises(DurableExecutionsError, match="No durable backend is configured"):
        echo({}, BareContext())


def test_the_engine_answers_the_verbs_of_durable_executions() -> None:
    engine: DurableExecutionsApi
    with LocalEngine(skip_time=True) as engine:
        engine.register_durable_function("echo", echo)
        execution_id = engine.start_execution("echo", '{"n": 1}', execution_name="first")
        assert engine.start_execution("echo", "{}", execution_name="first") == execution_id
        assert engine.wait_for_result(execution_id, 10).result == '{"n": 1}'
        assert engine.describe_execution(execution_id).status is ExecutionStatus.SUCCEEDED
        [listed] = engine.list_executions(function_name="echo").executions
        assert listed.execution_id == execution_id
        history = engine.get_execution_history(execution_id)
        assert [e["EventType"] for e in history][-1] == "ExecutionSucceeded"
