"""The store contract's liveness rule, on every store.

Every RUNNING execution with something to do has something durable that
will invoke it: its reinvoke timer, or a lease whose expiry is that timer.
Each method that creates work sets the timer in the same write; only an
invocation that has seen the work clears it.
"""

from __future__ import annotations

import datetime

import pytest
from stores import T0, at, liveness_violations, start, timers, wait_batch

from durable_lambda.callback_ids import callback_id_for, new_callback_key, token_hash
from durable_lambda.exceptions import ValidationError
from durable_lambda.lambda_service import (
    CallbackOptions,
    ChainedInvokeOptions,
    ErrorObject,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)
from durable_lambda.operation.callback import callback_succeeded
from durable_lambda.store import (
    CheckpointBatch,
    ExecutionStatus,
    InvocationFailed,
    Lease,
    NewExecution,
    Store,
    Succeeded,
    Suspended,
)
from durable_lambda.transitions import Completion, apply_update


def take(store: Store, execution_id: str, invocation: str = "inv-1", until: float = 900) -> Lease:
    lease = store.acquire_lease(execution_id, invocation, T0, at(until), "host/1/1")
    assert lease is not None
    return lease


def write(store: Store, lease: Lease, update: OperationUpdate, now: datetime.datetime) -> None:
    batch = CheckpointBatch()
    batch.add(apply_update(update, None, now))
    store.write(lease, batch)


def invoke_started(operation_id: str) -> OperationUpdate:
    return OperationUpdate(
        operation_id,
        OperationType.CHAINED_INVOKE,
        OperationAction.START,
        sub_type="ChainedInvoke",
        payload="{}",
        chained_invoke_options=ChainedInvokeOptions(function_name="plain"),
    )


def test_starting_makes_the_execution_due_at_once(store: Store) -> None:
    execution_id = start(store)
    assert timers(store) == [(execution_id, "reinvoke", T0)]
    assert liveness_violations(store) == []


def test_a_lease_makes_its_expiry_the_execution_s_work(store: Store) -> None:
    execution_id = start(store)
    lease = take(store, execution_id, until=900)
    assert timers(store) == [(execution_id, "reinvoke", T0)]  # the start stays due
    store.write(lease, wait_batch("1", 5, at(1)))
    assert store.finish_invocation(lease, at(2), Suspended())
    store.fire_timer(execution_id, "op:1", at(6))
    store.schedule_reinvoke(execution_id, at(2000))  # due later than the next lease
    take(store, execution_id, "inv-2", until=960)
    assert timers(store) == [(execution_id, "reinvoke", at(960))]
    record = store.get_execution(execution_id)
    assert record.lease is not None
    assert (record.lease.invocation_id, record.lease.holder) == ("inv-2", "host/1/1")
    assert (record.lease.started, record.lease.until) == (T0, at(960))
    assert liveness_violations(store) == []


def test_a_refused_invocation_leaves_the_live_lease_s_expiry_due(store: Store) -> None:
    execution_id = start(store)
    lease = take(store, execution_id, until=900)
    store.write(lease, wait_batch("1", 5, at(1)))
    store.fire_timer(execution_id, "op:1", at(6))  # a waker: due now
    assert ("reinvoke", at(6)) in [(key, due) for _, key, due in timers(store)]
    assert store.acquire_lease(execution_id, "inv-2", at(7), at(907)) is None
    # The holder sees the wake-up when it suspends, or its lease expires.
    assert [(key, due) for _, key, due in timers(store)] == [("reinvoke", at(900))]


def test_suspending_having_seen_everything_clears_the_work(store: Store) -> None:
    execution_id = start(store)
    lease = take(store, execution_id)
    store.write(lease, wait_batch("1", 5, at(1)))
    assert store.finish_invocation(lease, at(2), Suspended())
    assert timers(store) == [(execution_id, "op:1", at(6))]
    assert store.get_execution(execution_id).lease is None
    assert liveness_violations(store) == []


