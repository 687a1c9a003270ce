"""The seed's step patterns, run from examples/ on the local engine."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from durable_lambda.store import ExecutionStatus
from durable_lambda.testing import DurableFunctionTestRunner
from examples import agent_loop, custom_serdes, retry_by_error_type, step_semantics


def _events(runner: DurableFunctionTestRunner, execution_id: str) -> list[dict[str, Any]]:
    return runner.engine.get_history(execution_id)


def test_agent_loop_names_its_steps_after_the_tools_it_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with DurableFunctionTestRunner(agent_loop.handler) as runner:
        execution_id = runner.run_async(json.dumps({"prompt": "weather in Lisbon?"}))
        result = runner.wait_for_result(execution_id)
        events = _events(runner, execution_id)

    assert json.loads(result.result or "null") == (
        "Answer based on: search results for 'weather in Lisbon?'"
    )
    succeeded = [e["Name"] for e in events if e["EventType"] == "StepSucceeded"]
    assert succeeded == ["invoke-model", "execute-tool-search", "invoke-model"]
    started = next(r for r in caplog.records if r.getMessage() == "Starting AI agent")
    assert started.prompt == "weather in Lisbon?"  # type: ignore[attr-defined]
    assert started.executionArn == execution_id  # type: ignore[attr-defined]
    reasoning = next(r for r in caplog.records if r.getMessage() == "AI reasoning")
    assert reasoning.reasoning == "The question needs current data."  # type: ignore[attr-defined]


def _api_call(failures: list[dict[str, object]]) -> tuple[Any, list[dict[str, Any]]]:
    with DurableFunctionTestRunner(retry_by_error_type.handler) as runner:
        execution_id = runner.run_async(json.dumps({"failures": failures}))
        result = runner.wait_for_result(execution_id)
        failed = [e for e in _events(runner, execution_id) if e["EventType"] == "StepFailed"]
    return result, failed


def test_client_errors_are_not_retried() -> None:
    result, failed = _api_call([{"status": 404}])
    assert result.execution_status is ExecutionStatus.FAILED
    assert len(failed) == 1
    assert failed[0]["StepFailedDetails"]["RetryDetails"] == {"CurrentAttempt": 1}
    assert failed[0]["StepFailedDetails"]["Error"]["Payload"]["ErrorMessage"] == "HTTP 404"


def test_server_errors_back_off_exponentially() -> None:
    result, failed = _api_call([{"status": 500}, {"status": 502}, {"status": 503}])
    assert json.loads(result.result or "null") == {"ok": True, "attempt": 4}
    delays = [e["StepFailedDetails"]["RetryDetails"]["NextAttemptDelaySeconds"] for e in failed]
    assert delays == [2, 4, 8]


def test_server_errors_stop_after_five_attempts() -> None:
    result, failed = _api_call([{"status": 500}] * 6)
    assert result.execution_status is ExecutionStatus.FAILED
    assert [e["StepFailedDetails"]["RetryDetails"]["CurrentAttempt"] for e in failed] == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert "NextAttemptDelaySeconds" not in failed[-1]["StepFailedDetails"]["RetryDetails"]


def test_network_errors_retry_at_a_fixed_delay() -> None:
    result, failed = _api_call([{"code": "ECONNREFUSED"}, {"code": "ETIMEDOUT"}])
    assert json.loads(result.result or "null") == {"ok": True, "attempt": 3}
    delays = [e["StepFailedDetails"]["RetryDetails"]["NextAttemptDelaySeconds"] for e in failed]
    assert delays == [5, 5]


def test_unknown_errors_are_not_retried() -> None:
    result, failed = _api_call([{"code": "EPERM"}])
    assert result.execution_status is ExecutionStatus.FAILED
    assert len(failed) == 1


def test_class_serdes_restore_instances_and_datetimes() -> None:
    with DurableFunctionTestRunner(custom_serdes.handler) as runner:
        result = runner.run(input="{}")
    assert json.loads(result.result or "null") == {
        "user": "User",
        "user_created_at_is_datetime": True,
        "order": "Order",
        "items": ["OrderItem", "OrderItem"],
        "customer": "Customer",
        "units": 3,
    }
    recorded_user = json.loads(result.get_step("create-user").result or "null")
    assert recorded_user["name"] == "Alice"
    assert recorded_user["created_at"].endswith("+00:00")


def test_step_semantics_example_runs_both_kinds_of_step() -> None:
    event = {"user_id": "u-1", "data": {"plan": "pro"}, "email": "u1@example.com"}
    with DurableFunctionTestRunner(step_semantics.handler) as runner:
        result = runner.run(input=json.dumps(event))
    assert json.loads(result.result or "null") == {
        "record": {"user_id": "u-1", "plan": "pro"},
        "receipt": "sent to u1@example.com: Your profile changed",
    }
    assert result.get_step("update-database").attempt == 1
