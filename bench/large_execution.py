"""One execution of 100,000 steps, on SQLite and on DynamoDB (moto's server).

Runs a workflow of N steps and then a wait, so that the invocation after the
wait loads and replays all N, with the test runner, on a SQLite file and on a
DynamoDB table served by moto on 127.0.0.1 in a process of its own. Each run is
a fresh interpreter, so its peak resident memory is that run's alone (the
table's memory stays in moto's process). Prints, per store and size, the time
per step and its ratio to the same store's 1,000-step run (the anchor of the
same session: a flat cost per step reads 1.0), the same for the processor
time of the workflow's own process (on DynamoDB it leaves out moto's
server), and the peak memory per operation above the 1,000-step run's.

moto's server takes several milliseconds a request (its time, not the
store's), so 100,000 steps on DynamoDB take 15 to 50 minutes on a 2-vCPU
machine; ``--sizes`` and ``--stores`` choose less.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3

from durable_lambda import DurableContext, durable_execution
from durable_lambda.config import Duration
from durable_lambda.store import SqliteStore
from durable_lambda.store.dynamodb import DynamoDBStore, create_table
from durable_lambda.testing import DurableFunctionTestRunner

SIZES = (1_000, 10_000, 100_000)
STORES = ("sqlite", "dynamodb")
TABLE = "large-execution"
BUCKET = "large-execution-payloads"
REGION = "us-east-1"
BENCH = Path(__file__).resolve()


def run_workflow(store_kind: str, steps: int, endpoint: str | None) -> dict[str, float]:
    """In a fresh interpreter: run ``steps`` steps and a wait; seconds and peak memory."""

    @durable_execution
    def handler(event: Any, context: DurableContext) -> int:
        total = sum(context.step(lambda _, i=i: i, name="work") for i in range(steps))
        context.wait(Duration.from_seconds(1), name="pause")
        return total

    with tempfile.TemporaryDirectory() as folder:
        store = open_store(store_kind, Path(folder), endpoint)
        with DurableFunctionTestRunner(handler, store=store) as runner:
            started, cpu_started = time.perf_counter(), time.process_time()
            result = runner.run(input="{}", execution_timeout=3600)
            seconds = time.perf_counter() - started
            cpu_seconds = time.process_time() - cpu_started
    if result.result != str(sum(range(steps))):
        msg = f"{store_kind}, {steps} steps: {result.status} {result.error}"
        raise RuntimeError(msg)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_bytes": peak_kib * 1024}


def open_store(kind: str, folder: Path, endpoint: str | None) -> Any:
    if kind == "sqlite":
        return SqliteStore(str(folder / "large.sqlite3"))
    return DynamoDBStore(TABLE, payload_bucket=BUCKET, region_name=REGION, endpoint_url=endpoint)


def measured(store_kind: str, steps: int, endpoint: str | None) -> dict[str, float]:
    """``run_workflow`` in a child interpreter, on a new table for DynamoDB."""
    if endpoint is not None:
        new_table(endpoint)
    child = subprocess.run(
        [sys.executable, str(BENCH), "--child", store_kind, str(steps), endpoint or ""],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **credentials()},
    )
    if child.returncode != 0:
        raise SystemExit(child.stderr)
    figures: dict[str, float] = json.loads(child.stdout.splitlines()[-1])
    return figures


def credentials() -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }


def new_table(endpoint: str) -> None:
    """Empty moto's server and make the table and the bucket again."""
    reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(reset, timeout=30):
        pass
    options: dict[str, Any] = {"region_name": REGION, "endpoint_url": endpoint}
    create_table(boto3.client("dynamodb", **options), TABLE)
    boto3.client("s3", **options).create_bucket(Bucket=BUCKET)


def moto_server() -> tuple[subprocess.Popen[bytes], str]:
    """moto's server on 127.0.0.1, in its own process; and its endpoint."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                return server, endpoint
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--stores", nargs="+", choices=STORES, default=list(STORES))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        kind, steps, endpoint = arguments.child
        print(json.dumps(run_workflow(kind, int(steps), endpoint or None)))
        return
    os.environ.update(credentials())
    sizes = sorted(arguments.sizes)
    print(
        f"{'store':9} {'steps':>8} {'us/step':>9} {'vs first':>9} "
        f"{'cpu us/step':>12} {'vs first':>9} {'peak MiB':>9} {'B/op':>7}"
    )
    server, endpoint = moto_server() if "dynamodb" in arguments.stores else (None, None)
    try:
        for kind in arguments.stores:
            first: dict[str, float] | None = None
            for steps in sizes:
                figures = measured(kind, steps, endpoint if kind == "dynamodb" else None)
                per_step = figures["seconds"] / steps
                cpu_per_step = figures["cpu_seconds"] / steps
                first = first or {**figures, "steps": steps}
                ratio = per_step / (first["seconds"] / first["steps"])
                cpu_ratio = cpu_per_step / (first["cpu_seconds"] / first["steps"])
                extra = figures["peak_bytes"] - first["peak_bytes"]
                per_op = extra / (steps - first["steps"]) if steps > first["steps"] else 0.0
                print(
                    f"{kind:9} {steps:8,} {per_step * 1e6:9,.0f} {ratio:9.2f} "
                    f"{cpu_per_step * 1e6:12,.0f} {cpu_ratio:9.2f} "
                    f"{figures['peak_bytes'] / 2**20:9.1f} {per_op:7,.0f}",
                    flush=True,
                )
    finally:
        if server is not None:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
