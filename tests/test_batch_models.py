"""Completion policy, completion records, and orphaned branches, one piece at a time."""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from durable_lambda.clock import SystemClock
from durable_lambda.concurrency.models import (
    BatchItem,
    BatchResult,
    CompletionPolicy,
    CompletionReason,
    CompletionRecord,
    envelope_summary_generator,
)
from durable_lambda.config import (
    BatchItemStatus,
    CompletionConfig,
    CompletionOutcome,
    CompletionStatus,
    complete_batch,
    continue_batch,
)
from durable_lambda.exceptions import OrphanedChildException
from durable_lambda.identifier import OperationIdentifier, enclosing_operation_ids
from durable_lambda.lambda_service import OperationAction, OperationSubType, OperationType
from durable_lambda.state import ExecutionState
from durable_lambda.store import SqliteStore
from durable_lambda.store.contract import NewExecution

# region completion policy


EXCEEDED = CompletionReason.FAILURE_TOLERANCE_EXCEEDED
MIN_REACHED = CompletionReason.MIN_SUCCESSFUL_REACHED
ALL = CompletionReason.ALL_COMPLETED
SEED = CompletionConfig(min_successful=7, tolerated_failure_count=3)


@pytest.mark.parametrize(
    ("config", "total", "counts", "completes_as"),
    [
        # No criteria: fail fast on the first failure.
        (None, 3, (1, 0), None),
        (None, 3, (1, 1), EXCEEDED),
        (None, 3, (3, 0), ALL),
        # Tolerances are exceeded strictly.
        (CompletionConfig(tolerated_failure_count=2), 10, (0, 2), None),
        (CompletionConfig(tolerated_failure_count=2), 10, (0, 3), EXCEEDED),
        (CompletionConfig(tolerated_failure_percentage=25), 4, (0, 1), None),
        (CompletionConfig(tolerated_failure_percentage=25), 4, (0, 2), EXCEEDED),
        (CompletionConfig(tolerated_failure_percentage=0), 4, (0, 1), EXCEEDED),
        # min_successful alone tolerates any failure.
        (CompletionConfig(min_successful=2), 4, (1, 2), None),
        (CompletionConfig(min_successful=2), 4, (2, 1), MIN_REACHED),
        # The first criterion met wins; every item finished is ALL_COMPLETED.
        (SEED, 10, (6, 3), None),
        (SEED, 10, (7, 2), MIN_REACHED),
        (SEED, 10, (7, 3), ALL),
        (SEED, 10, (5, 4), EXCEEDED),
        (CompletionConfig.all_completed(), 3, (1, 2), ALL),
        (CompletionConfig.all_successful(), 3, (2, 1), EXCEEDED),
    ],
)
def test_completion_policy(
    config: CompletionConfig | None,
    total: int,
    counts: tuple[int, int],
    completes_as: CompletionReason | None,
) -> None:
    succeeded, failed = counts
    policy = CompletionPolicy.from_config(total, config)

    done = policy.is_complete(succeeded, failed) or not policy.should_continue(failed)

    assert done is (completes_as is not None)
    if completes_as is not None:
        assert policy.reason(succeeded, failed) is completes_as


def test_completion_predicate_decides_alone_and_sees_every_item() -> None:
    seen: list[CompletionStatus] = []

    def quorum(status: CompletionStatus) -> Any:
        seen.append(status)
        if status.success_count >= 2:
            return complete_batch()
        if status.failure_count >= 2:
            return complete_batch(CompletionOutcome.FAILED)
        return continue_batch()

    policy = CompletionPolicy.from_config(5, CompletionConfig(should_complete=quorum))

    assert policy.should_continue(4)  # tolerance never applies with a predicate
    assert not policy.is_complete(1, 1)
    assert policy.reason(2, 0) is CompletionReason.CUSTOM_COMPLETION_SUCCEEDED
    assert policy.reason(0, 2) is CompletionReason.CUSTOM_COMPLETION_FAILED
    assert policy.reason(2, 3) is CompletionReason.CUSTOM_COMPLETION_SUCCEEDED
    assert seen[-1].total_count == 5
    assert seen[-1].completed_count == 5


