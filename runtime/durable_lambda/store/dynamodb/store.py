"""The store contract on one DynamoDB table: the production store.

An execution's partition holds its execution item (``H``), its log (``L#<seq>``,
one item per committed write, compressed), the latest state of operations that
wait on something outside (``O#<id>``), its operation timers (``T#<key>``) and
links to the child executions it started (``Z#``). The log is the execution's
history and the fence: every write takes the next sequence number with a
conditional put, so whoever took the lease or woke the execution since an
invocation last looked has taken that number first. A checkpoint is one
``PutItem`` (one write unit for a step under 1 KB); writes that also touch an
index item (timers, waiting operations, callbacks, the execution item) are one
``TransactWriteItems``. docs/ARCHITECTURE.md ("On DynamoDB") has the layout
and the costs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import heapq
import itertools
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

from durable_lambda.history import Event, execution_event, invocation_completed, payload
from durable_lambda.lambda_service import (
    ErrorObject,
    Operation,
    OperationType,
    epoch_millis,
    from_epoch_millis,
)
from durable_lambda.store.contract import (
    CALLBACK_NOT_FOUND,
    DEFAULT_PAGE_SIZE,
    EXECUTION_TIMEOUT_TIMER,
    REINVOKE_TIMER,
    CallbackChange,
    CallbackNotFoundError,
    CheckpointBatch,
    DueTimer,
    ExecutionNotFoundError,
    ExecutionPage,
    ExecutionRecord,
    ExecutionStatus,
    InvocationFailed,
    InvocationOutcome,
    Lease,
    LeaseHolder,
    LeaseLostError,
    NewExecution,
    StoreError,
    Suspended,
    check_page_size,
    child_completion,
    ending_events,
    exit_error,
    function_call_timer,
    is_delivery_timer,
    page_position,
    parent_ended_error,
    parent_not_running_error,
    redelivery_due,
    start_target_timer,
    terminated_event,
    timed_out_error,
    token_after,
    waiting_callback,
)
from durable_lambda.store.dynamodb import layout
from durable_lambda.store.dynamodb.codec import (
    LEASE_CHANGES,
    Entry,
    error_of,
    error_text,
    operation_of,
    operation_row,
    pack,
    unpack,
)
from durable_lambda.store.dynamodb.payloads import PayloadBucket
from durable_lambda.transitions import (
    OPERATION_TIMER,
    Completion,
    Transition,
    on_completion,
    on_timer,
    parse_operation_timer,
)

logger = logging.getLogger(__name__)

DEFAULT_RETENTION = datetime.timedelta(days=30)
LONGEST_EXECUTION = datetime.timedelta(days=366)
"""How long items of an execution without a timeout are kept at least (the
managed service's longest execution)."""
DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024 * 1024
ITEM_LIMIT_BYTES = 350_000
"""Largest log item kept in the table; larger ones go to the payload bucket.
Under DynamoDB's 400 KB (and moto's 405,000 bytes), with room for keys."""
INLINE_INPUT_BYTES = 1024
"""Inputs up to this size are kept on the execution item too (it is rewritten
by every invocation, so larger ones are read from the first log item)."""
INLINE_OUTCOME_BYTES = 4096
MAX_TRANSITIONS_PER_WRITE = 32
"""With the log item, at most 97 items in one transaction (DynamoDB takes 100)."""
RETRY_ATTEMPTS = 8
"""botocore's standard retry mode: attempts per request (throttling, 5xx)."""
CONTENTION_ATTEMPTS = 50
"""Times a write is tried again after losing its log position to others."""
CACHED_OPERATIONS = 200_000
"""Operations kept, over all executions, so that a warm store reads only what is new."""

TimerListener = Callable[[str, str, datetime.datetime], None]
"""Told of a timer set: execution id, key, due time."""

_INDEXED_TYPES = frozenset({OperationType.CALLBACK, OperationType.CHAINED_INVOKE})
"""Operations whose latest state is kept in an ``O#`` item: callers outside change them
(a callback's caller, a chained invoke's target). A wait or a step waiting to
retry is changed only by its timer, whose item holds the operation as it waits."""


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _b(value: bytes) -> dict[str, bytes]:
    return {"B": value}


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value["S"] if value is not None else None


def _number(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name)
    return int(value["N"]) if value is not None else None


@dataclasses.dataclass
class _Head:
    """An execution item as read."""

    item: dict[str, Any]
    record: ExecutionRecord
    epoch: int
    due: int | None

    @property
    def running(self) -> bool:
        return self.record.status is ExecutionStatus.RUNNING


@dataclasses.dataclass
class _Folded:
    """An execution's log folded up to ``seq``: its operations, in first-write order."""

    seq: int = 0
    operations: dict[str, Operation] = dataclasses.field(default_factory=dict)
    next_event: int = 1
    input_payload: str | None = None

    def apply(self, seq: int, entry: Entry) -> None:
        for operation in entry.operations:
            self.operations[operation.operation_id] = operation
        if entry.kind == "start" and entry.events:
            started = entry.events[0].get("ExecutionStartedDetails", {})
            self.input_payload = started.get("Input", {}).get("Payload")
        self.seq = seq
        self.next_event = entry.next_event_id

    def copy(self) -> _Folded:
        return _Folded(self.seq, dict(self.operations), self.next_event, self.input_payload)


@dataclasses.dataclass
class _Cursor:
    """Where an invocation writes next, and whether a waker wrote since it loaded."""

    next_seq: int
    next_event: int
    woken: bool = False


class _Conflict(Exception):
    """A conditional write lost: ``reasons`` per transaction item (or one for a put)."""

    def __init__(self, reasons: list[str | None]) -> None:
        super().__init__(reasons)
        self.reasons = reasons


class DynamoDBStore:
    """The store contract on a DynamoDB table made by ``create_table``.

    Args:
        table_name: The table.
        client: A boto3 DynamoDB client (or a callable making one at the first
            request); by default one for ``region_name`` and ``endpoint_url`` with
            botocore's standard retry mode.
        payload_bucket: S3 bucket for writes too large for an item (without
            one they are refused).
        s3_client: A boto3 S3 client; by default one like the DynamoDB client.
        retention: How long an ended execution is kept (item TTL).
        max_payload_bytes: The largest write the store takes (compressed).
        region_name: The region the default clients connect to; taken from
            ``client`` when one is given, so ``opener`` reaches the same table.
        endpoint_url: The endpoint the default clients connect to; taken from
            ``client`` when one is given, as ``region_name`` is.
        on_timer_set: Told of every timer a committed write set (execution id,
            key, due), so that something delivers it when due.
    """

    def __init__(
        self,
        table_name: str,
        *,
        client: Any = None,
        payload_bucket: str | None = None,
        s3_client: Any = None,
        retention: datetime.timedelta = DEFAULT_RETENTION,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        on_timer_set: TimerListener | None = None,
    ) -> None:
        self.table_name = table_name
        self.payload_bucket = payload_bucket
        self.retention = retention
        self.max_payload_bytes = max_payload_bytes
        self._region_name = region_name
        self._endpoint_url = endpoint_url
        self._client_source: Any = client
        s3 = s3_client if s3_client is not None else self._default_s3_client
        self._payloads = PayloadBucket(payload_bucket, s3, max_payload_bytes)
        self._on_timer_set = on_timer_set
        self._lock = threading.Lock()
        self._folded: OrderedDict[str, _Folded] = OrderedDict()
        self._cursors: dict[tuple[str, int], _Cursor] = {}
        self._functions: set[str] = set()

    @functools.cached_property
    def _client(self) -> Any:
        """The DynamoDB client, made (with the AWS SDK loaded) at the first request."""
        source = self._client_source
        if source is None:
            return _client("dynamodb", self._region_name, self._endpoint_url)
        return source() if callable(source) and not hasattr(source, "meta") else source

    @functools.cached_property
    def _errors(self) -> tuple[Any, tuple[type[Exception], ...]]:
        import botocore.exceptions  # noqa: PLC0415 - the AWS SDK loads with the first request

        exceptions = botocore.exceptions
        return exceptions.ClientError, (exceptions.ClientError, exceptions.BotoCoreError)

    @property
    def region_name(self) -> str | None:
        """Where the table is (the client's region)."""
        region: str | None = self._client.meta.region_name
        return region

    @property
    def endpoint_url(self) -> str | None:
        """The endpoint the client reaches (where ``opener`` stores reach it too)."""
        endpoint: str | None = self._client.meta.endpoint_url
        return endpoint

    @property
    def volatile(self) -> bool:
        """Never: the table outlives every process."""
        return False

    # region requests

    def _call(self, operation: str, **request: Any) -> dict[str, Any]:
        """One request; a lost condition raises _Conflict, any other failure StoreError."""
        try:
            response: dict[str, Any] = (
                getattr(self._client, operation)(TableName=self.table_name, **request)
                if operation != "transact_write_items"
                else self._client.transact_write_items(**request)
            )
        except self._errors[0] as e:
            code = e.response.get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                raise _Conflict(["ConditionalCheckFailed"]) from e
            if code == "TransactionCanceledException":
                reasons = [r.get("Code") for r in e.response.get("CancellationReasons", [])]
                if any(reason == "TransactionConflict" for reason in reasons) or reasons:
                    raise _Conflict([None if r == "None" else r for r in reasons]) from e
            msg = f"DynamoDB {operation} on {self.table_name} failed: {e}"
            raise StoreError(msg) from e
        except self._errors[1] as e:
            msg = f"DynamoDB {operation} on {self.table_name} failed: {e}"
            raise StoreError(msg) from e
        return response

    def _transact(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            next(iter(item.values()))["TableName"] = self.table_name
        self._call("transact_write_items", TransactItems=items, ClientRequestToken=uuid.uuid4().hex)
        if self._on_timer_set is not None:
            for item in items:
                put = item.get("Put", {}).get("Item", {})
                if put.get(layout.SORT, {}).get("S", "").startswith(layout.TIMER):
                    due = from_epoch_millis(int(put["dd"]["N"]))
                    self._on_timer_set(put["id"]["S"], put["k"]["S"], due)

    def _default_s3_client(self) -> Any:
        """An S3 client like the DynamoDB one, made when a payload first needs it."""
        return _client("s3", self.region_name, self.endpoint_url)

    def _get(self, partition: str, sort: str) -> dict[str, Any] | None:
        response = self._call(
            "get_item",
            Key={layout.PARTITION: _s(partition), layout.SORT: _s(sort)},
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def _query(self, **request: Any) -> Iterator[dict[str, Any]]:
        """Every item a Query returns, page after page."""
        while True:
            response = self._call("query", **request)
            yield from response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if last is None:
                return
            request["ExclusiveStartKey"] = last

    # endregion
    # region reading executions

    def _head(self, execution_id: str) -> _Head | None:
        item = self._get(layout.execution_partition(execution_id), layout.HEAD)
        return self._head_of(item) if item is not None else None

    def _require_head(self, execution_id: str) -> _Head:
        head = self._head(execution_id)
        if head is None:
            raise ExecutionNotFoundError(f"No execution with id {execution_id!r}")
        return head

    def _head_of(self, item: dict[str, Any]) -> _Head:
        owner = _text(item, "lo")
        lease = (
            LeaseHolder(
                owner,
                _text(item, "lh"),
                from_epoch_millis(_number(item, "ls") or 0),
                from_epoch_millis(_number(item, "lu") or 0),
            )
            if owner is not None
            else None
        )
        end_ms = _number(item, "t1")
        record = ExecutionRecord(
            execution_id=item["id"]["S"],
            function_name=item["fn"]["S"],
            execution_name=item["nm"]["S"],
            status=ExecutionStatus(item["st"]["S"]),
            input_payload=_text(item, "in"),
            start_timestamp=from_epoch_millis(int(item["t0"]["N"])),
            result=_text(item, "rs"),
            error=error_of(_text(item, "er")),
            end_timestamp=from_epoch_millis(end_ms) if end_ms is not None else None,
            timeout_seconds=_number(item, "to"),
            parent_execution_id=_text(item, "pe"),
            parent_operation_id=_text(item, "po"),
            lease=lease,
        )
        return _Head(item, record, _number(item, "ep") or 0, _number(item, "dd"))

    def _full_record(self, head: _Head) -> ExecutionRecord:
        """The record with its input and outcome, read from the log where not inline."""
        record = head.record
        item = head.item
        if "ix" in item:
            start = self._entry(head.record.execution_id, 1)
            started = start.events[0].get("ExecutionStartedDetails", {}) if start.events else {}
            record = dataclasses.replace(
                record, input_payload=started.get("Input", {}).get("Payload")
            )
        outcome_seq = _number(item, "rx")
        if outcome_seq is not None:
            result, error = _outcome(self._entry(record.execution_id, outcome_seq).events)
            record = dataclasses.replace(record, result=result, error=error)
        return record

    def get_execution(self, execution_id: str) -> ExecutionRecord:
        return self._full_record(self._require_head(execution_id))

    def list_executions(
        self,
        *,
        function_name: str | None = None,
        status: ExecutionStatus | None = None,
        started_after: datetime.datetime | None = None,
        started_before: datetime.datetime | None = None,
        page_token: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> ExecutionPage:
        check_page_size(limit)
        after = page_position(page_token)
        low = layout.start_position(*after) if after is not None else None
        if started_after is not None:
            bound = layout.start_position(epoch_millis(started_after), "~")
            low = max(low, bound) if low is not None else bound
        high = (
            layout.start_position(epoch_millis(started_before), "")
            if started_before is not None
            else None
        )
        if function_name is not None:
            partitions = [("gf", function_name, layout.BY_FUNCTION)]
        else:
            partitions = [
                ("ga", f"A#{shard}", layout.BY_START) for shard in range(layout.START_SHARDS)
            ]
        positions = heapq.merge(
            *(self._positions(name, value, index, low, high) for name, value, index in partitions)
        )
        found: list[ExecutionRecord] = []
        wanted = ExecutionStatus(status) if status is not None else None
        batch: list[str] = []
        for _, partition in positions:
            batch.append(partition)
            if len(batch) == layout.START_SHARDS * 4:
                found.extend(self._records(batch, wanted))
                batch = []
            if len(found) > limit:
                break
        else:
            found.extend(self._records(batch, wanted))
        more = len(found) > limit
        page = found[:limit]
        return ExecutionPage(page, token_after(page[-1]) if more else None)

    def _positions(
        self, name: str, value: str, index: str, low: str | None, high: str | None
    ) -> Iterator[tuple[str, str]]:
        condition = "#k = :k"
        values: dict[str, Any] = {":k": _s(value)}
        if low is not None and high is not None:
            condition += " AND gs BETWEEN :low AND :high"
            values.update({":low": _s(low + "\0"), ":high": _s(high)})
        elif low is not None:
            condition += " AND gs > :low"
            values[":low"] = _s(low)
        elif high is not None:
            condition += " AND gs < :high"
            values[":high"] = _s(high)
        for item in self._query(
            IndexName=index,
            KeyConditionExpression=condition,
            ExpressionAttributeNames={"#k": name},
            ExpressionAttributeValues=values,
        ):
            if high is None or item["gs"]["S"] < high:
                yield item["gs"]["S"], item[layout.PARTITION]["S"]

    def _records(
        self, partitions: list[str], status: ExecutionStatus | None
    ) -> list[ExecutionRecord]:
        """The executions of these partitions, in the same order, of ``status`` if given."""
        heads: dict[str, _Head] = {}
        keys = [{layout.PARTITION: _s(p), layout.SORT: _s(layout.HEAD)} for p in partitions]
        while keys:
            request = {self.table_name: {"Keys": keys[:100], "ConsistentRead": True}}
            keys = keys[100:]
            while request:
                response = self._call_batch_get(request)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    heads[item[layout.PARTITION]["S"]] = self._head_of(item)
                request = response.get("UnprocessedKeys") or {}
        return [
            self._full_record(heads[p])
            for p in partitions
            if p in heads and (status is None or heads[p].record.status is status)
        ]

    def _call_batch_get(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            response: dict[str, Any] = self._client.batch_get_item(RequestItems=request)
        except self._errors[1] as e:
            msg = f"DynamoDB batch_get_item on {self.table_name} failed: {e}"
            raise StoreError(msg) from e
        return response

    # endregion
    # region the log

    def _entry_item(self, partition: str, seq: int, entry: Entry, expires: int) -> dict[str, Any]:
        data = pack(entry.body())
        item: dict[str, Any] = {
            layout.PARTITION: _s(partition),
            layout.SORT: _s(layout.log_key(seq)),
            "e0": _n(entry.first_event_id),
            layout.TTL: _n(expires),
        }
        if len(data) <= ITEM_LIMIT_BYTES:
            item["b"] = _b(data)
        else:
            self._payloads.check(len(data), ITEM_LIMIT_BYTES, _what(entry))
            item["r"] = _s(self._payloads.put(f"{partition}/{layout.log_key(seq)}", data))
        return item

    def _decode(self, item: dict[str, Any]) -> Entry:
        reference = _text(item, "r")
        data = self._payloads.get(reference) if reference is not None else item["b"]["B"]
        return Entry.of(unpack(data), int(item["e0"]["N"]))

    def _entry(self, execution_id: str, seq: int) -> Entry:
        item = self._get(layout.execution_partition(execution_id), layout.log_key(seq))
        if item is None:
            msg = f"Execution {execution_id} has no log item {seq}"
            raise StoreError(msg)
        return self._decode(item)

    def _entries(self, partition: str, after: int) -> Iterator[tuple[int, Entry]]:
        """The log items after sequence number ``after``, in order."""
        for item in self._query(
            KeyConditionExpression="p = :p AND s BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":p": _s(partition),
                ":low": _s(layout.log_key(after + 1)),
                ":high": _s(layout.LOG_END),
            },
            ConsistentRead=True,
        ):
            yield layout.log_sequence(item[layout.SORT]["S"]), self._decode(item)

    def _tail(self, partition: str) -> tuple[int, int]:
        """(sequence number, next event id) after the last log item."""
        response = self._call(
            "query",
            KeyConditionExpression="p = :p AND s BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":p": _s(partition),
                ":low": _s(layout.LOG),
                ":high": _s(layout.LOG_END),
            },
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        if not items:
            return 0, 1
        entry = self._decode(items[0])
        return layout.log_sequence(items[0][layout.SORT]["S"]), entry.next_event_id

    def _load(self, execution_id: str) -> _Folded:
        """The execution's log folded to its end, reading only what the cache lacks."""
        with self._lock:
            cached = self._folded.get(execution_id)
            folded = cached.copy() if cached is not None else _Folded()
        for seq, entry in self._entries(layout.execution_partition(execution_id), folded.seq):
            folded.apply(seq, entry)
        self._remember(execution_id, folded)
        return folded

    def _remember(self, execution_id: str, folded: _Folded) -> None:
        with self._lock:
            self._folded[execution_id] = folded.copy()
            self._folded.move_to_end(execution_id)
            kept = sum(len(f.operations) for f in self._folded.values())
            while kept > CACHED_OPERATIONS and len(self._folded) > 1:
                _, dropped = self._folded.popitem(last=False)
                kept -= len(dropped.operations)

    def _advance_cache(self, execution_id: str, seq: int, entry: Entry) -> None:
        """Fold a write this store made into the cache, if the cache was at its end."""
        with self._lock:
            cached = self._folded.get(execution_id)
            if cached is not None and cached.seq == seq - 1:
                cached.apply(seq, entry)

    # endregion
    # region starting executions

    def create_execution(
        self, new: NewExecution, now: datetime.datetime
    ) -> tuple[ExecutionRecord, bool]:
        now_ms = epoch_millis(now)
        partition = layout.execution_partition(new.execution_id)
        name = self._get(layout.name_partition(new.function_name, new.execution_name), layout.NAME)
        if name is not None:
            return self._existing(name, new), False
        details: dict[str, Any] = {"Input": payload(new.input_payload)}
        if new.timeout_seconds is not None:
            details["ExecutionTimeout"] = new.timeout_seconds
        start = Entry("start", [], [execution_event("ExecutionStarted", now, details)])
        expires = self._expiry(now, new.timeout_seconds)
        head = self._new_head(new, now_ms, expires)
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "Item": {
                        layout.PARTITION: _s(
                            layout.name_partition(new.function_name, new.execution_name)
                        ),
                        layout.SORT: _s(layout.NAME),
                        "x": _s(new.execution_id),
                        layout.TTL: _n(expires),
                    },
                    "ConditionExpression": "attribute_not_exists(p)",
                }
            },
            {"Put": {"Item": head, "ConditionExpression": "attribute_not_exists(p)"}},
            {"Put": {"Item": self._entry_item(partition, 1, start, expires)}},
        ]
        if new.timeout_seconds is not None and new.timeout_timer:
            due = now + datetime.timedelta(seconds=new.timeout_seconds)
            items.append(
                self._timer_put(
                    new.execution_id, new.function_name, EXECUTION_TIMEOUT_TIMER, due, expires
                )
            )
        if new.parent_execution_id is not None:
            items.extend(self._child_link(new, partition, expires))
        self._register_function(new.function_name)
        try:
            self._transact(items)
        except _Conflict as conflict:
            if new.parent_execution_id is not None and conflict.reasons[-3:-2] == [
                "ConditionalCheckFailed"
            ]:
                parent = self._head(new.parent_execution_id)
                status = parent.record.status.value if parent is not None else None
                if parent is None or not parent.running:
                    raise parent_not_running_error(new.parent_execution_id, status) from None
            name = self._get(
                layout.name_partition(new.function_name, new.execution_name), layout.NAME
            )
            if name is not None:
                return self._existing(name, new), False
            raise StoreError(f"Could not start {new.execution_id}: {conflict.reasons}") from None
        return self.get_execution(new.execution_id), True

    def _new_head(self, new: NewExecution, now_ms: int, expires: int) -> dict[str, Any]:
        head: dict[str, Any] = {
            layout.PARTITION: _s(layout.execution_partition(new.execution_id)),
            layout.SORT: _s(layout.HEAD),
            "id": _s(new.execution_id),
            "fn": _s(new.function_name),
            "nm": _s(new.execution_name),
            "st": _s(ExecutionStatus.RUNNING.value),
            "t0": _n(now_ms),
            "ep": _n(0),
            "dd": _n(now_ms),
            "gd": _s(new.function_name),
            "gf": _s(new.function_name),
            "gs": _s(layout.start_position(now_ms, new.execution_id)),
            "ga": _s(layout.start_shard(new.execution_id)),
            "xp": _n(expires),
        }
        if new.input_payload is not None:
            if len(new.input_payload.encode()) <= INLINE_INPUT_BYTES:
                head["in"] = _s(new.input_payload)
            else:
                head["ix"] = _n(1)
        if new.timeout_seconds is not None:
            head["to"] = _n(new.timeout_seconds)
        if new.parent_execution_id is not None and new.parent_operation_id is not None:
            head["pe"] = _s(new.parent_execution_id)
            head["po"] = _s(new.parent_operation_id)
        return head

    def _child_link(self, new: NewExecution, partition: str, expires: int) -> list[dict[str, Any]]:
        """A child's part of its creation: its parent runs, links to it, and no longer
        waits for the target to start."""
        assert new.parent_execution_id is not None and new.parent_operation_id is not None
        parent = layout.execution_partition(new.parent_execution_id)
        return [
            {
                "ConditionCheck": {
                    "Key": {layout.PARTITION: _s(parent), layout.SORT: _s(layout.HEAD)},
                    "ConditionExpression": "st = :running",
                    "ExpressionAttributeValues": {":running": _s(ExecutionStatus.RUNNING.value)},
                }
            },
            {
                "Put": {
                    "Item": {
                        layout.PARTITION: _s(parent),
                        layout.SORT: _s(layout.CHILD + partition),
                        "x": _s(new.execution_id),
                        layout.TTL: _n(expires),
                    }
                }
            },
            {
                "Delete": {
                    "Key": self._timer_key(
                        new.parent_execution_id, start_target_timer(new.parent_operation_id)
                    )
                }
            },
        ]

    def _existing(self, name: dict[str, Any], new: NewExecution) -> ExecutionRecord:
        if new.parent_execution_id is not None and new.parent_operation_id is not None:
            key = start_target_timer(new.parent_operation_id)
            self._call("delete_item", Key=self._timer_key(new.parent_execution_id, key))
        return self.get_execution(name["x"]["S"])

    def _register_function(self, function_name: str) -> None:
        """Note the function in the function list once per store (its timers are read by it)."""
        if function_name in self._functions:
            return
        self._call(
            "put_item",
            Item={layout.PARTITION: _s(layout.FUNCTION), layout.SORT: _s(function_name)},
        )
        self._functions.add(function_name)

    def _expiry(self, now: datetime.datetime, timeout_seconds: int | None) -> int:
        """The TTL of items written for a running execution: past its end plus retention."""
        lifetime = (
            datetime.timedelta(seconds=timeout_seconds)
            if timeout_seconds is not None
            else LONGEST_EXECUTION
        )
        return int((now + lifetime + self.retention).timestamp())

    # endregion
    # region invocations

    def acquire_lease(
        self,
        execution_id: str,
        invocation_id: str,
        now: datetime.datetime,
        lease_until: datetime.datetime,
        holder: str | None = None,
    ) -> Lease | None:
        partition = layout.execution_partition(execution_id)
        now_ms, until_ms = epoch_millis(now), epoch_millis(lease_until)
        for _ in range(CONTENTION_ATTEMPTS):
            head = self._require_head(execution_id)
            if not head.running:
                return None
            held = head.record.lease
            if (
                held is not None
                and held.invocation_id != invocation_id
                and epoch_millis(held.until) > now_ms
            ):
                self._keep_due_until_expiry(partition, held)
                return None
            folded = self._load(execution_id)
            events: list[Event] = []
            if held is not None:
                error = exit_error(held.invocation_id)
                events.append(invocation_completed(held.started, now, held.invocation_id, error))
            seq = folded.seq + 1
            entry = Entry("lease", [], events, folded.next_event)  # the takeover's fence
            epoch = head.epoch + 1
            update = {
                "Update": {
                    "Key": {layout.PARTITION: _s(partition), layout.SORT: _s(layout.HEAD)},
                    "UpdateExpression": (
                        "SET ep = :epoch, lo = :owner, ls = :started, lu = :until"
                        # Due by the lease's expiry; an earlier due time stays untouched.
                        + (", dd = :until" if head.due is None or head.due > until_ms else "")
                        + (", lh = :holder" if holder is not None else " REMOVE lh")
                    ),
                    "ConditionExpression": "st = :running AND ep = :seen",
                    "ExpressionAttributeValues": {
                        ":epoch": _n(epoch),
                        ":seen": _n(head.epoch),
                        ":owner": _s(invocation_id),
                        ":started": _n(now_ms),
                        ":until": _n(until_ms),
                        ":running": _s(ExecutionStatus.RUNNING.value),
                        **({":holder": _s(holder)} if holder is not None else {}),
                    },
                }
            }
            try:
                if held is None:
                    # No invocation to fence off: the lease is the execution item's
                    # alone, and a waker that writes after the load takes the next
                    # log position first, which the invocation's next write sees.
                    self._call("update_item", **update["Update"])
                    seq = folded.seq
                else:
                    self._transact([self._log_put(partition, seq, entry, head), update])
                    folded.apply(seq, entry)
            except _Conflict:
                continue
            self._remember(execution_id, folded)
            with self._lock:
                self._cursors[(execution_id, epoch)] = _Cursor(seq + 1, folded.next_event)
            record = dataclasses.replace(
                self._full_record_of(head, folded),
                lease=LeaseHolder(
                    invocation_id, holder, from_epoch_millis(now_ms), from_epoch_millis(until_ms)
                ),
            )
            return Lease(record, invocation_id, epoch, seq, now, tuple(folded.operations.values()))
        raise StoreError(f"Could not take the lease of {execution_id}: too much contention")

    def _full_record_of(self, head: _Head, folded: _Folded) -> ExecutionRecord:
        return dataclasses.replace(head.record, input_payload=folded.input_payload)

    def _keep_due_until_expiry(self, partition: str, held: LeaseHolder) -> None:
        """A live lease refused an invocation: its expiry is the execution's due work."""
        # If the lease changed meanwhile, whoever changed it set the due time.
        with contextlib.suppress(_Conflict):
            self._call(
                "update_item",
                Key={layout.PARTITION: _s(partition), layout.SORT: _s(layout.HEAD)},
                UpdateExpression="SET dd = :until",
                ConditionExpression="lo = :owner AND st = :running",
                ExpressionAttributeValues={
                    ":until": _n(epoch_millis(held.until)),
                    ":owner": _s(held.invocation_id),
                    ":running": _s(ExecutionStatus.RUNNING.value),
                },
            )

    def _log_put(self, partition: str, seq: int, entry: Entry, head: _Head) -> dict[str, Any]:
        return {
            "Put": {
                "Item": self._entry_item(partition, seq, entry, self._expiry_of(head)),
                "ConditionExpression": "attribute_not_exists(p)",
            }
        }

    def _expiry_of(self, head: _Head) -> int:
        return _number(head.item, "xp") or self._expiry(
            head.record.start_timestamp, head.record.timeout_seconds
        )

    def reload(self, lease: Lease) -> Lease:
        execution_id = lease.execution.execution_id
        head = self._require_head(execution_id)
        if head.epoch != lease.epoch or not head.running:
            raise LeaseLostError(f"Invocation {lease.invocation_id} lost its lease")
        folded = self._load(execution_id)
        with self._lock:
            self._cursors[(execution_id, lease.epoch)] = _Cursor(folded.seq + 1, folded.next_event)
        return dataclasses.replace(
            lease,
            execution=self._full_record_of(head, folded),
            wake_seq=folded.seq,
            operations=tuple(folded.operations.values()),
        )

    def _cursor(self, lease: Lease) -> _Cursor:
        with self._lock:
            cursor = self._cursors.get((lease.execution.execution_id, lease.epoch))
        if cursor is None:
            raise LeaseLostError(f"Invocation {lease.invocation_id} holds no lease on this store")
        return cursor

    def _catch_up(self, lease: Lease, cursor: _Cursor) -> None:
        """Read what others wrote at and after the cursor: a waker's facts move the
        cursor on (and mark it woken); anything else means the lease is lost."""
        execution_id = lease.execution.execution_id
        partition = layout.execution_partition(execution_id)
        for seq, entry in self._entries(partition, cursor.next_seq - 1):
            if entry.kind in LEASE_CHANGES or entry.kind == "start":
                raise LeaseLostError(f"Invocation {lease.invocation_id} lost its lease")
            cursor.woken = True
            cursor.next_seq = seq + 1
            cursor.next_event = entry.next_event_id

    def write(self, lease: Lease, batch: CheckpointBatch) -> None:
        cursor = self._cursor(lease)
        for part in _parts(batch):
            self._write_part(lease, cursor, part)

    def _write_part(self, lease: Lease, cursor: _Cursor, batch: CheckpointBatch) -> None:
        execution_id = lease.execution.execution_id
        partition = layout.execution_partition(execution_id)
        expires = self._expiry(lease.execution.start_timestamp, lease.execution.timeout_seconds)
        indexes = self._index_items(lease.execution, batch, expires)
        for _ in range(CONTENTION_ATTEMPTS):
            entry = Entry("write", list(batch.operations.values()), batch.events, cursor.next_event)
            seq = cursor.next_seq
            put = {
                "Item": self._entry_item(partition, seq, entry, expires),
                "ConditionExpression": "attribute_not_exists(p)",
            }
            try:
                if indexes:
                    self._transact([{"Put": put}, *indexes])
                else:
                    self._call("put_item", **put)
            except _Conflict as conflict:
                if conflict.reasons and conflict.reasons[0] not in (None, "TransactionConflict"):
                    self._catch_up(lease, cursor)
                continue
            cursor.next_seq = seq + 1
            cursor.next_event = entry.next_event_id
            self._advance_cache(execution_id, seq, entry)
            return
        raise StoreError(f"Could not write to {execution_id}: too much contention")

    def _index_items(
        self, execution: ExecutionRecord, batch: CheckpointBatch, expires: int
    ) -> list[dict[str, Any]]:
        """What a write of ``batch`` changes beside its log item: operations that
        outside callers change, timers (with the operation they wait on), callbacks."""
        partition = layout.execution_partition(execution.execution_id)
        operations = list(batch.operations.values())
        return [
            *(
                self._operation_put(partition, op, expires)
                for op in operations
                if op.operation_type in _INDEXED_TYPES
            ),
            *self._timer_changes(execution, batch.timers.items(), expires, batch.operations),
            *self._callback_puts(execution.execution_id, operations, expires),
        ]

    def _operation_put(self, partition: str, operation: Operation, expires: int) -> dict[str, Any]:
        return {
            "Update": {
                "Key": {
                    layout.PARTITION: _s(partition),
                    layout.SORT: _s(layout.OPERATION + operation.operation_id),
                },
                "UpdateExpression": "SET o = :o, os = :status, #ttl = :ttl ADD ov :one",
                "ExpressionAttributeNames": {"#ttl": layout.TTL},
                "ExpressionAttributeValues": {
                    ":o": _b(pack(operation_row(operation))),
                    ":status": _s(operation.status.value),
                    ":ttl": _n(expires),
                    ":one": _n(1),
                },
            }
        }

    def _timer_key(self, execution_id: str, key: str) -> dict[str, Any]:
        return {
            layout.PARTITION: _s(layout.execution_partition(execution_id)),
            layout.SORT: _s(layout.TIMER + key),
        }

    def _timer_put(
        self,
        execution_id: str,
        function_name: str,
        key: str,
        due: datetime.datetime,
        expires: int,
        *,
        operation: Operation | None = None,
    ) -> dict[str, Any]:
        item = {
            **self._timer_key(execution_id, key),
            "id": _s(execution_id),
            "k": _s(key),
            "gd": _s(function_name),
            "dd": _n(epoch_millis(due)),
            layout.TTL: _n(expires),
        }
        if operation is not None:
            item["o"] = _b(pack(operation_row(operation)))
        return {"Put": {"Item": item}}

    def _timer_changes(
        self,
        execution: ExecutionRecord,
        timers: Collection[tuple[str, datetime.datetime | None]],
        expires: int,
        operations: Mapping[str, Operation],
    ) -> list[dict[str, Any]]:
        """Timer items to set or clear; an operation timer's item holds the operation
        it ends (a wait, a step to retry), which only that timer changes next."""
        changes: list[dict[str, Any]] = []
        for key, due in timers:
            if due is None:
                changes.append({"Delete": {"Key": self._timer_key(execution.execution_id, key)}})
                continue
            parsed = parse_operation_timer(key)
            operation = (
                operations.get(parsed[1]) if parsed and parsed[0] == OPERATION_TIMER else None
            )
            changes.append(
                self._timer_put(
                    execution.execution_id,
                    execution.function_name,
                    key,
                    due,
                    expires,
                    operation=operation,
                )
            )
        return changes

    def _callback_puts(
        self, execution_id: str, operations: Sequence[Operation], expires: int
    ) -> list[dict[str, Any]]:
        return [
            {
                "Put": {
                    "Item": {
                        layout.PARTITION: _s(layout.callback_partition(details.token_hash)),
                        layout.SORT: _s(layout.CALLBACK),
                        "x": _s(execution_id),
                        "o": _s(operation.operation_id),
                        layout.TTL: _n(expires),
                    }
                }
            }
            for operation in operations
            if (details := operation.callback_details) is not None and details.token_hash
        ]

    def finish_invocation(
        self,
        lease: Lease,
        now: datetime.datetime,
        outcome: InvocationOutcome,
        batch: CheckpointBatch | None = None,
    ) -> bool:
        execution_id = lease.execution.execution_id
        partition = layout.execution_partition(execution_id)
        cursor = self._cursor(lease)
        suspended = isinstance(outcome, Suspended)
        events, ended = ending_events(lease, now, outcome)
        expires = self._expiry(lease.execution.start_timestamp, lease.execution.timeout_seconds)
        indexes = self._index_items(lease.execution, batch, expires) if batch else []
        if len(indexes) > MAX_TRANSITIONS_PER_WRITE:
            self.write(lease, batch or CheckpointBatch())  # too many for the end's transaction
            batch, indexes = None, []
        for _ in range(CONTENTION_ATTEMPTS):
            if suspended and cursor.woken:
                if batch:
                    self.write(lease, batch)
                return False
            head = self._require_head(execution_id)
            if head.epoch != lease.epoch or not head.running:
                raise LeaseLostError(f"Invocation {lease.invocation_id} lost its lease")
            seq = cursor.next_seq
            operations = list(batch.operations.values()) if batch else []
            logged = [*(batch.events if batch else ()), *events]
            entry = Entry("finish", operations, logged, cursor.next_event)
            release = "REMOVE lo, lh, ls, lu"
            if not isinstance(outcome, InvocationFailed):
                release += ", dd"
            items = [
                self._log_put(partition, seq, entry, head),
                {
                    "Update": {
                        "Key": {layout.PARTITION: _s(partition), layout.SORT: _s(layout.HEAD)},
                        "UpdateExpression": release,
                        "ConditionExpression": "ep = :epoch AND st = :running",
                        "ExpressionAttributeValues": {
                            ":epoch": _n(lease.epoch),
                            ":running": _s(ExecutionStatus.RUNNING.value),
                        },
                    }
                },
                *indexes,
            ]
            ending: ExecutionRecord | None = None
            if ended is not None:
                status, result, error = ended
                ending = dataclasses.replace(
                    head.record,
                    status=status,
                    result=result,
                    error=error,
                    end_timestamp=now,
                    lease=None,
                )
                items = [items[0], *self._ending(head, ending, seq, now), *indexes]
            try:
                self._transact(items)
            except _Conflict as conflict:
                if conflict.reasons and conflict.reasons[0] not in (None, "TransactionConflict"):
                    self._catch_up(lease, cursor)
                continue
            self._advance_cache(execution_id, seq, entry)
            with self._lock:
                self._cursors.pop((execution_id, lease.epoch), None)
            if ending is not None:
                self._after_ending(ending, now)
            return True
        raise StoreError(f"Could not finish the invocation of {execution_id}: too much contention")

    def _ending(
        self, head: _Head, ending: ExecutionRecord, seq: int, now: datetime.datetime
    ) -> list[dict[str, Any]]:
        """The writes that end an execution beside its log item: its execution item
        (status, outcome, TTL), its name's TTL and its parent's invoke."""
        expires = int((now + self.retention).timestamp())
        names: dict[str, str] = {"#ttl": layout.TTL}
        values: dict[str, Any] = {
            ":status": _s(ending.status.value),
            ":end": _n(epoch_millis(now)),
            ":ttl": _n(expires),
            ":running": _s(ExecutionStatus.RUNNING.value),
            ":epoch": _n(head.epoch),
        }
        assignments = ["st = :status", "t1 = :end", "#ttl = :ttl", "xp = :ttl"]
        result_text, error_json = ending.result, error_text(ending.error)
        inline = len((result_text or "").encode()) + len((error_json or "").encode())
        if inline <= INLINE_OUTCOME_BYTES:
            if result_text is not None:
                assignments.append("rs = :result")
                values[":result"] = _s(result_text)
            if error_json is not None:
                assignments.append("er = :error")
                values[":error"] = _s(error_json)
        else:
            assignments.append("rx = :outcome")
            values[":outcome"] = _n(seq)
        update = {
            "Update": {
                "Key": {
                    layout.PARTITION: _s(layout.execution_partition(ending.execution_id)),
                    layout.SORT: _s(layout.HEAD),
                },
                "UpdateExpression": "SET " + ", ".join(assignments) + " REMOVE lo, lh, ls, lu, dd",
                "ConditionExpression": "st = :running AND ep = :epoch",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }
        name = {
            "Update": {
                "Key": {
                    layout.PARTITION: _s(
                        layout.name_partition(ending.function_name, ending.execution_name)
                    ),
                    layout.SORT: _s(layout.NAME),
                },
                "UpdateExpression": "SET #ttl = :ttl",
                "ExpressionAttributeNames": {"#ttl": layout.TTL},
                "ExpressionAttributeValues": {":ttl": _n(expires)},
            }
        }
        return [update, name, *self._parent_completion(ending, now)]

    def _parent_completion(
        self, child: ExecutionRecord, now: datetime.datetime
    ) -> list[dict[str, Any]]:
        """The parent's part of a child's end: its invoke completes, in the same write."""
        parent_id, operation_id = child.parent_execution_id, child.parent_operation_id
        if parent_id is None or operation_id is None:
            return []
        parent = self._head(parent_id)
        if parent is None or not parent.running:
            return []
        return (
            self._wake_items(
                parent,
                operation_id,
                lambda op: on_completion(op, child_completion(child), now),
                now,
            )
            or []
        )

    def _after_ending(self, ended: ExecutionRecord, now: datetime.datetime) -> None:
        """Once an execution has ended: drop its timers and stop the children it runs."""
        partition = layout.execution_partition(ended.execution_id)
        for item in self._query(
            KeyConditionExpression="p = :p AND begins_with(s, :timers)",
            ExpressionAttributeValues={":p": _s(partition), ":timers": _s(layout.TIMER)},
            ConsistentRead=True,
        ):
            self._call(
                "delete_item",
                Key={layout.PARTITION: item[layout.PARTITION], layout.SORT: item[layout.SORT]},
            )
        with self._lock:
            for key in [k for k in self._cursors if k[0] == ended.execution_id]:
                del self._cursors[key]
        for item in self._query(
            KeyConditionExpression="p = :p AND begins_with(s, :children)",
            ExpressionAttributeValues={":p": _s(partition), ":children": _s(layout.CHILD)},
            ConsistentRead=True,
        ):
            child = self._head(item["x"]["S"])
            if child is not None and child.running:
                error = parent_ended_error(ended.execution_id, ended.status)
                self._terminate(child.record.execution_id, ExecutionStatus.STOPPED, now, error)

    def abandon_invocation(
        self,
        execution_id: str,
        invocation_id: str,
        now: datetime.datetime,
        error: ErrorObject,
        retry_at: datetime.datetime,
    ) -> bool:
        partition = layout.execution_partition(execution_id)
        for _ in range(CONTENTION_ATTEMPTS):
            head = self._require_head(execution_id)
            held = head.record.lease
            if held is None or held.invocation_id != invocation_id:
                return False
            seq, next_event = self._tail(partition)
            event = invocation_completed(held.started, now, invocation_id, error)
            entry = Entry("abandon", [], [event], next_event)
            try:
                self._transact(
                    [
                        self._log_put(partition, seq + 1, entry, head),
                        {
                            "Update": {
                                "Key": {
                                    layout.PARTITION: _s(partition),
                                    layout.SORT: _s(layout.HEAD),
                                },
                                "UpdateExpression": (
                                    "SET ep = ep + :one, dd = :retry REMOVE lo, lh, ls, lu"
                                ),
                                "ConditionExpression": "lo = :owner AND st = :running",
                                "ExpressionAttributeValues": {
                                    ":one": _n(1),
                                    ":retry": _n(epoch_millis(retry_at)),
                                    ":owner": _s(invocation_id),
                                    ":running": _s(ExecutionStatus.RUNNING.value),
                                },
                            }
                        },
                    ]
                )
            except _Conflict:
                continue
            self._advance_cache(execution_id, seq + 1, entry)
            return True
        raise StoreError(f"Could not record the end of {invocation_id}: too much contention")

    # endregion
    # region ending from outside

    def stop_execution(self, execution_id: str, now: datetime.datetime, error: ErrorObject) -> bool:
        self._require_head(execution_id)
        return self._terminate(execution_id, ExecutionStatus.STOPPED, now, error)

    def time_out_execution(self, execution_id: str, now: datetime.datetime) -> bool:
        head = self._require_head(execution_id)
        error = timed_out_error(head.record.timeout_seconds)
        return self._terminate(execution_id, ExecutionStatus.TIMED_OUT, now, error)

    def _terminate(
        self, execution_id: str, status: ExecutionStatus, now: datetime.datetime, error: ErrorObject
    ) -> bool:
        """End a RUNNING execution from outside (timeout, stop), fencing off its invocation."""
        partition = layout.execution_partition(execution_id)
        for _ in range(CONTENTION_ATTEMPTS):
            head = self._require_head(execution_id)
            if not head.running:
                return False
            seq, next_event = self._tail(partition)
            entry = Entry("end", [], [terminated_event(status, now, error)], next_event)
            ending = dataclasses.replace(
                head.record, status=status, error=error, end_timestamp=now, lease=None
            )
            items = [
                self._log_put(partition, seq + 1, entry, head),
                *self._ending(head, ending, seq + 1, now),
            ]
            # Fence off the invocation: its epoch moves on.
            items[1]["Update"]["UpdateExpression"] = items[1]["Update"]["UpdateExpression"].replace(
                "SET ", "SET ep = ep + :one, ", 1
            )
            items[1]["Update"]["ExpressionAttributeValues"][":one"] = _n(1)
            try:
                self._transact(items)
            except _Conflict:
                continue
            self._advance_cache(execution_id, seq + 1, entry)
            self._after_ending(ending, now)
            return True
        raise StoreError(f"Could not end {execution_id}: too much contention")

    # endregion
    # region wakers

    def _operation(self, execution_id: str, operation_id: str) -> tuple[Operation, int] | None:
        """The latest state of a waiting operation and its version."""
        item = self._get(layout.execution_partition(execution_id), layout.OPERATION + operation_id)
        if item is None:
            return None
        return operation_of(unpack(item["o"]["B"])), int(item["ov"]["N"])

    def _wake_items(
        self,
        head: _Head,
        operation_id: str,
        transition_of: Callable[[Operation], Transition | None],
        now: datetime.datetime,
        *,
        wake: bool = True,
        waiting: Operation | None = None,
    ) -> list[dict[str, Any]] | None:
        """The writes of a waker's change to one operation: None when it no longer waits.

        ``waiting`` is the operation as its timer's item holds it; otherwise it is
        read from its ``O#`` item, whose update is conditioned on the version read.
        With ``wake`` the change is logged and the execution made due now.
        """
        execution_id = head.record.execution_id
        partition = layout.execution_partition(execution_id)
        found = (
            (waiting, None) if waiting is not None else self._operation(execution_id, operation_id)
        )
        if found is None:
            # Not one that callers outside change: its state is in the log.
            logged = self._load(execution_id).operations.get(operation_id)
            found = (logged, None) if logged is not None else None
        transition = transition_of(found[0]) if found is not None else None
        if found is None or transition is None:
            return None
        version = found[1]
        expires = self._expiry_of(head)
        operation = transition.operation
        timers = [(t.key, t.due) for t in transition.timers]
        items = self._timer_changes(head.record, timers, expires, {operation_id: operation})
        if version is not None:
            items.append(
                {
                    "Update": {
                        "Key": {
                            layout.PARTITION: _s(partition),
                            layout.SORT: _s(layout.OPERATION + operation_id),
                        },
                        "UpdateExpression": "SET o = :o, os = :status ADD ov :one",
                        "ConditionExpression": "ov = :version",
                        "ExpressionAttributeValues": {
                            ":o": _b(pack(operation_row(operation))),
                            ":status": _s(operation.status.value),
                            ":version": _n(version),
                            ":one": _n(1),
                        },
                    }
                }
            )
        if wake:
            seq, next_event = self._tail(partition)
            entry = Entry("wake", [operation], list(transition.events), next_event)
            items.append(self._log_put(partition, seq + 1, entry, head))
            items.append(
                {
                    "Update": {
                        "Key": {layout.PARTITION: _s(partition), layout.SORT: _s(layout.HEAD)},
                        "UpdateExpression": "SET dd = :now",
                        "ConditionExpression": "st = :running",
                        "ExpressionAttributeValues": {
                            ":now": _n(epoch_millis(now)),
                            ":running": _s(ExecutionStatus.RUNNING.value),
                        },
                    }
                }
            )
        return items

    def _wake(
        self,
        execution_id: str,
        operation_id: str,
        transition_of: Callable[[Operation], Transition | None],
        now: datetime.datetime,
        *,
        extra: Callable[[], list[dict[str, Any]]] = list,
        waiting: Operation | None = None,
    ) -> bool:
        """Apply a waker's change to one operation of a RUNNING execution; False when
        there is nothing to change."""
        for _ in range(CONTENTION_ATTEMPTS):
            head = self._head(execution_id)
            if head is None or not head.running:
                return False
            items = self._wake_items(head, operation_id, transition_of, now, waiting=waiting)
            if items is None:
                return False
            try:
                self._transact([*items, *extra()])
            except _Conflict:
                continue
            return True
        raise StoreError(f"Could not wake {execution_id}: too much contention")

    def complete_operation(
        self,
        execution_id: str,
        operation_id: str,
        completion: Completion,
        now: datetime.datetime,
    ) -> bool:
        return self._wake(
            execution_id, operation_id, lambda op: on_completion(op, completion, now), now
        )

    def change_callback(
        self, token_hash: str, change: CallbackChange, now: datetime.datetime
    ) -> str:
        found = self._get(layout.callback_partition(token_hash), layout.CALLBACK)
        if found is None:
            raise CallbackNotFoundError(CALLBACK_NOT_FOUND)
        execution_id, operation_id = found["x"]["S"], found["o"]["S"]
        for _ in range(CONTENTION_ATTEMPTS):
            head = self._require_head(execution_id)
            current = self._operation(execution_id, operation_id)
            operation = waiting_callback(
                head.record.status.value, current[0] if current is not None else None
            )
            transition = change(operation, now)
            woke = transition.operation.status is not operation.status
            items = self._wake_items(
                head, operation_id, functools.partial(_same, transition), now, wake=woke
            )
            assert items is not None
            try:
                self._transact(items)
            except _Conflict:
                continue
            return str(execution_id)
        raise StoreError(f"Could not change the callback of {execution_id}: too much contention")

    # endregion
    # region timers

    def schedule_reinvoke(self, execution_id: str, due: datetime.datetime) -> None:
        if self._on_timer_set is not None:
            self._on_timer_set(execution_id, REINVOKE_TIMER, due)
        with contextlib.suppress(_Conflict):  # it has ended: nothing to invoke
            self._call(
                "update_item",
                Key={
                    layout.PARTITION: _s(layout.execution_partition(execution_id)),
                    layout.SORT: _s(layout.HEAD),
                },
                UpdateExpression="SET dd = :due",
                ConditionExpression="st = :running",
                ExpressionAttributeValues={
                    ":due": _n(epoch_millis(due)),
                    ":running": _s(ExecutionStatus.RUNNING.value),
                },
            )

    def fire_timer(self, execution_id: str, key: str, now: datetime.datetime) -> bool:
        if key == REINVOKE_TIMER:
            head = self._head(execution_id)
            return head is not None and head.running and head.due is not None
        timer_key = self._timer_key(execution_id, key)
        timer = self._call("get_item", Key=timer_key, ConsistentRead=True).get("Item")
        if timer is None:
            return False
        head = self._head(execution_id)
        if head is None or not head.running:
            self._call("delete_item", Key=timer_key)
            return False
        if is_delivery_timer(key):
            redelivery = redelivery_due(key, now)
            if redelivery is not None:
                self._move_timer(timer_key, redelivery)
            return True
        if key == EXECUTION_TIMEOUT_TIMER:
            self._terminate(
                execution_id,
                ExecutionStatus.TIMED_OUT,
                now,
                timed_out_error(head.record.timeout_seconds),
            )
            return False
        parsed = parse_operation_timer(key)
        consume = [{"Delete": {"Key": timer_key, "ConditionExpression": "attribute_exists(p)"}}]
        waiting = operation_of(unpack(timer["o"]["B"])) if "o" in timer else None
        if parsed is None or not self._wake(
            execution_id,
            parsed[1],
            lambda op: _without_timer(on_timer(op, parsed[0], now), key),
            now,
            extra=lambda: consume,
            waiting=waiting,
        ):
            self._call("delete_item", Key=timer_key)
            return False
        return True

    def _move_timer(self, timer_key: dict[str, Any], due: datetime.datetime) -> None:
        with contextlib.suppress(_Conflict):  # it went meanwhile: the target started
            self._call(
                "update_item",
                Key=timer_key,
                UpdateExpression="SET dd = :due",
                ConditionExpression="attribute_exists(p)",
                ExpressionAttributeValues={":due": _n(epoch_millis(due))},
            )

    def claim_function_call(
        self,
        execution_id: str,
        operation_id: str,
        now: datetime.datetime,
        deadline: datetime.datetime,
    ) -> bool:
        head = self._head(execution_id)
        if head is None or not head.running:
            return False
        key = start_target_timer(operation_id)
        try:
            self._transact(
                [
                    {
                        "Delete": {
                            "Key": self._timer_key(execution_id, key),
                            "ConditionExpression": "attribute_exists(p)",
                        }
                    },
                    self._timer_put(
                        execution_id,
                        head.record.function_name,
                        function_call_timer(operation_id),
                        deadline,
                        self._expiry_of(head),
                    ),
                    {
                        "ConditionCheck": {
                            "Key": {
                                layout.PARTITION: _s(layout.execution_partition(execution_id)),
                                layout.SORT: _s(layout.HEAD),
                            },
                            "ConditionExpression": "st = :running",
                            "ExpressionAttributeValues": {
                                ":running": _s(ExecutionStatus.RUNNING.value)
                            },
                        }
                    },
                ]
            )
        except _Conflict:
            return False
        return True

    def due_timers(
        self,
        now: datetime.datetime,
        limit: int,
        function_names: Collection[str] | None = None,
    ) -> Sequence[DueTimer]:
        now_ms = epoch_millis(now)
        streams = [
            self._due(function_name, now_ms, limit) for function_name in self._names(function_names)
        ]
        merged = heapq.merge(*streams, key=lambda timer: timer.due)
        return list(itertools.islice(merged, limit))

    def next_timer_due(
        self, function_names: Collection[str] | None = None
    ) -> datetime.datetime | None:
        earliest = [
            timer.due
            for function_name in self._names(function_names)
            for timer in self._due(function_name, None, 1)
        ]
        return min(earliest, default=None)

    def _names(self, function_names: Collection[str] | None) -> list[str]:
        if function_names is not None:
            return sorted(function_names)
        return [
            item[layout.SORT]["S"]
            for item in self._query(
                KeyConditionExpression="p = :p",
                ExpressionAttributeValues={":p": _s(layout.FUNCTION)},
                ConsistentRead=True,
            )
        ]

    def _due(self, function_name: str, now_ms: int | None, limit: int) -> Iterator[DueTimer]:
        condition = "gd = :fn" + (" AND dd <= :now" if now_ms is not None else "")
        values: dict[str, Any] = {":fn": _s(function_name)}
        if now_ms is not None:
            values[":now"] = _n(now_ms)
        response = self._call(
            "query",
            IndexName=layout.BY_DUE,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            Limit=limit,
        )
        for item in response.get("Items", []):
            key = _text(item, "k") or REINVOKE_TIMER
            yield DueTimer(item["id"]["S"], key, from_epoch_millis(int(item["dd"]["N"])))

    # endregion
    # region reads

    def get_operations(self, execution_id: str) -> list[Operation]:
        if self._head(execution_id) is None:
            return []
        return list(self._load(execution_id).operations.values())

    def get_history(self, execution_id: str) -> list[Event]:
        partition = layout.execution_partition(execution_id)
        return [
            {**event, "EventId": entry.first_event_id + index}
            for _, entry in self._entries(partition, 0)
            for index, event in enumerate(entry.events)
        ]

    def opener(self) -> Callable[[], DynamoDBStore]:
        return functools.partial(
            DynamoDBStore,
            self.table_name,
            payload_bucket=self.payload_bucket,
            retention=self.retention,
            max_payload_bytes=self.max_payload_bytes,
            region_name=self.region_name,
            endpoint_url=self.endpoint_url,
        )

    def close(self) -> None:
        """Nothing to release: boto3 clients close with the process."""

    # endregion


def _client(service: str, region_name: str | None, endpoint_url: str | None) -> Any:
    import boto3  # noqa: PLC0415 - the AWS SDK loads with the store
    from botocore.config import Config  # noqa: PLC0415

    return boto3.client(
        service,
        region_name=region_name,
        endpoint_url=endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": RETRY_ATTEMPTS}),
    )


def _same(transition: Transition, _: Operation) -> Transition:
    return transition


def _without_timer(transition: Transition | None, key: str) -> Transition | None:
    """A timer's transition, minus clearing the timer that fired (consumed with it)."""
    if transition is None:
        return None
    return transition._replace(timers=tuple(t for t in transition.timers if t.key != key))


def _outcome(events: Sequence[Event]) -> tuple[str | None, ErrorObject | None]:
    """The result or error an ending's events carry."""
    for event in events:
        for name, details in event.items():
            if not name.endswith("Details") or not isinstance(details, dict):
                continue
            if "Result" in details:
                return details["Result"].get("Payload"), None
            if "Error" in details:
                return None, ErrorObject.from_dict(details["Error"].get("Payload") or {})
    return None, None


def _what(entry: Entry) -> str:
    """The write's operations, for an error message."""
    if not entry.operations:
        return f"The {entry.kind} record"
    largest = max(entry.operations, key=lambda op: len(pack(operation_row(op))))
    named = f" {largest.name!r}" if largest.name else ""
    kind = largest.operation_type.value.lower()
    return f"The checkpoint of {kind}{named} (operation {largest.operation_id})"


def _parts(batch: CheckpointBatch) -> Iterator[CheckpointBatch]:
    """The batch, or, if one transaction cannot hold it, parts of whole transitions."""
    if len(batch.operations) + len(batch.timers) <= MAX_TRANSITIONS_PER_WRITE or not (
        batch.transitions
    ):
        yield batch
        return
    for start in range(0, len(batch.transitions), MAX_TRANSITIONS_PER_WRITE):
        part = CheckpointBatch()
        for transition in batch.transitions[start : start + MAX_TRANSITIONS_PER_WRITE]:
            part.add(transition)
        yield part
