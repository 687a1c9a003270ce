"""What a store keeps of the executions it has read: their folded logs, and
where each of its invocations writes next.

A warm store (Lambda keeps containers) reads only the log items written
since it last looked.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Iterable

from durable_lambda.lambda_service import Operation
from durable_lambda.store.contract import Lease, LeaseLostError
from durable_lambda.store.dynamodb import layout
from durable_lambda.store.dynamodb.codec import LEASE_CHANGES, Entry
from durable_lambda.store.dynamodb.log import Log

CACHED_OPERATIONS = 200_000
"""Operations kept, over all executions, so that a warm store reads only what is new."""


@dataclasses.dataclass
class Folded:
    """An execution's log folded up to ``seq``: its operations, in first-write order."""

    seq: int = 0
    operations: dict[str, Operation] = dataclasses.field(default_factory=dict)
    next_event: int = 1
    input_payload: str | None = None

    def apply(self, seq: int, entry: Entry) -> None:
        for operation in entry.operations:
            self.operations[operation.operation_id] = operation
        if entry.kind == "start" and entry.events:
            started = entry.events[0].get("ExecutionStartedDetails", {})
            self.input_payload = started.get("Input", {}).get("Payload")
        self.seq = seq
        self.next_event = entry.next_event_id

    def copy(self) -> Folded:
        return Folded(self.seq, dict(self.operations), self.next_event, self.input_payload)


@dataclasses.dataclass
class Cursor:
    """Where an invocation writes next, and whether a waker wrote since it loaded."""

    next_seq: int
    next_event: int
    woken: bool = False

    def catch_up(self, lease: Lease, entries: Iterable[tuple[int, Entry]]) -> None:
        """Move past what others wrote at and after the cursor (``entries``): a waker's
        facts move it on (and mark it woken); anything else means the lease is lost."""
        for seq, entry in entries:
            if entry.kind in LEASE_CHANGES or entry.kind == "start":
                raise LeaseLostError(f"Invocation {lease.invocation_id} lost its lease")
            self.woken = True
            self.next_seq = seq + 1
            self.next_event = entry.next_event_id


class ExecutionCache:
    """Folded logs of the executions last read, and the cursors of live leases."""

    def __init__(self, log: Log) -> None:
        self._log = log
        self._lock = threading.Lock()
        self._folded: OrderedDict[str, Folded] = OrderedDict()
        self._cursors: dict[tuple[str, int], Cursor] = {}

    def folded(self, execution_id: str) -> Folded:
        """A copy of what is kept of the execution's log (empty when nothing is)."""
        with self._lock:
            cached = self._folded.get(execution_id)
            return cached.copy() if cached is not None else Folded()

    def load(self, execution_id: str) -> Folded:
        """The execution's log folded to its end, reading only what the cache lacks."""
        folded = self.folded(execution_id)
        for seq, entry in self._log.entries(layout.execution_partition(execution_id), folded.seq):
            folded.apply(seq, entry)
        self.remember(execution_id, folded)
        return folded

    def remember(self, execution_id: str, folded: Folded) -> None:
        """Keep ``folded`` as the execution's log, dropping the least recently used
        executions past ``CACHED_OPERATIONS``."""
        with self._lock:
            self._folded[execution_id] = folded.copy()
            self._folded.move_to_end(execution_id)
            kept = sum(len(f.operations) for f in self._folded.values())
            while kept > CACHED_OPERATIONS and len(self._folded) > 1:
                _, dropped = self._folded.popitem(last=False)
                kept -= len(dropped.operations)

    def advance(self, execution_id: str, seq: int, entry: Entry) -> None:
        """Fold a write this store made into the cache, if the cache was at its end."""
        with self._lock:
            cached = self._folded.get(execution_id)
            if cached is not None and cached.seq == seq - 1:
                cached.apply(seq, entry)

    def open_cursor(self, execution_id: str, epoch: int, cursor: Cursor) -> None:
        with self._lock:
            self._cursors[(execution_id, epoch)] = cursor

    def cursor(self, lease: Lease) -> Cursor:
        """The cursor of ``lease``; LeaseLostError when this store holds none."""
        with self._lock:
            cursor = self._cursors.get((lease.execution.execution_id, lease.epoch))
        if cursor is None:
            raise LeaseLostError(f"Invocation {lease.invocation_id} holds no lease on this store")
        return cursor

    def close_cursor(self, execution_id: str, epoch: int) -> None:
        with self._lock:
            self._cursors.pop((execution_id, epoch), None)

    def close_cursors(self, execution_id: str) -> None:
        """Drop the cursors of every lease of an execution that has ended."""
        with self._lock:
            for key in [k for k in self._cursors if k[0] == execution_id]:
                del self._cursors[key]
