"""The events a durable function takes on Lambda (docs/ARCHITECTURE.md, "Events")."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from durable_lambda.lambda_service import epoch_millis, from_epoch_millis

RESUME = "DurableExecutionArn"
TIMER = "DurableExecutionTimer"
START = "DurableExecutionStart"
CALL = "DurableExecutionCall"


def resume(execution_id: str) -> dict[str, Any]:
    return {RESUME: execution_id}


def timer(execution_id: str, key: str, due: datetime.datetime) -> dict[str, Any]:
    return {TIMER: {RESUME: execution_id, "Key": key, "Due": epoch_millis(due)}}


def start(name: str, input_payload: str | None) -> dict[str, Any]:
    return {START: {"Name": name, "Input": input_payload}}


def call(
    execution_id: str, operation_id: str, function_name: str, payload: str | None
) -> dict[str, Any]:
    """Call ``function_name`` with ``payload`` for the chained invoke ``operation_id``."""
    return {
        CALL: {
            RESUME: execution_id,
            "OperationId": operation_id,
            "FunctionName": function_name,
            "Payload": payload,
        }
    }


def kind_of(event: object) -> str | None:
    """Which of the runtime's events ``event`` is; None for any other (a plain event)."""
    if not isinstance(event, Mapping) or len(event) != 1:
        return None
    kind, body = next(iter(event.items()))
    if kind == RESUME and isinstance(body, str):
        return RESUME
    if isinstance(kind, str) and kind in (TIMER, START, CALL) and isinstance(body, Mapping):
        return kind
    return None


def due_of(body: Mapping[str, Any]) -> datetime.datetime:
    return from_epoch_millis(int(body["Due"]))