def test_a_fired_wait_makes_the_execution_due_in_the_same_write(store: Store) -> None:
    execution_id = start(store)
    lease = take(store, execution_id)
    store.write(lease, wait_batch("1", 5, at(1)))
    store.finish_invocation(lease, at(2), Suspended())
    assert store.fire_timer(execution_id, "op:1", at(6))
    assert timers(store) == [(execution_id, "reinvoke", at(6))]
    assert liveness_violations(store) == []


def test_a_completed_callback_makes_the_execution_due(store: Store) -> None:
    key = new_callback_key()
    execution_id = start(store)
    lease = take(store, execution_id)
    callback_id = callback_id_for(key, execution_id, "1")
    update = OperationUpdate(
        "1",
        OperationType.CALLBACK,
        OperationAction.START,
        sub_type="Callback",
        callback_options=CallbackOptions(token_hash=token_hash(callback_id)),
    )
    write(store, lease, update, at(1))
    store.finish_invocation(lease, at(2), Suspended())
    assert timers(store) == []
    assert liveness_violations(store) == []  # it waits on its caller
    store.change_callback(token_hash(callback_id), callback_succeeded('"yes"'), at(3))
    assert timers(store) == [(execution_id, "reinvoke", at(3))]


def test_a_reinvoke_stays_due_when_fired_until_an_invocation_saw_the_work(store: Store) -> None:
    execution_id = start(store)
    assert store.fire_timer(execution_id, "reinvoke", at(1))
    assert store.fire_timer(execution_id, "reinvoke", at(2))
    assert timers(store) == [(execution_id, "reinvoke", T0)]
    lease = take(store, execution_id, until=900)
    assert timers(store) == [(execution_id, "reinvoke", T0)]
    assert store.finish_invocation(lease, at(3), Suspended())
    assert timers(store) == []


def test_a_failed_invocation_leaves_the_execution_due(store: Store) -> None:
    execution_id = start(store)
    lease = take(store, execution_id, until=900)
    error = ErrorObject("flaky", "InvocationError", None, None)
    assert store.finish_invocation(lease, at(1), InvocationFailed(error))
    assert store.get_execution(execution_id).lease is None
    assert timers(store) == [(execution_id, "reinvoke", T0)]  # for the invoker to move
    store.schedule_reinvoke(execution_id, at(3))
    assert timers(store) == [(execution_id, "reinvoke", at(3))]


def test_ending_clears_every_timer(store: Store) -> None:
    execution_id = start(store, timeout=60)
    lease = take(store, execution_id)
    store.write(lease, wait_batch("1", 5, at(1)))
    assert store.finish_invocation(lease, at(2), Succeeded('"done"'))
    assert timers(store) == []


def test_a_chained_invoke_waits_for_its_target_to_start(store: Store) -> None:
    execution_id = start(store)
    lease = take(store, execution_id)
    write(store, lease, invoke_started("1"), at(1))
    store.finish_invocation(lease, at(2), Suspended())
    assert timers(store) == [(execution_id, "invoke:1", at(1))]
    assert liveness_violations(store) == []
    # Fired while the target has not started: the execution is invoked (its
    # replay asks for the target again) and the timer comes back later.
    assert store.fire_timer(execution_id, "invoke:1", at(3))
    assert timers(store) == [(execution_id, "invoke:1", at(13))]


def test_starting_a_durable_child_clears_its_parent_s_start_timer(store: Store) -> None:
    parent_id = start(store, "parent")
    lease = take(store, parent_id)
    write(store, lease, invoke_started("1"), at(1))
    store.finish_invocation(lease, at(2), Suspended())
    child = NewExecution("exec-child", "orders", "child", "{}", None, parent_id, "1")
    _, created = store.create_execution(child, at(3))
    assert created
    assert timers(store) == [("exec-child", "reinvoke", at(3))]
    assert liveness_violations(store) == []  # the parent waits on its running child


