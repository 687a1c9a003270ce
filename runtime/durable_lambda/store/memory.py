"""The store contract in this process's memory: the test runner's default.

Executions, operations, events, timers and the callback index are Python
objects under one lock, so every method is atomic by holding it; a method
that fails part-way undoes what it changed (``_Undo``). Operations and
events are kept as the runtime made them (immutable operations; events
copied on read), so nothing is encoded or decoded. Like SQLite in memory,
what it holds dies with the process (``volatile``), and no other process can
open it.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import heapq
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

from durable_lambda.exceptions import ValidationError
from durable_lambda.history import Event, execution_event, invocation_completed, payload
from durable_lambda.lambda_service import ErrorObject, Operation, epoch_millis
from durable_lambda.lambda_service import from_epoch_millis as _from_millis
from durable_lambda.store.contract import (
    CALLBACK_NOT_FOUND,
    DEFAULT_PAGE_SIZE,
    EXECUTION_TIMEOUT_TIMER,
    REINVOKE_TIMER,
    CallbackChange,
    CallbackNotFoundError,
    CheckpointBatch,
    DueTimer,
    ExecutionNotFoundError,
    ExecutionPage,
    ExecutionRecord,
    ExecutionStatus,
    InvocationOutcome,
    Lease,
    LeaseHolder,
    LeaseLostError,
    NewExecution,
    Suspended,
    check_page_size,
    child_completion,
    ending_events,
    exit_error,
    function_call_timer,
    is_delivery_timer,
    page_position,
    parent_ended_error,
    parent_not_running_error,
    redelivery_due,
    start_target_timer,
    terminated_event,
    timed_out_error,
    token_after,
    waiting_callback,
)
from durable_lambda.transitions import (
    Completion,
    Transition,
    on_completion,
    on_timer,
    parse_operation_timer,
)

TimerId = tuple[str, str]
"""(execution id, timer key)."""


def _stored_time(moment: datetime.datetime) -> datetime.datetime:
    """``moment`` at the stores' precision: rounded to the millisecond, as stored."""
    return _from_millis(epoch_millis(moment))


@dataclasses.dataclass
class _Execution:
    """One execution as held: its record, lease and wake state, operations and events."""

    record: ExecutionRecord
    epoch: int = 0
    wake_seq: int = 0
    lease: LeaseHolder | None = None
    operations: dict[str, Operation] = dataclasses.field(default_factory=dict)
    events: list[Event] = dataclasses.field(default_factory=list)
    children: list[str] = dataclasses.field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.record.status is ExecutionStatus.RUNNING

    def seen(self) -> ExecutionRecord:
        """The record as a reader sees it, with the lease."""
        if self.lease is None:
            return self.record
        return dataclasses.replace(self.record, lease=self.lease)


class _Undo:
    """``with``: the changes of one method, undone if it raises."""

    __slots__ = ("_steps",)

    def __init__(self) -> None:
        self._steps: list[Callable[[], None]] = []

    def add(self, step: Callable[[], None]) -> None:
        self._steps.append(step)

    def __enter__(self) -> _Undo:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is not None:
            for step in reversed(self._steps):
                step()


