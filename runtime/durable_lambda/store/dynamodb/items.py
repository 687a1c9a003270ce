"""The items a store writes beside the log: execution items and their changes,
names, timers, waiting operations, callbacks and child links.

Each function builds a ``TransactWriteItems`` entry (whose ``Update`` part is
also an ``UpdateItem`` request); none sends a request. docs/ARCHITECTURE.md
("On DynamoDB") has what each item holds and why.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

from durable_lambda.lambda_service import Operation, OperationType, epoch_millis
from durable_lambda.store.contract import (
    CheckpointBatch,
    ExecutionRecord,
    ExecutionStatus,
    LeaseHolder,
    NewExecution,
    start_target_timer,
)
from durable_lambda.store.dynamodb import layout
from durable_lambda.store.dynamodb.codec import (
    Head,
    binary,
    error_text,
    head_key,
    key,
    number,
    number_of,
    operation_row,
    pack,
    string,
)
from durable_lambda.transitions import OPERATION_TIMER, parse_operation_timer

LONGEST_EXECUTION = datetime.timedelta(days=366)
"""How long items of an execution without a timeout are kept at least (the
managed service's longest execution)."""
INLINE_INPUT_BYTES = 1024
"""Inputs up to this size are kept on the execution item too (it is rewritten
by every invocation, so larger ones are read from the first log item)."""
INLINE_OUTCOME_BYTES = 4096
MAX_TRANSITIONS_PER_WRITE = 32
"""With the log item, at most 97 items in one transaction (DynamoDB takes 100)."""

INDEXED_TYPES = frozenset({OperationType.CALLBACK, OperationType.CHAINED_INVOKE})
"""Operations whose latest state is kept in an ``O#`` item: callers outside change them
(a callback's caller, a chained invoke's target). A wait or a step waiting to
retry is changed only by its timer, whose item holds the operation as it waits."""

RUNNING = string(ExecutionStatus.RUNNING.value)


def expiry(
    start: datetime.datetime, timeout_seconds: int | None, retention: datetime.timedelta
) -> int:
    """The TTL of items written for a running execution: past its end plus retention."""
    lifetime = (
        datetime.timedelta(seconds=timeout_seconds)
        if timeout_seconds is not None
        else LONGEST_EXECUTION
    )
    return int((start + lifetime + retention).timestamp())


def expiry_of(head: Head, retention: datetime.timedelta) -> int:
    """The TTL of items written for the execution ``head`` was read from."""
    return number_of(head.item, "xp") or expiry(
        head.record.start_timestamp, head.record.timeout_seconds, retention
    )


# region starting


def execution_item(new: NewExecution, now_ms: int, expires: int) -> dict[str, Any]:
    """The execution item of an execution just started: RUNNING, due now."""
    item: dict[str, Any] = {
        **head_key(new.execution_id),
        "id": string(new.execution_id),
        "fn": string(new.function_name),
        "nm": string(new.execution_name),
        "st": RUNNING,
        "t0": number(now_ms),
        "ep": number(0),
        "dd": number(now_ms),
        "gd": string(new.function_name),
        "gf": string(new.function_name),
        "gs": string(layout.start_position(now_ms, new.execution_id)),
        "ga": string(layout.start_shard(new.execution_id)),
        "xp": number(expires),
    }
    if new.input_payload is not None:
        if len(new.input_payload.encode()) <= INLINE_INPUT_BYTES:
            item["in"] = string(new.input_payload)
        else:
            item["ix"] = number(1)
    if new.timeout_seconds is not None:
        item["to"] = number(new.timeout_seconds)
    if new.parent_execution_id is not None and new.parent_operation_id is not None:
        item["pe"] = string(new.parent_execution_id)
        item["po"] = string(new.parent_operation_id)
    return item


def name_key(function_name: str, execution_name: str) -> dict[str, Any]:
    """The key of the item that holds an execution name."""
    return key(layout.name_partition(function_name, execution_name), layout.NAME)


def name_put(new: NewExecution, expires: int) -> dict[str, Any]:
    """Take the execution's name, unless an execution has it."""
    return {
        "Put": {
            "Item": {
                **name_key(new.function_name, new.execution_name),
                "x": string(new.execution_id),
                layout.TTL: number(expires),
            },
            "ConditionExpression": "attribute_not_exists(p)",
        }
    }


def running_check(execution_id: str) -> dict[str, Any]:
    """A transaction's condition that the execution is RUNNING."""
    return {
        "ConditionCheck": {
            "Key": head_key(execution_id),
            "ConditionExpression": "st = :running",
            "ExpressionAttributeValues": {":running": RUNNING},
        }
    }


def child_link(new: NewExecution, expires: int) -> list[dict[str, Any]]:
    """A child's part of its creation: its parent runs, links to it, and no longer
    waits for the target to start."""
    assert new.parent_execution_id is not None and new.parent_operation_id is not None
    parent = layout.execution_partition(new.parent_execution_id)
    child = layout.execution_partition(new.execution_id)
    return [
        running_check(new.parent_execution_id),
        {
            "Put": {
                "Item": {
                    **key(parent, layout.CHILD + child),
                    "x": string(new.execution_id),
                    layout.TTL: number(expires),
                }
            }
        },
        {
            "Delete": {
                "Key": timer_key(
                    new.parent_execution_id, start_target_timer(new.parent_operation_id)
                )
            }
        },
    ]


# endregion
# region the execution item


def lease_update(
    head: Head,
    invocation_id: str,
    holder: str | None,
    now_ms: int,
    until_ms: int,
    *,
    same_due: bool = False,
) -> dict[str, Any]:
    """Take the lease of the execution ``head`` was read from, unless another took it
    since: the epoch moves on, and the execution is due by the lease's expiry.
    ``same_due``: unless its due time changed too."""
    due = " AND attribute_not_exists(dd)" if head.due is None else " AND dd = :due"
    return {
        "Key": head_key(head.record.execution_id),
        "UpdateExpression": (
            "SET ep = :epoch, lo = :owner, ls = :started, lu = :until"
            # Due by the lease's expiry; an earlier due time stays untouched.
            + (", dd = :until" if head.due is None or head.due > until_ms else "")
            + (", lh = :holder" if holder is not None else " REMOVE lh")
        ),
        "ConditionExpression": "st = :running AND ep = :seen" + (due if same_due else ""),
        "ExpressionAttributeValues": {
            ":epoch": number(head.epoch + 1),
            ":seen": number(head.epoch),
            ":owner": string(invocation_id),
            ":started": number(now_ms),
            ":until": number(until_ms),
            ":running": RUNNING,
            **({":holder": string(holder)} if holder is not None else {}),
            **({":due": number(head.due)} if same_due and head.due is not None else {}),
        },
    }


def due_at_lease_expiry(execution_id: str, held: LeaseHolder) -> dict[str, Any]:
    """Make the execution due when the live lease ``held`` expires, if it still holds."""
    return {
        "Key": head_key(execution_id),
        "UpdateExpression": "SET dd = :until",
        "ConditionExpression": "lo = :owner AND st = :running",
        "ExpressionAttributeValues": {
            ":until": number(epoch_millis(held.until)),
            ":owner": string(held.invocation_id),
            ":running": RUNNING,
        },
    }


def due_update(execution_id: str, due: datetime.datetime) -> dict[str, Any]:
    """Make a RUNNING execution due at ``due``."""
    return {
        "Key": head_key(execution_id),
        "UpdateExpression": "SET dd = :due",
        "ConditionExpression": "st = :running",
        "ExpressionAttributeValues": {":due": number(epoch_millis(due)), ":running": RUNNING},
    }


def release_update(execution_id: str, epoch: int, *, keep_due: bool) -> dict[str, Any]:
    """Release the lease of ``epoch`` at an invocation's end; ``keep_due`` leaves the
    execution due (a failed invocation is retried)."""
    return {
        "Key": head_key(execution_id),
        "UpdateExpression": "REMOVE lo, lh, ls, lu" + ("" if keep_due else ", dd"),
        "ConditionExpression": "ep = :epoch AND st = :running",
        "ExpressionAttributeValues": {":epoch": number(epoch), ":running": RUNNING},
    }


def abandon_update(
    execution_id: str, invocation_id: str, retry_at: datetime.datetime
) -> dict[str, Any]:
    """Take the lease from the invocation that holds it, due again at ``retry_at``."""
    return {
        "Key": head_key(execution_id),
        "UpdateExpression": "SET ep = ep + :one, dd = :retry REMOVE lo, lh, ls, lu",
        "ConditionExpression": "lo = :owner AND st = :running",
        "ExpressionAttributeValues": {
            ":one": number(1),
            ":retry": number(epoch_millis(retry_at)),
            ":owner": string(invocation_id),
            ":running": RUNNING,
        },
    }


def ending_updates(
    epoch: int,
    ending: ExecutionRecord,
    seq: int,
    now: datetime.datetime,
    retention: datetime.timedelta,
    *,
    fence: bool = False,
) -> list[dict[str, Any]]:
    """The execution item (status, outcome, TTL) and name TTL of an execution that
    ends with log item ``seq``, unless its epoch moved on from ``epoch``; ``fence``
    moves the epoch on (an end from outside)."""
    expires = int((now + retention).timestamp())
    values: dict[str, Any] = {
        ":status": string(ending.status.value),
        ":end": number(epoch_millis(now)),
        ":ttl": number(expires),
        ":running": RUNNING,
        ":epoch": number(epoch),
    }
    assignments = ["st = :status", "t1 = :end", "#ttl = :ttl", "xp = :ttl"]
    if fence:
        assignments.insert(0, "ep = ep + :one")
        values[":one"] = number(1)
    result_text, error_json = ending.result, error_text(ending.error)
    inline = len((result_text or "").encode()) + len((error_json or "").encode())
    if inline <= INLINE_OUTCOME_BYTES:
        if result_text is not None:
            assignments.append("rs = :result")
            values[":result"] = string(result_text)
        if error_json is not None:
            assignments.append("er = :error")
            values[":error"] = string(error_json)
    else:
        assignments.append("rx = :outcome")
        values[":outcome"] = number(seq)
    update = {
        "Update": {
            "Key": head_key(ending.execution_id),
            "UpdateExpression": "SET " + ", ".join(assignments) + " REMOVE lo, lh, ls, lu, dd",
            "ConditionExpression": "st = :running AND ep = :epoch",
            "ExpressionAttributeNames": {"#ttl": layout.TTL},
            "ExpressionAttributeValues": values,
        }
    }
    name = {
        "Update": {
            "Key": name_key(ending.function_name, ending.execution_name),
            "UpdateExpression": "SET #ttl = :ttl",
            "ExpressionAttributeNames": {"#ttl": layout.TTL},
            "ExpressionAttributeValues": {":ttl": number(expires)},
        }
    }
    return [update, name]


# endregion
# region what a write changes beside its log item


def parts(batch: CheckpointBatch) -> Iterator[CheckpointBatch]:
    """The batch, or, if one transaction cannot hold it, parts of whole transitions."""
    if len(batch.operations) + len(batch.timers) <= MAX_TRANSITIONS_PER_WRITE or not (
        batch.transitions
    ):
        yield batch
        return
    for start in range(0, len(batch.transitions), MAX_TRANSITIONS_PER_WRITE):
        part = CheckpointBatch()
        for transition in batch.transitions[start : start + MAX_TRANSITIONS_PER_WRITE]:
            part.add(transition)
        yield part


def index_items(
    execution: ExecutionRecord, batch: CheckpointBatch, expires: int
) -> list[dict[str, Any]]:
    """What a write of ``batch`` changes beside its log item: operations that
    outside callers change, timers (with the operation they wait on), callbacks."""
    partition = layout.execution_partition(execution.execution_id)
    operations = list(batch.operations.values())
    return [
        *(
            operation_put(partition, op, expires)
            for op in operations
            if op.operation_type in INDEXED_TYPES
        ),
        *timer_changes(execution, batch.timers.items(), expires, batch.operations),
        *callback_puts(execution.execution_id, operations, expires),
    ]


def operation_put(partition: str, operation: Operation, expires: int) -> dict[str, Any]:
    """Keep ``operation`` as the latest state of a waiting operation, a version on."""
    return {
        "Update": {
            "Key": key(partition, layout.OPERATION + operation.operation_id),
            "UpdateExpression": "SET o = :o, os = :status, #ttl = :ttl ADD ov :one",
            "ExpressionAttributeNames": {"#ttl": layout.TTL},
            "ExpressionAttributeValues": {
                ":o": binary(pack(operation_row(operation))),
                ":status": string(operation.status.value),
                ":ttl": number(expires),
                ":one": number(1),
            },
        }
    }


def operation_change(
    partition: str, operation_id: str, operation: Operation, version: int
) -> dict[str, Any]:
    """A waker's change of a waiting operation, unless it changed since ``version``."""
    return {
        "Update": {
            "Key": key(partition, layout.OPERATION + operation_id),
            "UpdateExpression": "SET o = :o, os = :status ADD ov :one",
            "ConditionExpression": "ov = :version",
            "ExpressionAttributeValues": {
                ":o": binary(pack(operation_row(operation))),
                ":status": string(operation.status.value),
                ":version": number(version),
                ":one": number(1),
            },
        }
    }


def timer_key(execution_id: str, timer: str) -> dict[str, Any]:
    """The key of the execution's timer item ``timer``."""
    return key(layout.execution_partition(execution_id), layout.TIMER + timer)


def timer_put(
    execution_id: str,
    function_name: str,
    timer: str,
    due: datetime.datetime,
    expires: int,
    *,
    operation: Operation | None = None,
) -> dict[str, Any]:
    """Set the execution's timer ``timer``, holding the ``operation`` it ends if any."""
    item = {
        **timer_key(execution_id, timer),
        "id": string(execution_id),
        "k": string(timer),
        "gd": string(function_name),
        "dd": number(epoch_millis(due)),
        layout.TTL: number(expires),
    }
    if operation is not None:
        item["o"] = binary(pack(operation_row(operation)))
    return {"Put": {"Item": item}}


def timer_changes(
    execution: ExecutionRecord,
    timers: Collection[tuple[str, datetime.datetime | None]],
    expires: int,
    operations: Mapping[str, Operation],
) -> list[dict[str, Any]]:
    """Timer items to set or clear; an operation timer's item holds the operation
    it ends (a wait, a step to retry), which only that timer changes next."""
    changes: list[dict[str, Any]] = []
    for timer, due in timers:
        if due is None:
            changes.append({"Delete": {"Key": timer_key(execution.execution_id, timer)}})
            continue
        parsed = parse_operation_timer(timer)
        operation = operations.get(parsed[1]) if parsed and parsed[0] == OPERATION_TIMER else None
        changes.append(
            timer_put(
                execution.execution_id,
                execution.function_name,
                timer,
                due,
                expires,
                operation=operation,
            )
        )
    return changes


def callback_puts(
    execution_id: str, operations: Sequence[Operation], expires: int
) -> list[dict[str, Any]]:
    """The callback items of the callbacks among ``operations``: by their id's hash."""
    return [
        {
            "Put": {
                "Item": {
                    **key(layout.callback_partition(details.token_hash), layout.CALLBACK),
                    "x": string(execution_id),
                    "o": string(operation.operation_id),
                    layout.TTL: number(expires),
                }
            }
        }
        for operation in operations
        if (details := operation.callback_details) is not None and details.token_hash
    ]


# endregion
