"""Conformance suite "map" (tests/conformance/map): one handler per requirement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from conformance_harness import BATCH_FIELDS, Suite, batch_projection

from durable_lambda import BatchItemStatus, BatchResult, DurableContext, durable_execution
from durable_lambda.concurrency.models import BatchItem, CompletionReason
from durable_lambda.config import CompletionConfig, Duration, MapConfig, NestingType
from durable_lambda.serdes import ExtendedTypeSerDes, SerDes, SerDesContext

suite = Suite("map")

SEQUENTIAL = MapConfig[Any](max_concurrency=1)


def ok_or_fail(ctx: DurableContext, item: str, index: int, items: Sequence[str]) -> str:
    """A map function: an item "fail" raises, any other returns itself."""
    if item == "fail":
        raise RuntimeError(f"item {index} failed")
    return item


class WrappingSerDes(SerDes[str]):
    """Records an item's result as ``wrapped:<value>``."""

    def serialize(self, value: str, serdes_context: SerDesContext) -> str:
        return f"wrapped:{value}"

    def deserialize(self, data: str, serdes_context: SerDesContext) -> str:
        return data.removeprefix("wrapped:")


class OpSerDes(SerDes[BatchResult[str]]):
    """Records a whole batch of strings as ``OPSERDE:<results joined by commas>``."""

    def serialize(self, value: BatchResult[str], serdes_context: SerDesContext) -> str:
        return "OPSERDE:" + ",".join(value.get_results())

    def deserialize(self, data: str, serdes_context: SerDesContext) -> BatchResult[str]:
        results = data.removeprefix("OPSERDE:").split(",")
        items = [BatchItem(i, BatchItemStatus.SUCCEEDED, r) for i, r in enumerate(results)]
        return BatchResult(items, CompletionReason.ALL_COMPLETED)


OP_SERDES_CONFIG = MapConfig[str](
    max_concurrency=1, serdes=OpSerDes(), item_serdes=ExtendedTypeSerDes()
)


@suite.requirement("9-1")
@durable_execution
def map_basic(event: list[str], context: DurableContext) -> list[str]:
    def greet(ctx: DurableContext, item: str, index: int, items: Sequence[str]) -> str:
        return ctx.step(lambda _: f"Hello, {item}!")

    return context.map(event, greet, name="map", config=SEQUENTIAL).get_results()


@suite.requirement("9-2")
@durable_execution
def map_items_only(event: list[int], context: DurableContext) -> list[int]:
    return context.map(event, lambda ctx, item, i, items: item * 2, config=SEQUENTIAL).get_results()


@suite.requirement("9-3")
@durable_execution
def map_item_and_index(event: list[int], context: DurableContext) -> list[int]:
    result = context.map(event, lambda ctx, item, i, items: item + i, "indexed", SEQUENTIAL)
    return result.get_results()


@suite.requirement("9-4")
@durable_execution
def map_empty(event: list[int], context: DurableContext) -> list[int]:
    return context.map(event, lambda ctx, item, i, items: item, name="empty").get_results()


@suite.requirement("9-5")
@durable_execution
def map_fail_fast(event: Any, context: DurableContext) -> dict[str, Any]:
    config = MapConfig[str](
        max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=0)
    )
    result = context.map(["ok", "fail", "ok"], ok_or_fail, name="failfast", config=config)
    return batch_projection(result, *BATCH_FIELDS)


@suite.requirement("9-6")
@durable_execution
def map_throw_if_error(event: Any, context: DurableContext) -> None:
    config = MapConfig[str](
        max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=0)
    )
    context.map(["fail", "ok"], ok_or_fail, name="throwing", config=config).throw_if_error()


@suite.requirement("9-7")
@durable_execution
def map_min_successful(event: Any, context: DurableContext) -> dict[str, Any]:
    config = MapConfig[str](max_concurrency=1, completion_config=CompletionConfig(min_successful=2))
    result = context.map(["ok"] * 4, ok_or_fail, name="min-successful", config=config)
    return batch_projection(result, "completionReason", "successCount", "totalCount")


@suite.requirement("9-8")
@durable_execution
def map_tolerated(event: Any, context: DurableContext) -> dict[str, Any]:
    config = MapConfig[str](
        max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=1)
    )
    result = context.map(["ok", "fail", "ok"], ok_or_fail, name="tolerated", config=config)
    return batch_projection(result, *BATCH_FIELDS)


