"""What durable workflows cost on DynamoDB, in request units, against the lower bound.

Runs whole workflows on the DynamoDB store (moto, in this process) through the
test runner and bills every request as DynamoDB on-demand bills it
(``dynamodb_billing.py``). The lower bound of a step whose result is under
1 KB is one write of one item: 1 unit for an at-least-once step, 2 for an
at-most-once step (its START is written before the body runs), 1 for a map
item (its one step). Target: within 1.25x of the bound over whole workflows,
their start and end spread over their steps.

Prints, per workload: requests, write and read units per step, the ratio of
write units to the bound, and dollars per million steps on demand beside the
managed service's $8 per million operations and Step Functions Standard's
$25 per million state transitions.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from dynamodb_billing import Bill, Meter
from moto import mock_aws

from durable_lambda import DurableContext, durable_execution
from durable_lambda.config import Duration, MapConfig, StepConfig, StepSemantics
from durable_lambda.store.dynamodb import DynamoDBStore, create_table
from durable_lambda.testing import DurableFunctionTestRunner

REGION = "us-east-1"
TABLE = "durable-executions"
BUCKET = "durable-payloads"
MANAGED_PRICE = 8.0
"""Dollars per million operations of AWS Lambda's managed durable functions."""
STEP_FUNCTIONS_PRICE = 25.0
"""Dollars per million state transitions of Step Functions Standard workflows."""
TARGET = 1.25


@dataclass(frozen=True)
class Workload:
    """A workflow of ``steps`` steps and the write units each step is worth at least."""

    name: str
    handler: Callable[..., Any]
    steps: int
    bound: float


def at_least_once(steps: int) -> Callable[..., Any]:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> int:
        return sum(context.step(lambda _, i=i: i, name="work") for i in range(steps))

    return handler


def at_most_once(steps: int) -> Callable[..., Any]:
    config = StepConfig(step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY)

    @durable_execution
    def handler(event: Any, context: DurableContext) -> int:
        return sum(context.step(lambda _, i=i: i, name="work", config=config) for i in range(steps))

    return handler


def with_waits(steps: int, waits: int) -> Callable[..., Any]:
    every = steps // waits

    @durable_execution
    def handler(event: Any, context: DurableContext) -> int:
        total = 0
        for i in range(steps):
            total += context.step(lambda _, i=i: i, name="work")
            if (i + 1) % every == 0:
                context.wait(Duration.from_seconds(1), name="pause")
        return total

    return handler


def fan_out(items: int) -> Callable[..., Any]:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> int:
        result = context.map(
            list(range(items)),
            lambda item_context, item, index, _: item_context.step(lambda _: item, name="work"),
            name="items",
            config=MapConfig(max_concurrency=10),
        )
        return sum(result.get_results())

    return handler


def workloads(steps: int) -> list[Workload]:
    return [
        Workload(f"{steps:,} at-least-once steps", at_least_once(steps), steps, 1.0),
        Workload(f"{steps:,} at-most-once steps", at_most_once(steps), steps, 2.0),
        Workload(f"{steps:,} steps, 10 waits", with_waits(steps, 10), steps, 1.0),
        Workload(f"{steps:,}-item map, concurrency 10", fan_out(steps), steps, 1.0),
    ]


def bill_of(workload: Workload) -> Bill:
    """Run the workflow once on a new table; what its requests cost."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        s3 = boto3.client("s3", region_name=REGION)
        create_table(client, TABLE)
        s3.create_bucket(Bucket=BUCKET)
        meter = Meter(client, TABLE, REGION)
        store = DynamoDBStore(TABLE, client=client, payload_bucket=BUCKET, s3_client=s3)
        with DurableFunctionTestRunner(workload.handler, store=store) as runner:
            result = runner.run(input="{}", execution_timeout=3600)
        assert result.result == str(sum(range(workload.steps))), result.error
        return meter.bill


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    steps = parser.parse_args().steps
    print(
        f"{'workload':36} {'requests':>9} {'WRU/step':>9} {'bound':>6} {'ratio':>6} "
        f"{'RRU/step':>9} {'$/M steps':>10}"
    )
    for workload in workloads(steps):
        bill = bill_of(workload)
        per_step = bill.writes / workload.steps
        ratio = per_step / workload.bound
        dollars = bill.dollars / workload.steps * 1_000_000
        verdict = "met" if ratio <= TARGET else "NOT MET"
        print(
            f"{workload.name:36} {sum(bill.requests.values()):9,} {per_step:9.3f} "
            f"{workload.bound:6.1f} {ratio:6.3f} {bill.read_units / workload.steps:9.3f} "
            f"{dollars:10.2f}  {verdict}"
        )
    print(
        f"managed durable functions: ${MANAGED_PRICE:.2f} per million operations; "
        f"Step Functions Standard: ${STEP_FUNCTIONS_PRICE:.2f} per million state transitions"
    )


if __name__ == "__main__":
    main()
