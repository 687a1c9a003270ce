"""The verbs a program uses on durable executions, wherever they run.

``DurableClient`` answers them for a deployed engine (DynamoDB and Lambda);
``LocalEngine`` answers them on this machine. The command line takes either.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Protocol

from durable_lambda.history import Event
from durable_lambda.lambda_service import ErrorObject
from durable_lambda.store.contract import (
    DEFAULT_PAGE_SIZE,
    ExecutionPage,
    ExecutionRecord,
    ExecutionStatus,
)


class DurableExecutionsApi(Protocol):
    """Start, read, stop and call back durable executions."""

    def start_execution(
        self,
        function_name: str,
        input: str | None = None,  # noqa: A002 - the AWS API's name
        *,
        execution_name: str | None = None,
    ) -> str:
        """Start an execution of a durable function with ``input`` (JSON text); its id.

        Idempotent by ``execution_name``: starting again returns the same id.
        """
        ...

    def describe_execution(self, execution_id: str) -> ExecutionRecord:
        """The execution (ExecutionNotFoundError when none has the id)."""
        ...

    def list_executions(
        self,
        *,
        function_name: str | None = None,
        status: ExecutionStatus | None = None,
        started_after: datetime.datetime | None = None,
        started_before: datetime.datetime | None = None,
        page_token: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> ExecutionPage:
        """Executions matching every filter given, oldest start first, a page at a time."""
        ...

    def get_execution_history(self, execution_id: str) -> list[Event]:
        """The execution's events in the AWS shape, EventId from 1, callback ids shown."""
        ...

    def stop_execution(self, execution_id: str, error: ErrorObject | None = None) -> bool:
        """Stop a running execution; False when it had ended."""
        ...

    def send_callback_success(self, callback_id: str, result: bytes | None = None) -> None:
        """Complete a waiting callback with ``result``."""
        ...

    def send_callback_failure(
        self, callback_id: str, error: ErrorObject | Mapping[str, Any] | None = None
    ) -> None:
        """Fail a waiting callback with ``error``."""
        ...

    def send_callback_heartbeat(self, callback_id: str) -> None:
        """Restart a waiting callback's heartbeat timeout."""
        ...

    def wait_for_result(self, execution_id: str, timeout: float = 60) -> ExecutionRecord:
        """Block until the execution ends; TimeoutError after ``timeout`` seconds."""
        ...
