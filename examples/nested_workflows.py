"""Parent-child workflows (Python twin of the seed's TypeScript pattern).

The orchestrator invokes the worker function once per batch, the invokes
running side by side as the named branches of a parallel; each worker is a
durable execution of its own that maps over its batch's items, one step per
item. The worker's name comes from ``CHILD_FUNCTION_NAME`` (default
``process-batch``), as the seed reads its child's ARN from the environment.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from durable_lambda import DurableContext, ParallelBranch, durable_execution

WORKER_NAME = "process-batch"


def process_item(item: Any) -> dict[str, Any]:
    return {"item": item, "processed": True}


# Parent orchestrator
@durable_execution
def orchestrator(event: dict, context: DurableContext) -> list:
    child_function = os.environ.get("CHILD_FUNCTION_NAME", WORKER_NAME)

    # Invoke child workflows in parallel
    results = context.parallel(
        [
            ParallelBranch(
                name="batch-1",
                func=lambda ctx: ctx.invoke(
                    child_function, {"batch": event["batches"][0]}, name="process-batch-1"
                ),
            ),
            ParallelBranch(
                name="batch-2",
                func=lambda ctx: ctx.invoke(
                    child_function, {"batch": event["batches"][1]}, name="process-batch-2"
                ),
            ),
        ],
        name="process-batches",
    )

    return results.get_results()


# Child worker
@durable_execution
def worker(event: dict, context: DurableContext) -> list:
    items = event["batch"]["items"]

    def process(ctx: DurableContext, item: Any, index: int, items: Sequence[Any]) -> Any:
        return ctx.step(lambda _: process_item(item))

    results = context.map(items, process, name="process-items")

    return results.get_results()
