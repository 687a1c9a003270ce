"""Chained invokes: children, plain functions, failures, stops, timeouts and crashes."""

from __future__ import annotations

import datetime
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_crashes import CrashingStore

from durable_lambda import (
    DurableContext,
    InvokeError,
    StepContext,
    ValidationError,
    durable_execution,
)
from durable_lambda.chained import chained_execution_name, parse_function_name
from durable_lambda.config import Duration, InvokeConfig
from durable_lambda.exceptions import InvalidStateError
from durable_lambda.lambda_service import (
    ChainedInvokeOptions,
    ErrorObject,
    OperationAction,
    OperationStatus,
    OperationSubType,
    OperationType,
    OperationUpdate,
)
from durable_lambda.serdes import SerDes, SerDesContext
from durable_lambda.store import (
    CheckpointBatch,
    ExecutionNotFoundError,
    ExecutionStatus,
    Lease,
    LeaseLostError,
    NewExecution,
    SqliteStore,
    Succeeded,
    Suspended,
)
from durable_lambda.store.contract import EXECUTION_TIMEOUT_TIMER, REINVOKE_TIMER
from durable_lambda.testing import DurableFunctionTestRunner
from durable_lambda.transitions import Completion, apply_update

# region handlers (module level, so worker processes can import them)


@durable_execution
def waiting_child(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    seconds = event.get("seconds", 30)
    context.wait(Duration.from_seconds(seconds), name="child-wait")
    return {"waited": seconds, "for": event["order"]}


@durable_execution
def unanswered_child(event: Any, context: DurableContext) -> None:
    """Waits for a callback nobody completes, without a timeout: nothing to skip."""
    context.create_callback("never answered").result()


@durable_execution
def approving_child(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    context.wait(Duration.from_seconds(30), name="cool-off")
    decision = context.wait_for_callback(lambda callback_id, ctx: None, name="approval")
    return {"order": event["order"], "decision": decision}


@durable_execution
def failing_child(event: Any, context: DurableContext) -> None:
    raise ValueError("the order is not valid")


def plain_function(event: Any, context: Any) -> dict[str, Any]:
    with _journal("plain").open("a") as journal:
        journal.write("called\n")
    return {"plain": event, "function": context.function_name}


def failing_plain_function(event: Any, context: Any) -> None:
    raise KeyError("missing field")


def unserializable_plain_function(event: Any, context: Any) -> object:
    return object()


@durable_execution
def invoke_parent(event: dict[str, Any], context: DurableContext) -> Any:
    return context.invoke(event["target"], event.get("payload"), name="call")


@durable_execution
def catching_parent(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    try:
        context.invoke(event["target"], event.get("payload"), name="call")
    except InvokeError as e:
        return {"type": e.error_type, "message": e.message}
    return {"type": None}


@durable_execution
def journaled_child(event: Any, context: DurableContext) -> str:
    def record(step_context: StepContext) -> str:
        with _journal("child").open("a") as journal:
            journal.write(f"ran {step_context.attempt}\n")
        return "recorded"

    context.step(record, name="record")
    context.wait(Duration.from_seconds(5))
    return "child done"


def _journal(name: str) -> Path:
    return Path(os.environ["DURABLE_LAMBDA_TEST_JOURNALS"]) / name


# endregion
# region helpers


pytestmark = pytest.mark.usefixtures("journals")


@pytest.fixture
def runner() -> Iterator[DurableFunctionTestRunner]:
    with DurableFunctionTestRunner(invoke_parent) as test_runner:
        yield test_runner


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"gave up waiting for {what}")


def history(runner: DurableFunctionTestRunner, execution_id: str) -> list[dict[str, Any]]:
    return runner.engine.get_history(execution_id)


def event_types(runner: DurableFunctionTestRunner, execution_id: str) -> list[str]:
    return [event["EventType"] for event in history(runner, execution_id)]


def only(runner: DurableFunctionTestRunner, execution_id: str, event_type: str) -> Any:
    """The details of the one event of ``event_type``."""
    matching = [e for e in history(runner, execution_id) if e["EventType"] == event_type]
    assert len(matching) == 1, (event_type, event_types(runner, execution_id))
    return matching[0][f"{event_type}Details"]


def child_of(runner: DurableFunctionTestRunner, parent_id: str) -> str:
    """The child execution the parent's (first) chained invoke started."""
    started = wait_for(
        lambda: [e for e in history(runner, parent_id) if e["EventType"] == "ChainedInvokeStarted"],
        "ChainedInvokeStarted",
    )
    arn: str = started[0]["ChainedInvokeStartedDetails"]["DurableExecutionArn"]
    return arn


def run(runner: DurableFunctionTestRunner, event: dict[str, Any]) -> tuple[str, Any]:
    parent_id = runner.run_async(json.dumps(event))
    return parent_id, runner.wait_for_result(parent_id)


def without_invocations(types: list[str]) -> list[str]:
    return [t for t in types if t != "InvocationCompleted"]


# endregion
# region durable children


def test_child_that_waits_resumes_its_parent_and_keeps_its_own_history(
    runner: DurableFunctionTestRunner,
) -> None:
    runner.register_durable_function("fulfil", waiting_child)

    parent_id, result = run(runner, {"target": "fulfil", "payload": {"order": "o-1"}})

    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert json.loads(result.result) == {"waited": 30, "for": "o-1"}
    invoke = result.get_invoke("call")
    assert invoke.status is OperationStatus.SUCCEEDED
    assert invoke.sub_type == OperationSubType.CHAINED_INVOKE.value
    assert without_invocations(event_types(runner, parent_id)) == [
        "ExecutionStarted",
        "ChainedInvokeStarted",
        "ChainedInvokeSucceeded",
        "ExecutionSucceeded",
    ]
    started = only(runner, parent_id, "ChainedInvokeStarted")
    assert started["FunctionName"] == "fulfil"
    assert started["Input"]["Payload"] == '{"order": "o-1"}'
    assert started["ExecutedVersion"] == "$LATEST"
    succeeded = only(runner, parent_id, "ChainedInvokeSucceeded")
    assert succeeded["Result"]["Payload"] == '{"waited": 30, "for": "o-1"}'

    child_id = started["DurableExecutionArn"]
    child = runner.engine.get_execution(child_id)
    assert child.function_name == "fulfil"
    assert child.execution_name == chained_execution_name(parent_id, invoke.operation_id)
    assert (child.parent_execution_id, child.parent_operation_id) == (parent_id, "1")
    assert child.timeout_seconds == 120
    assert event_types(runner, child_id) == [
        "ExecutionStarted",
        "WaitStarted",
        "InvocationCompleted",
        "WaitSucceeded",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]
    child_result = runner.wait_for_result(child_id)
    assert child_result.get_wait("child-wait").status is OperationStatus.SUCCEEDED


def test_child_that_waits_and_takes_a_callback_returns_its_decision_to_the_parent(
    runner: DurableFunctionTestRunner,
) -> None:
    runner.register_durable_function("approve", approving_child)
    parent_id = runner.run_async(json.dumps({"target": "approve", "payload": {"order": "o-9"}}))
    child_id = child_of(runner, parent_id)
    wait_for(lambda: _exists(runner, child_id), "the child execution")

    callback_id = runner.wait_for_callback(child_id, name="approval create callback id")
    runner.send_callback_success(callback_id, b"approved")
    result = runner.wait_for_result(parent_id)

    assert json.loads(result.result or "null") == {"order": "o-9", "decision": "approved"}
    child_events = without_invocations(event_types(runner, child_id))
    assert child_events[:3] == ["ExecutionStarted", "WaitStarted", "WaitSucceeded"]
    assert "CallbackSucceeded" in child_events
    assert without_invocations(event_types(runner, parent_id))[-2:] == [
        "ChainedInvokeSucceeded",
        "ExecutionSucceeded",
    ]


def _exists(runner: DurableFunctionTestRunner, execution_id: str) -> bool:
    try:
        runner.engine.get_execution(execution_id)
    except ExecutionNotFoundError:
        return False
    return True


def test_failing_child_raises_invoke_error_with_its_error_type_and_message() -> None:
    with DurableFunctionTestRunner(catching_parent) as runner:
        runner.register_durable_function("validate", failing_child)
        parent_id, result = run(runner, {"target": "validate"})

        assert json.loads(result.result) == {
            "type": "ValueError",
            "message": "the order is not valid",
        }
        failed = only(runner, parent_id, "ChainedInvokeFailed")
        assert failed["Error"]["Payload"]["ErrorType"] == "ValueError"
        assert failed["Error"]["Payload"]["ErrorMessage"] == "the order is not valid"
        child = runner.engine.get_execution(child_of(runner, parent_id))
        assert child.status is ExecutionStatus.FAILED


def test_uncaught_invoke_error_fails_the_parent(runner: DurableFunctionTestRunner) -> None:
    runner.register_durable_function("validate", failing_child)

    _, result = run(runner, {"target": "validate"})

    assert result.execution_status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.type == "durable_lambda.exceptions.InvokeError"
    assert result.error.message == "the order is not valid"
    assert result.get_invoke("call").status is OperationStatus.FAILED


def test_child_that_times_out_times_the_invoke_out() -> None:
    with DurableFunctionTestRunner(catching_parent) as runner:
        runner.register_durable_function("slow", unanswered_child, execution_timeout=1)
        parent_id, result = run(runner, {"target": "slow", "payload": {"order": "o-2"}})

        assert json.loads(result.result) == {
            "type": "ChainedInvoke.Timeout",
            "message": "CHAINED_INVOKE timed out after 1 seconds.",
        }
        assert result.get_invoke("call").status is OperationStatus.TIMED_OUT
        timed_out = only(runner, parent_id, "ChainedInvokeTimedOut")
        assert timed_out["Error"]["Payload"]["ErrorType"] == "ChainedInvoke.Timeout"
        child_id = child_of(runner, parent_id)
        assert runner.engine.get_execution(child_id).status is ExecutionStatus.TIMED_OUT


def test_replaying_a_finished_invoke_does_not_start_the_child_again() -> None:
    @durable_execution
    def parent(event: Any, context: DurableContext) -> str:
        result: str = context.invoke("journaled", None)
        context.wait(Duration.from_seconds(10))
        context.step(lambda _: "after", name="after")
        return result

    with DurableFunctionTestRunner(parent) as runner:
        runner.register_durable_function("journaled", journaled_child)
        parent_id, result = run(runner, {})

        assert json.loads(result.result) == "child done"
        assert _journal("child").read_text().splitlines() == ["ran 1"]
        assert event_types(runner, parent_id).count("InvocationCompleted") == 3
        assert len(_child_executions(runner)) == 1


# endregion
# region functions that are not durable


def test_plain_function_is_invoked_once_and_its_response_recorded(
    runner: DurableFunctionTestRunner,
) -> None:
    runner.register_function("enrich", plain_function)

    parent_id, result = run(runner, {"target": "enrich", "payload": [1, 2]})

    assert json.loads(result.result) == {"plain": [1, 2], "function": "enrich"}
    assert _journal("plain").read_text() == "called\n"
    started = only(runner, parent_id, "ChainedInvokeStarted")
    assert "DurableExecutionArn" not in started
    assert started["Input"]["Payload"] == "[1, 2]"
    assert only(runner, parent_id, "ChainedInvokeSucceeded")["Result"]["Payload"] == (
        '{"plain": [1, 2], "function": "enrich"}'
    )
    assert _child_executions(runner) == []


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        (failing_plain_function, "KeyError", "'missing field'"),
        (unserializable_plain_function, "Runtime.MarshalError", "Unable to marshal response"),
    ],
)
def test_plain_function_that_fails_raises_invoke_error(
    handler: Callable[..., Any], error_type: str, message: str
) -> None:
    with DurableFunctionTestRunner(catching_parent) as runner:
        runner.register_function("enrich", handler)
        _, result = run(runner, {"target": "enrich"})

    outcome = json.loads(result.result)
    assert outcome["type"] == error_type
    assert outcome["message"].startswith(message)


