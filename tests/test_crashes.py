"""Invocations killed before and after each checkpoint write resume and finish.

The handler runs in worker processes (``invocation_isolation="process"``)
on a store that kills its process once, right before or right after its
N-th write, for every N the workflow makes. Step bodies append to a journal
so the tests can see how often each body ran in each attempt.
"""

from __future__ import annotations

import functools
import json
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest

from durable_lambda import DurableContext, StepContext, durable_execution
from durable_lambda.config import Duration, JitterStrategy, StepConfig, StepSemantics
from durable_lambda.retries import RetryStrategyConfig, create_retry_strategy
from durable_lambda.store import CheckpointBatch, InvocationOutcome, Lease, SqliteStore
from durable_lambda.store.contract import ExecutionStatus
from durable_lambda.testing import DurableFunctionTestRunner

Phase = Literal["before", "after"]


class CrashingStore(SqliteStore):
    """Kills its process once, before or after its N-th write, as the plan file says."""

    def __init__(self, path: str, plan: str) -> None:
        super().__init__(path)
        self._plan = Path(plan)

    def opener(self) -> Callable[[], SqliteStore]:
        return functools.partial(CrashingStore, self.path, str(self._plan))

    def write(self, lease: Lease, batch: CheckpointBatch) -> None:
        self._around_write(lambda: super(CrashingStore, self).write(lease, batch))

    def finish_invocation(
        self,
        lease: Lease,
        now: Any,
        outcome: InvocationOutcome,
        batch: CheckpointBatch | None = None,
    ) -> bool:
        return self._around_write(
            lambda: super(CrashingStore, self).finish_invocation(lease, now, outcome, batch)
        )

    def _around_write(self, write: Callable[[], Any]) -> Any:
        plan = json.loads(self._plan.read_text())
        plan["writes"] += 1
        crash_now = not plan["crashed"] and plan["writes"] == plan["crash_at"]
        if crash_now:
            plan["crashed"] = True
        self._plan.write_text(json.dumps(plan))
        if crash_now and plan["phase"] == "before":
            os._exit(1)
        result = write()
        if crash_now:
            os._exit(1)
        return result


def _journal_dir() -> Path:
    return Path(os.environ["DURABLE_LAMBDA_TEST_JOURNALS"])


def _journal(context: DurableContext) -> Callable[[str], Callable[[StepContext], str]]:
    execution_name = context.execution_context.durable_execution_arn.split("/")[-2]

    def body(step_name: str) -> Callable[[StepContext], str]:
        def run(step_context: StepContext) -> str:
            with (_journal_dir() / execution_name).open("a") as journal:
                journal.write(f"{step_name} {step_context.attempt}\n")
            return f"{step_name} done"

        return run

    return body


@durable_execution
def order_workflow(event: dict[str, Any], context: DurableContext) -> dict[str, str]:
    body = _journal(context)
    retry = create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=3,
            initial_delay=Duration.from_seconds(1),
            jitter_strategy=JitterStrategy.NONE,
        )
    )
    reserved = context.step(body("reserve"), name="reserve")
    charged = context.step(
        body("charge"),
        name="charge",
        config=StepConfig(
            retry_strategy=retry, step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY
        ),
    )
    context.wait(Duration.from_seconds(30), name="cool-off")
    shipped = context.run_in_child_context(
        lambda child: child.step(body("ship"), name="ship"), name="shipping"
    )
    return {"reserve": reserved, "charge": charged, "ship": shipped}


EXPECTED = {"reserve": "reserve done", "charge": "charge done", "ship": "ship done"}


def run_crashing(
    workflow: Callable[..., Any],
    expected: Any,
    tmp_path: Path,
    name: str,
    *,
    crash_at: int,
    phase: Phase,
) -> tuple[int, list[str]]:
    """Run ``workflow`` in worker processes, killing one around its ``crash_at``-th write.

    Asserts it still succeeds with ``expected``; returns how many writes the
    run made and the lines its step bodies journaled.
    """
    plan = tmp_path / f"{name}.plan"
    plan.write_text(
        json.dumps({"crash_at": crash_at, "phase": phase, "writes": 0, "crashed": False})
    )
    store = CrashingStore(str(tmp_path / f"{name}.sqlite3"), str(plan))
    with DurableFunctionTestRunner(workflow, store=store, invocation_isolation="process") as runner:
        result = runner.run(input="{}", execution_name=name)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, (name, result.error)
    assert json.loads(result.result or "null") == expected
    # The runner names the execution ``<name>-<unique id>``, one per run.
    [journal] = tmp_path.glob(f"{name}-*")
    return json.loads(plan.read_text())["writes"], journal.read_text().splitlines()


def _run(tmp_path: Path, name: str, crash_at: int, phase: Phase) -> tuple[int, Counter[str]]:
    writes, lines = run_crashing(
        order_workflow, EXPECTED, tmp_path, name, crash_at=crash_at, phase=phase
    )
    return writes, Counter(lines)


pytestmark = pytest.mark.usefixtures("journals")


@pytest.mark.parametrize("phase", ["before", "after"])
def test_killed_at_every_checkpoint_write_resumes_and_finishes(
    tmp_path: Path, phase: Phase
) -> None:
    writes, journal = _run(tmp_path, "clean", crash_at=0, phase=phase)
    assert journal == Counter(["reserve 1", "charge 1", "ship 1"])
    journals = {}
    for crash_at in range(1, writes + 1):
        _, journals[crash_at] = _run(tmp_path, f"{phase}-{crash_at}", crash_at, phase)

    for crash_at, runs in journals.items():
        charge_attempts = [line for line in runs if line.startswith("charge")]
        assert all(runs[line] == 1 for line in charge_attempts), (
            f"at-most-once body ran twice in one attempt (crash at write {crash_at}): {runs}"
        )
    if phase == "before":
        # Killed before the write recording its success, the at-least-once
        # body runs again in the same attempt: at least once, maybe more.
        assert any(runs["reserve 1"] == 2 for runs in journals.values()), journals
        # The at-most-once body killed that way counts as a failed attempt.
        assert any(runs["charge 2"] == 1 for runs in journals.values()), journals
