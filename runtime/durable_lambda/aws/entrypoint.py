"""A durable handler invoked by Lambda: which event it got, and what to do with it.

docs/ARCHITECTURE.md ("Events a durable function takes") has the events. Every
run ends by starting the chained invoke targets the invocation asked for,
waking the parent of an execution that ended, and writing the invocation's
log line.
"""

from __future__ import annotations

import datetime
import json
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from durable_lambda.aws import events
from durable_lambda.aws.context import DurableLambdaContext
from durable_lambda.aws.runtime import FunctionRuntime, container_runtime
from durable_lambda.aws.telemetry import STARTED, TIMED_OUT, count, emit, invocation_record
from durable_lambda.chained import durable_execution_arn, qualified_arn
from durable_lambda.context import DurableContext
from durable_lambda.invocation import InvocationSummary, run_invocation
from durable_lambda.lambda_service import ErrorObject, OperationStatus
from durable_lambda.store.contract import (
    EXECUTION_TIMEOUT_TIMER,
    REINVOKE_TIMER,
    ExecutionRecord,
    ExecutionStatus,
    NewExecution,
)
from durable_lambda.transitions import Completion

Handler = Callable[[Any, DurableContext], Any]

EARLY = datetime.timedelta(seconds=1)
"""A timer event this much before its timer's time hands over instead of firing."""


def handle(func: Handler, event: Any, lambda_context: Any) -> dict[str, Any]:
    """Run ``func`` for whatever ``event`` asks, on this container's runtime."""
    runtime = container_runtime()
    caller = qualified_arn(lambda_context.invoked_function_arn)
    match events.kind_of(event):
        case events.RESUME:
            return run(runtime, func, event[events.RESUME], lambda_context)
        case events.TIMER:
            return on_timer(runtime, func, event[events.TIMER], lambda_context)
        case events.START:
            return start(runtime, caller, event[events.START])
        case events.CALL:
            call(runtime, event[events.CALL])
            return {}
    request_id = lambda_context.aws_request_id
    record = create(runtime, caller, request_id, json.dumps(event))
    return run(runtime, func, record.execution_id, lambda_context)


def run(
    runtime: FunctionRuntime, func: Handler, execution_id: str, lambda_context: Any
) -> dict[str, Any]:
    """One invocation of the execution; its output names the execution."""
    backend, targets = runtime.backend(qualified_arn(lambda_context.invoked_function_arn))
    summaries: list[InvocationSummary] = []
    began = time.monotonic()
    try:
        output = run_invocation(
            func,
            backend,
            execution_id,
            DurableLambdaContext(lambda_context, backend),
            summaries.append,
        )
    finally:
        runtime.start_targets(targets.requests)
    summary = summaries[0] if summaries else None
    if summary is not None and output["Status"] != "PENDING":
        wake_parent(runtime, summary.execution)
    emit(
        invocation_record(
            function_name=lambda_context.function_name,
            table_name=runtime.environment.table,
            execution_id=execution_id,
            request_id=lambda_context.aws_request_id,
            replayed=summary.operations_replayed if summary else 0,
            new=summary.operations_new if summary else 0,
            outcome=summary.outcome if summary else None,
            duration_ms=(time.monotonic() - began) * 1000,
            replay_ms=summary.replay_seconds * 1000 if summary else 0.0,
        )
    )
    return {**output, "DurableExecutionArn": execution_id}


def wake_parent(runtime: FunctionRuntime, execution: ExecutionRecord) -> None:
    """An execution that ended completed its parent's invoke: the parent runs next."""
    if execution.parent_execution_id is not None:
        runtime.wake(execution.parent_execution_id)


def on_timer(
    runtime: FunctionRuntime, func: Handler, body: Mapping[str, Any], lambda_context: Any
) -> dict[str, Any]:
    """A timer is due: fire it, then run the execution if it woke; too early, hand over."""
    execution_id, key, due = body[events.RESUME], body["Key"], events.due_of(body)
    now = runtime.clock.now()
    if due - now > EARLY:
        runtime.timers.arm(execution_id, key, due, now)  # a schedule fires early by design
        return {"Status": "PENDING", "DurableExecutionArn": execution_id}
    if key == EXECUTION_TIMEOUT_TIMER:
        return time_out(runtime, execution_id, now)
    if key == REINVOKE_TIMER or runtime.store.fire_timer(execution_id, key, now):
        return run(runtime, func, execution_id, lambda_context)
    record = runtime.store.get_execution(execution_id)
    return {"Status": record.status.value, "DurableExecutionArn": execution_id}


def time_out(runtime: FunctionRuntime, execution_id: str, now: datetime.datetime) -> dict[str, Any]:
    """The execution's timeout is due: end it if it still runs, and wake its parent.

    Only the delivery that ends it counts it; every delivery wakes the parent, in
    case the one that ended it died before.
    """
    ended = runtime.store.time_out_execution(execution_id, now)
    record = runtime.store.get_execution(execution_id)
    if ended:
        count(record, TIMED_OUT, runtime.environment.table)
    if record.status is ExecutionStatus.TIMED_OUT:
        wake_parent(runtime, record)
    return {"Status": record.status.value, "DurableExecutionArn": execution_id}


def create(
    runtime: FunctionRuntime, caller: str, name: str, input_payload: str | None
) -> ExecutionRecord:
    """Create the execution named ``name`` (or find it): idempotent by name."""
    unique = uuid.uuid5(uuid.NAMESPACE_URL, f"{caller}/{name}")
    record, created = runtime.store.create_execution(
        NewExecution(
            execution_id=durable_execution_arn(caller, name, str(unique)),
            function_name=caller.split(":")[6],
            execution_name=name,
            input_payload=input_payload,
            timeout_seconds=runtime.environment.execution_timeout_seconds,
        ),
        runtime.clock.now(),
    )
    if created:
        count(record, STARTED, runtime.environment.table)
    return record


def start(runtime: FunctionRuntime, caller: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A client's start: create the execution, run it in an invocation of its own."""
    record = create(runtime, caller, str(body["Name"]), body.get("Input"))
    if record.status is ExecutionStatus.RUNNING:
        runtime.wake(record.execution_id)
    return {"DurableExecutionArn": record.execution_id, "Status": record.status.value}


def call(runtime: FunctionRuntime, body: Mapping[str, Any]) -> None:
    """Call a chained invoke's plain function and record what it answered."""
    execution_id, operation_id = body[events.RESUME], body["OperationId"]
    payload = body.get("Payload")
    answer = runtime.services.lambda_.invoke(
        FunctionName=body["FunctionName"],
        InvocationType="RequestResponse",
        Payload=(payload or "{}").encode(),
    )
    text = answer["Payload"].read().decode()
    if "FunctionError" in answer:
        failure = json.loads(text) if text else {}
        error = ErrorObject(
            message=failure.get("errorMessage"),
            type=failure.get("errorType") or answer["FunctionError"],
            data=None,
            stack_trace=failure.get("stackTrace"),
        )
        completion = Completion(OperationStatus.FAILED, error=error)
    else:
        completion = Completion(OperationStatus.SUCCEEDED, result=text or None)
    if runtime.store.complete_operation(
        execution_id, operation_id, completion, runtime.clock.now()
    ):
        runtime.wake(execution_id)
