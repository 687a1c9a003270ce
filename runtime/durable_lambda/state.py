"""What one invocation knows of its execution, and how it records more.

``ExecutionState`` holds the operations the invocation loaded and applies
each checkpoint locally (``transitions.apply_update``) before handing it to
the ``CheckpointWriter``. The writer group-commits: a checkpoint that must be
written before it returns writes everything queued before it in one store
transaction, and a background thread writes the others (an at-least-once
step's START, a child context's START) shortly after they are queued, so a
fast step records its START and its result in one transaction. When a
checkpoint returns is the caller's choice (``Record``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from queue import Empty, SimpleQueue

from durable_lambda.clock import Clock
from durable_lambda.exceptions import (
    CheckpointError,
    DurableApiErrorCategory,
    OrphanedChildException,
)
from durable_lambda.identifier import enclosing_operation_ids
from durable_lambda.lambda_service import Operation, OperationType, OperationUpdate, whole_millis
from durable_lambda.managed_limits import ManagedLimits
from durable_lambda.store.contract import (
    CheckpointBatch,
    CheckpointRefusedError,
    Lease,
    LeaseLostError,
    Store,
)
from durable_lambda.transitions import Transition, apply_update

ASYNC_LINGER_SECONDS = 0.002
"""How long a checkpoint nobody waits for may wait to share a transaction."""


class Record(Enum):
    """When ``ExecutionState.checkpoint`` returns, against the store write."""

    SOON = "soon"
    """At once; the write follows within ``ASYNC_LINGER_SECONDS`` or with an earlier one."""
    DURABLY = "durably"
    """Once the checkpoint is as durable as the store makes anything: once written,
    to a store that outlives the process; at once, to a volatile store, whose
    contents die with the process as the queue does (the write follows as for SOON)."""
    WITH_NEXT = "with_next"
    """At once; written with the next write, or with the invocation's end (a wait's
    START, which the suspension that follows writes with the end)."""
    NOW = "now"
    """Once written, to any store: others read it next (a callback id or a chained
    invoke is handed out), or it must be fenced before code runs (an at-most-once
    step's START, which a lease taken over meanwhile must not lose)."""


@dataclass(slots=True)
class CheckpointQueue:
    """Transitions queued and not yet taken by a write, under the state's lock."""

    transitions: list[Transition] = field(default_factory=list)
    count: int = 0
    """Transitions ever queued: the ticket of the latest one."""
    linger_started: bool = False
    """A transition not waited for is queued and the background thread knows it."""
    failure: BaseException | None = None
    """Why a write failed: every later checkpoint raises it."""
    held_from: int | None = None
    """The ticket of the first of the last checkpoints, all ``Record.WITH_NEXT``:
    the background thread writes only what comes before it."""


class CheckpointWriter:
    """Group-commits the checkpoints queued in ``queue`` to the store.

    Callers queue under ``lock`` and hold it only for a few attribute and
    list operations, with no call inside: CPython switches threads only at
    calls and loops, so no thread ever waits for a lock held by a thread that
    lost the interpreter lock. (With calls inside, map branches piled up behind
    such a holder at every checkpoint, and each of them blocked and woke again.)
    """

    def __init__(
        self,
        store: Store,
        lease: Lease,
        lock: threading.Lock,
        queue: CheckpointQueue,
        limits: ManagedLimits | None = None,
    ) -> None:
        self._store = store
        self._lease = lease
        self._limits = limits
        self._lock = lock
        self._queue = queue
        self._written = 0
        self._flushing = False
        self._parked: list[tuple[int, threading.Lock]] = []
        """Callers waiting for a write in flight: their tickets and the locks they sleep on."""
        self._signals: SimpleQueue[int | None] = SimpleQueue()
        """To the background thread: a linger started (its ticket); None to stop."""
        self._background: threading.Thread | None = None

    def linger(self, ticket: int) -> None:
        """Have the background thread make ``ticket`` durable within ``ASYNC_LINGER_SECONDS``.

        Called, outside the lock, by the caller that set ``queue.linger_started``.
        """
        if self._background is None:
            self._background = threading.Thread(
                target=self._write_in_background, name="durable-checkpoints", daemon=True
            )
            self._background.start()
        self._signals.put(ticket)

    def wait(self, ticket: int, *, only: bool = False) -> None:
        """Return once the transition with ``ticket`` (and all before it) is durable.

        With no write in flight the caller writes everything queued itself (with
        ``only``, nothing after ``ticket``); otherwise it sleeps until that write
        ends, then looks again.
        """
        while True:
            parked = threading.Lock()
            parked.acquire()
            with self._lock:
                failure = self._queue.failure
                done = self._written >= ticket
                in_flight = self._flushing
                if failure is None and not done:
                    if in_flight:
                        self._parked.append((ticket, parked))
                    else:
                        queue = self._queue
                        upto = ticket if only else queue.count
                        cut = len(queue.transitions) - (queue.count - upto)
                        taken, queue.transitions = (
                            queue.transitions[:cut],
                            queue.transitions[cut:],
                        )
                        self._flushing = True
            if failure is not None:
                raise failure
            if done:
                return
            if in_flight:
                parked.acquire()
            else:
                self._write(taken, upto)

    def close(self) -> None:
        """Write what is queued and stop the background thread."""
        try:
            self.wait(self._queue.count)
        finally:
            self._stop_background()

    def hand_over(self) -> CheckpointBatch:
        """Stop the background thread and return what is queued and not written.

        The invocation writes it with its end, in the same store write: a
        suspension, say, records its wait and its end at once. A failed write
        is raised, as ``wait`` raises it.
        """
        self._stop_background()
        while True:
            parked = threading.Lock()
            parked.acquire()
            with self._lock:
                queue = self._queue
                failure = queue.failure
                in_flight = self._flushing
                if in_flight:
                    self._parked.append((queue.count, parked))
                elif failure is None:
                    taken, queue.transitions = queue.transitions, []
                    self._written = queue.count
            if failure is not None:
                raise failure
            if not in_flight:
                break
            parked.acquire()
        batch = CheckpointBatch()
        for transition in taken:
            batch.add(transition)
        if self._limits is not None and batch:
            self._limits.admit(batch)
        return batch

    def _stop_background(self) -> None:
        self._signals.put(None)
        if self._background is not None:
            self._background.join()

    def _write(self, taken: list[Transition], upto: int) -> None:
        try:
            if taken:
                batch = CheckpointBatch()
                for transition in taken:
                    batch.add(transition)
                if self._limits is not None:
                    self._limits.admit(batch)
                self._store.write(self._lease, batch)
        except (LeaseLostError, CheckpointError) as e:
            self._fail(e)
            raise
        except CheckpointRefusedError as e:
            failure = CheckpointError(str(e), DurableApiErrorCategory.EXECUTION)
            failure.__cause__ = e
            self._fail(failure)
            raise failure from e
        except Exception as e:
            failure = CheckpointError(f"Could not record checkpoints: {e}")
            failure.__cause__ = e
            self._fail(failure)
            raise failure from e
        with self._lock:
            self._written = upto
            self._flushing = False
            woken = self._unpark(upto)
        for waiter in woken:
            waiter.release()

    def _fail(self, failure: BaseException) -> None:
        with self._lock:
            self._queue.failure = failure
            self._flushing = False
            woken = [waiter for _, waiter in self._parked]
            self._parked = []
        for waiter in woken:
            waiter.release()
        self._signals.put(None)

    def _unpark(self, written: int) -> list[threading.Lock]:
        """The callers to wake (under the lock) after a write up to ``written``.

        Those it made durable, and the longest waiting of the others, to lead
        the next write. Waking every caller had the others take the interpreter
        lock and park again, half of all parkings in a map.
        """
        woken: list[threading.Lock] = []
        still: list[tuple[int, threading.Lock]] = []
        for ticket, waiter in self._parked:
            if ticket <= written:
                woken.append(waiter)
            else:
                still.append((ticket, waiter))
        if still:
            woken.append(still.pop(0)[1])
        self._parked = still
        return woken

    def _write_in_background(self) -> None:
        while self._signals.get() is not None:
            # Linger so that more checkpoints share the write; closing cuts it short.
            deadline = time.monotonic() + ASYNC_LINGER_SECONDS
            with contextlib.suppress(Empty):
                while (left := deadline - time.monotonic()) > 0:
                    if self._signals.get(timeout=left) is None:
                        return
            with self._lock:
                # Everything queued while the linger ran is covered by this write:
                # those checkpoints started no linger of their own.
                queue = self._queue
                queue.linger_started = False
                ticket = queue.count if queue.held_from is None else queue.held_from - 1
            try:
                self.wait(ticket, only=True)
            except BaseException:  # noqa: BLE001 - recorded; raised to the next waiter
                return


class ExecutionState:
    """The operations of one execution as this invocation sees them."""

    def __init__(
        self, lease: Lease, store: Store, clock: Clock, *, managed_limits: bool = False
    ) -> None:
        self.durable_execution_arn = lease.execution.execution_id
        self.input_payload = lease.execution.input_payload
        self.clock = clock
        self._operations = {op.operation_id: op for op in lease.operations}
        # One lock for refusing orphans and queueing: branch threads take it on
        # every checkpoint, and a second one held alongside doubled the waits.
        self._lock = threading.Lock()
        self._queue = CheckpointQueue()
        limits = ManagedLimits(lease.operations) if managed_limits else None
        self._writer = CheckpointWriter(store, lease, self._lock, self._queue, limits)
        self._durable_once_queued = store.volatile
        self._orphaned_scopes: set[str] = set()
        self._branch_pools: list[ThreadPoolExecutor] = []

    def get(self, operation_id: str) -> Operation | None:
        """The operation's current state, if it was ever recorded."""
        return self._operations.get(operation_id)

    def operation_count(self) -> int:
        """How many operations the execution has, as this invocation sees it."""
        return len(self._operations)

    def has_prior_operations(self) -> bool:
        """Whether an earlier invocation recorded any operation."""
        return any(
            op.operation_type is not OperationType.EXECUTION for op in self._operations.values()
        )

    def checkpoint(self, update: OperationUpdate, *, record: Record = Record.DURABLY) -> Operation:
        """Record a checkpoint; ``record`` says when it returns.

        The transition is computed outside the lock: an operation is checkpointed
        only by the thread running it, so nothing else changes it meanwhile.
        Inside the lock, no call but a refusal (see ``CheckpointWriter``). Once
        a write has failed, every checkpoint raises its failure.
        """
        # At the stores' precision, so what this invocation holds is what they read back.
        now = whole_millis(self.clock.now())
        operation_id = update.operation_id
        transition = apply_update(update, self._operations.get(operation_id), now)
        waits = record is Record.NOW or (record is Record.DURABLY and not self._durable_once_queued)
        queue = self._queue
        with self._lock:
            if queue.failure is not None:
                raise queue.failure
            if self._orphaned_scopes:
                self._refuse_orphan(operation_id)
            self._operations[operation_id] = transition.operation
            queue.transitions.append(transition)
            queue.count += 1
            ticket = queue.count
            if record is Record.WITH_NEXT:
                if queue.held_from is None:
                    queue.held_from = ticket
            else:
                queue.held_from = None
            start_linger = not (waits or queue.linger_started or record is Record.WITH_NEXT)
            if start_linger:
                queue.linger_started = True
        if waits:
            self._writer.wait(ticket)
        elif start_linger:
            self._writer.linger(ticket)
        return transition.operation

    def orphan_descendants(self, scope_id: str) -> None:
        """Refuse every later checkpoint of an operation inside ``scope_id``.

        A map or parallel calls this when it completes: branches still running
        then are orphans, and their next checkpoint raises
        OrphanedChildException instead of being recorded.
        """
        with self._lock:
            self._orphaned_scopes.add(scope_id)

    def register_branch_pool(self, pool: ThreadPoolExecutor) -> None:
        """Have ``close`` wait for the orphaned branches still running in ``pool``."""
        with self._lock:
            self._branch_pools.append(pool)

    def close(self) -> None:
        """Wait for orphaned branches, then make every queued checkpoint durable."""
        self._join_branches()
        self._writer.close()

    def hand_over(self) -> CheckpointBatch:
        """Wait for orphaned branches, then return the checkpoints not yet written,
        for the invocation's end to write (``CheckpointWriter.hand_over``)."""
        self._join_branches()
        return self._writer.hand_over()

    def _join_branches(self) -> None:
        for pool in self._branch_pools:
            pool.shutdown(wait=True)

    def _refuse_orphan(self, operation_id: str) -> None:
        for scope_id in enclosing_operation_ids(operation_id):
            if scope_id in self._orphaned_scopes:
                msg = (
                    f"Operation {operation_id} was not recorded: the map or parallel "
                    f"{scope_id} it runs in has already completed"
                )
                raise OrphanedChildException(msg, operation_id)
