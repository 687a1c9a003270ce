"""The concurrent executor behind map and parallel.

Branches start in index order, at most ``max_concurrency`` at a time; a
blocked (suspended) branch keeps its slot. Worker threads run started
branches in that order, each in its own child context: quick ones one
after another on one thread, slow or blocked ones beside each other. Ends
count in the order branches started, as the AWS SDK's coordinator sees
them when branches take about as long as each other, so the same branches
are in flight when the completion policy is met, run after run. The batch
completes as soon as its completion policy is met: branches not started by
then never start, and branches started and not counted are reported
STARTED and orphaned (their later checkpoints are refused). When every
started branch is blocked the batch suspends, and the next invocation
replays finished branches from their records and runs only the unfinished
ones.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, NoReturn, Self, TypeVar, cast

from durable_lambda.concurrency.models import (
    BatchItem,
    BatchResult,
    Branch,
    BranchEvent,
    BranchEventKind,
    BranchStatus,
    CompletionPolicy,
    CompletionReason,
    CompletionRecord,
    Executable,
)
from durable_lambda.config import (
    BatchItemStatus,
    ChildConfig,
    CompletionConfig,
    CompletionDecision,
    CompletionItemStatus,
    MapConfig,
    NestingType,
    ParallelConfig,
)
from durable_lambda.exceptions import (
    DurableOperationError,
    ExecutionError,
    InvalidStateError,
    InvocationError,
    NonDeterministicExecutionError,
    OrphanedChildException,
    SuspendExecution,
    TimedSuspendExecution,
)
from durable_lambda.identifier import OperationIdentifier, operation_id_for
from durable_lambda.lambda_service import ErrorObject, Operation, OperationStatus, OperationType
from durable_lambda.operation.child import run_child
from durable_lambda.state import ExecutionState, Record

if TYPE_CHECKING:
    from durable_lambda.context import DurableContext
    from durable_lambda.serdes import SerDes

logger = logging.getLogger(__name__)

CallableType = TypeVar("CallableType", bound=Callable[..., Any])
ResultType = TypeVar("ResultType")

LATE_AFTER_SECONDS = 0.1
"""How long ends wait for a branch started before theirs that still runs.

Ends count in the order branches started, so the same branches are in
flight when the completion policy is met, run after run, whatever the
thread scheduling. A branch still running this long after one started
after it ended is late: ends no longer wait for it, it counts when it ends.
"""

OWN_THREAD_AFTER_SECONDS = 0.005
"""How long the running branches may run before a started branch gets a thread of its own.

