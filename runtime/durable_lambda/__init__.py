"""durable-lambda: durable functions for AWS Lambda on plain AWS parts.

The public API mirrors ``aws_durable_execution_sdk_python``: replacing that
import prefix with ``durable_lambda`` is the only change a handler needs.

What every handler uses is imported here; map and parallel results, batch
completion helpers and retry wrappers load on first access.
"""

from typing import TYPE_CHECKING

from durable_lambda.__about__ import __version__
from durable_lambda.context import (
    DurableContext,
    durable_parallel_branch,
    durable_step,
    durable_wait_for_callback,
    durable_with_child_context,
)
from durable_lambda.exceptions import (
    CallbackError,
    CallbackExternalError,
    CallbackSubmitterError,
    CallbackTimeoutError,
    ChildContextError,
    DurableExecutionsError,
    DurableOperationError,
    ExecutionError,
    InvocationError,
    InvokeError,
    RetryableSerDesError,
    SerDesError,
    StepError,
    ValidationError,
    WaitForConditionError,
)
from durable_lambda.execution import durable_execution
from durable_lambda.lazy import lazy_exports
from durable_lambda.types import StepContext

if TYPE_CHECKING:
    from durable_lambda.concurrency.models import BatchCompletionError, BatchResult
    from durable_lambda.config import (
        BatchItemStatus,
        CompletionDecision,
        CompletionItemStatus,
        CompletionOutcome,
        CompletionStatus,
        ParallelBranch,
        complete_batch,
        continue_batch,
    )
    from durable_lambda.retries import WithRetryConfig, with_retry

_LAZY = {
    "durable_lambda.concurrency.models": ("BatchCompletionError", "BatchResult"),
    "durable_lambda.config": (
        "BatchItemStatus",
        "CompletionDecision",
        "CompletionItemStatus",
        "CompletionOutcome",
        "CompletionStatus",
        "ParallelBranch",
        "complete_batch",
        "continue_batch",
    ),
    "durable_lambda.retries": ("WithRetryConfig", "with_retry"),
}
"""Exported names whose modules load on first access, by module."""

if not TYPE_CHECKING:  # type checkers take the names from the imports above
    __getattr__, __dir__ = lazy_exports(globals(), _LAZY)

__all__ = [
    "BatchCompletionError",
    "BatchItemStatus",
    "BatchResult",
    "CallbackError",
    "CallbackExternalError",
    "CallbackSubmitterError",
    "CallbackTimeoutError",
    "ChildContextError",
    "CompletionDecision",
    "CompletionItemStatus",
    "CompletionOutcome",
    "CompletionStatus",
    "DurableContext",
    "DurableExecutionsError",
    "DurableOperationError",
    "ExecutionError",
    "InvocationError",
    "InvokeError",
    "ParallelBranch",
    "RetryableSerDesError",
    "SerDesError",
    "StepContext",
    "StepError",
    "ValidationError",
    "WaitForConditionError",
    "WithRetryConfig",
    "__version__",
    "complete_batch",
    "continue_batch",
    "durable_execution",
    "durable_parallel_branch",
    "durable_step",
    "durable_wait_for_callback",
    "durable_with_child_context",
    "with_retry",
]
