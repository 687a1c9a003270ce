"""Reading executions: their execution items, their records in full, and their
lists by start through the ``by-function`` and ``by-start`` indexes (no Scan)."""

from __future__ import annotations

import datetime
import heapq
from collections.abc import Iterator
from typing import Any

from durable_lambda.lambda_service import epoch_millis
from durable_lambda.store.contract import (
    DEFAULT_PAGE_SIZE,
    ExecutionNotFoundError,
    ExecutionPage,
    ExecutionRecord,
    ExecutionStatus,
    check_page_size,
    page_position,
    token_after,
)
from durable_lambda.store.dynamodb import layout
from durable_lambda.store.dynamodb.codec import Head, head_of, key, string
from durable_lambda.store.dynamodb.log import Log
from durable_lambda.store.dynamodb.table import Table


class Records:
    """The executions of the table, as their execution items and logs have them."""

    def __init__(self, table: Table, log: Log) -> None:
        self.table = table
        self.log = log

    def head(self, execution_id: str) -> Head | None:
        """The execution item, read consistently, or None."""
        item = self.table.get(layout.execution_partition(execution_id), layout.HEAD)
        return head_of(item) if item is not None else None

    def require_head(self, execution_id: str) -> Head:
        """The execution item; ExecutionNotFoundError when there is none."""
        head = self.head(execution_id)
        if head is None:
            raise ExecutionNotFoundError(f"No execution with id {execution_id!r}")
        return head

    def get(self, execution_id: str) -> ExecutionRecord:
        """The execution's record in full; ExecutionNotFoundError when there is none."""
        return self.log.full_record(self.require_head(execution_id))

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
        """The store contract's ``list_executions``."""
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
        for item in self.table.query(
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
            for item in self.table.get_many([key(p, layout.HEAD) for p in partitions])
        }
        return [
            self.log.full_record(heads[p])
            for p in partitions
            if p in heads and (status is None or heads[p].record.status is status)
        ]
