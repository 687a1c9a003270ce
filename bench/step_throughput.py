"""Steps per second: the local engine (SQLite file store) against the AWS testing runner.

Runs workflows of 1,000 and 10,000 steps, with no waits and with 10 waits
spread evenly (each wait ends an invocation, so later invocations replay the
history so far). Prints steps per second for both engines, their ratio, and
the cost per step at both sizes: a flat per-step cost means replay grows
linearly with history length.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_durable_execution_sdk_python as aws_sdk
import aws_durable_execution_sdk_python.config as aws_config
import aws_durable_execution_sdk_python_testing as aws_testing
from paired import measure, timed_run

import durable_lambda
from durable_lambda.config import Duration
from durable_lambda.store import SqliteStore
from durable_lambda.testing import DurableFunctionTestRunner

SIZES = (1_000, 10_000)
WAIT_COUNTS = (0, 10)


def workflow(durable_execution: Callable[..., Any], duration: Any, steps: int, waits: int) -> Any:
    """The same handler for both SDKs: ``steps`` steps with ``waits`` one-second waits."""
    wait_every = steps // waits if waits else 0

    @durable_execution
    def handler(event: Any, context: Any) -> int:
        total = 0
        for i in range(steps):
            total += context.step(lambda _, i=i: i)
            if wait_every and (i + 1) % wait_every == 0:
                context.wait(duration.from_seconds(1))
        return total

    return handler


def run_ours(steps: int, waits: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteStore(str(Path(folder) / "bench.sqlite3"))
        handler = workflow(durable_lambda.durable_execution, Duration, steps, waits)
        with DurableFunctionTestRunner(handler, store=store) as runner:
            return timed_run(runner, str(sum(range(steps))), input="{}", execution_timeout=600)


def run_anchor(steps: int, waits: int) -> float:
    handler = workflow(aws_sdk.durable_execution, aws_config.Duration, steps, waits)
    with aws_testing.DurableFunctionTestRunner(handler, execution_timeout=600) as runner:
        return timed_run(runner, str(sum(range(steps))), input="{}", execution_timeout=600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians count")
    arguments = parser.parse_args()
    logging.disable(logging.CRITICAL)
    print(
        f"{'workflow':<24}{'ours steps/s':>14}{'anchor steps/s':>16}{'ratio':>8}"
        f"{'ours us/step':>14}{'anchor us/step':>16}"
    )
    for waits in WAIT_COUNTS:
        for steps in arguments.sizes:
            anchor, timings = measure(
                lambda steps=steps, waits=waits: run_anchor(steps, waits),
                {"ours": lambda steps=steps, waits=waits: run_ours(steps, waits)},
                arguments.rounds,
            )
            ours = timings["ours"]
            label = f"{steps} steps, {waits} waits"
            print(
                f"{label:<24}{steps / ours.seconds:>14,.0f}{steps / anchor:>16,.0f}"
                f"{ours.ratio:>7.1f}x{ours.seconds / steps * 1e6:>14,.1f}"
                f"{anchor / steps * 1e6:>16,.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
