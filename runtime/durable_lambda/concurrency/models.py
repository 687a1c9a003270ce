"""Results of map and parallel: ``BatchResult`` and its items."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from durable_lambda.config import BatchItemStatus
from durable_lambda.exceptions import (
    ChildContextError,
    DurableOperationError,
    register_operation_error,
)
from durable_lambda.lambda_service import ErrorObject

R = TypeVar("R")


class CompletionReason(Enum):
    """Why a map or parallel completed."""

    ALL_COMPLETED = "ALL_COMPLETED"
    MIN_SUCCESSFUL_REACHED = "MIN_SUCCESSFUL_REACHED"
    FAILURE_TOLERANCE_EXCEEDED = "FAILURE_TOLERANCE_EXCEEDED"
    CUSTOM_COMPLETION_SUCCEEDED = "CUSTOM_COMPLETION_SUCCEEDED"
    CUSTOM_COMPLETION_FAILED = "CUSTOM_COMPLETION_FAILED"


class BatchCompletionError(DurableOperationError):
    """``throw_if_error`` of a batch a custom decision completed as failed."""

    def __init__(
        self,
        completion_reason: CompletionReason = CompletionReason.CUSTOM_COMPLETION_FAILED,
        message: str | None = None,
        error_type: str | None = None,
        data: str | None = None,
        stack_trace: list[str] | None = None,
    ) -> None:
        super().__init__(
            message or f"Batch completed as failed by should_complete ({completion_reason.value})",
            error_type,
            data,
            stack_trace,
        )
        self.completion_reason = completion_reason


register_operation_error(BatchCompletionError)


@dataclass(frozen=True)
class BatchItem(Generic[R]):
    """One item (map) or branch (parallel) of a batch."""

    index: int
    status: BatchItemStatus
    result: R | None = None
    error: ErrorObject | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "status": self.status.value,
            "result": self.result,
            "error": self.error.to_dict() if self.error else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchItem[R]:
        return cls(
            index=data["index"],
            status=BatchItemStatus(data["status"]),
            result=data.get("result"),
            error=ErrorObject.from_dict(data["error"]) if data.get("error") else None,
        )


@dataclass(frozen=True)
class BatchResult(Generic[R]):
    """Every item of a map or parallel, in input order, and why it completed."""

    all: list[BatchItem[R]]
    completion_reason: CompletionReason

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchResult[R]:
        return cls(
            [BatchItem.from_dict(item) for item in data["all"]],
            CompletionReason(data["completionReason"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "all": [item.to_dict() for item in self.all],
            "completionReason": self.completion_reason.value,
        }

    def succeeded(self) -> list[BatchItem[R]]:
        return [item for item in self.all if item.status is BatchItemStatus.SUCCEEDED]

    def failed(self) -> list[BatchItem[R]]:
        return [item for item in self.all if item.status is BatchItemStatus.FAILED]

    def started(self) -> list[BatchItem[R]]:
        """Items still running when the batch completed."""
        return [item for item in self.all if item.status is BatchItemStatus.STARTED]

    @property
    def status(self) -> BatchItemStatus:
        if self.completion_reason is CompletionReason.CUSTOM_COMPLETION_FAILED:
            return BatchItemStatus.FAILED
        if self.completion_reason is CompletionReason.CUSTOM_COMPLETION_SUCCEEDED:
            return BatchItemStatus.SUCCEEDED
        return BatchItemStatus.FAILED if self.has_failure else BatchItemStatus.SUCCEEDED

    @property
    def has_failure(self) -> bool:
        return any(item.status is BatchItemStatus.FAILED for item in self.all)

    def throw_if_error(self) -> None:
        """Raise the first failed item's error (as ChildContextError), if any failed."""
        first_failed = next(iter(self.failed()), None)
        if first_failed is not None:
            if first_failed.error is None:
                msg = f"Batch item {first_failed.index} failed without a recorded error"
                raise ChildContextError(message=msg)
            first_failed.error.raise_as_operation_error(ChildContextError)
        if self.completion_reason is CompletionReason.CUSTOM_COMPLETION_FAILED:
            raise BatchCompletionError(self.completion_reason)

    def get_results(self) -> list[R]:
        """Results of the items that succeeded, in input order."""
        return [item.result for item in self.succeeded()]  # type: ignore[misc]

    def get_errors(self) -> list[ErrorObject | None]:
        """Errors of the items that failed, in input order."""
        return [item.error for item in self.failed()]

    @property
    def success_count(self) -> int:
        return len(self.succeeded())

    @property
    def failure_count(self) -> int:
        return len(self.failed())

    @property
    def started_count(self) -> int:
        return len(self.started())

    @property
    def total_count(self) -> int:
        return len(self.all)
