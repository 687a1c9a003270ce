"""Map and parallel: the seed's completion-policy scenarios, concurrency, replay, history."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from durable_lambda import (
    BatchCompletionError,
    BatchItemStatus,
    BatchResult,
    ChildContextError,
    DurableContext,
    ExecutionError,
    ParallelBranch,
    durable_execution,
    durable_parallel_branch,
)
from durable_lambda.config import (
    CompletionConfig,
    CompletionOutcome,
    CompletionStatus,
    Duration,
    MapConfig,
    NestingType,
    ParallelConfig,
    complete_batch,
    continue_batch,
)
from durable_lambda.testing import DurableFunctionTestRunner
from durable_lambda.testing.results import DurableFunctionTestResult
from examples import batch as batch_examples

Events = list[dict[str, Any]]

SEED_POLICY = CompletionConfig(min_successful=7, tolerated_failure_count=3)
"""The completion config of the seed's 10-item example."""

REPEATS = 20
"""Runs of a scenario whose outcome must not depend on how threads are scheduled."""


def run(handler: Callable[..., Any], event: Any = None) -> tuple[DurableFunctionTestResult, Events]:
    """Run ``handler`` to its end on a local engine; its result and its history."""
    with DurableFunctionTestRunner(handler) as runner:
        execution_id = runner.run_async(json.dumps(event) if event is not None else None)
        result = runner.wait_for_result(execution_id)
        events = runner.engine.get_history(execution_id)
    return result, events


def output(result: DurableFunctionTestResult) -> Any:
    assert result.execution_status is not None
    assert result.execution_status.value == "SUCCEEDED", result.error
    assert result.result is not None
    return json.loads(result.result)


def names(events: Events, event_type: str, sub_type: str | None = None) -> list[str]:
    """The names of the operations with an event of ``event_type``, in history order."""
    return [
        e.get("Name", "")
        for e in events
        if e["EventType"] == event_type and (sub_type is None or e.get("SubType") == sub_type)
    ]


def summary(result: BatchResult[Any]) -> dict[str, Any]:
    """What a handler returns about a batch, for the test to assert on."""
    return {
        "reason": result.completion_reason.value,
        "status": result.status.value,
        "items": {str(item.index): item.status.value for item in result.all},
        "results": result.get_results(),
        "succeeded": [item.index for item in result.get_succeeded()],
        "failed": [item.index for item in result.get_failed()],
        "errors": [e.message if e else None for e in result.get_errors()],
    }


def outcome_items(outcomes: str) -> list[str]:
    """Items named by their outcome: "s" succeeds, "f" fails (one letter per item)."""
    return [f"{'ok' if c == 's' else 'fail'}-{i}" for i, c in enumerate(outcomes)]


def succeed_or_fail(ctx: DurableContext, item: str, index: int, items: Sequence[str]) -> str:
    if item.startswith("fail"):
        raise ValueError(f"{item} failed")
    return item


def seed_map(outcomes: str, completion: CompletionConfig) -> Callable[..., Any]:
    """The seed's 10-item map, one item at a time: each item ends before the next starts.

    ``examples/batch.py`` runs it three at a time, as the seed does.
    """

    @durable_execution
    def handler(event: Any, context: DurableContext) -> dict[str, Any]:
        config = MapConfig[str](max_concurrency=1, completion_config=completion)
        result = context.map(outcome_items(outcomes), succeed_or_fail, "process", config)
        try:
            result.throw_if_error()
        except ChildContextError as e:
            return {**summary(result), "thrown": f"{e.error_type}: {e.message}"}
        return summary(result)

    return handler


# region the seed's completion-policy scenarios


def test_scenario_1_seven_successes_stop_after_the_seventh() -> None:
    result, events = run(seed_map("ssssssssss", SEED_POLICY))

    batch = output(result)
    assert batch["reason"] == "MIN_SUCCESSFUL_REACHED"
    assert batch["status"] == "SUCCEEDED"
    assert batch["succeeded"] == [0, 1, 2, 3, 4, 5, 6]
    assert "thrown" not in batch
    started = names(events, "ContextStarted", "MapIteration")
    assert started == [f"map-item-{i}" for i in range(7)]  # items 7, 8 and 9 never start


