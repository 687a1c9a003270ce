"""The wait_for_condition operation: poll a check until its wait strategy stops.

It is a STEP operation with subtype WaitForCondition and uses the step's
transitions: each poll records START, then either SUCCEED (the strategy
stopped: the final state) or RETRY without an error (keep polling: a
``StepSucceeded`` with the state and ``NextAttemptDelaySeconds``, after which
the step's timer makes it READY). The last polled state stays on the
operation, so the next poll, in a later invocation, starts from it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar, cast

from durable_lambda.exceptions import InvocationError, WaitForConditionError
from durable_lambda.identifier import OperationIdentifier
from durable_lambda.lambda_service import (
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
)
from durable_lambda.logger import Logger
from durable_lambda.operation.base import replay_attempts, retry_after
from durable_lambda.serdes import deserialize, serialize
from durable_lambda.state import ExecutionState, Record
from durable_lambda.types import WaitForConditionCheckContext
from durable_lambda.waits import WaitForConditionConfig

logger = logging.getLogger(__name__)

T = TypeVar("T")


class WaitForConditionOperation(Generic[T]):
    """One wait_for_condition: replays its outcome, or runs the next poll."""

    def __init__(
        self,
        check: Callable[[T, WaitForConditionCheckContext], T],
        config: WaitForConditionConfig[T],
        state: ExecutionState,
        identifier: OperationIdentifier,
        context_logger: Logger,
    ) -> None:
        self.check = check
        self.config = config
        self.state = state
        self.identifier = identifier
        self.context_logger = context_logger

    def process(self) -> T:
        operation = self.state.get(self.identifier.operation_id)
        replayed, result = replay_attempts(
            operation,
            self.config.serdes,
            self.state.durable_execution_arn,
            WaitForConditionError,
            lambda: f"wait_for_condition {self._label} polls again at its next attempt",
        )
        if replayed:
            return cast(T, result)
        if operation is None or operation.status is not OperationStatus.STARTED:
            self.state.checkpoint(self.identifier.update(OperationAction.START), record=Record.SOON)
        return self._poll(operation)

    @property
    def _label(self) -> str:
        return self.identifier.name or self.identifier.operation_id

    def _serialize(self, value: T) -> str:
        return serialize(
            self.config.serdes,
            value,
            self.identifier.operation_id,
            self.state.durable_execution_arn,
        )

    def _deserialize(self, data: str | None) -> T:
        if data is None:
            return cast(T, None)
        return deserialize(
            self.config.serdes,
            data,
            self.identifier.operation_id,
            self.state.durable_execution_arn,
        )

    def _poll(self, operation: Operation | None) -> T:
        """Run one check; record the final state, or the state to poll again from."""
        try:
            if operation is not None and operation.result is not None:
                current = self._deserialize(operation.result)
            else:
                # The first check sees the initial state as later checks see
                # theirs: read back from what the serdes records.
                current = self._deserialize(self._serialize(self.config.initial_state))
            details = operation.step_details if operation else None
            attempt = (details.attempt if details else 0) + 1
            check_context = WaitForConditionCheckContext(
                logger=self.context_logger.with_fields(
                    operationId=self.identifier.operation_id,
                    operationName=self.identifier.name,
                    attempt=attempt,
                ),
                attempt=attempt,
            )
            serialized = self._serialize(self.check(current, check_context))
            decision = self.config.wait_strategy(self._deserialize(serialized), attempt)
            if not decision.should_continue:
                final = self._deserialize(serialized)
                self.state.checkpoint(
                    self.identifier.update(OperationAction.SUCCEED, payload=serialized)
                )
                return final
            delay = decision.delay_seconds
            if delay < 1:
                logger.warning(
                    "wait_for_condition %s asked to poll again in %d s; polling in 1 s",
                    self._label,
                    delay,
                )
                delay = 1
            retry_after(
                self.state,
                self.identifier,
                delay,
                f"wait_for_condition {self._label} polls again in {delay} s",
                payload=serialized,
            )
        except Exception as e:
            if isinstance(e, InvocationError) and e.is_retryable():
                raise
            logger.exception("wait_for_condition %s failed", self._label)
            error = ErrorObject.from_exception(e)
            self.state.checkpoint(self.identifier.update(OperationAction.FAIL, error=error))
            error.raise_as_operation_error(WaitForConditionError)
