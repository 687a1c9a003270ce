"""Durable functions on Lambda, end to end: the runtime's own code against moto and a
Lambda stand-in (``aws_harness``), timers delivered on a virtual clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_harness import AwsAccount

from durable_lambda import DurableContext, durable_execution
from durable_lambda.config import Duration


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[AwsAccount]:
    account = AwsAccount(monkeypatch, tmp_path)
    with account.running(monkeypatch):
        yield account


@durable_execution
def waits(event: Any, context: DurableContext) -> str:
    first = context.step(lambda _: "one", name="first")
    context.wait(Duration.from_seconds(30), name="short")
    context.wait(Duration.from_hours(2), name="long")
    return first + " two"


def test_a_plain_event_starts_an_execution_that_waits_on_the_queue_and_a_schedule(
    aws: AwsAccount,
) -> None:
    aws.deploy("waits", waits)
    answer = aws.invoke("waits", {"order": 1})
    assert answer["Status"] == "PENDING"
    execution_id = answer["DurableExecutionArn"]
    assert execution_id.startswith("arn:aws:lambda:us-east-1:123456789012:function:waits:$LATEST/")
    aws.advance(31)
    record = aws.engine.store.get_execution(execution_id)
    assert record.status.value == "RUNNING"
    history = [e["EventType"] for e in aws.engine.store.get_history(execution_id)]
    assert history.count("WaitSucceeded") == 1
    aws.advance(2 * 3600)
    record = aws.engine.store.get_execution(execution_id)
    assert (record.status.value, record.result) == ("SUCCEEDED", '"one two"')
