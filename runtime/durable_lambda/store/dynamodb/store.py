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

This module carries invocations (their lease, writes and end); the modules it
composes start (``starts``), read (``records``), wake (``wakers``), end
(``endings``) and time (``timers``) executions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
from collections.abc import Callable, Collection, Sequence
from typing import Any

from durable_lambda.history import Event, invocation_completed
from durable_lambda.lambda_service import ErrorObject, Operation, epoch_millis, from_epoch_millis
from durable_lambda.store.contract import (
    DEFAULT_PAGE_SIZE,
    CallbackChange,
    CheckpointBatch,
    DueTimer,
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
    ending_events,
    exit_error,
)
from durable_lambda.store.dynamodb import items, layout
from durable_lambda.store.dynamodb.cache import Cursor, ExecutionCache, Folded
from durable_lambda.store.dynamodb.codec import Entry, Head
from durable_lambda.store.dynamodb.endings import Endings
from durable_lambda.store.dynamodb.log import Log
from durable_lambda.store.dynamodb.payloads import PayloadBucket
from durable_lambda.store.dynamodb.records import Records
from durable_lambda.store.dynamodb.starts import Starts
from durable_lambda.store.dynamodb.table import (
    CONTENTION_ATTEMPTS,
    Conflict,
    Table,
    TimerListener,
    make_client,
)
from durable_lambda.store.dynamodb.timers import Timers
from durable_lambda.store.dynamodb.wakers import Wakers
from durable_lambda.transitions import Completion

