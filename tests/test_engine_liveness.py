"""No execution is left RUNNING with nothing due, whatever dies when.

Each test reproduces a way the local engine used to strand executions: an
engine killed mid-invocation or between a wake-up and the invocation that
handles it, a timer loop that stopped at a store error, engines that took
wake-ups for functions they did not have, a checkpoint left unwritten, a
writer thread outliving its invocation, a function called again.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import engine_process
import pytest

from durable_lambda import DurableContext, durable_execution
from durable_lambda.config import Duration
from durable_lambda.history import Event
from durable_lambda.local import LocalEngine
from durable_lambda.store import DueTimer, ExecutionStatus, MemoryStore, SqliteStore
from durable_lambda.testing import DurableFunctionTestRunner

TESTS = Path(__file__).parent
pytestmark = pytest.mark.usefixtures("journals")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Not within {seconds} s: {what}")
        time.sleep(0.02)


class FirstEngine:
    """The engine of ``engine_process``, in its own process, running one scenario."""

    def __init__(self, database: Path, scenario: str) -> None:
        self.port = free_port()
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path])}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import engine_process; engine_process.main()",
                str(database),
                scenario,
                str(self.port),
            ],
            env=environment,
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def wait_for_its_crash(self) -> None:
        assert self.process.wait(timeout=30) == 3, "the store did not end the process"


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "engine.sqlite3"


def only_execution(database: Path) -> str:
    store = SqliteStore(str(database))
    try:
        [record] = store.list_executions().executions
        return record.execution_id
    finally:
        store.close()


def finish_on_a_new_engine(database: Path, seconds: float = 20) -> tuple[Any, list[Event]]:
    """Start a second engine on the file; return the result it reaches and the history."""
    execution_id = only_execution(database)
    with engine_process.engine_for(SqliteStore(str(database))) as engine:
        record = engine.wait_for_completion(execution_id, timeout=seconds)
        history = engine.get_history(execution_id)
    assert record.status is ExecutionStatus.SUCCEEDED, record.error
    return json.loads(record.result or "null"), history


def types(history: list[Event]) -> list[str]:
    return [event["EventType"] for event in history]


def test_an_engine_killed_mid_invocation_is_taken_over_at_once(
    database: Path, journals: Path
) -> None:
    (journals / "block").touch()
    first = FirstEngine(database, "killed-in-a-step")
    wait_for(lambda: "slow started" in engine_process.journaled(), 30, "the step to start")
    first.kill()
    (journals / "block").unlink()
    started = time.monotonic()
    result, history = finish_on_a_new_engine(database, seconds=20)
    assert result == "slow done"
    assert time.monotonic() - started < 10  # not after the 900-second lease
    [dead, _] = [e for e in history if e["EventType"] == "InvocationCompleted"]
    assert dead["InvocationCompletedDetails"]["Error"]["Payload"]["ErrorType"] == (
        "Runtime.ExitError"
    )


def test_a_wake_up_from_a_fired_wait_survives_the_engine(database: Path) -> None:
    first = FirstEngine(database, "crash-after-the-wait-fired")
    first.wait_for_its_crash()
    result, history = finish_on_a_new_engine(database)
    assert result == "after the wait"
    assert types(history).count("WaitSucceeded") == 1


def test_an_accepted_callback_survives_the_engine(database: Path, journals: Path) -> None:
    first = FirstEngine(database, "crash-after-the-callback")
    url_file = journals / "callback-url"
    wait_for(url_file.exists, 30, "the callback to be sent")
    request = urllib.request.Request(
        url_file.read_text() + "/succeed", data=b"approved", method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    first.wait_for_its_crash()
    result, history = finish_on_a_new_engine(database)
    assert result == "approved"
    assert types(history).count("CallbackSucceeded") == 1


def test_a_start_recorded_before_the_engine_died_is_invoked(database: Path) -> None:
    first = FirstEngine(database, "crash-after-the-start")
    first.wait_for_its_crash()
    result, _ = finish_on_a_new_engine(database)
    assert result == "slow done"


def test_a_function_is_not_called_again_after_its_engine_died(
    database: Path, journals: Path
) -> None:
    (journals / "block").touch()
    first = FirstEngine(database, "killed-in-a-function-call")
    wait_for(lambda: "called" in engine_process.journaled(), 30, "the function to be called")
    first.kill()
    (journals / "block").unlink()
    result, history = finish_on_a_new_engine(database, seconds=30)
    # The other branch's wait replays the parent: the call is not made again,
    # and its invoke fails once its deadline has passed.
    assert engine_process.journaled().count("called") == 1
    assert result == {"statuses": ["FAILED", "SUCCEEDED"]}
    [failed] = [e for e in history if e["EventType"] == "ChainedInvokeFailed"]
    error = failed["ChainedInvokeFailedDetails"]["Error"]["Payload"]
    assert error["ErrorType"] == "Sandbox.Timedout"
    assert "is not called again" in error["ErrorMessage"]


class FlakyStore(MemoryStore):
    """Fails the calls named in ``failures`` as a busy SQLite database would, once each."""

    def __init__(self, *failures: str) -> None:
        super().__init__()
        self.failures = list(failures)

    def _fail_once(self, method: str) -> None:
        if method in self.failures:
            self.failures.remove(method)
            raise sqlite3.OperationalError("database is locked")

    def due_timers(
        self,
        now: datetime.datetime,
        limit: int,
        function_names: Any = None,
    ) -> Sequence[DueTimer]:
        self._fail_once("due_timers")
        return super().due_timers(now, limit, function_names)

    def create_execution(self, new: Any, now: datetime.datetime) -> Any:
        if new.parent_execution_id is not None:
            self._fail_once("create_child")
        return super().create_execution(new, now)


@durable_execution
def waits_twice(event: Any, context: DurableContext) -> str:
    context.wait(Duration.from_seconds(5), name="first")
    context.wait(Duration.from_seconds(5), name="second")
    return "waited"


def test_the_timer_loop_survives_a_store_error(caplog: pytest.LogCaptureFixture) -> None:
    store = FlakyStore("due_timers")
    with DurableFunctionTestRunner(waits_twice, store=store) as runner:
        result = runner.run(input="{}")
    assert result.result == '"waited"'
    assert store.failures == []
    assert "The timer loop failed" in caplog.text


@durable_execution
def child(event: Any, context: DurableContext) -> str:
    return "child done"


@durable_execution
def parent(event: Any, context: DurableContext) -> str:
    return str(context.invoke("child", {}, name="call"))


def test_a_target_that_failed_to_start_is_started_again() -> None:
    store = FlakyStore("create_child")
    with DurableFunctionTestRunner(parent, store=store) as runner:
        runner.register_durable_function("child", child)
        result = runner.run(input="{}")
    assert result.result == '"child done"'
    assert store.failures == []


@durable_execution
def pause_then_answer(event: Any, context: DurableContext) -> str:
    context.wait(Duration.from_seconds(1), name="pause")
    return "answered"


def test_a_restarted_engine_leaves_overdue_timers_until_their_function_is_registered(
    database: Path,
) -> None:
    with LocalEngine(SqliteStore(str(database))) as first:
        first.register_durable_function("pause", pause_then_answer)
        ids = [first.start_execution("pause", "{}") for _ in range(20)]
        first.wait_until_idle()
    time.sleep(1.1)  # every wait is overdue when the next engine opens the file
    with LocalEngine(SqliteStore(str(database))) as second:
        time.sleep(0.05)  # the caller's set-up, before it registers its functions
        second.register_durable_function("pause", pause_then_answer)
        records = [second.wait_for_completion(i, timeout=20) for i in ids]
    assert {record.result for record in records} == {'"answered"'}


@durable_execution
def unrelated(event: Any, context: DurableContext) -> None:
    return None


def test_two_engines_on_one_file_each_wake_only_their_own_executions(database: Path) -> None:
    with (
        LocalEngine(SqliteStore(str(database))) as mine,
        LocalEngine(SqliteStore(str(database))) as other,
    ):
        other.register_durable_function("unrelated", unrelated)
        mine.register_durable_function("pause", pause_then_answer)
        ids = [mine.start_execution("pause", "{}") for _ in range(25)]
        records = [mine.wait_for_completion(i, timeout=30) for i in ids]
    assert {record.result for record in records} == {'"answered"'}


slow_step_may_end = threading.Event()


@durable_execution
def quick_then_slow(event: Any, context: DurableContext) -> str:
    context.step(lambda _: "quick", name="quick")

    def slow(_: object) -> str:
        slow_step_may_end.wait(20)
        return "slow"

    return context.step(slow, name="slow")


def test_a_slow_step_shows_its_start_while_it_runs(database: Path) -> None:
    slow_step_may_end.clear()
    with LocalEngine(SqliteStore(str(database))) as engine:
        engine.register_durable_function("quick-then-slow", quick_then_slow)
        execution_id = engine.start_execution("quick-then-slow", "{}")
        reader = SqliteStore(str(database))
        try:

            def slow_started() -> bool:
                history = reader.get_history(execution_id)
                return any(
                    e["EventType"] == "StepStarted" and e.get("Name") == "slow" for e in history
                )

            wait_for(slow_started, 2, "the slow step's StepStarted in the store")
        finally:
            reader.close()
            slow_step_may_end.set()
        assert engine.wait_for_completion(execution_id, 20).result == '"slow"'


step_runs: list[str] = []
exits_left: list[BaseException] = []


@durable_execution
def step_then_exit(event: Any, context: DurableContext) -> str:
    def once(_: object) -> str:
        step_runs.append("ran")
        return "kept"

    kept = context.step(once, name="once")
    if exits_left:
        raise exits_left.pop()
    return kept


@pytest.mark.parametrize("ending", [SystemExit(1), KeyboardInterrupt()])
def test_an_invocation_ended_by_an_exit_keeps_what_it_queued_and_its_thread_ends(
    ending: BaseException,
) -> None:
    step_runs.clear()
    exits_left[:] = [ending]
    with DurableFunctionTestRunner(step_then_exit) as runner:
        result = runner.run(input="{}")
    assert result.result == '"kept"'
    assert step_runs == ["ran"]  # replayed from its record after the exit, not run again
    wait_for(
        lambda: not any(t.name == "durable-checkpoints" for t in threading.enumerate()),
        5,
        "the checkpoint writer thread to end",
    )
