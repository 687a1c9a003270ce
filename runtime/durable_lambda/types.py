"""Types and protocols shared by the public API."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from durable_lambda.config import (
        CallbackConfig,
        ChildConfig,
        Duration,
        MapConfig,
        ParallelBranch,
        ParallelConfig,
        StepConfig,
    )

T = TypeVar("T")
U = TypeVar("U")
C_co = TypeVar("C_co", covariant=True)
C_contra = TypeVar("C_contra", contravariant=True)


class LoggerInterface(Protocol):
    """What a logger must offer to serve as ``context.logger``."""

    def debug(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None:
        """Log ``msg % args`` at DEBUG."""

    def info(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None:
        """Log ``msg % args`` at INFO."""

    def warning(
        self, msg: object, *args: object, extra: Mapping[str, object] | None = None
    ) -> None:
        """Log ``msg % args`` at WARNING."""

    def error(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None:
        """Log ``msg % args`` at ERROR."""

    def exception(
        self, msg: object, *args: object, extra: Mapping[str, object] | None = None
    ) -> None:
        """Log ``msg % args`` at ERROR with the current exception's traceback."""


@dataclass(frozen=True)
class OperationContext:
    """What a function running inside an operation receives."""

    logger: LoggerInterface


@dataclass(frozen=True)
class StepContext(OperationContext):
    """Passed to a step's function."""

    attempt: int
    """The attempt being run, 1 for the first."""


@dataclass(frozen=True)
class WaitForCallbackContext(OperationContext):
    """Passed to a wait_for_callback submitter."""


@dataclass(frozen=True)
class WaitForConditionCheckContext(OperationContext):
    """Passed to a wait_for_condition check."""

    attempt: int
    """The check being run, 1 for the first."""


class Callback(Protocol, Generic[C_co]):
    """A callback future."""

    callback_id: str

    @abstractmethod
    def result(self) -> C_co | None:
        """The callback's result; suspends the execution until it arrives."""


class BatchResult(Protocol, Generic[T]):
    """Result of a map or parallel."""

    @abstractmethod
    def get_results(self) -> list[T]:
        """Results of the items that succeeded."""


class DurableContext(Protocol):
    """The operations a durable handler can run."""

    @abstractmethod
    def step(
        self,
        func: Callable[[StepContext], T],
        name: str | None = None,
        config: StepConfig | None = None,
    ) -> T:
        """Run ``func`` as a step: its result is recorded and replayed."""

    @abstractmethod
    def run_in_child_context(
        self,
        func: Callable[[DurableContext], T],
        name: str | None = None,
        config: ChildConfig[T] | None = None,
    ) -> T:
        """Run ``func`` in a child context with operations of its own."""

    @abstractmethod
    def map(
        self,
        inputs: Sequence[U],
        func: Callable[[DurableContext, U, int, Sequence[U]], T],
        name: str | None = None,
        config: MapConfig[U] | None = None,
    ) -> BatchResult[T]:
        """Run ``func`` for each of ``inputs``, concurrently."""

    @abstractmethod
    def parallel(
        self,
        functions: Sequence[Callable[[DurableContext], T] | ParallelBranch[T]],
        name: str | None = None,
        config: ParallelConfig | None = None,
    ) -> BatchResult[T]:
        """Run each of ``functions``, concurrently."""

    @abstractmethod
    def wait(self, duration: Duration, name: str | None = None) -> None:
        """Suspend for ``duration``."""

    @abstractmethod
    def create_callback(
        self, name: str | None = None, config: CallbackConfig | None = None
    ) -> Callback[Any]:
        """A callback that an outside party completes by its id."""


class LambdaContext(Protocol):
    """The parts of the AWS Lambda context object the runtime reads."""

    aws_request_id: str
    function_name: str

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation times out."""


class SummaryGenerator(Protocol[C_contra]):
    """Builds the recorded summary of a result too large to record."""

    def __call__(self, result: C_contra) -> str: ...
