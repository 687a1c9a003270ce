"""The test runner as the AWS testing SDK's: a test ports by its import line.

The signatures below are those of ``aws_durable_execution_sdk_python_testing``
1.4.0 (``runner.DurableFunctionTestRunner``), copied from its source.
"""

from __future__ import annotations

import datetime
import inspect
import json
from typing import Any

import pytest

from durable_lambda import DurableContext, ValidationError, durable_execution
from durable_lambda.config import CallbackConfig, Duration, JitterStrategy, StepConfig
from durable_lambda.context import durable_with_child_context
from durable_lambda.history import Event as EventDict
from durable_lambda.retries import RetryStrategyConfig, create_retry_strategy
from durable_lambda.store import ExecutionStatus
from durable_lambda.testing import DurableChildContextTestRunner, DurableFunctionTestRunner
from durable_lambda.testing import execution as testing_execution
from durable_lambda.testing.model import (
    CallbackStartedDetails,
    Event,
    EventResult,
    GetDurableExecutionHistoryResponse,
    RetryDetails,
    WaitStartedDetails,
)

RUN = [
    ("input", None),
    ("execution_timeout", None),
    ("timeout", None),
    ("function_name", "test-function"),
    ("execution_name", "execution-name"),
    ("account_id", "123456789012"),
    ("tenant_id", None),
]
AWS_RUNNER = {
    "__init__": [
        ("handler", "required"),
        ("poll_interval", 1.0),
        ("max_invocation_page_bytes", None),
        ("execution_timeout", 300),
        ("invocation_timeout", 900),
        ("store", None),
        ("skip_time", True),
        ("region", "us-west-2"),
    ],
    "run": RUN,
    "run_async": RUN,
    "wait_for_result": [("execution_arn", "required"), ("timeout", 60)],
    "wait_for_callback": [("execution_arn", "required"), ("name", None), ("timeout", 60)],
    "send_callback_success": [("callback_id", "required"), ("result", None)],
    "send_callback_failure": [("callback_id", "required"), ("error", None)],
    "send_callback_heartbeat": [("callback_id", "required")],
    "get_execution_history": [("execution_arn", "required"), ("include_execution_data", False)],
    "register_durable_function": [
        ("function_name", "required"),
        ("handler", "required"),
        ("execution_timeout", 120),
        ("retention_period_days", 1),
    ],
    "register_function": [("function_name", "required"), ("handler", "required")],
    "pause_execution": [("execution_arn", "required"), ("timeout", 60)],
    "resume_execution": [("execution_arn", "required")],
    "close": [],
}


def positional_parameters(func: Any) -> list[tuple[str, Any]]:
    """Parameters a caller may pass by position, with their defaults."""
    return [
        (p.name, "required" if p.default is inspect.Parameter.empty else p.default)
        for p in inspect.signature(func).parameters.values()
        if p.name != "self" and p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]


def test_every_method_takes_the_aws_runners_parameters_in_its_order() -> None:
    ours = {
        method: positional_parameters(getattr(DurableFunctionTestRunner, method))
        for method in AWS_RUNNER
    }
    assert ours == AWS_RUNNER


def test_the_runners_own_options_are_keyword_only() -> None:
    parameters = inspect.signature(DurableFunctionTestRunner).parameters
    ours = [p.name for p in parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert ours == ["invocation_isolation", "managed_limits"]


@durable_execution
def unanswered(event: Any, context: DurableContext) -> None:
    context.create_callback("never answered").result()


def test_a_positional_execution_timeout_lands_where_the_aws_runner_takes_it() -> None:
    with DurableFunctionTestRunner(unanswered, 1.0, None, 1) as runner:
        result = runner.run()
    assert result.execution_status is ExecutionStatus.TIMED_OUT
    assert result.error is not None
    assert result.error.message == "Execution timed out after 1 seconds"


def test_a_page_size_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValidationError, match="max_invocation_page_bytes must be positive, got: 0"):
        DurableFunctionTestRunner(unanswered, 1.0, 0)


@durable_execution
def echo(event: Any, context: DurableContext) -> Any:
    return context.step(lambda _: event, name="echo")


def test_execution_status_imports_from_where_the_aws_runner_keeps_it() -> None:
    with DurableFunctionTestRunner(echo) as runner:
        result = runner.run('"a"')
    assert result.execution_status is testing_execution.ExecutionStatus.SUCCEEDED


def test_each_run_is_a_new_execution_whatever_its_name() -> None:
    with DurableFunctionTestRunner(echo) as runner:
        first = runner.run('"a"')
        second = runner.run('"b"')
        named = [runner.run_async(f'"{c}"', execution_name="order-7") for c in "cd"]
        results = [runner.wait_for_result(execution_id).result for execution_id in named]
    assert (first.result, second.result) == ('"a"', '"b"')
    assert results == ['"c"', '"d"']


def test_timeout_is_the_deprecated_name_of_execution_timeout() -> None:
    with (
        DurableFunctionTestRunner(unanswered) as runner,
        pytest.warns(DeprecationWarning, match="Use execution_timeout instead"),
    ):
        result = runner.run(timeout=1)
    assert result.execution_status is ExecutionStatus.TIMED_OUT


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ({"account_id": "210987654321"}, "account_id '210987654321' is not supported"),
        ({"tenant_id": "tenant-1"}, "tenant_id 'tenant-1' is not supported"),
    ],
)
def test_another_account_or_a_tenant_is_refused_naming_it(
    argument: dict[str, str], message: str
) -> None:
    with (
        DurableFunctionTestRunner(echo) as runner,
        pytest.raises(ValidationError, match=message),
    ):
        runner.run_async("{}", **argument)


