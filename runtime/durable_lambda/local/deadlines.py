"""Execution timeouts on the wall clock, for an engine whose clock skips time."""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class WallClockDeadlines:
    """Calls ``expire(execution_id)`` once ``seconds`` of real time have passed since ``arm``.

    One thread sleeps until the earliest deadline. Skipping the engine's clock
    does not move these deadlines: time skipped does not count toward an
    execution's timeout, as on the AWS testing SDK's runner.
    """

    def __init__(self, expire: Callable[[str], None]) -> None:
        self._expire = expire
        self._cond = threading.Condition()
        self._due: list[tuple[float, str]] = []
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="execution-timeouts", daemon=True)
        self._thread.start()

    def arm(self, execution_id: str, seconds: float) -> None:
        """Expire ``execution_id`` ``seconds`` from now, in real time."""
        with self._cond:
            heapq.heappush(self._due, (time.monotonic() + seconds, execution_id))
            self._cond.notify()

    def close(self) -> None:
        """Stop the thread; deadlines not reached are dropped."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and not self._earliest_reached():
                    wait = self._due[0][0] - time.monotonic() if self._due else None
                    self._cond.wait(wait)
                if self._closed:
                    return
                _, execution_id = heapq.heappop(self._due)
            try:
                self._expire(execution_id)
            except Exception:
                logger.exception("Could not time out %s", execution_id)

    def _earliest_reached(self) -> bool:
        return bool(self._due) and self._due[0][0] <= time.monotonic()
