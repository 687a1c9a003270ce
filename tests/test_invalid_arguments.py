"""Wrong arguments fail at once with a ValidationError that names them.

Operations refuse them before anything is recorded.
"""

from __future__ import annotations

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
