"""What a durable function's container builds once and keeps: store, timers, wake-ups."""

from __future__ import annotations

import datetime
import functools
import hashlib
import logging
import threading
from typing import Any

from durable_lambda.aws import events
from durable_lambda.aws.environment import FunctionEnvironment
from durable_lambda.aws.services import AwsServices
from durable_lambda.aws.targets import LambdaTargets, describe_function
from durable_lambda.aws.telemetry import STARTED, count
from durable_lambda.aws.timers import TimerDelivery
from durable_lambda.aws.wakeups import wake
from durable_lambda.backend import Backend
from durable_lambda.chained import ChainedInvokeRequest
from durable_lambda.clock import Clock, SystemClock
from durable_lambda.exceptions import InvalidStateError
from durable_lambda.store.contract import REINVOKE_TIMER, START_TARGET_RETRY_SECONDS, NewExecution
from durable_lambda.store.dynamodb import DynamoDBStore

logger = logging.getLogger(__name__)

FUNCTION_CALL_DEADLINE = datetime.timedelta(minutes=15, seconds=30)
"""How long a chained invoke's call of a plain function may take: Lambda's
longest invocation, and some."""
UNDELIVERED = frozenset({"invoke"})
"""Timer kinds not armed: a chained invoke's start target is started right after
the invocation; the sweeper delivers it if that invocation died first."""


class FunctionRuntime:
    """The runtime of one container of a durable function."""

    def __init__(
        self,
        environment: FunctionEnvironment,
        services: AwsServices | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.environment = environment
        self.services = services or AwsServices()
        self.clock = clock or SystemClock()
        self.timers = TimerDelivery(environment, self.services)
        self.store = DynamoDBStore(
            environment.table,
            client=lambda: self.services.dynamodb,
            payload_bucket=environment.payload_bucket,
            s3_client=lambda: self.services.s3,
            retention=datetime.timedelta(days=environment.retention_days),
            on_timer_set=self._arm,
        )
        self._key_lock = threading.Lock()
        self._key: bytes | None = None

    def backend(self, caller_arn: str) -> tuple[Backend, LambdaTargets]:
        """A backend for one invocation, with its own chained invoke targets."""
        targets = LambdaTargets(self.services, self.environment.table, caller_arn)
        backend = Backend(
            self.store,
            self.clock,
            callback_endpoint=self.environment.callback_url,
            invoker=targets,
            callback_key_loader=self.callback_key,
        )
        return backend, targets

    def callback_key(self) -> bytes:
        """The engine's callback key, read from its secret once per container."""
        with self._key_lock:
            if self._key is None:
                self._key = read_callback_key(
                    self.services, self.environment.callback_key_secret_arn
                )
            return self._key

    # region wake-ups

    def wake(self, execution_id: str, event: dict[str, Any] | None = None) -> None:
        """Invoke the function of the execution, asynchronously (resume by default)."""
        wake(self.services, execution_id, event)

    def _arm(self, execution_id: str, key: str, due: datetime.datetime) -> None:
        if key.partition(":")[0] in UNDELIVERED and key != REINVOKE_TIMER:
            return
        try:
            self.timers.arm(execution_id, key, due, self.clock.now())
        except Exception:
            # Written in the table all the same: the sweeper delivers it.
            logger.exception("Could not arm timer %s of %s", key, execution_id)

    # endregion
    # region chained invokes

    def start_targets(self, requests: list[ChainedInvokeRequest]) -> None:
        """Start the targets an invocation asked for, once it has ended.

        A target that fails to start stays due (its ``invoke:<op>`` timer): the
        sweeper invokes the parent, whose replay asks again.
        """
        for request in requests:
            try:
                self._start_target(request)
            except Exception:
                logger.exception(
                    "Could not start the target of %s; the sweeper retries within %d s",
                    request,
                    START_TARGET_RETRY_SECONDS,
                )

    def _start_target(self, request: ChainedInvokeRequest) -> None:
        now = self.clock.now()
        if request.durable_execution_arn is None:
            deadline = now + FUNCTION_CALL_DEADLINE
            if self.store.claim_function_call(
                request.parent_execution_id, request.operation_id, now, deadline
            ):
                call = events.call(
                    request.parent_execution_id,
                    request.operation_id,
                    request.function_name,
                    request.payload,
                )
                self.wake(request.parent_execution_id, call)
            return
        info = describe_function(self.services, self.environment.table, request.function_name)
        try:
            record, created = self.store.create_execution(
                NewExecution(
                    execution_id=request.durable_execution_arn,
                    function_name=info.name if info is not None else request.function_name,
                    execution_name=request.execution_name,
                    input_payload=request.payload,
                    timeout_seconds=info.execution_timeout_seconds if info else None,
                    parent_execution_id=request.parent_execution_id,
                    parent_operation_id=request.operation_id,
                ),
                now,
            )
        except InvalidStateError:
            logger.info("Not starting %s: its parent has ended", request.durable_execution_arn)
            return
        if created:
            count(record, STARTED, self.environment.table)
            self.wake(record.execution_id)

    # endregion


SECRET_MIN_CHARACTERS = 32


def read_callback_key(services: AwsServices, secret_arn: str) -> bytes:
    """The callback key: the SHA-256 of the engine's secret text (generated, at least
    32 characters), so any text the secret holds makes a key of the right size."""
    text: str = services.secrets.get_secret_value(SecretId=secret_arn)["SecretString"]
    if len(text) < SECRET_MIN_CHARACTERS:
        msg = (
            f"The callback key secret {secret_arn} holds {len(text)} characters; "
            f"it needs at least {SECRET_MIN_CHARACTERS}"
        )
        raise ValueError(msg)
    return hashlib.sha256(text.encode()).digest()


@functools.cache
def container_runtime() -> FunctionRuntime:
    """The container's runtime, built at its first invocation from its environment."""
    return FunctionRuntime(FunctionEnvironment.read())
