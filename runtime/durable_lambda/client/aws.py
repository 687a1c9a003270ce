"""``DurableClient``: durable executions of a deployed engine, through boto3.

Starts go through the function (Lambda's Invoke), so that the execution runs
where it is deployed; reads, stops and callbacks go to the engine's table,
and what they wake is invoked asynchronously. Callbacks need no callback key:
the table finds a callback by the hash of its id.
"""

from __future__ import annotations

import datetime
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from durable_lambda import callback_requests
from durable_lambda.aws import events
from durable_lambda.aws.services import AwsServices
from durable_lambda.aws.wakeups import wake
from durable_lambda.clock import SystemClock
from durable_lambda.exceptions import DurableExecutionsError, ValidationError
from durable_lambda.history import Event, present
from durable_lambda.lambda_service import ErrorObject
from durable_lambda.store.contract import (
    DEFAULT_PAGE_SIZE,
    ExecutionPage,
    ExecutionRecord,
    ExecutionStatus,
)
from durable_lambda.store.dynamodb import DynamoDBStore

POLL_SECONDS = (0.25, 0.5, 1.0, 2.0)
"""How often ``wait_for_result`` looks again, slowing down."""


class DurableClient:
    """The verbs of ``DurableExecutionsApi`` for an engine deployed on AWS.

    Args:
        table_name: The engine's state table.
        payload_bucket: Its payload bucket (large inputs and results live there).
        region_name: The engine's region (boto3's default otherwise).
        services: The boto3 clients to use; made from the default session otherwise.
    """

    def __init__(
        self,
        table_name: str,
        *,
        payload_bucket: str | None = None,
        region_name: str | None = None,
        services: AwsServices | None = None,
    ) -> None:
        self._services = services or AwsServices(region_name)
        self.store = DynamoDBStore(
            table_name,
            client=self._services.dynamodb,
            payload_bucket=payload_bucket,
            s3_client=lambda: self._services.s3,
        )
        self._clock = SystemClock()

    @classmethod
    def from_stack(cls, stack_name: str, *, region_name: str | None = None) -> DurableClient:
        """A client for the engine a CloudFormation stack deployed, from its outputs."""
        services = AwsServices(region_name)
        cloudformation = services.client("cloudformation")
        try:
            [stack] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        except cloudformation.exceptions.ClientError as e:
            msg = f"No stack {stack_name!r} can be read: {e}"
            raise DurableExecutionsError(msg) from e
        outputs = {o["OutputKey"].lower(): o["OutputValue"] for o in stack.get("Outputs", [])}
        table = _output(outputs, "tablename", stack_name)
        bucket = next((v for k, v in outputs.items() if "payloadbucket" in k), None)
        return cls(table, payload_bucket=bucket, services=services)

    def start_execution(
        self,
        function_name: str,
        input: str | None = None,  # noqa: A002 - the AWS API's name
        *,
        execution_name: str | None = None,
    ) -> str:
        """Start an execution of ``function_name`` (a name, ``name:alias`` or an ARN); its id.

        Idempotent by ``execution_name``: starting again returns the same id.
        """
        if input is not None:
            try:
                json.loads(input)
            except ValueError as e:
                msg = f"Execution input must be JSON text: {e}"
                raise ValidationError(msg) from e
        lambda_ = self._services.lambda_
        answer = lambda_.invoke(
            FunctionName=function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps(events.start(execution_name or str(uuid.uuid4()), input)).encode(),
        )
        body = json.loads(answer["Payload"].read() or b"{}")
        if "FunctionError" in answer or "DurableExecutionArn" not in body:
            msg = f"{function_name} did not start an execution: {body}"
            raise DurableExecutionsError(msg)
        execution_id: str = body["DurableExecutionArn"]
        return execution_id

    def describe_execution(self, execution_id: str) -> ExecutionRecord:
        """The execution (``DurableExecutionsApi``)."""
        return self.store.get_execution(execution_id)

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
        """Executions matching every filter given, a page at a time (``DurableExecutionsApi``)."""
        return self.store.list_executions(
            function_name=function_name,
            status=status,
            started_after=started_after,
            started_before=started_before,
            page_token=page_token,
            limit=limit,
        )

    def get_execution_history(self, execution_id: str) -> list[Event]:
        """The execution's events in the AWS shape (callback ids are not shown: the
        client holds no callback key)."""
        self.store.get_execution(execution_id)  # ExecutionNotFoundError for an unknown id
        return [
            present(event, event["EventId"], include_data=True)
            for event in self.store.get_history(execution_id)
        ]

    def stop_execution(self, execution_id: str, error: ErrorObject | None = None) -> bool:
        """Stop a running execution and the children it runs; wake a parent whose invoke
        it was. False when it had ended."""
        record = self.store.get_execution(execution_id)
        stopped = self.store.stop_execution(
            execution_id,
            self._clock.now(),
            error or ErrorObject.from_message("Execution stopped by user request"),
        )
        if stopped and record.parent_execution_id is not None:
            wake(self._services, record.parent_execution_id)
        return stopped

    def send_callback_success(self, callback_id: str, result: bytes | None = None) -> None:
        """Complete a waiting callback with ``result`` (``DurableExecutionsApi``)."""
        self._change(callback_requests.success(callback_id, result))

    def send_callback_failure(
        self, callback_id: str, error: ErrorObject | Mapping[str, Any] | None = None
    ) -> None:
        """Fail a waiting callback with ``error`` (``DurableExecutionsApi``)."""
        self._change(callback_requests.failure(callback_id, error))

    def send_callback_heartbeat(self, callback_id: str) -> None:
        """Restart a waiting callback's heartbeat timeout (``DurableExecutionsApi``)."""
        self._change(callback_requests.heartbeat(callback_id))

    def _change(self, request: callback_requests.CallbackRequest) -> None:
        execution_id = callback_requests.apply(self.store, request, self._clock.now())
        if request.wakes:
            wake(self._services, execution_id)

    def wait_for_result(self, execution_id: str, timeout: float = 60) -> ExecutionRecord:
        """Block until the execution ends; TimeoutError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        for attempt in range(1_000_000):
            record = self.store.get_execution(execution_id)
            if record.status is not ExecutionStatus.RUNNING:
                return record
            pause = POLL_SECONDS[min(attempt, len(POLL_SECONDS) - 1)]
            if time.monotonic() + pause > deadline:
                break
            time.sleep(pause)
        msg = f"Execution {execution_id} did not complete within {timeout} s"
        raise TimeoutError(msg)


def _output(outputs: Mapping[str, str], suffix: str, stack_name: str) -> str:
    for key, value in outputs.items():
        if key.endswith(suffix):
            return value
    msg = f"The stack {stack_name!r} has no output naming the engine's table (…TableName)"
    raise DurableExecutionsError(msg)
