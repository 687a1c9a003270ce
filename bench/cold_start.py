"""A cold start on Lambda: importing a handler module and building the AWS backend,
against importing the AWS durable execution SDK.

Each probe runs in a fresh interpreter, in alternating rounds (``paired.py``).
Ours imports a seed handler (``examples.approval``) and builds the runtime a
container builds at its first invocation (``FunctionRuntime``: the environment
contract read, the DynamoDB store and its client made; the other clients and
the callback key wait for their first use); no request is sent. The anchor
imports ``aws_durable_execution_sdk_python``, which imports boto3 eagerly.
Targets: the cold start no more than the anchor, ``import durable_lambda``
alone at most half of it (``import_time.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from paired import measure

ROUNDS = 9
PROJECT = Path(__file__).resolve().parent.parent
ENVIRONMENT = {
    "DURABLE_LAMBDA_TABLE": "durable-executions",
    "DURABLE_LAMBDA_PAYLOAD_BUCKET": "durable-payloads",
    "DURABLE_LAMBDA_SCHEDULE_GROUP": "durable-timers",
    "DURABLE_LAMBDA_SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/scheduler",
    "DURABLE_LAMBDA_TIMER_DLQ_ARN": "arn:aws:sqs:us-east-1:123456789012:dlq",
    "DURABLE_LAMBDA_TIMER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/timers",
    "DURABLE_LAMBDA_CALLBACK_URL": "https://callbacks.example.com",
    "DURABLE_LAMBDA_CALLBACK_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:key",
    "DURABLE_LAMBDA_RETENTION_DAYS": "14",
    "DURABLE_LAMBDA_EXECUTION_TIMEOUT_SECONDS": "900",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}
COLD_START = (
    "import time; t = time.perf_counter(); import examples.approval; "
    "from durable_lambda.aws.runtime import container_runtime; container_runtime(); "
    "print(time.perf_counter() - t)"
)
ANCHOR = (
    "import time; t = time.perf_counter(); import aws_durable_execution_sdk_python; "
    "print(time.perf_counter() - t)"
)


def seconds(probe: str) -> float:
    """Seconds a fresh interpreter takes to run ``probe``'s timed part."""
    ran = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT,
        env={**os.environ, **ENVIRONMENT},
    )
    return float(ran.stdout)


def main() -> None:
    anchor, timings = measure(
        lambda: seconds(ANCHOR), {"cold start": lambda: seconds(COLD_START)}, ROUNDS
    )
    ours = timings["cold start"]
    print(f"handler import + AWS backend             {ours.seconds * 1000:7.1f} ms")
    print(f"import aws_durable_execution_sdk_python  {anchor * 1000:7.1f} ms")
    print(f"ours / anchor                            {1 / ours.ratio:7.2f} (target <= 1.00)")


if __name__ == "__main__":
    main()
