"""The step operation: run a function once per attempt and record its outcome."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, NoReturn, TypeVar, cast

from durable_lambda.config import StepConfig, StepSemantics
from durable_lambda.exceptions import (
    ExecutionError,
    RetryableSerDesError,
    SerDesError,
    StepError,
    StepInterruptedError,
)
from durable_lambda.identifier import OperationIdentifier
from durable_lambda.lambda_service import (
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
)
from durable_lambda.logger import Logger
from durable_lambda.operation.base import replay_attempts, retry_after, round_trip
from durable_lambda.retries import RetryPresets
from durable_lambda.state import ExecutionState, Record
from durable_lambda.types import StepContext

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_CONFIG = StepConfig()
"""The configuration of a step run without one."""


def run_step(
    func: Callable[[StepContext], T],
    config: StepConfig,
    state: ExecutionState,
    identifier: OperationIdentifier,
    context_logger: Logger,
) -> T:
    """Replay the step's recorded outcome, or run its next attempt and record it.

    The operation object is built only to run an attempt: replay, which meets
    recorded steps most, needs none.
    """
    operation = state.get(identifier.operation_id)
    replayed, result = replay_attempts(
        operation,
        config.serdes,
        state.durable_execution_arn,
        StepError,
        lambda: f"Step {identifier.label} retries at its next attempt",
    )
    if replayed:
        return cast(T, result)
    return StepOperation(func, config, state, identifier, context_logger).resume(operation)


class StepOperation(Generic[T]):
    """One step that has an attempt to run: runs it and records its outcome."""

    def __init__(
        self,
        func: Callable[[StepContext], T],
        config: StepConfig,
        state: ExecutionState,
        identifier: OperationIdentifier,
        context_logger: Logger,
    ) -> None:
        self.func = func
        self.config = config
        self.state = state
        self.identifier = identifier
        self.context_logger = context_logger

    def resume(self, operation: Operation | None) -> T:
        """Run the next attempt of the step recorded as ``operation`` (None: never started)."""
        at_most_once = self.config.step_semantics is StepSemantics.AT_MOST_ONCE_PER_RETRY
        if operation is not None and operation.status is OperationStatus.STARTED:
            if at_most_once:
                msg = f"Step {self.identifier.label} was interrupted before it recorded an outcome"
                self._retry_or_fail(
                    StepInterruptedError(msg, self.identifier.operation_id), operation
                )
            return self._run_attempt(operation)
        started = self.state.checkpoint(
            self.identifier.update(OperationAction.START),
            record=Record.NOW if at_most_once else Record.SOON,
        )
        return self._run_attempt(started)

    def _run_attempt(self, operation: Operation) -> T:
        attempts_made = operation.step_details.attempt if operation.step_details else 0
        attempt = attempts_made + 1
        step_context = StepContext(
            logger=self.context_logger.with_fields(
                operationId=self.identifier.operation_id,
                operationName=self.identifier.name,
                attempt=attempt,
            ),
            attempt=attempt,
        )
        try:
            raw_result = self.func(step_context)
            serialized, value = round_trip(
                self.config.serdes,
                raw_result,
                self.identifier.operation_id,
                self.state.durable_execution_arn,
            )
        except RetryableSerDesError:
            raise
        except SerDesError as e:
            logger.exception("Step %s could not serialize its result", self.identifier.label)
            error = ErrorObject.from_exception(e)
            self.state.checkpoint(self.identifier.update(OperationAction.FAIL, error=error))
            error.raise_as_operation_error(StepError)
        except ExecutionError:
            raise
        except Exception as e:
            logger.exception("Step %s failed its attempt %d", self.identifier.label, attempt)
            self._retry_or_fail(e, operation)
        self.state.checkpoint(self.identifier.update(OperationAction.SUCCEED, payload=serialized))
        return value

    def _retry_or_fail(self, error: Exception, operation: Operation) -> NoReturn:
        recorded = ErrorObject.from_exception(error)
        strategy = self.config.retry_strategy or RetryPresets.default()
        attempts_made = operation.step_details.attempt if operation.step_details else 0
        decision = strategy(error, attempts_made + 1)
        if decision.should_retry:
            delay = max(1, decision.delay_seconds)
            retry_after(
                self.state,
                self.identifier,
                delay,
                f"Step {self.identifier.label} retries in {delay} s",
                error=recorded,
            )
        self.state.checkpoint(self.identifier.update(OperationAction.FAIL, error=recorded))
        recorded.raise_as_operation_error(StepError)
