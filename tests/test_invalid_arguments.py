"""Wrong arguments fail at once with a ValidationError that names them.

Operations refuse them before anything is recorded; the engine and the test
runner refuse them before an execution starts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from durable_lambda import DurableContext, ValidationError, durable_execution
from durable_lambda.config import (
    CallbackConfig,
    ChildConfig,
    CompletionConfig,
    Duration,
    MapConfig,
    ParallelConfig,
    StepConfig,
)
from durable_lambda.local import LocalEngine
from durable_lambda.testing import DurableFunctionTestRunner
from durable_lambda.waits import WaitForConditionConfig, WaitForConditionDecision

Operation = Callable[[Any], Any]
"""Calls one operation of the context it is given, with a wrong argument."""


def _return(value: Any) -> Callable[..., Any]:
    return lambda *args: value


def _stop_polling(state: Any, attempt: int) -> WaitForConditionDecision:
    return WaitForConditionDecision.stop_polling()


CONDITION = WaitForConditionConfig(wait_strategy=_stop_polling, initial_state=0)

WRONG_CALLS = [
    pytest.param(
        lambda c: c.step("s", _return(1)),
        "step func must be callable, got 's'",
        id="step-name-first",
    ),
    pytest.param(
        lambda c: c.step(42), "step func must be callable, got int", id="step-not-callable"
    ),
    pytest.param(
        lambda c: c.step(_return(1), 5),
        "step name must be a string or None, got int",
        id="step-name",
    ),
    pytest.param(
        lambda c: c.step(_return(1), "s", {"retries": 1}),
        "step config must be a StepConfig or None, got dict",
        id="step-config",
    ),
    pytest.param(
        lambda c: c.wait(5),
        "wait duration must be a Duration, such as Duration.from_seconds(5), got int",
        id="wait-number",
    ),
    pytest.param(
        lambda c: c.wait(Duration(5), 7),
        "wait name must be a string or None, got int",
        id="wait-name",
    ),
    pytest.param(
        lambda c: c.create_callback(CallbackConfig()),
        "create_callback name must be a string or None, got CallbackConfig",
        id="create-callback-config-as-name",
    ),
    pytest.param(
        lambda c: c.create_callback("c", Duration(5)),
        "create_callback config must be a CallbackConfig or None, got Duration",
        id="create-callback-config",
    ),
    pytest.param(
        lambda c: c.wait_for_callback("submit"),
        "wait_for_callback submitter must be callable, got 'submit'",
        id="wait-for-callback-submitter",
    ),
    pytest.param(
        lambda c: c.wait_for_callback(_return(None), "w", CallbackConfig()),
        "wait_for_callback config must be a WaitForCallbackConfig or None, got CallbackConfig",
        id="wait-for-callback-config",
    ),
    pytest.param(
        lambda c: c.wait_for_condition("check", CONDITION),
        "wait_for_condition check must be callable, got 'check'",
        id="wait-for-condition-check",
    ),
    pytest.param(
        lambda c: c.wait_for_condition(_return(0), {"initial_state": 0}),
        "wait_for_condition config must be a WaitForConditionConfig, got dict",
        id="wait-for-condition-config",
    ),
    pytest.param(
        lambda c: c.wait_for_condition(_return(0), CONDITION, 3),
        "wait_for_condition name must be a string or None, got int",
        id="wait-for-condition-name",
    ),
    pytest.param(
        lambda c: c.map([1], "double"), "map func must be callable, got 'double'", id="map-func"
    ),
    pytest.param(
        lambda c: c.map([1], _return(1), MapConfig()),
        "map name must be a string or None, got MapConfig",
        id="map-config-as-name",
    ),
    pytest.param(
        lambda c: c.map([1], _return(1), "m", ParallelConfig()),
        "map config must be a MapConfig or None, got ParallelConfig",
        id="map-config",
    ),
    pytest.param(
        lambda c: c.parallel([_return(1)], ParallelConfig()),
        "parallel name must be a string or None, got ParallelConfig",
        id="parallel-config-as-name",
    ),
    pytest.param(
        lambda c: c.parallel([_return(1)], "p", MapConfig()),
        "parallel config must be a ParallelConfig or None, got MapConfig",
        id="parallel-config",
    ),
    pytest.param(
        lambda c: c.run_in_child_context("child", _return(1)),
        "run_in_child_context func must be callable, got 'child'",
        id="child-name-first",
    ),
    pytest.param(
        lambda c: c.run_in_child_context(_return(1), "c", StepConfig()),
        "run_in_child_context config must be a ChildConfig or None, got StepConfig",
        id="child-config",
    ),
    pytest.param(
        lambda c: c.invoke(42, {}),
        "invoke function_name must be a non-empty string, got int",
        id="invoke-function-name",
    ),
    pytest.param(
        lambda c: c.invoke("echo", {}, 5),
        "invoke name must be a string or None, got int",
        id="invoke-name",
    ),
    pytest.param(
        lambda c: c.invoke("echo", {}, "i", ChildConfig()),
        "invoke config must be an InvokeConfig or None, got ChildConfig",
        id="invoke-config",
    ),
]


@pytest.mark.parametrize(("call", "message"), WRONG_CALLS)
def test_an_operation_refuses_a_wrong_argument_before_recording_anything(
    call: Operation, message: str
) -> None:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> Any:
        return call(context)

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run()

    assert result.error is not None
    assert result.error.type == "durable_lambda.exceptions.ValidationError"
    assert result.error.message == message
    assert result.operations == []


@pytest.mark.parametrize("config", [MapConfig, ParallelConfig])
def test_a_batch_config_without_a_completion_config_is_refused(config: type[Any]) -> None:
    with pytest.raises(ValidationError) as refused:
        config(completion_config=None)
    assert str(refused.value) == (
        f"{config.__name__} completion_config must be a CompletionConfig, got None"
    )
    assert config(completion_config=CompletionConfig()).completion_config == CompletionConfig()


@durable_execution
def echo(event: Any, context: DurableContext) -> Any:
    return event


def not_decorated(event: Any, context: DurableContext) -> Any:
    return context.step(lambda _: event)


NOT_DURABLE = (
    "Cannot register not_decorated as the durable function {name!r}: it is not decorated "
    "with @durable_execution (register a plain Lambda handler with register_function)"
)


def test_the_runner_refuses_a_handler_without_durable_execution() -> None:
    with pytest.raises(ValidationError) as refused:
        DurableFunctionTestRunner(not_decorated)
    assert str(refused.value) == NOT_DURABLE.format(name="test-function")


def test_registering_a_handler_without_durable_execution_is_refused() -> None:
    with DurableFunctionTestRunner(echo) as runner, pytest.raises(ValidationError) as refused:
        runner.register_durable_function("child", not_decorated)
    assert str(refused.value) == NOT_DURABLE.format(name="child")
    with LocalEngine() as engine, pytest.raises(ValidationError) as refused:
        engine.register_durable_function("plain", not_decorated)
    assert str(refused.value) == NOT_DURABLE.format(name="plain")


NOT_TEXT = (
    "Execution input must be JSON text (a string such as json.dumps(event)) or None, got dict"
)


def test_run_input_that_is_not_text_is_refused_by_every_way_to_start() -> None:
    with DurableFunctionTestRunner(echo) as runner:
        with pytest.raises(ValidationError) as refused:
            runner.run({"order": 1})  # type: ignore[arg-type]
        assert str(refused.value) == NOT_TEXT
        with pytest.raises(ValidationError) as refused:
            runner.run_async({"order": 1})  # type: ignore[arg-type]
        assert str(refused.value) == NOT_TEXT
        with pytest.raises(ValidationError) as refused:
            runner.engine.start_execution("test-function", {"order": 1})  # type: ignore[arg-type]
        assert str(refused.value) == NOT_TEXT
        assert runner.run('{"order": 1}').result == '{"order": 1}'


def test_run_input_with_an_integer_too_long_to_read_is_refused() -> None:
    with DurableFunctionTestRunner(echo) as runner, pytest.raises(ValidationError) as refused:
        runner.run('{"n": ' + "7" * 5000 + "}")
    assert str(refused.value).startswith(
        "Execution input must be JSON text: Exceeds the limit (4300 digits) for integer "
        "string conversion: value has 5000 digits"
    )


TOO_LONG = re.escape(
    "execution_timeout must end before the year 10000, got: 1000000000000 seconds from "
)


def test_an_execution_timeout_past_the_last_representable_date_is_refused() -> None:
    with DurableFunctionTestRunner(echo) as runner:
        with pytest.raises(ValidationError, match=TOO_LONG):
            runner.run("{}", execution_timeout=10**12)
        with pytest.raises(ValidationError, match=TOO_LONG):
            runner.engine.start_execution("test-function", "{}", execution_timeout=10**12)
        with pytest.raises(ValidationError, match=TOO_LONG):
            runner.register_durable_function("child", echo, execution_timeout=10**12)
        assert runner.run("{}", execution_timeout=10**9).result == "{}"


def test_an_execution_timeout_that_is_not_whole_seconds_is_refused() -> None:
    with DurableFunctionTestRunner(echo) as runner, pytest.raises(ValidationError) as refused:
        runner.run_async("{}", execution_timeout="60")  # type: ignore[arg-type]
    assert str(refused.value) == "execution_timeout must be a whole number of seconds, got '60'"