def test_scenario_2_three_failures_are_tolerated_by_a_tolerance_of_three() -> None:
    # The seed's table says the map stops after the 3rd failure with
    # toleratedFailureCount 3. Both AWS SDKs (and their conformance suite,
    # requirements 9-9 and 8-22) stop only once failures *exceed* the
    # tolerance: the 3rd failure is tolerated, the map goes on.
    result, events = run(seed_map("sfsfsfssff", SEED_POLICY))

    batch = output(result)
    assert batch["failed"] == [1, 3, 5, 8]
    assert batch["reason"] == "FAILURE_TOLERANCE_EXCEEDED"
    assert len(names(events, "ContextStarted", "MapIteration")) == 9


def test_scenario_2_stops_after_the_third_failure_and_throw_if_error_raises() -> None:
    # With a tolerance of 2 the 3rd failure exceeds it: 5 successes and
    # 3 failures are processed, the remaining 2 items never start.
    policy = CompletionConfig(min_successful=7, tolerated_failure_count=2)
    result, events = run(seed_map("sssfsfsfss", policy))

    batch = output(result)
    assert batch["reason"] == "FAILURE_TOLERANCE_EXCEEDED"
    assert batch["status"] == "FAILED"
    assert batch["succeeded"] == [0, 1, 2, 4, 6]
    assert batch["failed"] == [3, 5, 7]
    assert batch["errors"] == ["fail-3 failed", "fail-5 failed", "fail-7 failed"]
    assert batch["thrown"] == "ValueError: fail-3 failed"
    assert names(events, "ContextStarted", "MapIteration") == [f"map-item-{i}" for i in range(8)]
    failed = names(events, "ContextFailed", "MapIteration")
    assert failed == ["map-item-3", "map-item-5", "map-item-7"]


def test_scenario_3_seven_successes_and_two_failures_stop_after_the_seventh_success() -> None:
    result, events = run(seed_map("sfssfssss" + "s", SEED_POLICY))

    batch = output(result)
    assert batch["reason"] == "MIN_SUCCESSFUL_REACHED"
    assert batch["succeeded"] == [0, 2, 3, 5, 6, 7, 8]
    assert batch["failed"] == [1, 4]
    assert batch["thrown"] == "ValueError: fail-1 failed"  # a failed item still raises
    assert len(names(events, "ContextStarted", "MapIteration")) == 9  # item 9 never starts


def test_early_termination_with_min_successful_one_processes_one_candidate() -> None:
    checked: list[int] = []

    @durable_execution
    def handler(event: Any, context: DurableContext) -> Any:
        def check(ctx: DurableContext, candidate: int, index: int, items: Sequence[int]) -> int:
            return ctx.step(lambda _: checked.append(candidate) or candidate, name="check")

        results = context.map(
            [11, 12, 13, 14],
            check,
            "find-match",
            MapConfig(max_concurrency=1, completion_config=CompletionConfig.first_successful()),
        )
        if results.success_count > 0:
            return results.get_succeeded()[0].result
        return None

    result, events = run(handler)

    assert output(result) == 11
    assert checked == [11]
    assert names(events, "ContextStarted", "MapIteration") == ["map-item-0"]


def test_items_in_flight_at_completion_are_reported_started_and_never_recorded_further() -> None:
    # The seed's example shape: 10 items, 3 at a time, min_successful 7.
    # Items 7 and 8 are admitted as slots free up and block until the map has
    # returned; item 6, the 7th success, waits until they have started; item
    # 9 is never admitted.
    entered: set[int] = set()
    progress = threading.Condition()
    release = threading.Event()

    @durable_execution
    def handler(event: Any, context: DurableContext) -> dict[str, Any]:
        def process(ctx: DurableContext, item: int, index: int, items: Sequence[int]) -> int:
            def body(_: Any) -> int:
                with progress:
                    entered.add(item)
                    progress.notify_all()
                    if item == 6:
                        progress.wait_for(lambda: {7, 8} <= entered, timeout=30)
                if item >= 7:
                    release.wait(timeout=30)
                return item

            return ctx.step(body, name=f"work-{item}")

        config = MapConfig[int](max_concurrency=3, completion_config=SEED_POLICY)
        batch = context.map(list(range(10)), process, "process", config)
        release.set()
        context.wait(Duration.from_seconds(1))  # the replay returns the recorded result
        return summary(batch)

    result, events = run(handler)

    batch = output(result)
    assert batch["reason"] == "MIN_SUCCESSFUL_REACHED"
    in_flight = {"7": "STARTED", "8": "STARTED"}
    assert batch["items"] == {**{str(i): "SUCCEEDED" for i in range(7)}, **in_flight}
    started = sorted(names(events, "ContextStarted", "MapIteration"))
    assert started == sorted(f"map-item-{i}" for i in range(9))
    assert sorted(names(events, "StepStarted")) == [f"work-{i}" for i in range(9)]
    assert sorted(names(events, "StepSucceeded")) == [f"work-{i}" for i in range(7)]
    succeeded = names(events, "ContextSucceeded")
    assert "map-item-7" not in succeeded
    assert "map-item-8" not in succeeded
    assert names(events, "ContextSucceeded", "Map") == ["process"]


