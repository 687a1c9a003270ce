"""Operation configurations: frozen dataclasses validated on construction."""

from __future__ import annotations

import math
import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from durable_lambda.arguments import require_instance
from durable_lambda.exceptions import ValidationError

if TYPE_CHECKING:
    from durable_lambda.retries import RetryDecision
    from durable_lambda.serdes import SerDes
    from durable_lambda.types import SummaryGenerator

P = TypeVar("P")
R = TypeVar("R")
T = TypeVar("T")

Numeric = int | float


@dataclass(frozen=True)
class Duration:
    """A non-negative span of time in whole seconds."""

    seconds: int = 0
    """Total seconds."""

    def __post_init__(self) -> None:
        if not isinstance(self.seconds, int) or isinstance(self.seconds, bool):
            msg = f"Duration seconds must be an int, got: {self.seconds!r}"
            raise ValidationError(msg)
        if self.seconds < 0:
            msg = f"Duration seconds must not be negative, got: {self.seconds}"
            raise ValidationError(msg)

    def to_seconds(self) -> int:
        """Total seconds."""
        return self.seconds

    @classmethod
    def from_seconds(cls, value: float) -> Duration:
        """``value`` seconds, fractions of a second dropped."""
        return cls(seconds=int(value))

    @classmethod
    def from_minutes(cls, value: float) -> Duration:
        """``value`` minutes, fractions of a second dropped."""
        return cls(seconds=int(value * 60))

    @classmethod
    def from_hours(cls, value: float) -> Duration:
        """``value`` hours, fractions of a second dropped."""
        return cls(seconds=int(value * 3600))

    @classmethod
    def from_days(cls, value: float) -> Duration:
        """``value`` days, fractions of a second dropped."""
        return cls(seconds=int(value * 86400))


class StepSemantics(Enum):
    """How many times one attempt of a step may run its function."""

    AT_MOST_ONCE_PER_RETRY = "AT_MOST_ONCE_PER_RETRY"
    """START is durable before the function runs: an attempt interrupted mid-run is
    not run again; it fails with ``StepInterruptedError`` and the retry strategy decides."""
    AT_LEAST_ONCE_PER_RETRY = "AT_LEAST_ONCE_PER_RETRY"
    """The default: START is not waited for, and an attempt interrupted mid-run runs again."""


class NestingType(Enum):
    """How map and parallel record their branches."""

    NESTED = "NESTED"
    """Each branch or iteration is a recorded child context."""
    FLAT = "FLAT"
    """Branches are virtual contexts: fewer records, less visible in history."""


class BatchItemStatus(Enum):
    """Status of one item of a map or parallel."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    STARTED = "STARTED"


class CompletionOutcome(Enum):
    """Outcome declared by a custom completion decision."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class CompletionDecision:
    """Returned by a ``should_complete`` predicate; see continue_batch/complete_batch."""

    complete: bool
    """Whether to complete the batch now."""
    outcome: CompletionOutcome | None = None
    """Required when complete: whether completing now is a success or a failure."""

    def __post_init__(self) -> None:
        if self.complete and self.outcome is None:
            msg = "outcome is required when complete is True"
            raise ValidationError(msg)
        if not self.complete and self.outcome is not None:
            msg = "outcome must be None when complete is False"
            raise ValidationError(msg)


def continue_batch() -> CompletionDecision:
    """Do not complete the batch yet."""
    return CompletionDecision(complete=False)


def complete_batch(
    outcome: CompletionOutcome = CompletionOutcome.SUCCEEDED,
) -> CompletionDecision:
    """Complete the batch now with the given outcome."""
    return CompletionDecision(complete=True, outcome=outcome)


@dataclass(frozen=True)
class CompletionItemStatus:
    """Snapshot of one branch for a ``should_complete`` predicate."""

    index: int
    name: str | None = None
    status: BatchItemStatus | None = None
    """None while the branch has not been scheduled."""


@dataclass(frozen=True)
class CompletionStatus:
    """Progress snapshot passed to a ``should_complete`` predicate."""

    success_count: int
    failure_count: int
    completed_count: int
    total_count: int
    items: tuple[CompletionItemStatus, ...] = ()


