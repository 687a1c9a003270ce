"""Map and parallel: their results, completion policy and branch states.

``BatchResult`` and its items are what a handler gets back;
``CompletionPolicy`` decides when a batch completes and why;
``CompletionRecord`` is the completion decision written into the summary of a
result too large to record, so that replay rebuilds exactly the live result;
``Executable``, ``Branch`` and ``BranchEvent`` are what the concurrent
executor schedules.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from durable_lambda.config import (
    BatchItemStatus,
    CompletionConfig,
    CompletionDecision,
    CompletionItemStatus,
    CompletionOutcome,
    CompletionStatus,
)
from durable_lambda.exceptions import (
    ChildContextError,
    DurableOperationError,
    InvalidStateError,
    register_operation_error,
)
from durable_lambda.lambda_service import ErrorObject

if TYPE_CHECKING:
    from durable_lambda.types import SummaryGenerator

logger = logging.getLogger(__name__)

R = TypeVar("R")
CallableType = TypeVar("CallableType")
ResultType = TypeVar("ResultType")

# region results


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
class CompletionPolicy:
    """When a batch of ``total`` branches completes, and why.

    Shared by the executor (scheduling) and ``BatchResult.from_items``. A
    ``should_complete`` predicate alone decides early completion when set.
    With no criterion at all, the first failure exceeds the tolerance (fail
    fast). Failure tolerances are exceeded strictly: a count of 2 tolerates
    two failures and stops at the third.
    """

    total: int
    min_successful: int | None = None
    tolerated_failure_count: int | None = None
    tolerated_failure_percentage: int | float | None = None
    should_complete: Callable[[CompletionStatus], CompletionDecision] | None = None

    @classmethod
    def from_config(cls, total: int, config: CompletionConfig | None) -> CompletionPolicy:
        """The policy of a batch of ``total`` branches."""
        if config is None:
            return cls(total=total)
        return cls(
            total=total,
            min_successful=config.min_successful,
            tolerated_failure_count=config.tolerated_failure_count,
            tolerated_failure_percentage=config.tolerated_failure_percentage,
            should_complete=config.should_complete,
        )

    @property
    def has_criteria(self) -> bool:
        """Whether any threshold is configured."""
        return (
            self.min_successful is not None
            or self.tolerated_failure_count is not None
            or self.tolerated_failure_percentage is not None
        )

    def is_tolerance_exceeded(self, failed: int) -> bool:
        """Whether ``failed`` failures exceed the tolerance (never with a predicate)."""
        if self.should_complete is not None:
            return False
        if not self.has_criteria:
            return failed > 0
        if self.tolerated_failure_count is not None and failed > self.tolerated_failure_count:
            return True
        if self.tolerated_failure_percentage is not None and self.total > 0:
            return failed / self.total * 100 > self.tolerated_failure_percentage
        return False

    def should_continue(self, failed: int) -> bool:
        """Whether more branches may start."""
        return not self.is_tolerance_exceeded(failed)

    def evaluate(
        self, succeeded: int, failed: int, items: tuple[CompletionItemStatus, ...] = ()
    ) -> CompletionDecision | None:
        """The predicate's decision for these counts; None without a predicate."""
        if self.should_complete is None:
            return None
        status = CompletionStatus(
            success_count=succeeded,
            failure_count=failed,
            completed_count=succeeded + failed,
            total_count=self.total,
            items=items,
        )
        return self.should_complete(status)

    def is_complete(
        self,
        succeeded: int,
        failed: int,
        items: tuple[CompletionItemStatus, ...] = (),
        decision: CompletionDecision | None = None,
    ) -> bool:
        """Whether the batch has met a completion criterion.

        ``decision`` is the predicate's decision from ``evaluate``; it is
        evaluated here when None and a predicate is configured.
        """
        if self.should_complete is not None:
            if decision is None:
                decision = self.evaluate(succeeded, failed, items)
            if decision is not None and decision.complete:
                return True
        if succeeded + failed >= self.total:
            return True
        return self.min_successful is not None and succeeded >= self.min_successful

    def reason(
        self,
        succeeded: int,
        failed: int,
        items: tuple[CompletionItemStatus, ...] = (),
        decision: CompletionDecision | None = None,
    ) -> CompletionReason:
        """Why a batch with these counts completed."""
        if self.is_tolerance_exceeded(failed):
            return CompletionReason.FAILURE_TOLERANCE_EXCEEDED
        if self.should_complete is not None:
            if decision is None:
                decision = self.evaluate(succeeded, failed, items)
            if decision is not None and decision.complete:
                if decision.outcome is CompletionOutcome.FAILED:
                    return CompletionReason.CUSTOM_COMPLETION_FAILED
                return CompletionReason.CUSTOM_COMPLETION_SUCCEEDED
        if succeeded + failed >= self.total:
            return CompletionReason.ALL_COMPLETED
        if self.min_successful is not None and succeeded >= self.min_successful:
            return CompletionReason.MIN_SUCCESSFUL_REACHED
        return CompletionReason.ALL_COMPLETED


