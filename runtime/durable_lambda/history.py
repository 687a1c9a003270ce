"""History events in the AWS durable execution shape.

Events are plain dicts: ``EventType``, ``SubType``, ``Id``, ``ParentId``,
``Name``, ``EventTimestamp`` and one ``<EventType>Details`` object. Stores
keep them with the payloads they carry and with timestamps as epoch
milliseconds; ``present`` turns a stored event into what
``get_execution_history`` returns.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from durable_lambda.lambda_service import (
    ErrorObject,
    Operation,
    epoch_millis,
    from_millis,
    to_millis,
)

Event = dict[str, Any]


def payload(value: str | None) -> dict[str, Any]:
    """An event's ``Result``/``Input`` object."""
    return {"Payload": value, "Truncated": False}


def error_payload(error: ErrorObject) -> dict[str, Any]:
    """An event's ``Error`` object."""
    return {"Payload": error.to_dict(), "Truncated": False}


def operation_event(
    event_type: str,
    operation: Operation,
    timestamp: datetime.datetime,
    details: Mapping[str, Any] | None = None,
) -> Event:
    """An event about one operation."""
    event: Event = {"EventType": event_type}
    if operation.sub_type:
        event["SubType"] = operation.sub_type
    event["Id"] = operation.operation_id
    if operation.name:
        event["Name"] = operation.name
    if operation.parent_id:
        event["ParentId"] = operation.parent_id
    event["EventTimestamp"] = epoch_millis(timestamp)
    event[f"{event_type}Details"] = dict(details) if details else {}
    return event


def execution_event(
    event_type: str, timestamp: datetime.datetime, details: Mapping[str, Any]
) -> Event:
    """An event about the execution or an invocation."""
    return {
        "EventType": event_type,
        "EventTimestamp": to_millis(timestamp),
        f"{event_type}Details": dict(details),
    }


def invocation_completed(
    started: datetime.datetime,
    ended: datetime.datetime,
    request_id: str,
    error: ErrorObject | None = None,
) -> Event:
    """The event closing every invocation; ``error`` when it crashed or failed."""
    details: dict[str, Any] = {
        "StartTimestamp": to_millis(started),
        "EndTimestamp": to_millis(ended),
        "RequestId": request_id,
    }
    if error is not None:
        details["Error"] = error_payload(error)
    return execution_event("InvocationCompleted", ended, details)


_PAYLOAD_KEYS = ("Result", "Input")
_TIMESTAMP_DETAIL_KEYS = ("StartTimestamp", "EndTimestamp", "ScheduledEndTimestamp")


def present(stored: Mapping[str, Any], event_id: int, *, include_data: bool) -> Event:
    """The public form of a stored event: numbered, with datetimes.

    Without ``include_data`` results and inputs are left out (``Truncated``);
    errors are always shown, as the AWS history does.
    """
    event: Event = {}
    for key, value in stored.items():
        if key == "EventTimestamp":
            event[key] = from_millis(value)
        elif key.endswith("Details") and isinstance(value, dict):
            event[key] = _present_details(value, include_data=include_data)
        else:
            event[key] = value
    event["EventId"] = event_id
    return event


def _present_details(details: Mapping[str, Any], *, include_data: bool) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in details.items():
        if key in _TIMESTAMP_DETAIL_KEYS and isinstance(value, int):
            result[key] = from_millis(value)
        elif key in _PAYLOAD_KEYS and isinstance(value, dict) and not include_data:
            result[key] = {"Truncated": True}
        else:
            result[key] = value
    return result