@dataclass(frozen=True)
class CompletionConfig:
    """When a map or parallel completes; it stops at the first criterion met."""

    min_successful: int | None = None
    """Complete once this many items have succeeded."""
    tolerated_failure_count: int | None = None
    """Complete (as failed) once more than this many items have failed."""
    tolerated_failure_percentage: int | float | None = None
    """Complete (as failed) once more than this percentage of items has failed."""
    should_complete: Callable[[CompletionStatus], CompletionDecision] | None = None
    """Custom, deterministic and monotonic predicate; excludes the fields above."""

    def __post_init__(self) -> None:
        if self.min_successful is not None and self.min_successful < 1:
            msg = f"min_successful must be at least 1, got: {self.min_successful}"
            raise ValidationError(msg)
        if self.tolerated_failure_count is not None and self.tolerated_failure_count < 0:
            msg = (
                f"tolerated_failure_count must be non-negative, got: {self.tolerated_failure_count}"
            )
            raise ValidationError(msg)
        if self.tolerated_failure_percentage is not None and not (
            0 <= self.tolerated_failure_percentage <= 100  # noqa: PLR2004
        ):
            msg = (
                "tolerated_failure_percentage must be between 0 and 100, got: "
                f"{self.tolerated_failure_percentage}"
            )
            raise ValidationError(msg)
        if self.should_complete is not None and not callable(self.should_complete):
            msg = "should_complete must be callable"
            raise ValidationError(msg)
        if self.should_complete is not None and (
            self.min_successful is not None
            or self.tolerated_failure_count is not None
            or self.tolerated_failure_percentage is not None
        ):
            msg = (
                "should_complete cannot be combined with min_successful, "
                "tolerated_failure_count, or tolerated_failure_percentage"
            )
            raise ValidationError(msg)

    def _validate_for_total(self, total: int) -> None:
        """Reject a config that cannot be met by ``total`` items."""
        if self.min_successful is not None and self.min_successful > total:
            msg = (
                "min_successful cannot be greater than total items: "
                f"{self.min_successful} > {total}"
            )
            raise ValidationError(msg)

    @staticmethod
    def first_successful() -> CompletionConfig:
        """Complete at the first success."""
        return CompletionConfig(min_successful=1)

    @staticmethod
    def all_completed() -> CompletionConfig:
        """Complete when every item has finished, whatever failed."""
        return CompletionConfig(tolerated_failure_percentage=100)

    @staticmethod
    def all_successful() -> CompletionConfig:
        """Complete when every item has succeeded, or at the first failure (parallel's default)."""
        return CompletionConfig(tolerated_failure_count=0, tolerated_failure_percentage=0)


def _validate_max_concurrency(max_concurrency: int | None) -> None:
    if max_concurrency is not None and max_concurrency < 1:
        msg = f"max_concurrency must be at least 1, got: {max_concurrency}"
        raise ValidationError(msg)


_TENANT_ID = re.compile(r"[a-zA-Z0-9._:/=+\-@ ]{1,256}")

_SUB_TYPE_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_")
_SUB_TYPE_MAX_LENGTH = 32


def _validate_sub_type(sub_type: str | None) -> None:
    if not sub_type:
        return
    if len(sub_type) > _SUB_TYPE_MAX_LENGTH or not set(sub_type) <= _SUB_TYPE_CHARACTERS:
        msg = (
            f"sub_type must be 1 to {_SUB_TYPE_MAX_LENGTH} characters from "
            f"A-Z, a-z, 0-9, hyphen, and underscore, got: {sub_type!r}"
        )
        raise ValidationError(msg)


@dataclass(frozen=True)
class StepConfig:
    """Configuration of a step."""

    retry_strategy: Callable[[Exception, int], RetryDecision] | None = None
    """Decides whether and when a failed attempt is retried; None: the default
    strategy (6 attempts, 5 s initial delay, 60 s cap, backoff x2, full jitter)."""
    step_semantics: StepSemantics = StepSemantics.AT_LEAST_ONCE_PER_RETRY
    """AT_MOST_ONCE_PER_RETRY records START before the body runs, so an
    interrupted attempt is not re-run but counted as a failed attempt."""
    serdes: SerDes[Any] | None = None
    """Serdes of the result; None: the extended JSON envelope."""
    sub_type: str | None = field(default=None, kw_only=True)
    """Subtype recorded for the step; None: "Step"."""

    def __post_init__(self) -> None:
        _validate_sub_type(self.sub_type)


@dataclass(frozen=True)
class ChildConfig(Generic[T]):
    """Configuration of a child context."""

    serdes: SerDes[Any] | None = None
    """Serdes of the result; None: the extended JSON envelope."""
    sub_type: str | None = None
    """Subtype recorded for the context; None: "RunInChildContext"."""
    summary_generator: SummaryGenerator[Any] | None = None
    """Builds the recorded payload of a result over 256 KiB, which is then
    rebuilt on replay by re-running the child (ReplayChildren)."""
    is_virtual: bool = False
    """Record nothing for the context itself, only for what runs inside it."""

    def __post_init__(self) -> None:
        _validate_sub_type(self.sub_type)