DEFAULT_RETENTION = datetime.timedelta(days=30)
DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024 * 1024


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
        table = self._table = Table(table_name, client, region_name, endpoint_url, on_timer_set)
        s3 = s3_client if s3_client is not None else self._default_s3_client
        log = self._log = Log(table, PayloadBucket(payload_bucket, s3, max_payload_bytes))
        cache = self._cache = ExecutionCache(log)
        records = self._records = Records(table, log)
        wakers = self._wakers = Wakers(
            table=table, log=log, cache=cache, records=records, retention=retention
        )
        endings = self._endings = Endings(
            table=table, log=log, cache=cache, records=records, wakers=wakers, retention=retention
        )
        timers = self._timers = Timers(
            table=table, records=records, wakers=wakers, endings=endings, retention=retention
        )
        self._starts = Starts(
            table=table, log=log, cache=cache, records=records, timers=timers, retention=retention
        )

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

    def _require_head(self, execution_id: str) -> Head:
        return self._records.require_head(execution_id)

    def _expiry(self, start: datetime.datetime, timeout_seconds: int | None) -> int:
        return items.expiry(start, timeout_seconds, self.retention)

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
        # What this store wrote last, when it left the lease free, spares the reads:
        # the lease's write is conditioned on the epoch and due time it shows, and a
        # lost condition reads them.
        known = self._cache.take_known(execution_id)
        for _ in range(CONTENTION_ATTEMPTS):
            head, folded = known or (self._require_head(execution_id), None)
            same_due, known = known is not None, None
            if not head.running:
                return None
            held = head.record.lease
            if (
                held is not None
                and held.invocation_id != invocation_id
                and epoch_millis(held.until) > now_ms
            ):
                # A live lease refused the invocation: its expiry is the execution's
                # due work. If the lease changed meanwhile, whoever changed it set it.
                with contextlib.suppress(Conflict):
                    self._table.call("update_item", **items.due_at_lease_expiry(execution_id, held))
                return None
            if folded is None:
                folded = self._cache.load(execution_id)
            events: list[Event] = []
            if held is not None:
                error = exit_error(held.invocation_id)
                events.append(invocation_completed(held.started, now, held.invocation_id, error))
            seq = folded.seq + 1
            entry = Entry("lease", [], events, folded.next_event)  # the takeover's fence
            update = items.lease_update(
                head, invocation_id, holder, now_ms, until_ms, same_due=same_due
            )
            try:
                if held is None:
                    # No invocation to fence off: the lease is the execution item's
                    # alone, and a waker that writes after the load takes the next
                    # log position first, which the invocation's next write sees.
                    self._table.call("update_item", **update)
                    seq = folded.seq
                else:
                    expires = items.expiry_of(head, self.retention)
                    self._table.transact(
                        [self._log.put(partition, seq, entry, expires), {"Update": update}]
                    )
                    folded.apply(seq, entry)
            except Conflict:
                continue
            self._cache.remember(execution_id, folded)
            epoch = head.epoch + 1
            expires = items.expiry_of(head, self.retention)
            cursor = Cursor(seq + 1, folded.next_event, expires)
            self._cache.open_cursor(execution_id, epoch, cursor)
            record = dataclasses.replace(
                _full_record(head, folded),
                lease=LeaseHolder(
                    invocation_id, holder, from_epoch_millis(now_ms), from_epoch_millis(until_ms)
                ),
            )
            return Lease(record, invocation_id, epoch, seq, now, tuple(folded.operations.values()))
        raise StoreError(f"Could not take the lease of {execution_id}: too much contention")

    def reload(self, lease: Lease) -> Lease:
        execution_id = lease.execution.execution_id
        head = self._require_head(execution_id)
        if head.epoch != lease.epoch or not head.running:
            raise LeaseLostError(f"Invocation {lease.invocation_id} lost its lease")
        folded = self._cache.load(execution_id)
        cursor = Cursor(folded.seq + 1, folded.next_event, items.expiry_of(head, self.retention))
        self._cache.open_cursor(execution_id, lease.epoch, cursor)
        return dataclasses.replace(
            lease,
            execution=_full_record(head, folded),
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
        for part in items.parts(batch):
            self._write_part(lease, cursor, part)

    def _write_part(self, lease: Lease, cursor: Cursor, batch: CheckpointBatch) -> None:
        execution_id = lease.execution.execution_id
        partition = layout.execution_partition(execution_id)
        expires = self._expiry(lease.execution.start_timestamp, lease.execution.timeout_seconds)
        indexes = items.index_items(lease.execution, batch, expires)
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
        indexes = items.index_items(lease.execution, batch, expires) if batch else []
        if len(indexes) > items.MAX_TRANSITIONS_PER_WRITE:
            self.write(lease, batch or CheckpointBatch())  # too many for the end's transaction
            batch, indexes = None, []
        ending: ExecutionRecord | None = None
        if ended is not None:
            status, result, error = ended
            ending = dataclasses.replace(
                lease.execution,
                status=status,
                result=result,
                error=error,
                end_timestamp=now,
                lease=None,
            )
        # The end is conditioned on the lease's epoch and the execution running: the
        # first attempt writes without reading; after a lost condition, the execution
        # item says whether the lease was lost.
        for attempt in range(CONTENTION_ATTEMPTS):
            if suspended and cursor.woken:
                if batch:
                    self.write(lease, batch)
                return False
            if attempt:
                head = self._require_head(execution_id)
                if head.epoch != lease.epoch or not head.running:
                    raise LeaseLostError(f"Invocation {lease.invocation_id} lost its lease")
            seq = cursor.next_seq
            operations = list(batch.operations.values()) if batch else []
            logged = [*(batch.events if batch else ()), *events]
            entry = Entry("finish", operations, logged, cursor.next_event)
            put = self._log.put(partition, seq, entry, cursor.expires)
            if ending is None:
                release = items.release_update(
                    execution_id, lease.epoch, keep_due=isinstance(outcome, InvocationFailed)
                )
                writes = [put, {"Update": release}, *indexes]
            else:
                writes = [put, *self._endings.items(lease.epoch, ending, seq, now), *indexes]
            try:
                self._table.transact(writes)
            except Conflict as conflict:
                if conflict.reasons and conflict.reasons[0] not in (None, "TransactionConflict"):
                    self._catch_up(lease, cursor)
                continue
            self._cache.advance(execution_id, seq, entry)
            self._cache.close_cursor(execution_id, lease.epoch)
            if ending is not None:
                self._endings.after(ending, now)
            return True
        raise StoreError(f"Could not finish the invocation of {execution_id}: too much contention")

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
            expires = items.expiry_of(head, self.retention)
            try:
                self._table.transact(
                    [
                        self._log.put(partition, seq + 1, entry, expires),
                        {"Update": items.abandon_update(execution_id, invocation_id, retry_at)},
                    ]
                )
            except Conflict:
                continue
            self._cache.advance(execution_id, seq + 1, entry)
            return True
        raise StoreError(f"Could not record the end of {invocation_id}: too much contention")

    # endregion
    # region starting, ending from outside, wakers and timers

    def create_execution(
        self, new: NewExecution, now: datetime.datetime
    ) -> tuple[ExecutionRecord, bool]:
        return self._starts.create(new, now)

    def stop_execution(self, execution_id: str, now: datetime.datetime, error: ErrorObject) -> bool:
        return self._endings.stop(execution_id, now, error)

    def time_out_execution(self, execution_id: str, now: datetime.datetime) -> bool:
        return self._endings.time_out(execution_id, now)

    def complete_operation(
        self,
        execution_id: str,
        operation_id: str,
        completion: Completion,
        now: datetime.datetime,
    ) -> bool:
        return self._wakers.complete_operation(execution_id, operation_id, completion, now)

    def change_callback(
        self, token_hash: str, change: CallbackChange, now: datetime.datetime
    ) -> str:
        return self._wakers.change_callback(token_hash, change, now)

    def schedule_reinvoke(self, execution_id: str, due: datetime.datetime) -> None:
        self._timers.schedule_reinvoke(execution_id, due)

    def fire_timer(self, execution_id: str, key: str, now: datetime.datetime) -> bool:
        return self._timers.fire(execution_id, key, now)

    def claim_function_call(
        self,
        execution_id: str,
        operation_id: str,
        now: datetime.datetime,
        deadline: datetime.datetime,
    ) -> bool:
        return self._timers.claim_function_call(execution_id, operation_id, deadline)

    def due_timers(
        self,
        now: datetime.datetime,
        limit: int,
        function_names: Collection[str] | None = None,
    ) -> Sequence[DueTimer]:
        return self._timers.due(now, limit, function_names)

    def next_timer_due(
        self, function_names: Collection[str] | None = None
    ) -> datetime.datetime | None:
        return self._timers.next_due(function_names)

    # endregion
    # region reads

    def get_execution(self, execution_id: str) -> ExecutionRecord:
        return self._records.get(execution_id)

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
        return self._records.list_executions(
            function_name=function_name,
            status=status,
            started_after=started_after,
            started_before=started_before,
            page_token=page_token,
            limit=limit,
        )

    def get_operations(self, execution_id: str) -> list[Operation]:
        if self._records.head(execution_id) is None:
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


def _full_record(head: Head, folded: Folded) -> ExecutionRecord:
    """The record of ``head`` with the input its folded log holds."""
    return dataclasses.replace(head.record, input_payload=folded.input_payload)
