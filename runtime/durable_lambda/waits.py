"""Wait strategies for ``wait_for_condition``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from durable_lambda.config import Duration, JitterStrategy
from durable_lambda.exceptions import WaitForConditionError

if TYPE_CHECKING:
    from durable_lambda.serdes import SerDes

T = TypeVar("T")
Numeric = int | float


@dataclass
class WaitStrategyConfig(Generic[T]):
    """Polling with exponential backoff until ``should_continue_polling`` is false."""

    should_continue_polling: Callable[[T], bool]
    """Receives the state returned by the last check."""
    max_attempts: int = 60
    """Checks in all; exhausting them fails with WaitForConditionError."""
    initial_delay: Duration = field(default_factory=lambda: Duration.from_seconds(5))
    max_delay: Duration = field(default_factory=lambda: Duration.from_minutes(5))
    backoff_rate: Numeric = 1.5
    jitter_strategy: JitterStrategy = field(default=JitterStrategy.FULL)

    @property
    def initial_delay_seconds(self) -> int:
        return self.initial_delay.to_seconds()

    @property
    def max_delay_seconds(self) -> int:
        return self.max_delay.to_seconds()


@dataclass(frozen=True)
class WaitForConditionDecision:
    """Whether to poll again, and after how long."""

    should_continue: bool
    delay: Duration

    @property
    def delay_seconds(self) -> int:
        return self.delay.to_seconds()

    @classmethod
    def continue_waiting(cls, delay: Duration) -> WaitForConditionDecision:
        """Check again after ``delay``."""
        return cls(should_continue=True, delay=delay)

    @classmethod
    def stop_polling(cls) -> WaitForConditionDecision:
        """Stop: ``wait_for_condition`` returns the last state."""
        return cls(should_continue=False, delay=Duration())


def create_wait_strategy(
    config: WaitStrategyConfig[T],
) -> Callable[[T, int], WaitForConditionDecision]:
    """A ``(state, attempts_made) -> WaitForConditionDecision`` strategy."""

    def wait_strategy(result: T, attempts_made: int) -> WaitForConditionDecision:
        if not config.should_continue_polling(result):
            return WaitForConditionDecision.stop_polling()
        if attempts_made >= config.max_attempts:
            msg = (
                f"wait_for_condition exhausted {config.max_attempts} attempts "
                "before the condition was met"
            )
            raise WaitForConditionError(msg)
        base_delay = min(
            config.initial_delay_seconds * (config.backoff_rate ** (attempts_made - 1)),
            config.max_delay_seconds,
        )
        delay = config.jitter_strategy.finalize_delay(base_delay)
        return WaitForConditionDecision.continue_waiting(Duration(seconds=delay))

    return wait_strategy


@dataclass(frozen=True)
class WaitForConditionConfig(Generic[T]):
    """Configuration of ``wait_for_condition``."""

    wait_strategy: Callable[[T, int], WaitForConditionDecision]
    """Called after each check with (state, attempts_made)."""
    initial_state: T
    """State passed to the first check (round-tripped through serdes first)."""
    serdes: SerDes[T] | None = None
    """Serdes of the state; None: the extended JSON envelope."""