Quick branches run one after another on one thread; when the running ones
take longer (a slow step, a sleep, a write waited for), the next started
branch runs beside them, up to ``max_concurrency`` at once.
"""


def branch_error_object(error: Exception) -> ErrorObject:
    """The error of a failed branch, with the type that escaped the branch.

    A branch fails as a ChildContextError carrying the escaping error's
    type, message and data; the batch records those, as its FAIL checkpoint
    and replay do, not the wrapper's class.
    """
    if isinstance(error, DurableOperationError):
        return ErrorObject(
            message=error.message,
            type=error.error_type,
            data=error.data,
            stack_trace=error.stack_trace,
        )
    return ErrorObject.from_exception(error)


class ConcurrentExecutor(Generic[CallableType, ResultType]):
    """Runs the branches of one map or parallel and builds its BatchResult.

    Args:
        executables: The branches, indexed from 0 in input order.
        scope_id: The id of the map or parallel operation; branch ``i`` has
            the id ``operation_id_for(scope_id, i + 1)``, whatever the order
            branches run in.
        sub_type_iteration: Subtype recorded for each branch context.
        name_prefix: Branch names default to ``f"{name_prefix}{index}"``.
        serdes, item_serdes: Branch results use ``item_serdes or serdes``.
    """

    def __init__(
        self,
        executables: list[Executable[CallableType]],
        *,
        scope_id: str,
        max_concurrency: int | None,
        completion_config: CompletionConfig | None,
        sub_type_iteration: str,
        name_prefix: str,
        serdes: SerDes[Any] | None,
        item_serdes: SerDes[Any] | None = None,
        nesting_type: NestingType = NestingType.NESTED,
    ) -> None:
        self.executables = executables
        self.scope_id = scope_id
        self.max_concurrency = max_concurrency
        self.completion_config = completion_config
        self.sub_type_iteration = sub_type_iteration
        self.name_prefix = name_prefix
        self.serdes = serdes
        self.item_serdes = item_serdes
        self.nesting_type = nesting_type
        self.policy = CompletionPolicy.from_config(len(executables), completion_config)
        self.branches: list[Branch[CallableType, ResultType]] = []
        self._branch_config: ChildConfig[ResultType] = ChildConfig(
            serdes=item_serdes or serdes, is_virtual=self._is_virtual
        )
        """Every branch's child context configuration (one per batch, not per branch)."""

    @classmethod
    def with_config(
        cls,
        executables: list[Executable[CallableType]],
        config: MapConfig[Any] | ParallelConfig,
        *,
        scope_id: str,
        sub_type_iteration: str,
        name_prefix: str,
    ) -> Self:
        """An executor of ``executables`` under a map's or a parallel's config."""
        return cls(
            executables,
            scope_id=scope_id,
            max_concurrency=config.max_concurrency,
            completion_config=config.completion_config,
            sub_type_iteration=sub_type_iteration,
            name_prefix=name_prefix,
            serdes=config.serdes,
            item_serdes=config.item_serdes,
            nesting_type=config.nesting_type,
        )

    # region branches

    def execute_item(
        self, child_context: DurableContext, executable: Executable[CallableType]
    ) -> ResultType:
        """Run one branch's function with its child context."""
        return cast(ResultType, executable.func(child_context))

    def get_iteration_name(self, index: int) -> str:
        """The recorded name of branch ``index``: its own, else the default."""
        name = self.executables[index].name
        return name if name is not None else f"{self.name_prefix}{index}"

    @property
    def _is_virtual(self) -> bool:
        return self.nesting_type is NestingType.FLAT

    def _identifier(
        self, executor_context: DurableContext, executable: Executable[CallableType]
    ) -> OperationIdentifier:
        return OperationIdentifier(
            operation_id=operation_id_for(self.scope_id, executable.index + 1),
            sub_type=self.sub_type_iteration,
            parent_id=executor_context._parent_id,
            name=self.get_iteration_name(executable.index),
            operation_type=OperationType.CONTEXT,
        )

    def _recorded_branch(
        self, state: ExecutionState, identifier: OperationIdentifier
    ) -> Operation | None:
        """The branch's record, checked against the code (nesting included)."""
        recorded = state.get(identifier.operation_id)
        identifier.validate_checkpoint(recorded)
        if self._is_virtual and recorded is not None:
            msg = (
                f"Non-deterministic execution: branch {identifier.operation_id} was recorded "
                "as a NESTED branch context but the code now runs its branches FLAT"
            )
            raise NonDeterministicExecutionError(msg, step_id=identifier.operation_id)
        return recorded

    def _run_branch(
        self,
        executor_context: DurableContext,
        executable: Executable[CallableType],
        begin: Callable[[], None] | None = None,
    ) -> ResultType:
        """Run one branch in its child context: replayed when recorded, else run.

        ``begin`` is called just before the branch's function.
        """
        state = executor_context.state
        identifier = self._identifier(executor_context, executable)
        recorded = self._recorded_branch(state, identifier)
        child_context = executor_context.create_child_context(
            identifier.operation_id, is_virtual=self._is_virtual
        )
        if recorded is None and not self._is_virtual:
            child_context._set_replay_status_new()

        def body() -> ResultType:
            if begin is not None:
                begin()
            return self.execute_item(child_context, executable)

        return run_child(
            body,
            state,
            identifier,
            self._branch_config,
            record_success=Record.SOON,
        )

    def _branch_event(
        self,
        executor_context: DurableContext,
        executable: Executable[CallableType],
        begin: Callable[[], None],
    ) -> BranchEvent[ResultType]:
        """Run one branch and say how the run ended."""
        index = executable.index
        try:
            result = self._run_branch(executor_context, executable, begin)
        except TimedSuspendExecution as e:
            return BranchEvent(
                index, BranchEventKind.SUSPENDED_UNTIL, resume_at=e.scheduled_timestamp
            )
        except SuspendExecution:
            return BranchEvent(index, BranchEventKind.SUSPENDED)
        except OrphanedChildException:
            logger.debug("Branch %d ended: its batch or an enclosing one completed", index)
            return BranchEvent(index, BranchEventKind.ORPHANED)
        except ExecutionError as e:
            return BranchEvent(index, BranchEventKind.FATAL, fatal_error=e)
        except Exception as e:  # noqa: BLE001 - a failed branch, counted by the policy
            return BranchEvent(index, BranchEventKind.FAILED, error=e)
        except BaseException as e:  # noqa: BLE001 - re-raised on the calling thread
            return BranchEvent(index, BranchEventKind.FATAL, fatal_error=e)
        return BranchEvent(index, BranchEventKind.COMPLETED, result=result)

    def _items_snapshot(self) -> tuple[CompletionItemStatus, ...]:
        """Every branch's status for a ``should_complete`` predicate (None: not started)."""
        statuses = {
            BranchStatus.COMPLETED: BatchItemStatus.SUCCEEDED,
            BranchStatus.FAILED: BatchItemStatus.FAILED,
            BranchStatus.PENDING: None,
        }
        return tuple(
            CompletionItemStatus(
                index=branch.index,
                name=branch.executable.name,
                status=statuses.get(branch.status, BatchItemStatus.STARTED),
            )
            for branch in self.branches
        )

    # endregion
    # region execution

    def execute(
        self, state: ExecutionState, executor_context: DurableContext
    ) -> BatchResult[ResultType]:
        """Run branches until the completion policy is met, or suspend when all are blocked."""
        self.branches = [Branch(executable) for executable in self.executables]
        if not self.branches:
            return self._create_result(self.policy.reason(0, 0))
        run = _Run(self, executor_context)
        try:
            run.run()
        finally:
            # Branches still running are orphans from here on: their next
            # checkpoint is refused, and the invocation joins them at its end.
            state.orphan_descendants(self.scope_id)
            run.close(state)
        with run.lock:
            if run.fatal_error is not None:
                raise run.fatal_error
            if run.retryable_error is not None:
                raise run.retryable_error
            return self._create_result(run.reason())

    def _create_result(self, reason: CompletionReason) -> BatchResult[ResultType]:
        """Started branches as items, in index order; never-started ones are left out."""
        items: list[BatchItem[ResultType]] = []
        for branch in self.branches:
            match branch.status:
                case BranchStatus.COMPLETED:
                    items.append(BatchItem(branch.index, BatchItemStatus.SUCCEEDED, branch.result))
                case BranchStatus.FAILED if branch.error is not None:
                    error = branch_error_object(branch.error)
                    items.append(BatchItem(branch.index, BatchItemStatus.FAILED, error=error))
                case (
                    BranchStatus.RUNNING
                    | BranchStatus.SUSPENDED
                    | BranchStatus.SUSPENDED_WITH_TIMEOUT
                ):
                    items.append(BatchItem(branch.index, BatchItemStatus.STARTED))
                case BranchStatus.PENDING:
                    pass
                case _:
                    msg = f"Branch {branch.index} is in an unexpected state {branch.status}"
                    raise InvalidStateError(msg)
        return BatchResult(items, reason)

    # endregion
    # region replay

    def replay(
        self, state: ExecutionState, executor_context: DurableContext, operation: Operation
    ) -> BatchResult[ResultType]:
        """Rebuild a result recorded only as a summary (too large to record).

        The summary's completion record says which branches had started and
        which were still running: those are reported STARTED, later ones are
        left out, finished ones are rebuilt from their records (a succeeded
        branch replays its child context), and the reason is the recorded one.
        """
        record = CompletionRecord.from_summary_payload(operation.result)
        if record is None:
            return self._replay_from_records(state, executor_context)
        items: list[BatchItem[ResultType]] = []
        for executable in self.executables[: record.started_total]:
            if executable.index in record.started_indexes:
                self._recorded_branch(state, self._identifier(executor_context, executable))
                items.append(BatchItem(executable.index, BatchItemStatus.STARTED))
            else:
                items.append(self._replay_finished(state, executor_context, executable))
        return BatchResult(items, record.completion_reason)

    def _replay_finished(
        self,
        state: ExecutionState,
        executor_context: DurableContext,
        executable: Executable[CallableType],
    ) -> BatchItem[ResultType]:
        """Rebuild a branch the completion record lists as finished."""
        identifier = self._identifier(executor_context, executable)
        recorded = self._recorded_branch(state, identifier)
        if self._is_virtual:
            try:
                result = self._run_branch(executor_context, executable)
            except ExecutionError:
                raise
            except Exception as e:
                if isinstance(e, InvocationError) and e.is_retryable():
                    raise
                error = branch_error_object(e)
                return BatchItem(executable.index, BatchItemStatus.FAILED, error=error)
            return BatchItem(executable.index, BatchItemStatus.SUCCEEDED, result)
        if recorded is None or not recorded.is_terminal:
            status = recorded.status.value if recorded else None
            msg = (
                f"Non-deterministic execution: branch {identifier.operation_id} is recorded "
                f"as finished in its batch's summary but its own record is {status!r}"
            )
            raise NonDeterministicExecutionError(msg, step_id=identifier.operation_id)
        return self._item_from_record(state, executor_context, executable, recorded)

    def _item_from_record(
        self,
        state: ExecutionState,
        executor_context: DurableContext,
        executable: Executable[CallableType],
        recorded: Operation | None,
    ) -> BatchItem[ResultType]:
        if recorded is not None and recorded.status is OperationStatus.SUCCEEDED:
            result = self._run_branch(executor_context, executable)
            return BatchItem(executable.index, BatchItemStatus.SUCCEEDED, result)
        if recorded is not None and recorded.status is OperationStatus.FAILED:
            return BatchItem(executable.index, BatchItemStatus.FAILED, error=recorded.error)
        return BatchItem(executable.index, BatchItemStatus.STARTED)

    def _replay_from_records(
        self, state: ExecutionState, executor_context: DurableContext
    ) -> BatchResult[ResultType]:
        """Rebuild every branch from its own record (summary without a completion record)."""
        items = [
            self._item_from_record(
                state,
                executor_context,
                executable,
                self._recorded_branch(state, self._identifier(executor_context, executable)),
            )
            for executable in self.executables
        ]
        return BatchResult.from_items(items, self.completion_config)

    # endregion


