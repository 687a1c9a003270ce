"""The store contract: what the runtime and the engines need from storage.

One store holds every execution of an engine: the execution record, one
record per operation, the history events, and the timers that wake
executions. The local engine implements it on SQLite; the AWS backend on one
DynamoDB table (items keyed by execution) with EventBridge Scheduler
schedules for timers. docs/ARCHITECTURE.md ("Store contract") explains how
each rule maps onto DynamoDB conditional writes.

Rules every implementation keeps:

- Each method is atomic: all of its writes happen or none do.
- An invocation holds a lease (``acquire_lease``). Taking a lease bumps the
  execution's ``epoch``; every write of that invocation is conditional on
  the epoch, so a stale invocation is fenced off (``LeaseLostError``) and
  can never overwrite newer state.
- Events are numbered 1, 2, 3... in the order their writes commit.
- Wakers (fired timers, callbacks, finished child executions) write their
  fact first, then bump the execution's ``wake_seq``. ``finish_invocation``
  releases a suspended invocation's lease only while ``wake_seq`` is still
  what the invocation loaded; otherwise the invocation reloads and goes on,
  so no wake-up is lost.
- Callback ids are never stored: a callback operation carries the SHA-256
  of its id (``CallbackDetails.token_hash``), and the store keeps an index
  from that hash to the execution and operation (``change_callback``).
- Liveness: every RUNNING execution with something to do always has
  something durable that will invoke it: its ``reinvoke`` timer, or a lease
  whose expiry is that timer. Every method that creates work sets the timer
  in the same atomic write: starting (due now), taking a lease (due when the
  lease expires), a fired timer that changed an operation, a callback
  completed, an outcome decided outside the execution (due now), a lease
  given up after a crash (due when to try again); taking a lease leaves it
  due no later than the lease's expiry. Only an invocation that
  has seen the work clears it (``finish_invocation`` suspending with
  ``wake_seq`` unchanged), or the execution's end. A RUNNING execution
  without the timer waits only on timers of its own operations or on
  outside parties: a callback's caller, a child execution that has its own.
- Delivery timers (``reinvoke``, ``invoke:<op>``) are not consumed by
  firing them: ``reinvoke`` stays due until an invocation that has seen the
  work suspends, ``invoke:<op>`` until the target of the chained invoke
  starts. So a wake-up is never lost between firing and invoking.
- Chained invokes: a child execution records its parent execution and
  operation. Ending the child (any terminal status) completes the parent's
  CHAINED_INVOKE operation in the same atomic write (``child_completion``);
  ending a parent stops its children that still run (``parent_ended_error``),
  recursively, in the same write too. A child is never created for a parent
  that has ended.
"""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from durable_lambda.exceptions import DurableExecutionsError, InvalidStateError, ValidationError
from durable_lambda.history import Event, execution_event, invocation_completed, payload
from durable_lambda.history import error_payload as history_error
from durable_lambda.lambda_service import ErrorObject, Operation, OperationStatus, epoch_millis
from durable_lambda.transitions import Completion, Transition, operation_timer_key

EXECUTION_TIMEOUT_TIMER = "execution-timeout"
"""Timer that times the execution out."""
REINVOKE_TIMER = "reinvoke"
"""Timer that invokes the execution: work is waiting, or its lease expires then."""
INVOKE_TARGET_TIMER_KIND = "invoke"
"""Operation timer kind (``invoke:<op>``): the chained invoke's target has not
started yet; firing it invokes the execution, whose replay asks again."""
FUNCTION_CALL_TIMER_KIND = "invoke-call"
"""Operation timer kind (``invoke-call:<op>``): a function that is not durable
is being called; firing it fails the invoke (the call's outcome never came)."""


START_TARGET_RETRY_SECONDS = 10
"""How long after firing an ``invoke:<op>`` timer it fires again if the target
has still not started (a replay could not ask for it, or starting it failed)."""


def start_target_timer(operation_id: str) -> str:
    """The key of the timer that waits for a chained invoke's target to start."""
    return operation_timer_key(operation_id, INVOKE_TARGET_TIMER_KIND)


