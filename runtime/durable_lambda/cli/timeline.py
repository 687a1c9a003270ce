"""An execution's history as a timeline: operations nested by parent, with their spans.

Built from history events in the AWS shape (``get_execution_history``),
so it reads the local engine's histories and a deployed engine's alike.
The command line prints it as a table; the dev server draws it as bars.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from durable_lambda.history import Event

EXECUTION_ENDINGS = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionStopped": "STOPPED",
}
_KINDS = ("Step", "Wait", "Callback", "Context", "ChainedInvoke")
_ENDINGS = {
    "Succeeded": "SUCCEEDED",
    "Failed": "FAILED",
    "TimedOut": "TIMED_OUT",
    "Stopped": "STOPPED",
    "Cancelled": "CANCELLED",
}
BATCH_SUB_TYPES = frozenset({"Map", "Parallel"})
"""Operations whose children are the items or branches of one batch."""


@dataclass(frozen=True)
class Span:
    """A stretch of an operation's life: an attempt, a retry delay, a wait."""

    kind: str
    """"run" (a step's attempt, a context), "retry" (from a failed attempt to
    the next), "wait" (a wait, a callback waiting for its caller, an invoke
    waiting for its target)."""
    start: datetime.datetime
    end: datetime.datetime | None
    """None while it lasts."""


@dataclass
class OperationTimeline:
    """One operation as its events tell it."""

    operation_id: str
    kind: str
    """Step, Wait, Callback, Context or ChainedInvoke."""
    sub_type: str | None
    name: str | None
    parent_id: str | None
    start: datetime.datetime
    status: str = "STARTED"
    """STARTED, PENDING (a step waiting to retry), SUCCEEDED, FAILED, TIMED_OUT, STOPPED."""
    end: datetime.datetime | None = None
    attempts: int = 0
    """Attempts a step has made (polls of a wait_for_condition)."""
    error: Mapping[str, Any] | None = None
    """The last error: ErrorType, ErrorMessage, ErrorData, StackTrace."""
    wait_seconds: int | None = None
    scheduled_end: datetime.datetime | None = None
    """When a wait ends."""
    callback_id: str | None = None
    function_name: str | None = None
    """The target of a chained invoke."""
    spans: list[Span] = field(default_factory=list)
    children: list[OperationTimeline] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The operation's name, or its kind and id when it has none."""
        return self.name or f"{self.sub_type or self.kind} {self.operation_id}"

    @property
    def is_batch(self) -> bool:
        """A map or a parallel, whose children are its items or branches."""
        return self.sub_type in BATCH_SUB_TYPES

    @property
    def ended(self) -> bool:
        return self.end is not None

    def duration(self, now: datetime.datetime) -> datetime.timedelta:
        """From its first start to its end, or to ``now`` while it goes on."""
        return (self.end or now) - self.start

    def status_counts(self) -> dict[str, int]:
        """How many children have each status (a batch's items or branches)."""
        counts: dict[str, int] = {}
        for child in self.children:
            counts[child.status] = counts.get(child.status, 0) + 1
        return counts


@dataclass
class ExecutionTimeline:
    """An execution as its history tells it."""

    start: datetime.datetime
    status: str = "RUNNING"
    end: datetime.datetime | None = None
    error: Mapping[str, Any] | None = None
    invocations: int = 0
    failed_invocations: int = 0
    operations: list[OperationTimeline] = field(default_factory=list)
    """Operations of the handler's own context, each with its children, in start order."""
    by_id: dict[str, OperationTimeline] = field(default_factory=dict)

    def duration(self, now: datetime.datetime) -> datetime.timedelta:
        return (self.end or now) - self.start

    def walk(self) -> Iterator[tuple[int, OperationTimeline]]:
        """Every operation with its depth (0 at the top), parents before children."""

        def visit(
            operations: list[OperationTimeline], depth: int
        ) -> Iterator[tuple[int, OperationTimeline]]:
            for operation in operations:
                yield depth, operation
                yield from visit(operation.children, depth + 1)

        yield from visit(self.operations, 0)

    def in_batch(self, operation: OperationTimeline) -> bool:
        """Whether the operation runs inside a map or parallel (is an item or inside one)."""
        parent = self.by_id.get(operation.parent_id or "")
        while parent is not None:
            if parent.is_batch:
                return True
            parent = self.by_id.get(parent.parent_id or "")
        return False

    def waiting_callbacks(self) -> list[OperationTimeline]:
        """Callbacks still waiting for their caller, in start order."""
        if self.end is not None:
            return []
        return [
            operation
            for _, operation in self.walk()
            if operation.kind == "Callback" and not operation.ended
        ]


