"""What only the DynamoDB store has to show: sizes, pages, TTL, faults, other processes.

The contract suite (``test_store_contract``, ``test_store_liveness``) and every
conformance requirement run on it too; these cases are its own.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import os
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from moto.core.models import botocore_stubber
from moto.server import ThreadedMotoServer
from stores import BUCKET, REGION, T0, TABLE, at, aws_table, start, wait_batch

from durable_lambda import DurableContext, durable_execution
from durable_lambda.config import CallbackConfig, Duration
from durable_lambda.store import ExecutionStatus, StoreError, Suspended
from durable_lambda.store.dynamodb import DynamoDBStore, create_table
from durable_lambda.store.dynamodb.layout import TTL
from durable_lambda.testing import DurableFunctionTestRunner


def random_text(size: int) -> str:
    """Text that does not compress: ``size`` characters of base64."""
    return base64.b64encode(os.urandom(size * 3 // 4)).decode()[:size]


@durable_execution
def returns_a_large_result(event: dict[str, int], context: DurableContext) -> int:
    text = context.step(lambda _: random_text(event["size"]), name="large")
    return len(text)


def test_a_ten_megabyte_step_result_round_trips_through_s3() -> None:
    with (
        aws_table() as store,
        DurableFunctionTestRunner(returns_a_large_result, store=store) as runner,
    ):
        result = runner.run(input='{"size": 10000000}')
        assert result.result == "10000000"
        [step] = [op for op in result.operations if op.name == "large"]
        assert len(step.result or "") > 10_000_000
        s3 = boto3.client("s3", region_name=REGION)
        assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] >= 1


def test_a_write_over_the_maximum_is_refused_naming_the_step_and_records_nothing() -> None:
    with (
        aws_table(max_payload_bytes=1_000_000) as store,
        DurableFunctionTestRunner(returns_a_large_result, store=store) as runner,
    ):
        execution_arn = runner.run_async('{"size": 2000000}')
        result = runner.wait_for_result(execution_arn)
        assert result.execution_status is ExecutionStatus.FAILED
        assert result.error is not None
        message = result.error.message or ""
        assert "The checkpoint of step 'large' (operation 1) takes" in message
        assert "over the store's max_payload_bytes of 1000000; nothing was recorded" in message
        types = [e["EventType"] for e in runner.engine.get_history(execution_arn)]
        assert "StepSucceeded" not in types


def test_without_a_bucket_a_write_too_large_for_an_item_is_refused() -> None:
    with (
        aws_table(payload_bucket=None) as store,
        DurableFunctionTestRunner(returns_a_large_result, store=store) as runner,
    ):
        result = runner.run(input='{"size": 600000}')
        assert result.error is not None
        assert "the store has no payload_bucket to put it in" in (result.error.message or "")


@durable_execution
def many_sizable_steps(event: Any, context: DurableContext) -> int:
    return sum(len(context.step(lambda _: random_text(30_000), name=f"s{n}")) for n in range(60))


def test_a_history_past_one_megabyte_reads_back_whole_in_a_fresh_store() -> None:
    with aws_table() as store, DurableFunctionTestRunner(many_sizable_steps, store=store) as runner:
        execution_arn = runner.run_async("{}")
        assert runner.wait_for_result(execution_arn).result == str(60 * 30_000)
        fresh = DynamoDBStore(TABLE, region_name=REGION)
        history = fresh.get_history(execution_arn)
        assert [e["EventId"] for e in history] == list(range(1, len(history) + 1))
        assert sum(e["EventType"] == "StepSucceeded" for e in history) == 60
        assert len(fresh.get_operations(execution_arn)) == 60


@durable_execution
def approval(event: Any, context: DurableContext) -> str:
    callback = context.create_callback("approval", CallbackConfig(timeout=Duration.from_hours(1)))
    context.wait(Duration.from_seconds(5), name="pause")
    return str(callback.result())


def test_every_item_of_an_ended_execution_expires_after_the_retention() -> None:
    retention = datetime.timedelta(days=3)
    with (
        aws_table(retention=retention) as store,
        DurableFunctionTestRunner(approval, store=store) as runner,
    ):
        execution_arn = runner.run_async("{}")
        callback_id = runner.wait_for_callback(execution_arn, "approval")
        runner.send_callback_success(callback_id, b"yes")
        result = runner.wait_for_result(execution_arn)
        assert result.result == '"yes"'
        record = store.get_execution(execution_arn)
        assert record.end_timestamp is not None
        expires = int((record.end_timestamp + retention).timestamp())
        items = _all_items()
        own = [i for i in items if i["p"]["S"] in (execution_arn,) or "x" in i]
        assert own, items
        for item in items:
            if item["p"]["S"] == "F":
                continue  # the list of functions outlives executions
            assert int(item[TTL]["N"]) >= expires, item
        head = next(i for i in items if i["p"]["S"] == execution_arn and i["s"]["S"] == "H")
        assert int(head[TTL]["N"]) == expires
        assert not [i for i in items if i["s"]["S"].startswith("T#")]  # timers went with it


def _all_items() -> list[dict[str, Any]]:
    client = boto3.client("dynamodb", region_name=REGION)
    return list(client.get_paginator("scan").paginate(TableName=TABLE).search("Items"))


def _throttle(client: Any, operation: str, times: int) -> list[int]:
    """Answer ``operation`` on ``client`` as throttled, ``times`` times, before moto
    sees it (moto's own hook answers the others). Returns the count left."""
    left = [times]

    def answer(request: Any, **rest: Any) -> AWSResponse | None:
        if rest["event_name"] != f"before-send.dynamodb.{operation}" or left[0] == 0:
            return botocore_stubber(request=request, **rest)  # type: ignore[no-any-return]
        left[0] -= 1
        body = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
        headers = {"x-amzn-ErrorType": "ThrottlingException"}
        return AWSResponse(request.url, 400, headers, _Raw(body))

    client.meta.events.unregister("before-send", botocore_stubber)
    client.meta.events.register("before-send", answer)
    return left


class _Raw:
    """The body of a made-up response."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body

    def read(self, *_: Any) -> bytes:
        return self._body


def _retries(max_attempts: int) -> Config:
    return Config(retries={"mode": "standard", "max_attempts": max_attempts})


def test_throttling_is_retried_within_the_budget() -> None:
    with aws_table(_retries(3)) as store:
        execution_id = start(store)
        left = _throttle(store._client, "UpdateItem", 2)
        lease = store.acquire_lease(execution_id, "inv-1", T0, at(900))
        assert left == [0]
        assert lease is not None
        assert store.get_execution(execution_id).lease is not None


def test_throttling_past_the_budget_surfaces_as_a_store_error_and_changes_nothing() -> None:
    with aws_table(_retries(2)) as store:
        execution_id = start(store)
        before = store.get_history(execution_id)
        _throttle(store._client, "UpdateItem", 1000)
        with pytest.raises(StoreError, match="DynamoDB update_item on durable-executions"):
            store.acquire_lease(execution_id, "inv-1", T0, at(900))
        assert store.get_history(execution_id) == before
        assert store.get_execution(execution_id).lease is None


def test_a_waker_between_a_suspension_s_start_and_its_write_makes_it_reload(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The wait's timer fires after the suspending invocation began to end and
    before its write: the write loses the log position, and it reloads instead."""
    with aws_table() as store:
        execution_id = start(store)
        lease = store.acquire_lease(execution_id, "inv-1", T0, at(900))
        assert lease is not None
        store.write(lease, wait_batch("1", 5, at(1)))
        transact = store._table.transact
        fired: list[bool] = []

        def fire_then_write(writes: list[dict[str, Any]]) -> None:
            if not fired:
                fired.append(False)  # the waker's own write goes through
                fired[0] = store.fire_timer(execution_id, "op:1", at(6))
            transact(writes)

        monkeypatch.setattr(store._table, "transact", fire_then_write)
        assert not store.finish_invocation(lease, at(6), Suspended())
        assert fired == [True]
        reloaded = store.reload(lease)
        assert reloaded.operations[0].status.value == "SUCCEEDED"
        assert store.finish_invocation(reloaded, at(7), Suspended())
        assert [t.key for t in store.due_timers(at(8), 10)] == []


@contextlib.contextmanager
def requests_sent(client: Any) -> Iterator[list[str]]:
    """The DynamoDB requests ``client`` sends meanwhile, by operation, in order."""
    sent: list[str] = []

    def note(model: Any, **_: Any) -> None:
        sent.append(model.name)

    client.meta.events.register("before-call.dynamodb", note)
    try:
        yield sent
    finally:
        client.meta.events.unregister("before-call.dynamodb", note)


def test_a_lease_after_the_store_s_own_start_or_wake_up_is_one_conditional_write() -> None:
    """The store knows the execution item and the log it wrote, lease free: the next
    lease reads neither, and still sees all that happened."""
    with aws_table() as store:
        with requests_sent(store._client) as started:
            execution_id = start(store)
            lease = store.acquire_lease(execution_id, "inv-1", T0, at(900))
        assert lease is not None and lease.execution.input_payload == '{"id": 1}'
        assert started == ["GetItem", "PutItem", "TransactWriteItems", "UpdateItem"]
        store.write(lease, wait_batch("1", 5, at(1)))
        assert store.finish_invocation(lease, at(2), Suspended())
        assert store.fire_timer(execution_id, "op:1", at(6.0004))
        with requests_sent(store._client) as resumed:
            lease = store.acquire_lease(execution_id, "inv-2", at(7), at(907))
        assert resumed == ["UpdateItem"]
        assert lease is not None and lease.epoch == 2
        [wait] = lease.operations
        assert (wait.status.value, wait.end_timestamp) == ("SUCCEEDED", at(6))
        assert [t.key for t in store.due_timers(at(1000), 10)] == ["reinvoke"]


def test_a_lease_on_what_the_store_wrote_reads_again_when_another_store_moved_on() -> None:
    with aws_table() as store:
        execution_id = start(store)
        other = DynamoDBStore(TABLE, payload_bucket=BUCKET, region_name=REGION)
        taken = other.acquire_lease(execution_id, "inv-1", T0, at(900))
        assert taken is not None
        other.write(taken, wait_batch("1", 5, at(1)))
        assert other.finish_invocation(taken, at(2), Suspended())
        with requests_sent(store._client) as sent:
            lease = store.acquire_lease(execution_id, "inv-2", at(3), at(903))
        # The write on what it knew is refused: it reads, and takes the lease.
        assert sent == ["UpdateItem", "GetItem", "Query", "UpdateItem"]
        assert lease is not None and lease.epoch == 2
        assert [op.operation_id for op in lease.operations] == ["1"]


@durable_execution
def short_workflow(event: Any, context: DurableContext) -> str:
    first = context.step(lambda _: "one", name="first")
    context.wait(Duration.from_seconds(1), name="pause")
    return first + " " + context.step(lambda _: "two", name="second")


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's server on 127.0.0.1 with the table and bucket; its endpoint."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", REGION),
    ):
        monkeypatch.setenv(name, value)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        create_table(boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint), TABLE)
        boto3.client("s3", region_name=REGION, endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


def test_worker_processes_reach_the_same_table_through_a_moto_server(moto_server: str) -> None:
    store = DynamoDBStore(
        TABLE, payload_bucket=BUCKET, region_name=REGION, endpoint_url=moto_server
    )
    with DurableFunctionTestRunner(
        short_workflow, store=store, invocation_isolation="process"
    ) as runner:
        execution_arn = runner.run_async("{}")
        result = runner.wait_for_result(execution_arn)
        assert result.result == '"one two"'
        reopened = store.opener()()
        assert reopened.get_execution(execution_arn).status is ExecutionStatus.SUCCEEDED
