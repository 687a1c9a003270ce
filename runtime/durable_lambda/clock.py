"""Time sources. Every timestamp and timer of an execution reads one clock."""

from __future__ import annotations

import datetime
from typing import Protocol


class Clock(Protocol):
    """Where "now" comes from."""

    def now(self) -> datetime.datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC)