# endregion
# region concurrency


@pytest.mark.parametrize("operation", ["map", "parallel"])
def test_quick_items_start_in_index_order(operation: str) -> None:
    started: list[int] = []

    def start(index: int) -> int:
        started.append(index)
        return index

    def item(ctx: DurableContext, value: int, index: int, items: Sequence[int]) -> int:
        return start(index)

    def branch(index: int) -> Callable[[DurableContext], int]:
        return lambda ctx: start(index)

    @durable_execution
    def handler(event: Any, context: DurableContext) -> list[int]:
        if operation == "map":
            config = MapConfig[int](max_concurrency=3)
            return context.map(list(range(10)), item, "quick", config).get_results()
        branches = [branch(i) for i in range(10)]
        return context.parallel(branches, "quick", ParallelConfig(max_concurrency=3)).get_results()

    for _ in range(REPEATS):
        started.clear()
        result, _ = run(handler)
        assert output(result) == list(range(10))
        assert started == list(range(10))


def test_items_ending_out_of_order_count_in_the_order_they_started() -> None:
    # Each item takes its own few milliseconds, so items end in another
    # order each run; the map still stops where items ending in index order
    # stop it: at the 4th failure (item 8), with item 9 in flight.
    outcomes = "sfsfsfssff"

    @durable_execution
    def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
        def process(ctx: DurableContext, item: str, index: int, items: Sequence[str]) -> str:
            ctx.step(lambda _: time.sleep(event["delays"][index]), name=f"work-{index}")
            return succeed_or_fail(ctx, item, index, items)

        config = MapConfig[str](max_concurrency=3, completion_config=SEED_POLICY)
        return summary(context.map(outcome_items(outcomes), process, "process", config))

    timings = random.Random(0)
    for _ in range(REPEATS):
        result, _ = run(handler, {"delays": [timings.uniform(0, 0.02) for _ in outcomes]})
        batch = output(result)
        assert batch["reason"] == "FAILURE_TOLERANCE_EXCEEDED"
        assert batch["succeeded"] == [0, 2, 4, 6, 7]
        assert batch["failed"] == [1, 3, 5, 8]
        assert batch["items"]["9"] == "STARTED"


def test_an_item_running_long_after_later_ones_ended_no_longer_holds_them_back() -> None:
    # Item 0 runs until the map has returned. The ends of items 1 and 2 wait
    # for it a moment (LATE_AFTER_SECONDS), then count without it.
    release = threading.Event()

    @durable_execution
    def handler(event: Any, context: DurableContext) -> dict[str, Any]:
        def process(ctx: DurableContext, item: int, index: int, items: Sequence[int]) -> int:
            def work(_: Any) -> int:
                if item == 0:
                    release.wait(timeout=30)
                return item

            return ctx.step(work, name=f"work-{item}")

        config = MapConfig[int](max_concurrency=3, completion_config=SEED_POLICY)
        batch = context.map(list(range(10)), process, "process", config)
        release.set()
        return summary(batch)

    result, _ = run(handler)

    batch = output(result)
    assert batch["reason"] == "MIN_SUCCESSFUL_REACHED"
    assert batch["succeeded"] == [1, 2, 3, 4, 5, 6, 7]
    assert batch["items"] == {
        "0": "STARTED",
        **{str(i): "SUCCEEDED" for i in range(1, 8)},
        "8": "STARTED",
    }


