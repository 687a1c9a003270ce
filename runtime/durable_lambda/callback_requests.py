"""What a caller's success, failure or heartbeat does to a callback, on any store.

The local engine, the callback API on Lambda and ``DurableClient`` all turn a
request into a ``CallbackRequest`` here and apply it with ``apply``, so the
refusals are the same everywhere: ValidationError for a malformed id or a
result that is not UTF-8, PayloadTooLargeError over 256 KiB,
CallbackNotFoundError for an unknown id, CallbackClosedError when the callback
no longer waits; none of them changes anything.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from durable_lambda.callback_ids import check_payload_size, parse_callback_id, token_hash
from durable_lambda.exceptions import ValidationError
from durable_lambda.lambda_service import ErrorObject
from durable_lambda.operation.callback import (
    callback_error,
    callback_failed,
    callback_heartbeat,
    callback_succeeded,
)
from durable_lambda.store.contract import CallbackChange, Store


@dataclass(frozen=True)
class CallbackRequest:
    """A checked request to change the callback whose id hashes to ``token_hash``."""

    token_hash: str
    change: CallbackChange
    wakes: bool
    """Whether it completes the callback, so its execution must be invoked."""


def success(callback_id: str, result: bytes | None) -> CallbackRequest:
    """Complete the callback with ``result`` (UTF-8 text)."""
    callback = token_hash(parse_callback_id(callback_id))
    check_payload_size("result", len(result or b""))
    try:
        text = result.decode() if result else None
    except UnicodeDecodeError as e:
        msg = f"The callback result must be UTF-8 text: {e}"
        raise ValidationError(msg) from e
    return CallbackRequest(callback, callback_succeeded(text), wakes=True)


def failure(callback_id: str, error: ErrorObject | Mapping[str, Any] | None) -> CallbackRequest:
    """Fail the callback with ``error`` (an ErrorObject, or a mapping with ErrorType,
    ErrorMessage, ErrorData and StackTrace, each optional)."""
    callback = token_hash(parse_callback_id(callback_id))
    return CallbackRequest(callback, callback_failed(callback_error(error)), wakes=True)


def heartbeat(callback_id: str) -> CallbackRequest:
    """Restart the callback's heartbeat timeout."""
    return CallbackRequest(token_hash(parse_callback_id(callback_id)), callback_heartbeat, False)


def apply(store: Store, request: CallbackRequest, now: datetime.datetime) -> str:
    """Apply the request to the store; the id of the callback's execution."""
    return store.change_callback(request.token_hash, request.change, now)
