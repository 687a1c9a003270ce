"""Completion policies and early termination (Python twins of the seed's batch patterns).

``process_items`` is the seed's 10-item map: three items at a time, complete
once 7 items succeed, tolerate 3 failures. The event says which items fail
("outcomes": one "s" or "f" per item), so each of the seed's scenarios can be
played. A failure tolerance is exceeded strictly, as in the AWS SDKs: with
``tolerated_failure_count=3`` the 4th failure stops the map, not the 3rd.
Items start in index order and their outcomes count in that order, as on AWS,
so a scenario stops at the same item every run: "ssssssssss" after item 6 (7
successes), with items 7 and 8 in flight and item 9 never started;
"sfssfsssss" (7 successes, 2 failures) after item 8, with item 9 in flight.
``find_match`` stops at the first candidate that matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from durable_lambda import ChildContextError, DurableContext, durable_execution
from durable_lambda.config import CompletionConfig, MapConfig, StepConfig
from durable_lambda.retries import RetryPresets

NO_RETRY = StepConfig(retry_strategy=RetryPresets.none())


class ItemFailedError(Exception):
    """Processing one item failed."""


def process_item(item: dict[str, Any]) -> str:
    if item["outcome"] == "f":
        raise ItemFailedError(f"item {item['id']} could not be processed")
    return f"processed {item['id']}"


@durable_execution
def process_items(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    items = [{"id": i, "outcome": outcome} for i, outcome in enumerate(event["outcomes"])]

    def process(ctx: DurableContext, item: dict[str, Any], index: int, _: Sequence[Any]) -> str:
        return ctx.step(lambda _: process_item(item), name=f"process-{index}", config=NO_RETRY)

    results = context.map(
        items,
        process,
        name="process",
        config=MapConfig(
            max_concurrency=3,
            completion_config=CompletionConfig(min_successful=7, tolerated_failure_count=3),
        ),
    )
    context.logger.info(
        "Map completed",
        extra={"reason": results.completion_reason.value, "successes": results.success_count},
    )
    try:
        results.throw_if_error()
        error = None
    except ChildContextError as e:
        error = f"{e.error_type}: {e.message}"
    return {
        "completion_reason": results.completion_reason.value,
        "succeeded": [item.index for item in results.get_succeeded()],
        "failed": [item.index for item in results.get_failed()],
        "in_flight": [item.index for item in results.started()],
        "not_started": [i for i in range(len(items)) if i >= results.total_count],
        "throw_if_error": error,
    }


def matches(candidate: str, wanted: str) -> bool:
    return candidate == wanted


@durable_execution
def find_match(event: dict[str, Any], context: DurableContext) -> str | None:
    def check(ctx: DurableContext, candidate: str, index: int, _: Sequence[str]) -> str:
        if not ctx.step(lambda _: matches(candidate, event["wanted"]), name="check-match"):
            raise LookupError(f"{candidate} does not match")
        return candidate

    # Stop after the first success; failures (non-matches) do not stop the search.
    results = context.map(
        event["candidates"],
        check,
        name="find-match",
        config=MapConfig(max_concurrency=1, completion_config=CompletionConfig(min_successful=1)),
    )
    if results.success_count > 0:
        match: str = results.get_succeeded()[0].result  # type: ignore[assignment]
        context.logger.info("Found match", extra={"match": match})
        return match
    return None