@pytest.mark.parametrize("limit", [1, 3])
def test_max_concurrency_is_never_exceeded(limit: int) -> None:
    active = 0
    most = 0
    lock = threading.Condition()

    def body(ctx: DurableContext, item: int, index: int, items: Sequence[int]) -> int:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
            lock.notify_all()
            # The first wave waits until the limit is reached, proving it is reached.
            lock.wait_for(lambda: most >= limit, timeout=10)
        try:
            return ctx.step(lambda _: item)
        finally:
            with lock:
                active -= 1

    @durable_execution
    def handler(event: Any, context: DurableContext) -> list[int]:
        config = MapConfig[int](max_concurrency=limit)
        return context.map(list(range(12)), body, "limited", config).get_results()

    result, _ = run(handler)

    assert output(result) == list(range(12))
    assert most == limit


def test_results_keep_input_order_whatever_order_items_finish_in() -> None:
    finished: list[int] = []
    turn = threading.Condition()

    def body(ctx: DurableContext, item: int, index: int, items: Sequence[int]) -> int:
        # Items finish in reverse order: each waits for the next one to finish.
        with turn:
            turn.wait_for(lambda: (finished[-1] if finished else 5) == item + 1, timeout=10)
        value = ctx.step(lambda _: item * item)
        with turn:
            finished.append(item)
            turn.notify_all()
        return value

    @durable_execution
    def handler(event: Any, context: DurableContext) -> list[int]:
        return context.map(list(range(5)), body, "reversed").get_results()

    result, _ = run(handler)

    assert finished == [4, 3, 2, 1, 0]
    assert output(result) == [0, 1, 4, 9, 16]


def test_thousand_items_that_each_wait_once() -> None:
    runs: Counter[int] = Counter()

    @durable_execution
    def handler(event: Any, context: DurableContext) -> int:
        def item(ctx: DurableContext, value: int, index: int, items: Sequence[int]) -> int:
            ctx.wait(Duration.from_seconds(1))
            return ctx.step(lambda _: runs.update([value]) or value)

        config = MapConfig[int](max_concurrency=100)
        return sum(context.map(list(range(1000)), item, "fan-out", config).get_results())

    result, events = run(handler)

    assert output(result) == sum(range(1000))
    assert set(runs.values()) == {1}  # each step ran exactly once
    assert len(runs) == 1000
    assert len(names(events, "WaitSucceeded")) == 1000
    assert len(names(events, "ContextSucceeded", "MapIteration")) == 1000


def test_nested_map_inside_parallel() -> None:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> list[Any]:
        def squares(ctx: DurableContext) -> list[int]:
            inner = ctx.map(
                [1, 2, 3], lambda c, item, i, items: c.step(lambda _: item * item), "squares"
            )
            return inner.get_results()

        branches = [
            ParallelBranch(squares, name="map-branch"),
            ParallelBranch(lambda ctx: ctx.step(lambda _: "done", name="solo"), name="step-branch"),
        ]
        return context.parallel(branches, "outer").get_results()

    result, events = run(handler)

    assert output(result) == [[1, 4, 9], "done"]
    by_name = {e["Name"]: e for e in events if e["EventType"] == "ContextStarted"}
    assert by_name["outer"]["SubType"] == "Parallel"
    assert by_name["map-branch"]["SubType"] == "ParallelBranch"
    assert by_name["map-branch"]["ParentId"] == by_name["outer"]["Id"]
    assert by_name["squares"]["SubType"] == "Map"
    assert by_name["squares"]["ParentId"] == by_name["map-branch"]["Id"]
    for i in range(3):
        assert by_name[f"map-item-{i}"]["ParentId"] == by_name["squares"]["Id"]
    assert names(events, "ContextSucceeded", "Parallel") == ["outer"]


# endregion
# region replay


def test_map_resumes_only_unfinished_items_and_never_reruns_finished_ones() -> None:
    calls: Counter[int] = Counter()

    @durable_execution
    def handler(event: Any, context: DurableContext) -> list[str]:
        def item(ctx: DurableContext, value: int, index: int, items: Sequence[int]) -> str:
            calls.update([value])
            if value % 2:
                ctx.wait(Duration.from_seconds(5))
            return ctx.step(lambda _: f"item-{value}")

        config = MapConfig[int](max_concurrency=1)
        return context.map(list(range(6)), item, "half-wait", config).get_results()

    result, events = run(handler)

    assert output(result) == [f"item-{i}" for i in range(6)]
    # Odd items run before and after their wait; finished items are only read.
    assert calls == {0: 1, 1: 2, 2: 1, 3: 2, 4: 1, 5: 2}
    assert len(names(events, "InvocationCompleted")) == 4
    assert len(names(events, "ContextStarted", "MapIteration")) == 6
    assert len(names(events, "ContextSucceeded", "MapIteration")) == 6


