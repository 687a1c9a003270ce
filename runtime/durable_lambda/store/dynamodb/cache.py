"""What a store keeps of the executions it has read: their folded logs, and
where each of its invocations writes next.

A warm store (Lambda keeps containers) reads only the log items written
since it last looked. After a start or a wake-up it wrote with the lease
free, it knows both the execution item and the whole log as they were then,
and the lease it takes next is taken on them without reading either: the
lease's write is conditioned on the epoch and the due time they show. Every
write to the log other than a waker's moves the epoch on, and a waker's log
item fences the invocation as ever (docs/ARCHITECTURE.md, "On DynamoDB").
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Iterable

from durable_lambda.lambda_service import Operation
from durable_lambda.store.contract import Lease, LeaseLostError
from durable_lambda.store.dynamodb import layout
from durable_lambda.store.dynamodb.codec import LEASE_CHANGES, Entry, Head
from durable_lambda.store.dynamodb.log import Log

CACHED_OPERATIONS = 200_000
"""Operations kept, over all executions, so that a warm store reads only what is new."""
KNOWN_EXECUTIONS = 64
"""Executions whose item and log a store keeps as it last wrote them, for the lease
it takes next (at once, on Lambda)."""


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
    """Where an invocation writes next, and whether a waker wrote since it loaded;
    ``expires``: the TTL of the log items it writes, as the execution item has it."""

    next_seq: int
    next_event: int
    expires: int
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
        self._known: OrderedDict[str, tuple[Head, Folded]] = OrderedDict()
        """Execution items as this store wrote them, with the lease free, and their
        logs whole as of that write."""

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

    def started(self, head: Head, folded: Folded) -> None:
        """Keep an execution this store just started: its item and its log."""
        with self._lock:
            self._know(head, folded.copy())

    def woken(self, head: Head, seq: int, entry: Entry, due_ms: int) -> None:
        """Fold in the log item ``seq`` that a waker of this store wrote on the
        execution item ``head`` (making it due at ``due_ms``), if the cache was at
        the log's end; then, if the lease was free, keep the item as it left it."""
        execution_id = head.record.execution_id
        with self._lock:
            cached = self._folded.get(execution_id)
            if cached is None or cached.seq != seq - 1:
                return
            cached.apply(seq, entry.kept())
            if head.record.lease is None:
                self._know(dataclasses.replace(head, due=due_ms), cached.copy())

    def _know(self, head: Head, folded: Folded) -> None:
        self._known[head.record.execution_id] = (head, folded)
        self._known.move_to_end(head.record.execution_id)
        while len(self._known) > KNOWN_EXECUTIONS:
            self._known.popitem(last=False)

    def take_known(self, execution_id: str) -> tuple[Head, Folded] | None:
        """The execution item and the log as this store last wrote them with the
        lease free (see ``started`` and ``woken``), once; None when it keeps none or
        has folded other writes since."""
        with self._lock:
            known = self._known.pop(execution_id, None)
            cached = self._folded.get(execution_id)
            if known is None or (cached is not None and cached.seq != known[1].seq):
                return None
            return known

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