def function_call_timer(operation_id: str) -> str:
    """The key of the deadline of a chained invoke's call of a function that is not durable."""
    return operation_timer_key(operation_id, FUNCTION_CALL_TIMER_KIND)


def is_delivery_timer(key: str) -> bool:
    """Whether firing the timer asks for an invocation without changing any operation.

    Such a timer is not consumed by firing (see ``redelivery_due``), so an
    engine skips it while it is invoking the execution anyway.
    """
    return key == REINVOKE_TIMER or key.startswith(INVOKE_TARGET_TIMER_KIND + ":")


def redelivery_due(key: str, now: datetime.datetime) -> datetime.datetime | None:
    """When a delivery timer fired at ``now`` is due again; None: it stays due.

    ``reinvoke`` stays due until an invocation that has seen the work suspends
    (an engine skips it while it invokes the execution); ``invoke:<op>`` comes
    back after ``START_TARGET_RETRY_SECONDS``
    until the target has started, so a target that cannot start yet is
    retried without a busy loop.
    """
    if key == REINVOKE_TIMER:
        return None
    return now + datetime.timedelta(seconds=START_TARGET_RETRY_SECONDS)


class ExecutionStatus(StrEnum):
    """Status of a durable execution."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"


class ExecutionNotFoundError(DurableExecutionsError):
    """No execution has the id asked for."""


class CallbackNotFoundError(DurableExecutionsError):
    """No callback has the id given."""


class CallbackClosedError(DurableExecutionsError):
    """The callback no longer waits: it completed, timed out, or its execution ended."""


CallbackChange = Callable[[Operation, datetime.datetime], Transition]
"""A pure change an external caller makes to a waiting callback operation."""
CHAINED_INVOKE_TIMEOUT_ERROR_TYPE = "ChainedInvoke.Timeout"
"""ErrorType of an invoke whose child execution timed out, as the service records it."""
PARENT_ENDED_ERROR_TYPE = "Execution.ParentEnded"
"""ErrorType of a child execution stopped because its parent ended."""


class StoreError(DurableExecutionsError):
    """The store could not read or write (unreachable, throttled past its retries,
    refused for a reason it cannot handle). A write that raised it did not happen."""


class CheckpointRefusedError(DurableExecutionsError):
    """The store refuses this write for good (too large for it): retrying repeats it."""


class LeaseLostError(BaseException):
    """This invocation's lease was taken over: it must stop writing and end.

    Derives from BaseException so that no handler's ``except Exception``
    swallows it.
    """


@dataclass(frozen=True)
class NewExecution:
    """What starting an execution records."""

    execution_id: str
    function_name: str
    execution_name: str
    input_payload: str | None
    timeout_seconds: int | None = None
    """None: the execution never times out."""
    parent_execution_id: str | None = None
    """The execution whose chained invoke started this one."""
    parent_operation_id: str | None = None
    timeout_timer: bool = True
    """Whether the store sets the timer that times the execution out after
    ``timeout_seconds``. False: the caller keeps the time itself and calls
    ``time_out_execution`` (an engine that skips time does, on the wall clock)."""


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds an execution's lease, and until when."""

    invocation_id: str
    holder: str | None
    """The process running the invocation (``local.process_identity``), where
    the platform can tell; None on Lambda, where only the deadline tells."""
    started: datetime.datetime
    until: datetime.datetime


@dataclass(frozen=True)
class ExecutionRecord:
    """An execution as stored."""

    execution_id: str
    function_name: str
    execution_name: str
    status: ExecutionStatus
    input_payload: str | None
    start_timestamp: datetime.datetime
    result: str | None = None
    error: ErrorObject | None = None
    end_timestamp: datetime.datetime | None = None
    timeout_seconds: int | None = None
    parent_execution_id: str | None = None
    parent_operation_id: str | None = None
    lease: LeaseHolder | None = None
    """The invocation holding the execution, if one does."""