def test_flat_branches_replay_after_suspending() -> None:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> list[str]:
        def branch(label: str) -> Callable[[DurableContext], str]:
            def run_branch(ctx: DurableContext) -> str:
                ctx.wait(Duration.from_seconds(1), name=f"wait-{label}")
                return ctx.step(lambda _: label, name=f"step-{label}")

            return run_branch

        config = ParallelConfig(nesting_type=NestingType.FLAT)
        return context.parallel([branch("a"), branch("b")], "flat", config).get_results()

    result, events = run(handler)

    assert output(result) == ["a", "b"]
    assert names(events, "ContextStarted") == ["flat"]
    parallel_id = next(e["Id"] for e in events if e["EventType"] == "ContextStarted")
    steps = [e for e in events if e["EventType"] == "StepSucceeded"]
    assert {e["ParentId"] for e in steps} == {parallel_id}


def test_large_result_is_rebuilt_from_its_summary_on_replay() -> None:
    calls: Counter[int] = Counter()

    @durable_execution
    def handler(event: Any, context: DurableContext) -> dict[str, Any]:
        def big(ctx: DurableContext, value: int, index: int, items: Sequence[int]) -> str:
            calls.update([value])
            return str(value) * 70_000

        config = MapConfig[int](
            max_concurrency=1,
            completion_config=CompletionConfig(min_successful=4),
            summary_generator=lambda result: f"{result.success_count} large items",
        )
        batch = context.map(list(range(6)), big, "large", config)
        context.wait(Duration.from_seconds(1))
        return {**summary(batch), "results": [len(r) for r in batch.get_results()]}

    result, events = run(handler)

    batch = output(result)
    assert batch["reason"] == "MIN_SUCCESSFUL_REACHED"
    assert batch["results"] == [70_000] * 4
    assert batch["items"] == {str(i): "SUCCEEDED" for i in range(4)}
    assert calls == {0: 1, 1: 1, 2: 1, 3: 1}  # replay reads the items' records
    recorded = next(
        e for e in events if e["EventType"] == "ContextSucceeded" and e.get("SubType") == "Map"
    )
    envelope = json.loads(recorded["ContextSucceededDetails"]["Result"]["Payload"])
    assert envelope == {
        "type": "MapResult",
        "totalCount": 4,
        "completionReason": "MIN_SUCCESSFUL_REACHED",
        "startedIndexes": [],
        "startedCount": 0,
        "successCount": 4,
        "failureCount": 0,
        "status": "SUCCEEDED",
        "summary": "4 large items",
    }


# endregion
# region completion decisions, errors and validation


def test_custom_completion_decision_can_complete_a_batch_as_failed() -> None:
    def two_successes_are_too_few(status: CompletionStatus) -> Any:
        if status.success_count == 2:
            return complete_batch(CompletionOutcome.FAILED)
        return continue_batch()

    @durable_execution
    def handler(event: Any, context: DurableContext) -> dict[str, Any]:
        config = MapConfig[str](
            max_concurrency=1,
            completion_config=CompletionConfig(should_complete=two_successes_are_too_few),
        )
        batch = context.map(["a", "b", "c"], lambda c, item, i, items: item, "quorum", config)
        try:
            batch.throw_if_error()
        except BatchCompletionError as e:
            return {**summary(batch), "thrown": e.message}
        return summary(batch)

    result, _ = run(handler)

    batch = output(result)
    assert batch["reason"] == "CUSTOM_COMPLETION_FAILED"
    assert batch["status"] == "FAILED"
    assert batch["items"] == {"0": "SUCCEEDED", "1": "SUCCEEDED"}
    assert "CUSTOM_COMPLETION_FAILED" in batch["thrown"]


