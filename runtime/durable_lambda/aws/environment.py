"""The environment contract between the constructs and the runtime on Lambda.

docs/ARCHITECTURE.md ("The environment contract") lists the variables; the
constructs set exactly these. A missing or malformed one fails with an error
naming it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from durable_lambda.exceptions import DurableExecutionsError

PREFIX = "DURABLE_LAMBDA_"
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

FUNCTION_VARIABLES = (
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
"""Every variable a durable function gets, and nothing more."""


class ConfigurationError(DurableExecutionsError):
    """The function's environment lacks a variable the runtime needs, or it is malformed."""


def on_lambda(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process is a durable function deployed by the constructs."""
    return TABLE in (os.environ if environ is None else environ)


@dataclass(frozen=True)
class FunctionEnvironment:
    """What a durable function's runtime reads from its environment."""

    table: str
    payload_bucket: str
    schedule_group: str
    scheduler_role_arn: str
    timer_dlq_arn: str
    timer_queue_url: str
    callback_url: str
    callback_key_secret_arn: str
    retention_days: int
    execution_timeout_seconds: int

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> FunctionEnvironment:
        """The contract's values, or ConfigurationError naming what is wrong."""
        values = os.environ if environ is None else environ
        return cls(
            table=required(values, TABLE),
            payload_bucket=required(values, PAYLOAD_BUCKET),
            schedule_group=required(values, SCHEDULE_GROUP),
            scheduler_role_arn=arn(values, SCHEDULER_ROLE_ARN, "iam"),
            timer_dlq_arn=arn(values, TIMER_DLQ_ARN, "sqs"),
            timer_queue_url=url(values, TIMER_QUEUE_URL),
            callback_url=url(values, CALLBACK_URL).rstrip("/"),
            callback_key_secret_arn=arn(values, CALLBACK_KEY_SECRET_ARN, "secretsmanager"),
            retention_days=whole(values, RETENTION_DAYS, 1, 3650),
            execution_timeout_seconds=whole(values, EXECUTION_TIMEOUT_SECONDS, 1, 366 * 86400),
        )


def required(values: Mapping[str, str], name: str) -> str:
    value = values.get(name, "").strip()
    if not value:
        msg = f"The environment variable {name} is not set; the DurableFunction construct sets it"
        raise ConfigurationError(msg)
    return value


def arn(values: Mapping[str, str], name: str, service: str) -> str:
    value = required(values, name)
    if not value.startswith("arn:") or value.split(":")[2:3] != [service]:
        article = "an" if service[0] in "aeiou" else "a"
        msg = f"The environment variable {name} must be {article} {service} ARN, got {value!r}"
        raise ConfigurationError(msg)
    return value


def url(values: Mapping[str, str], name: str) -> str:
    value = required(values, name)
    if not value.startswith(("https://", "http://")):
        msg = f"The environment variable {name} must be an http(s) URL, got {value!r}"
        raise ConfigurationError(msg)
    return value


def whole(values: Mapping[str, str], name: str, low: int, high: int) -> int:
    value = required(values, name)
    if not value.isdigit() or not low <= int(value) <= high:
        msg = (
            f"The environment variable {name} must be a whole number "
            f"from {low} to {high}, got {value!r}"
        )
        raise ConfigurationError(msg)
    return int(value)
