"""How an invocation's checkpoints reach the store: group commits, lingers, failures."""

from __future__ import annotations

import datetime
import sqlite3
import threading
import time
from collections.abc import Iterator

import pytest

from durable_lambda.clock import SystemClock
from durable_lambda.exceptions import CheckpointError
from durable_lambda.lambda_service import (
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)
from durable_lambda.state import ExecutionState
from durable_lambda.store import CheckpointBatch, Lease, NewExecution, SqliteStore

THREADS = 10
STEPS_PER_THREAD = 30


@pytest.fixture
def store() -> Iterator[SqliteStore]:
    opened = SqliteStore()
    yield opened
    opened.close()


def lease_of(store: SqliteStore) -> Lease:
    now = SystemClock().now()
    record, _ = store.create_execution(NewExecution("exec-1", "orders", "run-1", "{}"), now)
    lease = store.acquire_lease(
        record.execution_id, "invocation-1", now, now + datetime.timedelta(minutes=15)
    )
    assert lease is not None
    return lease


def step_update(operation_id: str, action: OperationAction) -> OperationUpdate:
    return OperationUpdate(
        operation_id,
        OperationType.STEP,
        action,
        sub_type="Step",
        payload="1" if action is OperationAction.SUCCEED else None,
    )


def statuses(store: SqliteStore) -> dict[str, OperationStatus]:
    return {op.operation_id: op.status for op in store.get_operations("exec-1")}


def test_every_synchronous_checkpoint_returns_only_once_recorded(store: SqliteStore) -> None:
    state = ExecutionState(lease_of(store), store, SystemClock())
    not_yet_recorded: list[str] = []

    def run_steps(thread: int) -> None:
        for step in range(STEPS_PER_THREAD):
            operation_id = f"{thread}-{step}"
            state.checkpoint(step_update(operation_id, OperationAction.START), sync=False)
            state.checkpoint(step_update(operation_id, OperationAction.SUCCEED))
            if statuses(store).get(operation_id) is not OperationStatus.SUCCEEDED:
                not_yet_recorded.append(operation_id)

    threads = [threading.Thread(target=run_steps, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state.close()

    assert not_yet_recorded == []
    recorded = statuses(store)
    assert len(recorded) == THREADS * STEPS_PER_THREAD
    history = store.get_history("exec-1")
    assert sum(e["EventType"] == "StepSucceeded" for e in history) == THREADS * STEPS_PER_THREAD
    assert [e["EventId"] for e in history] == list(range(1, len(history) + 1))


def test_an_asynchronous_checkpoint_is_recorded_without_a_synchronous_one(
    store: SqliteStore,
) -> None:
    state = ExecutionState(lease_of(store), store, SystemClock())
    state.checkpoint(step_update("slow", OperationAction.START), sync=False)

    deadline = time.monotonic() + 5
    while "slow" not in statuses(store) and time.monotonic() < deadline:
        time.sleep(0.001)

    assert statuses(store).get("slow") is OperationStatus.STARTED
    state.close()


def test_closing_records_what_is_queued_without_waiting_out_the_linger(
    store: SqliteStore,
) -> None:
    state = ExecutionState(lease_of(store), store, SystemClock())
    state.checkpoint(step_update("last", OperationAction.START), sync=False)
    state.close()

    assert statuses(store).get("last") is OperationStatus.STARTED


class FailingStore(SqliteStore):
    """Refuses every checkpoint write, as a full disk would."""

    def write(self, lease: Lease, batch: CheckpointBatch) -> None:
        raise sqlite3.OperationalError("database or disk is full")


def test_a_failed_write_fails_the_checkpoint_and_every_later_one() -> None:
    store = FailingStore()
    state = ExecutionState(lease_of(store), store, SystemClock())

    with pytest.raises(CheckpointError, match="Could not record checkpoints: database or disk"):
        state.checkpoint(step_update("first", OperationAction.START))
    with pytest.raises(CheckpointError, match="database or disk is full"):
        state.checkpoint(step_update("second", OperationAction.START))
    with pytest.raises(CheckpointError):
        state.close()
    assert "first" not in statuses(store)
    store.close()
