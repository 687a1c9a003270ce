"""Conformance suite "parallel" (tests/conformance/parallel): one handler per requirement."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conformance_harness import BATCH_FIELDS, Suite, batch_projection

from durable_lambda import DurableContext, ParallelBranch, durable_execution
from durable_lambda.config import CompletionConfig, Duration, NestingType, ParallelConfig
from durable_lambda.serdes import SerDes, SerDesContext

suite = Suite("parallel")

SEQUENTIAL = ParallelConfig(max_concurrency=1)


def returns(value: Any) -> Callable[[DurableContext], Any]:
    """A branch that returns ``value`` without running any operation."""
    return lambda ctx: value


def fails(index: int) -> Callable[[DurableContext], Any]:
    """A branch that raises."""

    def branch(ctx: DurableContext) -> None:
        raise RuntimeError(f"branch {index} failed")

    return branch


def sequential_with(completion_config: CompletionConfig) -> ParallelConfig:
    return ParallelConfig(max_concurrency=1, completion_config=completion_config)


class WrappingSerDes(SerDes[Any]):
    """Records a branch's result as the JSON object ``{"wrapped": value}``."""

    def serialize(self, value: Any, serdes_context: SerDesContext) -> str:
        return json.dumps({"wrapped": value})

    def deserialize(self, data: str, serdes_context: SerDesContext) -> Any:
        return json.loads(data)["wrapped"]


@suite.requirement("8-1")
@durable_execution
def parallel_basic(event: Any, context: DurableContext) -> list[str]:
    branches = [
        lambda ctx: ctx.step(lambda _: "task-1"),
        lambda ctx: ctx.step(lambda _: "task-2"),
    ]
    return context.parallel(branches, name="parallel", config=SEQUENTIAL).get_results()


@suite.requirement("8-2")
@durable_execution
def parallel_without_name(event: Any, context: DurableContext) -> list[str]:
    return context.parallel([returns("alpha"), returns("beta")], config=SEQUENTIAL).get_results()


@suite.requirement("8-3")
@durable_execution
def parallel_named_branches(event: Any, context: DurableContext) -> list[str]:
    branches = [
        ParallelBranch(returns("one"), name="first"),
        ParallelBranch(returns("two"), name="second"),
    ]
    return context.parallel(branches, name="named", config=SEQUENTIAL).get_results()


@suite.requirement("8-4")
@durable_execution
def parallel_heterogeneous(event: Any, context: DurableContext) -> list[Any]:
    branches = [returns("hello"), returns(42), returns({"k": "v"})]
    return context.parallel(branches, name="hetero", config=SEQUENTIAL).get_results()


@suite.requirement("8-5")
@durable_execution
def parallel_empty(event: Any, context: DurableContext) -> list[Any]:
    return context.parallel([], name="empty").get_results()


@suite.requirement("8-6")
@durable_execution
def parallel_fail_fast(event: Any, context: DurableContext) -> dict[str, Any]:
    config = sequential_with(CompletionConfig(tolerated_failure_count=0))
    result = context.parallel([returns("ok"), fails(1), returns("ok")], "failfast", config)
    return batch_projection(result, *BATCH_FIELDS)


@suite.requirement("8-7")
@durable_execution
def parallel_throw_if_error(event: Any, context: DurableContext) -> None:
    config = sequential_with(CompletionConfig(tolerated_failure_count=0))
    context.parallel([fails(0), returns("ok")], "throwing", config).throw_if_error()


@suite.requirement("8-8")
@durable_execution
def parallel_min_successful(event: Any, context: DurableContext) -> dict[str, Any]:
    config = sequential_with(CompletionConfig(min_successful=2))
    result = context.parallel([returns("ok")] * 4, "min-successful", config)
    return batch_projection(result, "completionReason", "successCount", "totalCount")


@suite.requirement("8-9")
@durable_execution
def parallel_tolerated(event: Any, context: DurableContext) -> dict[str, Any]:
    config = sequential_with(CompletionConfig(tolerated_failure_count=1))
    result = context.parallel([returns("ok"), fails(1), returns("ok")], "tolerated", config)
    return batch_projection(result, *BATCH_FIELDS)


@suite.requirement("8-10")
@durable_execution
def parallel_tolerance_exceeded(event: Any, context: DurableContext) -> dict[str, Any]:
    config = sequential_with(CompletionConfig(tolerated_failure_count=1))
    result = context.parallel([fails(0), fails(1), returns("ok")], "tolerated-exceeded", config)
    return batch_projection(
        result, "completionReason", "successCount", "failureCount", "totalCount"
    )


@suite.requirement("8-11")
@durable_execution
def parallel_concurrent(event: Any, context: DurableContext) -> list[str]:
    branches = [returns("r0"), returns("r1"), returns("r2")]
    config = ParallelConfig(max_concurrency=2)
    return context.parallel(branches, name="concurrent", config=config).get_results()


