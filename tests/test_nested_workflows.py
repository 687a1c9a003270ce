"""The seed's parent-child pattern end to end: parallel invokes, each child mapping its batch."""

from __future__ import annotations

import json
from typing import Any

from durable_lambda.store import ExecutionStatus
from durable_lambda.testing import DurableFunctionTestRunner
from examples import nested_workflows

EVENT = {"batches": [{"items": ["a", "b", "c"]}, {"items": ["d", "e"]}]}


def _types(events: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    return [
        (e["EventType"], e.get("SubType"), e.get("Name"))
        for e in events
        if e["EventType"] not in ("InvocationCompleted", "ExecutionStarted")
    ]


def test_orchestrator_invokes_a_worker_per_batch_in_parallel() -> None:
    with DurableFunctionTestRunner(nested_workflows.orchestrator) as runner:
        runner.register_durable_function(nested_workflows.WORKER_NAME, nested_workflows.worker)
        parent_id = runner.run_async(json.dumps(EVENT))
        result = runner.wait_for_result(parent_id)
        parent_events = runner.engine.get_history(parent_id)
        children = {
            e["Name"]: e["ChainedInvokeStartedDetails"]["DurableExecutionArn"]
            for e in parent_events
            if e["EventType"] == "ChainedInvokeStarted"
        }
        child_results = {name: runner.wait_for_result(arn) for name, arn in children.items()}
        child_events = runner.engine.get_history(children["process-batch-1"])

    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert json.loads(result.result or "null") == [
        [{"item": item, "processed": True} for item in ("a", "b", "c")],
        [{"item": item, "processed": True} for item in ("d", "e")],
    ]
    # Branches and map items run on threads of their own: they start in any order.
    started = [t for t in _types(parent_events) if t[0] == "ContextStarted"]
    assert started[0] == ("ContextStarted", "Parallel", "process-batches")
    assert sorted(started[1:]) == [
        ("ContextStarted", "ParallelBranch", "batch-1"),
        ("ContextStarted", "ParallelBranch", "batch-2"),
    ]
    assert sorted(children) == ["process-batch-1", "process-batch-2"]
    assert all(r.execution_status is ExecutionStatus.SUCCEEDED for r in child_results.values())
    child_types = _types(child_events)
    assert child_types[0] == ("ContextStarted", "Map", "process-items")
    assert sorted(t for t in child_types[1:] if t[0] == "ContextStarted") == [
        ("ContextStarted", "MapIteration", f"map-item-{i}") for i in range(3)
    ]
    assert sum(1 for t in child_types if t[0] == "StepSucceeded") == 3
    assert child_types[-1] == ("ExecutionSucceeded", None, None)


def test_a_failing_worker_fails_its_branch_and_the_parallel_reports_it() -> None:
    bad = {"batches": [{"items": ["a"]}, {"batch": "missing items"}]}
    with DurableFunctionTestRunner(nested_workflows.orchestrator) as runner:
        runner.register_durable_function(nested_workflows.WORKER_NAME, nested_workflows.worker)
        result = runner.run(input=json.dumps(bad))
    assert result.execution_status is ExecutionStatus.SUCCEEDED
    # parallel requires every branch by default: the failure completes it at once, so the
    # other branch is in the result only if it finished first (get_results keeps successes).
    assert json.loads(result.result or "null") in ([], [[{"item": "a", "processed": True}]])
    batches = result.get_context("process-batches")
    assert json.loads(batches.result or "null")["v"]["completionReason"]["v"] == (
        "FAILURE_TOLERANCE_EXCEEDED"
    )
    branch = batches.get_context("batch-2")
    assert branch.status.value == "FAILED"
    assert branch.error is not None
    assert (branch.error.type, branch.error.message) == (
        "durable_lambda.exceptions.InvokeError",
        "'items'",
    )
    invoke_error = branch.get_invoke("process-batch-2").error
    assert invoke_error is not None and invoke_error.type == "KeyError"
