"""One JSON log line per invocation, and CloudWatch embedded metrics.

The line names the execution and the request, how many operations the
invocation replayed and recorded, how it ended and how long it took. The
metrics (namespace ``DurableLambda``, by function and by engine, the engine
being its table) count executions started, succeeded, failed and timed out,
checkpoints, and the replay time; CloudWatch extracts them from the log line
(embedded metric format), so they cost no call.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from durable_lambda.store.contract import Failed, InvocationFailed, InvocationOutcome, Succeeded

NAMESPACE = "DurableLambda"


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
    started: bool = False,
    timed_out: bool = False,
) -> dict[str, Any]:
    """The invocation's log line, its metrics embedded."""
    ended = outcome_name(outcome)
    metrics = {
        "ExecutionsStarted": int(started),
        "ExecutionsSucceeded": int(ended == "SUCCEEDED"),
        "ExecutionsFailed": int(ended == "FAILED"),
        "ExecutionsTimedOut": int(timed_out),
        "Checkpoints": new,
        "ReplayTime": duration_ms,
    }
    return {
        "message": "durable invocation",
        "durableExecutionArn": execution_id,
        "requestId": request_id,
        "operationsReplayed": replayed,
        "operationsNew": new,
        "outcome": ended,
        "durationMs": round(duration_ms, 1),
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
