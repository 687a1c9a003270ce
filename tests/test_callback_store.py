"""The store side of callbacks: the hash index and ``change_callback``'s conditions."""

from __future__ import annotations

import datetime
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from durable_lambda.callback_ids import callback_id_for, new_callback_key, token_hash
from durable_lambda.lambda_service import (
    CallbackOptions,
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)
from durable_lambda.operation.callback import (
    CALLBACK_HEARTBEAT_TIMER,
    CALLBACK_TIMEOUT_TIMER,
    callback_failed,
    callback_heartbeat,
    callback_succeeded,
)
from durable_lambda.store import (
    CallbackClosedError,
    CallbackNotFoundError,
    CheckpointBatch,
    Lease,
    NewExecution,
    SqliteStore,
    Succeeded,
)
from durable_lambda.transitions import Transition, apply_update, operation_timer_key

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
KEY = new_callback_key()


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(str(tmp_path / "store.sqlite3"))
    yield opened
    opened.close()


def start_execution(store: SqliteStore, execution_id: str = "exec-1") -> Lease:
    store.create_execution(NewExecution(execution_id, "fn", execution_id, "{}"), T0)
    lease = store.acquire_lease(execution_id, "invocation-1", T0, at(900))
    assert lease is not None
    return lease


def start_callback(
    store: SqliteStore,
    lease: Lease,
    operation_id: str = "1",
    *,
    timeout: int = 0,
    heartbeat: int = 0,
) -> str:
    """Record a callback's START as an invocation does; returns the callback id."""
    callback_id = callback_id_for(KEY, lease.execution.execution_id, operation_id)
    update = OperationUpdate(
        operation_id=operation_id,
        operation_type=OperationType.CALLBACK,
        action=OperationAction.START,
        name="approval",
        sub_type="Callback",
        callback_options=CallbackOptions(timeout, heartbeat, token_hash(callback_id)),
    )
    batch = CheckpointBatch()
    batch.add(apply_update(update, None, T0))
    store.write(lease, batch)
    return callback_id


def timers(path: str) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT timer_key, due_ms FROM timers").fetchall())


def test_the_store_keeps_only_the_hash_of_a_callback_id(store: SqliteStore) -> None:
    lease = start_execution(store)
    callback_id = start_callback(store, lease)
    with sqlite3.connect(store.path) as db:
        dump = "\n".join(db.iterdump())
    assert callback_id not in dump
    assert token_hash(callback_id) in dump
    (operation,) = [op for op in store.get_operations("exec-1") if op.callback_details]
    assert operation.callback_details is not None
    assert operation.callback_details.callback_id is None
    assert operation.callback_details.token_hash == token_hash(callback_id)


def test_success_records_the_result_clears_the_timers_and_wakes(store: SqliteStore) -> None:
    lease = start_execution(store)
    callback_id = start_callback(store, lease, timeout=60, heartbeat=10)
    assert set(timers(store.path)) >= {
        operation_timer_key("1", CALLBACK_TIMEOUT_TIMER),
        operation_timer_key("1", CALLBACK_HEARTBEAT_TIMER),
    }
    execution_id = store.change_callback(token_hash(callback_id), callback_succeeded("ok"), at(5))
    assert execution_id == "exec-1"
    fresh = store.reload(lease)
    assert fresh.wake_seq == lease.wake_seq + 1
    callback = next(op for op in fresh.operations if op.operation_id == "1")
    assert callback.status is OperationStatus.SUCCEEDED
    assert callback.result == "ok"
    assert callback.end_timestamp == at(5)
    assert not any(key.startswith("callback-") for key in timers(store.path))
    assert [e["EventType"] for e in store.get_history("exec-1")][-1] == "CallbackSucceeded"


def test_failure_records_the_error(store: SqliteStore) -> None:
    lease = start_execution(store)
    callback_id = start_callback(store, lease)
    error = ErrorObject(message="no", type="Rejected", data="{}", stack_trace=None)
    store.change_callback(token_hash(callback_id), callback_failed(error), at(1))
    callback = next(op for op in store.get_operations("exec-1") if op.operation_id == "1")
    assert callback.status is OperationStatus.FAILED
    assert callback.error == error
    last = store.get_history("exec-1")[-1]
    assert last["EventType"] == "CallbackFailed"
    assert last["CallbackFailedDetails"]["Error"]["Payload"] == error.to_dict()


def test_a_heartbeat_rearms_only_the_heartbeat_timer_and_does_not_wake(
    store: SqliteStore,
) -> None:
    lease = start_execution(store)
    callback_id = start_callback(store, lease, timeout=60, heartbeat=10)
    before = timers(store.path)
    events_before = len(store.get_history("exec-1"))
    store.change_callback(token_hash(callback_id), callback_heartbeat, at(7))
    after = timers(store.path)
    heartbeat_key = operation_timer_key("1", CALLBACK_HEARTBEAT_TIMER)
    timeout_key = operation_timer_key("1", CALLBACK_TIMEOUT_TIMER)
    assert after[heartbeat_key] == before[heartbeat_key] + 7000
    assert after[timeout_key] == before[timeout_key]
    assert len(store.get_history("exec-1")) == events_before
    assert store.reload(lease).wake_seq == lease.wake_seq


