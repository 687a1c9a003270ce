"""What the store tests share: the stores to run on, and helpers that read them."""

from __future__ import annotations

import contextlib
import datetime
import functools
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from durable_lambda.lambda_service import (
    OperationAction,
    OperationType,
    OperationUpdate,
    WaitOptions,
)
from durable_lambda.store import (
    CheckpointBatch,
    ExecutionRecord,
    ExecutionStatus,
    MemoryStore,
    NewExecution,
    SqliteStore,
    Store,
)
from durable_lambda.store.contract import REINVOKE_TIMER
from durable_lambda.store.dynamodb import DynamoDBStore, create_table
from durable_lambda.transitions import apply_update, parse_operation_timer

REGION = "us-east-1"
TABLE = "durable-executions"
BUCKET = "durable-payloads"
T0 = datetime.datetime(2026, 11, 25, 8, 0, tzinfo=datetime.UTC)
FAR_FUTURE = T0 + datetime.timedelta(days=10**5)

STORE_KINDS = ["memory", "sqlite-memory", "sqlite-file", "dynamodb"]


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


@contextlib.contextmanager
def opened_store(kind: str, folder: Path) -> Iterator[Store]:
    """A new, empty store of ``kind`` (one of ``STORE_KINDS``), closed afterwards.

    DynamoDB is moto's, in this process: a table and a payload bucket made for
    the store alone.
    """
    if kind == "dynamodb":
        with aws_table() as store:
            yield store
        return
    store: Store = {
        "memory": MemoryStore,
        "sqlite-memory": SqliteStore,
        "sqlite-file": lambda: SqliteStore(str(folder / "store.sqlite3")),
    }[kind]()
    try:
        yield store
    finally:
        store.close()


@contextlib.contextmanager
def aws_table(config: Config | None = None, **options: Any) -> Iterator[DynamoDBStore]:
    """A DynamoDB store on moto, with its table and a payload bucket; ``config``
    configures its client (retries, say)."""
    with mock_aws():
        client = _client("dynamodb", config)
        s3 = _client("s3", None)
        create_table(client, TABLE)
        s3.create_bucket(Bucket=BUCKET)
        options.setdefault("payload_bucket", BUCKET)
        options.setdefault("client", client)
        yield DynamoDBStore(TABLE, s3_client=s3, **options)


def _serialize_moto_requests() -> None:
    """Have moto answer one request at a time, as each DynamoDB request is atomic.

    moto's backends hold no locks: two conditional writes from two threads (the
    engine's timer loop and an invocation, say) could both pass their condition.
    """
    lock = threading.Lock()
    answer = BotocoreStubber.__call__

    def atomic(self: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return answer(self, *args, **kwargs)

    BotocoreStubber.__call__ = atomic  # type: ignore[method-assign]


_serialize_moto_requests()


@functools.cache
def _client(service: str, config: Config | None) -> Any:
    """One client per service and config for the whole session: made inside a mock
    (its fake credentials), it serves every later mock, as moto hooks every client."""
    return boto3.client(service, region_name=REGION, config=config)


def start(
    store: Store, name: str = "run-1", timeout: int | None = None, function: str = "orders"
) -> str:
    record, created = store.create_execution(
        NewExecution(f"exec-{name}", function, name, '{"id": 1}', timeout), T0
    )
    assert created
    return record.execution_id


def wait_batch(operation_id: str, seconds: int, now: datetime.datetime) -> CheckpointBatch:
    batch = CheckpointBatch()
    batch.add(
        apply_update(
            OperationUpdate(
                operation_id,
                OperationType.WAIT,
                OperationAction.START,
                sub_type="Wait",
                wait_options=WaitOptions(seconds),
            ),
            None,
            now,
        )
    )
    return batch


def types(store: Store, execution_id: str) -> list[str]:
    return [event["EventType"] for event in store.get_history(execution_id)]


def timers(store: Store) -> list[tuple[str, str, datetime.datetime]]:
    """Every timer of the store: (execution, key, due), earliest first."""
    return [
        (timer.execution_id, timer.key, timer.due) for timer in store.due_timers(FAR_FUTURE, 10_000)
    ]


def running_executions(store: Store) -> list[ExecutionRecord]:
    """Every RUNNING execution, read page by page."""
    found: list[ExecutionRecord] = []
    page_token: str | None = None
    while True:
        page = store.list_executions(
            status=ExecutionStatus.RUNNING, page_token=page_token, limit=1000
        )
        found.extend(page.executions)
        page_token = page.next_page_token
        if page_token is None:
            return found


def liveness_violations(store: Store) -> list[str]:
    """Every RUNNING execution that nothing durable will ever invoke, and why.

    The store contract's liveness rule: a leased execution has its reinvoke
    timer at the lease's expiry or earlier; one without a lease has its
    reinvoke timer, or waits only on timers of its own operations or on
    outside parties (a callback's caller, a running child execution).
    """
    keys: dict[str, dict[str, datetime.datetime]] = {}
    for execution_id, key, due in timers(store):
        keys.setdefault(execution_id, {})[key] = due
    running = running_executions(store)
    running_children = {(child.parent_execution_id, child.parent_operation_id) for child in running}
    violations: list[str] = []
    for record in running:
        own = keys.get(record.execution_id, {})
        reinvoke = own.get(REINVOKE_TIMER)
        if record.lease is not None:
            if reinvoke is None or reinvoke > record.lease.until:
                violations.append(f"{record.execution_id}: leased, its expiry not due")
            continue
        if reinvoke is not None:
            continue
        timed = {parsed[1] for parsed in map(parse_operation_timer, own) if parsed is not None}
        for operation in store.get_operations(record.execution_id):
            waits = (
                operation.is_terminal
                or operation.operation_type in (OperationType.CONTEXT, OperationType.CALLBACK)
                or operation.operation_id in timed
                or (record.execution_id, operation.operation_id) in running_children
            )
            if not waits:
                violations.append(
                    f"{record.execution_id}: {operation.operation_type.value} "
                    f"{operation.operation_id} is {operation.status.value} with nothing due"
                )
    return violations
