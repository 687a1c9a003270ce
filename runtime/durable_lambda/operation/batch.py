"""What map and parallel share: one recorded context around a concurrent executor."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from durable_lambda.concurrency.models import BatchResult, envelope_summary_generator
from durable_lambda.config import ChildConfig, MapConfig, ParallelConfig
from durable_lambda.lambda_service import OperationStatus
from durable_lambda.operation.child import run_child

if TYPE_CHECKING:
    from durable_lambda.concurrency.executor import ConcurrentExecutor
    from durable_lambda.context import DurableContext
    from durable_lambda.identifier import OperationIdentifier
    from durable_lambda.state import ExecutionState

R = TypeVar("R")


def run_batch(
    build_executor: Callable[[], ConcurrentExecutor[Any, R]],
    result_type: str,
    *,
    config: MapConfig[Any] | ParallelConfig,
    state: ExecutionState,
    batch_context: DurableContext,
    identifier: OperationIdentifier,
) -> BatchResult[R]:
    """Run the batch recorded as ``identifier`` as a child context of its own.

    A recorded result is returned as is. A result too large to record was
    recorded as a summary carrying the completion decision, and is rebuilt
    from it and the branches' records. Otherwise the executor runs the
    branches; an error while building it (an ``item_namer`` raising) fails
    the operation.
    """

    def run() -> BatchResult[R]:
        executor = build_executor()
        recorded = state.get(identifier.operation_id)
        if recorded is not None and recorded.status is OperationStatus.SUCCEEDED:
            return executor.replay(state, batch_context, recorded)
        return executor.execute(state, batch_context)

    child_config: ChildConfig[BatchResult[R]] = ChildConfig(
        serdes=config.serdes,
        summary_generator=envelope_summary_generator(result_type, config.summary_generator),
    )
    return run_child(run, state, identifier, child_config)
