"""The ``durable-lambda`` command in a process of its own, as a user runs it in a shell.

``CommandProcess`` starts it from the project's root (so ``examples`` is
found, as from a checkout), collects its output lines (standard output and
error, as a terminal shows them) as they come, and is
stopped with Ctrl-C (SIGINT) or killed at the end of the ``with`` block.
Every wait has a deadline.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import TracebackType

PROJECT = Path(__file__).resolve().parent.parent
COMMAND = Path(sys.executable).with_name("durable-lambda")
CALLBACK_URL = re.compile(r"http://127\.0\.0\.1:\d+/callbacks/[A-Za-z0-9_-]{43}")
DEADLINE = 20.0


class CommandProcess:
    """``durable-lambda *arguments`` running, its standard output read line by line."""

    def __init__(self, *arguments: str) -> None:
        self._process = subprocess.Popen(
            [str(COMMAND), *arguments],
            cwd=PROJECT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "COLUMNS": "200"},  # a wide terminal's, though output is a pipe
        )
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            with self._changed:
                self._lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self._lines)

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float = DEADLINE) -> re.Match[str]:
        """The first match of ``pattern`` in the output, once it is printed."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                match = re.search(pattern, "\n".join(self._lines))
                if match is not None:
                    return match
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (
                    self._process.poll() is not None and not self._reader.is_alive()
                ):
                    msg = f"{pattern!r} not printed; output:\n{self.output}"
                    raise AssertionError(msg)
                self._changed.wait(min(remaining, 0.1))

    def wait(self, timeout: float = DEADLINE) -> int:
        """Its exit status, once it has ended and its output is read."""
        status = self._process.wait(timeout)
        self._reader.join(timeout)
        return status

    def interrupt(self) -> int:
        """Ctrl-C, then its exit status."""
        self._process.send_signal(signal.SIGINT)
        return self.wait()

    def __enter__(self) -> CommandProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait(DEADLINE)
        self._reader.join(DEADLINE)
        if self._process.stdout is not None:
            self._process.stdout.close()


def post(url: str, body: bytes = b"") -> tuple[int, bytes]:
    """POST ``body`` to a URL on 127.0.0.1: the status and body of the answer."""
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=DEADLINE) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def get(url: str) -> tuple[int, str]:
    """GET a page on 127.0.0.1: its status and text."""
    try:
        with urllib.request.urlopen(url, timeout=DEADLINE) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
