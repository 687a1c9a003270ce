"""Timers: setting and firing them, and the ``by-due`` index that finds them.

Operation timers are ``T#`` items; an execution's reinvoke time is its
execution item's ``dd``. Both are in the due index under their function,
and the ``F`` partition lists the functions to read it for.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import heapq
import itertools
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from durable_lambda.lambda_service import epoch_millis, from_epoch_millis
from durable_lambda.store.contract import (
    EXECUTION_TIMEOUT_TIMER,
    REINVOKE_TIMER,
    DueTimer,
    ExecutionStatus,
    function_call_timer,
    is_delivery_timer,
    redelivery_due,
    start_target_timer,
    timed_out_error,
)
from durable_lambda.store.dynamodb import items, layout
from durable_lambda.store.dynamodb.codec import key, number, operation_of, string, text_of, unpack
from durable_lambda.store.dynamodb.endings import Endings
from durable_lambda.store.dynamodb.records import Records
from durable_lambda.store.dynamodb.table import Conflict, Table
from durable_lambda.store.dynamodb.wakers import Wakers
from durable_lambda.transitions import Transition, on_timer, parse_operation_timer


@dataclasses.dataclass(kw_only=True, eq=False)
class Timers:
    """The table's timers, and the functions whose timers the due index holds."""

    table: Table
    records: Records
    wakers: Wakers
    endings: Endings
    retention: datetime.timedelta
    _functions: set[str] = dataclasses.field(default_factory=set, init=False)

    def register_function(self, function_name: str) -> None:
        """Note the function in the function list once per store (its timers are read by it)."""
        if function_name in self._functions:
            return
        self.table.call("put_item", Item=key(layout.FUNCTION, function_name))
        self._functions.add(function_name)

    def schedule_reinvoke(self, execution_id: str, due: datetime.datetime) -> None:
        """The store contract's ``schedule_reinvoke``."""
        if self.table.on_timer_set is not None:
            self.table.on_timer_set(execution_id, REINVOKE_TIMER, due)
        with contextlib.suppress(Conflict):  # it has ended: nothing to invoke
            self.table.call("update_item", **items.due_update(execution_id, due))

    def fire(self, execution_id: str, timer: str, now: datetime.datetime) -> bool:
        """The store contract's ``fire_timer``."""
        if timer == REINVOKE_TIMER:
            head = self.records.head(execution_id)
            return head is not None and head.running and head.due is not None
        timer_key = items.timer_key(execution_id, timer)
        item = self.table.call("get_item", Key=timer_key, ConsistentRead=True).get("Item")
        if item is None:
            return False
        head = self.records.head(execution_id)
        if head is None or not head.running:
            self.table.call("delete_item", Key=timer_key)
            return False
        if is_delivery_timer(timer):
            redelivery = redelivery_due(timer, now)
            if redelivery is not None:
                self._move(timer_key, redelivery)
            return True
        if timer == EXECUTION_TIMEOUT_TIMER:
            self.endings.terminate(
                execution_id,
                ExecutionStatus.TIMED_OUT,
                now,
                timed_out_error(head.record.timeout_seconds),
            )
            return False
        parsed = parse_operation_timer(timer)
        consume = [{"Delete": {"Key": timer_key, "ConditionExpression": "attribute_exists(p)"}}]
        waiting = operation_of(unpack(item["o"]["B"])) if "o" in item else None
        if parsed is None or not self.wakers.wake(
            execution_id,
            parsed[1],
            lambda op: _without_timer(on_timer(op, parsed[0], now), timer),
            now,
            extra=lambda: consume,
            waiting=waiting,
            head=head,
        ):
            self.table.call("delete_item", Key=timer_key)
            return False
        return True

    def _move(self, timer_key: dict[str, Any], due: datetime.datetime) -> None:
        with contextlib.suppress(Conflict):  # it went meanwhile: the target started
            self.table.call(
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
        deadline: datetime.datetime,
    ) -> bool:
        """The store contract's ``claim_function_call``."""
        head = self.records.head(execution_id)
        if head is None or not head.running:
            return False
        target = start_target_timer(operation_id)
        try:
            self.table.transact(
                [
                    {
                        "Delete": {
                            "Key": items.timer_key(execution_id, target),
                            "ConditionExpression": "attribute_exists(p)",
                        }
                    },
                    items.timer_put(
                        execution_id,
                        head.record.function_name,
                        function_call_timer(operation_id),
                        deadline,
                        items.expiry_of(head, self.retention),
                    ),
                    items.running_check(execution_id),
                ]
            )
        except Conflict:
            return False
        return True

    def due(
        self,
        now: datetime.datetime,
        limit: int,
        function_names: Collection[str] | None = None,
    ) -> Sequence[DueTimer]:
        """The store contract's ``due_timers``."""
        now_ms = epoch_millis(now)
        streams = [
            self._due(function_name, now_ms, limit) for function_name in self._names(function_names)
        ]
        merged = heapq.merge(*streams, key=lambda timer: timer.due)
        return list(itertools.islice(merged, limit))

    def next_due(self, function_names: Collection[str] | None = None) -> datetime.datetime | None:
        """The store contract's ``next_timer_due``."""
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
            for item in self.table.query(
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
        response = self.table.call(
            "query",
            IndexName=layout.BY_DUE,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            Limit=limit,
        )
        for item in response.get("Items", []):
            timer = text_of(item, "k") or REINVOKE_TIMER
            yield DueTimer(item["id"]["S"], timer, from_epoch_millis(int(item["dd"]["N"])))


def _without_timer(transition: Transition | None, fired: str) -> Transition | None:
    """A timer's transition, minus clearing the timer that fired (consumed with it)."""
    if transition is None:
        return None
    return transition._replace(timers=tuple(t for t in transition.timers if t.key != fired))