# endregion
# region completion records


def _result(statuses: str, reason: CompletionReason) -> BatchResult[str]:
    by_letter = {
        "s": BatchItemStatus.SUCCEEDED,
        "f": BatchItemStatus.FAILED,
        "r": BatchItemStatus.STARTED,
    }
    items = [BatchItem(i, by_letter[c], "x" if c == "s" else None) for i, c in enumerate(statuses)]
    return BatchResult(items, reason)


@pytest.mark.parametrize(
    ("statuses", "field"),
    [("ssrr", "startedIndexes"), ("srrrr", "completedIndexes"), ("", "startedIndexes")],
)
def test_completion_record_round_trips_through_the_summary(statuses: str, field: str) -> None:
    result = _result(statuses, CompletionReason.MIN_SUCCESSFUL_REACHED)
    generate = envelope_summary_generator("MapResult", lambda r: f"{r.success_count} ok")

    payload = generate(result)
    record = CompletionRecord.from_summary_payload(payload)

    assert field in json.loads(payload)
    assert json.loads(payload)["summary"] == f"{statuses.count('s')} ok"
    assert record == CompletionRecord(
        CompletionReason.MIN_SUCCESSFUL_REACHED,
        len(statuses),
        frozenset(i for i, c in enumerate(statuses) if c == "r"),
    )


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "",
        "not json",
        "[]",
        '{"totalCount": 2, "startedIndexes": []}',
        '{"completionReason": "NOPE", "totalCount": 2, "startedIndexes": []}',
        '{"completionReason": "ALL_COMPLETED", "totalCount": true, "startedIndexes": []}',
        '{"completionReason": "ALL_COMPLETED", "totalCount": -1, "startedIndexes": []}',
        '{"completionReason": "ALL_COMPLETED", "totalCount": 2}',
        '{"completionReason": "ALL_COMPLETED", "totalCount": 2, "startedIndexes": [2]}',
        '{"completionReason": "ALL_COMPLETED", "totalCount": 2, "completedIndexes": [false]}',
    ],
)
def test_a_summary_without_a_valid_record_has_none(payload: str | None) -> None:
    assert CompletionRecord.from_summary_payload(payload) is None


# endregion
# region orphaned branches


def test_enclosing_operation_ids_are_the_id_prefixes() -> None:
    assert enclosing_operation_ids("3-2-1") == ["3", "3-2"]
    assert enclosing_operation_ids("12") == []


@pytest.fixture
def state() -> Iterator[ExecutionState]:
    store = SqliteStore()
    now = datetime.datetime.now(datetime.UTC)
    store.create_execution(NewExecution("exec", "function", "exec", None), now)
    lease = store.acquire_lease("exec", "invocation", now, now + datetime.timedelta(minutes=1))
    assert lease is not None
    execution_state = ExecutionState(lease, store, SystemClock())
    yield execution_state
    execution_state.close()
    store.close()


def _start(state: ExecutionState, operation_id: str, parent_id: str | None) -> None:
    identifier = OperationIdentifier(
        operation_id,
        OperationSubType.STEP.value,
        parent_id=parent_id,
        operation_type=OperationType.STEP,
    )
    state.checkpoint(identifier.update(OperationAction.START))


def test_checkpoints_inside_an_orphaned_scope_are_refused_and_change_nothing(
    state: ExecutionState,
) -> None:
    _start(state, "1-1-1", "1-1")
    state.orphan_descendants("1")

    with pytest.raises(OrphanedChildException, match="the map or parallel 1 it runs in"):
        _start(state, "1-2-1", "1-2")
    _start(state, "2", None)
    _start(state, "10-1", "10")  # "10" is not inside "1"

    assert state.get("1-2-1") is None
    assert state.get("2") is not None
    assert state.get("10-1") is not None


def test_close_waits_for_registered_branch_pools(state: ExecutionState) -> None:
    finished = threading.Event()
    pool = ThreadPoolExecutor(max_workers=1)
    pool.submit(lambda: finished.wait(0.05) or finished.set())
    state.register_branch_pool(pool)

    state.close()

    assert finished.is_set()


# endregion
