"""One JSON log line per invocation, and CloudWatch embedded metrics.

The line names the execution and the request, how many operations the
invocation replayed and recorded, how it ended and how long it took. The
metrics (namespace ``DurableLambda``, by function and by engine, the engine
being its table) count executions succeeded
and failed, checkpoints, and the replay time; an execution's start and its
timeout, which happen outside its invocations, get a line of their own from the
call that made them. CloudWatch extracts the metrics from the log lines
(embedded metric format), so they cost no call.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from durable_lambda.store.contract import (
    ExecutionRecord,
    Failed,
    InvocationFailed,
    InvocationOutcome,
    Succeeded,
)

NAMESPACE = "DurableLambda"
STARTED = "ExecutionsStarted"
TIMED_OUT = "ExecutionsTimedOut"


def outcome_name(outcome: InvocationOutcome | None) -> str:
    match outcome:
        case Succeeded():
            return "SUCCEEDED"
        case Failed():
            return "FAILED"
        case InvocationFailed():
            return "INVOCATION_FAILED"
        case None:
            return "NOT_RUN"
        case _:
            return "SUSPENDED"


def invocation_record(
    *,
    function_name: str,
    table_name: str,
    execution_id: str,
    request_id: str,
    replayed: int,
    new: int,
    outcome: InvocationOutcome | None,
    duration_ms: float,
    replay_ms: float,
) -> dict[str, Any]:
    """The invocation's log line, its metrics embedded."""
    ended = outcome_name(outcome)
    line = {
        "message": "durable invocation",
        "durableExecutionArn": execution_id,
        "requestId": request_id,
        "operationsReplayed": replayed,
        "operationsNew": new,
        "outcome": ended,
        "durationMs": round(duration_ms, 1),
    }
    metrics = {
        "ExecutionsSucceeded": int(ended == "SUCCEEDED"),
        "ExecutionsFailed": int(ended == "FAILED"),
        "Checkpoints": new,
        "ReplayTime": round(replay_ms, 1),
    }
    return _with_metrics(line, function_name, table_name, metrics)


def count(execution: ExecutionRecord, metric: str, table_name: str) -> None:
    """Write the line of a change to an execution made outside its invocations,
    under its function's name: its start (``STARTED``) or its timeout
    (``TIMED_OUT``), written once, by the call that made it."""
    emit(execution_record(execution, metric, table_name))


def execution_record(execution: ExecutionRecord, metric: str, table_name: str) -> dict[str, Any]:
    """The line ``count`` writes."""
    line = {"message": "durable execution", "durableExecutionArn": execution.execution_id}
    return _with_metrics(line, execution.function_name, table_name, {metric: 1})


def _with_metrics(
    line: dict[str, Any], function_name: str, table_name: str, metrics: dict[str, int | float]
) -> dict[str, Any]:
    return {
        **line,
        "FunctionName": function_name,
        "TableName": table_name,
        **metrics,
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [["FunctionName"], ["TableName"]],
                    "Metrics": [
                        {"Name": name, "Unit": "Milliseconds" if name == "ReplayTime" else "Count"}
                        for name in metrics
                    ],
                }
            ],
        },
    }


def emit(record: dict[str, Any]) -> None:
    """Write the line to standard output, where Lambda sends it to CloudWatch Logs."""
    sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
    sys.stdout.flush()
