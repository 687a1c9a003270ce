"""Durable state: the store contract and its implementations.

Implementations load on first use (``MemoryStore``, ``SqliteStore``), so a
function deployed on another store never imports sqlite3.
"""

from typing import TYPE_CHECKING, Any

from durable_lambda.store.contract import (
    CallbackChange,
    CallbackClosedError,
    CallbackNotFoundError,
    CheckpointBatch,
    DueTimer,
    ExecutionNotFoundError,
    ExecutionRecord,
    ExecutionStatus,
    Failed,
    InvocationFailed,
    InvocationOutcome,
    Lease,
    LeaseLostError,
    NewExecution,
    Store,
    StoreError,
    Succeeded,
    Suspended,
)

if TYPE_CHECKING:
    from durable_lambda.store.memory import MemoryStore
    from durable_lambda.store.sqlite import SqliteStore

__all__ = [
    "CallbackChange",
    "CallbackClosedError",
    "CallbackNotFoundError",
    "CheckpointBatch",
    "DueTimer",
    "ExecutionNotFoundError",
    "ExecutionRecord",
    "ExecutionStatus",
    "Failed",
    "InvocationFailed",
    "InvocationOutcome",
    "Lease",
    "LeaseLostError",
    "MemoryStore",
    "NewExecution",
    "SqliteStore",
    "Store",
    "StoreError",
    "Succeeded",
    "Suspended",
]


def __getattr__(name: str) -> Any:
    if name == "SqliteStore":
        from durable_lambda.store.sqlite import SqliteStore  # noqa: PLC0415 - lazy by design

        return SqliteStore
    if name == "MemoryStore":
        from durable_lambda.store.memory import MemoryStore  # noqa: PLC0415 - lazy by design

        return MemoryStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