def test_pausing_is_not_offered_and_says_so() -> None:
    with DurableFunctionTestRunner(echo) as runner:
        execution_id = runner.run_async("{}")
        with pytest.raises(NotImplementedError, match="pause_execution"):
            runner.pause_execution(execution_id)
        with pytest.raises(NotImplementedError, match="resume_execution"):
            runner.resume_execution(execution_id)


@durable_execution
def reports_its_function(event: Any, context: DurableContext) -> str:
    assert context.lambda_context is not None
    return str(context.lambda_context.invoked_function_arn)


def test_functions_run_in_the_aws_runners_account() -> None:
    with DurableFunctionTestRunner(reports_its_function) as runner:
        result = runner.run()
    assert json.loads(result.result or "") == (
        "arn:aws:lambda:us-west-2:123456789012:function:test-function"
    )


def test_a_registered_function_takes_a_retention_period() -> None:
    with DurableFunctionTestRunner(echo) as runner:
        assert runner.register_durable_function("other", echo, 60, 7) is runner
        with pytest.raises(ValidationError, match="retention_period_days must be positive"):
            runner.register_durable_function("other", echo, 60, 0)


@durable_with_child_context
def waits_a_day(context: DurableContext, label: str) -> str:
    context.wait(Duration.from_days(1))
    return label


def test_a_child_context_runner_takes_skip_time() -> None:
    with DurableChildContextTestRunner(waits_a_day, "done", skip_time=True) as runner:
        result = runner.run()
    assert result.result == '"done"'


# region history


attempts: list[int] = []


@durable_execution
def eventful(event: Any, context: DurableContext) -> str:
    def flaky(_: Any) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("first attempt fails")
        return "charged"

    retry = create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=2,
            initial_delay=Duration.from_seconds(1),
            jitter_strategy=JitterStrategy.NONE,
        )
    )
    context.step(flaky, name="charge", config=StepConfig(retry_strategy=retry))
    context.wait(Duration.from_seconds(30), name="cool-off")
    context.run_in_child_context(lambda child: child.step(lambda _: 1, name="inner"), name="ctx")
    callback = context.create_callback("approval", CallbackConfig(timeout=Duration.from_hours(1)))
    return callback.result() or ""


def run_eventful(runner: DurableFunctionTestRunner) -> str:
    attempts.clear()
    execution_id = runner.run_async("{}")
    runner.send_callback_success(runner.wait_for_callback(execution_id, "approval"), b'"ok"')
    runner.wait_for_result(execution_id)
    return execution_id


def test_the_history_is_the_aws_runners_response_object() -> None:
    with DurableFunctionTestRunner(eventful) as runner:
        execution_id = run_eventful(runner)
        history = runner.get_execution_history(execution_id)
        with_data = runner.get_execution_history(execution_id, include_execution_data=True)
    assert isinstance(history, GetDurableExecutionHistoryResponse)
    assert all(isinstance(event, Event) for event in history.events)
    by_type = {event.event_type: event for event in with_data.events}
    started = by_type["CallbackStarted"].callback_started_details
    assert isinstance(started, CallbackStartedDetails)
    assert started.timeout == 3600
    wait = by_type["WaitStarted"].wait_started_details
    assert isinstance(wait, WaitStartedDetails)
    assert wait.duration == 30
    assert isinstance(wait.scheduled_end_timestamp, datetime.datetime)
    retried = next(e for e in with_data.events if e.event_type == "StepFailed")
    assert retried.name == "charge"
    assert retried.step_failed_details is not None
    assert retried.step_failed_details.retry_details == RetryDetails(1, 1)
    assert retried.step_failed_details.error is not None
    assert retried.step_failed_details.error.payload is not None
    assert retried.step_failed_details.error.payload.message == "first attempt fails"
    charged = next(e for e in with_data.events if e.event_type == "StepSucceeded")
    succeeded = charged.step_succeeded_details
    assert succeeded is not None
    assert succeeded.result == EventResult('"charged"', truncated=False)
    # Without execution data, results read as truncated, as on the AWS runner.
    plain = {event.event_type: event for event in history.events}
    assert plain["CallbackSucceeded"].callback_succeeded_details is not None
    assert plain["CallbackSucceeded"].callback_succeeded_details.result == EventResult(
        truncated=True
    )
    assert history.to_dict()["Events"][0]["EventType"] == "ExecutionStarted"


def without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_none(v) for v in value]
    return value


@durable_execution
def invokes(event: Any, context: DurableContext) -> Any:
    return context.invoke("target", {"n": 1}, name="call")


def test_every_recorded_event_survives_the_typed_history() -> None:
    with DurableFunctionTestRunner(eventful) as runner:
        execution_ids = [run_eventful(runner)]
        runner.register_durable_function("invoking", invokes)
        runner.register_function("target", lambda event, context: event)
        execution_ids.append(runner.run_async("{}", function_name="invoking"))
        runner.wait_for_result(execution_ids[-1])
        recorded: list[EventDict] = [
            event
            for execution_id in execution_ids
            for event in runner.engine.get_history(execution_id)
        ]
    assert {event["EventType"] for event in recorded} >= {
        "ExecutionStarted",
        "StepFailed",
        "StepSucceeded",
        "WaitStarted",
        "WaitSucceeded",
        "ContextStarted",
        "ContextSucceeded",
        "CallbackStarted",
        "CallbackSucceeded",
        "ChainedInvokeStarted",
        "ChainedInvokeSucceeded",
        "InvocationCompleted",
        "ExecutionSucceeded",
    }
    for event in recorded:
        assert Event.from_dict(event).to_dict() == without_none(event)


# endregion
