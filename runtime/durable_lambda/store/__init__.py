"""Durable state: the store contract and its implementations."""

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
    Succeeded,
    Suspended,
)
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
    "NewExecution",
    "SqliteStore",
    "Store",
    "Succeeded",
    "Suspended",
]