# endregion
# region targets that cannot be invoked


def test_unregistered_function_fails_the_invoke_at_once_naming_it() -> None:
    with DurableFunctionTestRunner(catching_parent) as runner:
        runner.register_durable_function("fulfil", waiting_child)
        parent_id, result = run(runner, {"target": "fulfill", "payload": {"order": "o-3"}})

        outcome = json.loads(result.result)
        assert outcome["type"] == "ResourceNotFoundException"
        assert outcome["message"] == (
            "Function not found: fulfill. Register it with register_durable_function or "
            "register_function (registered: fulfil, test-function)"
        )
        # Failed in the same invocation, without suspending; no input is recorded.
        assert event_types(runner, parent_id) == [
            "ExecutionStarted",
            "ChainedInvokeStarted",
            "ChainedInvokeFailed",
            "InvocationCompleted",
            "ExecutionSucceeded",
        ]
        assert only(runner, parent_id, "ChainedInvokeStarted") == {
            "FunctionName": "fulfill",
            "ExecutedVersion": "$LATEST",
        }
        assert _child_executions(runner) == []


def test_unregistered_function_uncaught_fails_the_parent(runner: DurableFunctionTestRunner) -> None:
    _, result = run(runner, {"target": "nowhere"})

    assert result.execution_status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.message is not None
    assert result.error.message.startswith("Function not found: nowhere.")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("", "invoke function_name must be a non-empty string, got ''"),
        ("bad name!", "Invalid function name or ARN 'bad name!'"),
        ("arn:aws:lambda:::function:echo", "Invalid function name or ARN"),
        (
            "arn:aws:lambda:us-west-2:210987654321:function:echo",
            "Cannot invoke 'arn:aws:lambda:us-west-2:210987654321:function:echo': it is in "
            "account 210987654321, not in this engine's account 123456789012",
        ),
        (
            "arn:aws:lambda:eu-west-1:123456789012:function:echo",
            "Cannot invoke 'arn:aws:lambda:eu-west-1:123456789012:function:echo': it is in "
            "region eu-west-1, not in this engine's region us-west-2",
        ),
    ],
)
def test_malformed_or_foreign_targets_are_refused_recording_nothing(
    target: str, message: str
) -> None:
    @durable_execution
    def parent(event: Any, context: DurableContext) -> str:
        try:
            context.invoke(target, None)
        except ValidationError as e:
            return str(e)
        return "not refused"

    with DurableFunctionTestRunner(parent) as runner:
        runner.register_durable_function("echo", waiting_child)
        result = runner.run("{}")

    assert json.loads(result.result).startswith(message)
    assert result.operations == []


