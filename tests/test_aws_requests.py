"""The AWS requests a durable function sends on Lambda, counted by the end-to-end
harness: what each start and end, wait and callback costs (bench/aws_round_trips.py
prints the same counts per step, wait and callback)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_harness import CALLBACK_URL, AwsAccount

from durable_lambda import DurableContext, durable_execution
from durable_lambda.config import Duration


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[AwsAccount]:
    account = AwsAccount(monkeypatch, tmp_path)
    with account.running(monkeypatch):
        yield account


def requests(aws: AwsAccount, function_name: str) -> Counter[str]:
    """The requests the function sent, by action."""
    return Counter(call.action for call in aws.calls if call.caller == function_name)


@durable_execution
def nothing(event: Any, context: DurableContext) -> str:
    return "done"


@durable_execution
def one_wait(event: Any, context: DurableContext) -> str:
    context.wait(Duration.from_seconds(5), name="pause")
    return "done"


@durable_execution
def one_callback(event: Any, context: DurableContext) -> str:
    return str(context.create_callback("answer").result())


START_AND_END = Counter(
    {
        "dynamodb:GetItem": 1,
        "dynamodb:PutItem": 1,
        "dynamodb:TransactWriteItems": 2,
        "dynamodb:UpdateItem": 1,
        "dynamodb:Query": 1,
        "dynamodb:DeleteItem": 1,
        "scheduler:CreateSchedule": 1,
    }
)
"""An execution started by an invocation that ends it: the name looked up, the
function listed, the start written (with its timeout's schedule), the lease (on
what the start wrote), the end (on the lease it holds), and the clean-up of its
timers and children (one Query for both)."""


def test_the_requests_of_an_execution_s_start_and_end(aws: AwsAccount) -> None:
    aws.deploy("fn", nothing)
    assert aws.invoke("fn", {})["Status"] == "SUCCEEDED"
    assert requests(aws, "fn") == START_AND_END


def test_the_requests_of_a_wait_suspended_and_resumed(aws: AwsAccount) -> None:
    aws.deploy("fn", one_wait)
    execution_id = aws.invoke("fn", {})["DurableExecutionArn"]
    assert aws.run_to_end(execution_id).result == '"done"'
    # Suspending: the end of the invocation with the wait's timer, its message.
    # Resuming: the timer and the execution item read, the log's end, the timer
    # fired (the wait ends, the execution is due); the lease, on what the firing
    # wrote.
    assert requests(aws, "fn") == START_AND_END + Counter(
        {
            "dynamodb:GetItem": 2,
            "dynamodb:Query": 1,
            "dynamodb:TransactWriteItems": 2,
            "dynamodb:UpdateItem": 1,
            "sqs:SendMessage": 1,
        }
    )


def test_the_requests_of_a_callback_created_completed_and_resumed(aws: AwsAccount) -> None:
    aws.deploy("fn", one_callback)
    execution_id = aws.invoke("fn", {})["DurableExecutionArn"]
    [started] = [
        e for e in aws.engine.store.get_history(execution_id) if e["EventType"] == "CallbackStarted"
    ]
    url = f"{CALLBACK_URL}/callbacks/{aws.callback_id(execution_id, started['Id'])}"
    aws.post_callback(url, "succeed", b'"yes"')
    assert aws.engine.store.get_execution(execution_id).status.value == "SUCCEEDED"
    # Creating: its checkpoint (with the callback's item) and the suspension; the
    # callback key, once per container. Resuming (the callback API invokes it):
    # the execution item and the log read, the lease.
    assert requests(aws, "fn") == START_AND_END + Counter(
        {
            "dynamodb:GetItem": 1,
            "dynamodb:Query": 1,
            "dynamodb:TransactWriteItems": 2,
            "dynamodb:UpdateItem": 1,
            "secretsmanager:GetSecretValue": 1,
        }
    )
