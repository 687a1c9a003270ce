"""Where the local engine's callback key comes from.

Callback ids derive from a secret key that the store never holds. An engine
on a file store keeps its key in a sidecar file next to the database
(``<database>-callback-key``, mode 0600), so an engine restarted on the same
file derives the same ids and can replay executions that handed them out.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from durable_lambda.callback_ids import CALLBACK_KEY_BYTES, new_callback_key
from durable_lambda.exceptions import ValidationError
from durable_lambda.store.contract import Store
from durable_lambda.store.sqlite import SqliteStore

KEY_FILE_SUFFIX = "-callback-key"


def callback_key_for(store: Store) -> bytes:
    """The key of a file store's sidecar (created on first use), else a fresh key."""
    if isinstance(store, SqliteStore) and not store.volatile:
        return load_or_create_key(Path(f"{store.path}{KEY_FILE_SUFFIX}"))
    return new_callback_key()


def load_or_create_key(path: Path) -> bytes:
    """Read the key at ``path``, or create it there (mode 0600) if there is none.

    Two engines creating it at once agree: the key is written to a private
    temporary file first, then linked into place only if nothing is there.
    """
    if path.exists():
        return _read_key(path)
    descriptor, temporary = tempfile.mkstemp(prefix=".callback-key-", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w") as file:  # mkstemp creates it with mode 0600
            file.write(new_callback_key().hex())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    text = path.read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != CALLBACK_KEY_BYTES:
        msg = (
            f"The callback key file {path} is malformed: expected "
            f"{2 * CALLBACK_KEY_BYTES} hexadecimal characters"
        )
        raise ValidationError(msg)
    return key