@dataclass(eq=False, slots=True)
class _Turn(Generic[CallableType, ResultType]):
    """A branch taken by a thread, until its run's end is counted."""

    run: _Run[CallableType, ResultType]
    branch: Branch[CallableType, ResultType]
    taken_at: float
    previous: _Turn[CallableType, ResultType] | None
    """The turn taken before this one, until this one's function starts."""
    has_begun: bool = False
    """Its function started (or its run ended without it)."""
    end: BranchEvent[ResultType] | None = None
    """How its run ended, while it waits for branches started before it."""
    late_at: float | None = None
    """When ends of branches started after it stop waiting for it."""
    is_counted: bool = False

    def begin(self) -> None:
        """Start the branch's function once the one taken before it has started.

        Then the turn taken after this one may start its own.
        """
        previous, self.previous = self.previous, None
        if previous is not None and not previous.has_begun:
            self.run.wait_until_begun(previous)
        self.has_begun = True
        if self.run.begin_waiters:
            with self.run.lock:
                self.run.begun.notify_all()


class _Run(Generic[CallableType, ResultType]):
    """One batch's state while it runs in this invocation, shared by its threads.

    Branches start (take a slot) in index order while the completion policy
    allows. A worker thread takes started branches lowest index first and
    runs them one after another; while the branches running are all older
    than ``OWN_THREAD_AFTER_SECONDS`` (blocked, or slow), the calling thread
    adds a worker for the next started branch, up to ``max_concurrency``. A
    branch's function starts only after the one taken before it started.

    The thread that ends a branch run counts its end under ``lock``, in start
    order: it waits for the branches started before it that still run (at
    most ``LATE_AFTER_SECONDS``), or the thread that ends the earliest counts
    it too. After each end counted the policy is checked and free slots go
    to pending branches; the thread then takes the next started branch
    itself. The calling thread waits until the batch settles: complete,
    every started branch blocked, orphaned by an enclosing batch, or a fatal
    error.
    """

    def __init__(
        self,
        executor: ConcurrentExecutor[CallableType, ResultType],
        executor_context: DurableContext,
    ) -> None:
        self.executor = executor
        self.executor_context = executor_context
        self.policy = executor.policy
        self.pending = deque(executor.branches)
        """Not started, in index order."""
        self.ready: deque[Branch[CallableType, ResultType]] = deque()
        """Started, not taken by a thread yet, in index order."""
        self.turns: deque[_Turn[CallableType, ResultType]] = deque()
        """Taken, their end not counted yet, in start order."""
        self.last_taken: _Turn[CallableType, ResultType] | None = None
        self.by_index = {branch.index: branch for branch in executor.branches}
        self.max_in_flight = executor.max_concurrency or len(executor.branches)
        self.lock = threading.Lock()
        self._settled = threading.Condition(self.lock)
        """The calling thread waits on it: the batch settled, or a branch waits for a thread."""
        self._counted = threading.Condition(self.lock)
        """Ends waiting for earlier branches wait on it: ends were counted."""
        self.begun = threading.Condition(self.lock)
        """Branches waiting for the one taken before them to begin wait on it."""
        self.begin_waiters = 0
        self.end_waiters = 0
        self.is_watching = False
        """The calling thread gives started branches threads of their own."""
        self.is_settled = False
        """The calling thread takes over; later runs change nothing reported."""
        self.fatal_error: BaseException | None = None
        self.is_orphaned = False
        self.pool: ThreadPoolExecutor | None = None
        self.workers = 0
        """Threads running branches, or waiting to count an end."""
        self.in_flight = 0
        """Started and not finished: running or blocked (a blocked branch keeps its slot)."""
        self.succeeded = 0
        self.failed = 0
        self.retryable_error: InvocationError | None = None
        self.snapshot: tuple[CompletionItemStatus, ...] = ()
        self.decision: CompletionDecision | None = None
        self._changed = True

    def run(self) -> None:
        """Run branches until the batch settles; suspend when every started one is blocked.

        With one slot, branches run one after another on the calling thread.
        """
        with self.lock:
            self._admit()
            first = self._take()
            self.workers = int(first is not None)
        if first is not None and self.max_in_flight == 1:
            self._work(first)
        elif first is not None:
            self._workers().submit(self._work, first)
        with self.lock:
            self.is_watching = True
            while not self.is_settled:
                due_in = self._thread_due_in()
                if due_in is None or due_in > 0:
                    self._settled.wait(due_in)
                elif (turn := self._take()) is not None:
                    self.workers += 1
                    self._workers().submit(self._work, turn)
        if self.fatal_error is not None:
            raise self.fatal_error
        if not self.is_orphaned and not self.is_complete():
            self.suspend()

    def _thread_due_in(self) -> float | None:
        """Seconds until a started branch gets a thread of its own (None: none waits)."""
        if not self.ready or self.workers >= self.max_in_flight:
            return None
        running = [turn.taken_at for turn in self.turns if turn.end is None]
        if not running:
            return 0.0
        return max(running) + OWN_THREAD_AFTER_SECONDS - time.monotonic()

    def _work(self, turn: _Turn[CallableType, ResultType] | None) -> None:
        """Run ``turn``'s branch, then the started branches this thread takes next."""
        while turn is not None:
            event = self.executor._branch_event(
                self.executor_context, turn.branch.executable, turn.begin
            )
            if not turn.has_begun:  # its run ended before its function started
                turn.begin()
            with self.lock:
                turn = self._end(turn, event)
                if turn is None:
                    self.workers -= 1

    def wait_until_begun(self, turn: _Turn[CallableType, ResultType]) -> None:
        """Wait until ``turn``'s function started (or the batch settled)."""
        with self.lock:
            self.begin_waiters += 1
            while not turn.has_begun and not self.is_settled:
                self.begun.wait()
            self.begin_waiters -= 1

    def _take(self) -> _Turn[CallableType, ResultType] | None:
        """The started branch this thread runs next, lowest index first (under ``lock``).

        None when the batch settled, when nothing started waits, or when a
        branch runs on another thread and is still young (that thread takes
        the next one). Settles the batch when every started branch is
        counted and none waits (every started branch is blocked).
        """
        if self.is_settled:
            return None
        if not self.ready:
            if not self.turns:
                self._settle()
            return None
        now = time.monotonic()
        for turn in self.turns:
            if turn.end is None and now - turn.taken_at < OWN_THREAD_AFTER_SECONDS:
                return None
        taken = _Turn(self, self.ready.popleft(), taken_at=now, previous=self.last_taken)
        self.last_taken = taken
        self.turns.append(taken)
        return taken

    def _end(
        self, turn: _Turn[CallableType, ResultType], event: BranchEvent[ResultType]
    ) -> _Turn[CallableType, ResultType] | None:
        """Count a run's end in start order (under ``lock``); the branch this thread runs next."""
        if self.is_settled:
            self._apply_late(event)
            return None
        turn.end = event
        if self.turns[0] is not turn:
            late_at = time.monotonic() + LATE_AFTER_SECONDS
            for earlier in self.turns:
                if earlier is turn:
                    break
                if earlier.end is None and earlier.late_at is None:
                    earlier.late_at = late_at
        try:
            wait = self._count_ends()
            while not turn.is_counted and not self.is_settled:
                self.end_waiters += 1
                self._counted.wait(wait)
                self.end_waiters -= 1
                wait = self._count_ends()
        except BaseException as e:  # noqa: BLE001 - re-raised on the calling thread
            self.fatal_error = e
            self._settle()
            return None
        if not turn.is_counted:
            self._apply_late(event)
            return None
        return self._take()

    def _count_ends(self) -> float | None:
        """Count ended runs in start order, past late branches (under ``lock``).

        Returns how long ends still to count wait for the earliest branch
        still running that is not late (None: none waits for one).
        """
        turns = self.turns
        position = 0
        counted = False
        wait: float | None = None
        while position < len(turns) and not self.is_settled:
            turn = turns[position]
            if turn.end is not None:
                del turns[position]
                turn.is_counted = counted = True
                if self.apply(turn.end):
                    self._admit()
                else:
                    self.is_orphaned = True
                    self._settle()
            elif turn.late_at is None:
                break
            elif (until_late := turn.late_at - time.monotonic()) > 0:
                wait = until_late
                break
            else:
                position += 1
        if counted and self.end_waiters:
            self._counted.notify_all()
        return wait

    def _admit(self) -> None:
        """Start pending branches in index order into free slots (under ``lock``).

        Settles the batch instead when its completion policy is met.
        """
        if self.is_complete():
            self._settle()
            return
        was_waiting = bool(self.ready)
        while self.pending and self.in_flight < self.max_in_flight:
            branch = self.pending.popleft()
            branch.start()
            self.ready.append(branch)
            self.in_flight += 1
            self._changed = True
        if self.ready and not was_waiting and self.is_watching:
            self._settled.notify()

    def _settle(self) -> None:
        self.is_settled = True
        self._settled.notify()
        self._counted.notify_all()
        self.begun.notify_all()

    def is_complete(self) -> bool:
        """Whether the completion policy is met (the predicate runs once per change)."""
        if self._changed:
            if self.policy.should_complete is not None:
                self.snapshot = self.executor._items_snapshot()
            self.decision = self.policy.evaluate(self.succeeded, self.failed, self.snapshot)
            self._changed = False
        return self.policy.is_complete(
            self.succeeded, self.failed, self.snapshot, self.decision
        ) or not self.policy.should_continue(self.failed)

    def reason(self) -> CompletionReason:
        """Why the batch completed, from the state that settled it."""
        return self.policy.reason(self.succeeded, self.failed, self.snapshot, self.decision)

    def _workers(self) -> ThreadPoolExecutor:
        if self.pool is None:
            self.pool = ThreadPoolExecutor(
                max_workers=self.max_in_flight,
                thread_name_prefix=f"branch-{self.executor.scope_id}",
            )
        return self.pool

    def close(self, state: ExecutionState) -> None:
        """Let workers end; the invocation joins those still running (orphans) at its end."""
        if self.pool is None:
            return
        self.pool.shutdown(wait=False, cancel_futures=True)
        with self.lock:
            still_running = self.workers > 0
        if still_running:
            state.register_branch_pool(self.pool)

    def suspend(self) -> NoReturn:
        """Every started branch is blocked: suspend until the earliest can go on."""
        if self.retryable_error is not None:
            raise self.retryable_error
        resume_times = [b.resume_at for b in self.by_index.values() if b.resume_at is not None]
        if resume_times:
            raise TimedSuspendExecution(
                "Every started branch of the batch is blocked; the earliest resumes at its time",
                min(resume_times),
            )
        raise SuspendExecution("Every started branch of the batch is blocked until woken")

    def apply(self, event: BranchEvent[ResultType]) -> bool:
        """Record how a branch run ended; False when the batch must stop (orphaned)."""
        branch = self.by_index[event.index]
        self._changed = True
        match event.kind:
            case BranchEventKind.COMPLETED:
                branch.complete(event.result)
                self.succeeded += 1
                self.in_flight -= 1
            case BranchEventKind.FAILED if event.error is not None:
                branch.fail(event.error)
                self.failed += 1
                self.in_flight -= 1
                self.retryable_error = _retryable(event.error) or self.retryable_error
            case BranchEventKind.SUSPENDED:
                branch.suspend()
            case BranchEventKind.SUSPENDED_UNTIL if event.resume_at is not None:
                branch.suspend_until(event.resume_at)
            case BranchEventKind.ORPHANED:
                # An enclosing batch completed: this batch's result is discarded.
                return False
            case BranchEventKind.FATAL if event.fatal_error is not None:
                raise event.fatal_error
            case _:
                msg = f"Unhandled branch event: {event}"
                raise InvalidStateError(msg)
        return True

    def _apply_late(self, event: BranchEvent[ResultType]) -> None:
        """A run that ended after the batch settled: its branch stays STARTED.

        An error that must fail the invocation or the execution still does.
        """
        if event.kind is BranchEventKind.FAILED and event.error is not None:
            self.retryable_error = _retryable(event.error) or self.retryable_error
        elif event.kind is BranchEventKind.FATAL and self.fatal_error is None:
            self.fatal_error = event.fatal_error


def _retryable(error: Exception) -> InvocationError | None:
    """The error when it must fail the invocation (to be retried), not the branch."""
    return error if isinstance(error, InvocationError) and error.is_retryable() else None