@dataclass(frozen=True)
class MapConfig(Generic[T]):
    """Configuration of a map."""

    max_concurrency: int | None = None
    """Most items running at once; None: no limit."""
    completion_config: CompletionConfig = field(default_factory=CompletionConfig)
    """When the map completes; the default fails fast on the first failed item."""
    serdes: SerDes[Any] | None = None
    """Serdes of the BatchResult (and of items when item_serdes is None)."""
    item_serdes: SerDes[Any] | None = None
    """Serdes of each item's result."""
    summary_generator: SummaryGenerator[Any] | None = None
    """Summary recorded for a BatchResult over 256 KiB."""
    nesting_type: NestingType = NestingType.NESTED
    """How iterations are recorded."""
    item_namer: Callable[[T, int], str] | None = None
    """Names each iteration from (item, index); None: "map-item-{index}"."""

    def __post_init__(self) -> None:
        _validate_max_concurrency(self.max_concurrency)
        require_instance("MapConfig completion_config", self.completion_config, CompletionConfig)


@dataclass(frozen=True)
class ParallelConfig:
    """Configuration of a parallel."""

    max_concurrency: int | None = None
    """Most branches running at once; None: no limit."""
    completion_config: CompletionConfig = field(default_factory=CompletionConfig.all_successful)
    """When the parallel completes; the default requires all branches to succeed."""
    serdes: SerDes[Any] | None = None
    """Serdes of the BatchResult (and of branches when item_serdes is None)."""
    item_serdes: SerDes[Any] | None = None
    """Serdes of each branch's result."""
    summary_generator: SummaryGenerator[Any] | None = None
    """Summary recorded for a BatchResult over 256 KiB."""
    nesting_type: NestingType = NestingType.NESTED
    """How branches are recorded."""

    def __post_init__(self) -> None:
        _validate_max_concurrency(self.max_concurrency)
        require_instance(
            "ParallelConfig completion_config", self.completion_config, CompletionConfig
        )


@dataclass(frozen=True)
class ParallelBranch(Generic[T]):
    """A branch of a parallel with an optional name for its history entries."""

    func: Callable[..., T]
    """Receives the branch's DurableContext."""
    name: str | None = None
    """Replaces the default "parallel-branch-{index}"."""

    def __call__(self, *args: Any, **kwargs: Any) -> T:
        return self.func(*args, **kwargs)


@dataclass(frozen=True)
class InvokeConfig(Generic[P, R]):
    """Configuration of a chained invoke."""

    serdes_payload: SerDes[P] | None = None
    """Serdes of the payload sent; None: plain JSON."""
    serdes_result: SerDes[R] | None = None
    """Serdes of the result received; None: plain JSON."""
    tenant_id: str | None = None
    """Tenant the target function runs for: 1 to 256 characters from
    A-Z, a-z, 0-9, space and ._:/=+-@"""

    def __post_init__(self) -> None:
        if self.tenant_id is not None and (
            not isinstance(self.tenant_id, str) or _TENANT_ID.fullmatch(self.tenant_id) is None
        ):
            msg = (
                "tenant_id must be 1 to 256 characters from A-Z, a-z, 0-9, space "
                f"and ._:/=+-@, got: {self.tenant_id!r}"
            )
            raise ValidationError(msg)


@dataclass(frozen=True)
class CallbackConfig:
    """Configuration of a callback."""

    timeout: Duration = field(default_factory=Duration)
    """How long to wait for the result; zero: no timeout."""
    heartbeat_timeout: Duration = field(default_factory=Duration)
    """Longest gap allowed between heartbeats; zero: no heartbeat timeout."""
    serdes: SerDes[Any] | None = None
    """Deserializes the result; None: the raw string is returned."""
    sub_type: str | None = field(default=None, kw_only=True)
    """Subtype recorded for the callback; None: "Callback"."""

    def __post_init__(self) -> None:
        _validate_sub_type(self.sub_type)

    @property
    def timeout_seconds(self) -> int:
        return self.timeout.to_seconds()

    @property
    def heartbeat_timeout_seconds(self) -> int:
        return self.heartbeat_timeout.to_seconds()


@dataclass(frozen=True)
class WaitForCallbackConfig(CallbackConfig):
    """Configuration of a wait_for_callback."""

    retry_strategy: Callable[[Exception, int], RetryDecision] | None = None
    """Retry strategy of the submitter step."""


class JitterStrategy(StrEnum):
    """Noise added to retry delays so that retries do not arrive together."""

    NONE = "NONE"
    FULL = "FULL"
    HALF = "HALF"

    def apply_jitter(self, delay: float) -> float:
        """The delay after jitter: unchanged, in [0, delay], or in [delay/2, delay]."""
        match self:
            case JitterStrategy.NONE:
                return delay
            case JitterStrategy.HALF:
                return delay / 2 + random.random() * (delay / 2)  # noqa: S311
            case _:
                return random.random() * delay  # noqa: S311

    def finalize_delay(self, base_delay: float) -> int:
        """Apply jitter, round up to whole seconds, at least 1."""
        return max(1, math.ceil(self.apply_jitter(base_delay)))
