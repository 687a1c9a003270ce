"""The environment contract of durable functions on Lambda: what is missing or wrong is named."""

from __future__ import annotations

import pytest

from durable_lambda.aws import environment
from durable_lambda.aws.environment import ConfigurationError, FunctionEnvironment

GOOD = {
    environment.TABLE: "durable-executions",
    environment.PAYLOAD_BUCKET: "durable-payloads",
    environment.SCHEDULE_GROUP: "durable-timers",
    environment.SCHEDULER_ROLE_ARN: "arn:aws:iam::123456789012:role/durable-scheduler",
    environment.TIMER_DLQ_ARN: "arn:aws:sqs:us-east-1:123456789012:durable-timers-dlq",
    environment.TIMER_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/durable-timers",
    environment.CALLBACK_URL: "https://abc.execute-api.us-east-1.amazonaws.com/",
    environment.CALLBACK_KEY_SECRET_ARN: (
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:durable-callback-key"
    ),
    environment.RETENTION_DAYS: "14",
    environment.EXECUTION_TIMEOUT_SECONDS: "900",
}


def test_the_contract_is_read_whole() -> None:
    read = FunctionEnvironment.read(GOOD)
    assert read.table == "durable-executions"
    assert read.callback_url == "https://abc.execute-api.us-east-1.amazonaws.com"
    assert (read.retention_days, read.execution_timeout_seconds) == (14, 900)
    assert set(GOOD) == set(environment.FUNCTION_VARIABLES)


@pytest.mark.parametrize("name", environment.FUNCTION_VARIABLES)
def test_a_missing_variable_is_named(name: str) -> None:
    values = {k: v for k, v in GOOD.items() if k != name}
    with pytest.raises(ConfigurationError, match=f"The environment variable {name} is not set"):
        FunctionEnvironment.read(values)


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        (environment.SCHEDULER_ROLE_ARN, "durable-scheduler", "must be an iam ARN"),
        (environment.TIMER_DLQ_ARN, "arn:aws:sns:us-east-1:1:topic", "must be a sqs ARN"),
        (environment.CALLBACK_URL, "callbacks.example.com", "must be an http\\(s\\) URL"),
        (environment.RETENTION_DAYS, "fourteen", "must be a whole number from 1 to 3650"),
        (environment.EXECUTION_TIMEOUT_SECONDS, "0", "must be a whole number from 1 to 31622400"),
    ],
)
def test_a_malformed_variable_is_named(name: str, value: str, complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=f"{name} {complaint}"):
        FunctionEnvironment.read({**GOOD, name: value})
