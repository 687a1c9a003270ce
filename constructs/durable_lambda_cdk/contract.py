"""The runtime's contract on Lambda, as the constructs deploy it.

docs/ARCHITECTURE.md ("On Lambda") is the reference: the environment of a
durable function, the handlers of the engine's parts, and the metrics the
runtime writes. The names are kept here once, for every construct.
"""

from __future__ import annotations

TABLE = "DURABLE_LAMBDA_TABLE"
PAYLOAD_BUCKET = "DURABLE_LAMBDA_PAYLOAD_BUCKET"
SCHEDULE_GROUP = "DURABLE_LAMBDA_SCHEDULE_GROUP"
SCHEDULER_ROLE_ARN = "DURABLE_LAMBDA_SCHEDULER_ROLE_ARN"
TIMER_DLQ_ARN = "DURABLE_LAMBDA_TIMER_DLQ_ARN"
TIMER_QUEUE_URL = "DURABLE_LAMBDA_TIMER_QUEUE_URL"
CALLBACK_URL = "DURABLE_LAMBDA_CALLBACK_URL"
CALLBACK_KEY_SECRET_ARN = "DURABLE_LAMBDA_CALLBACK_KEY_SECRET_ARN"  # noqa: S105 - a name
RETENTION_DAYS = "DURABLE_LAMBDA_RETENTION_DAYS"
EXECUTION_TIMEOUT_SECONDS = "DURABLE_LAMBDA_EXECUTION_TIMEOUT_SECONDS"

DURABLE_FUNCTION_VARIABLES = (
    TABLE,
    PAYLOAD_BUCKET,
    SCHEDULE_GROUP,
    SCHEDULER_ROLE_ARN,
    TIMER_DLQ_ARN,
    TIMER_QUEUE_URL,
    CALLBACK_URL,
    CALLBACK_KEY_SECRET_ARN,
    RETENTION_DAYS,
    EXECUTION_TIMEOUT_SECONDS,
)
"""Every variable a durable function gets, and nothing else is set by the constructs."""

CALLBACK_API_HANDLER = "durable_lambda.aws.callback_api.handler"
TIMER_RELAY_HANDLER = "durable_lambda.aws.timer_relay.handler"
SWEEPER_HANDLER = "durable_lambda.aws.sweeper.handler"

METRIC_NAMESPACE = "DurableLambda"
"""Where the runtime writes its execution metrics (embedded metric format)."""
FUNCTION_DIMENSION = "FunctionName"
TABLE_DIMENSION = "TableName"
"""The engine's dimension: every function of an engine writes to its table."""

LONGEST_EXECUTION_DAYS = 366
"""The longest execution timeout a durable function takes (aws-cdk-lib's range)."""
LONGEST_RETENTION_DAYS = 90
"""The longest retention a durable function takes (aws-cdk-lib's range)."""
DEFAULT_RETENTION_DAYS = 14
"""aws-cdk-lib's default ``DurableConfig.retention_period``."""