@pytest.mark.parametrize(
    "target",
    [
        "fulfil",
        "fulfil:$LATEST",
        "123456789012:function:fulfil",
        "arn:aws:lambda:us-west-2:123456789012:function:fulfil",
        "arn:aws:lambda:us-west-2:123456789012:function:fulfil:live",
    ],
)
def test_targets_resolve_by_name_qualifier_or_arn(
    runner: DurableFunctionTestRunner, target: str
) -> None:
    runner.register_durable_function("fulfil", waiting_child)

    parent_id, result = run(runner, {"target": target, "payload": {"order": "o-4"}})

    assert json.loads(result.result) == {"waited": 30, "for": "o-4"}
    assert only(runner, parent_id, "ChainedInvokeStarted")["FunctionName"] == target
    assert runner.engine.get_execution(child_of(runner, parent_id)).function_name == "fulfil"


def test_qualified_registration_wins_over_the_bare_name(
    runner: DurableFunctionTestRunner,
) -> None:
    runner.register_function("enrich", failing_plain_function)
    runner.register_function("enrich:v2", plain_function)

    _, result = run(runner, {"target": "enrich:v2", "payload": 7})

    assert json.loads(result.result) == {"plain": 7, "function": "enrich:v2"}


class NotJsonSerDes(SerDes[Any]):
    def serialize(self, value: Any, serdes_context: SerDesContext) -> str:
        return f"<{value}>"

    def deserialize(self, data: str, serdes_context: SerDesContext) -> Any:
        return data


