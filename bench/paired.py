"""Paired timing: engines measured against their anchor in alternating rounds.

The machines benchmarks run on change speed from one second to the next
(shared hosts, frequency scaling), so timing the anchor first and the engine
after can compare a fast minute with a slow one, and a short run catches a
fast or a slow second where a long one averages them. Each round runs the
anchor once and every contender over about as long a window (its mean over
repeated runs, at most ``MAX_REPEATS``), the anchor first in even rounds and
last in odd ones; a contender's ratio is the median of its per-round ratios,
and its time the median of its per-round means.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_REPEATS = 10


@dataclass(frozen=True)
class Timing:
    """A contender's median seconds and its median ratio to the anchor (anchor/ours)."""

    seconds: float
    ratio: float


def measure(
    anchor: Callable[[], float], contenders: Mapping[str, Callable[[], float]], rounds: int
) -> tuple[float, dict[str, Timing]]:
    """The anchor's median seconds, and each contender's ``Timing``.

    Every callable runs its workload once and returns the seconds it took.
    """
    if rounds < 1:
        msg = f"rounds must be at least 1, got {rounds}"
        raise ValueError(msg)
    anchor_times: list[float] = []
    times: dict[str, list[float]] = {name: [] for name in contenders}
    ratios: dict[str, list[float]] = {name: [] for name in contenders}
    for round_number in range(rounds):
        anchor_first = round_number % 2 == 0 or not anchor_times
        if anchor_first:
            anchor_times.append(anchor())
        for name, run in contenders.items():
            times[name].append(_mean_over_window(run, anchor_times[-1]))
        if not anchor_first:
            anchor_times.append(anchor())
        for name in contenders:
            ratios[name].append(anchor_times[-1] / times[name][-1])
    return statistics.median(anchor_times), {
        name: Timing(statistics.median(times[name]), statistics.median(ratios[name]))
        for name in contenders
    }


def _mean_over_window(run: Callable[[], float], window: float) -> float:
    """Mean seconds of ``run`` over repeated runs filling about ``window`` seconds."""
    samples = [run()]
    while sum(samples) < window and len(samples) < MAX_REPEATS:
        samples.append(run())
    return statistics.fmean(samples)


def timed_run(runner: Any, expected: str, **run_arguments: Any) -> float:
    """Seconds ``runner.run(**run_arguments)`` took; asserts the result is ``expected``."""
    started = time.perf_counter()
    result = runner.run(**run_arguments)
    elapsed = time.perf_counter() - started
    assert result.result == expected, result
    return elapsed
