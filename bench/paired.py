"""Paired timing: engines measured against their anchor in alternating rounds.

The machines benchmarks run on change speed over seconds (shared hosts,
frequency scaling), so timing the anchor first and the engine after can
compare a fast minute with a slow one. Each round runs every contender once,
the anchor first in even rounds and last in odd ones; a contender's ratio is
the median of its per-round ratios, and its time the median of its times.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass


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
        anchor_first = round_number % 2 == 0
        if anchor_first:
            anchor_times.append(anchor())
        for name, run in contenders.items():
            times[name].append(run())
        if not anchor_first:
            anchor_times.append(anchor())
        for name in contenders:
            ratios[name].append(anchor_times[-1] / times[name][-1])
    return statistics.median(anchor_times), {
        name: Timing(statistics.median(times[name]), statistics.median(ratios[name]))
        for name in contenders
    }
