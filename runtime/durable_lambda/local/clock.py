"""The skipping clock: real time plus the time skipped while the engine idled."""

from __future__ import annotations

import datetime
import threading

from durable_lambda.clock import SystemClock


class SkippingClock:
    """Virtual time that jumps ahead to the next timer when nothing else can happen.

    ``now()`` is wall-clock time plus everything skipped so far, so it moves
    on with real time between jumps and never goes backwards. The engine
    calls ``advance_to`` only while no invocation runs, so every invocation
    sees one steady offset.
    """

    def __init__(self) -> None:
        self._system = SystemClock()
        self._skipped = datetime.timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime.datetime:
        # No lock: ``_skipped`` is replaced whole, never changed in place, and every
        # checkpoint of every branch thread reads the clock.
        return self._system.now() + self._skipped

    @property
    def offset(self) -> datetime.timedelta:
        """Time skipped so far."""
        with self._lock:
            return self._skipped

    def advance_to(self, moment: datetime.datetime) -> None:
        """Skip forward so that ``now()`` is at least ``moment``."""
        with self._lock:
            gap = moment - (self._system.now() + self._skipped)
            if gap > datetime.timedelta(0):
                self._skipped += gap


class OffsetClock:
    """Wall-clock time shifted by a fixed offset (a skipping clock seen from a worker)."""

    def __init__(self, offset: datetime.timedelta) -> None:
        self._system = SystemClock()
        self._offset = offset

    def now(self) -> datetime.datetime:
        return self._system.now() + self._offset
