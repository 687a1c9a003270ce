"""Requests to the table: the client, its errors, pages, conflicts, transactions.

The AWS SDK loads with the first request, not with this module: a Lambda
container builds its store before anything asks for the table.
"""

from __future__ import annotations

import datetime
import functools
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from durable_lambda.lambda_service import from_epoch_millis
from durable_lambda.store.contract import StoreError
from durable_lambda.store.dynamodb import layout
from durable_lambda.store.dynamodb.codec import key

RETRY_ATTEMPTS = 8
"""botocore's standard retry mode: attempts per request (throttling, 5xx)."""
CONTENTION_ATTEMPTS = 50
"""Times a write is tried again after losing its log position to others."""
BATCH_GET_KEYS = 100
"""The most keys one ``BatchGetItem`` takes."""


TimerListener = Callable[[str, str, datetime.datetime], None]
"""Told of a timer set: execution id, key, due time."""


class Conflict(Exception):
    """A conditional write lost: ``reasons`` per transaction item (or one for a put)."""

    def __init__(self, reasons: list[str | None]) -> None:
        super().__init__(reasons)
        self.reasons = reasons


def make_client(service: str, region_name: str | None, endpoint_url: str | None) -> Any:
    """A boto3 client of ``service`` with botocore's standard retry mode."""
    import boto3  # noqa: PLC0415 - the AWS SDK loads with the store's first request
    from botocore.config import Config  # noqa: PLC0415

    return boto3.client(
        service,
        region_name=region_name,
        endpoint_url=endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": RETRY_ATTEMPTS}),
    )


class Table:
    """One DynamoDB table, reached through a client made at the first request.

    ``client``: a boto3 DynamoDB client, a callable making one, or None for one
    of ``region_name`` and ``endpoint_url``. ``on_timer_set`` is told of every
    timer item a committed transaction put.
    """

    def __init__(
        self,
        name: str,
        client: Any = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        on_timer_set: TimerListener | None = None,
    ) -> None:
        self.name = name
        self.on_timer_set = on_timer_set
        self._client_source = client
        self._region_name = region_name
        self._endpoint_url = endpoint_url

    @functools.cached_property
    def client(self) -> Any:
        """The DynamoDB client, made (with the AWS SDK loaded) at the first request."""
        source = self._client_source
        if source is None:
            return make_client("dynamodb", self._region_name, self._endpoint_url)
        return source() if callable(source) and not hasattr(source, "meta") else source

    @functools.cached_property
    def _errors(self) -> tuple[Any, tuple[type[Exception], ...]]:
        import botocore.exceptions  # noqa: PLC0415 - the AWS SDK loads with the first request

        exceptions = botocore.exceptions
        return exceptions.ClientError, (exceptions.ClientError, exceptions.BotoCoreError)

    def call(self, operation: str, **request: Any) -> dict[str, Any]:
        """One request; a lost condition raises Conflict, any other failure StoreError."""
        try:
            response: dict[str, Any] = (
                getattr(self.client, operation)(TableName=self.name, **request)
                if operation != "transact_write_items"
                else self.client.transact_write_items(**request)
            )
        except self._errors[0] as e:
            code = e.response.get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                raise Conflict(["ConditionalCheckFailed"]) from e
            if code == "TransactionCanceledException":
                reasons = [r.get("Code") for r in e.response.get("CancellationReasons", [])]
                if any(reason == "TransactionConflict" for reason in reasons) or reasons:
                    raise Conflict([None if r == "None" else r for r in reasons]) from e
            msg = f"DynamoDB {operation} on {self.name} failed: {e}"
            raise StoreError(msg) from e
        except self._errors[1] as e:
            msg = f"DynamoDB {operation} on {self.name} failed: {e}"
            raise StoreError(msg) from e
        return response

    def transact(self, items: list[dict[str, Any]]) -> None:
        """Write ``items`` (``TransactWriteItems`` entries) of this table together."""
        for item in items:
            next(iter(item.values()))["TableName"] = self.name
        self.call("transact_write_items", TransactItems=items, ClientRequestToken=uuid.uuid4().hex)
        if self.on_timer_set is not None:
            for item in items:
                put = item.get("Put", {}).get("Item", {})
                if put.get(layout.SORT, {}).get("S", "").startswith(layout.TIMER):
                    due = from_epoch_millis(int(put["dd"]["N"]))
                    self.on_timer_set(put["id"]["S"], put["k"]["S"], due)

    def get(self, partition: str, sort: str) -> dict[str, Any] | None:
        """The item, read consistently, or None."""
        response = self.call("get_item", Key=key(partition, sort), ConsistentRead=True)
        item: dict[str, Any] | None = response.get("Item")
        return item

    def query(self, **request: Any) -> Iterator[dict[str, Any]]:
        """Every item a Query returns, page after page."""
        while True:
            response = self.call("query", **request)
            yield from response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if last is None:
                return
            request["ExclusiveStartKey"] = last

    def get_many(self, keys: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """The items of ``keys`` that exist, read consistently, in no particular order."""
        while keys:
            request = {self.name: {"Keys": keys[:BATCH_GET_KEYS], "ConsistentRead": True}}
            keys = keys[BATCH_GET_KEYS:]
            while request:
                response = self._batch_get(request)
                yield from response.get("Responses", {}).get(self.name, [])
                request = response.get("UnprocessedKeys") or {}

    def _batch_get(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            response: dict[str, Any] = self.client.batch_get_item(RequestItems=request)
        except self._errors[1] as e:
            msg = f"DynamoDB batch_get_item on {self.name} failed: {e}"
            raise StoreError(msg) from e
        return response
