"""Map items per second: the local engine against the AWS testing runner.

A 1,000-item map of one-step items with max_concurrency 10, the same handler
written once for each SDK's import prefix. Prints items per second for the
anchor and for our local engine in memory (the test runner's default store, as
the anchor's is), on SQLite in memory and on a SQLite file (what the engine uses
across processes), and the ratios, from rounds that alternate the engines
(``paired.py``).

    python3 -m venv .bench-venv && .bench-venv/bin/pip install -q -r bench/requirements.txt
    .bench-venv/bin/python bench/map_fanout.py
"""

from __future__ import annotations

import argparse
import functools
import importlib
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aws_durable_execution_sdk_python_testing import (
    DurableFunctionTestRunner as AnchorRunner,
)
from paired import measure, timed_run

from durable_lambda.store import MemoryStore, SqliteStore, Store
from durable_lambda.testing import DurableFunctionTestRunner

ITEMS = 1_000
CONCURRENCY = 10


def fanout(sdk: str, items: int, concurrency: int) -> Callable[..., Any]:
    """The benchmark's handler for the SDK whose import prefix is ``sdk``."""
    durable_execution = importlib.import_module(sdk).durable_execution
    map_config = importlib.import_module(f"{sdk}.config").MapConfig

    @durable_execution
    def handler(event: Any, context: Any) -> int:
        def item(ctx: Any, value: int, index: int, values: Any) -> int:
            return ctx.step(lambda _: value * 2)

        config = map_config(max_concurrency=concurrency)
        return sum(context.map(list(range(items)), item, "fan-out", config).get_results())

    return handler


def expected(items: int) -> str:
    return str(sum(range(items)) * 2)


STORES: dict[str, Callable[[Path], Store]] = {
    "local engine, in memory (default)": lambda folder: MemoryStore(),
    "local engine, SQLite in memory": lambda folder: SqliteStore(),
    "local engine, SQLite file": lambda folder: SqliteStore(str(folder / "bench.sqlite3")),
}


def run_ours(items: int, concurrency: int, store: Callable[[Path], Store]) -> float:
    handler = fanout("durable_lambda", items, concurrency)
    with (
        tempfile.TemporaryDirectory() as folder,
        DurableFunctionTestRunner(handler, store=store(Path(folder))) as runner,
    ):
        return timed_run(runner, expected(items), input="{}", execution_timeout=600)


def run_anchor(items: int, concurrency: int) -> float:
    handler = fanout("aws_durable_execution_sdk_python", items, concurrency)
    with AnchorRunner(handler) as runner:
        return timed_run(runner, expected(items), input="{}", execution_timeout=600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=ITEMS)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds; medians count")
    arguments = parser.parse_args()
    logging.disable(logging.CRITICAL)
    items, concurrency = arguments.items, arguments.concurrency
    for store in STORES.values():  # warm-up: imports, first threads
        run_ours(items // 10, concurrency, store)
    anchor, timings = measure(
        lambda: run_anchor(items, concurrency),
        {
            label: functools.partial(run_ours, items, concurrency, store)
            for label, store in STORES.items()
        },
        arguments.rounds,
    )
    print(f"{items:,} items, max_concurrency {concurrency}, medians of {arguments.rounds} rounds")
    print(f"{'engine':<34}{'items/s':>10}{'ratio':>8}")
    print(f"{'AWS testing runner (anchor)':<34}{items / anchor:>10,.0f}{1:>7.1f}x")
    for label, timing in timings.items():
        print(f"{label:<34}{items / timing.seconds:>10,.0f}{timing.ratio:>7.1f}x")


if __name__ == "__main__":
    main()
