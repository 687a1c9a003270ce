"""An execution's timeline as bars on a time axis, in percent of its duration."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from durable_lambda.cli.formats import (
    duration_text,
    error_line,
    invocations_text,
    operation_details,
)
from durable_lambda.cli.timeline import ExecutionTimeline, Span

MIN_WIDTH_PERCENT = 0.4
"""Narrowest bar drawn, so that an instant still shows."""
TICKS = 4
"""Intervals on the time axis."""


@dataclass(frozen=True)
class Bar:
    """One span of an operation: where it sits and what it was."""

    left: float
    width: float
    css_class: str
    """The span's kind (run, retry, wait), and the status of the operation for a run."""
    title: str


@dataclass(frozen=True)
class Row:
    """The execution or one of its operations, on the axis."""

    depth: int
    label: str
    kind: str
    status: str
    bars: list[Bar]
    offset: str
    """Its start after the execution's."""
    duration: str
    details: str
    error: str


def timeline_rows(timeline: ExecutionTimeline, now: datetime.datetime) -> list[Row]:
    """The execution, then every operation, parents before children, its spans as bars."""
    scale = _Scale(timeline, now)
    whole = Span("run", timeline.start, timeline.end)
    rows = [
        Row(
            depth=0,
            label="execution",
            kind="",
            status=timeline.status,
            bars=[scale.bar(whole, timeline.status)],
            offset=duration_text(datetime.timedelta()),
            duration=duration_text(timeline.duration(now)),
            details=invocations_text(timeline),
            error=error_line(timeline.error) if timeline.error else "",
        )
    ]
    for depth, operation in timeline.walk():
        failed = operation.error is not None and operation.status != "SUCCEEDED"
        rows.append(
            Row(
                depth=depth + 1,
                label=operation.label,
                kind=operation.sub_type or operation.kind,
                status=operation.status,
                bars=[scale.bar(span, operation.status) for span in operation.spans],
                offset=duration_text(operation.start - timeline.start),
                duration=duration_text(operation.duration(now)),
                details=operation_details(operation),
                error=error_line(operation.error) if operation.error and failed else "",
            )
        )
    return rows


def axis_ticks(timeline: ExecutionTimeline, now: datetime.datetime) -> list[tuple[float, str]]:
    """Evenly spaced marks of the axis: (percent, time after the start)."""
    total = _Scale(timeline, now).total
    return [(100 * i / TICKS, duration_text(total * i / TICKS)) for i in range(TICKS + 1)]


class _Scale:
    def __init__(self, timeline: ExecutionTimeline, now: datetime.datetime) -> None:
        self.start = timeline.start
        self.now = now
        self.total = max(timeline.duration(now), datetime.timedelta(milliseconds=1))

    def bar(self, span: Span, status: str) -> Bar:
        end = span.end or self.now
        left = min(
            max(100 * ((span.start - self.start) / self.total), 0.0), 100 - MIN_WIDTH_PERCENT
        )
        width = min(max(100 * ((end - span.start) / self.total), MIN_WIDTH_PERCENT), 100 - left)
        css_class = f"run {status.lower()}" if span.kind == "run" else span.kind
        title = f"{span.kind}: {duration_text(end - span.start)}"
        return Bar(round(left, 3), round(width, 3), css_class, title)
