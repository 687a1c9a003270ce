"""What one invocation knows of its execution, and how it records more.

``ExecutionState`` holds the operations the invocation loaded and applies
each checkpoint locally (``transitions.apply_update``) before handing it to
the ``CheckpointWriter``. The writer group-commits: a synchronous checkpoint
writes everything queued before it in one store transaction, and a
background thread writes asynchronous checkpoints (an at-least-once step's
START, a child context's START) shortly after they are queued, so a fast
step records its START and its result in one transaction.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from durable_lambda.clock import Clock
from durable_lambda.exceptions import CheckpointError, OrphanedChildException
from durable_lambda.identifier import enclosing_operation_ids
from durable_lambda.lambda_service import Operation, OperationType, OperationUpdate, whole_millis
from durable_lambda.store.contract import CheckpointBatch, Lease, LeaseLostError, Store
from durable_lambda.transitions import Transition, apply_update

ASYNC_LINGER_SECONDS = 0.002
"""How long an asynchronous checkpoint may wait to share a transaction."""


class CheckpointWriter:
    """Group-commits checkpoints of one invocation to the store."""

    def __init__(self, store: Store, lease: Lease, lock: threading.Lock) -> None:
        """``lock`` guards the queue; the caller holds it around ``enqueue``, so it can
        queue atomically with its own bookkeeping."""
        self._store = store
        self._lease = lease
        self._changed = threading.Condition(lock)
        """Signals writes finishing (and failing) to waiting callers."""
        self._scheduled = threading.Condition(lock)
        """Signals the background thread that an asynchronous write is due."""
        self._pending = CheckpointBatch()
        self._queued = 0
        self._written = 0
        self._flushing = False
        self._flush_scheduled = False
        self._failure: BaseException | None = None
        self._closed = False
        self._background: threading.Thread | None = None

    def enqueue(self, transition: Transition, *, sync: bool) -> int:
        """Queue a transition (the caller holds the lock); returns its ticket for ``wait``.

        An asynchronous one is written within ``ASYNC_LINGER_SECONDS`` unless
        a synchronous write takes it along first.
        """
        self._pending.add(transition)
        self._queued += 1
        if not sync and not self._flush_scheduled:
            self._flush_scheduled = True
            self._ensure_background()
            self._scheduled.notify()
        return self._queued

    def wait(self, ticket: int) -> None:
        """Return once the transition with ``ticket`` (and all before it) is durable."""
        while True:
            with self._changed:
                if self._failure is not None:
                    raise self._failure
                if self._written >= ticket:
                    return
                if self._flushing:
                    self._changed.wait()
                    continue
                batch, upto = self._take()
            self._write(batch, upto)

    def close(self) -> None:
        """Write what is queued and stop the background thread."""
        try:
            self.wait(self._queued)
        finally:
            with self._changed:
                self._closed = True
                self._scheduled.notify()
            if self._background is not None:
                self._background.join()

    def _take(self) -> tuple[CheckpointBatch, int]:
        batch, self._pending = self._pending, CheckpointBatch()
        self._flushing = True
        return batch, self._queued

    def _write(self, batch: CheckpointBatch, upto: int) -> None:
        try:
            if batch:
                self._store.write(self._lease, batch)
        except LeaseLostError as e:
            self._fail(e)
            raise
        except Exception as e:
            failure = CheckpointError(f"Could not record checkpoints: {e}")
            failure.__cause__ = e
            self._fail(failure)
            raise failure from e
        with self._changed:
            self._written = upto
            self._flushing = False
            self._changed.notify_all()

    def _fail(self, failure: BaseException) -> None:
        with self._changed:
            self._failure = failure
            self._flushing = False
            self._changed.notify_all()
            self._scheduled.notify()

    def _ensure_background(self) -> None:
        if self._background is None:
            self._background = threading.Thread(
                target=self._write_in_background, name="durable-checkpoints", daemon=True
            )
            self._background.start()

    def _write_in_background(self) -> None:
        while True:
            with self._changed:
                while not (self._flush_scheduled or self._closed or self._failure):
                    self._scheduled.wait()
                if self._closed or self._failure is not None:
                    return
                # Linger so that more checkpoints share the write; closing cuts it short.
                self._scheduled.wait_for(
                    lambda: self._closed or self._failure is not None,
                    timeout=ASYNC_LINGER_SECONDS,
                )
                self._flush_scheduled = False
                if self._flushing or self._written == self._queued:
                    continue
                batch, upto = self._take()
            try:
                self._write(batch, upto)
            except BaseException:  # noqa: BLE001 - recorded; raised to the next waiter
                return


class ExecutionState:
    """The operations of one execution as this invocation sees them."""

    def __init__(self, lease: Lease, store: Store, clock: Clock) -> None:
        self.durable_execution_arn = lease.execution.execution_id
        self.input_payload = lease.execution.input_payload
        self.clock = clock
        self._operations = {op.operation_id: op for op in lease.operations}
        # One lock for refusing orphans and queueing: branch threads take it on
        # every checkpoint, and a second one held alongside doubled the waits.
        self._lock = threading.Lock()
        self._writer = CheckpointWriter(store, lease, self._lock)
        self._orphaned_scopes: set[str] = set()
        self._branch_pools: list[ThreadPoolExecutor] = []

    def get(self, operation_id: str) -> Operation | None:
        """The operation's current state, if it was ever recorded."""
        return self._operations.get(operation_id)

    def has_prior_operations(self) -> bool:
        """Whether an earlier invocation recorded any operation."""
        return any(
            op.operation_type is not OperationType.EXECUTION for op in self._operations.values()
        )

    def checkpoint(self, update: OperationUpdate, *, sync: bool = True) -> Operation:
        """Record a checkpoint; with ``sync``, return once it is durable.

        The transition is computed outside the lock: an operation is checkpointed
        only by the thread running it, so nothing else changes it meanwhile.
        """
        # At the stores' precision, so what this invocation holds is what they read back.
        now = whole_millis(self.clock.now())
        transition = apply_update(update, self._operations.get(update.operation_id), now)
        with self._lock:
            if self._orphaned_scopes:
                self._refuse_orphan(update.operation_id)
            self._operations[update.operation_id] = transition.operation
            ticket = self._writer.enqueue(transition, sync=sync)
        if sync:
            self._writer.wait(ticket)
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
        for pool in self._branch_pools:
            pool.shutdown(wait=True)
        self._writer.close()

    def _refuse_orphan(self, operation_id: str) -> None:
        for scope_id in enclosing_operation_ids(operation_id):
            if scope_id in self._orphaned_scopes:
                msg = (
                    f"Operation {operation_id} was not recorded: the map or parallel "
                    f"{scope_id} it runs in has already completed"
                )
                raise OrphanedChildException(msg, operation_id)