def test_a_function_call_is_claimed_once_and_fails_at_its_deadline(store: Store) -> None:
    execution_id = start(store)
    lease = take(store, execution_id)
    write(store, lease, invoke_started("1"), at(1))
    store.finish_invocation(lease, at(2), Suspended())
    assert store.claim_function_call(execution_id, "1", at(3), at(100))
    assert not store.claim_function_call(execution_id, "1", at(4), at(100))
    assert timers(store) == [(execution_id, "invoke-call:1", at(100))]
    assert store.fire_timer(execution_id, "invoke-call:1", at(100))
    [operation] = store.get_operations(execution_id)
    assert operation.status is OperationStatus.FAILED
    assert operation.chained_invoke_details is not None
    error = operation.chained_invoke_details.error
    assert error is not None and error.type == "Sandbox.Timedout"
    assert "is not called again" in (error.message or "")
    assert timers(store) == [(execution_id, "reinvoke", at(100))]


def test_a_function_call_s_outcome_clears_its_deadline(store: Store) -> None:
    execution_id = start(store)
    lease = take(store, execution_id)
    write(store, lease, invoke_started("1"), at(1))
    store.finish_invocation(lease, at(2), Suspended())
    assert store.claim_function_call(execution_id, "1", at(3), at(100))
    completion = Completion(OperationStatus.SUCCEEDED, result='"ok"')
    assert store.complete_operation(execution_id, "1", completion, at(4))
    assert timers(store) == [(execution_id, "reinvoke", at(4))]


def test_timers_are_read_for_the_functions_asked_for(store: Store) -> None:
    orders = start(store, "a", function="orders")
    billing = start(store, "b", function="billing")
    assert [t.execution_id for t in store.due_timers(T0, 10, ["orders"])] == [orders]
    assert [t.execution_id for t in store.due_timers(T0, 10, ["billing", "x"])] == [billing]
    assert store.due_timers(T0, 10, []) == []
    assert store.next_timer_due(["billing"]) == T0
    assert store.next_timer_due(["nothing"]) is None


def test_executions_list_by_function_status_and_start(store: Store) -> None:
    for number in range(5):
        function = "orders" if number % 2 == 0 else "billing"
        store.create_execution(
            NewExecution(f"exec-{number}", function, f"run-{number}", None), at(number)
        )
    take(store, "exec-0")
    store.finish_invocation(store.reload(take(store, "exec-2", "inv-2")), at(9), Succeeded(None))
    orders = store.list_executions(function_name="orders")
    assert [r.execution_id for r in orders.executions] == ["exec-0", "exec-2", "exec-4"]
    assert orders.next_page_token is None
    running = store.list_executions(function_name="orders", status=ExecutionStatus.RUNNING)
    assert [r.execution_id for r in running.executions] == ["exec-0", "exec-4"]
    assert running.executions[0].lease is not None
    window = store.list_executions(started_after=at(0), started_before=at(4))
    assert [r.execution_id for r in window.executions] == ["exec-1", "exec-2", "exec-3"]


def test_executions_list_a_page_at_a_time(store: Store) -> None:
    for number in range(7):
        store.create_execution(NewExecution(f"exec-{number}", "f", f"run-{number}", None), T0)
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page = store.list_executions(page_token=token, limit=3)
        seen.extend(r.execution_id for r in page.executions)
        pages += 1
        token = page.next_page_token
        if token is None:
            break
    assert seen == [f"exec-{n}" for n in range(7)]
    assert pages == 3


@pytest.mark.parametrize("limit", [0, 1001, "10", True])
def test_a_page_size_out_of_range_is_refused(store: Store, limit: object) -> None:
    with pytest.raises(ValidationError, match="limit must be an integer from 1 to 1000"):
        store.list_executions(limit=limit)  # type: ignore[arg-type]


def test_a_page_token_not_issued_is_refused(store: Store) -> None:
    with pytest.raises(ValidationError, match="page_token is not one this store issued"):
        store.list_executions(page_token="not-a-token")