class MemoryStore:
    """The store contract in this process's memory: the test runner's default.

    What it holds dies with the process (``volatile``), and no other process
    can open it; the module docstring says how it keeps every method atomic.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executions: dict[str, _Execution] = {}
        self._by_name: dict[tuple[str, str], str] = {}
        self._timers: dict[TimerId, int] = {}
        """Every timer's due time, epoch milliseconds."""
        self._timer_keys: dict[str, set[str]] = {}
        """The keys of each execution's timers."""
        self._due_order: list[tuple[int, TimerId]] = []
        """A heap of (due, timer); entries whose timer changed since are skipped."""
        self._callbacks: dict[str, tuple[str, str]] = {}
        """Callback id hash -> (execution id, operation id)."""

    @property
    def volatile(self) -> bool:
        """Always: what it holds dies with this process."""
        return True

    # region executions

    def create_execution(
        self, new: NewExecution, now: datetime.datetime
    ) -> tuple[ExecutionRecord, bool]:
        now = _stored_time(now)
        with self._lock:
            existing = self._by_name.get((new.function_name, new.execution_name))
            if existing is not None:
                self._clear_start_target_timer(_Undo(), new)
                return self._executions[existing].seen(), False
            if new.parent_execution_id is not None:
                self._require_running_parent(new.parent_execution_id)
            record = ExecutionRecord(
                execution_id=new.execution_id,
                function_name=new.function_name,
                execution_name=new.execution_name,
                status=ExecutionStatus.RUNNING,
                input_payload=new.input_payload,
                start_timestamp=now,
                timeout_seconds=new.timeout_seconds,
                parent_execution_id=new.parent_execution_id,
                parent_operation_id=new.parent_operation_id,
            )
            execution = _Execution(record)
            details: dict[str, Any] = {"Input": payload(new.input_payload)}
            undo = _Undo()
            self._set_timer(undo, new.execution_id, REINVOKE_TIMER, now)
            self._clear_start_target_timer(undo, new)
            if new.timeout_seconds is not None:
                details["ExecutionTimeout"] = new.timeout_seconds
            if new.timeout_seconds is not None and new.timeout_timer:
                due = now + datetime.timedelta(seconds=new.timeout_seconds)
                self._set_timer(undo, new.execution_id, EXECUTION_TIMEOUT_TIMER, due)
            execution.events.append(execution_event("ExecutionStarted", now, details))
            self._executions[new.execution_id] = execution
            self._by_name[(new.function_name, new.execution_name)] = new.execution_id
            if new.parent_execution_id is not None:
                self._executions[new.parent_execution_id].children.append(new.execution_id)
        return record, True

    def _clear_start_target_timer(self, undo: _Undo, new: NewExecution) -> None:
        """A child exists: its parent's invoke no longer waits for the target to start."""
        if new.parent_execution_id is not None and new.parent_operation_id is not None:
            key = start_target_timer(new.parent_operation_id)
            self._clear_timer(undo, new.parent_execution_id, key)

    def _require_running_parent(self, parent_execution_id: str) -> None:
        parent = self._executions.get(parent_execution_id)
        if parent is None or not parent.running:
            status = parent.record.status if parent is not None else None
            raise parent_not_running_error(parent_execution_id, status)

    def get_execution(self, execution_id: str) -> ExecutionRecord:
        with self._lock:
            return self._execution(execution_id).seen()

    def list_executions(
        self,
        *,
        function_name: str | None = None,
        status: ExecutionStatus | None = None,
        started_after: datetime.datetime | None = None,
        started_before: datetime.datetime | None = None,
        page_token: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> ExecutionPage:
        check_page_size(limit)
        after = page_position(page_token)
        after_ms = epoch_millis(started_after) if started_after is not None else None
        before_ms = epoch_millis(started_before) if started_before is not None else None
        with self._lock:
            found = [
                execution.seen()
                for execution in self._executions.values()
                if (function_name is None or execution.record.function_name == function_name)
                and (status is None or execution.record.status is status)
            ]
        matching = sorted(
            (
                ((epoch_millis(record.start_timestamp), record.execution_id), record)
                for record in found
            ),
            key=lambda pair: pair[0],
        )
        page = [
            record
            for position, record in matching
            if (after is None or position > after)
            and (after_ms is None or position[0] > after_ms)
            and (before_ms is None or position[0] < before_ms)
        ][: limit + 1]
        more = len(page) > limit
        return ExecutionPage(page[:limit], token_after(page[limit - 1]) if more else None)

    def _execution(self, execution_id: str) -> _Execution:
        execution = self._executions.get(execution_id)
        if execution is None:
            raise ExecutionNotFoundError(f"No execution with id {execution_id!r}")
        return execution

    # endregion
    # region invocations

    def acquire_lease(
        self,
        execution_id: str,
        invocation_id: str,
        now: datetime.datetime,
        lease_until: datetime.datetime,
        holder: str | None = None,
    ) -> Lease | None:
        now = _stored_time(now)
        with self._lock:
            execution = self._execution(execution_id)
            if not execution.running:
                return None
            held = execution.lease
            if held is not None:
                if held.invocation_id != invocation_id and held.until > now:
                    # Its holder sees what woke the execution, or its lease expires.
                    self._set_timer(_Undo(), execution_id, REINVOKE_TIMER, held.until)
                    return None
                owner = held.invocation_id
                execution.events.append(
                    invocation_completed(held.started, now, owner, exit_error(owner))
                )
            execution.epoch += 1
            until = _stored_time(lease_until)
            execution.lease = LeaseHolder(invocation_id, holder, now, until)
            due = self._timers.get((execution_id, REINVOKE_TIMER))
            if due is None or due > epoch_millis(until):
                self._set_timer(_Undo(), execution_id, REINVOKE_TIMER, until)
            return self._lease(execution, invocation_id, now)

    def reload(self, lease: Lease) -> Lease:
        with self._lock:
            execution = self._execution(lease.execution.execution_id)
            if execution.epoch != lease.epoch:
                raise LeaseLostError(f"Invocation {lease.invocation_id} lost its lease")
            return self._lease(execution, lease.invocation_id, lease.started)

    @staticmethod
    def _lease(execution: _Execution, invocation_id: str, started: datetime.datetime) -> Lease:
        operations = tuple(execution.operations.values())
        epoch, wake_seq = execution.epoch, execution.wake_seq
        return Lease(execution.seen(), invocation_id, epoch, wake_seq, started, operations)

    def write(self, lease: Lease, batch: CheckpointBatch) -> None:
        execution_id = lease.execution.execution_id
        with self._lock:
            execution = self._execution(execution_id)
            if execution.epoch != lease.epoch or not execution.running:
                msg = f"Execution {execution_id} is no longer held by this invocation"
                raise LeaseLostError(msg)
            self._write(execution, batch)

    def _write(
        self, execution: _Execution, batch: CheckpointBatch, undo: _Undo | None = None
    ) -> None:
        """Persist a batch of the execution's own checkpoints; ``undo`` takes it back.

        ``write`` passes no undo (nothing after it can fail), so the hot path
        builds nothing to take back.
        """
        execution_id = execution.record.execution_id
        operations = execution.operations
        if undo is not None:
            kept_events = len(execution.events)
            before = {op_id: operations.get(op_id) for op_id in batch.operations}
            tokens = [
                token
                for op in batch.operations.values()
                if op.callback_details is not None
                and (token := op.callback_details.token_hash)
                and token not in self._callbacks
            ]

            def restore() -> None:
                del execution.events[kept_events:]
                for op_id, operation in before.items():
                    if operation is None:
                        operations.pop(op_id, None)
                    else:
                        operations[op_id] = operation
                for token in tokens:
                    self._callbacks.pop(token, None)

            undo.add(restore)
        execution.events.extend(batch.events)
        operations.update(batch.operations)
        for operation_id, operation in batch.operations.items():
            details = operation.callback_details
            if details is not None and details.token_hash:
                self._callbacks.setdefault(details.token_hash, (execution_id, operation_id))
        if batch.timers:
            self._apply_timers(undo or _Undo(), execution_id, batch.timers)

    def finish_invocation(
        self,
        lease: Lease,
        now: datetime.datetime,
        outcome: InvocationOutcome,
        batch: CheckpointBatch | None = None,
    ) -> bool:
        now = _stored_time(now)
        execution_id = lease.execution.execution_id
        with self._lock, _Undo() as undo:
            execution = self._execution(execution_id)
            if execution.epoch != lease.epoch:
                raise LeaseLostError(f"Invocation {lease.invocation_id} lost its lease")
            if batch:
                self._write(execution, batch, undo)
            if isinstance(outcome, Suspended):
                if execution.wake_seq != lease.wake_seq:
                    return False
                self._clear_timer(undo, execution_id, REINVOKE_TIMER)
            self._release_lease(undo, execution)
            events, ended = ending_events(lease, now, outcome)
            if ended is not None:
                status, result, error = ended
                self._end_execution(undo, execution, status, now, result=result, error=error)
            self._append_events(undo, execution, events)
        return True

    def abandon_invocation(
        self,
        execution_id: str,
        invocation_id: str,
        now: datetime.datetime,
        error: ErrorObject,
        retry_at: datetime.datetime,
    ) -> bool:
        with self._lock, _Undo() as undo:
            execution = self._execution(execution_id)
            held = execution.lease
            if held is None or held.invocation_id != invocation_id:
                return False
            self._release_lease(undo, execution, fence=True)
            self._append_events(
                undo, execution, [invocation_completed(held.started, now, invocation_id, error)]
            )
            self._set_timer(undo, execution_id, REINVOKE_TIMER, retry_at)
        return True

    @staticmethod
    def _release_lease(undo: _Undo, execution: _Execution, *, fence: bool = False) -> None:
        """Clear the lease; with ``fence``, also bump the epoch (its holder is cut off)."""
        before = (execution.epoch, execution.lease)

        def restore() -> None:
            execution.epoch, execution.lease = before

        undo.add(restore)
        if fence:
            execution.epoch += 1
        execution.lease = None

    # endregion
    # region timers

    def schedule_reinvoke(self, execution_id: str, due: datetime.datetime) -> None:
        with self._lock:
            self._set_timer(_Undo(), execution_id, REINVOKE_TIMER, due)

    def fire_timer(self, execution_id: str, key: str, now: datetime.datetime) -> bool:
        now = _stored_time(now)
        with self._lock, _Undo() as undo:
            execution = self._executions.get(execution_id)
            if (execution_id, key) not in self._timers:
                return False
            if execution is None or not execution.running:
                self._clear_timer(undo, execution_id, key)
                return False
            if is_delivery_timer(key):
                redelivery = redelivery_due(key, now)
                if redelivery is not None:
                    self._set_timer(undo, execution_id, key, redelivery)
                return True
            self._clear_timer(undo, execution_id, key)
            if key == EXECUTION_TIMEOUT_TIMER:
                self._time_out(undo, execution, now)
                return False
            operation_timer = parse_operation_timer(key)
            if operation_timer is None:
                return False
            kind, operation_id = operation_timer
            return self._transition_operation(
                undo, execution, operation_id, now, lambda operation: on_timer(operation, kind, now)
            )

    def claim_function_call(
        self,
        execution_id: str,
        operation_id: str,
        now: datetime.datetime,
        deadline: datetime.datetime,
    ) -> bool:
        with self._lock, _Undo() as undo:
            execution = self._executions.get(execution_id)
            if execution is None or not execution.running:
                return False
            if not self._clear_timer(undo, execution_id, start_target_timer(operation_id)):
                return False
            self._set_timer(undo, execution_id, function_call_timer(operation_id), deadline)
        return True

    def due_timers(
        self,
        now: datetime.datetime,
        limit: int,
        function_names: Collection[str] | None = None,
    ) -> Sequence[DueTimer]:
        now_ms = epoch_millis(now)
        due: list[DueTimer] = []
        with self._lock:
            for due_ms, (execution_id, key) in self._live_timers(function_names):
                if due_ms > now_ms or len(due) == limit:
                    break
                due.append(DueTimer(execution_id, key, _from_millis(due_ms)))
        return due

    def next_timer_due(
        self, function_names: Collection[str] | None = None
    ) -> datetime.datetime | None:
        with self._lock:
            for due_ms, _ in self._live_timers(function_names):
                return _from_millis(due_ms)
        return None

    def _live_timers(self, function_names: Collection[str] | None) -> Iterator[tuple[int, TimerId]]:
        """Timers in due order (of these functions' executions), under the lock.

        Walks the heap without disturbing it: entries whose timer changed since
        are dropped on the way, the others put back when the walk ends.
        """
        taken: list[tuple[int, TimerId]] = []
        seen: set[TimerId] = set()
        try:
            while self._due_order:
                entry = heapq.heappop(self._due_order)
                due_ms, timer = entry
                if self._timers.get(timer) != due_ms or timer in seen:
                    continue  # changed or cleared since, or set again to the same time
                seen.add(timer)
                taken.append(entry)
                if function_names is None or self._function_of(timer[0]) in function_names:
                    yield entry
        finally:
            for entry in taken:
                heapq.heappush(self._due_order, entry)

    def _function_of(self, execution_id: str) -> str | None:
        execution = self._executions.get(execution_id)
        return execution.record.function_name if execution is not None else None

    # endregion
    # region callbacks

    def change_callback(
        self, token_hash: str, change: CallbackChange, now: datetime.datetime
    ) -> str:
        now = _stored_time(now)
        with self._lock, _Undo() as undo:
            found = self._callbacks.get(token_hash)
            if found is None:
                raise CallbackNotFoundError(CALLBACK_NOT_FOUND)
            execution_id, operation_id = found
            execution = self._executions[execution_id]
            operation = waiting_callback(
                execution.record.status, execution.operations.get(operation_id)
            )
            transition = change(operation, now)
            woke = transition.operation.status is not operation.status
            self._apply_transition(undo, execution, transition, now, wake=woke)
        return execution_id

    # endregion
    # region outcomes decided outside the execution

    def complete_operation(
        self,
        execution_id: str,
        operation_id: str,
        completion: Completion,
        now: datetime.datetime,
    ) -> bool:
        now = _stored_time(now)
        with self._lock, _Undo() as undo:
            return self._complete_operation(undo, execution_id, operation_id, completion, now)

    def _complete_operation(
        self,
        undo: _Undo,
        execution_id: str,
        operation_id: str,
        completion: Completion,
        now: datetime.datetime,
    ) -> bool:
        execution = self._executions.get(execution_id)
        if execution is None or not execution.running:
            return False
        return self._transition_operation(
            undo,
            execution,
            operation_id,
            now,
            lambda operation: on_completion(operation, completion, now),
        )

    def stop_execution(self, execution_id: str, now: datetime.datetime, error: ErrorObject) -> bool:
        now = _stored_time(now)
        with self._lock, _Undo() as undo:
            execution = self._execution(execution_id)
            if not execution.running:
                return False
            self._terminate(undo, execution, ExecutionStatus.STOPPED, now, error)
        return True

    def time_out_execution(self, execution_id: str, now: datetime.datetime) -> bool:
        now = _stored_time(now)
        with self._lock, _Undo() as undo:
            execution = self._execution(execution_id)
            if not execution.running:
                return False
            self._time_out(undo, execution, now)
        return True

    def _time_out(self, undo: _Undo, execution: _Execution, now: datetime.datetime) -> None:
        error = timed_out_error(execution.record.timeout_seconds)
        self._terminate(undo, execution, ExecutionStatus.TIMED_OUT, now, error)

    # endregion
    # region reads

    def get_operations(self, execution_id: str) -> list[Operation]:
        with self._lock:
            execution = self._executions.get(execution_id)
            return list(execution.operations.values()) if execution else []

    def get_history(self, execution_id: str) -> list[Event]:
        with self._lock:
            execution = self._executions.get(execution_id)
            events = list(execution.events) if execution else []
        # Copies: a caller changing what it read must not change the history.
        return [{**event, "EventId": n} for n, event in enumerate(copy.deepcopy(events), start=1)]

    def opener(self) -> Callable[[], MemoryStore]:
        msg = "An in-memory store cannot be opened by another process; use a SqliteStore file"
        raise ValidationError(msg)

    def close(self) -> None:
        """Nothing to release."""

    # endregion
    # region helpers

    @staticmethod
    def _append_events(undo: _Undo, execution: _Execution, events: Sequence[Event]) -> None:
        kept = len(execution.events)
        undo.add(lambda: execution.events.__delitem__(slice(kept, None)))
        execution.events.extend(events)

    def _transition_operation(
        self,
        undo: _Undo,
        execution: _Execution,
        operation_id: str,
        now: datetime.datetime,
        transition_of: Callable[[Operation], Transition | None],
    ) -> bool:
        """Apply a waker's transition of a recorded operation; False when there is none."""
        operation = execution.operations.get(operation_id)
        transition = transition_of(operation) if operation is not None else None
        if transition is None:
            return False
        self._apply_transition(undo, execution, transition, now, wake=True)
        return True

    def _apply_transition(
        self,
        undo: _Undo,
        execution: _Execution,
        transition: Transition,
        now: datetime.datetime,
        *,
        wake: bool,
    ) -> None:
        """Persist a waker's transition of an existing operation; ``wake`` bumps
        wake_seq and makes the execution due ``now``."""
        operation = transition.operation
        operations = execution.operations
        before = operations[operation.operation_id]
        undo.add(lambda: operations.__setitem__(operation.operation_id, before))
        self._append_events(undo, execution, transition.events)
        operations[operation.operation_id] = operation
        execution_id = execution.record.execution_id
        self._apply_timers(undo, execution_id, {t.key: t.due for t in transition.timers})
        if wake:
            undo.add(lambda: setattr(execution, "wake_seq", execution.wake_seq - 1))
            execution.wake_seq += 1
            self._set_timer(undo, execution_id, REINVOKE_TIMER, now)

    def _apply_timers(
        self, undo: _Undo, execution_id: str, timers: Mapping[str, datetime.datetime | None]
    ) -> None:
        for key, due in timers.items():
            if due is None:
                self._clear_timer(undo, execution_id, key)
            else:
                self._set_timer(undo, execution_id, key, due)

    def _set_timer(self, undo: _Undo, execution_id: str, key: str, due: datetime.datetime) -> None:
        timer = (execution_id, key)
        self._restore_timer_on_undo(undo, timer)
        due_ms = epoch_millis(due)
        self._timers[timer] = due_ms
        self._timer_keys.setdefault(execution_id, set()).add(key)
        heapq.heappush(self._due_order, (due_ms, timer))

    def _clear_timer(self, undo: _Undo, execution_id: str, key: str) -> bool:
        """Clear the timer; whether there was one."""
        timer = (execution_id, key)
        if timer not in self._timers:
            return False
        self._restore_timer_on_undo(undo, timer)
        del self._timers[timer]
        self._timer_keys[execution_id].discard(key)
        return True

    def _restore_timer_on_undo(self, undo: _Undo, timer: TimerId) -> None:
        before = self._timers.get(timer)

        def restore() -> None:
            execution_id, key = timer
            if before is None:
                self._timers.pop(timer, None)
                self._timer_keys.get(execution_id, set()).discard(key)
            else:
                self._timers[timer] = before
                self._timer_keys.setdefault(execution_id, set()).add(key)
                heapq.heappush(self._due_order, (before, timer))

        undo.add(restore)

    def _terminate(
        self,
        undo: _Undo,
        execution: _Execution,
        status: ExecutionStatus,
        now: datetime.datetime,
        error: ErrorObject,
    ) -> None:
        """End a RUNNING execution from outside (timeout, stop), fencing off its invocation."""
        self._release_lease(undo, execution, fence=True)
        self._end_execution(undo, execution, status, now, error=error)
        self._append_events(undo, execution, [terminated_event(status, now, error)])

    def _end_execution(
        self,
        undo: _Undo,
        execution: _Execution,
        status: ExecutionStatus,
        now: datetime.datetime,
        *,
        result: str | None = None,
        error: ErrorObject | None = None,
    ) -> None:
        """Record the end; complete the parent's invoke of it and stop its children."""
        before = execution.record
        undo.add(lambda: setattr(execution, "record", before))
        record = execution.record = dataclasses.replace(
            before, status=status, result=result, error=error, end_timestamp=now
        )
        execution_id = record.execution_id
        for key in list(self._timer_keys.get(execution_id, ())):
            self._clear_timer(undo, execution_id, key)
        if record.parent_execution_id is not None and record.parent_operation_id is not None:
            self._complete_operation(
                undo,
                record.parent_execution_id,
                record.parent_operation_id,
                child_completion(record),
                now,
            )
        for child_id in execution.children:
            child = self._executions[child_id]
            if child.running:
                stopped = parent_ended_error(execution_id, status)
                self._terminate(undo, child, ExecutionStatus.STOPPED, now, stopped)

    # endregion
