"""The store contract, run against every store implementation."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest
from stores import T0, at, start, timers, types, wait_batch

from durable_lambda import DurableContext, durable_execution
from durable_lambda.config import CallbackConfig, ChildConfig, Duration, StepConfig
from durable_lambda.exceptions import InvalidStateError, ValidationError
from durable_lambda.lambda_service import (
    ErrorObject,
    OperationStatus,
    epoch_millis,
)
from durable_lambda.retries import RetryStrategyConfig, create_retry_strategy
from durable_lambda.store import (
    CheckpointBatch,
    ExecutionNotFoundError,
    ExecutionStatus,
    Failed,
    LeaseLostError,
    NewExecution,
    SqliteStore,
    Store,
    Succeeded,
    Suspended,
)
from durable_lambda.testing import DurableFunctionTestRunner
from durable_lambda.waits import WaitForConditionConfig, WaitForConditionDecision


def test_creating_is_idempotent_by_function_and_name(store: Store) -> None:
    execution_id = start(store)
    again, created = store.create_execution(
        NewExecution("exec-other", "orders", "run-1", '{"id": 2}'), at(5)
    )
    assert not created
    assert again.execution_id == execution_id
    assert again.input_payload == '{"id": 1}'
    assert types(store, execution_id) == ["ExecutionStarted"]
    assert store.get_history(execution_id)[0]["ExecutionStartedDetails"]["Input"] == {
        "Payload": '{"id": 1}',
        "Truncated": False,
    }


def test_unknown_execution_is_named_in_the_error(store: Store) -> None:
    with pytest.raises(ExecutionNotFoundError, match="No execution with id 'nope'"):
        store.get_execution("nope")


def test_a_live_lease_excludes_other_invocations(store: Store) -> None:
    execution_id = start(store)
    lease = store.acquire_lease(execution_id, "inv-1", T0, at(900))
    assert lease is not None and lease.epoch == 1 and lease.operations == ()
    assert store.acquire_lease(execution_id, "inv-2", at(1), at(901)) is None


def test_an_expired_lease_is_taken_over_and_the_dead_invocation_recorded(store: Store) -> None:
    execution_id = start(store)
    store.acquire_lease(execution_id, "inv-1", T0, at(10))
    lease = store.acquire_lease(execution_id, "inv-2", at(11), at(911))
    assert lease is not None and lease.epoch == 2
    completed = store.get_history(execution_id)[-1]
    assert completed["EventType"] == "InvocationCompleted"
    details = completed["InvocationCompletedDetails"]
    assert details["RequestId"] == "inv-1"
    assert details["Error"]["Payload"]["ErrorType"] == "Runtime.ExitError"


def test_a_stale_invocation_is_fenced_off_and_changes_nothing(store: Store) -> None:
    execution_id = start(store)
    stale = store.acquire_lease(execution_id, "inv-1", T0, at(10))
    assert stale is not None
    fresh = store.acquire_lease(execution_id, "inv-2", at(11), at(900))
    assert fresh is not None
    before = store.get_history(execution_id)
    with pytest.raises(LeaseLostError):
        store.write(stale, wait_batch("1", 5, at(12)))
    without_events = wait_batch("2", 5, at(12))
    without_events.events.clear()
    with pytest.raises(LeaseLostError):
        store.write(stale, without_events)
    with pytest.raises(LeaseLostError):
        store.finish_invocation(stale, at(12), Succeeded('"late"'))
    assert store.get_history(execution_id) == before
    assert store.get_operations(execution_id) == []
    assert store.get_execution(execution_id).status is ExecutionStatus.RUNNING


def test_writes_persist_operations_events_and_timers(store: Store) -> None:
    execution_id = start(store)
    lease = store.acquire_lease(execution_id, "inv-1", T0, at(900))
    assert lease is not None
    store.write(lease, wait_batch("1", 5, at(1)))
    [operation] = store.get_operations(execution_id)
    assert (operation.operation_id, operation.status) == ("1", OperationStatus.STARTED)
    assert [event["EventId"] for event in store.get_history(execution_id)] == [1, 2]
    assert timers(store) == [(execution_id, "reinvoke", T0), (execution_id, "op:1", at(6))]
    assert [due.key for due in store.due_timers(at(5.9), 10)] == ["reinvoke"]
    assert [due.key for due in store.due_timers(at(6), 10)] == ["reinvoke", "op:1"]


def test_a_write_of_hundreds_of_operations_keeps_each_and_their_order(store: Store) -> None:
    execution_id = start(store)
    lease = store.acquire_lease(execution_id, "inv-1", T0, at(900))
    assert lease is not None
    first, second = CheckpointBatch(), CheckpointBatch()
    for number in range(1, 251):
        first.extend(wait_batch(str(number), 5, at(1)))
    for number in range(240, 261):  # ten updates of written ones, then new ones
        second.extend(wait_batch(str(number), 7, at(2)))
    store.write(lease, first)
    store.write(lease, second)
    operations = store.get_operations(execution_id)
    assert [op.operation_id for op in operations] == [str(n) for n in range(1, 261)]
    assert {
        op.wait_details.scheduled_end_timestamp for op in operations[239:] if op.wait_details
    } == {at(9)}
    assert len(store.get_history(execution_id)) == 1 + 250 + 21


def test_a_suspended_invocation_reloads_when_a_waker_moved_first(store: Store) -> None:
    execution_id = start(store)
    lease = store.acquire_lease(execution_id, "inv-1", T0, at(900))
    assert lease is not None
    store.write(lease, wait_batch("1", 5, at(1)))
    assert store.fire_timer(execution_id, "op:1", at(6))
    assert not store.finish_invocation(lease, at(7), Suspended())
    assert types(store, execution_id)[-1] == "WaitSucceeded"
    reloaded = store.reload(lease)
    assert reloaded.operations[0].status is OperationStatus.SUCCEEDED
    assert store.finish_invocation(reloaded, at(8), Succeeded('"ok"'))
    record = store.get_execution(execution_id)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, '"ok"')
    assert types(store, execution_id)[-2:] == ["InvocationCompleted", "ExecutionSucceeded"]


def test_a_fired_timer_fires_once(store: Store) -> None:
    execution_id = start(store)
    lease = store.acquire_lease(execution_id, "inv-1", T0, at(900))
    assert lease is not None
    store.write(lease, wait_batch("1", 5, at(1)))
    assert store.finish_invocation(lease, at(2), Suspended())
    assert store.fire_timer(execution_id, "op:1", at(6))
    assert not store.fire_timer(execution_id, "op:1", at(7))
    assert types(store, execution_id).count("WaitSucceeded") == 1
    assert timers(store) == [(execution_id, "reinvoke", at(6))]


def test_execution_timeout_ends_the_execution_and_fences_the_invocation(store: Store) -> None:
    execution_id = start(store, timeout=60)
    lease = store.acquire_lease(execution_id, "inv-1", T0, at(900))
    assert lease is not None
    assert [due.key for due in store.due_timers(at(60), 10)] == ["reinvoke", "execution-timeout"]
    assert not store.fire_timer(execution_id, "execution-timeout", at(60))
    record = store.get_execution(execution_id)
    assert record.status is ExecutionStatus.TIMED_OUT
    assert record.error == ErrorObject(
        "Execution timed out after 60 seconds", "Execution.TimedOut", None, None
    )
    with pytest.raises(LeaseLostError):
        store.write(lease, wait_batch("1", 5, at(61)))
    assert store.acquire_lease(execution_id, "inv-2", at(62), at(900)) is None


def test_a_timeout_kept_by_the_caller_sets_no_timer_and_times_out_on_request(
    store: Store,
) -> None:
    record, _ = store.create_execution(
        NewExecution("exec-kept", "orders", "kept", "{}", 60, timeout_timer=False), T0
    )
    execution_id = record.execution_id
    started = store.get_history(execution_id)[0]
    assert started["ExecutionStartedDetails"]["ExecutionTimeout"] == 60
    assert [key for _, key, _ in timers(store)] == ["reinvoke"]  # no execution-timeout
    lease = store.acquire_lease(execution_id, "inv-1", T0, at(900))
    assert lease is not None

    assert store.time_out_execution(execution_id, at(3600))
    assert not store.time_out_execution(execution_id, at(3601))

    ended = store.get_execution(execution_id)
    assert ended.status is ExecutionStatus.TIMED_OUT
    assert ended.error == ErrorObject(
        "Execution timed out after 60 seconds", "Execution.TimedOut", None, None
    )
    assert types(store, execution_id)[-1] == "ExecutionTimedOut"
    with pytest.raises(LeaseLostError):
        store.write(lease, wait_batch("1", 5, at(3602)))


def test_timing_out_an_unknown_execution_names_it(store: Store) -> None:
    with pytest.raises(ExecutionNotFoundError, match="exec-none"):
        store.time_out_execution("exec-none", T0)


def test_failed_execution_keeps_its_error(store: Store) -> None:
    execution_id = start(store)
    lease = store.acquire_lease(execution_id, "inv-1", T0, at(900))
    assert lease is not None
    error = ErrorObject("boom", "RuntimeError", None, None)
    assert store.finish_invocation(lease, at(1), Failed(error))
    assert store.get_execution(execution_id).error == error
    failed = store.get_history(execution_id)[-1]
    assert failed["ExecutionFailedDetails"]["Error"]["Payload"] == {
        "ErrorMessage": "boom",
        "ErrorType": "RuntimeError",
    }


def test_abandoning_records_the_crash_and_frees_the_execution(store: Store) -> None:
    execution_id = start(store)
    lease = store.acquire_lease(execution_id, "inv-1", T0, at(900))
    assert lease is not None
    crash = ErrorObject("killed", "Runtime.ExitError", None, None)
    assert store.abandon_invocation(execution_id, "inv-1", at(3), crash, at(4))
    assert timers(store) == [(execution_id, "reinvoke", at(4))]
    assert not store.abandon_invocation(execution_id, "inv-1", at(4), crash, at(9))
    assert timers(store) == [(execution_id, "reinvoke", at(4))]
    with pytest.raises(LeaseLostError):
        store.write(lease, wait_batch("1", 5, at(5)))
    assert store.acquire_lease(execution_id, "inv-2", at(5), at(900)) is not None


def test_reinvoke_timer_asks_for_an_invocation(store: Store) -> None:
    execution_id = start(store)
    store.schedule_reinvoke(execution_id, at(2))
    assert timers(store) == [(execution_id, "reinvoke", at(2))]
    assert store.fire_timer(execution_id, "reinvoke", at(2))


def test_a_timer_set_again_is_due_once_at_its_latest_time(store: Store) -> None:
    execution_id = start(store)
    store.schedule_reinvoke(execution_id, at(2))
    store.schedule_reinvoke(execution_id, at(2))
    assert [due.key for due in store.due_timers(at(3), 10)] == ["reinvoke"]
    store.schedule_reinvoke(execution_id, at(5))
    assert store.due_timers(at(3), 10) == []
    assert store.next_timer_due() == at(5)
    assert [due.due for due in store.due_timers(at(6), 10)] == [at(5)]


def test_changes_from_outside_are_kept_to_the_millisecond(store: Store) -> None:
    execution_id = start(store)
    lease = store.acquire_lease(execution_id, "inv-1", T0, at(900))
    assert lease is not None
    store.write(lease, wait_batch("1", 5, at(1)))
    assert store.fire_timer(execution_id, "op:1", at(6.0004))
    [operation] = store.get_operations(execution_id)
    assert operation.end_timestamp == at(6)
    assert store.get_history(execution_id)[-1]["EventTimestamp"] == epoch_millis(at(6))


def test_what_a_reader_changes_in_the_history_stays_with_the_reader(store: Store) -> None:
    execution_id = start(store)
    store.get_history(execution_id)[0]["ExecutionStartedDetails"]["Input"]["Payload"] = "x"
    started = store.get_history(execution_id)[0]["ExecutionStartedDetails"]
    assert started["Input"]["Payload"] == '{"id": 1}'


def test_a_method_that_fails_part_way_writes_nothing(store: Store) -> None:
    parent_id = start(store, "parent")
    parent_lease = store.acquire_lease(parent_id, "inv-p", T0, at(900))
    assert parent_lease is not None
    store.write(parent_lease, wait_batch("1", 5, at(1)))
    # A child recorded against the parent's WAIT: ending the child completes
    # the parent's operation, which a wait refuses, so the whole end fails.
    child = NewExecution(
        "exec-child",
        "orders",
        "child",
        None,
        parent_execution_id=parent_id,
        parent_operation_id="1",
    )
    child_id = store.create_execution(child, at(2))[0].execution_id
    child_lease = store.acquire_lease(child_id, "inv-c", at(2), at(900))
    assert child_lease is not None
    histories = {id_: store.get_history(id_) for id_ in (parent_id, child_id)}
    with pytest.raises(InvalidStateError, match="cannot be completed from outside"):
        store.finish_invocation(child_lease, at(3), Succeeded('"done"'))
    with pytest.raises(InvalidStateError, match="cannot be completed from outside"):
        store.stop_execution(child_id, at(3), ErrorObject("stop", "Stop", None, None))
    assert {id_: store.get_history(id_) for id_ in (parent_id, child_id)} == histories
    assert store.get_execution(child_id).status is ExecutionStatus.RUNNING
    assert store.get_operations(parent_id)[0].status is OperationStatus.STARTED
    assert (parent_id, "op:1", at(6)) in timers(store)
    store.write(child_lease, wait_batch("1", 5, at(4)))  # the child still holds its lease
    assert store.finish_invocation(parent_lease, at(5), Succeeded(None))
    assert store.get_execution(child_id).status is ExecutionStatus.STOPPED


def test_file_stores_open_in_other_processes_and_memory_stores_refuse(
    store: Store, tmp_path: Path
) -> None:
    execution_id = start(store)
    if store.volatile:
        with pytest.raises(ValidationError, match="cannot be opened by another process"):
            store.opener()
        return
    reopened = store.opener()()
    try:
        assert reopened.get_execution(execution_id).execution_name == "run-1"
    finally:
        reopened.close()


def test_file_durability_is_chosen_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match='durability must be "process" or "power"'):
        SqliteStore(str(tmp_path / "x.db"), durability="disk")  # type: ignore[arg-type]
    store = SqliteStore(str(tmp_path / "power.db"), durability="power")
    execution_id = start(store)
    reopened = store.opener()()
    assert isinstance(reopened, SqliteStore) and reopened.durability == "power"
    assert reopened.get_execution(execution_id).status is ExecutionStatus.RUNNING
    reopened.close()
    store.close()


def _file_of(tmp_path: Path, name: str, *statements: str) -> Path:
    path = tmp_path / name
    other = sqlite3.connect(path)
    for statement in statements:
        other.execute(statement)
    other.commit()
    other.close()
    return path


@pytest.mark.parametrize(
    ("statements", "refusal"),
    [
        (
            [
                "CREATE TABLE operations (execution_id TEXT, operation_id TEXT, body TEXT)",
                "INSERT INTO operations VALUES ('e', '1', '{}')",
            ],
            r"is a SQLite database of something else: it holds tables but no durable-lambda",
        ),
        (
            ["CREATE TABLE executions (run INTEGER)", "PRAGMA user_version=4"],
            r"schema version 4; this version reads schema version 5. Use a new file",
        ),
    ],
)
def test_a_file_that_is_not_this_version_s_store_is_refused_byte_for_byte_untouched(
    tmp_path: Path, statements: list[str], refusal: str
) -> None:
    path = _file_of(tmp_path, "other.db", *statements)
    before = path.read_bytes()
    with pytest.raises(ValidationError, match=refusal):
        SqliteStore(str(path))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, just some notes that are long enough to have a header")
    with pytest.raises(ValidationError, match=r"notes.txt is not a SQLite database"):
        SqliteStore(str(path))
    assert path.read_text().startswith("not a database")


def _open_and_start(path: str, number: int, start_at: float) -> str:
    while time.time() < start_at:
        pass  # every process opens the file at the same moment
    store = SqliteStore(path)
    try:
        store.create_execution(NewExecution(f"exec-{number}", "f", f"run-{number}", None), T0)
        return "opened"
    finally:
        store.close()


def test_processes_opening_one_new_file_at_once_all_succeed(tmp_path: Path) -> None:
    processes = 12
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pool.map(time.sleep, [0.01] * processes)  # every worker is up before the first round
        for round_ in range(3):
            path = str(tmp_path / f"shared-{round_}.db")
            start_at = time.time() + 0.3
            opened = pool.starmap(_open_and_start, [(path, n, start_at) for n in range(processes)])
            assert opened == ["opened"] * processes
            store = SqliteStore(path)
            assert len(store.list_executions().executions) == processes
            store.close()


def test_operations_kept_by_the_writing_store_equal_what_a_fresh_reader_decodes(
    tmp_path: Path,
) -> None:
    """The store keeps the operations it writes instead of decoding its own rows
    again; they must be exactly what another reader of the file decodes."""
    attempts: list[int] = []

    def flaky(_: object) -> str:
        attempts.append(1)
        if len(attempts) < 2:
            raise RuntimeError("first attempt fails")
        return "ok"

    retry = StepConfig(retry_strategy=create_retry_strategy(RetryStrategyConfig(max_attempts=3)))
    large = ChildConfig[str](summary_generator=lambda result: "summary")

    @durable_execution
    def handler(event: object, context: DurableContext) -> object:
        context.step(flaky, "flaky", retry)
        context.wait(Duration.from_seconds(2), "pause")
        callback = context.create_callback(
            "approval", CallbackConfig(timeout=Duration.from_hours(1))
        )
        approved = callback.result()
        doubled = context.map([1, 2, 3], lambda ctx, item, i, items: ctx.step(lambda _: item * 2))
        context.run_in_child_context(lambda ctx: "x" * 300_000, "large", large)
        polled = context.wait_for_condition(
            lambda state, check: state + 1,
            WaitForConditionConfig(
                lambda state, attempt: WaitForConditionDecision(
                    should_continue=state < 2, delay=Duration.from_seconds(1)
                ),
                initial_state=0,
            ),
        )
        return [approved, doubled.get_results(), polled]

    path = str(tmp_path / "shared.sqlite3")
    with DurableFunctionTestRunner(handler, store=SqliteStore(path)) as runner:
        execution_id = runner.run_async("{}")
        runner.send_callback_success(runner.wait_for_callback(execution_id), b"yes")
        result = runner.wait_for_result(execution_id)
        assert result.result == '["yes", [2, 4, 6], 2]'
        kept = runner.engine.store.get_operations(execution_id)
    fresh = SqliteStore(path)
    decoded = fresh.get_operations(execution_id)
    fresh.close()
    assert [op.operation_type.value for op in kept].count("STEP") >= 4
    assert kept == decoded
