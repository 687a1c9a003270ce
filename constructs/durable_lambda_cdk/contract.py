"""The runtime's contract on Lambda, as the constructs deploy it.

docs/ARCHITECTURE.md ("On Lambda") is the reference: the environment of a
durable function, the handlers of the engine's parts, and the metrics the
runtime writes. Each name is taken from the runtime module that reads or
defines it, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from durable_lambda.aws import callback_api, environment, sweeper, telemetry, timer_relay
from durable_lambda.aws.environment import (
    CALLBACK_KEY_SECRET_ARN,
    CALLBACK_URL,
    EXECUTION_TIMEOUT_SECONDS,
    PAYLOAD_BUCKET,
    RETENTION_DAYS,
    SCHEDULE_GROUP,
    SCHEDULER_ROLE_ARN,
    TABLE,
    TIMER_DLQ_ARN,
    TIMER_QUEUE_URL,
)

__all__ = [
    "CALLBACK_API_HANDLER",
    "CALLBACK_KEY_SECRET_ARN",
    "CALLBACK_URL",
    "DEFAULT_RETENTION_DAYS",
    "DURABLE_FUNCTION_VARIABLES",
    "ENGINE_HANDLER_VARIABLES",
    "EXECUTIONS_FAILED",
    "EXECUTIONS_STARTED",
    "EXECUTIONS_SUCCEEDED",
    "EXECUTIONS_TIMED_OUT",
    "EXECUTION_TIMEOUT_SECONDS",
    "FUNCTION_DIMENSION",
    "LONGEST_EXECUTION_DAYS",
    "LONGEST_RETENTION_DAYS",
    "METRIC_NAMESPACE",
    "PAYLOAD_BUCKET",
    "RETENTION_DAYS",
    "SCHEDULER_ROLE_ARN",
    "SCHEDULE_GROUP",
    "SWEEPER_HANDLER",
    "TABLE",
    "TABLE_DIMENSION",
    "TIMER_DLQ_ARN",
    "TIMER_QUEUE_URL",
    "TIMER_RELAY_HANDLER",
]


def handler_name(handler: Callable[..., Any]) -> str:
    """A function as Lambda's ``Handler`` names it: ``module.function``."""
    return f"{handler.__module__}.{handler.__name__}"


DURABLE_FUNCTION_VARIABLES = environment.FUNCTION_VARIABLES
"""Every variable a durable function gets, and nothing else is set by the constructs."""

CALLBACK_API_HANDLER = handler_name(callback_api.handler)
TIMER_RELAY_HANDLER = handler_name(timer_relay.handler)
SWEEPER_HANDLER = handler_name(sweeper.handler)
ENGINE_HANDLER_VARIABLES: dict[str, tuple[str, ...]] = {
    CALLBACK_API_HANDLER: (TABLE, PAYLOAD_BUCKET),
    TIMER_RELAY_HANDLER: (),
    SWEEPER_HANDLER: (TABLE, PAYLOAD_BUCKET),
}
"""What each of the engine's handlers reads (ARCHITECTURE, "Parts of the engine")."""

METRIC_NAMESPACE = telemetry.NAMESPACE
"""Where the runtime writes its execution metrics (embedded metric format)."""
FUNCTION_DIMENSION = "FunctionName"
TABLE_DIMENSION = "TableName"
"""The engine's dimension: every function of an engine writes to its table."""
EXECUTIONS_STARTED = "ExecutionsStarted"
EXECUTIONS_SUCCEEDED = "ExecutionsSucceeded"
EXECUTIONS_FAILED = "ExecutionsFailed"
EXECUTIONS_TIMED_OUT = "ExecutionsTimedOut"

LONGEST_EXECUTION_DAYS = 366
"""The longest execution timeout a durable function takes (aws-cdk-lib's range)."""
LONGEST_RETENTION_DAYS = 90
"""The longest retention a durable function takes (aws-cdk-lib's range)."""
DEFAULT_RETENTION_DAYS = 14
"""aws-cdk-lib's default ``DurableConfig.retention_period``."""
