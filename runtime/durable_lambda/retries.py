"""Retry strategies: ``(error, attempts_made) -> RetryDecision`` callables."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from durable_lambda.config import Duration, JitterStrategy

if TYPE_CHECKING:
    from durable_lambda.config import ChildConfig
    from durable_lambda.types import DurableContext

T = TypeVar("T")
Numeric = int | float
RetryStrategy = Callable[[Exception, int], "RetryDecision"]
"""``(error, attempts_made) -> RetryDecision``: what a step does after a failed attempt."""

_MATCH_ANY_MESSAGE = re.compile(r".*")


@dataclass
class RetryDecision:
    """Whether to retry, and after how long."""

    should_retry: bool
    delay: Duration

    @property
    def delay_seconds(self) -> int:
        return self.delay.to_seconds()

    @classmethod
    def retry(cls, delay: Duration) -> RetryDecision:
        """Retry after ``delay``."""
        return cls(should_retry=True, delay=delay)

    @classmethod
    def no_retry(cls) -> RetryDecision:
        """Do not retry: the step fails (``StepError``) with this attempt's error."""
        return cls(should_retry=False, delay=Duration())


@dataclass
class RetryStrategyConfig:
    """Exponential backoff: ``initial_delay * backoff_rate ** (attempt - 1)``."""

    max_attempts: int = 3
    """Attempts in all, the first included."""
    initial_delay: Duration = field(default_factory=lambda: Duration.from_seconds(5))
    max_delay: Duration = field(default_factory=lambda: Duration.from_minutes(5))
    backoff_rate: Numeric = 2.0
    jitter_strategy: JitterStrategy = field(default=JitterStrategy.FULL)
    retryable_errors: list[str | re.Pattern[str]] | None = None
    """Retry only errors whose message contains one of these (or matches a pattern)."""
    retryable_error_types: list[type[Exception]] | None = None
    """Retry only errors of these types. With neither filter, every error is retried."""

    @property
    def initial_delay_seconds(self) -> int:
        return self.initial_delay.to_seconds()

    @property
    def max_delay_seconds(self) -> int:
        return self.max_delay.to_seconds()


@dataclass
class LinearRetryStrategyConfig:
    """Linear backoff: ``initial_delay + increment * (attempt - 1)``."""

    max_attempts: int = 6
    initial_delay: Duration = field(default_factory=lambda: Duration.from_seconds(1))
    increment: Duration = field(default_factory=lambda: Duration.from_seconds(1))
    max_delay: Duration = field(default_factory=lambda: Duration.from_minutes(5))
    jitter_strategy: JitterStrategy = field(default=JitterStrategy.FULL)
    retryable_errors: list[str | re.Pattern[str]] | None = None
    retryable_error_types: list[type[Exception]] | None = None

    @property
    def initial_delay_seconds(self) -> int:
        return self.initial_delay.to_seconds()

    @property
    def increment_seconds(self) -> int:
        return self.increment.to_seconds()

    @property
    def max_delay_seconds(self) -> int:
        return self.max_delay.to_seconds()


def _error_filter(
    messages: list[str | re.Pattern[str]] | None,
    types: list[type[Exception]] | None,
) -> Callable[[Exception], bool]:
    if messages is None and types is None:
        messages = [_MATCH_ANY_MESSAGE]
    patterns = messages or []
    error_types = tuple(types or ())

    def is_retryable(error: Exception) -> bool:
        text = str(error)
        if isinstance(error, error_types):
            return True
        return any(p.search(text) if isinstance(p, re.Pattern) else p in text for p in patterns)

    return is_retryable


def _strategy(
    max_attempts: int,
    is_retryable: Callable[[Exception], bool],
    base_delay: Callable[[int], float],
    jitter: JitterStrategy,
) -> RetryStrategy:
    def retry_strategy(error: Exception, attempts_made: int) -> RetryDecision:
        if attempts_made >= max_attempts or not is_retryable(error):
            return RetryDecision.no_retry()
        delay = jitter.finalize_delay(base_delay(attempts_made))
        return RetryDecision.retry(Duration(seconds=delay))

    return retry_strategy


