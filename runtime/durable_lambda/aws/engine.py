"""What the engine's own functions (callback API, sweeper) build once per container."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from durable_lambda import callback_requests
from durable_lambda.aws.environment import PAYLOAD_BUCKET, TABLE, required
from durable_lambda.aws.services import AwsServices
from durable_lambda.aws.wakeups import wake
from durable_lambda.clock import Clock, SystemClock
from durable_lambda.store.dynamodb import DynamoDBStore


class EngineRuntime:
    """The table, and waking executions, for the engine's own functions."""

    def __init__(
        self, store: DynamoDBStore, services: AwsServices, clock: Clock | None = None
    ) -> None:
        self.store = store
        self.services = services
        self.clock = clock or SystemClock()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> EngineRuntime:
        """From ``DURABLE_LAMBDA_TABLE`` and ``DURABLE_LAMBDA_PAYLOAD_BUCKET``.

        Completing a callback needs no callback key: the table finds it by the
        hash of its id.
        """
        values = os.environ if environ is None else environ
        services = AwsServices()
        store = DynamoDBStore(
            required(values, TABLE),
            client=services.dynamodb,
            payload_bucket=required(values, PAYLOAD_BUCKET),
            s3_client=lambda: services.s3,
        )
        return cls(store, services)

    def change_callback(self, request: callback_requests.CallbackRequest) -> None:
        """Apply a callback request; wake the execution it completes."""
        execution_id = callback_requests.apply(self.store, request, self.clock.now())
        if request.wakes:
            wake(self.services, execution_id)

    def wake(self, execution_id: str, event: dict[str, Any] | None = None) -> None:
        wake(self.services, execution_id, event)