def test_failed_item_keeps_the_error_that_escaped_it() -> None:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> dict[str, Any]:
        def item(ctx: DurableContext, value: str, index: int, items: Sequence[str]) -> str:
            if value == "bad":
                raise KeyError("no such key")
            return value

        config = MapConfig[str](completion_config=CompletionConfig.all_completed())
        batch = context.map(["good", "bad"], item, "errors", config)
        error = batch.get_errors()[0]
        assert error is not None
        return {"type": error.type, "message": error.message, **summary(batch)}

    result, events = run(handler)

    batch = output(result)
    assert batch["type"] == "KeyError"
    assert batch["message"] == "'no such key'"
    assert batch["reason"] == "ALL_COMPLETED"
    failed = next(e for e in events if e["EventType"] == "ContextFailed")
    assert failed["ContextFailedDetails"]["Error"]["Payload"]["ErrorType"] == "KeyError"


def test_an_execution_error_in_a_branch_fails_the_execution_not_the_branch() -> None:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> Any:
        def broken(ctx: DurableContext) -> None:
            raise ExecutionError("cannot go on")

        config = ParallelConfig(completion_config=CompletionConfig.all_completed())
        return context.parallel([lambda ctx: "fine", broken], "fatal", config).get_results()

    result, events = run(handler)

    assert result.execution_status is not None
    assert result.execution_status.value == "FAILED"
    assert result.error is not None
    assert result.error.message == "cannot go on"
    assert "ContextFailed" not in [e["EventType"] for e in events]


@pytest.mark.parametrize(
    ("make_config", "message"),
    [
        (lambda: CompletionConfig(tolerated_failure_count=-1), "tolerated_failure_count"),
        (lambda: CompletionConfig(tolerated_failure_percentage=101), "between 0 and 100"),
        (lambda: CompletionConfig(min_successful=4), "min_successful cannot be greater"),
        (lambda: CompletionConfig(min_successful=0), "min_successful must be at least 1"),
    ],
)
def test_invalid_completion_config_is_refused_before_anything_is_recorded(
    make_config: Callable[[], CompletionConfig], message: str
) -> None:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> Any:
        config = MapConfig[int](completion_config=make_config())
        return context.map([1, 2, 3], lambda c, item, i, items: item, "checked", config)

    result, events = run(handler)

    assert result.error is not None
    assert result.error.type == "durable_lambda.exceptions.ValidationError"
    assert message in (result.error.message or "")
    assert [e["EventType"] for e in events] == [
        "ExecutionStarted",
        "InvocationCompleted",
        "ExecutionFailed",
    ]


def test_map_inputs_must_be_a_sequence() -> None:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> Any:
        return context.map(iter([1, 2]), lambda c, item, i, items: item)  # type: ignore[arg-type]

    result, events = run(handler)

    assert result.error is not None
    expected = "map inputs must be a sequence (list or tuple), got list_iterator"
    assert result.error.message == expected
    assert len(events) == 3


def test_item_namer_that_raises_fails_the_map_operation() -> None:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> Any:
        def namer(item: int, index: int) -> str:
            raise ValueError(f"cannot name item {item}")

        config = MapConfig[int](item_namer=namer)
        return context.map([1], lambda c, item, i, items: item, "unnamed", config)

    result, events = run(handler)

    assert result.error is not None
    assert result.error.type == "durable_lambda.exceptions.ChildContextError"
    assert result.error.message == "cannot name item 1"
    failed = next(e for e in events if e["EventType"] == "ContextFailed")
    assert failed["SubType"] == "Map"
    assert failed["ContextFailedDetails"]["Error"]["Payload"]["ErrorType"] == "ValueError"


def test_changing_nesting_between_invocations_is_refused_as_non_deterministic() -> None:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> Any:
        # The replay runs the branches FLAT, as if the code had been changed.
        nesting = NestingType.FLAT if context.is_replaying() else NestingType.NESTED

        def item(ctx: DurableContext, value: int, index: int, items: Sequence[int]) -> int:
            ctx.wait(Duration.from_seconds(1))
            return value

        config = MapConfig[int](nesting_type=nesting)
        return context.map([1, 2], item, "nesting", config).get_results()

    result, _ = run(handler)

    assert result.error is not None
    assert result.error.type == "durable_lambda.exceptions.NonDeterministicExecutionError"
    assert "recorded as a NESTED branch context" in (result.error.message or "")