@suite.requirement("9-9")
@durable_execution
def map_tolerance_exceeded(event: Any, context: DurableContext) -> dict[str, Any]:
    config = MapConfig[str](
        max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=1)
    )
    items = ["fail", "fail", "ok"]
    result = context.map(items, ok_or_fail, name="tolerated-exceeded", config=config)
    return batch_projection(
        result, "completionReason", "successCount", "failureCount", "totalCount"
    )


@suite.requirement("9-10")
@durable_execution
def map_tolerated_percentage(event: Any, context: DurableContext) -> dict[str, Any]:
    config = MapConfig[str](
        max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_percentage=25)
    )
    items = ["fail", "fail", "ok", "ok"]
    result = context.map(items, ok_or_fail, name="tolerated-pct", config=config)
    return batch_projection(
        result, "completionReason", "successCount", "failureCount", "totalCount"
    )


@suite.requirement("9-11")
@durable_execution
def map_concurrent(event: Any, context: DurableContext) -> list[str]:
    result = context.map(
        [0, 1, 2],
        lambda ctx, item, i, items: f"r{item}",
        name="concurrent",
        config=MapConfig(max_concurrency=2),
    )
    return result.get_results()


@suite.requirement("9-12")
@durable_execution
def map_flat(event: Any, context: DurableContext) -> list[str]:
    config = MapConfig[str](max_concurrency=1, nesting_type=NestingType.FLAT)
    result = context.map(
        ["fa", "fb"], lambda ctx, item, i, items: ctx.step(lambda _: item), "flat", config
    )
    return result.get_results()


@suite.requirement("9-13")
@durable_execution
def map_item_namer(event: list[int], context: DurableContext) -> list[int]:
    config = MapConfig[int](max_concurrency=1, item_namer=lambda item, index: f"item-{item}")
    result = context.map(event, lambda ctx, item, i, items: item * 10, "named-items", config)
    return result.get_results()


@suite.requirement("9-14")
@durable_execution
def map_item_serdes(event: Any, context: DurableContext) -> list[str]:
    config = MapConfig[str](max_concurrency=1, item_serdes=WrappingSerDes())
    result = context.map(["x", "y"], lambda ctx, item, i, items: item.upper(), "serdes", config)
    return result.get_results()


@suite.requirement("9-15")
@durable_execution
def map_item_suspends(event: Any, context: DurableContext) -> list[str]:
    def func(ctx: DurableContext, item: str, index: int, items: Sequence[str]) -> str:
        if index == 1:
            ctx.wait(Duration.from_seconds(1))
        return ctx.step(lambda _: item)

    return context.map(["r0", "r1"], func, name="suspend", config=SEQUENTIAL).get_results()


@suite.requirement("9-16")
@durable_execution
def map_large_result(event: Any, context: DurableContext) -> dict[str, Any]:
    result = context.map(
        [0, 1, 2, 3],
        lambda ctx, item, i, items: str(item) * 70_000,
        name="large",
        config=SEQUENTIAL,
    )
    return batch_projection(result, "successCount", "totalCount")


@suite.requirement("9-17")
@durable_execution
def map_then_wait(event: Any, context: DurableContext) -> list[str]:
    result = context.map(
        ["a", "b"], lambda ctx, item, i, items: item.upper(), name="then-wait", config=SEQUENTIAL
    )
    context.wait(Duration.from_seconds(1))
    return result.get_results()


@suite.requirement("9-18")
@durable_execution
def map_failure_then_wait(event: Any, context: DurableContext) -> dict[str, Any]:
    config = MapConfig[str](
        max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=1)
    )
    result = context.map(["ok", "fail"], ok_or_fail, name="fail-then-wait", config=config)
    context.wait(Duration.from_seconds(1))
    return batch_projection(result, *BATCH_FIELDS)


@suite.requirement("9-19")
@durable_execution
def map_operation_serdes(event: Any, context: DurableContext) -> list[str]:
    result = context.map(
        ["x", "y"], lambda ctx, item, i, items: item.upper(), "op-serde", OP_SERDES_CONFIG
    )
    return result.get_results()


@suite.requirement("9-20")
@durable_execution
def map_operation_serdes_replayed(event: Any, context: DurableContext) -> list[str]:
    result = context.map(
        ["x", "y"], lambda ctx, item, i, items: item.upper(), "op-serde-replay", OP_SERDES_CONFIG
    )
    context.wait(Duration.from_seconds(1))
    return result.get_results()


@pytest.mark.parametrize("requirement_id", suite.ids())
def test_map_requirement(requirement_id: str, caplog: pytest.LogCaptureFixture) -> None:
    suite.check(requirement_id, caplog)