def test_payload_that_is_not_json_fails_the_invoke() -> None:
    @durable_execution
    def parent(event: Any, context: DurableContext) -> str:
        config: InvokeConfig[Any, Any] = InvokeConfig(serdes_payload=NotJsonSerDes())
        try:
            context.invoke("fulfil", "order", config=config)
        except InvokeError as e:
            return e.error_type
        return "not failed"

    with DurableFunctionTestRunner(parent) as runner:
        runner.register_durable_function("fulfil", waiting_child)
        result = runner.run("{}")

    assert json.loads(result.result) == "InvalidRequestContentException"


def test_tenant_id_is_validated_and_recorded() -> None:
    with pytest.raises(ValidationError, match="tenant_id must be 1 to 256 characters"):
        InvokeConfig(tenant_id="no#hash")
    with pytest.raises(ValidationError, match="tenant_id must be 1 to 256 characters"):
        InvokeConfig(tenant_id="")

    @durable_execution
    def parent(event: Any, context: DurableContext) -> Any:
        config: InvokeConfig[Any, Any] = InvokeConfig(tenant_id="tenant-1 a@b.c/d=e+f:g")
        return context.invoke("enrich", "x", config=config)

    with DurableFunctionTestRunner(parent) as tenant_runner:
        tenant_runner.register_function("enrich", plain_function)
        parent_id, _ = run(tenant_runner, {})
        started = only(tenant_runner, parent_id, "ChainedInvokeStarted")
    assert started["TenantId"] == "tenant-1 a@b.c/d=e+f:g"