def test_renaming_a_branch_between_invocations_is_refused_as_non_deterministic() -> None:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> Any:
        name = "renamed" if context.is_replaying() else "original"

        def waits(ctx: DurableContext) -> str:
            ctx.wait(Duration.from_seconds(1))
            return "done"

        branch = ParallelBranch(waits, name=name)
        return context.parallel([branch], "renaming").get_results()

    result, _ = run(handler)

    assert result.error is not None
    assert "named 'original'" in (result.error.message or "")
    assert "named 'renamed'" in (result.error.message or "")


def test_decorated_parallel_branches_carry_their_names() -> None:
    @durable_parallel_branch(name="fetch-user")
    def fetch_user(ctx: DurableContext, user_id: str) -> str:
        return ctx.step(lambda _: f"user {user_id}")

    @durable_parallel_branch(name="fetch-orders")
    def fetch_orders(ctx: DurableContext, user_id: str) -> list[str]:
        return ctx.step(lambda _: [f"order of {user_id}"])

    @durable_execution
    def handler(event: Any, context: DurableContext) -> list[Any]:
        branches = [fetch_user("u-1"), fetch_orders("u-1")]
        return context.parallel(branches, "load-data").get_results()

    result, events = run(handler)

    assert output(result) == ["user u-1", ["order of u-1"]]
    branch_names = sorted(names(events, "ContextSucceeded", "ParallelBranch"))
    assert branch_names == ["fetch-orders", "fetch-user"]


# endregion


def test_batch_result_accessors_name_items_by_status() -> None:
    batch = BatchResult.from_dict(
        {
            "all": [
                {"index": 0, "status": "SUCCEEDED", "result": "a", "error": None},
                {"index": 1, "status": "FAILED", "result": None, "error": {"ErrorMessage": "x"}},
                {"index": 2, "status": "STARTED", "result": None, "error": None},
            ]
        },
        CompletionConfig(min_successful=1),
    )

    assert batch.completion_reason.value == "MIN_SUCCESSFUL_REACHED"
    assert [i.index for i in batch.get_succeeded()] == [0]
    assert [i.index for i in batch.get_failed()] == [1]
    assert [i.index for i in batch.started()] == [2]
    assert (batch.success_count, batch.failure_count, batch.started_count) == (1, 1, 1)
    assert batch.all[2].status is BatchItemStatus.STARTED
    with pytest.raises(ChildContextError, match="x"):
        batch.throw_if_error()


# region the examples


STEP_ERROR_OF_ITEM_1 = "durable_lambda.exceptions.StepError: item 1 could not be processed"
"""What ``throw_if_error`` raises in the example: the first failed item's step error."""


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        # 7 successes: items 7 and 8 are in flight, item 9 never starts.
        (
            "ssssssssss",
            {
                "completion_reason": "MIN_SUCCESSFUL_REACHED",
                "succeeded": [0, 1, 2, 3, 4, 5, 6],
                "failed": [],
                "in_flight": [7, 8],
                "not_started": [9],
                "throw_if_error": None,
            },
        ),
        # The 4th failure (item 8) exceeds the tolerance of 3; item 9 is in flight.
        (
            "sfsfsfssff",
            {
                "completion_reason": "FAILURE_TOLERANCE_EXCEEDED",
                "succeeded": [0, 2, 4, 6, 7],
                "failed": [1, 3, 5, 8],
                "in_flight": [9],
                "not_started": [],
                "throw_if_error": STEP_ERROR_OF_ITEM_1,
            },
        ),
        # 7 successes and 2 failures: 1 item (9) not processed.
        (
            "sfssfsssss",
            {
                "completion_reason": "MIN_SUCCESSFUL_REACHED",
                "succeeded": [0, 2, 3, 5, 6, 7, 8],
                "failed": [1, 4],
                "in_flight": [9],
                "not_started": [],
                "throw_if_error": STEP_ERROR_OF_ITEM_1,
            },
        ),
    ],
)
def test_example_completion_policy_stops_where_the_aws_sdk_does(
    outcomes: str, expected: dict[str, Any]
) -> None:
    for _ in range(REPEATS):
        result, _ = run(batch_examples.process_items, {"outcomes": outcomes})
        assert output(result) == expected


def test_example_find_match_stops_at_the_first_match() -> None:
    event = {"candidates": ["a", "b", "c", "d"], "wanted": "b"}
    result, events = run(batch_examples.find_match, event)

    assert output(result) == "b"
    assert names(events, "ContextStarted", "MapIteration") == ["map-item-0", "map-item-1"]


# endregion
