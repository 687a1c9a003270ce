"""The table's layout: keys, item kinds, attributes and indexes, and ``create_table``.

One table holds every execution of an engine. docs/ARCHITECTURE.md ("On
DynamoDB") explains each item kind and why it is so; the constructs deploy
exactly ``table_definition``.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

PARTITION = "p"
SORT = "s"
TTL = "ttl"
"""Epoch seconds after which DynamoDB deletes the item."""

HEAD = "H"
"""The execution item: its record, lease and reinvoke time."""
LOG = "L#"
"""``L#<seq>``: one committed write of the execution (operations and events)."""
LOG_END = "L#~"
"""Sorts after every log item."""
OPERATION = "O#"
"""``O#<id>``: the latest state of an operation that waits on something outside."""
TIMER = "T#"
"""``T#<key>``: one of the execution's operation timers."""
CHILD = "Z#"
"""``Z#<child execution id>``: a child execution that a chained invoke started."""
NAME = "N"
"""The item of the partition that holds an execution name: the name is taken."""
CALLBACK = "C"
"""The item of a callback's partition: which execution and operation it completes."""
FUNCTION = "F"
"""The partition listing every function that has started an execution."""

SEQUENCE_DIGITS = 10

BY_FUNCTION = "by-function"
"""Index: executions of a function, by start (``gf``, ``gs``)."""
BY_START = "by-start"
"""Index: every execution, by start, over ``START_SHARDS`` partitions (``ga``, ``gs``)."""
BY_DUE = "by-due"
"""Index: due times of a function's executions (``gd``, ``dd``): the reinvoke time of
execution items, the due time of timer items."""
START_SHARDS = 8
"""Partitions of the by-start index, so that starts spread over several."""


def _digest(text: str) -> str:
    digest = hashlib.sha256(text.encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def execution_partition(execution_id: str) -> str:
    """The partition of an execution: its id. Ids made by the engines begin with
    the function's ARN, so a policy can confine a function to its own executions
    (a ``dynamodb:LeadingKeys`` condition)."""
    return execution_id


def name_partition(function_name: str, execution_name: str) -> str:
    """The partition that makes (function, execution name) unique: ``N#<function>#...``."""
    return f"N#{function_name}#{_digest(execution_name)}"


def callback_partition(token_hash: str) -> str:
    """The partition of a callback's index item, by the hash of its id."""
    return "C#" + token_hash


def log_key(sequence: int) -> str:
    return f"{LOG}{sequence:0{SEQUENCE_DIGITS}d}"


def log_sequence(sort_key: str) -> int:
    return int(sort_key[len(LOG) :])


def start_shard(execution_id: str) -> str:
    return f"A#{int(hashlib.sha256(execution_id.encode()).hexdigest(), 16) % START_SHARDS}"


def start_position(start_ms: int, execution_id: str) -> str:
    """The sort key of an execution in the by-start indexes: oldest first, then by id."""
    return f"{start_ms:013d}#{execution_id}"


def _key_attributes(*names: str) -> list[dict[str, str]]:
    return [{"AttributeName": name, "AttributeType": "S"} for name in names]


def table_definition(table_name: str) -> dict[str, Any]:
    """The ``CreateTable`` request of the table: keys and indexes (billing on demand)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [
            {"AttributeName": PARTITION, "KeyType": "HASH"},
            {"AttributeName": SORT, "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            *_key_attributes(PARTITION, SORT, "gf", "gs", "ga", "gd"),
            {"AttributeName": "dd", "AttributeType": "N"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": BY_FUNCTION,
                "KeySchema": [
                    {"AttributeName": "gf", "KeyType": "HASH"},
                    {"AttributeName": "gs", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
            {
                "IndexName": BY_START,
                "KeySchema": [
                    {"AttributeName": "ga", "KeyType": "HASH"},
                    {"AttributeName": "gs", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
            {
                "IndexName": BY_DUE,
                "KeySchema": [
                    {"AttributeName": "gd", "KeyType": "HASH"},
                    {"AttributeName": "dd", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["id", "k"]},
            },
        ],
    }


def create_table(client: Any, table_name: str) -> None:
    """Create the table, its indexes and its TTL setting, as the constructs deploy them.

    ``client`` is a boto3 DynamoDB client. Returns once the table is ACTIVE.
    """
    client.create_table(**table_definition(table_name))
    client.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL},
    )