def test_function_names_parse_as_lambda_invoke_accepts_them() -> None:
    target = parse_function_name("arn:aws:lambda:us-east-1:123456789012:function:f-1.x:prod")
    assert (target.name, target.qualifier, target.account_id, target.region) == (
        "f-1.x",
        "prod",
        "123456789012",
        "us-east-1",
    )
    assert parse_function_name("f").qualifier is None
    with pytest.raises(ValidationError):
        parse_function_name("x" * 257)


def test_child_execution_names_are_derived_from_parent_and_operation() -> None:
    name = chained_execution_name("parent-1", "2-1")
    assert name == chained_execution_name("parent-1", "2-1")
    assert name != chained_execution_name("parent-1", "2-2")
    assert name != chained_execution_name("parent-2", "2-1")
    assert len(name) <= 64


# endregion
# region stops and timeouts


def _await_child_waiting(runner: DurableFunctionTestRunner, parent_id: str) -> str:
    child_id = child_of(runner, parent_id)
    wait_for(lambda: "WaitStarted" in event_types(runner, child_id), "the child's wait")
    return child_id


def test_stopping_a_child_stops_the_invoke() -> None:
    with DurableFunctionTestRunner(catching_parent) as runner:
        runner.register_durable_function("slow", waiting_child)
        parent_id = runner.run_async(
            json.dumps({"target": "slow", "payload": {"order": "o-5", "seconds": 3600}})
        )
        child_id = _await_child_waiting(runner, parent_id)

        assert runner.engine.stop_execution(child_id, ErrorObject.from_message("cancelled"))
        assert not runner.engine.stop_execution(child_id)
        result = runner.wait_for_result(parent_id)

        # A stop error without a type surfaces as an InvokeError of its own type.
        assert json.loads(result.result) == {
            "type": "durable_lambda.exceptions.InvokeError",
            "message": "cancelled",
        }
        assert result.get_invoke("call").status is OperationStatus.STOPPED
        stopped = only(runner, parent_id, "ChainedInvokeStopped")
        assert stopped["Error"]["Payload"] == {"ErrorMessage": "cancelled"}
        assert only(runner, child_id, "ExecutionStopped")["Error"]["Payload"] == {
            "ErrorMessage": "cancelled"
        }


def test_stopping_the_parent_stops_its_running_children(
    runner: DurableFunctionTestRunner,
) -> None:
    runner.register_durable_function("slow", waiting_child)
    parent_id = runner.run_async(
        json.dumps({"target": "slow", "payload": {"order": "o-6", "seconds": 3600}})
    )
    child_id = _await_child_waiting(runner, parent_id)

    assert runner.engine.stop_execution(parent_id)

    parent = runner.wait_for_result(parent_id)
    child = runner.wait_for_result(child_id)
    assert parent.execution_status is ExecutionStatus.STOPPED
    assert child.execution_status is ExecutionStatus.STOPPED
    assert child.error is not None
    assert child.error.type == "Execution.ParentEnded"
    assert child.error.message == (
        f"Stopped because the parent execution {parent_id} ended (STOPPED) "
        "before this chained invoke completed"
    )
    assert event_types(runner, child_id)[-1] == "ExecutionStopped"
    # The parent keeps the invoke as it was when it ended.
    assert parent.get_invoke("call").status is OperationStatus.STARTED


