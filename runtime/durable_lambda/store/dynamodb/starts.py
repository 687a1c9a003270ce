"""Starting executions: one transaction takes the name, writes the execution item
and the first log item, sets the timeout timer and links a child to its parent.

Starting is idempotent by (function, execution name): a start whose name is
taken answers with the execution that has it.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from durable_lambda.history import execution_event, payload
from durable_lambda.lambda_service import epoch_millis
from durable_lambda.store.contract import (
    EXECUTION_TIMEOUT_TIMER,
    ExecutionRecord,
    NewExecution,
    StoreError,
    parent_not_running_error,
    start_target_timer,
)
from durable_lambda.store.dynamodb import items, layout
from durable_lambda.store.dynamodb.cache import ExecutionCache, Folded
from durable_lambda.store.dynamodb.codec import Entry, head_of
from durable_lambda.store.dynamodb.log import Log
from durable_lambda.store.dynamodb.records import Records
from durable_lambda.store.dynamodb.table import Conflict, Table
from durable_lambda.store.dynamodb.timers import Timers


@dataclasses.dataclass(kw_only=True, eq=False)
class Starts:
    """Writes that start executions."""

    table: Table
    log: Log
    cache: ExecutionCache
    records: Records
    timers: Timers
    retention: datetime.timedelta

    def create(self, new: NewExecution, now: datetime.datetime) -> tuple[ExecutionRecord, bool]:
        """The store contract's ``create_execution``."""
        now_ms = epoch_millis(now)
        partition = layout.execution_partition(new.execution_id)
        name_partition = layout.name_partition(new.function_name, new.execution_name)
        name = self.table.get(name_partition, layout.NAME)
        if name is not None:
            return self._existing(name, new), False
        details: dict[str, Any] = {"Input": payload(new.input_payload)}
        if new.timeout_seconds is not None:
            details["ExecutionTimeout"] = new.timeout_seconds
        start = Entry("start", [], [execution_event("ExecutionStarted", now, details)])
        expires = items.expiry(now, new.timeout_seconds, self.retention)
        execution = items.execution_item(new, now_ms, expires)
        writes: list[dict[str, Any]] = [
            items.name_put(new, expires),
            {"Put": {"Item": execution, "ConditionExpression": "attribute_not_exists(p)"}},
            {"Put": {"Item": self.log.item(partition, 1, start, expires)}},
        ]
        if new.timeout_seconds is not None and new.timeout_timer:
            due = now + datetime.timedelta(seconds=new.timeout_seconds)
            writes.append(
                items.timer_put(
                    new.execution_id, new.function_name, EXECUTION_TIMEOUT_TIMER, due, expires
                )
            )
        if new.parent_execution_id is not None:
            writes.extend(items.child_link(new, expires))
        self.timers.register_function(new.function_name)
        try:
            self.table.transact(writes)
        except Conflict as conflict:
            if new.parent_execution_id is not None and conflict.reasons[-3:-2] == [
                "ConditionalCheckFailed"
            ]:
                parent = self.records.head(new.parent_execution_id)
                status = parent.record.status.value if parent is not None else None
                if parent is None or not parent.running:
                    raise parent_not_running_error(new.parent_execution_id, status) from None
            name = self.table.get(name_partition, layout.NAME)
            if name is not None:
                return self._existing(name, new), False
            raise StoreError(f"Could not start {new.execution_id}: {conflict.reasons}") from None
        head, folded = head_of(execution), Folded()
        folded.apply(1, start)
        self.cache.started(head, folded)
        # The execution as written (its input may be in the log only).
        return dataclasses.replace(head.record, input_payload=new.input_payload), True

    def _existing(self, name: dict[str, Any], new: NewExecution) -> ExecutionRecord:
        """The execution that has the name; a child's parent no longer waits for it."""
        if new.parent_execution_id is not None and new.parent_operation_id is not None:
            target = start_target_timer(new.parent_operation_id)
            self.table.call("delete_item", Key=items.timer_key(new.parent_execution_id, target))
        return self.records.get(name["x"]["S"])