def create_retry_strategy(config: RetryStrategyConfig | None = None) -> RetryStrategy:
    """An exponential-backoff strategy; with no config: 3 attempts."""
    c = config or RetryStrategyConfig()
    return _strategy(
        c.max_attempts,
        _error_filter(c.retryable_errors, c.retryable_error_types),
        lambda attempt: min(
            c.initial_delay_seconds * (c.backoff_rate ** (attempt - 1)),
            c.max_delay_seconds,
        ),
        c.jitter_strategy,
    )


def create_linear_retry_strategy(
    config: LinearRetryStrategyConfig | None = None,
) -> RetryStrategy:
    """A linearly increasing delay between retries."""
    c = config or LinearRetryStrategyConfig()
    return _strategy(
        c.max_attempts,
        _error_filter(c.retryable_errors, c.retryable_error_types),
        lambda attempt: min(
            c.initial_delay_seconds + c.increment_seconds * (attempt - 1),
            c.max_delay_seconds,
        ),
        c.jitter_strategy,
    )


class RetryPresets:
    """Ready-made strategies."""

    @classmethod
    def none(cls) -> RetryStrategy:
        """No retries."""
        return create_retry_strategy(RetryStrategyConfig(max_attempts=1))

    @classmethod
    def default(cls) -> RetryStrategy:
        """Used when a step has no retry strategy: 6 attempts, 5 s to 60 s, x2, full jitter."""
        return create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=6,
                initial_delay=Duration.from_seconds(5),
                max_delay=Duration.from_minutes(1),
                backoff_rate=2,
                jitter_strategy=JitterStrategy.FULL,
            )
        )

    @classmethod
    def transient(cls) -> RetryStrategy:
        """Quick retries for transient errors."""
        return create_retry_strategy(
            RetryStrategyConfig(max_attempts=3, backoff_rate=2, jitter_strategy=JitterStrategy.HALF)
        )

    @classmethod
    def resource_availability(cls) -> RetryStrategy:
        """Longer retries while a resource becomes available."""
        return create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=5,
                initial_delay=Duration.from_seconds(5),
                max_delay=Duration.from_minutes(5),
                backoff_rate=2,
            )
        )

    @classmethod
    def critical(cls) -> RetryStrategy:
        """Many quick retries for critical operations."""
        return create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=10,
                initial_delay=Duration.from_seconds(1),
                max_delay=Duration.from_minutes(1),
                backoff_rate=1.5,
                jitter_strategy=JitterStrategy.NONE,
            )
        )

    @classmethod
    def linear(cls) -> RetryStrategy:
        """1 s, 2 s, 3 s, 4 s, 5 s."""
        return create_linear_retry_strategy(
            LinearRetryStrategyConfig(
                max_attempts=6,
                initial_delay=Duration.from_seconds(1),
                increment=Duration.from_seconds(1),
                jitter_strategy=JitterStrategy.NONE,
            )
        )

    @classmethod
    def fixed(cls, interval: Duration | None = None) -> RetryStrategy:
        """A constant delay (5 s by default), 5 attempts."""
        delay = interval if interval is not None else Duration.from_seconds(5)
        return create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=5,
                initial_delay=delay,
                max_delay=delay,
                backoff_rate=1,
                jitter_strategy=JitterStrategy.NONE,
            )
        )


@dataclass(frozen=True)
class WithRetryConfig(Generic[T]):
    """Configuration of ``with_retry``."""

    retry_strategy: RetryStrategy | None = None
    """None: ``create_retry_strategy()``."""
    wrap_with_run_in_child_context: bool = True
    """Run the retried block in a child context (failures become ChildContextError)."""
    child_context_config: ChildConfig[T] | None = None


def with_retry(
    context: DurableContext,
    func: Callable[[DurableContext, int], T],
    config: WithRetryConfig[T],
    name: str | None = None,
) -> T:
    """Re-run a block of durable operations with backoff until it succeeds.

    ``func(ctx, attempt)`` may contain any operations. Between attempts the
    block waits durably (waits named ``"{name}-backoff-{attempt}"``).
    """
    retry_strategy = config.retry_strategy or create_retry_strategy()

    def run_loop(ctx: DurableContext) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return func(ctx, attempt)
            except Exception as err:
                decision = retry_strategy(err, attempt)
                if not decision.should_retry:
                    raise
                ctx.wait(
                    duration=decision.delay,
                    name=f"{name}-backoff-{attempt}" if name else None,
                )

    if config.wrap_with_run_in_child_context:
        return context.run_in_child_context(run_loop, name=name, config=config.child_context_config)
    return run_loop(context)