def test_parent_that_times_out_stops_its_running_children(
    runner: DurableFunctionTestRunner,
) -> None:
    runner.register_durable_function("slow", unanswered_child, execution_timeout=7200)
    parent_id = runner.run_async(
        json.dumps({"target": "slow", "payload": {"order": "o-7"}}), execution_timeout=1
    )
    child_id = child_of(runner, parent_id)

    parent = runner.wait_for_result(parent_id)
    child = runner.wait_for_result(child_id)

    assert parent.execution_status is ExecutionStatus.TIMED_OUT
    assert child.execution_status is ExecutionStatus.STOPPED
    assert child.error is not None
    assert "ended (TIMED_OUT)" in (child.error.message or "")


@pytest.mark.parametrize("durable", [True, False])
def test_no_target_is_started_for_a_parent_that_ended_before_the_start(durable: bool) -> None:
    engines: list[Any] = []

    @durable_execution
    def parent(event: Any, context: DurableContext) -> None:
        try:
            context.invoke("target", {"order": "o-9"})
        finally:
            # Ends the parent after START, before the engine starts the target.
            engines[0].stop_execution(context.execution_context.durable_execution_arn)

    with DurableFunctionTestRunner(parent) as runner:
        engines.append(runner.engine)
        if durable:
            runner.register_durable_function("target", waiting_child)
        else:
            runner.register_function("target", plain_function)
        parent_id, result = run(runner, {})
        # The stop ends the execution while its invocation winds down; wait for
        # the engine to finish with it (and with any start it would make).
        wait_for(lambda: not runner.engine._running, "the engine to settle")

        assert result.execution_status is ExecutionStatus.STOPPED
        assert "ChainedInvokeStarted" in event_types(runner, parent_id)
        assert _child_executions(runner) == []
    assert not _journal("plain").exists()


# endregion
# region process isolation and crashes


def test_chained_invokes_run_from_worker_processes() -> None:
    with DurableFunctionTestRunner(invoke_parent, invocation_isolation="process") as runner:
        runner.register_durable_function("fulfil", waiting_child)
        runner.register_function("enrich", plain_function)
        _, child_result = run(runner, {"target": "fulfil", "payload": {"order": "o-8"}})
        _, plain_result = run(runner, {"target": "enrich", "payload": "p"})

    assert json.loads(child_result.result) == {"waited": 30, "for": "o-8"}
    assert json.loads(plain_result.result) == {"plain": "p", "function": "enrich"}


@pytest.mark.parametrize(
    ("crash_at", "phase", "started_by_replay"),
    [
        # Killed right after START is durable, before the target was handed over:
        # the replay hands it over.
        (1, "after", True),
        # Killed once the target was handed over, before the invocation ended:
        # the child starts at once; the replay asks again and changes nothing.
        (2, "before", False),
    ],
)
def test_parent_killed_right_after_starting_its_child_starts_one_child(
    tmp_path: Path, crash_at: int, phase: str, started_by_replay: bool
) -> None:
    plan = tmp_path / "crash.plan"
    plan.write_text(
        json.dumps({"crash_at": crash_at, "phase": phase, "writes": 0, "crashed": False})
    )
    store = CrashingStore(str(tmp_path / "engine.sqlite3"), str(plan))
    with DurableFunctionTestRunner(
        invoke_parent, store=store, invocation_isolation="process"
    ) as runner:
        runner.register_durable_function("journaled", journaled_child)
        parent_id, result = run(runner, {"target": "journaled"})

        assert json.loads(plan.read_text())["crashed"]
        assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
        assert json.loads(result.result) == "child done"
        assert event_types(runner, parent_id).count("ChainedInvokeStarted") == 1
        crashed, replay = [
            e["InvocationCompletedDetails"]
            for e in history(runner, parent_id)
            if e["EventType"] == "InvocationCompleted"
        ][:2]
        assert crashed["Error"]["Payload"]["ErrorType"] == "Runtime.ExitError"
        assert "Error" not in replay
        child_started = history(runner, child_of(runner, parent_id))[0]["EventTimestamp"]
        assert (child_started >= replay["StartTimestamp"]) is started_by_replay
        assert len(_child_executions(runner)) == 1
    assert _journal("child").read_text().splitlines() == ["ran 1"]


