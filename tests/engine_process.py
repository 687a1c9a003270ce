"""An engine in a process of its own, for tests that kill it and start another on its file.

``python -c "import engine_process; engine_process.main()" DB SCENARIO`` (with
this folder on PYTHONPATH) starts an engine on the SQLite file DB, starts the
scenario's execution and runs until the test kills it, or until its store
crashes the process at the scenario's crash point. The handlers live here so
that the engine a test starts afterwards registers the very same functions.
Step bodies journal into ``DURABLE_LAMBDA_TEST_JOURNALS``; a body that finds
the file ``block`` there waits until the test removes it.
"""

from __future__ import annotations

import datetime
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from durable_lambda import DurableContext, durable_execution
from durable_lambda.config import CompletionConfig, Duration, ParallelConfig
from durable_lambda.local import LocalEngine
from durable_lambda.store import Lease, NewExecution, SqliteStore
from durable_lambda.store.contract import ExecutionRecord


def journal_dir() -> Path:
    return Path(os.environ["DURABLE_LAMBDA_TEST_JOURNALS"])


def journal(line: str) -> None:
    with (journal_dir() / "journal").open("a") as file:
        file.write(line + "\n")


def journaled() -> list[str]:
    path = journal_dir() / "journal"
    return path.read_text().splitlines() if path.exists() else []


def wait_while_blocked() -> None:
    while (journal_dir() / "block").exists():
        time.sleep(0.02)


@durable_execution
def slow_step(event: Any, context: DurableContext) -> str:
    def slow(_: object) -> str:
        journal("slow started")
        wait_while_blocked()
        return "slow done"

    return context.step(slow, name="slow")


@durable_execution
def after_a_wait(event: Any, context: DurableContext) -> str:
    context.wait(Duration.from_seconds(1), name="pause")
    return context.step(lambda _: "after the wait", name="after")


@durable_execution
def awaiting_approval(event: Any, context: DurableContext) -> str:
    callback = context.create_callback("approval")

    def send(_: object) -> None:
        (journal_dir() / "callback-url").write_text(callback.url)

    context.step(send, name="send")
    return callback.result() or ""


@durable_execution
def calling_a_function(event: Any, context: DurableContext) -> dict[str, Any]:
    batch = context.parallel(
        [
            lambda branch: branch.invoke("slow-plain", {"n": 1}, name="call"),
            lambda branch: branch.wait(Duration.from_seconds(2), name="meanwhile"),
        ],
        name="both",
        config=ParallelConfig(completion_config=CompletionConfig(tolerated_failure_count=1)),
    )
    return {"statuses": [item.status.value for item in batch.all]}


def slow_plain(event: Any, context: Any) -> dict[str, bool]:
    journal("called")
    wait_while_blocked()
    return {"ok": True}


@dataclass(frozen=True)
class Scenario:
    """What the first engine runs, and where its store crashes the process."""

    function: str
    crash_in: str | None = None
    """The store method that ends the process; None: the test kills it."""
    crash_at_call: int = 1
    crash_after: bool = False
    """End the process after the call returns (else before it runs)."""
    crash_delay: float = 0.0
    """Seconds to let other threads go on before ending the process."""
    isolation: str = "thread"


FUNCTIONS: dict[str, Any] = {
    "slow-step": slow_step,
    "after-a-wait": after_a_wait,
    "awaiting-approval": awaiting_approval,
    "calling-a-function": calling_a_function,
}

SCENARIOS = {
    "killed-in-a-step": Scenario("slow-step"),
    "crash-after-the-wait-fired": Scenario("after-a-wait", "acquire_lease", crash_at_call=2),
    "crash-after-the-callback": Scenario(
        "awaiting-approval", "acquire_lease", crash_at_call=2, crash_delay=0.3
    ),
    "crash-after-the-start": Scenario(
        "slow-step", "create_execution", crash_after=True, isolation="process"
    ),
    "killed-in-a-function-call": Scenario("calling-a-function"),
}

INVOCATION_TIMEOUT_SECONDS = 2
"""Short, so that a function call lost with its engine fails soon (its deadline)."""


def engine_for(store: SqliteStore, *, isolation: str = "thread", port: int = 0) -> LocalEngine:
    """An engine on ``store`` with every function of these scenarios registered."""
    engine = LocalEngine(
        store,
        invocation_isolation=isolation,  # type: ignore[arg-type]
        invocation_timeout=INVOCATION_TIMEOUT_SECONDS,
        callback_port=port,
    )
    for name, handler in FUNCTIONS.items():
        engine.register_durable_function(name, handler)
    engine.register_function("slow-plain", slow_plain)
    return engine


class CrashingStore(SqliteStore):
    """Ends its process at the scenario's crash point."""

    def __init__(self, path: str, scenario: Scenario) -> None:
        super().__init__(path)
        self._scenario = scenario
        self._calls = 0
        self._lock = threading.Lock()

    def _maybe_crash(self, method: str, *, after: bool) -> None:
        scenario = self._scenario
        if method != scenario.crash_in or after != scenario.crash_after:
            return
        with self._lock:
            self._calls += 1
            if self._calls != scenario.crash_at_call:
                return
        time.sleep(scenario.crash_delay)
        os._exit(3)

    def create_execution(
        self, new: NewExecution, now: datetime.datetime
    ) -> tuple[ExecutionRecord, bool]:
        self._maybe_crash("create_execution", after=False)
        created = super().create_execution(new, now)
        self._maybe_crash("create_execution", after=True)
        return created

    def acquire_lease(
        self,
        execution_id: str,
        invocation_id: str,
        now: datetime.datetime,
        lease_until: datetime.datetime,
        holder: str | None = None,
    ) -> Lease | None:
        self._maybe_crash("acquire_lease", after=False)
        lease = super().acquire_lease(execution_id, invocation_id, now, lease_until, holder)
        self._maybe_crash("acquire_lease", after=True)
        return lease


def main() -> None:
    database, scenario_name, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    scenario = SCENARIOS[scenario_name]
    store = CrashingStore(database, scenario)
    engine = engine_for(store, isolation=scenario.isolation, port=port)
    engine.start_execution(scenario.function, "{}", execution_name="first")
    time.sleep(120)
    os._exit(4)  # never reached in a test: it kills the process or the store does
