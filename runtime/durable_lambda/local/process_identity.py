"""Which process holds a lease, and whether that process is gone.

A lease taken on the local engine names the process running the invocation
(``current``): its host, its pid and, where the kernel tells (Linux), when it
started, so that a pid the system has given to a new process is not taken for
the process that held the lease. A lease whose process is gone is taken over
at once instead of at its deadline.
"""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path

_SEPARATOR = "/"


@functools.cache
def current() -> str:
    """This process: ``<host>/<pid>/<start>`` (start empty where unknown)."""
    pid = os.getpid()
    return _SEPARATOR.join((socket.gethostname(), str(pid), _start_time(pid) or ""))


def is_gone(holder: str | None) -> bool:
    """Whether ``holder`` names a process of this host that no longer runs.

    False when it cannot tell: another host, or no holder (a lease taken
    where the platform names none). A zombie (ended, not yet reaped) is gone.
    """
    if holder is None:
        return False
    host, _, rest = holder.partition(_SEPARATOR)
    pid_text, _, start = rest.partition(_SEPARATOR)
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return start != (_start_time(pid) or "")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it runs, as another user
    stat = _stat(pid)
    if stat is None:
        return False
    state, started = stat
    return state == "Z" or (bool(start) and started != start)


def _start_time(pid: int) -> str | None:
    stat = _stat(pid)
    return stat[1] if stat is not None else None


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks) of ``pid`` from Linux's /proc; None elsewhere."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces.
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], fields[19]