def _child_executions(runner: DurableFunctionTestRunner) -> list[str]:
    """Ids of the executions in the runner's store that a chained invoke started."""
    page = runner.engine.store.list_executions(limit=1000)
    assert page.next_page_token is None
    return [r.execution_id for r in page.executions if r.parent_execution_id is not None]


# endregion
# region the store


T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
LATER = datetime.timedelta(minutes=15)


def _start(store: SqliteStore, execution_id: str, parent: tuple[str, str] | None = None) -> None:
    store.create_execution(
        NewExecution(
            execution_id,
            "fn",
            execution_id,
            "{}",
            timeout_seconds=60,
            parent_execution_id=parent[0] if parent else None,
            parent_operation_id=parent[1] if parent else None,
        ),
        T0,
    )


def _start_invoke(store: SqliteStore, execution_id: str, operation_id: str = "1") -> Lease:
    """A lease on the execution after it recorded a chained invoke's START."""
    lease = store.acquire_lease(execution_id, f"request-{execution_id}", T0, T0 + LATER)
    assert lease is not None
    update = OperationUpdate(
        operation_id,
        OperationType.CHAINED_INVOKE,
        OperationAction.START,
        sub_type=OperationSubType.CHAINED_INVOKE.value,
        payload='"in"',
        chained_invoke_options=ChainedInvokeOptions("child-fn"),
    )
    batch = CheckpointBatch()
    batch.add(apply_update(update, None, T0))
    store.write(lease, batch)
    return lease


def _operation_status(store: SqliteStore, execution_id: str, operation_id: str) -> Any:
    return next(
        op.status for op in store.get_operations(execution_id) if op.operation_id == operation_id
    )


def _timer_keys(store: SqliteStore, execution_id: str) -> list[str]:
    due = store.due_timers(T0 + datetime.timedelta(days=1), limit=100)
    return sorted(t.key for t in due if t.execution_id == execution_id)


@pytest.fixture
def store() -> Iterator[SqliteStore]:
    sqlite_store = SqliteStore()
    yield sqlite_store
    sqlite_store.close()


def test_complete_operation_completes_once_wakes_and_sets_the_reinvoke_timer(
    store: SqliteStore,
) -> None:
    _start(store, "parent")
    lease = _start_invoke(store, "parent")
    events_before = len(store.get_history("parent"))
    done = Completion(OperationStatus.SUCCEEDED, result='"out"')

    assert store.complete_operation("parent", "1", done, T0)

    assert _operation_status(store, "parent", "1") is OperationStatus.SUCCEEDED
    completed = store.get_history("parent")[events_before:]
    assert [e["EventType"] for e in completed] == ["ChainedInvokeSucceeded"]
    assert completed[0]["ChainedInvokeSucceededDetails"]["Result"]["Payload"] == '"out"'
    assert REINVOKE_TIMER in _timer_keys(store, "parent")
    # The invocation that loaded state before the outcome must reload, not suspend.
    assert not store.finish_invocation(lease, T0, Suspended())
    # A duplicate, an unknown operation, an unknown or ended execution change nothing.
    failed = Completion(OperationStatus.FAILED, error=ErrorObject.from_message("late"))
    assert not store.complete_operation("parent", "1", failed, T0)
    assert not store.complete_operation("parent", "9", done, T0)
    assert not store.complete_operation("nobody", "1", done, T0)
    assert len(store.get_history("parent")) == events_before + 1
    assert _operation_status(store, "parent", "1") is OperationStatus.SUCCEEDED


def test_a_suspended_invocation_clears_the_reinvoke_timer(store: SqliteStore) -> None:
    _start(store, "parent")
    lease = _start_invoke(store, "parent")
    store.schedule_reinvoke("parent", T0 + LATER)

    assert store.finish_invocation(lease, T0, Suspended())

    assert REINVOKE_TIMER not in _timer_keys(store, "parent")