@dataclass(frozen=True)
class ExecutionPage:
    """One page of ``Store.list_executions``."""

    executions: list[ExecutionRecord]
    next_page_token: str | None
    """Pass it back for the next page; None on the last one."""


DEFAULT_PAGE_SIZE = 100
"""Executions per page of ``list_executions`` unless asked otherwise."""
MAX_PAGE_SIZE = 1000
"""The most executions one page holds."""


def token_after(last: ExecutionRecord) -> str:
    """The page token of the page after ``last``: pages are ordered by start time, then id."""
    position = json.dumps([epoch_millis(last.start_timestamp), last.execution_id])
    return base64.urlsafe_b64encode(position.encode()).decode()


def page_position(token: str | None) -> tuple[int, str] | None:
    """(start in epoch milliseconds, execution id) after which a page starts.

    ValidationError for a token ``token_after`` did not make.
    """
    if token is None:
        return None
    try:
        start_ms, execution_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        if isinstance(start_ms, int) and isinstance(execution_id, str):
            return start_ms, execution_id
    except (ValueError, TypeError):
        pass
    msg = f"page_token is not one this store issued: {token!r}"
    raise ValidationError(msg)


def check_page_size(limit: int) -> None:
    """ValidationError unless ``limit`` is a page size ``list_executions`` serves."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        msg = f"limit must be an integer from 1 to {MAX_PAGE_SIZE}, got: {limit!r}"
        raise ValidationError(msg)


def child_completion(child: ExecutionRecord) -> Completion:
    """How an ended child execution completes its parent's CHAINED_INVOKE operation.

    As the service does: the result of a child that succeeded; the error of
    one that failed or was stopped; ``ChainedInvoke.Timeout`` for a child
    that timed out.
    """
    match child.status:
        case ExecutionStatus.SUCCEEDED:
            return Completion(OperationStatus.SUCCEEDED, result=child.result)
        case ExecutionStatus.TIMED_OUT:
            error = ErrorObject(
                message=f"CHAINED_INVOKE timed out after {child.timeout_seconds} seconds.",
                type=CHAINED_INVOKE_TIMEOUT_ERROR_TYPE,
                data=None,
                stack_trace=None,
            )
            return Completion(OperationStatus.TIMED_OUT, error=error)
        case ExecutionStatus.STOPPED:
            return Completion(OperationStatus.STOPPED, error=child.error)
        case ExecutionStatus.FAILED:
            return Completion(OperationStatus.FAILED, error=child.error)
    msg = f"Execution {child.execution_id} has not ended"
    raise ValueError(msg)


def parent_ended_error(parent_execution_id: str, status: ExecutionStatus) -> ErrorObject:
    """The error a child execution is stopped with when its parent ends first."""
    return ErrorObject(
        message=(
            f"Stopped because the parent execution {parent_execution_id} ended "
            f"({status.value}) before this chained invoke completed"
        ),
        type=PARENT_ENDED_ERROR_TYPE,
        data=None,
        stack_trace=None,
    )


def exit_error(invocation_id: str) -> ErrorObject:
    """The error recorded for an invocation that died without finishing."""
    return ErrorObject(
        message=(
            f"RequestId: {invocation_id} Error: Runtime exited without finishing the invocation"
        ),
        type="Runtime.ExitError",
        data=None,
        stack_trace=None,
    )


def timed_out_error(timeout_seconds: int | None) -> ErrorObject:
    """The error of an execution that ran past its timeout."""
    return ErrorObject(
        message=f"Execution timed out after {timeout_seconds} seconds",
        type="Execution.TimedOut",
        data=None,
        stack_trace=None,
    )


def terminated_event(status: ExecutionStatus, now: datetime.datetime, error: ErrorObject) -> Event:
    """The event of an execution ended from outside: timed out, else stopped."""
    event_type = "ExecutionTimedOut" if status is ExecutionStatus.TIMED_OUT else "ExecutionStopped"
    return execution_event(event_type, now, {"Error": history_error(error)})


def parent_not_running_error(parent_execution_id: str, status: str | None) -> InvalidStateError:
    """Why no child execution starts for a parent that does not exist (None) or has ended."""
    state = "does not exist" if status is None else f"has ended ({status})"
    return InvalidStateError(
        f"Cannot start a chained invoke of parent execution {parent_execution_id!r}: "
        f"the parent {state}"
    )


CALLBACK_NOT_FOUND = "No callback has this id"


def waiting_callback(execution_status: str, operation: Operation | None) -> Operation:
    """The callback operation an outside change applies to, once found by its id's hash.

    CallbackClosedError when its execution has ended or it no longer waits;
    CallbackNotFoundError when its operation is not recorded.
    """
    if execution_status != ExecutionStatus.RUNNING:
        msg = f"The execution of this callback has ended ({execution_status})"
        raise CallbackClosedError(msg)
    if operation is None:
        raise CallbackNotFoundError(CALLBACK_NOT_FOUND)
    if operation.status is not OperationStatus.STARTED:
        msg = f"This callback no longer waits: it is {operation.status.value}"
        raise CallbackClosedError(msg)
    return operation


@dataclass(frozen=True)
class Lease:
    """An invocation's hold on an execution, with the state it loaded."""

    execution: ExecutionRecord
    invocation_id: str
    epoch: int
    wake_seq: int
    started: datetime.datetime
    operations: tuple[Operation, ...]


