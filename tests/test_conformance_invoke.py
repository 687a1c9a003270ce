"""Conformance suite "invoke" (tests/conformance/invoke): one handler per requirement.

The invoked targets are durable functions registered with the runner, as
the suite's histories name a child execution (``DurableExecutionArn``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from conformance_harness import Suite

from durable_lambda import DurableContext, InvokeError, durable_execution
from durable_lambda.config import Duration, InvokeConfig
from durable_lambda.serdes import SerDes, SerDesContext
from durable_lambda.testing import DurableFunctionTestRunner

suite = Suite("invoke")

ECHO = "echo-target"
SECOND = "second-target"
FAILING = "failing-target"
LARGE = "large-payload-target"
SHOUTED = "shouted-payload-target"
LARGE_PAYLOAD_CHARS = 1_000_000


@durable_execution
def echo_target(event: Any, context: DurableContext) -> Any:
    return event


@durable_execution
def failing_target(event: Any, context: DurableContext) -> None:
    raise RuntimeError("target function failed")


@durable_execution
def large_payload_target(event: str, context: DurableContext) -> dict[str, int]:
    return {"received": len(event)}


@durable_execution
def shouted_payload_target(event: Any, context: DurableContext) -> Any:
    if event != {"DATA": "HELLO"}:
        raise ValueError(f"expected the payload as its serdes wrote it, got {event!r}")
    return event


def targets(**functions: Callable[..., Any]) -> Callable[[DurableFunctionTestRunner], None]:
    def register(runner: DurableFunctionTestRunner) -> None:
        for name, handler in functions.items():
            runner.register_durable_function(name.replace("_", "-"), handler)

    return register


with_echo = targets(echo_target=echo_target)


class UppercaseSerDes(SerDes[Any]):
    """Writes JSON upper-cased; reads the recorded text upper-cased, as is."""

    def serialize(self, value: Any, serdes_context: SerDesContext) -> str:
        return json.dumps(value).upper()

    def deserialize(self, data: str, serdes_context: SerDesContext) -> Any:
        return data.upper()


@suite.requirement("5-1", setup=with_echo)
@durable_execution
def invoke_basic(event: str, context: DurableContext) -> str:
    return context.invoke(ECHO, event)


@suite.requirement("5-2", setup=with_echo)
@durable_execution
def invoke_with_name(event: dict[str, str], context: DurableContext) -> str:
    return context.invoke(ECHO, event["payload"], name=event["name"])


@suite.requirement("5-3", setup=with_echo)
@durable_execution
def invoke_complex_object(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    result: dict[str, Any] = context.invoke(ECHO, event)
    assert result == event
    return result


@suite.requirement("5-4", setup=with_echo)
@durable_execution
def invoke_null(event: Any, context: DurableContext) -> None:
    result = context.invoke(ECHO, None)
    assert result is None


@suite.requirement("5-5", setup=targets(failing_target=failing_target))
@durable_execution
def invoke_target_fails(event: Any, context: DurableContext) -> None:
    context.invoke(FAILING, None)


@suite.requirement("5-6", setup=targets(failing_target=failing_target))
@durable_execution
def invoke_target_fails_caught(event: Any, context: DurableContext) -> str:
    try:
        context.invoke(FAILING, None)
    except InvokeError as e:
        assert e.message == "target function failed"
        return "fallback"
    return "not reached"


@suite.requirement("5-7", setup=targets(large_payload_target=large_payload_target))
@durable_execution
def invoke_large_payload(event: Any, context: DurableContext) -> dict[str, int]:
    result: dict[str, int] = context.invoke(LARGE, "x" * LARGE_PAYLOAD_CHARS)
    assert result == {"received": LARGE_PAYLOAD_CHARS}
    return result


@suite.requirement("5-8", setup=with_echo)
@durable_execution
def invoke_with_tenant(event: dict[str, str], context: DurableContext) -> str:
    config: InvokeConfig[str, str] = InvokeConfig(tenant_id=event["tenantId"])
    return context.invoke(ECHO, event["payload"], config=config)


@suite.requirement("5-9", setup=with_echo)
@durable_execution
def invoke_then_wait(event: Any, context: DurableContext) -> str:
    result: str = context.invoke(ECHO, "cached")
    context.wait(Duration.from_seconds(1))
    return result


@suite.requirement("5-10", setup=targets(failing_target=failing_target))
@durable_execution
def invoke_fails_then_wait(event: Any, context: DurableContext) -> str:
    with contextlib.suppress(InvokeError):
        context.invoke(FAILING, None)
    context.wait(Duration.from_seconds(1))
    return "caught"


@suite.requirement("5-11", setup=with_echo)
@durable_execution
def step_then_invoke(event: Any, context: DurableContext) -> str:
    value = context.step(lambda _: "from the step")
    return context.invoke(ECHO, value)


@suite.requirement("5-12", setup=with_echo)
@durable_execution
def invoke_then_step(event: Any, context: DurableContext) -> str:
    result: str = context.invoke(ECHO, "from the target")
    return context.step(lambda _: result.upper())


@suite.requirement("5-13", setup=with_echo)
@durable_execution
def invoke_in_child_context(event: Any, context: DurableContext) -> str:
    return context.run_in_child_context(lambda child: child.invoke(ECHO, "in a child context"))


@suite.requirement("5-14", setup=targets(echo_target=echo_target, second_target=echo_target))
@durable_execution
def sequential_invokes(event: Any, context: DurableContext) -> list[str]:
    first: str = context.invoke(ECHO, "first")
    second: str = context.invoke(SECOND, "second")
    return [first, second]


@suite.requirement("5-15", setup=targets(shouted_payload_target=shouted_payload_target))
@durable_execution
def invoke_payload_serdes(event: dict[str, str], context: DurableContext) -> Any:
    config: InvokeConfig[Any, Any] = InvokeConfig(serdes_payload=UppercaseSerDes())
    return context.invoke(SHOUTED, event, config=config)


@suite.requirement("5-16", setup=with_echo)
@durable_execution
def invoke_result_serdes(event: str, context: DurableContext) -> str:
    config: InvokeConfig[str, str] = InvokeConfig(serdes_result=UppercaseSerDes())
    return context.invoke(ECHO, event, config=config)


@pytest.mark.parametrize("requirement_id", suite.ids())
def test_invoke_requirement(requirement_id: str, caplog: pytest.LogCaptureFixture) -> None:
    suite.check(requirement_id, caplog)
