"""AWS requests a durable function makes on its critical path: per step, per wait, per callback.

Runs small workflows through the end-to-end harness of the tests (the
runtime's own code on moto and a Lambda stand-in) and counts the requests
the durable function sends, by service and operation: what an invocation
waits for. Prints the counts for a step (in a run of steps), for a wait (the
suspension and the resume) and for a callback (its creation, its completion
through the callback API, and the resume).
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from aws_harness import CALLBACK_URL, AwsAccount

from durable_lambda import DurableContext, durable_execution
from durable_lambda.config import Duration

STEPS = 100


@durable_execution
def nothing(event: Any, context: DurableContext) -> str:
    return "done"


@durable_execution
def steps(event: Any, context: DurableContext) -> int:
    return sum(context.step(lambda _, i=i: i, name="work") for i in range(STEPS))


@durable_execution
def one_wait(event: Any, context: DurableContext) -> str:
    context.wait(Duration.from_seconds(5), name="pause")
    return "done"


@durable_execution
def one_callback(event: Any, context: DurableContext) -> str:
    return str(context.create_callback("answer").result())


def requests(account: AwsAccount, caller: str) -> Counter[str]:
    return Counter(call.action for call in account.calls if call.caller == caller)


def measure(scenario: Callable[[AwsAccount], None]) -> Counter[str]:
    monkeypatch = pytest.MonkeyPatch()
    with tempfile.TemporaryDirectory() as folder:
        account = AwsAccount(monkeypatch, Path(folder))
        try:
            # The function's log lines (one per invocation) are not the measure.
            with account.running(monkeypatch), contextlib.redirect_stdout(io.StringIO()):
                scenario(account)
                return requests(account, "bench")
        finally:
            monkeypatch.undo()


def run_nothing(account: AwsAccount) -> None:
    account.deploy("bench", nothing)
    account.invoke("bench", {})


def run_steps(account: AwsAccount) -> None:
    account.deploy("bench", steps)
    account.invoke("bench", {})


def run_wait(account: AwsAccount) -> None:
    account.deploy("bench", one_wait)
    execution_id = account.invoke("bench", {})["DurableExecutionArn"]
    account.run_to_end(execution_id)


def run_callback(account: AwsAccount) -> None:
    account.deploy("bench", one_callback)
    execution_id = account.invoke("bench", {})["DurableExecutionArn"]
    [started] = [
        e
        for e in account.engine.store.get_history(execution_id)
        if e["EventType"] == "CallbackStarted"
    ]
    url = f"{CALLBACK_URL}/callbacks/{account.callback_id(execution_id, started['Id'])}"
    account.post_callback(url, "succeed", b'"yes"')


def show(title: str, counts: Counter[str], per: int = 1) -> None:
    total = sum(counts.values()) / per
    detail = ", ".join(f"{action} {n / per:g}" for action, n in sorted(counts.items()))
    print(f"{title:44} {total:6.2f}  ({detail})")


def main() -> None:
    start_and_end = measure(run_nothing)
    show("an execution's start and end (no operation)", start_and_end)
    each_step = measure(run_steps)
    each_step.subtract(start_and_end)
    show("a step, in a run of steps", +each_step, STEPS)
    wait = measure(run_wait)
    wait.subtract(start_and_end)
    show("a wait: its suspension and its resume", +wait)
    callback = measure(run_callback)
    callback.subtract(start_and_end)
    show("a callback: created, completed, resumed", +callback)


if __name__ == "__main__":
    main()
