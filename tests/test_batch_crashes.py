"""A map and a parallel killed before and after each checkpoint write resume and finish.

Same harness as test_crashes.py: the handler runs in worker processes on a
store that kills its process once, around its N-th write, for every N the
workflow makes. Branch results are recorded without waiting for them to be
durable, so this is where a lost branch result would show: the batch must
still finish with every item's result, each body having run at least once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from test_crashes import Phase, _journal, run_crashing

from durable_lambda import DurableContext, durable_execution
from durable_lambda.config import Duration, MapConfig, ParallelConfig

BODIES = ["item-a", "item-b", "item-c", "branch-0", "branch-1"]
EXPECTED = {
    "map": ["item-a done", "item-b done", "item-c done"],
    "parallel": ["branch-0 done", "branch-1 done"],
}


@durable_execution
def batch_workflow(event: Any, context: DurableContext) -> dict[str, list[str]]:
    body = _journal(context)

    def item(ctx: DurableContext, value: str, index: int, items: Sequence[str]) -> str:
        if value == "b":
            ctx.wait(Duration.from_seconds(5), name="pause")
        return ctx.step(body(f"item-{value}"), name=f"item-{value}")

    mapped = context.map(["a", "b", "c"], item, "items", MapConfig(max_concurrency=1))
    branches = context.parallel(
        [
            lambda ctx: ctx.step(body("branch-0"), name="branch-0"),
            lambda ctx: ctx.step(body("branch-1"), name="branch-1"),
        ],
        "branches",
        ParallelConfig(max_concurrency=2),
    )
    return {"map": mapped.get_results(), "parallel": branches.get_results()}


def _run(tmp_path: Path, name: str, crash_at: int, phase: Phase) -> tuple[int, Counter[str]]:
    writes, lines = run_crashing(
        batch_workflow, EXPECTED, tmp_path, name, crash_at=crash_at, phase=phase
    )
    return writes, Counter(line.split()[0] for line in lines)


pytestmark = pytest.mark.usefixtures("journals")


@pytest.mark.parametrize("phase", ["before", "after"])
def test_batch_killed_at_every_checkpoint_write_resumes_and_finishes(
    tmp_path: Path, phase: Phase
) -> None:
    writes, journal = _run(tmp_path, "clean", crash_at=0, phase=phase)
    assert journal == Counter(BODIES)
    for crash_at in range(1, writes + 1):
        _, runs = _run(tmp_path, f"{phase}-{crash_at}", crash_at, phase)
        assert set(runs) == set(BODIES), (crash_at, runs)
        # At least once per body; again only if killed before its own success
        # was durable (at most the two branches running together), never
        # because the lost write was a branch's or the batch's own record.
        assert sum(runs.values()) <= len(BODIES) + 2, (crash_at, runs)
