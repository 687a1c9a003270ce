"""How operations, events and execution records are kept in items.

A log item holds one write's operations and events as compressed JSON: a
step's START and result with their events take a few hundred bytes, inside
the one write unit a step is worth. Operations are kept as rows
``[id, type, status, parent, name, sub type, start ms, end ms, details]``.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from durable_lambda.history import Event
from durable_lambda.lambda_service import ErrorObject, Operation, to_millis
from durable_lambda.serdes import compact_json

COMPRESSION_LEVEL = 6


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


LEASE_CHANGES = frozenset({"lease", "abandon", "end", "finish"})
"""Kinds of entry after which an invocation that did not write it holds no lease."""


def error_text(error: ErrorObject | None) -> str | None:
    return compact_json(error.to_dict()) if error is not None else None


def error_of(text: str | None) -> ErrorObject | None:
    return ErrorObject.from_dict(json.loads(text)) if text else None
