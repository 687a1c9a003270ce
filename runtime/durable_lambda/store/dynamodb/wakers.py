"""Wakers: changes to a RUNNING execution's operations from outside its
invocations (a timer, a callback's caller, a child's end).

A waker logs its change at the next log position, so an invocation holding
the lease finds it at its next write and reloads before suspending; and it
makes the execution due now, so that something invokes it.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from collections.abc import Callable
from typing import Any

from durable_lambda.lambda_service import Operation, epoch_millis
from durable_lambda.store.contract import (
    CALLBACK_NOT_FOUND,
    CallbackChange,
    CallbackNotFoundError,
    ExecutionRecord,
    StoreError,
    child_completion,
    waiting_callback,
)
from durable_lambda.store.dynamodb import items, layout
from durable_lambda.store.dynamodb.cache import ExecutionCache
from durable_lambda.store.dynamodb.codec import Entry, Head, operation_of, unpack
from durable_lambda.store.dynamodb.log import Log
from durable_lambda.store.dynamodb.records import Records
from durable_lambda.store.dynamodb.table import CONTENTION_ATTEMPTS, Conflict, Table
from durable_lambda.transitions import Completion, Transition, on_completion


@dataclasses.dataclass
class Change:
    """A waker's writes, and the log item among them (sequence number, entry)."""

    writes: list[dict[str, Any]]
    logged: tuple[int, Entry] | None = None


@dataclasses.dataclass(kw_only=True, eq=False)
class Wakers:
    """Writes of wakers, each one transaction conditioned on what it read."""

    table: Table
    log: Log
    cache: ExecutionCache
    records: Records
    retention: datetime.timedelta

    def operation(self, execution_id: str, operation_id: str) -> tuple[Operation, int] | None:
        """The latest state of a waiting operation and its version."""
        item = self.table.get(
            layout.execution_partition(execution_id), layout.OPERATION + operation_id
        )
        if item is None:
            return None
        return operation_of(unpack(item["o"]["B"])), int(item["ov"]["N"])

    def items(
        self,
        head: Head,
        operation_id: str,
        transition_of: Callable[[Operation], Transition | None],
        now: datetime.datetime,
        *,
        wake: bool = True,
        waiting: Operation | None = None,
    ) -> Change | None:
        """The writes of a waker's change to one operation: None when it no longer waits.

        ``waiting`` is the operation as its timer's item holds it; otherwise it is
        read from its ``O#`` item, whose update is conditioned on the version read.
        With ``wake`` the change is logged and the execution made due now.
        """
        execution_id = head.record.execution_id
        partition = layout.execution_partition(execution_id)
        found = (
            (waiting, None) if waiting is not None else self.operation(execution_id, operation_id)
        )
        if found is None:
            # Not one that callers outside change: its state is in the log.
            logged = self.cache.load(execution_id).operations.get(operation_id)
            found = (logged, None) if logged is not None else None
        transition = transition_of(found[0]) if found is not None else None
        if found is None or transition is None:
            return None
        version = found[1]
        expires = items.expiry_of(head, self.retention)
        operation = transition.operation
        timers = [(t.key, t.due) for t in transition.timers]
        changes = items.timer_changes(head.record, timers, expires, {operation_id: operation})
        if version is not None:
            changes.append(items.operation_change(partition, operation_id, operation, version))
        if not wake:
            return Change(changes)
        seq, next_event = self.log.tail(partition)
        entry = Entry("wake", [operation], list(transition.events), next_event)
        changes.append(self.log.put(partition, seq + 1, entry, expires))
        changes.append({"Update": items.due_update(execution_id, now)})
        return Change(changes, (seq + 1, entry))

    def wake(
        self,
        execution_id: str,
        operation_id: str,
        transition_of: Callable[[Operation], Transition | None],
        now: datetime.datetime,
        *,
        extra: Callable[[], list[dict[str, Any]]] = list,
        waiting: Operation | None = None,
        head: Head | None = None,
    ) -> bool:
        """Apply a waker's change to one operation of a RUNNING execution; False when
        there is nothing to change.

        ``head`` is the execution item as the caller just read it: the first
        attempt writes on it (its writes are conditioned on what it shows), the
        next ones read it again.
        """
        read = head
        for _ in range(CONTENTION_ATTEMPTS):
            head, read = read or self.records.head(execution_id), None
            if head is None or not head.running:
                return False
            change = self.items(head, operation_id, transition_of, now, waiting=waiting)
            if change is None:
                return False
            try:
                self.table.transact([*change.writes, *extra()])
            except Conflict:
                continue
            if change.logged is not None:
                self.cache.woken(head, *change.logged, epoch_millis(now))
            return True
        raise StoreError(f"Could not wake {execution_id}: too much contention")

    def complete_operation(
        self,
        execution_id: str,
        operation_id: str,
        completion: Completion,
        now: datetime.datetime,
    ) -> bool:
        """The store contract's ``complete_operation``."""
        return self.wake(
            execution_id, operation_id, lambda op: on_completion(op, completion, now), now
        )

    def change_callback(
        self, token_hash: str, change: CallbackChange, now: datetime.datetime
    ) -> str:
        """The store contract's ``change_callback``."""
        found = self.table.get(layout.callback_partition(token_hash), layout.CALLBACK)
        if found is None:
            raise CallbackNotFoundError(CALLBACK_NOT_FOUND)
        execution_id, operation_id = found["x"]["S"], found["o"]["S"]
        for _ in range(CONTENTION_ATTEMPTS):
            head = self.records.require_head(execution_id)
            current = self.operation(execution_id, operation_id)
            operation = waiting_callback(
                head.record.status.value, current[0] if current is not None else None
            )
            transition = change(operation, now)
            woke = transition.operation.status is not operation.status
            waking = self.items(
                head, operation_id, functools.partial(_same, transition), now, wake=woke
            )
            assert waking is not None
            try:
                self.table.transact(waking.writes)
            except Conflict:
                continue
            return str(execution_id)
        raise StoreError(f"Could not change the callback of {execution_id}: too much contention")

    def parent_completion(
        self, child: ExecutionRecord, now: datetime.datetime
    ) -> list[dict[str, Any]]:
        """The parent's part of a child's end: its invoke completes, in the same write."""
        parent_id, operation_id = child.parent_execution_id, child.parent_operation_id
        if parent_id is None or operation_id is None:
            return []
        parent = self.records.head(parent_id)
        if parent is None or not parent.running:
            return []
        change = self.items(
            parent, operation_id, lambda op: on_completion(op, child_completion(child), now), now
        )
        return change.writes if change is not None else []


def _same(transition: Transition, _: Operation) -> Transition:
    return transition