@dataclass(frozen=True)
class BatchItem(Generic[R]):
    """One item (map) or branch (parallel) of a batch.

    ``status`` STARTED: the branch was still running or blocked when the
    batch completed. ``error`` may be None on a FAILED item recorded
    without one; ``throw_if_error`` still raises for it.
    """

    index: int
    """The item's position in the inputs (the branch's, for parallel), from 0."""
    status: BatchItemStatus
    result: R | None = None
    """What the item returned, when it succeeded."""
    error: ErrorObject | None = None
    """Why the item failed, when it failed."""

    def to_dict(self) -> dict[str, Any]:
        """The item as JSON-ready values."""
        return {
            "index": self.index,
            "status": self.status.value,
            "result": self.result,
            "error": self.error.to_dict() if self.error else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchItem[R]:
        """Rebuild from ``to_dict``."""
        return cls(
            index=data["index"],
            status=BatchItemStatus(data["status"]),
            result=data.get("result"),
            error=ErrorObject.from_dict(data["error"]) if data.get("error") else None,
        )


@dataclass(frozen=True)
class BatchResult(Generic[R]):
    """The started items of a map or parallel, in input order, and why it completed.

    Items never started (the batch completed first) are left out, so
    ``total_count`` counts started items only.
    """

    all: list[BatchItem[R]]
    completion_reason: CompletionReason

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], completion_config: CompletionConfig | None = None
    ) -> BatchResult[R]:
        """Rebuild from ``to_dict``; a missing reason is inferred from the items."""
        items: list[BatchItem[R]] = [BatchItem.from_dict(item) for item in data["all"]]
        reason = data.get("completionReason")
        if reason is None:
            result: BatchResult[R] = cls.from_items(items, completion_config)
            logger.warning(
                "BatchResult without completionReason: inferred %s from its items",
                result.completion_reason.value,
            )
            return result
        return cls(items, CompletionReason(reason))

    @classmethod
    def from_items(
        cls, items: list[BatchItem[R]], completion_config: CompletionConfig | None = None
    ) -> BatchResult[R]:
        """A result whose reason is inferred from ``items`` (exact when all are present)."""
        counts = Counter(item.status for item in items)
        policy = CompletionPolicy.from_config(len(items), completion_config)
        snapshot = tuple(CompletionItemStatus(index=i.index, status=i.status) for i in items)
        reason = policy.reason(
            counts[BatchItemStatus.SUCCEEDED], counts[BatchItemStatus.FAILED], snapshot
        )
        return cls(items, reason)

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready values."""
        return {
            "all": [item.to_dict() for item in self.all],
            "completionReason": self.completion_reason.value,
        }

    def succeeded(self) -> list[BatchItem[R]]:
        """Items that succeeded, in input order."""
        return [item for item in self.all if item.status is BatchItemStatus.SUCCEEDED]

    def failed(self) -> list[BatchItem[R]]:
        """Items that failed, in input order."""
        return [item for item in self.all if item.status is BatchItemStatus.FAILED]

    def started(self) -> list[BatchItem[R]]:
        """Items still running when the batch completed."""
        return [item for item in self.all if item.status is BatchItemStatus.STARTED]

    def get_succeeded(self) -> list[BatchItem[R]]:
        """Items that succeeded (the TypeScript SDK's ``getSucceeded``)."""
        return self.succeeded()

    def get_failed(self) -> list[BatchItem[R]]:
        """Items that failed (the TypeScript SDK's ``getFailed``)."""
        return self.failed()

    @property
    def status(self) -> BatchItemStatus:
        """FAILED when an item failed or a custom decision said so, else SUCCEEDED."""
        if self.completion_reason is CompletionReason.CUSTOM_COMPLETION_FAILED:
            return BatchItemStatus.FAILED
        if self.completion_reason is CompletionReason.CUSTOM_COMPLETION_SUCCEEDED:
            return BatchItemStatus.SUCCEEDED
        return BatchItemStatus.FAILED if self.has_failure else BatchItemStatus.SUCCEEDED

    @property
    def has_failure(self) -> bool:
        """Whether an item failed."""
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
        return [cast(R, item.result) for item in self.succeeded()]

    def get_errors(self) -> list[ErrorObject | None]:
        """Errors of the items that failed, in input order."""
        return [item.error for item in self.failed()]

    @property
    def success_count(self) -> int:
        """How many items succeeded."""
        return len(self.succeeded())

    @property
    def failure_count(self) -> int:
        """How many items failed."""
        return len(self.failed())

    @property
    def started_count(self) -> int:
        """How many items were still running when the batch completed."""
        return len(self.started())

    @property
    def total_count(self) -> int:
        """How many items started (items never started are left out)."""
        return len(self.all)


@dataclass(frozen=True)
class CompletionRecord:
    """The completion decision kept in the summary of a batch too large to record.

    Branches start in index order, so the started ones are exactly the
    indexes below ``started_total``; ``started_indexes`` are those still
    running or blocked (STARTED) when the batch completed.
    """

    completion_reason: CompletionReason
    started_total: int
    started_indexes: frozenset[int]

    @classmethod
    def from_summary_payload(cls, payload: str | None) -> CompletionRecord | None:
        """Parse a summary written by ``summary_envelope``; None when it has no record."""
        if not payload:
            return None
        try:
            data = json.loads(payload)
        except (json.JSONDecodeError, TypeError, UnicodeDecodeError):
            return None
        if not isinstance(data, dict):
            return None
        reason = data.get("completionReason")
        started_total = data.get("totalCount")
        if not isinstance(reason, str) or type(started_total) is not int or started_total < 0:
            return None
        try:
            completion_reason = CompletionReason(reason)
        except ValueError:
            return None
        started_raw = data.get("startedIndexes")
        completed_raw = data.get("completedIndexes")
        if isinstance(started_raw, list):
            started = cls._validated_indexes(started_raw, started_total)
        elif isinstance(completed_raw, list):
            completed = cls._validated_indexes(completed_raw, started_total)
            started = None if completed is None else frozenset(range(started_total)) - completed
        else:
            return None
        if started is None:
            return None
        return cls(completion_reason, started_total, started)

    @staticmethod
    def _validated_indexes(raw: list[Any], started_total: int) -> frozenset[int] | None:
        if not all(type(i) is int and 0 <= i < started_total for i in raw):
            return None
        return frozenset(raw)

    @staticmethod
    def summary_index_fields(items: list[BatchItem[Any]]) -> dict[str, list[int]]:
        """The smaller of the started and the completed index lists."""
        started = [item.index for item in items if item.status is BatchItemStatus.STARTED]
        completed = [item.index for item in items if item.status is not BatchItemStatus.STARTED]
        if len(started) <= len(completed):
            return {"startedIndexes": started}
        return {"completedIndexes": completed}

    @staticmethod
    def summary_envelope(result: BatchResult[Any], result_type: str, summary: str | None) -> str:
        """The recorded summary of a large batch result: plain JSON, whatever the serdes.

        Carries the completion record replay needs, counts for people
        reading the history, and the user's own summary under ``summary``.
        """
        fields: dict[str, Any] = {
            "type": result_type,
            "totalCount": result.total_count,
            "completionReason": result.completion_reason.value,
            **CompletionRecord.summary_index_fields(result.all),
            "startedCount": result.started_count,
            "successCount": result.success_count,
            "failureCount": result.failure_count,
            "status": result.status.value,
        }
        if summary is not None:
            fields["summary"] = summary if isinstance(summary, str) else str(summary)
        return json.dumps(fields)


def envelope_summary_generator(
    result_type: str, custom_generator: SummaryGenerator[Any] | None
) -> SummaryGenerator[BatchResult[Any]]:
    """The summary generator of a batch: the envelope, with the user's summary inside."""

    def generate(result: BatchResult[Any]) -> str:
        summary = custom_generator(result) if custom_generator is not None else None
        return CompletionRecord.summary_envelope(result, result_type, summary)

    return generate


# endregion
# region scheduling


@dataclass(frozen=True)
class Executable(Generic[CallableType]):
    """One branch to run: its index, its function and its name (None: the default)."""

    index: int
    func: CallableType
    name: str | None = None


class BranchStatus(Enum):
    """Where a branch is in one invocation."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    SUSPENDED = "suspended"
    SUSPENDED_WITH_TIMEOUT = "suspended_with_timeout"
    FAILED = "failed"


class Branch(Generic[CallableType, ResultType]):
    """The state of one branch, changed under its batch's lock."""

    def __init__(self, executable: Executable[CallableType]) -> None:
        self.executable = executable
        self.status = BranchStatus.PENDING
        self.result: ResultType | None = None
        self.error: Exception | None = None
        self.resume_at: float | None = None

    @property
    def index(self) -> int:
        return self.executable.index

    def start(self) -> None:
        """Run (admission); a blocked branch goes on in a later invocation, not here."""
        if self.status is not BranchStatus.PENDING:
            msg = f"Cannot start branch {self.index} from {self.status.value}"
            raise InvalidStateError(msg)
        self.status = BranchStatus.RUNNING

    def complete(self, result: ResultType | None) -> None:
        self.status = BranchStatus.COMPLETED
        self.result = result

    def fail(self, error: Exception) -> None:
        self.status = BranchStatus.FAILED
        self.error = error

    def suspend(self) -> None:
        """Blocked until something outside the invocation happens."""
        self.status = BranchStatus.SUSPENDED

    def suspend_until(self, resume_at: float) -> None:
        """Blocked until ``resume_at`` (Unix seconds)."""
        self.status = BranchStatus.SUSPENDED_WITH_TIMEOUT
        self.resume_at = resume_at


class BranchEventKind(Enum):
    """How one run of a branch ended."""

    COMPLETED = "completed"
    FAILED = "failed"
    SUSPENDED = "suspended"
    SUSPENDED_UNTIL = "suspended_until"
    ORPHANED = "orphaned"
    FATAL = "fatal"


@dataclass(frozen=True)
class BranchEvent(Generic[ResultType]):
    """How one run of a branch ended."""

    index: int
    kind: BranchEventKind
    result: ResultType | None = None
    error: Exception | None = None
    resume_at: float | None = None
    fatal_error: BaseException | None = None


# endregion
