"""DynamoDB's on-demand bill for the requests a client makes, counted as DynamoDB counts.

Hooks on a boto3 client (botocore's ``before-parameter-build`` and ``after-call`` events)
look at every request and at the items it touched in moto's table before and
after, and add up:

- write request units: per item written, 1 per KB (rounded up) of the larger of
  its size before and after; twice that inside ``TransactWriteItems`` (a
  ``ConditionCheck`` there is charged as a write of its item); a delete is
  charged by the size of what it deleted, at least 1;
- index writes: per global secondary index an item enters, leaves or moves
  in, 1 per KB of its projection (a move is a delete and a put);
- read request units: per 4 KB (rounded up) of what a read returns, per item
  for ``GetItem`` and ``BatchGetItem``, per page for ``Query``; half for
  eventually consistent reads.

Item sizes are moto's (the sum of attribute names and values, as DynamoDB
sizes them).
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
WRITE_PRICE = 0.625 / 1_000_000
"""Dollars per on-demand write request unit (us-east-1)."""
READ_PRICE = 0.125 / 1_000_000
"""Dollars per on-demand read request unit (us-east-1)."""


@dataclass
class Bill:
    """What a run cost."""

    requests: Counter[str] = field(default_factory=Counter)
    write_units: float = 0.0
    index_write_units: float = 0.0
    read_units: float = 0.0

    @property
    def dollars(self) -> float:
        return (self.write_units + self.index_write_units) * WRITE_PRICE + (
            self.read_units * READ_PRICE
        )

    @property
    def writes(self) -> float:
        return self.write_units + self.index_write_units


class Meter:
    """Counts the bill of every request ``client`` makes to ``table_name`` (on moto)."""

    def __init__(self, client: Any, table_name: str, region: str) -> None:
        self.bill = Bill()
        self._lock = threading.Lock()
        self._table = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].get_table(table_name)
        self._pending = threading.local()
        """The request under way in this thread: its parameters, its items before."""
        events = client.meta.events
        events.register("before-parameter-build.dynamodb.*", self._before_call)
        events.register("after-call.dynamodb.*", self._after_call)

    def _item(self, key: dict[str, Any]) -> Any:
        hash_key = DynamoType(key["p"])
        range_key = DynamoType(key["s"])
        try:
            return self._table.get_item(hash_key, range_key)
        except KeyError:
            return None

    def _writes(self, operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """(kind, key) of every item a write request touches."""
        if operation == "PutItem":
            return [("Put", params["Item"])]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(operation[:-4], params["Key"])]
        if operation == "TransactWriteItems":
            return [
                (kind, body["Item"] if kind == "Put" else body["Key"])
                for entry in params["TransactItems"]
                for kind, body in entry.items()
            ]
        return []

    def _before_call(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        operation = model.name
        with self._lock:
            self.bill.requests[operation] += 1
        self._pending.params = params
        self._pending.before = [
            (kind, *self._shape(self._item({"p": key["p"], "s": key["s"]})), key)
            for kind, key in self._writes(operation, params)
        ]

    def _after_call(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        operation = model.name
        if "Error" in parsed:
            return
        with self._lock:
            self._charge(operation, parsed)

    def _charge(self, operation: str, parsed: dict[str, Any]) -> None:
        transactional = operation == "TransactWriteItems"
        params: dict[str, Any] = self._pending.params
        for kind, size_before, indexes_before, key in self._pending.before:
            size_after, indexes_after = self._shape(self._item({"p": key["p"], "s": key["s"]}))
            size = max(size_before, size_after) if kind != "Delete" else size_before
            units = max(1, math.ceil(size / WRITE_UNIT_BYTES))
            self.bill.write_units += units * (2 if transactional else 1)
            for index in indexes_before.keys() | indexes_after.keys():
                moved = indexes_before.get(index) != indexes_after.get(index)
                if moved:
                    self.bill.index_write_units += (indexes_before.get(index) is not None) + (
                        indexes_after.get(index) is not None
                    )
        self._charge_reads(operation, parsed, params)

    def _shape(self, item: Any) -> tuple[int, dict[str, Any]]:
        """An item's size and its key in each index (absent: not in the index)."""
        if item is None:
            return 0, {}
        attrs = item.attrs
        keys = {
            "by-function": ("gf", "gs"),
            "by-start": ("ga", "gs"),
            "by-due": ("gd", "dd"),
        }
        indexes = {
            name: (attrs[a].value, attrs[b].value)
            for name, (a, b) in keys.items()
            if a in attrs and b in attrs
        }
        return item.size(), indexes

    def _charge_reads(self, operation: str, parsed: dict[str, Any], params: dict[str, Any]) -> None:
        factor = 1.0 if params.get("ConsistentRead") else 0.5
        if operation == "GetItem":
            item = parsed.get("Item")
            self.bill.read_units += factor * max(1, math.ceil(_size(item) / READ_UNIT_BYTES))
        elif operation == "Query":
            size = sum(_size(item) for item in parsed.get("Items", []))
            self.bill.read_units += factor * max(1, math.ceil(size / READ_UNIT_BYTES))
        elif operation == "BatchGetItem":
            for items in parsed.get("Responses", {}).values():
                for item in items:
                    self.bill.read_units += max(1, math.ceil(_size(item) / READ_UNIT_BYTES))


def _size(item: dict[str, Any] | None) -> int:
    """An item's size as DynamoDB counts it: attribute names and values."""
    if not item:
        return 0
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return len(inner.lstrip("-").replace(".", "")) // 2 + 1
    if kind == "B":
        return len(inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_value_size(v) for v in inner)
    return 1