@suite.requirement("8-12")
@durable_execution
def parallel_flat(event: Any, context: DurableContext) -> list[str]:
    branches = [lambda ctx: ctx.step(lambda _: "fa"), lambda ctx: ctx.step(lambda _: "fb")]
    config = ParallelConfig(max_concurrency=1, nesting_type=NestingType.FLAT)
    return context.parallel(branches, name="flat", config=config).get_results()


@suite.requirement("8-13")
@durable_execution
def parallel_tolerated_percentage(event: Any, context: DurableContext) -> dict[str, Any]:
    config = sequential_with(CompletionConfig(tolerated_failure_percentage=25))
    branches = [fails(0), fails(1), returns("ok"), returns("ok")]
    result = context.parallel(branches, name="tolerated-pct", config=config)
    return batch_projection(
        result, "completionReason", "successCount", "failureCount", "totalCount"
    )


@suite.requirement("8-14")
@durable_execution
def parallel_branch_suspends(event: Any, context: DurableContext) -> list[str]:
    def waits_then_returns(ctx: DurableContext) -> str:
        ctx.wait(Duration.from_seconds(2))
        return "b1"

    branches = [lambda ctx: ctx.step(lambda _: "b0"), waits_then_returns]
    return context.parallel(branches, name="suspend", config=SEQUENTIAL).get_results()


@suite.requirement("8-15")
@durable_execution
def parallel_item_serdes(event: Any, context: DurableContext) -> list[str]:
    config = ParallelConfig(max_concurrency=1, item_serdes=WrappingSerDes())
    return context.parallel([returns("x"), returns("y")], "serde", config).get_results()


@suite.requirement("8-16")
@durable_execution
def parallel_all_fail(event: Any, context: DurableContext) -> dict[str, Any]:
    config = sequential_with(CompletionConfig(tolerated_failure_count=3))
    result = context.parallel([fails(0), fails(1), fails(2)], name="all-fail", config=config)
    return batch_projection(result, *BATCH_FIELDS)


@suite.requirement("8-17")
@durable_execution
def parallel_min_successful_not_reached(event: Any, context: DurableContext) -> dict[str, Any]:
    config = sequential_with(CompletionConfig(min_successful=3))
    branches = [returns("ok"), fails(1), returns("ok")]
    result = context.parallel(branches, name="min-not-reached", config=config)
    return batch_projection(result, *BATCH_FIELDS)


@suite.requirement("8-18")
@durable_execution
def parallel_combined_criteria(event: Any, context: DurableContext) -> dict[str, Any]:
    config = sequential_with(CompletionConfig(min_successful=3, tolerated_failure_count=1))
    branches = [fails(0), fails(1), returns("ok"), returns("ok")]
    result = context.parallel(branches, name="combined", config=config)
    return batch_projection(
        result, "completionReason", "successCount", "failureCount", "totalCount"
    )


@suite.requirement("8-19")
@durable_execution
def parallel_invalid_concurrency(event: Any, context: DurableContext) -> list[str]:
    config = ParallelConfig(max_concurrency=0)
    return context.parallel([returns("a"), returns("b")], "bad-concurrency", config).get_results()


@suite.requirement("8-20")
@durable_execution
def parallel_accessors(event: Any, context: DurableContext) -> dict[str, Any]:
    config = sequential_with(CompletionConfig(tolerated_failure_count=1))
    result = context.parallel([returns("ok"), fails(1), returns("ok")], "accessors", config)
    return {
        "hasFailure": result.has_failure,
        "successCount": len(result.succeeded()),
        "failureCount": len(result.failed()),
        "errorCount": len(result.get_errors()),
    }


@suite.requirement("8-21")
@durable_execution
def parallel_nested(event: Any, context: DurableContext) -> list[list[str]]:
    def inner(ctx: DurableContext) -> list[str]:
        branches = [lambda c: c.step(lambda _: "i1"), lambda c: c.step(lambda _: "i2")]
        return ctx.parallel(branches, name="inner", config=SEQUENTIAL).get_results()

    return context.parallel([inner], name="outer", config=SEQUENTIAL).get_results()


@suite.requirement("8-22")
@durable_execution
def parallel_percentage_boundary(event: Any, context: DurableContext) -> dict[str, Any]:
    config = sequential_with(CompletionConfig(tolerated_failure_percentage=25))
    branches = [fails(0), returns("ok"), returns("ok"), returns("ok")]
    result = context.parallel(branches, name="pct-boundary", config=config)
    return batch_projection(result, *BATCH_FIELDS)


@pytest.mark.parametrize("requirement_id", suite.ids())
def test_parallel_requirement(requirement_id: str, caplog: pytest.LogCaptureFixture) -> None:
    suite.check(requirement_id, caplog)
