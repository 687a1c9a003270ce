"""Durable functions on Lambda, end to end: the runtime's own code against moto and a
Lambda stand-in (``aws_harness``), timers delivered on a virtual clock."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from typing import Any

import pytest
from aws_harness import CALLBACK_URL, FUNCTION_TIMEOUT_SECONDS, TABLE, AwsAccount, Crash

from durable_lambda import DurableContext, durable_execution
from durable_lambda.aws import events
from durable_lambda.config import CallbackConfig, Duration, StepConfig
from durable_lambda.retries import JitterStrategy, RetryStrategyConfig, create_retry_strategy
from durable_lambda.store import ExecutionStatus
from durable_lambda.store.contract import EXECUTION_TIMEOUT_TIMER
from durable_lambda.testing import DurableFunctionTestRunner
from examples import approval, nested_workflows
from examples.__main__ import WORKFLOWS


def types(aws: AwsAccount, execution_id: str) -> list[str]:
    return [e["EventType"] for e in aws.engine.store.get_history(execution_id)]


@durable_execution
def waits(event: Any, context: DurableContext) -> str:
    first = context.step(lambda _: "one", name="first")
    context.wait(Duration.from_seconds(30), name="short")
    context.wait(Duration.from_hours(2), name="long")
    return first + " two"


def test_a_short_wait_resumes_through_the_queue_and_a_long_one_through_a_schedule(
    aws: AwsAccount,
) -> None:
    aws.deploy("waits", waits)
    answer = aws.invoke("waits", {"order": 1})
    assert answer["Status"] == "PENDING"
    execution_id = answer["DurableExecutionArn"]
    assert execution_id.startswith("arn:aws:lambda:us-east-1:123456789012:function:waits:$LATEST/")
    aws.advance(31)
    assert types(aws, execution_id).count("WaitSucceeded") == 1
    actions = {c.action for c in aws.calls if c.caller == "waits"}
    assert "sqs:SendMessage" in actions  # the 30 s wait
    assert "scheduler:CreateSchedule" in actions  # the 2 h wait (and the execution timeout)
    aws.advance(2 * 3600 + 60)  # the clock runs in real time too: a minute's slack for a slow run
    record = aws.engine.store.get_execution(execution_id)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, '"one two"')


@pytest.mark.parametrize(("name", "handler", "event"), WORKFLOWS, ids=[w[0] for w in WORKFLOWS])
def test_every_seed_pattern_ends_as_it_does_on_the_local_engine(
    aws: AwsAccount, name: str, handler: Any, event: dict[str, Any]
) -> None:
    with DurableFunctionTestRunner(handler) as runner:
        runner.register_durable_function(nested_workflows.WORKER_NAME, nested_workflows.worker)
        local = runner.run(input=json.dumps(event))
    aws.deploy(name, handler)
    aws.deploy(nested_workflows.WORKER_NAME, nested_workflows.worker)
    execution_id = aws.invoke(name, event)["DurableExecutionArn"]
    record = aws.run_to_end(execution_id)
    assert record.status.value == local.status.value
    assert record.result == local.result
    assert aws.lambda_.errors == []


def test_the_approval_completes_through_the_callback_api(aws: AwsAccount) -> None:
    aws.deploy("approval", approval.handler)
    execution_id = aws.invoke("approval", {"approver_email": "alice@example.com"})[
        "DurableExecutionArn"
    ]
    callback_id = approval.OUTBOX[-1]["callback_id"]
    url = f"{CALLBACK_URL}/callbacks/{callback_id}"
    answer = aws.post_callback(url, "succeed", b'{"approved_by": "alice"}')
    assert (answer["statusCode"], json.loads(answer["body"])) == (200, {})
    again = aws.post_callback(url, "succeed", b"{}")
    assert again["statusCode"] == 409
    assert json.loads(again["body"])["Error"] == "CallbackClosed"
    record = aws.engine.store.get_execution(execution_id)
    assert record.status is ExecutionStatus.SUCCEEDED
    assert json.loads(record.result or "")["status"] == "approved"


def test_an_approval_nobody_answers_times_out_after_24_hours_and_escalates(
    aws: AwsAccount,
) -> None:
    aws.deploy("approval", approval.handler)
    execution_id = aws.invoke("approval", {"approver_email": "bob@example.com"})[
        "DurableExecutionArn"
    ]
    record = aws.run_to_end(execution_id)
    assert json.loads(record.result or "") == {"status": "timeout", "escalated": True}
    assert "CallbackTimedOut" in types(aws, execution_id)


def test_bad_callback_requests_are_refused_without_internals(aws: AwsAccount) -> None:
    for path, body, status, code in (
        ("/callbacks/not-an-id", b"", 400, "InvalidRequest"),
        ("/callbacks/" + "A" * 43, b"", 404, "CallbackNotFound"),
        ("/elsewhere", b"", 404, "NotFound"),
        ("/callbacks/" + "A" * 43, b"x" * 300_000, 413, "PayloadTooLarge"),
    ):
        answer = aws.post_callback(CALLBACK_URL + path, "succeed", body)
        assert answer["statusCode"] == status, path
        assert json.loads(answer["body"])["Error"] == code
        assert "Traceback" not in answer["body"]


flaky_runs: list[int] = []


@durable_execution
def flaky(event: Any, context: DurableContext) -> int:
    def attempt(step_context: Any) -> int:
        flaky_runs.append(step_context.attempt)
        if step_context.attempt < 3:
            raise RuntimeError("not yet")
        return step_context.attempt

    retry = create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=5,
            initial_delay=Duration.from_seconds(2),
            jitter_strategy=JitterStrategy.NONE,
        )
    )
    return int(context.step(attempt, name="flaky", config=StepConfig(retry_strategy=retry)))


def test_a_retry_delay_resumes_through_the_queue(aws: AwsAccount) -> None:
    flaky_runs.clear()
    aws.deploy("flaky", flaky)
    execution_id = aws.invoke("flaky", {})["DurableExecutionArn"]
    record = aws.run_to_end(execution_id, within_seconds=60)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, "3")
    assert flaky_runs == [1, 2, 3]


@durable_execution
def calls_others(event: Any, context: DurableContext) -> dict[str, Any]:
    durable = context.invoke("worker", {"batch": {"items": ["a"]}}, name="durable")
    plain = context.invoke("plain", {"n": 2}, name="plain")
    return {"durable": durable, "plain": plain}


plain_calls: list[Any] = []


def plain(event: Any, context: Any) -> dict[str, Any]:
    plain_calls.append(event)
    return {"doubled": event["n"] * 2}


def test_chained_invokes_of_a_durable_and_a_plain_function(aws: AwsAccount) -> None:
    plain_calls.clear()
    aws.deploy("parent", calls_others)
    aws.deploy("worker", nested_workflows.worker)
    aws.deploy_plain("plain", plain)
    execution_id = aws.invoke("parent", {})["DurableExecutionArn"]
    record = aws.run_to_end(execution_id)
    assert record.status is ExecutionStatus.SUCCEEDED
    assert json.loads(record.result or "") == {
        "durable": [{"item": "a", "processed": True}],
        "plain": {"doubled": 4},
    }
    assert plain_calls == [{"n": 2}]
    history = aws.engine.store.get_history(execution_id)
    [started, _] = [e for e in history if e["EventType"] == "ChainedInvokeStarted"]
    child_id = started["ChainedInvokeStartedDetails"]["DurableExecutionArn"]
    assert child_id.startswith("arn:aws:lambda:us-east-1:123456789012:function:worker:$LATEST/")
    assert aws.engine.store.get_execution(child_id).parent_execution_id == execution_id


@durable_execution
def waits_for_a_callback(event: Any, context: DurableContext) -> Any:
    return context.create_callback("forever").result()


def test_the_client_starts_lists_stops_and_reads_history(aws: AwsAccount) -> None:
    aws.deploy("waiting", waits_for_a_callback)
    client = aws.client()
    execution_id = client.start_execution("waiting", '{"a": 1}', execution_name="first")
    aws.lambda_.wait_until_idle()
    assert client.start_execution("waiting", "{}", execution_name="first") == execution_id
    aws.lambda_.wait_until_idle()
    [listed] = client.list_executions(function_name="waiting").executions
    assert (listed.execution_id, listed.input_payload) == (execution_id, '{"a": 1}')
    assert client.describe_execution(execution_id).status is ExecutionStatus.RUNNING
    assert client.stop_execution(execution_id)
    assert not client.stop_execution(execution_id)
    assert client.wait_for_result(execution_id, 5).status is ExecutionStatus.STOPPED
    events = [e["EventType"] for e in client.get_execution_history(execution_id)]
    assert events[0] == "ExecutionStarted" and events[-1] == "ExecutionStopped"


def test_the_client_completes_a_callback(aws: AwsAccount) -> None:
    aws.deploy("waiting", waits_for_a_callback)
    client = aws.client()
    execution_id = client.start_execution("waiting", "{}")
    aws.lambda_.wait_until_idle()
    [started] = [
        e for e in aws.engine.store.get_history(execution_id) if e["EventType"] == "CallbackStarted"
    ]
    callback_id = aws.callback_id(execution_id, started["Id"])
    client.send_callback_success(callback_id, b'"done"')
    aws.lambda_.wait_until_idle()
    # The callback's body is the text that was sent; the handler returns it as is.
    assert client.wait_for_result(execution_id, 5).result == json.dumps('"done"')


@durable_execution
def times_out(event: Any, context: DurableContext) -> Any:
    return context.create_callback("never", CallbackConfig()).result()


def test_an_execution_past_its_timeout_times_out(aws: AwsAccount) -> None:
    aws.deploy("slowpoke", times_out, execution_timeout=120)
    execution_id = aws.invoke("slowpoke", {})["DurableExecutionArn"]
    record = aws.run_to_end(execution_id)
    assert record.status is ExecutionStatus.TIMED_OUT
    assert types(aws, execution_id)[-1] == "ExecutionTimedOut"


crashes: list[int] = []


@durable_execution
def crashes_once(event: Any, context: DurableContext) -> str:
    def body(_: Any) -> str:
        if not crashes:
            crashes.append(1)
            raise Crash
        return "survived"

    return str(context.step(body, name="fragile"))


def test_a_crashed_invocation_is_rescued_by_the_sweeper(aws: AwsAccount) -> None:
    crashes.clear()
    aws.deploy("fragile", crashes_once)
    assert aws.invoke("fragile", {}) == {"errorType": "Runtime.ExitError"}
    [record] = aws.engine.store.list_executions(function_name="fragile").executions
    execution_id = record.execution_id
    assert record.lease is not None  # held by the dead invocation
    assert aws.sweep() == 0  # its lease has not expired
    aws.advance(FUNCTION_TIMEOUT_SECONDS + 91)
    assert aws.sweep() >= 1
    record = aws.engine.store.get_execution(execution_id)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, '"survived"')
    completed = [
        e
        for e in aws.engine.store.get_history(execution_id)
        if e["EventType"] == "InvocationCompleted"
    ]
    assert completed[0]["InvocationCompletedDetails"]["Error"]["Payload"]["ErrorType"] == (
        "Runtime.ExitError"
    )


counted_steps: list[str] = []


@durable_execution
def counts(event: Any, context: DurableContext) -> str:
    context.wait(Duration.from_seconds(5), name="pause")
    return str(context.step(lambda _: counted_steps.append("ran") or "once", name="after"))


def test_the_same_resume_delivered_five_times_at_once_moves_the_execution_once(
    aws: AwsAccount,
) -> None:
    counted_steps.clear()
    aws.deploy("counts", counts)
    execution_id = aws.invoke("counts", {})["DurableExecutionArn"]
    aws.engine.store.fire_timer(execution_id, "op:1", aws.clock.now())  # the wait is over
    threads = [
        threading.Thread(target=aws.invoke, args=("counts", {"DurableExecutionArn": execution_id}))
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    aws.lambda_.wait_until_idle()
    record = aws.engine.store.get_execution(execution_id)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, '"once"')
    assert counted_steps == ["ran"]
    assert types(aws, execution_id).count("InvocationCompleted") == 2


@durable_execution
def large_result(event: Any, context: DurableContext) -> int:
    # Random text: it does not compress to fit an item.
    large = context.step(lambda _: base64.b64encode(os.urandom(1_500_000)).decode(), name="large")
    context.wait(Duration.from_seconds(5), name="pause")
    return len(large)


def test_a_result_too_large_for_an_item_goes_through_the_payload_bucket(aws: AwsAccount) -> None:
    function = aws.deploy("large", large_result)
    execution_id = aws.invoke("large", {})["DurableExecutionArn"]
    assert any(c.action == "s3:PutObject" and c.caller == "large" for c in aws.calls)
    function.runtime = None  # the resume runs in a new container: it reads the result back
    record = aws.run_to_end(execution_id)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, "2000000")
    assert any(c.action == "s3:GetObject" and c.caller == "large" for c in aws.calls)
    history = aws.client().get_execution_history(execution_id)
    [succeeded] = [e for e in history if e["EventType"] == "StepSucceeded"]
    assert len(json.loads(succeeded["StepSucceededDetails"]["Result"]["Payload"])) == 2_000_000


def test_an_alias_that_started_an_execution_is_the_one_its_wake_ups_invoke(
    aws: AwsAccount,
) -> None:
    aws.deploy("waits", waits)
    execution_id = aws.invoke("waits:live", {})["DurableExecutionArn"]
    assert execution_id.startswith("arn:aws:lambda:us-east-1:123456789012:function:waits:live/")
    record = aws.run_to_end(execution_id)
    assert record.status is ExecutionStatus.SUCCEEDED
    woken = {c.resource for c in aws.calls if c.action == "lambda:Invoke" and c.caller != "user"}
    assert woken == {"arn:aws:lambda:us-east-1:123456789012:function:waits:live"}


def log_lines(capsys: pytest.CaptureFixture[str], message: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return [line for line in lines if line.get("message") == message]


def test_each_invocation_writes_one_json_line_with_its_metrics(
    aws: AwsAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.deploy("waits", waits)
    execution_id = aws.invoke("waits", {})["DurableExecutionArn"]
    aws.run_to_end(execution_id)
    invocations = log_lines(capsys, "durable invocation")
    assert [line["outcome"] for line in invocations] == ["SUSPENDED", "SUSPENDED", "SUCCEEDED"]
    assert [line["operationsNew"] for line in invocations] == [2, 1, 0]
    assert [line["Checkpoints"] for line in invocations] == [2, 1, 0]
    assert [line["ExecutionsSucceeded"] for line in invocations] == [0, 0, 1]
    assert {line["durableExecutionArn"] for line in invocations} == {execution_id}
    [metrics] = invocations[0]["_aws"]["CloudWatchMetrics"]
    assert metrics["Namespace"] == "DurableLambda"
    assert metrics["Dimensions"] == [["FunctionName"], ["TableName"]]
    assert invocations[0]["TableName"] == TABLE
    assert {m["Name"] for m in metrics["Metrics"]} == {
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "Checkpoints",
        "ReplayTime",
    }


def test_each_start_is_counted_once_under_the_function_it_starts(
    aws: AwsAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.deploy("parent", calls_others)
    aws.deploy("worker", nested_workflows.worker)
    aws.deploy_plain("plain", plain)
    aws.deploy("waiting", waits_for_a_callback)
    aws.run_to_end(aws.invoke("parent", {})["DurableExecutionArn"])
    client = aws.client()
    for _ in range(2):  # the same name twice starts one execution
        client.start_execution("waiting", "{}", execution_name="once")
        aws.lambda_.wait_until_idle()
    started = [
        (line["FunctionName"], line["TableName"], line["ExecutionsStarted"])
        for line in log_lines(capsys, "durable execution")
    ]
    assert sorted(started) == [("parent", TABLE, 1), ("waiting", TABLE, 1), ("worker", TABLE, 1)]


def test_a_timeout_is_counted_once_however_often_its_timer_comes(
    aws: AwsAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.deploy("slowpoke", times_out, execution_timeout=120)
    execution_id = aws.invoke("slowpoke", {})["DurableExecutionArn"]
    assert aws.run_to_end(execution_id).status is ExecutionStatus.TIMED_OUT
    late = events.timer(execution_id, EXECUTION_TIMEOUT_TIMER, aws.clock.now())
    assert aws.invoke("slowpoke", late)["Status"] == "TIMED_OUT"
    timed_out = [
        (line["FunctionName"], line["durableExecutionArn"])
        for line in log_lines(capsys, "durable execution")
        if "ExecutionsTimedOut" in line
    ]
    assert timed_out == [("slowpoke", execution_id)]


@durable_execution
def slow_to_replay(event: Any, context: DurableContext) -> str:
    time.sleep(0.05)  # on every run, replays included
    context.wait(Duration.from_seconds(5), name="pause")
    return str(context.step(lambda _: time.sleep(0.2) or "done", name="slow"))


def test_replay_time_is_the_time_spent_before_the_first_new_operation(
    aws: AwsAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.deploy("slow", slow_to_replay)
    aws.run_to_end(aws.invoke("slow", {})["DurableExecutionArn"])
    first, resumed = log_lines(capsys, "durable invocation")
    assert first["ReplayTime"] == 0  # nothing to replay
    assert 50 <= resumed["ReplayTime"] < 200 <= resumed["durationMs"] - resumed["ReplayTime"]
