"""How an invocation's checkpoints reach the store: group commits, lingers, failures.

A file store outlives the process, so a durable checkpoint waits for its write;
an in-memory store does not, so only ``Record.NOW`` waits there.
"""

from __future__ import annotations

import datetime
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from durable_lambda import DurableContext, StepContext, durable_execution
from durable_lambda.clock import SystemClock
from durable_lambda.config import StepConfig, StepSemantics
from durable_lambda.exceptions import CheckpointError
from durable_lambda.lambda_service import (
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)
from durable_lambda.state import ExecutionState, Record
from durable_lambda.store import CheckpointBatch, Lease, NewExecution, SqliteStore
from durable_lambda.testing import DurableFunctionTestRunner

THREADS = 10
STEPS_PER_THREAD = 30


@pytest.fixture
def store() -> Iterator[SqliteStore]:
    opened = SqliteStore()
    yield opened
    opened.close()


@pytest.fixture
def file_store(tmp_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(str(tmp_path / "state.sqlite3"))
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


def test_every_durable_checkpoint_to_a_file_returns_only_once_recorded(
    file_store: SqliteStore,
) -> None:
    store = file_store
    state = ExecutionState(lease_of(store), store, SystemClock())
    not_yet_recorded: list[str] = []

    def run_steps(thread: int) -> None:
        for step in range(STEPS_PER_THREAD):
            operation_id = f"{thread}-{step}"
            state.checkpoint(step_update(operation_id, OperationAction.START), record=Record.SOON)
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
    state.checkpoint(step_update("slow", OperationAction.START), record=Record.SOON)

    deadline = time.monotonic() + 5
    while "slow" not in statuses(store) and time.monotonic() < deadline:
        time.sleep(0.001)

    assert statuses(store).get("slow") is OperationStatus.STARTED
    state.close()


def test_closing_records_what_is_queued_without_waiting_out_the_linger(
    store: SqliteStore,
) -> None:
    state = ExecutionState(lease_of(store), store, SystemClock())
    state.checkpoint(step_update("last", OperationAction.START), record=Record.SOON)
    state.close()

    assert statuses(store).get("last") is OperationStatus.STARTED


class GatedStore(SqliteStore):
    """An in-memory store whose writes wait until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def write(self, lease: Lease, batch: CheckpointBatch) -> None:
        assert self.gate.wait(timeout=10), "the test never opened the gate"
        super().write(lease, batch)


def returns_within(seconds: float, call: Callable[[], object]) -> bool:
    """Whether ``call``, run on a thread, returns within ``seconds``."""
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    return not thread.is_alive()


def test_a_durable_checkpoint_to_memory_returns_before_its_write() -> None:
    store = GatedStore()
    state = ExecutionState(lease_of(store), store, SystemClock())

    assert returns_within(1, lambda: state.checkpoint(step_update("a", OperationAction.START)))
    assert "a" not in statuses(store)

    store.gate.set()
    state.close()
    assert statuses(store) == {"a": OperationStatus.STARTED}
    store.close()


def test_a_checkpoint_recorded_now_waits_for_its_write_even_in_memory() -> None:
    store = GatedStore()
    state = ExecutionState(lease_of(store), store, SystemClock())
    update = step_update("callback", OperationAction.START)

    assert not returns_within(0.2, lambda: state.checkpoint(update, record=Record.NOW))

    store.gate.set()
    deadline = time.monotonic() + 5
    while "callback" not in statuses(store) and time.monotonic() < deadline:
        time.sleep(0.001)
    assert statuses(store) == {"callback": OperationStatus.STARTED}
    state.close()
    store.close()


def test_in_memory_an_at_most_once_step_is_recorded_started_before_its_body_runs() -> None:
    seen_by_body: list[OperationStatus | None] = []

    @durable_execution
    def handler(event: object, context: DurableContext) -> str:
        execution_id = context.execution_context.durable_execution_arn

        def charge(step_context: StepContext) -> str:
            recorded = runner.engine.get_operations(execution_id)
            seen_by_body.extend(op.status for op in recorded if op.name == "charge")
            return "charged"

        at_most_once = StepConfig(step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY)
        return context.step(charge, name="charge", config=at_most_once)

    with DurableFunctionTestRunner(handler) as runner:
        result = runner.run()

    assert result.result == '"charged"'
    assert seen_by_body == [OperationStatus.STARTED]


class FailingStore(SqliteStore):
    """Refuses every checkpoint write, as a full disk would."""

    def write(self, lease: Lease, batch: CheckpointBatch) -> None:
        raise sqlite3.OperationalError("database or disk is full")


def test_a_failed_write_fails_the_checkpoint_and_every_later_one() -> None:
    store = FailingStore()
    state = ExecutionState(lease_of(store), store, SystemClock())

    with pytest.raises(CheckpointError, match="Could not record checkpoints: database or disk"):
        state.checkpoint(step_update("first", OperationAction.START), record=Record.NOW)
    with pytest.raises(CheckpointError, match="database or disk is full"):
        state.checkpoint(step_update("second", OperationAction.START), record=Record.SOON)
    with pytest.raises(CheckpointError):
        state.close()
    assert "first" not in statuses(store)
    store.close()


def test_a_failed_write_nobody_waited_for_fails_the_next_checkpoint() -> None:
    store = FailingStore()
    state = ExecutionState(lease_of(store), store, SystemClock())
    state.checkpoint(step_update("first", OperationAction.START))

    deadline = time.monotonic() + 5
    with pytest.raises(CheckpointError, match="database or disk is full"):
        while time.monotonic() < deadline:
            state.checkpoint(step_update("next", OperationAction.START), record=Record.SOON)
            time.sleep(0.001)
    with pytest.raises(CheckpointError):
        state.close()
    store.close()
