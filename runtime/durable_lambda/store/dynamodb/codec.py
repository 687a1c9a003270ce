"""How operations, events and execution records are kept in items.

A log item holds one write's operations and events as compressed JSON: a
step's START and result with their events take a few hundred bytes, inside
the one write unit a step is worth. Operations are kept as rows
``[id, type, status, parent, name, sub type, start ms, end ms, details]``.
The execution item keeps its record in attributes of a letter or two
(docs/ARCHITECTURE.md, "On DynamoDB").
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from durable_lambda.history import Event
from durable_lambda.lambda_service import ErrorObject, Operation, from_epoch_millis, to_millis
from durable_lambda.serdes import compact_json
from durable_lambda.store.contract import ExecutionRecord, ExecutionStatus, LeaseHolder
from durable_lambda.store.dynamodb import layout

COMPRESSION_LEVEL = 6


def string(value: str) -> dict[str, str]:
    """A string attribute value."""
    return {"S": value}


def number(value: int) -> dict[str, str]:
    """A number attribute value."""
    return {"N": str(value)}


def binary(value: bytes) -> dict[str, bytes]:
    """A binary attribute value."""
    return {"B": value}


def text_of(item: Mapping[str, Any], name: str) -> str | None:
    """The item's string attribute ``name``, if it has one."""
    value = item.get(name)
    return value["S"] if value is not None else None


def number_of(item: Mapping[str, Any], name: str) -> int | None:
    """The item's number attribute ``name``, if it has one."""
    value = item.get(name)
    return int(value["N"]) if value is not None else None


def key(partition: str, sort: str) -> dict[str, Any]:
    """The primary key of an item."""
    return {layout.PARTITION: string(partition), layout.SORT: string(sort)}


def head_key(execution_id: str) -> dict[str, Any]:
    """The key of an execution's item."""
    return key(layout.execution_partition(execution_id), layout.HEAD)


def pack(value: Any) -> bytes:
    """``value`` as compressed JSON."""
    return zlib.compress(compact_json(value).encode(), COMPRESSION_LEVEL)


def unpack(data: bytes) -> Any:
    return json.loads(zlib.decompress(data))


def operation_row(operation: Operation) -> list[Any]:
    details = operation.details_to_json_dict()
    return [
        operation.operation_id,
        operation.operation_type._value_,
        operation.status._value_,
        operation.parent_id,
        operation.name,
        operation.sub_type,
        to_millis(operation.start_timestamp),
        to_millis(operation.end_timestamp),
        details or None,
    ]


def operation_of(row: Sequence[Any]) -> Operation:
    operation_id, type_, status, parent_id, name, sub_type, start_ms, end_ms, details = row
    return Operation.from_stored(
        operation_id=operation_id,
        operation_type=type_,
        status=status,
        parent_id=parent_id,
        name=name,
        sub_type=sub_type,
        start_millis=start_ms,
        end_millis=end_ms,
        details=details or {},
    )


@dataclass
class Entry:
    """One log item: what one write recorded."""

    kind: str
    """``start``, ``lease``, ``write``, ``wake``, ``finish``, ``abandon`` or ``end``."""
    operations: list[Operation] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    first_event_id: int = 1

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"k": self.kind}
        if self.operations:
            body["o"] = [operation_row(operation) for operation in self.operations]
        if self.events:
            body["e"] = self.events
        return body

    @classmethod
    def of(cls, body: Mapping[str, Any], first_event_id: int) -> Entry:
        return cls(
            body["k"],
            [operation_of(row) for row in body.get("o", ())],
            list(body.get("e", ())),
            first_event_id,
        )

    @property
    def next_event_id(self) -> int:
        return self.first_event_id + len(self.events)

    def kept(self) -> Entry:
        """The entry as reading its log item gives it back: times to the millisecond."""
        operations = [operation_of(operation_row(operation)) for operation in self.operations]
        return Entry(self.kind, operations, self.events, self.first_event_id)


LEASE_CHANGES = frozenset({"lease", "abandon", "end", "finish"})
"""Kinds of entry after which an invocation that did not write it holds no lease."""


def error_text(error: ErrorObject | None) -> str | None:
    return compact_json(error.to_dict()) if error is not None else None


def error_of(text: str | None) -> ErrorObject | None:
    return ErrorObject.from_dict(json.loads(text)) if text else None


@dataclass
class Head:
    """An execution item as read."""

    item: dict[str, Any]
    record: ExecutionRecord
    epoch: int
    due: int | None

    @property
    def running(self) -> bool:
        return self.record.status is ExecutionStatus.RUNNING


def head_of(item: dict[str, Any]) -> Head:
    """The execution item ``item`` read: its record (with what is inline), epoch and due time."""
    owner = text_of(item, "lo")
    lease = (
        LeaseHolder(
            owner,
            text_of(item, "lh"),
            from_epoch_millis(number_of(item, "ls") or 0),
            from_epoch_millis(number_of(item, "lu") or 0),
        )
        if owner is not None
        else None
    )
    end_ms = number_of(item, "t1")
    record = ExecutionRecord(
        execution_id=item["id"]["S"],
        function_name=item["fn"]["S"],
        execution_name=item["nm"]["S"],
        status=ExecutionStatus(item["st"]["S"]),
        input_payload=text_of(item, "in"),
        start_timestamp=from_epoch_millis(int(item["t0"]["N"])),
        result=text_of(item, "rs"),
        error=error_of(text_of(item, "er")),
        end_timestamp=from_epoch_millis(end_ms) if end_ms is not None else None,
        timeout_seconds=number_of(item, "to"),
        parent_execution_id=text_of(item, "pe"),
        parent_operation_id=text_of(item, "po"),
        lease=lease,
    )
    return Head(item, record, number_of(item, "ep") or 0, number_of(item, "dd"))


def outcome_of(events: Sequence[Event]) -> tuple[str | None, ErrorObject | None]:
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
