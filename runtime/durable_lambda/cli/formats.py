"""Durations, times and payloads as the command line and the web view show them."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any

from durable_lambda.cli.timeline import ExecutionTimeline, OperationTimeline

_MILLISECOND = datetime.timedelta(milliseconds=1)
_SECOND = datetime.timedelta(seconds=1)
_MINUTE = datetime.timedelta(minutes=1)
_HOUR = datetime.timedelta(hours=1)
_DAY = datetime.timedelta(days=1)
_COUNT_ORDER = ("SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED", "CANCELLED", "PENDING", "STARTED")


def duration_text(duration: datetime.timedelta) -> str:
    """``12 ms``, ``1.25 s``, ``3 min 4 s``, ``2 h 3 min``, ``1 d 2 h``."""
    if duration < _SECOND:
        return f"{duration / _MILLISECOND:.0f} ms"
    if duration < _MINUTE:
        return f"{duration / _SECOND:.2f} s"
    if duration < _HOUR:
        minutes, rest = divmod(duration, _MINUTE)
        return f"{minutes} min {round(rest / _SECOND)} s"
    if duration < _DAY:
        hours, rest = divmod(duration, _HOUR)
        return f"{hours} h {rest // _MINUTE} min"
    days, rest = divmod(duration, _DAY)
    return f"{days} d {rest // _HOUR} h"


def time_text(moment: datetime.datetime | None) -> str:
    """UTC, to the millisecond: ``2026-01-31 12:00:00.250Z``."""
    if moment is None:
        return ""
    utc = moment.astimezone(datetime.UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def payload_text(payload: str) -> str:
    """JSON text indented when it is JSON, else as it is."""
    try:
        return json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
    except ValueError:
        return payload


def error_line(error: Mapping[str, Any]) -> str:
    """``ErrorType: ErrorMessage``."""
    kind = error.get("ErrorType") or "Error"
    message = error.get("ErrorMessage")
    return f"{kind}: {message}" if message else str(kind)


def operation_details(operation: OperationTimeline) -> str:
    """What else there is to know: attempts, a wait's end, a callback's id, an invoke's
    target, a batch's counts."""
    parts: list[str] = []
    if operation.kind == "Step" and operation.attempts > 1:
        parts.append(f"{operation.attempts} attempts")
    if operation.kind == "Wait" and operation.wait_seconds is not None:
        until = f", until {time_text(operation.scheduled_end)}" if operation.scheduled_end else ""
        parts.append(f"waits {operation.wait_seconds} s{until}")
    if operation.kind == "Callback" and operation.callback_id:
        parts.append(f"callback id {operation.callback_id}")
    if operation.kind == "ChainedInvoke" and operation.function_name:
        parts.append(f"invokes {operation.function_name}")
    if operation.is_batch:
        parts.append(counts_text(operation.status_counts()))
    return "; ".join(parts)


def counts_text(counts: Mapping[str, int]) -> str:
    """``7 succeeded, 2 failed, 1 started``."""
    order = {status: position for position, status in enumerate(_COUNT_ORDER)}
    ordered = sorted(counts.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
    return ", ".join(f"{n} {status.lower()}" for status, n in ordered)


def invocations_text(timeline: ExecutionTimeline) -> str:
    """``3 invocations, 1 failed``."""
    failed = f", {timeline.failed_invocations} failed" if timeline.failed_invocations else ""
    plural = "" if timeline.invocations == 1 else "s"
    return f"{timeline.invocations} invocation{plural}{failed}"
