"""The log records the commands show while handlers run."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from rich.console import Console
from rich.logging import RichHandler

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
"""Log records written where no terminal is (a file, a pipe, a test)."""


@contextlib.contextmanager
def logging_to(console: Console, level: int = logging.INFO) -> Iterator[None]:
    """Show log records (handlers' ``context.logger`` included) meanwhile.

    In a terminal they go to ``console`` (above a live view); elsewhere to
    standard error, a line a record, tracebacks unwrapped.
    """
    handler: logging.Handler
    if console.is_terminal:
        handler = RichHandler(console=console, show_path=False, markup=False)
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