@dataclass
class CheckpointBatch:
    """Transitions to persist together: latest operation states, events, timers."""

    operations: dict[str, Operation] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    timers: dict[str, datetime.datetime | None] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)
    """The transitions themselves, in order: a store that writes a large batch
    in parts splits it between them."""

    def add(self, transition: Transition) -> None:
        """Take ``transition`` into the batch: its operation, events and timers."""
        self.operations[transition.operation.operation_id] = transition.operation
        self.events.extend(transition.events)
        for timer in transition.timers:
            self.timers[timer.key] = timer.due
        self.transitions.append(transition)

    def extend(self, other: CheckpointBatch) -> None:
        """Take every transition of ``other`` into the batch, after this one's."""
        self.operations.update(other.operations)
        self.events.extend(other.events)
        self.timers.update(other.timers)
        self.transitions.extend(other.transitions)

    def __bool__(self) -> bool:
        return bool(self.operations or self.events or self.timers)


@dataclass(frozen=True)
class Suspended:
    """The handler is blocked on waits, retries, callbacks or invokes."""


@dataclass(frozen=True)
class Succeeded:
    """The handler returned ``result`` (JSON)."""

    result: str | None


@dataclass(frozen=True)
class Failed:
    """The handler raised ``error``: the execution fails."""

    error: ErrorObject


@dataclass(frozen=True)
class InvocationFailed:
    """The invocation failed (not the execution); it will be invoked again."""

    error: ErrorObject


InvocationOutcome = Suspended | Succeeded | Failed | InvocationFailed
"""How an invocation ended (``Store.finish_invocation``)."""

Ending = tuple[ExecutionStatus, str | None, ErrorObject | None]
"""How an invocation ended its execution: status, result, error."""


def ending_events(
    lease: Lease, now: datetime.datetime, outcome: InvocationOutcome
) -> tuple[list[Event], Ending | None]:
    """The events an invocation's end records, and how it ended the execution, if it did."""
    error = outcome.error if isinstance(outcome, InvocationFailed) else None
    events = [invocation_completed(lease.started, now, lease.invocation_id, error)]
    if isinstance(outcome, Succeeded):
        result = payload(outcome.result)
        events.append(execution_event("ExecutionSucceeded", now, {"Result": result}))
        return events, (ExecutionStatus.SUCCEEDED, outcome.result, None)
    if isinstance(outcome, Failed):
        failure = history_error(outcome.error)
        events.append(execution_event("ExecutionFailed", now, {"Error": failure}))
        return events, (ExecutionStatus.FAILED, None, outcome.error)
    return events, None


