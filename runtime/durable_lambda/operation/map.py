"""The map operation: run a function for each item, concurrently, as one operation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from durable_lambda.concurrency.executor import ConcurrentExecutor
from durable_lambda.concurrency.models import BatchResult, Executable
from durable_lambda.config import MapConfig
from durable_lambda.lambda_service import OperationSubType
from durable_lambda.operation.batch import run_batch

if TYPE_CHECKING:
    from durable_lambda.context import DurableContext
    from durable_lambda.identifier import OperationIdentifier
    from durable_lambda.state import ExecutionState

T = TypeVar("T")
R = TypeVar("R")

MAP_ITEM_NAME_PREFIX = "map-item-"

MapFunction = Callable[["DurableContext", T, int, Sequence[T]], R]


class MapExecutor(ConcurrentExecutor[Callable[["DurableContext"], R], R]):
    """The executor of one map: each item is a MapIteration branch."""

    @classmethod
    def from_items(
        cls,
        items: Sequence[T],
        func: MapFunction[T, R],
        config: MapConfig[T],
        scope_id: str,
    ) -> MapExecutor[R]:
        """Bind ``func(ctx, item, index, items)`` to each item; names from ``item_namer``."""

        def bind(index: int, item: T) -> Callable[[DurableContext], R]:
            return lambda child_context: func(child_context, item, index, items)

        executables = [
            Executable(
                index=i,
                func=bind(i, item),
                name=config.item_namer(item, i) if config.item_namer else None,
            )
            for i, item in enumerate(items)
        ]
        return cls.with_config(
            executables,
            config,
            scope_id=scope_id,
            sub_type_iteration=OperationSubType.MAP_ITERATION.value,
            name_prefix=MAP_ITEM_NAME_PREFIX,
        )


def map_handler(
    items: Sequence[T],
    func: MapFunction[T, R],
    config: MapConfig[T] | None,
    *,
    state: ExecutionState,
    map_context: DurableContext,
    identifier: OperationIdentifier,
) -> BatchResult[R]:
    """Run (or replay) the map recorded as ``identifier`` and return its BatchResult."""
    map_config: MapConfig[Any] = config or MapConfig()

    def build() -> MapExecutor[R]:
        return MapExecutor.from_items(items, func, map_config, identifier.operation_id)

    return run_batch(
        build,
        "MapResult",
        config=map_config,
        state=state,
        batch_context=map_context,
        identifier=identifier,
    )
