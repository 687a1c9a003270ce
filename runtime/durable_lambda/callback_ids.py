"""Callback ids: unguessable capabilities derived from a secret key.

A callback id is ``base64url(HMAC-SHA256(key, execution_id + "\\0" + operation_id))``
without padding: 256 bits that nobody can guess without the key, yet the
same on every replay, so an id a submitter already sent stays valid. The
key never enters the store; stores keep only ``token_hash(callback_id)``
(SHA-256) to find the callback an id names.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from durable_lambda.exceptions import ValidationError

CALLBACK_KEY_BYTES = 32
"""Length of a callback key."""
CALLBACK_ID_LENGTH = 43
"""Characters in a callback id: 32 bytes in unpadded base64url."""
MAX_CALLBACK_PAYLOAD_BYTES = 256 * 1024
"""Largest result or error a callback accepts, as for AWS's callback APIs."""

_CALLBACK_ID = re.compile(rf"[A-Za-z0-9_-]{{{CALLBACK_ID_LENGTH}}}")
_SHOWN_CHARACTERS = 60


class PayloadTooLargeError(ValidationError):
    """A callback result or error exceeds MAX_CALLBACK_PAYLOAD_BYTES."""


def new_callback_key() -> bytes:
    """A fresh random callback key."""
    return secrets.token_bytes(CALLBACK_KEY_BYTES)


def callback_id_for(key: bytes, execution_id: str, operation_id: str) -> str:
    """The id of the callback operation ``operation_id`` of ``execution_id``."""
    message = f"{execution_id}\0{operation_id}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def token_hash(callback_id: str) -> str:
    """What a store keeps of a callback id: its SHA-256, hex."""
    return hashlib.sha256(callback_id.encode()).hexdigest()


def parse_callback_id(text: str) -> str:
    """``text`` if it has the shape of a callback id, else a ValidationError."""
    if not isinstance(text, str):
        msg = f"A callback id must be a string, got {type(text).__name__}"
        raise ValidationError(msg)
    if _CALLBACK_ID.fullmatch(text) is None:
        shown = text[:_SHOWN_CHARACTERS] + "..." if len(text) > _SHOWN_CHARACTERS else text
        msg = (
            f"Malformed callback id {shown!r}: a callback id is {CALLBACK_ID_LENGTH} "
            "characters from A-Z, a-z, 0-9, '-' and '_'"
        )
        raise ValidationError(msg)
    return text


def check_payload_size(what: str, size: int) -> None:
    """Refuse a callback payload over MAX_CALLBACK_PAYLOAD_BYTES (PayloadTooLargeError)."""
    if size > MAX_CALLBACK_PAYLOAD_BYTES:
        msg = (
            f"The callback {what} is {size} bytes; the limit is "
            f"{MAX_CALLBACK_PAYLOAD_BYTES} bytes (256 KiB)"
        )
        raise PayloadTooLargeError(msg)


def callback_url(endpoint: str, callback_id: str) -> str:
    """The URL of a callback under an engine's callback endpoint."""
    return f"{endpoint.rstrip('/')}/callbacks/{callback_id}"
