"""``run``'s live view: the narration of one execution, and in a terminal its progress.

Lines for operations as they start and end (and callback URLs as they are
created) scroll; below them, in a terminal, a panel redrawn a few times a
second shows how long the execution has run, the callbacks it waits for,
and a progress bar for every map or parallel under way.
"""

from __future__ import annotations

import contextlib
import datetime
import time
from collections.abc import Iterator

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from durable_lambda.cli.formats import duration_text
from durable_lambda.cli.narration import Narrator
from durable_lambda.cli.timeline import ExecutionTimeline
from durable_lambda.local import LocalEngine

POLL_SECONDS = 0.1
"""How often the view reads the execution's history."""


def follow(engine: LocalEngine, execution_id: str, console: Console) -> ExecutionTimeline:
    """Tell what the execution does until it ends; its final timeline."""
    narrator = Narrator(engine.callback_endpoint)
    with _live(console) as live:
        while True:
            timeline, lines = narrator.news(engine.get_history(execution_id))
            for line in lines:
                console.print(line, soft_wrap=True)
            if timeline.end is not None:
                return timeline
            if live is not None:
                live.update(progress_view(timeline, engine.clock.now()))
            time.sleep(POLL_SECONDS)


@contextlib.contextmanager
def _live(console: Console) -> Iterator[Live | None]:
    if not console.is_terminal:
        yield None
        return
    with Live(console=console, transient=True, refresh_per_second=8) as live:
        yield live


def progress_view(timeline: ExecutionTimeline, now: datetime.datetime) -> RenderableType:
    """How long it has run, what it waits for, and how far each running batch is."""
    waiting = len(timeline.waiting_callbacks())
    status = Text(f"running for {duration_text(timeline.duration(now))}", style="cyan")
    if waiting:
        status.append(f", waiting for {waiting} callback{'s' if waiting > 1 else ''}")
    bars = Table.grid(padding=(0, 1))
    for _, operation in timeline.walk():
        if not operation.is_batch or operation.ended:
            continue
        counts = operation.status_counts()
        started = len(operation.children)
        done = started - counts.get("STARTED", 0)
        bars.add_row(
            Text(f"{operation.sub_type} {operation.label}"),
            ProgressBar(total=max(started, 1), completed=done, width=30),
            Text(f"{done}/{started} items done" + _failures(counts)),
        )
    return Group(status, bars) if bars.row_count else status


def _failures(counts: dict[str, int]) -> str:
    failed = counts.get("FAILED", 0) + counts.get("TIMED_OUT", 0)
    return f", {failed} failed" if failed else ""
