"""Conditional retry based on error type (Python twin of the seed's TypeScript).

Client errors (4xx) are not retried, server errors (5xx) back off
exponentially for up to 5 attempts, network errors retry every 5 seconds for
up to 10 attempts, anything else is not retried. ``retry_transient_only``
shows the same idea with the ready-made strategy and ``retryable_error_types``.
"""

from __future__ import annotations

from durable_lambda import DurableContext, StepContext, durable_execution
from durable_lambda.config import Duration, JitterStrategy, StepConfig
from durable_lambda.retries import RetryDecision, RetryStrategyConfig, create_retry_strategy


class HttpError(Exception):
    """An HTTP error response."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code


class NetworkError(Exception):
    """A connection-level failure with an errno-style code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def api_retry_strategy(error: Exception, attempt_count: int) -> RetryDecision:
    status_code = getattr(error, "status_code", None)
    # Don't retry client errors (4xx)
    if status_code is not None and 400 <= status_code < 500:
        return RetryDecision.no_retry()
    # Retry server errors (5xx) with exponential backoff
    if status_code is not None and status_code >= 500:
        return RetryDecision(
            should_retry=attempt_count < 5, delay=Duration.from_seconds(2**attempt_count)
        )
    # Retry network errors with a fixed delay
    if getattr(error, "code", None) in ("ECONNREFUSED", "ETIMEDOUT"):
        return RetryDecision(should_retry=attempt_count < 10, delay=Duration.from_seconds(5))
    # Don't retry unknown errors
    return RetryDecision.no_retry()


retry_transient_only = create_retry_strategy(
    RetryStrategyConfig(
        max_attempts=4,
        initial_delay=Duration.from_seconds(1),
        jitter_strategy=JitterStrategy.NONE,
        retryable_error_types=[NetworkError],
    )
)


def call_external_api(
    step_context: StepContext, failures: list[dict[str, object]]
) -> dict[str, object]:
    """Fails with the scripted error of this attempt, then answers."""
    if step_context.attempt <= len(failures):
        failure = failures[step_context.attempt - 1]
        if "status" in failure:
            raise HttpError(int(str(failure["status"])))
        raise NetworkError(str(failure["code"]))
    return {"ok": True, "attempt": step_context.attempt}


@durable_execution
def handler(event: dict, context: DurableContext) -> dict:
    """``event["failures"]``: the errors the API returns, attempt by attempt."""
    failures = event.get("failures", [])
    return context.step(
        lambda step_context: call_external_api(step_context, failures),
        name="api-call",
        config=StepConfig(retry_strategy=api_retry_strategy),
    )
