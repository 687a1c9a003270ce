"""Configurations are validated on construction; retry strategies decide as the AWS SDK does."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pytest

from durable_lambda import ValidationError, WaitForConditionError
from durable_lambda.config import (
    CallbackConfig,
    ChildConfig,
    CompletionConfig,
    CompletionDecision,
    CompletionOutcome,
    Duration,
    JitterStrategy,
    MapConfig,
    ParallelConfig,
    StepConfig,
    complete_batch,
)
from durable_lambda.retries import (
    RetryPresets,
    RetryStrategyConfig,
    create_linear_retry_strategy,
    create_retry_strategy,
)
from durable_lambda.waits import WaitStrategyConfig, create_wait_strategy


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Duration(-1), "Duration seconds must not be negative, got: -1"),
        (lambda: Duration(1.5), "Duration seconds must be an int, got: 1.5"),
        (lambda: CompletionConfig(min_successful=0), "min_successful must be at least 1, got: 0"),
        (
            lambda: CompletionConfig(tolerated_failure_count=-2),
            "tolerated_failure_count must be non-negative, got: -2",
        ),
        (
            lambda: CompletionConfig(tolerated_failure_percentage=101),
            "tolerated_failure_percentage must be between 0 and 100, got: 101",
        ),
        (
            lambda: CompletionConfig(min_successful=1, should_complete=lambda s: complete_batch()),
            "should_complete cannot be combined with min_successful",
        ),
        (lambda: MapConfig(max_concurrency=0), "max_concurrency must be at least 1, got: 0"),
        (lambda: ParallelConfig(max_concurrency=-1), "max_concurrency must be at least 1, got: -1"),
        (lambda: StepConfig(sub_type="has space"), "sub_type must be 1 to 32 characters"),
        (lambda: ChildConfig(sub_type="x" * 33), "sub_type must be 1 to 32 characters"),
        (lambda: CallbackConfig(sub_type="bad!"), "sub_type must be 1 to 32 characters"),
        (lambda: CompletionDecision(complete=True), "outcome is required when complete is True"),
        (
            lambda: CompletionDecision(complete=False, outcome=CompletionOutcome.FAILED),
            "outcome must be None when complete is False",
        ),
    ],
)
def test_invalid_configuration_is_refused_with_a_clear_message(
    build: Callable[[], Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        build()


def test_min_successful_cannot_exceed_the_items() -> None:
    with pytest.raises(
        ValidationError, match=re.escape("min_successful cannot be greater than total items: 4 > 3")
    ):
        CompletionConfig(min_successful=4)._validate_for_total(3)


def test_configs_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        StepConfig().serdes = None  # type: ignore[misc]


def test_durations_convert_units_to_whole_seconds() -> None:
    assert Duration.from_minutes(1.5).to_seconds() == 90
    assert Duration.from_hours(1).to_seconds() == 3600
    assert Duration.from_days(2).to_seconds() == 172_800


def test_default_strategy_tries_six_times_with_full_jitter_up_to_a_minute() -> None:
    strategy = RetryPresets.default()
    error = RuntimeError("boom")
    for attempt in range(1, 6):
        decision = strategy(error, attempt)
        assert decision.should_retry
        assert 1 <= decision.delay_seconds <= min(5 * 2 ** (attempt - 1), 60)
    assert not strategy(error, 6).should_retry


def test_created_strategy_without_config_tries_three_times() -> None:
    strategy = create_retry_strategy()
    assert strategy(RuntimeError(), 2).should_retry
    assert not strategy(RuntimeError(), 3).should_retry


def test_retryable_errors_filter_by_message_and_type() -> None:
    strategy = create_retry_strategy(
        RetryStrategyConfig(
            retryable_errors=["throttl", re.compile(r"^5\d\d")],
            retryable_error_types=[TimeoutError],
            jitter_strategy=JitterStrategy.NONE,
        )
    )
    assert strategy(RuntimeError("request throttled"), 1).should_retry
    assert strategy(RuntimeError("503 unavailable"), 1).should_retry
    assert strategy(TimeoutError("slow"), 1).should_retry
    assert not strategy(RuntimeError("404 not found"), 1).should_retry


def test_no_jitter_backoff_and_linear_presets() -> None:
    exponential = create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=5,
            initial_delay=Duration(2),
            backoff_rate=3,
            max_delay=Duration(30),
            jitter_strategy=JitterStrategy.NONE,
        )
    )
    assert [exponential(RuntimeError(), n).delay_seconds for n in (1, 2, 3, 4)] == [2, 6, 18, 30]
    linear = create_linear_retry_strategy()
    assert linear(RuntimeError(), 1).delay_seconds <= 1
    assert [RetryPresets.linear()(RuntimeError(), n).delay_seconds for n in (1, 2, 3)] == [1, 2, 3]


def test_jitter_never_rounds_below_one_second() -> None:
    assert JitterStrategy.FULL.finalize_delay(0.001) == 1
    assert 5 <= JitterStrategy.HALF.finalize_delay(10) <= 10


def test_wait_strategy_stops_when_the_condition_holds_and_fails_when_exhausted() -> None:
    strategy = create_wait_strategy(
        WaitStrategyConfig(
            should_continue_polling=lambda state: state < 3,
            max_attempts=4,
            initial_delay=Duration(2),
            jitter_strategy=JitterStrategy.NONE,
        )
    )
    assert strategy(3, 1).should_continue is False
    assert strategy(1, 2).delay_seconds == 3
    with pytest.raises(WaitForConditionError, match="exhausted 4 attempts"):
        strategy(0, 4)