def test_an_unknown_id_is_not_found_and_changes_nothing(store: SqliteStore) -> None:
    lease = start_execution(store)
    start_callback(store, lease)
    forged = callback_id_for(new_callback_key(), "exec-1", "1")
    with pytest.raises(CallbackNotFoundError, match="No callback has this id"):
        store.change_callback(token_hash(forged), callback_succeeded("x"), at(1))
    callback = next(op for op in store.get_operations("exec-1") if op.operation_id == "1")
    assert callback.status is OperationStatus.STARTED


@pytest.mark.parametrize(
    "first",
    [callback_succeeded("first"), callback_failed(ErrorObject("x", "X", None, None))],
    ids=["after-success", "after-failure"],
)
def test_a_second_completion_is_refused_and_changes_nothing(
    store: SqliteStore, first: object
) -> None:
    lease = start_execution(store)
    callback_id = start_callback(store, lease)
    store.change_callback(token_hash(callback_id), first, at(1))  # type: ignore[arg-type]
    history = store.get_history("exec-1")
    operations = store.get_operations("exec-1")
    seq = store.reload(lease).wake_seq
    with pytest.raises(CallbackClosedError, match=r"no longer waits: it is (SUCCEEDED|FAILED)"):
        store.change_callback(token_hash(callback_id), callback_succeeded("second"), at(2))
    with pytest.raises(CallbackClosedError):
        store.change_callback(token_hash(callback_id), callback_heartbeat, at(2))
    assert store.get_history("exec-1") == history
    assert store.get_operations("exec-1") == operations
    assert store.reload(lease).wake_seq == seq


def test_a_completion_after_the_timeout_fired_is_refused(store: SqliteStore) -> None:
    lease = start_execution(store)
    callback_id = start_callback(store, lease, timeout=5)
    assert store.fire_timer("exec-1", operation_timer_key("1", CALLBACK_TIMEOUT_TIMER), at(5))
    timed_out = next(op for op in store.get_operations("exec-1") if op.operation_id == "1")
    assert timed_out.status is OperationStatus.TIMED_OUT
    assert timed_out.error is not None
    assert timed_out.error.type == "Callback.Timeout"
    with pytest.raises(CallbackClosedError, match="TIMED_OUT"):
        store.change_callback(token_hash(callback_id), callback_succeeded("late"), at(6))


def test_a_timer_that_fires_after_a_completion_changes_nothing(store: SqliteStore) -> None:
    lease = start_execution(store)
    callback_id = start_callback(store, lease, timeout=5)
    # The completion clears the timer; a timer row left by a racing writer would
    # still find the callback completed and leave it alone.
    store.change_callback(token_hash(callback_id), callback_succeeded("in time"), at(1))
    history = store.get_history("exec-1")
    assert not store.fire_timer("exec-1", operation_timer_key("1", CALLBACK_TIMEOUT_TIMER), at(5))
    assert store.get_history("exec-1") == history


def test_a_callback_of_an_ended_execution_is_closed(store: SqliteStore) -> None:
    lease = start_execution(store)
    callback_id = start_callback(store, lease)
    assert store.finish_invocation(lease, at(1), Succeeded("null"))
    with pytest.raises(CallbackClosedError, match=r"has ended \(SUCCEEDED\)"):
        store.change_callback(token_hash(callback_id), callback_succeeded("x"), at(2))


def test_a_change_that_raises_writes_nothing(store: SqliteStore) -> None:
    lease = start_execution(store)
    callback_id = start_callback(store, lease)
    history = store.get_history("exec-1")

    def broken(operation: Operation, now: datetime.datetime) -> Transition:
        raise RuntimeError("broken change")

    with pytest.raises(RuntimeError, match="broken change"):
        store.change_callback(token_hash(callback_id), broken, at(1))
    assert store.get_history("exec-1") == history


def test_the_index_survives_reopening_the_store(store: SqliteStore) -> None:
    lease = start_execution(store)
    callback_id = start_callback(store, lease)
    reopened = SqliteStore(store.path)
    try:
        assert reopened.change_callback(token_hash(callback_id), callback_succeeded("1"), at(1))
    finally:
        reopened.close()
    events = [json.dumps(e) for e in store.get_history("exec-1")]
    assert any("CallbackSucceeded" in e for e in events)


def test_a_callback_times_out_in_a_process_where_no_callback_ran(tmp_path: Path) -> None:
    # A restarted engine fires the timeouts of callbacks created before it
    # started: the callback operation's transitions load with them.
    store = SqliteStore(str(tmp_path / "store.sqlite3"))
    lease = start_execution(store)
    callback_id = callback_id_for(KEY, "exec-1", "1")
    started = apply_update(
        OperationUpdate(
            "1",
            OperationType.CALLBACK,
            OperationAction.START,
            sub_type="Callback",
            callback_options=CallbackOptions(timeout_seconds=5, token_hash=token_hash(callback_id)),
        ),
        None,
        at(1),
    )
    batch = CheckpointBatch()
    batch.add(started)
    store.write(lease, batch)
    store.close()
    probe = (
        "import datetime, sys; from durable_lambda.store import SqliteStore; "
        f"store = SqliteStore({str(tmp_path / 'store.sqlite3')!r}); "
        "now = datetime.datetime(2026, 1, 1, 0, 1, tzinfo=datetime.UTC); "
        "print(store.fire_timer('exec-1', 'callback-timeout:1', now), "
        "store.get_operations('exec-1')[0].status.value)"
    )
    fired = subprocess.run(
        [sys.executable, "-c", probe], check=False, capture_output=True, text=True
    )
    assert fired.stdout.split() == ["True", "TIMED_OUT"], fired.stderr