@dataclass(frozen=True)
class DueTimer:
    """A timer whose time has come."""

    execution_id: str
    key: str
    due: datetime.datetime


class Store(Protocol):
    """Durable state of executions; the module docstring has the rules every store keeps."""

    @property
    def volatile(self) -> bool:
        """Whether what it holds dies with this process (an in-memory database).

        A checkpoint written to a volatile store is no more durable than one
        queued in the process, so the runtime does not wait for such writes
        unless others must read them at once (``state.Record``).
        """
        ...

    def create_execution(
        self, new: NewExecution, now: datetime.datetime
    ) -> tuple[ExecutionRecord, bool]:
        """Record a new RUNNING execution with its ExecutionStarted event.

        Sets its reinvoke timer due ``now``: starting is work. Idempotent by
        (function name, execution name): starting one that exists returns it
        and False, changing nothing else. A child (with
        ``parent_execution_id``) whose parent is no longer RUNNING is not
        created: InvalidStateError. Creating a child, or finding it created,
        clears the parent operation's ``invoke:<op>`` timer in the same
        write: the target has started.
        """
        ...

    def get_execution(self, execution_id: str) -> ExecutionRecord:
        """The execution, or ExecutionNotFoundError."""
        ...

    def acquire_lease(
        self,
        execution_id: str,
        invocation_id: str,
        now: datetime.datetime,
        lease_until: datetime.datetime,
        holder: str | None = None,
    ) -> Lease | None:
        """Take the execution for an invocation and load its operations.

        The lease's expiry is the execution's work from now on: the reinvoke
        timer is due by ``lease_until`` (one due earlier stays), in the same write. ``holder`` names
        the process running the invocation (see ``LeaseHolder``). None when
        the execution has ended, or when another live invocation holds it;
        then the reinvoke timer moves to that lease's expiry, as its holder
        sees every fact a waker wrote (the wake_seq rule) or dies. A lease
        left by an invocation that died (expired, or held by the same
        invocation id, as a retried Lambda request has) is taken over and
        its InvocationCompleted is recorded with ``Runtime.ExitError``.
        """
        ...

    def reload(self, lease: Lease) -> Lease:
        """The same lease with freshly loaded operations and wake_seq."""
        ...

    def write(self, lease: Lease, batch: CheckpointBatch) -> None:
        """Persist checkpoints atomically; LeaseLostError when fenced off.

        A store may write a batch too large for one of its transactions in
        parts, each holding whole transitions in order: a failure part-way
        leaves the earlier transitions written, as if they had been written
        by earlier calls.

        A callback operation in the batch whose details carry a
        ``token_hash`` is also indexed by that hash (for ``change_callback``),
        in the same atomic write; indexing a hash again changes nothing.
        """
        ...

    def finish_invocation(
        self,
        lease: Lease,
        now: datetime.datetime,
        outcome: InvocationOutcome,
        batch: CheckpointBatch | None = None,
    ) -> bool:
        """End the invocation with its InvocationCompleted event.

        ``batch`` holds the invocation's last checkpoints, not yet written: they
        are written in the same atomic write, before the end's events, and also
        when the method returns False (a waker moved first).

        Succeeded and Failed also end the execution. For Suspended, returns
        False (and writes nothing) when a waker bumped wake_seq since the
        lease loaded its state: the invocation must reload and continue;
        otherwise it also clears the reinvoke timer, as the invocation has
        seen every fact a waker wrote. InvocationFailed leaves the timer as it
        is (due by the lease's expiry) for the invoker to move (``schedule_reinvoke``).
        """
        ...

    def abandon_invocation(
        self,
        execution_id: str,
        invocation_id: str,
        now: datetime.datetime,
        error: ErrorObject,
        retry_at: datetime.datetime,
    ) -> bool:
        """Record that an invocation died (crash, timeout) and release its lease.

        Bumps the epoch (a zombie is fenced off) and sets the reinvoke timer
        to ``retry_at`` in the same write. False, changing nothing, when that
        invocation no longer holds the lease.
        """
        ...

    def complete_operation(
        self,
        execution_id: str,
        operation_id: str,
        completion: Completion,
        now: datetime.datetime,
    ) -> bool:
        """Apply an outcome decided outside the execution to one operation.

        In one atomic write: the operation's transition
        (``transitions.on_completion``) with its events, a wake_seq bump and
        the reinvoke timer set to ``now``. False, changing nothing, when the
        execution is not RUNNING or the operation does not exist or no
        longer waits (a duplicate or late outcome).
        """
        ...

    def stop_execution(self, execution_id: str, now: datetime.datetime, error: ErrorObject) -> bool:
        """End a RUNNING execution as STOPPED with an ExecutionStopped event.

        Fences off a running invocation (as a timeout does) and, in the same
        write, stops the children it started that still run. False when the
        execution had already ended.
        """
        ...

    def time_out_execution(self, execution_id: str, now: datetime.datetime) -> bool:
        """End a RUNNING execution as TIMED_OUT, as its timeout timer does when it fires.

        False when the execution had already ended.
        """
        ...

    def schedule_reinvoke(self, execution_id: str, due: datetime.datetime) -> None:
        """Set the timer that invokes the execution again at ``due``."""
        ...

    def change_callback(
        self, token_hash: str, change: CallbackChange, now: datetime.datetime
    ) -> str:
        """Apply an external caller's change to a waiting callback; returns its execution id.

        Finds the callback by the hash of its id (CallbackNotFoundError when
        none has it). Only a callback operation still STARTED, in a RUNNING
        execution, changes: otherwise CallbackClosedError and nothing is
        written (a condition on both, so a completion racing a timeout or
        another completion loses cleanly). Persists ``change(operation, now)``
        (operation, events, timers) atomically, and when the operation's
        status changed also bumps ``wake_seq`` (a running invocation reloads
        instead of suspending) and sets the reinvoke timer due ``now``.
        """
        ...

    def fire_timer(self, execution_id: str, key: str, now: datetime.datetime) -> bool:
        """Apply a due timer; True when the execution should be invoked.

        A delivery timer (``is_delivery_timer``) changes nothing and stays
        due. Any other timer is cleared; when it changes an operation, the
        change, a wake_seq bump and the reinvoke timer due ``now`` are
        written together.
        """
        ...

    def claim_function_call(
        self,
        execution_id: str,
        operation_id: str,
        now: datetime.datetime,
        deadline: datetime.datetime,
    ) -> bool:
        """Claim the call of a chained invoke's target that is not durable.

        True, once per recorded START, when the operation's ``invoke:<op>``
        timer was set and the execution RUNNING: the timer is replaced by
        ``invoke-call:<op>`` due at ``deadline``, which fails the invoke if no
        outcome has come by then. False, changing nothing, otherwise: the
        function is called at most once per recorded start.
        """
        ...

    def due_timers(
        self,
        now: datetime.datetime,
        limit: int,
        function_names: Collection[str] | None = None,
    ) -> Sequence[DueTimer]:
        """Timers due at ``now``, earliest first; with ``function_names``, only
        those of executions of these functions."""
        ...

    def next_timer_due(
        self, function_names: Collection[str] | None = None
    ) -> datetime.datetime | None:
        """When the earliest timer (of these functions' executions) is due, if any."""
        ...

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
        """Executions matching every filter given, oldest start first, a page at a time.

        ``started_after`` and ``started_before`` are exclusive. ValidationError
        for a ``limit`` outside 1 to ``MAX_PAGE_SIZE`` or a ``page_token`` this
        store did not issue.
        """
        ...

    def get_operations(self, execution_id: str) -> list[Operation]:
        """The execution's operations in the order they were first recorded."""
        ...

    def get_history(self, execution_id: str) -> list[Event]:
        """The execution's stored events, in EventId order (1-based)."""
        ...

    def opener(self) -> Callable[[], Store]:
        """A picklable callable that opens this store in another process.

        Worker processes of the local engine use it. Raises ValidationError
        for a store only this process can reach (SQLite in memory).
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...
