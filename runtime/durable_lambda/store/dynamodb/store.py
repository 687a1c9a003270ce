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
from durable_lambda.store.dynamodb.cache import Cursor, ExecutionCache, Folded
from durable_lambda.store.dynamodb.codec import (
    Entry,
    Head,
    binary,
    error_text,
    head_of,
    key,
    number,
    number_of,
    operation_of,
    operation_row,
    pack,
    string,
    text_of,
    unpack,
)
from durable_lambda.store.dynamodb.log import Log
from durable_lambda.store.dynamodb.payloads import PayloadBucket
from durable_lambda.store.dynamodb.table import (
    CONTENTION_ATTEMPTS,
    Conflict,
    Table,
    TimerListener,
    make_client,
)
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
INLINE_INPUT_BYTES = 1024
"""Inputs up to this size are kept on the execution item too (it is rewritten
by every invocation, so larger ones are read from the first log item)."""
INLINE_OUTCOME_BYTES = 4096
MAX_TRANSITIONS_PER_WRITE = 32
"""With the log item, at most 97 items in one transaction (DynamoDB takes 100)."""

_INDEXED_TYPES = frozenset({OperationType.CALLBACK, OperationType.CHAINED_INVOKE})
"""Operations whose latest state is kept in an ``O#`` item: callers outside change them
(a callback's caller, a chained invoke's target). A wait or a step waiting to
retry is changed only by its timer, whose item holds the operation as it waits."""


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
        region_name, endpoint_url: Where the default clients connect; taken
            from ``client`` when one is given, so ``opener`` reaches the same table.
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
        self._table = Table(table_name, client, region_name, endpoint_url, on_timer_set)
        s3 = s3_client if s3_client is not None else self._default_s3_client
        self._log = Log(self._table, PayloadBucket(payload_bucket, s3, max_payload_bytes))
        self._cache = ExecutionCache(self._log)
        self._functions: set[str] = set()

    @property
    def _client(self) -> Any:
        """The DynamoDB client, made (with the AWS SDK loaded) at the first request."""
        return self._table.client

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

    def _default_s3_client(self) -> Any:
        """An S3 client like the DynamoDB one, made when a payload first needs it."""
        return make_client("s3", self.region_name, self.endpoint_url)

    # region reading executions

    def _head(self, execution_id: str) -> Head | None:
        item = self._table.get(layout.execution_partition(execution_id), layout.HEAD)
        return head_of(item) if item is not None else None

    def _require_head(self, execution_id: str) -> Head:
        head = self._head(execution_id)
        if head is None:
            raise ExecutionNotFoundError(f"No execution with id {execution_id!r}")
        return head

    def get_execution(self, execution_id: str) -> ExecutionRecord:
        return self._log.full_record(self._require_head(execution_id))

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
        values: dict[str, Any] = {":k": string(value)}
        if low is not None and high is not None:
            condition += " AND gs BETWEEN :low AND :high"
            values.update({":low": string(low + "\0"), ":high": string(high)})
        elif low is not None:
            condition += " AND gs > :low"
            values[":low"] = string(low)
        elif high is not None:
            condition += " AND gs < :high"
            values[":high"] = string(high)
        for item in self._table.query(
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
        heads = {
            item[layout.PARTITION]["S"]: head_of(item)
            for item in self._table.get_many([key(p, layout.HEAD) for p in partitions])
        }
        return [
            self._log.full_record(heads[p])
            for p in partitions
            if p in heads and (status is None or heads[p].record.status is status)
        ]

    # endregion
    # region starting executions

    def create_execution(
        self, new: NewExecution, now: datetime.datetime
    ) -> tuple[ExecutionRecord, bool]:
        now_ms = epoch_millis(now)
        partition = layout.execution_partition(new.execution_id)
        name = self._table.get(
            layout.name_partition(new.function_name, new.execution_name), layout.NAME
        )
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
                        layout.PARTITION: string(
                            layout.name_partition(new.function_name, new.execution_name)
                        ),
                        layout.SORT: string(layout.NAME),
                        "x": string(new.execution_id),
                        layout.TTL: number(expires),
                    },
                    "ConditionExpression": "attribute_not_exists(p)",
                }
            },
            {"Put": {"Item": head, "ConditionExpression": "attribute_not_exists(p)"}},
            {"Put": {"Item": self._log.item(partition, 1, start, expires)}},
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
            self._table.transact(items)
        except Conflict as conflict:
            if new.parent_execution_id is not None and conflict.reasons[-3:-2] == [
                "ConditionalCheckFailed"
            ]:
                parent = self._head(new.parent_execution_id)
                status = parent.record.status.value if parent is not None else None
                if parent is None or not parent.running:
                    raise parent_not_running_error(new.parent_execution_id, status) from None
            name = self._table.get(
                layout.name_partition(new.function_name, new.execution_name), layout.NAME
            )
            if name is not None:
                return self._existing(name, new), False
            raise StoreError(f"Could not start {new.execution_id}: {conflict.reasons}") from None
        return self.get_execution(new.execution_id), True

    def _new_head(self, new: NewExecution, now_ms: int, expires: int) -> dict[str, Any]:
        head: dict[str, Any] = {
            layout.PARTITION: string(layout.execution_partition(new.execution_id)),
            layout.SORT: string(layout.HEAD),
            "id": string(new.execution_id),
            "fn": string(new.function_name),
            "nm": string(new.execution_name),
            "st": string(ExecutionStatus.RUNNING.value),
            "t0": number(now_ms),
            "ep": number(0),
            "dd": number(now_ms),
            "gd": string(new.function_name),
            "gf": string(new.function_name),
            "gs": string(layout.start_position(now_ms, new.execution_id)),
            "ga": string(layout.start_shard(new.execution_id)),
            "xp": number(expires),
        }
        if new.input_payload is not None:
            if len(new.input_payload.encode()) <= INLINE_INPUT_BYTES:
                head["in"] = string(new.input_payload)
            else:
                head["ix"] = number(1)
        if new.timeout_seconds is not None:
            head["to"] = number(new.timeout_seconds)
        if new.parent_execution_id is not None and new.parent_operation_id is not None:
            head["pe"] = string(new.parent_execution_id)
            head["po"] = string(new.parent_operation_id)
        return head

    def _child_link(self, new: NewExecution, partition: str, expires: int) -> list[dict[str, Any]]:
        """A child's part of its creation: its parent runs, links to it, and no longer
        waits for the target to start."""
        assert new.parent_execution_id is not None and new.parent_operation_id is not None
        parent = layout.execution_partition(new.parent_execution_id)
        return [
            {
                "ConditionCheck": {
                    "Key": {layout.PARTITION: string(parent), layout.SORT: string(layout.HEAD)},
                    "ConditionExpression": "st = :running",
                    "ExpressionAttributeValues": {
                        ":running": string(ExecutionStatus.RUNNING.value)
                    },
                }
            },
            {
                "Put": {
                    "Item": {
                        layout.PARTITION: string(parent),
                        layout.SORT: string(layout.CHILD + partition),
                        "x": string(new.execution_id),
                        layout.TTL: number(expires),
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
            self._table.call("delete_item", Key=self._timer_key(new.parent_execution_id, key))
        return self.get_execution(name["x"]["S"])

    def _register_function(self, function_name: str) -> None:
        """Note the function in the function list once per store (its timers are read by it)."""
        if function_name in self._functions:
            return
        self._table.call(
            "put_item",
            Item={layout.PARTITION: string(layout.FUNCTION), layout.SORT: string(function_name)},
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
            folded = self._cache.load(execution_id)
            events: list[Event] = []
            if held is not None:
                error = exit_error(held.invocation_id)
                events.append(invocation_completed(held.started, now, held.invocation_id, error))
            seq = folded.seq + 1
            entry = Entry("lease", [], events, folded.next_event)  # the takeover's fence
            epoch = head.epoch + 1
            update = {
                "Update": {
                    "Key": {layout.PARTITION: string(partition), layout.SORT: string(layout.HEAD)},
                    "UpdateExpression": (
                        "SET ep = :epoch, lo = :owner, ls = :started, lu = :until"
                        # Due by the lease's expiry; an earlier due time stays untouched.
                        + (", dd = :until" if head.due is None or head.due > until_ms else "")
                        + (", lh = :holder" if holder is not None else " REMOVE lh")
                    ),
                    "ConditionExpression": "st = :running AND ep = :seen",
                    "ExpressionAttributeValues": {
                        ":epoch": number(epoch),
                        ":seen": number(head.epoch),
                        ":owner": string(invocation_id),
                        ":started": number(now_ms),
                        ":until": number(until_ms),
                        ":running": string(ExecutionStatus.RUNNING.value),
                        **({":holder": string(holder)} if holder is not None else {}),
                    },
                }
            }
            try:
                if held is None:
                    # No invocation to fence off: the lease is the execution item's
                    # alone, and a waker that writes after the load takes the next
                    # log position first, which the invocation's next write sees.
                    self._table.call("update_item", **update["Update"])
                    seq = folded.seq
                else:
                    self._table.transact([self._log_put(partition, seq, entry, head), update])
                    folded.apply(seq, entry)
            except Conflict:
                continue
            self._cache.remember(execution_id, folded)
            self._cache.open_cursor(execution_id, epoch, Cursor(seq + 1, folded.next_event))
            record = dataclasses.replace(
                self._full_record_of(head, folded),
                lease=LeaseHolder(
                    invocation_id, holder, from_epoch_millis(now_ms), from_epoch_millis(until_ms)
                ),
            )
            return Lease(record, invocation_id, epoch, seq, now, tuple(folded.operations.values()))
        raise StoreError(f"Could not take the lease of {execution_id}: too much contention")

    def _full_record_of(self, head: Head, folded: Folded) -> ExecutionRecord:
        return dataclasses.replace(head.record, input_payload=folded.input_payload)

    def _keep_due_until_expiry(self, partition: str, held: LeaseHolder) -> None:
        """A live lease refused an invocation: its expiry is the execution's due work."""
        # If the lease changed meanwhile, whoever changed it set the due time.
        with contextlib.suppress(Conflict):
            self._table.call(
                "update_item",
                Key={layout.PARTITION: string(partition), layout.SORT: string(layout.HEAD)},
                UpdateExpression="SET dd = :until",
                ConditionExpression="lo = :owner AND st = :running",
                ExpressionAttributeValues={
                    ":until": number(epoch_millis(held.until)),
                    ":owner": string(held.invocation_id),
                    ":running": string(ExecutionStatus.RUNNING.value),
                },
            )

    def _log_put(self, partition: str, seq: int, entry: Entry, head: Head) -> dict[str, Any]:
        return self._log.put(partition, seq, entry, self._expiry_of(head))

    def _expiry_of(self, head: Head) -> int:
        return number_of(head.item, "xp") or self._expiry(
            head.record.start_timestamp, head.record.timeout_seconds
        )

    def reload(self, lease: Lease) -> Lease:
        execution_id = lease.execution.execution_id
        head = self._require_head(execution_id)
        if head.epoch != lease.epoch or not head.running:
            raise LeaseLostError(f"Invocation {lease.invocation_id} lost its lease")
        folded = self._cache.load(execution_id)
        cursor = Cursor(folded.seq + 1, folded.next_event)
        self._cache.open_cursor(execution_id, lease.epoch, cursor)
        return dataclasses.replace(
            lease,
            execution=self._full_record_of(head, folded),
            wake_seq=folded.seq,
            operations=tuple(folded.operations.values()),
        )

    def _catch_up(self, lease: Lease, cursor: Cursor) -> None:
        """Read what others wrote at and after the cursor (LeaseLostError if it was not
        a waker's)."""
        partition = layout.execution_partition(lease.execution.execution_id)
        cursor.catch_up(lease, self._log.entries(partition, cursor.next_seq - 1))

    def write(self, lease: Lease, batch: CheckpointBatch) -> None:
        cursor = self._cache.cursor(lease)
        for part in _parts(batch):
            self._write_part(lease, cursor, part)

    def _write_part(self, lease: Lease, cursor: Cursor, batch: CheckpointBatch) -> None:
        execution_id = lease.execution.execution_id
        partition = layout.execution_partition(execution_id)
        expires = self._expiry(lease.execution.start_timestamp, lease.execution.timeout_seconds)
        indexes = self._index_items(lease.execution, batch, expires)
        for _ in range(CONTENTION_ATTEMPTS):
            entry = Entry("write", list(batch.operations.values()), batch.events, cursor.next_event)
            seq = cursor.next_seq
            put = self._log.put(partition, seq, entry, expires)
            try:
                if indexes:
                    self._table.transact([put, *indexes])
                else:
                    self._table.call("put_item", **put["Put"])
            except Conflict as conflict:
                if conflict.reasons and conflict.reasons[0] not in (None, "TransactionConflict"):
                    self._catch_up(lease, cursor)
                continue
            cursor.next_seq = seq + 1
            cursor.next_event = entry.next_event_id
            self._cache.advance(execution_id, seq, entry)
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
                    layout.PARTITION: string(partition),
                    layout.SORT: string(layout.OPERATION + operation.operation_id),
                },
                "UpdateExpression": "SET o = :o, os = :status, #ttl = :ttl ADD ov :one",
                "ExpressionAttributeNames": {"#ttl": layout.TTL},
                "ExpressionAttributeValues": {
                    ":o": binary(pack(operation_row(operation))),
                    ":status": string(operation.status.value),
                    ":ttl": number(expires),
                    ":one": number(1),
                },
            }
        }

    def _timer_key(self, execution_id: str, key: str) -> dict[str, Any]:
        return {
            layout.PARTITION: string(layout.execution_partition(execution_id)),
            layout.SORT: string(layout.TIMER + key),
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
            "id": string(execution_id),
            "k": string(key),
            "gd": string(function_name),
            "dd": number(epoch_millis(due)),
            layout.TTL: number(expires),
        }
        if operation is not None:
            item["o"] = binary(pack(operation_row(operation)))
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
        for timer, due in timers:
            if due is None:
                changes.append({"Delete": {"Key": self._timer_key(execution.execution_id, timer)}})
                continue
            parsed = parse_operation_timer(timer)
            operation = (
                operations.get(parsed[1]) if parsed and parsed[0] == OPERATION_TIMER else None
            )
            changes.append(
                self._timer_put(
                    execution.execution_id,
                    execution.function_name,
                    timer,
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
                        layout.PARTITION: string(layout.callback_partition(details.token_hash)),
                        layout.SORT: string(layout.CALLBACK),
                        "x": string(execution_id),
                        "o": string(operation.operation_id),
                        layout.TTL: number(expires),
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
        cursor = self._cache.cursor(lease)
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
                        "Key": {
                            layout.PARTITION: string(partition),
                            layout.SORT: string(layout.HEAD),
                        },
                        "UpdateExpression": release,
                        "ConditionExpression": "ep = :epoch AND st = :running",
                        "ExpressionAttributeValues": {
                            ":epoch": number(lease.epoch),
                            ":running": string(ExecutionStatus.RUNNING.value),
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
                self._table.transact(items)
            except Conflict as conflict:
                if conflict.reasons and conflict.reasons[0] not in (None, "TransactionConflict"):
                    self._catch_up(lease, cursor)
                continue
            self._cache.advance(execution_id, seq, entry)
            self._cache.close_cursor(execution_id, lease.epoch)
            if ending is not None:
                self._after_ending(ending, now)
            return True
        raise StoreError(f"Could not finish the invocation of {execution_id}: too much contention")

    def _ending(
        self, head: Head, ending: ExecutionRecord, seq: int, now: datetime.datetime
    ) -> list[dict[str, Any]]:
        """The writes that end an execution beside its log item: its execution item
        (status, outcome, TTL), its name's TTL and its parent's invoke."""
        expires = int((now + self.retention).timestamp())
        names: dict[str, str] = {"#ttl": layout.TTL}
        values: dict[str, Any] = {
            ":status": string(ending.status.value),
            ":end": number(epoch_millis(now)),
            ":ttl": number(expires),
            ":running": string(ExecutionStatus.RUNNING.value),
            ":epoch": number(head.epoch),
        }
        assignments = ["st = :status", "t1 = :end", "#ttl = :ttl", "xp = :ttl"]
        result_text, error_json = ending.result, error_text(ending.error)
        inline = len((result_text or "").encode()) + len((error_json or "").encode())
        if inline <= INLINE_OUTCOME_BYTES:
            if result_text is not None:
                assignments.append("rs = :result")
                values[":result"] = string(result_text)
            if error_json is not None:
                assignments.append("er = :error")
                values[":error"] = string(error_json)
        else:
            assignments.append("rx = :outcome")
            values[":outcome"] = number(seq)
        update = {
            "Update": {
                "Key": {
                    layout.PARTITION: string(layout.execution_partition(ending.execution_id)),
                    layout.SORT: string(layout.HEAD),
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
                    layout.PARTITION: string(
                        layout.name_partition(ending.function_name, ending.execution_name)
                    ),
                    layout.SORT: string(layout.NAME),
                },
                "UpdateExpression": "SET #ttl = :ttl",
                "ExpressionAttributeNames": {"#ttl": layout.TTL},
                "ExpressionAttributeValues": {":ttl": number(expires)},
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
        for item in self._table.query(
            KeyConditionExpression="p = :p AND begins_with(s, :timers)",
            ExpressionAttributeValues={":p": string(partition), ":timers": string(layout.TIMER)},
            ConsistentRead=True,
        ):
            self._table.call(
                "delete_item",
                Key={layout.PARTITION: item[layout.PARTITION], layout.SORT: item[layout.SORT]},
            )
        self._cache.close_cursors(ended.execution_id)
        for item in self._table.query(
            KeyConditionExpression="p = :p AND begins_with(s, :children)",
            ExpressionAttributeValues={":p": string(partition), ":children": string(layout.CHILD)},
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
            seq, next_event = self._log.tail(partition)
            event = invocation_completed(held.started, now, invocation_id, error)
            entry = Entry("abandon", [], [event], next_event)
            try:
                self._table.transact(
                    [
                        self._log_put(partition, seq + 1, entry, head),
                        {
                            "Update": {
                                "Key": {
                                    layout.PARTITION: string(partition),
                                    layout.SORT: string(layout.HEAD),
                                },
                                "UpdateExpression": (
                                    "SET ep = ep + :one, dd = :retry REMOVE lo, lh, ls, lu"
                                ),
                                "ConditionExpression": "lo = :owner AND st = :running",
                                "ExpressionAttributeValues": {
                                    ":one": number(1),
                                    ":retry": number(epoch_millis(retry_at)),
                                    ":owner": string(invocation_id),
                                    ":running": string(ExecutionStatus.RUNNING.value),
                                },
                            }
                        },
                    ]
                )
            except Conflict:
                continue
            self._cache.advance(execution_id, seq + 1, entry)
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
            seq, next_event = self._log.tail(partition)
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
            items[1]["Update"]["ExpressionAttributeValues"][":one"] = number(1)
            try:
                self._table.transact(items)
            except Conflict:
                continue
            self._cache.advance(execution_id, seq + 1, entry)
            self._after_ending(ending, now)
            return True
        raise StoreError(f"Could not end {execution_id}: too much contention")

    # endregion
    # region wakers

    def _operation(self, execution_id: str, operation_id: str) -> tuple[Operation, int] | None:
        """The latest state of a waiting operation and its version."""
        item = self._table.get(
            layout.execution_partition(execution_id), layout.OPERATION + operation_id
        )
        if item is None:
            return None
        return operation_of(unpack(item["o"]["B"])), int(item["ov"]["N"])

    def _wake_items(
        self,
        head: Head,
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
            logged = self._cache.load(execution_id).operations.get(operation_id)
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
                            layout.PARTITION: string(partition),
                            layout.SORT: string(layout.OPERATION + operation_id),
                        },
                        "UpdateExpression": "SET o = :o, os = :status ADD ov :one",
                        "ConditionExpression": "ov = :version",
                        "ExpressionAttributeValues": {
                            ":o": binary(pack(operation_row(operation))),
                            ":status": string(operation.status.value),
                            ":version": number(version),
                            ":one": number(1),
                        },
                    }
                }
            )
        if wake:
            seq, next_event = self._log.tail(partition)
            entry = Entry("wake", [operation], list(transition.events), next_event)
            items.append(self._log_put(partition, seq + 1, entry, head))
            items.append(
                {
                    "Update": {
                        "Key": {
                            layout.PARTITION: string(partition),
                            layout.SORT: string(layout.HEAD),
                        },
                        "UpdateExpression": "SET dd = :now",
                        "ConditionExpression": "st = :running",
                        "ExpressionAttributeValues": {
                            ":now": number(epoch_millis(now)),
                            ":running": string(ExecutionStatus.RUNNING.value),
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
                self._table.transact([*items, *extra()])
            except Conflict:
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
        found = self._table.get(layout.callback_partition(token_hash), layout.CALLBACK)
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
                self._table.transact(items)
            except Conflict:
                continue
            return str(execution_id)
        raise StoreError(f"Could not change the callback of {execution_id}: too much contention")

    # endregion
    # region timers

    def schedule_reinvoke(self, execution_id: str, due: datetime.datetime) -> None:
        if self._table.on_timer_set is not None:
            self._table.on_timer_set(execution_id, REINVOKE_TIMER, due)
        with contextlib.suppress(Conflict):  # it has ended: nothing to invoke
            self._table.call(
                "update_item",
                Key={
                    layout.PARTITION: string(layout.execution_partition(execution_id)),
                    layout.SORT: string(layout.HEAD),
                },
                UpdateExpression="SET dd = :due",
                ConditionExpression="st = :running",
                ExpressionAttributeValues={
                    ":due": number(epoch_millis(due)),
                    ":running": string(ExecutionStatus.RUNNING.value),
                },
            )

    def fire_timer(self, execution_id: str, key: str, now: datetime.datetime) -> bool:
        if key == REINVOKE_TIMER:
            head = self._head(execution_id)
            return head is not None and head.running and head.due is not None
        timer_key = self._timer_key(execution_id, key)
        timer = self._table.call("get_item", Key=timer_key, ConsistentRead=True).get("Item")
        if timer is None:
            return False
        head = self._head(execution_id)
        if head is None or not head.running:
            self._table.call("delete_item", Key=timer_key)
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
            self._table.call("delete_item", Key=timer_key)
            return False
        return True

    def _move_timer(self, timer_key: dict[str, Any], due: datetime.datetime) -> None:
        with contextlib.suppress(Conflict):  # it went meanwhile: the target started
            self._table.call(
                "update_item",
                Key=timer_key,
                UpdateExpression="SET dd = :due",
                ConditionExpression="attribute_exists(p)",
                ExpressionAttributeValues={":due": number(epoch_millis(due))},
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
            self._table.transact(
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
                                layout.PARTITION: string(layout.execution_partition(execution_id)),
                                layout.SORT: string(layout.HEAD),
                            },
                            "ConditionExpression": "st = :running",
                            "ExpressionAttributeValues": {
                                ":running": string(ExecutionStatus.RUNNING.value)
                            },
                        }
                    },
                ]
            )
        except Conflict:
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
            for item in self._table.query(
                KeyConditionExpression="p = :p",
                ExpressionAttributeValues={":p": string(layout.FUNCTION)},
                ConsistentRead=True,
            )
        ]

    def _due(self, function_name: str, now_ms: int | None, limit: int) -> Iterator[DueTimer]:
        condition = "gd = :fn" + (" AND dd <= :now" if now_ms is not None else "")
        values: dict[str, Any] = {":fn": string(function_name)}
        if now_ms is not None:
            values[":now"] = number(now_ms)
        response = self._table.call(
            "query",
            IndexName=layout.BY_DUE,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            Limit=limit,
        )
        for item in response.get("Items", []):
            key = text_of(item, "k") or REINVOKE_TIMER
            yield DueTimer(item["id"]["S"], key, from_epoch_millis(int(item["dd"]["N"])))

    # endregion
    # region reads

    def get_operations(self, execution_id: str) -> list[Operation]:
        if self._head(execution_id) is None:
            return []
        return list(self._cache.load(execution_id).operations.values())

    def get_history(self, execution_id: str) -> list[Event]:
        partition = layout.execution_partition(execution_id)
        return [
            {**event, "EventId": entry.first_event_id + index}
            for _, entry in self._log.entries(partition, 0)
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


def _same(transition: Transition, _: Operation) -> Transition:
    return transition


def _without_timer(transition: Transition | None, key: str) -> Transition | None:
    """A timer's transition, minus clearing the timer that fired (consumed with it)."""
    if transition is None:
        return None
    return transition._replace(timers=tuple(t for t in transition.timers if t.key != key))


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
