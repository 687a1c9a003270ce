"""What an execution did since the last look, a line an event: the log of ``run`` and ``dev``.

Operations inside a map or a parallel are not told one by one (a map of a
thousand items would drown the rest): the batch's start and end are, with
its counts, and ``run`` shows its progress live. Callbacks are always told,
with the URL that completes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text

from durable_lambda.callback_ids import callback_url
from durable_lambda.cli.formats import counts_text, duration_text, time_text
from durable_lambda.cli.render import STATUS_STYLES, error_text
from durable_lambda.cli.timeline import (
    EXECUTION_ENDINGS,
    ExecutionTimeline,
    OperationTimeline,
    timeline_of,
)
from durable_lambda.history import Event

_WORD_WIDTH = 9


class Narrator:
    """Tells one execution's new events; ``prefix`` starts every line (the dev server's)."""

    def __init__(self, callback_endpoint: str | None, prefix: str = "") -> None:
        self._endpoint = callback_endpoint
        self._prefix = prefix
        self._told = 0
        self._attempts: dict[str, int] = {}
        self._hinted = False

    def news(self, events: Sequence[Event]) -> tuple[ExecutionTimeline, list[Text]]:
        """The timeline of ``events`` (the whole history) and the lines for those not told yet."""
        timeline = timeline_of(events)
        lines: list[Text] = []
        for event in events[self._told :]:
            lines.extend(self._lines(timeline, event))
        self._told = len(events)
        return timeline, lines

    def _lines(self, timeline: ExecutionTimeline, event: Event) -> list[Text]:
        event_type: str = event["EventType"]
        details: Mapping[str, Any] = event.get(f"{event_type}Details") or {}
        if event_type == "ExecutionStarted":
            return [self._line("started", "RUNNING", "execution")]
        if event_type in EXECUTION_ENDINGS:
            status = EXECUTION_ENDINGS[event_type]
            line = self._line(status.lower(), status, "execution")
            line.append(f" in {duration_text(event['EventTimestamp'] - timeline.start)}")
            return [self._with_error(line, details)]
        if event_type == "InvocationCompleted":
            if "Error" not in details:
                return []
            return [self._with_error(self._line("failed", "FAILED", "invocation"), details)]
        operation = timeline.by_id.get(event.get("Id", ""))
        if operation is None:
            return []
        if operation.kind == "Callback":
            return self._callback(operation, event_type)
        if timeline.in_batch(operation):
            return []
        if event_type.endswith("Started"):
            return [self._started(operation, details)]
        return [self._ended(operation, event, details)]

    def _started(self, operation: OperationTimeline, details: Mapping[str, Any]) -> Text:
        what = _what(operation)
        if operation.kind == "Wait":
            until = time_text(details.get("ScheduledEndTimestamp"))
            return self._line(
                "waiting", "STARTED", f"{what}: {details.get('Duration')} s, until {until}"
            )
        if operation.kind == "ChainedInvoke":
            return self._line(
                "started", "STARTED", f"{what}: invokes {details.get('FunctionName')}"
            )
        attempt = self._attempts[operation.operation_id] = (
            self._attempts.get(operation.operation_id, 0) + 1
        )
        return self._line(
            "started", "STARTED", what + (f" (attempt {attempt})" if attempt > 1 else "")
        )

    def _ended(
        self, operation: OperationTimeline, event: Event, details: Mapping[str, Any]
    ) -> Text:
        what = _what(operation)
        retry: Mapping[str, Any] = details.get("RetryDetails") or {}
        delay = retry.get("NextAttemptDelaySeconds")
        if delay is not None:
            attempt = retry.get("CurrentAttempt")
            line = self._line("retrying", "PENDING", f"{what}: attempt {attempt}")
            if "Error" in details:
                line.append(" failed, ")
                line.append_text(error_text(details["Error"].get("Payload")))
                line.append(";")
            line.append(f" next attempt in {delay} s")
            return line
        status = event["EventType"].removeprefix(operation.kind).upper()
        status = "TIMED_OUT" if status == "TIMEDOUT" else status
        line = self._line(status.lower(), status, what)
        line.append(f" in {duration_text(event['EventTimestamp'] - operation.start)}")
        if operation.kind == "Step" and operation.attempts > 1:
            line.append(f" after {operation.attempts} attempts")
        if operation.is_batch:
            line.append(": " + counts_text(operation.status_counts()))
        return self._with_error(line, details)

    def _callback(self, operation: OperationTimeline, event_type: str) -> list[Text]:
        what = _what(operation)
        if event_type != "CallbackStarted":
            status = "TIMED_OUT" if event_type == "CallbackTimedOut" else operation.status
            return [self._line(status.lower(), status, what)]
        where = operation.callback_id or ""
        if self._endpoint is not None and operation.callback_id:
            where = callback_url(self._endpoint, operation.callback_id)
        lines = [self._line("waiting", "STARTED", f"{what}: {where}")]
        if self._endpoint is not None and not self._hinted:
            self._hinted = True
            hint = (
                f"complete it: curl -X POST {where}/succeed -d '\"approved\"' "
                "(or /fail, /heartbeat)"
            )
            lines.append(Text(self._prefix + " " * (_WORD_WIDTH + 3) + hint, style="dim"))
        return lines

    def _line(self, word: str, status: str, text: str) -> Text:
        line = Text(self._prefix + "  ")
        line.append(word.ljust(_WORD_WIDTH), style=STATUS_STYLES.get(status, ""))
        line.append(" " + text)
        return line

    @staticmethod
    def _with_error(line: Text, details: Mapping[str, Any]) -> Text:
        error = details.get("Error")
        if isinstance(error, Mapping) and isinstance(error.get("Payload"), Mapping):
            line.append(": ")
            line.append_text(error_text(error["Payload"]))
        return line


def _what(operation: OperationTimeline) -> str:
    """``Step 'charge' (2)``."""
    kind = operation.sub_type or operation.kind
    return (
        f"{kind} {operation.label!r} ({operation.operation_id})"
        if operation.name
        else (f"{kind} ({operation.operation_id})")
    )