def test_ending_a_child_completes_its_parents_invoke_in_the_same_write(
    store: SqliteStore,
) -> None:
    _start(store, "parent")
    _start_invoke(store, "parent")
    _start(store, "child", parent=("parent", "1"))
    child_lease = store.acquire_lease("child", "request-child", T0, T0 + LATER)
    assert child_lease is not None

    assert store.finish_invocation(child_lease, T0, Succeeded('"child result"'))

    assert _operation_status(store, "parent", "1") is OperationStatus.SUCCEEDED
    invoke = next(op for op in store.get_operations("parent") if op.operation_id == "1")
    assert invoke.result == '"child result"'
    assert REINVOKE_TIMER in _timer_keys(store, "parent")


def test_a_child_that_times_out_times_out_its_parents_invoke(store: SqliteStore) -> None:
    _start(store, "parent")
    _start_invoke(store, "parent")
    _start(store, "child", parent=("parent", "1"))

    assert not store.fire_timer("child", EXECUTION_TIMEOUT_TIMER, T0 + LATER)

    invoke = next(op for op in store.get_operations("parent") if op.operation_id == "1")
    assert invoke.status is OperationStatus.TIMED_OUT
    assert invoke.error == ErrorObject(
        message="CHAINED_INVOKE timed out after 60 seconds.",
        type="ChainedInvoke.Timeout",
        data=None,
        stack_trace=None,
    )


def test_no_child_is_created_for_a_parent_that_has_ended(store: SqliteStore) -> None:
    _start(store, "parent")
    _start(store, "child", parent=("parent", "1"))
    assert store.stop_execution("parent", T0, ErrorObject.from_message("stop"))

    with pytest.raises(InvalidStateError, match=r"the parent has ended \(STOPPED\)"):
        _start(store, "late-child", parent=("parent", "2"))
    with pytest.raises(InvalidStateError, match="the parent does not exist"):
        _start(store, "orphan", parent=("nobody", "1"))
    with pytest.raises(ExecutionNotFoundError):
        store.get_execution("late-child")
    # Starting an existing child again still returns it.
    record, created = store.create_execution(
        NewExecution("other-id", "fn", "child", "{}", parent_execution_id="parent"), T0
    )
    assert (record.execution_id, created) == ("child", False)


def test_stop_execution_fences_the_invocation_and_stops_descendants(store: SqliteStore) -> None:
    _start(store, "parent")
    lease = _start_invoke(store, "parent")
    _start(store, "child", parent=("parent", "1"))
    _start(store, "grandchild", parent=("child", "1"))
    _start(store, "done-child", parent=("parent", "2"))
    done_lease = store.acquire_lease("done-child", "request-done", T0, T0 + LATER)
    assert done_lease is not None
    store.finish_invocation(done_lease, T0, Succeeded("1"))
    stop = ErrorObject(message="no longer needed", type="UserStop", data=None, stack_trace=None)

    assert store.stop_execution("parent", T0, stop)

    parent = store.get_execution("parent")
    assert (parent.status, parent.error) == (ExecutionStatus.STOPPED, stop)
    assert store.get_history("parent")[-1]["EventType"] == "ExecutionStopped"
    assert _timer_keys(store, "parent") == []
    with pytest.raises(LeaseLostError):
        store.write(lease, CheckpointBatch(events=[{"EventType": "Late"}]))
    for descendant, its_parent in (("child", "parent"), ("grandchild", "child")):
        record = store.get_execution(descendant)
        assert record.status is ExecutionStatus.STOPPED
        assert record.error is not None
        assert record.error.type == "Execution.ParentEnded"
        assert its_parent in (record.error.message or "")
        assert store.get_history(descendant)[-1]["EventType"] == "ExecutionStopped"
    assert store.get_execution("done-child").status is ExecutionStatus.SUCCEEDED
    assert not store.stop_execution("parent", T0, stop)
    with pytest.raises(ExecutionNotFoundError):
        store.stop_execution("nobody", T0, stop)


# endregion
