"""The chained invoke operation: run another function and wait for its outcome.

A first run resolves the target, records START (``ChainedInvokeStarted``,
naming the child execution of a durable target), asks the platform's
``ChainedInvoker`` to start the target and suspends. The target's outcome
completes the operation from outside the execution (a ``Completion``):
a durable target when its child execution ends, in the same store write;
a function that is not durable when its one invocation returns. Replays
return the recorded result or raise ``InvokeError`` carrying the target's
ErrorType and ErrorMessage. A target that cannot be found fails the
operation at once (``ResourceNotFoundException``), without suspending.

See docs/ARCHITECTURE.md ("Chained invokes") for the whole lifecycle, including what
happens to children when their parent ends.
"""

from __future__ import annotations

import datetime
from dataclasses import replace
from typing import Any, NoReturn, TypeVar, cast

from durable_lambda.backend import backend_for
from durable_lambda.chained import (
    ChainedInvoker,
    ChainedInvokeRequest,
    ResolvedTarget,
    chained_execution_name,
)
from durable_lambda.config import InvokeConfig
from durable_lambda.exceptions import DurableExecutionsError, InvalidStateError, InvokeError
from durable_lambda.history import error_payload, operation_event, payload
from durable_lambda.identifier import OperationIdentifier
from durable_lambda.lambda_service import (
    ChainedInvokeDetails,
    ChainedInvokeOptions,
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)
from durable_lambda.operation.base import raise_recorded_error, recorded_result, suspend_until
from durable_lambda.serdes import DEFAULT_JSON_SERDES, serialize
from durable_lambda.state import ExecutionState, Record
from durable_lambda.store.contract import (
    FUNCTION_CALL_TIMER_KIND,
    function_call_timer,
    start_target_timer,
)
from durable_lambda.transitions import (
    Completion,
    TimerChange,
    Transition,
    invalid_update,
    new_operation,
    register_completion_handler,
    register_timer_handler,
    register_update_handler,
)

P = TypeVar("P")
R = TypeVar("R")

EXECUTED_VERSION = "$LATEST"
"""The version a chained invoke runs: the engine keeps one version per function."""

_OUTCOME_EVENTS = {
    OperationStatus.SUCCEEDED: "ChainedInvokeSucceeded",
    OperationStatus.FAILED: "ChainedInvokeFailed",
    OperationStatus.TIMED_OUT: "ChainedInvokeTimedOut",
    OperationStatus.STOPPED: "ChainedInvokeStopped",
}


# region transitions


def _update(
    update: OperationUpdate, current: Operation | None, now: datetime.datetime
) -> Transition:
    options = update.chained_invoke_options
    if update.action is OperationAction.START and current is None and options is not None:
        operation = replace(
            new_operation(update, current, OperationStatus.STARTED, now),
            chained_invoke_details=ChainedInvokeDetails(),
        )
        details: dict[str, Any] = {"FunctionName": options.function_name}
        if options.tenant_id is not None:
            details["TenantId"] = options.tenant_id
        if update.payload is not None:
            details["Input"] = payload(update.payload)
        details["ExecutedVersion"] = EXECUTED_VERSION
        if options.durable_execution_arn is not None:
            details["DurableExecutionArn"] = options.durable_execution_arn
        event = operation_event("ChainedInvokeStarted", operation, now, details)
        # Due at once: until the target starts, firing it invokes the execution,
        # whose replay asks for the target again (see store.contract).
        start_target = TimerChange(start_target_timer(update.operation_id), now)
        return Transition(operation, (event,), (start_target,))
    # FAIL comes from the runtime only, for a target that could not be started.
    if (
        update.action is OperationAction.FAIL
        and update.error is not None
        and current is not None
        and current.status is OperationStatus.STARTED
    ):
        transition = _complete(current, Completion(OperationStatus.FAILED, error=update.error), now)
        if transition is not None:
            return transition
    raise invalid_update(update)


def _complete(
    operation: Operation, completion: Completion, now: datetime.datetime
) -> Transition | None:
    if operation.status is not OperationStatus.STARTED:
        return None
    event_type = _OUTCOME_EVENTS.get(completion.status)
    if event_type is None:
        msg = (
            f"A chained invoke cannot end {completion.status.value} "
            f"(operation {operation.operation_id})"
        )
        raise InvalidStateError(msg)
    completed = replace(
        operation,
        status=completion.status,
        end_timestamp=now,
        chained_invoke_details=ChainedInvokeDetails(completion.result, completion.error),
    )
    details: dict[str, Any] = {}
    if completion.status is OperationStatus.SUCCEEDED:
        details["Result"] = payload(completion.result)
    elif completion.error is not None:
        details["Error"] = error_payload(completion.error)
    operation_id = operation.operation_id
    no_timers = (
        TimerChange(start_target_timer(operation_id), None),
        TimerChange(function_call_timer(operation_id), None),
    )
    return Transition(completed, (operation_event(event_type, completed, now, details),), no_timers)


