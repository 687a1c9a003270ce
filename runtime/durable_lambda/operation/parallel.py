"""The parallel operation: run several functions concurrently, as one operation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from durable_lambda.concurrency.executor import ConcurrentExecutor
from durable_lambda.concurrency.models import BatchResult, Executable
from durable_lambda.config import ParallelBranch, ParallelConfig
from durable_lambda.lambda_service import OperationSubType
from durable_lambda.operation.batch import run_batch

if TYPE_CHECKING:
    from durable_lambda.context import DurableContext
    from durable_lambda.identifier import OperationIdentifier
    from durable_lambda.state import ExecutionState

R = TypeVar("R")

PARALLEL_BRANCH_NAME_PREFIX = "parallel-branch-"

BranchFunction = Callable[["DurableContext"], R] | ParallelBranch[R]


class ParallelExecutor(ConcurrentExecutor[Callable[..., R], R]):
    """The executor of one parallel: each function is a ParallelBranch branch."""

    @classmethod
    def from_callables(
        cls,
        callables: Sequence[BranchFunction[R]],
        config: ParallelConfig,
        scope_id: str,
    ) -> ParallelExecutor[R]:
        """One branch per callable; a ParallelBranch's name names its branch."""
        executables: list[Executable[Callable[..., R]]] = [
            Executable(
                index=i,
                func=func,
                name=func.name if isinstance(func, ParallelBranch) else None,
            )
            for i, func in enumerate(callables)
        ]
        return cls.with_config(
            executables,
            config,
            scope_id=scope_id,
            sub_type_iteration=OperationSubType.PARALLEL_BRANCH.value,
            name_prefix=PARALLEL_BRANCH_NAME_PREFIX,
        )


def parallel_handler(
    callables: Sequence[BranchFunction[R]],
    config: ParallelConfig | None,
    *,
    state: ExecutionState,
    parallel_context: DurableContext,
    identifier: OperationIdentifier,
) -> BatchResult[R]:
    """Run (or replay) the parallel recorded as ``identifier`` and return its BatchResult."""
    parallel_config = config or ParallelConfig()

    def build() -> ParallelExecutor[R]:
        return ParallelExecutor.from_callables(callables, parallel_config, identifier.operation_id)

    return run_batch(
        build,
        "ParallelResult",
        config=parallel_config,
        state=state,
        batch_context=parallel_context,
        identifier=identifier,
    )
