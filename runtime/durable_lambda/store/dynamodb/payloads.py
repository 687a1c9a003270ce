"""Log items too large for DynamoDB, kept in S3 instead."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from durable_lambda.store.contract import CheckpointRefusedError


class PayloadTooLargeForStoreError(CheckpointRefusedError):
    """A write is larger than the store keeps: nothing was recorded."""


class PayloadBucket:
    """Where the store puts what does not fit in an item: an S3 bucket, or none.

    Objects are named ``<execution partition>/<log key>/<random id>`` and
    expire through the bucket's lifecycle rule (the constructs set it to the
    retention plus the longest execution).
    """

    def __init__(self, bucket: str | None, client: Any | Callable[[], Any], max_bytes: int) -> None:
        """``client``: an S3 client, or a callable that makes one when first needed."""
        self.bucket = bucket
        self._client = client
        self._made = not callable(client) or hasattr(client, "put_object")
        self.max_bytes = max_bytes

    @property
    def client(self) -> Any:
        if not self._made:
            self._client = self._client()
            self._made = True
        return self._client

    def check(self, size: int, item_limit: int, what: str) -> None:
        """Refuse a write of ``size`` bytes that neither an item nor the bucket takes."""
        if self.bucket is None:
            msg = (
                f"{what} takes {size} bytes, over the {item_limit} bytes a DynamoDB item "
                "holds, and the store has no payload_bucket to put it in; nothing was recorded"
            )
            raise PayloadTooLargeForStoreError(msg)
        if size > self.max_bytes:
            msg = (
                f"{what} takes {size} bytes, over the store's max_payload_bytes of "
                f"{self.max_bytes}; nothing was recorded"
            )
            raise PayloadTooLargeForStoreError(msg)

    def put(self, prefix: str, data: bytes) -> str:
        """Store ``data``; returns its object key."""
        key = f"{prefix}/{uuid.uuid4().hex}"
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        return key

    def get(self, key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body