def timeline_of(events: Sequence[Event]) -> ExecutionTimeline:
    """The timeline of an execution's history (at least its ExecutionStarted event)."""
    if not events or events[0]["EventType"] != "ExecutionStarted":
        msg = "A history starts with ExecutionStarted"
        raise ValueError(msg)
    timeline = ExecutionTimeline(start=events[0]["EventTimestamp"])
    for event in events[1:]:
        apply_event(timeline, event)
    return timeline


def apply_event(timeline: ExecutionTimeline, event: Event) -> None:
    """Add one event (after ExecutionStarted) to the timeline."""
    event_type: str = event["EventType"]
    details: Mapping[str, Any] = event.get(f"{event_type}Details") or {}
    at: datetime.datetime = event["EventTimestamp"]
    if event_type in EXECUTION_ENDINGS:
        timeline.status = EXECUTION_ENDINGS[event_type]
        timeline.end = at
        timeline.error = _error(details)
        return
    if event_type == "InvocationCompleted":
        timeline.invocations += 1
        timeline.failed_invocations += "Error" in details
        return
    split = _kind_and_change(event_type)
    if split is None:
        return
    kind, change = split
    operation = timeline.by_id.get(event["Id"])
    if operation is None:
        operation = OperationTimeline(
            operation_id=event["Id"],
            kind=kind,
            sub_type=event.get("SubType"),
            name=event.get("Name"),
            parent_id=event.get("ParentId"),
            start=at,
        )
        timeline.by_id[operation.operation_id] = operation
        parent = timeline.by_id.get(operation.parent_id or "")
        (parent.children if parent is not None else timeline.operations).append(operation)
    if change == "Started":
        _started(operation, details, at)
    else:
        _changed(operation, change, details, at)


def _kind_and_change(event_type: str) -> tuple[str, str] | None:
    """("Step", "Failed") for StepFailed; None for events that are not about an operation."""
    for kind in _KINDS:
        if event_type.startswith(kind):
            return kind, event_type[len(kind) :]
    return None


def _started(
    operation: OperationTimeline, details: Mapping[str, Any], at: datetime.datetime
) -> None:
    operation.status = "STARTED"
    _close_span(operation, at)
    if operation.kind == "Step":
        operation.attempts += 1
        operation.spans.append(Span("run", at, None))
    elif operation.kind == "Context":
        operation.spans.append(Span("run", at, None))
    else:
        operation.spans.append(Span("wait", at, None))
    if operation.kind == "Wait":
        operation.wait_seconds = details.get("Duration")
        operation.scheduled_end = details.get("ScheduledEndTimestamp")
    elif operation.kind == "Callback":
        operation.callback_id = details.get("CallbackId")
    elif operation.kind == "ChainedInvoke":
        operation.function_name = details.get("FunctionName")


def _changed(
    operation: OperationTimeline, change: str, details: Mapping[str, Any], at: datetime.datetime
) -> None:
    _close_span(operation, at)
    operation.error = _error(details) or operation.error
    retry = details.get("RetryDetails") or {}
    operation.attempts = max(operation.attempts, retry.get("CurrentAttempt", 0))
    delay = retry.get("NextAttemptDelaySeconds")
    if delay is not None:
        # A failed attempt to be retried, or a wait_for_condition poll to be repeated.
        operation.status = "PENDING"
        operation.spans.append(Span("retry", at, None))
        return
    operation.status = _ENDINGS.get(change, change.upper())
    operation.end = at


def _close_span(operation: OperationTimeline, at: datetime.datetime) -> None:
    if operation.spans and operation.spans[-1].end is None:
        operation.spans[-1] = Span(operation.spans[-1].kind, operation.spans[-1].start, at)


def _error(details: Mapping[str, Any]) -> Mapping[str, Any] | None:
    error = details.get("Error")
    if isinstance(error, Mapping):
        payload = error.get("Payload")
        if isinstance(payload, Mapping):
            return payload
    return None
