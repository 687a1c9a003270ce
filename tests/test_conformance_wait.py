"""Conformance suite "wait" (tests/conformance/wait): one handler per requirement."""

from __future__ import annotations

from typing import Any

import pytest
from conformance_harness import Suite

from durable_lambda import DurableContext, durable_execution
from durable_lambda.config import Duration

suite = Suite("wait")


@suite.requirement("2-1")
@durable_execution
def wait_basic(event: Any, context: DurableContext) -> None:
    context.wait(Duration.from_seconds(2))


@suite.requirement("2-2")
@durable_execution
def wait_with_name(event: Any, context: DurableContext) -> None:
    context.wait(Duration.from_seconds(2), name="custom_wait_name")


@suite.requirement("2-3")
@durable_execution
def sequential_waits(event: Any, context: DurableContext) -> dict[str, int]:
    context.wait(Duration.from_seconds(2), name="wait-1")
    context.wait(Duration.from_seconds(2), name="wait-2")
    return {"completedWaits": 2}


@suite.requirement("2-4")
@durable_execution
def wait_in_minutes(event: Any, context: DurableContext) -> None:
    context.wait(Duration.from_minutes(1))


@suite.requirement("2-5")
@durable_execution
def wait_one_hour(event: Any, context: DurableContext) -> None:
    context.wait(Duration.from_hours(1))


@pytest.mark.parametrize("requirement_id", suite.ids())
def test_wait_requirement(requirement_id: str, caplog: pytest.LogCaptureFixture) -> None:
    suite.check(requirement_id, caplog)
