"""A mixed workload for an engine that is killed again and again.

``python -c "import kill_workload; kill_workload.main()" DB PORT`` (with this
folder on PYTHONPATH) opens an engine on the SQLite file DB with its callback
server on PORT, starts every execution of the workload (idempotently: each
has a fixed name) and runs until it is killed. Step bodies journal what they
run into ``DURABLE_LAMBDA_TEST_JOURNALS``; the submitter of each callback
writes its URL to ``callbacks/<execution name>`` there, for the test to post.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from durable_lambda import DurableContext, StepContext, durable_execution
from durable_lambda.config import (
    CallbackConfig,
    CompletionConfig,
    Duration,
    MapConfig,
    StepConfig,
    StepSemantics,
)
from durable_lambda.exceptions import InvokeError
from durable_lambda.local import LocalEngine
from durable_lambda.retries import JitterStrategy, RetryStrategyConfig, create_retry_strategy
from durable_lambda.store import SqliteStore

INVOCATION_TIMEOUT_SECONDS = 2
"""Short, so that a function call lost with its engine fails within seconds."""

RETRY = create_retry_strategy(
    RetryStrategyConfig(
        max_attempts=6, initial_delay=Duration.from_seconds(1), jitter_strategy=JitterStrategy.NONE
    )
)


def journal_dir() -> Path:
    return Path(os.environ["DURABLE_LAMBDA_TEST_JOURNALS"])


def _name(context: DurableContext) -> str:
    return context.execution_context.durable_execution_arn.split("/")[-2]


def journaled(body: Callable[[StepContext], Any], execution: str, step: str) -> Any:
    """``body`` wrapped to journal each run as ``<execution> <step> <attempt>``."""

    def run(step_context: StepContext) -> Any:
        with (journal_dir() / "journal").open("a") as file:
            file.write(f"{execution} {step} {step_context.attempt}\n")
        time.sleep(0.02)  # a window for the kill to land inside the body
        return body(step_context)

    return run


@durable_execution
def at_least_once(event: Any, context: DurableContext) -> list[str]:
    name = _name(context)
    return [
        context.step(journaled(lambda _, s=step: f"{s} done", name, step), name=step)
        for step in ("reserve", "pack", "label")
    ]


@durable_execution
def at_most_once(event: Any, context: DurableContext) -> list[str]:
    name = _name(context)
    config = StepConfig(retry_strategy=RETRY, step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY)
    return [
        context.step(journaled(lambda _, s=step: f"{s} done", name, step), name=step, config=config)
        for step in ("charge", "refund")
    ]


def _flaky(step_context: StepContext) -> str:
    if step_context.attempt < 3:
        msg = f"attempt {step_context.attempt} fails"
        raise RuntimeError(msg)
    return "third time lucky"


@durable_execution
def retries(event: Any, context: DurableContext) -> str:
    step = journaled(_flaky, _name(context), "flaky")
    return str(context.step(step, name="flaky", config=StepConfig(retry_strategy=RETRY)))


@durable_execution
def waits(event: Any, context: DurableContext) -> str:
    context.wait(Duration.from_seconds(1), name="first")
    middle = context.step(journaled(lambda _: "middle", _name(context), "middle"), name="middle")
    context.wait(Duration.from_seconds(1), name="second")
    return str(middle)


@durable_execution
def approval(event: Any, context: DurableContext) -> str:
    name = _name(context)

    def submit(callback_id: str, _: object) -> None:
        folder = journal_dir() / "callbacks"
        folder.mkdir(exist_ok=True)
        url = f"{context_endpoint()}/callbacks/{callback_id}"
        (folder / name).write_text(url)

    answer = context.wait_for_callback(
        submit, name="approval", config=CallbackConfig(timeout=Duration.from_seconds(60))
    )
    return f"answer: {answer}"


def context_endpoint() -> str:
    return f"http://127.0.0.1:{os.environ['KILL_WORKLOAD_PORT']}"


def _item(context: DurableContext, item: int, index: int, items: list[int]) -> int:
    if item in (2, 4):
        msg = f"item {item} fails"
        raise ValueError(msg)
    return item * 10


@durable_execution
def batch(event: Any, context: DurableContext) -> dict[str, Any]:
    result = context.map(
        list(range(6)),
        _item,
        name="items",
        config=MapConfig(
            max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=1)
        ),
    )
    return {
        "reason": result.completion_reason.value,
        "succeeded": [item.result for item in result.succeeded()],
        "failed": len(result.failed()),
    }


@durable_execution
def child(event: Any, context: DurableContext) -> str:
    step = journaled(lambda _: f"child of {event['order']}", _name(context), "child-step")
    return str(context.step(step, name="work"))


def plain(event: Any, context: Any) -> dict[str, Any]:
    with (journal_dir() / "journal").open("a") as file:
        file.write(f"{event['from']} plain called\n")
    return {"plain": event["order"]}


LOST_CALL = "the call was lost with its engine"


@durable_execution
def orchestrator(event: Any, context: DurableContext) -> dict[str, Any]:
    durable = context.invoke("child", {"order": 7}, name="durable")
    try:
        called = context.invoke("plain", {"order": 8, "from": _name(context)}, name="plain")
    except InvokeError as e:
        # At most once per recorded start: a call lost with its engine fails.
        if e.error_type != "Sandbox.Timedout":
            raise
        called = LOST_CALL
    return {"durable": durable, "plain": called}


WORKLOAD: dict[str, Any] = {
    "at-least-once": at_least_once,
    "at-most-once": at_most_once,
    "retries": retries,
    "waits": waits,
    "approval": approval,
    "batch": batch,
    "orchestrator": orchestrator,
}
EXECUTIONS = [(function, f"{function}-{n}") for function in WORKLOAD for n in (1, 2)]
"""(function, execution name) of every execution the workload starts."""


def main() -> None:
    database, port = sys.argv[1], int(sys.argv[2])
    os.environ["KILL_WORKLOAD_PORT"] = str(port)
    engine = LocalEngine(
        SqliteStore(database),
        invocation_timeout=INVOCATION_TIMEOUT_SECONDS,
        callback_port=port,
    )
    for name, handler in WORKLOAD.items():
        engine.register_durable_function(name, handler)
    engine.register_durable_function("child", child)
    engine.register_function("plain", plain)
    for function, name in EXECUTIONS:
        engine.start_execution(function, "{}", execution_name=name)
    time.sleep(600)
