"""Ending executions: the writes that end one (from its last invocation or from
outside), and what follows: its timers go, the children it runs stop."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from durable_lambda.lambda_service import ErrorObject
from durable_lambda.store.contract import (
    ExecutionRecord,
    ExecutionStatus,
    StoreError,
    parent_ended_error,
    terminated_event,
    timed_out_error,
)
from durable_lambda.store.dynamodb import items, layout
from durable_lambda.store.dynamodb.cache import ExecutionCache
from durable_lambda.store.dynamodb.codec import Entry, string
from durable_lambda.store.dynamodb.log import Log
from durable_lambda.store.dynamodb.records import Records
from durable_lambda.store.dynamodb.table import CONTENTION_ATTEMPTS, Conflict, Table
from durable_lambda.store.dynamodb.wakers import Wakers


@dataclasses.dataclass(kw_only=True, eq=False)
class Endings:
    """Writes that end executions, and the clean-up after them."""

    table: Table
    log: Log
    cache: ExecutionCache
    records: Records
    wakers: Wakers
    retention: datetime.timedelta

    def items(
        self,
        epoch: int,
        ending: ExecutionRecord,
        seq: int,
        now: datetime.datetime,
        *,
        fence: bool = False,
    ) -> list[dict[str, Any]]:
        """The writes that end an execution of ``epoch`` beside its log item ``seq``:
        its execution item (status, outcome, TTL), its name's TTL and its parent's
        invoke."""
        return [
            *items.ending_updates(epoch, ending, seq, now, self.retention, fence=fence),
            *self.wakers.parent_completion(ending, now),
        ]

    def stop(self, execution_id: str, now: datetime.datetime, error: ErrorObject) -> bool:
        """The store contract's ``stop_execution``."""
        self.records.require_head(execution_id)
        return self.terminate(execution_id, ExecutionStatus.STOPPED, now, error)

    def time_out(self, execution_id: str, now: datetime.datetime) -> bool:
        """The store contract's ``time_out_execution``."""
        head = self.records.require_head(execution_id)
        error = timed_out_error(head.record.timeout_seconds)
        return self.terminate(execution_id, ExecutionStatus.TIMED_OUT, now, error)

    def terminate(
        self, execution_id: str, status: ExecutionStatus, now: datetime.datetime, error: ErrorObject
    ) -> bool:
        """End a RUNNING execution from outside (timeout, stop), fencing off its invocation."""
        partition = layout.execution_partition(execution_id)
        for _ in range(CONTENTION_ATTEMPTS):
            head = self.records.require_head(execution_id)
            if not head.running:
                return False
            seq, next_event = self.log.tail(partition)
            entry = Entry("end", [], [terminated_event(status, now, error)], next_event)
            ending = dataclasses.replace(
                head.record, status=status, error=error, end_timestamp=now, lease=None
            )
            expires = items.expiry_of(head, self.retention)
            changes = [
                self.log.put(partition, seq + 1, entry, expires),
                # Fence off the invocation: its epoch moves on.
                *self.items(head.epoch, ending, seq + 1, now, fence=True),
            ]
            try:
                self.table.transact(changes)
            except Conflict:
                continue
            self.cache.advance(execution_id, seq + 1, entry)
            self.after(ending, now)
            return True
        raise StoreError(f"Could not end {execution_id}: too much contention")

    def after(self, ended: ExecutionRecord, now: datetime.datetime) -> None:
        """Once an execution has ended: drop its timers and stop the children it runs."""
        partition = layout.execution_partition(ended.execution_id)
        # Timers and child links sort last in the partition: one Query reads both.
        # Neither can be added once the execution has ended.
        timers_and_children = list(
            self.table.query(
                KeyConditionExpression="p = :p AND s >= :timers",
                ExpressionAttributeValues={
                    ":p": string(partition),
                    ":timers": string(layout.TIMER),
                },
                ConsistentRead=True,
            )
        )
        for item in timers_and_children:
            if item[layout.SORT]["S"].startswith(layout.TIMER):
                self.table.call(
                    "delete_item",
                    Key={layout.PARTITION: item[layout.PARTITION], layout.SORT: item[layout.SORT]},
                )
        self.cache.close_cursors(ended.execution_id)
        for item in timers_and_children:
            if not item[layout.SORT]["S"].startswith(layout.CHILD):
                continue
            child = self.records.head(item["x"]["S"])
            if child is not None and child.running:
                error = parent_ended_error(ended.execution_id, ended.status)
                self.terminate(child.record.execution_id, ExecutionStatus.STOPPED, now, error)
