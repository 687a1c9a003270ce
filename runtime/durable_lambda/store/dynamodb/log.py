"""An execution's log: one item per committed write, numbered from 1.

Log items are written with ``attribute_not_exists``, so taking the next
number is the fence (docs/ARCHITECTURE.md, "On DynamoDB"); items too large
for the table are kept in the payload bucket.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from durable_lambda.store.contract import ExecutionRecord, StoreError
from durable_lambda.store.dynamodb import layout
from durable_lambda.store.dynamodb.codec import (
    Entry,
    Head,
    binary,
    number,
    number_of,
    operation_row,
    outcome_of,
    pack,
    string,
    text_of,
    unpack,
)
from durable_lambda.store.dynamodb.payloads import PayloadBucket
from durable_lambda.store.dynamodb.table import Table

ITEM_LIMIT_BYTES = 350_000
"""Largest log item kept in the table; larger ones go to the payload bucket.
Under DynamoDB's 400 KB (and moto's 405,000 bytes), with room for keys."""


class Log:
    """Reads and writes of the log items of the table's executions."""

    def __init__(self, table: Table, payloads: PayloadBucket) -> None:
        self.table = table
        self.payloads = payloads

    def item(self, partition: str, seq: int, entry: Entry, expires: int) -> dict[str, Any]:
        """The log item ``seq`` holding ``entry``; what does not fit goes to the bucket."""
        data = pack(entry.body())
        item: dict[str, Any] = {
            layout.PARTITION: string(partition),
            layout.SORT: string(layout.log_key(seq)),
            "e0": number(entry.first_event_id),
            layout.TTL: number(expires),
        }
        if len(data) <= ITEM_LIMIT_BYTES:
            item["b"] = binary(data)
        else:
            self.payloads.check(len(data), ITEM_LIMIT_BYTES, _what(entry))
            item["r"] = string(self.payloads.put(f"{partition}/{layout.log_key(seq)}", data))
        return item

    def put(self, partition: str, seq: int, entry: Entry, expires: int) -> dict[str, Any]:
        """The transaction item that writes log item ``seq`` unless it was taken."""
        return {
            "Put": {
                "Item": self.item(partition, seq, entry, expires),
                "ConditionExpression": "attribute_not_exists(p)",
            }
        }

    def decode(self, item: dict[str, Any]) -> Entry:
        reference = text_of(item, "r")
        data = self.payloads.get(reference) if reference is not None else item["b"]["B"]
        return Entry.of(unpack(data), int(item["e0"]["N"]))

    def entry(self, execution_id: str, seq: int) -> Entry:
        """Log item ``seq``; StoreError if it is missing."""
        item = self.table.get(layout.execution_partition(execution_id), layout.log_key(seq))
        if item is None:
            msg = f"Execution {execution_id} has no log item {seq}"
            raise StoreError(msg)
        return self.decode(item)

    def entries(self, partition: str, after: int) -> Iterator[tuple[int, Entry]]:
        """The log items after sequence number ``after``, in order."""
        for item in self.table.query(
            KeyConditionExpression="p = :p AND s BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":p": string(partition),
                ":low": string(layout.log_key(after + 1)),
                ":high": string(layout.LOG_END),
            },
            ConsistentRead=True,
        ):
            yield layout.log_sequence(item[layout.SORT]["S"]), self.decode(item)

    def tail(self, partition: str) -> tuple[int, int]:
        """(sequence number, next event id) after the last log item."""
        response = self.table.call(
            "query",
            KeyConditionExpression="p = :p AND s BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":p": string(partition),
                ":low": string(layout.LOG),
                ":high": string(layout.LOG_END),
            },
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        if not items:
            return 0, 1
        entry = self.decode(items[0])
        return layout.log_sequence(items[0][layout.SORT]["S"]), entry.next_event_id

    def full_record(self, head: Head) -> ExecutionRecord:
        """The record with its input and outcome, read from the log where not inline."""
        record = head.record
        item = head.item
        if "ix" in item:
            start = self.entry(head.record.execution_id, 1)
            started = start.events[0].get("ExecutionStartedDetails", {}) if start.events else {}
            record = dataclasses.replace(
                record, input_payload=started.get("Input", {}).get("Payload")
            )
        outcome_seq = number_of(item, "rx")
        if outcome_seq is not None:
            result, error = outcome_of(self.entry(record.execution_id, outcome_seq).events)
            record = dataclasses.replace(record, result=result, error=error)
        return record


def _what(entry: Entry) -> str:
    """The write's operations, for an error message."""
    if not entry.operations:
        return f"The {entry.kind} record"
    largest = max(entry.operations, key=lambda op: len(pack(operation_row(op))))
    named = f" {largest.name!r}" if largest.name else ""
    kind = largest.operation_type.value.lower()
    return f"The checkpoint of {kind}{named} (operation {largest.operation_id})"