def function_call_timeout_error(operation: Operation) -> ErrorObject:
    """The error of an invoke whose function call never reported back by its deadline.

    Lambda ends such a call as timed out; here the call may also have been
    lost with the engine that made it. Either way it is not made again.
    """
    return ErrorObject(
        message=(
            f"The call of the function of invoke {operation.operation_id} did not report "
            "an outcome before its deadline; it is not called again"
        ),
        type="Sandbox.Timedout",
        data=None,
        stack_trace=None,
    )


def _timer(operation: Operation, kind: str, now: datetime.datetime) -> Transition | None:
    if kind != FUNCTION_CALL_TIMER_KIND:
        return None
    failed = Completion(OperationStatus.FAILED, error=function_call_timeout_error(operation))
    return _complete(operation, failed, now)


register_update_handler(OperationType.CHAINED_INVOKE, _update)
register_completion_handler(OperationType.CHAINED_INVOKE, _complete)
register_timer_handler(OperationType.CHAINED_INVOKE, _timer)


# endregion
# region the operation


def chained_invoker(lambda_context: object) -> ChainedInvoker:
    """The invoker of the backend running this invocation."""
    invoker = backend_for(lambda_context).invoker
    if invoker is None:
        msg = "This backend cannot invoke other functions (it has no chained invoker)"
        raise DurableExecutionsError(msg)
    return invoker


def invoke(
    function_name: str,
    payload_value: P,
    state: ExecutionState,
    identifier: OperationIdentifier,
    config: InvokeConfig[P, R],
    *,
    lambda_context: object,
) -> R:
    """Return or raise the recorded outcome, or start the target and suspend."""
    operation = state.get(identifier.operation_id)
    if operation is not None and operation.status is OperationStatus.SUCCEEDED:
        return cast(
            R,
            recorded_result(
                config.serdes_result or DEFAULT_JSON_SERDES, operation, state.durable_execution_arn
            ),
        )
    if operation is not None and operation.is_terminal:
        raise_recorded_error(operation, InvokeError)

    serialized = serialize(
        config.serdes_payload or DEFAULT_JSON_SERDES,
        payload_value,
        identifier.operation_id,
        state.durable_execution_arn,
    )
    invoker = chained_invoker(lambda_context)
    execution_name = chained_execution_name(state.durable_execution_arn, identifier.operation_id)
    target = invoker.resolve(function_name, execution_name)
    if operation is None:
        options = ChainedInvokeOptions(
            function_name=function_name,
            tenant_id=config.tenant_id,
            durable_execution_arn=target.durable_execution_arn
            if isinstance(target, ResolvedTarget)
            else None,
        )
        if isinstance(target, ErrorObject):
            _fail_to_start(state, identifier, options, target)
        state.checkpoint(
            identifier.update(
                OperationAction.START, payload=serialized, chained_invoke_options=options
            ),
            record=Record.NOW,
        )
    if isinstance(target, ResolvedTarget):
        invoker.start(
            ChainedInvokeRequest(
                parent_execution_id=state.durable_execution_arn,
                operation_id=identifier.operation_id,
                function_name=target.function_name,
                execution_name=execution_name,
                durable_execution_arn=target.durable_execution_arn,
                payload=serialized,
                tenant_id=config.tenant_id,
            )
        )
    suspend_until(f"Invoke {identifier.label} of {function_name} started", None)


def _fail_to_start(
    state: ExecutionState,
    identifier: OperationIdentifier,
    options: ChainedInvokeOptions,
    error: ErrorObject,
) -> NoReturn:
    """Record an invoke whose target cannot be found as started and failed, then raise.

    As on the service, the input is not recorded for such a target.
    """
    state.checkpoint(
        identifier.update(OperationAction.START, chained_invoke_options=options),
        record=Record.SOON,
    )
    state.checkpoint(identifier.update(OperationAction.FAIL, error=error))
    error.raise_as_operation_error(InvokeError)


# endregion
