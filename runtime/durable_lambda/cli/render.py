"""Executions and their timelines as rich renderables.

Everything a user or a handler wrote (names, inputs, results, errors) goes
into ``Text`` objects, never into console markup, so brackets in it print
as they are.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from durable_lambda.cli.formats import (
    duration_text,
    error_line,
    invocations_text,
    operation_details,
    payload_text,
    time_text,
)
from durable_lambda.cli.timeline import ExecutionTimeline, OperationTimeline
from durable_lambda.store.contract import ExecutionRecord

STATUS_STYLES = {
    "RUNNING": "cyan",
    "STARTED": "cyan",
    "PENDING": "yellow",
    "SUCCEEDED": "green",
    "FAILED": "red",
    "TIMED_OUT": "red",
    "STOPPED": "magenta",
    "CANCELLED": "magenta",
}


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def payload_rich_text(payload: str | None) -> Text:
    """JSON text indented when it is JSON, else as it is."""
    if payload is None:
        return Text("none", style="dim")
    return Text(payload_text(payload))


def error_text(error: Mapping[str, Any] | None) -> Text:
    """``ErrorType: ErrorMessage``, in red."""
    return Text(error_line(error), style="red") if error else Text("")


def execution_summary(record: ExecutionRecord, now: datetime.datetime) -> Table:
    """One execution: what it is, where it stands, what went in and came out."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("Execution", Text(record.execution_id))
    table.add_row("Function", Text(record.function_name))
    table.add_row("Name", Text(record.execution_name))
    table.add_row("Status", status_text(record.status.value))
    table.add_row("Started", time_text(record.start_timestamp))
    if record.end_timestamp is not None:
        table.add_row("Ended", time_text(record.end_timestamp))
    table.add_row("Duration", duration_text((record.end_timestamp or now) - record.start_timestamp))
    if record.parent_execution_id is not None:
        table.add_row(
            "Parent", Text(f"{record.parent_execution_id} (operation {record.parent_operation_id})")
        )
    table.add_row("Input", payload_rich_text(record.input_payload))
    if record.error is not None:
        table.add_row("Error", error_text(record.error.to_dict()))
    elif record.result is not None:
        table.add_row("Result", payload_rich_text(record.result))
    return table


def executions_table(records: Iterable[ExecutionRecord], now: datetime.datetime) -> Table:
    """Executions, one a row."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("Started", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Duration", justify="right", no_wrap=True)
    table.add_column("Function", no_wrap=True)
    table.add_column("Execution", overflow="fold")
    for record in records:
        table.add_row(
            time_text(record.start_timestamp),
            status_text(record.status.value),
            duration_text((record.end_timestamp or now) - record.start_timestamp),
            Text(record.function_name),
            Text(record.execution_id),
        )
    return table


def timeline_table(timeline: ExecutionTimeline, now: datetime.datetime) -> RenderableType:
    """The operations nested by parent: status, start, duration, attempts, waits, callbacks."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("Operation", overflow="fold")
    table.add_column("Kind", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Start", justify="right", no_wrap=True)
    table.add_column("Duration", justify="right", no_wrap=True)
    table.add_column("Details", overflow="fold")
    table.add_row(
        Text("execution", style="bold"),
        "",
        status_text(timeline.status),
        "+0 ms",
        duration_text(timeline.duration(now)),
        Text(invocations_text(timeline)),
    )
    for depth, operation in timeline.walk():
        table.add_row(
            Text("  " * (depth + 1) + operation.label),
            operation.sub_type or operation.kind,
            status_text(operation.status),
            "+" + duration_text(operation.start - timeline.start),
            duration_text(operation.duration(now)),
            details_text(operation),
        )
    ending = error_text(timeline.error) if timeline.error else None
    return Group(table, ending) if ending else table


def details_text(operation: OperationTimeline) -> Text:
    """Its details, and its error unless it succeeded in the end."""
    text = Text(operation_details(operation))
    if operation.error and operation.status != "SUCCEEDED":
        if text:
            text.append("; ")
        text.append_text(error_text(operation.error))
    return text
