"""Callbacks end to end: approvals, heartbeats, bad and late callers, HTTP on loopback.

Time skips on the engine's clock (``advance_time``, ``wait_for_callback``,
``wait_for_result``); no test sleeps through a timeout.
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import stat
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from durable_lambda import (
    CallbackExternalError,
    CallbackSubmitterError,
    CallbackTimeoutError,
    DurableContext,
    DurableExecutionsError,
    ValidationError,
    durable_execution,
    durable_wait_for_callback,
)
from durable_lambda.backend import Backend
from durable_lambda.callback_ids import MAX_CALLBACK_PAYLOAD_BYTES, PayloadTooLargeError
from durable_lambda.clock import SystemClock
from durable_lambda.config import CallbackConfig, Duration, WaitForCallbackConfig
from durable_lambda.lambda_service import InvocationStatus, OperationStatus
from durable_lambda.local import LocalEngine
from durable_lambda.local.callback_key import KEY_FILE_SUFFIX
from durable_lambda.retries import RetryPresets
from durable_lambda.serdes import ExtendedTypeSerDes
from durable_lambda.store import CallbackClosedError, CallbackNotFoundError, SqliteStore
from durable_lambda.store.contract import ExecutionStatus
from durable_lambda.testing import DurableFunctionsTestError, DurableFunctionTestRunner
from durable_lambda.testing.runner import waiting_callback_id
from durable_lambda.types import WaitForCallbackContext
from examples import approval

APPROVAL_CALLBACK = "wait-for-approval create callback id"
FORGED_ID = "A" * 43


def history(runner: DurableFunctionTestRunner, execution_id: str) -> list[dict[str, Any]]:
    return runner.engine.get_history(execution_id)


def event_types(runner: DurableFunctionTestRunner, execution_id: str) -> list[str]:
    return [event["EventType"] for event in history(runner, execution_id)]


def post(url: str, body: bytes = b"") -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# region the seed's approval


@pytest.fixture
def approval_runner() -> Iterator[DurableFunctionTestRunner]:
    with DurableFunctionTestRunner(approval.handler) as runner:
        yield runner


def start_approval(runner: DurableFunctionTestRunner) -> tuple[str, str]:
    execution_id = runner.run_async(json.dumps({"approver_email": "ann@example.com"}))
    return execution_id, runner.wait_for_callback(execution_id, APPROVAL_CALLBACK)


def test_an_approval_returns_what_the_approver_sent(
    approval_runner: DurableFunctionTestRunner,
) -> None:
    execution_id, callback_id = start_approval(approval_runner)
    assert approval.OUTBOX[-1] == {"to": "ann@example.com", "callback_id": callback_id}
    approval_runner.send_callback_success(callback_id, b'{"approved": true}')
    result = approval_runner.wait_for_result(execution_id)
    assert result.status is InvocationStatus.SUCCEEDED
    assert json.loads(result.result or "") == {
        "status": "approved",
        "approval": '{"approved": true}',
    }


def test_a_rejection_fails_the_execution_with_the_approvers_error(
    approval_runner: DurableFunctionTestRunner,
) -> None:
    execution_id, callback_id = start_approval(approval_runner)
    approval_runner.send_callback_failure(
        callback_id, {"ErrorType": "Rejected", "ErrorMessage": "budget exceeded"}
    )
    result = approval_runner.wait_for_result(execution_id)
    assert result.execution_status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.type == "durable_lambda.exceptions.CallbackExternalError"
    assert result.error.message == "budget exceeded"
    assert "handle-timeout" not in {e.get("Name") for e in history(approval_runner, execution_id)}


def test_an_unanswered_approval_times_out_after_24_hours_and_escalates(
    approval_runner: DurableFunctionTestRunner,
) -> None:
    # Default arguments: the 24 hours skip, and skipped time does not count
    # toward the runner's 300-second execution timeout.
    execution_id = approval_runner.run_async(json.dumps({"approver_email": "ann@example.com"}))
    result = approval_runner.wait_for_result(execution_id)
    assert json.loads(result.result or "") == {"status": "timeout", "escalated": True}
    events = history(approval_runner, execution_id)
    started = next(e for e in events if e["EventType"] == "CallbackStarted")
    timed_out = next(e for e in events if e["EventType"] == "CallbackTimedOut")
    assert started["CallbackStartedDetails"]["Timeout"] == 86400
    waited = timed_out["EventTimestamp"] - started["EventTimestamp"]
    assert datetime.timedelta(hours=24) <= waited < datetime.timedelta(hours=24, seconds=5)
    assert timed_out["CallbackTimedOutDetails"]["Error"]["Payload"]["ErrorType"] == (
        "Callback.Timeout"
    )
    escalation = result.get_step("handle-timeout")
    assert escalation.status is OperationStatus.SUCCEEDED
    assert ExtendedTypeSerDes().deserialize(escalation.result or "") == {
        "escalated_to": "manager@example.com"
    }


# endregion
# region heartbeats


@durable_execution
def heartbeat_handler(event: Any, context: DurableContext) -> Any:
    config = CallbackConfig(heartbeat_timeout=Duration.from_seconds(10))
    return context.create_callback("job", config).result()


def test_heartbeats_keep_a_callback_alive_past_its_heartbeat_timeout() -> None:
    with DurableFunctionTestRunner(heartbeat_handler) as runner:
        execution_id = runner.run_async()
        callback_id = runner.wait_for_callback(execution_id, "job")
        for _ in range(3):
            runner.engine.advance_time(8)
            runner.send_callback_heartbeat(callback_id)
        runner.engine.advance_time(8)  # 32 s after the start, 8 s after the last heartbeat
        assert "CallbackTimedOut" not in event_types(runner, execution_id)
        runner.send_callback_success(callback_id, b"done")
        result = runner.wait_for_result(execution_id)
    assert json.loads(result.result or "") == "done"


def test_without_heartbeats_a_callback_times_out_after_its_heartbeat_timeout() -> None:
    with DurableFunctionTestRunner(heartbeat_handler) as runner:
        execution_id = runner.run_async()
        callback_id = runner.wait_for_callback(execution_id, "job")
        runner.engine.advance_time(9)
        assert "CallbackTimedOut" not in event_types(runner, execution_id)
        runner.send_callback_heartbeat(callback_id)
        runner.engine.advance_time(11)
        events = history(runner, execution_id)
        result = runner.wait_for_result(execution_id)
    started = next(e for e in events if e["EventType"] == "CallbackStarted")
    timed_out = next(e for e in events if e["EventType"] == "CallbackTimedOut")
    waited = timed_out["EventTimestamp"] - started["EventTimestamp"]
    assert datetime.timedelta(seconds=19) <= waited < datetime.timedelta(seconds=20)
    assert timed_out["CallbackTimedOutDetails"]["Error"]["Payload"] == {
        "ErrorType": "Callback.Heartbeat",
        "ErrorMessage": "Callback heartbeat timeout: no heartbeat within 10 seconds",
    }
    assert result.execution_status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.type == "durable_lambda.exceptions.CallbackTimeoutError"


# endregion
# region bad, duplicate and late callers


@durable_execution
def two_callbacks_handler(event: Any, context: DurableContext) -> Any:
    first = context.create_callback("first", CallbackConfig(timeout=Duration.from_seconds(5)))
    try:
        outcome = first.result()
    except CallbackTimeoutError as error:
        outcome = f"first: {error.error_type}"
    return [outcome, context.create_callback("second").result()]


def callback_ids(runner: DurableFunctionTestRunner, execution_id: str) -> dict[str, str]:
    return {
        e["Name"]: e["CallbackStartedDetails"]["CallbackId"]
        for e in history(runner, execution_id)
        if e["EventType"] == "CallbackStarted"
    }


def test_a_duplicate_completion_is_refused_and_changes_nothing() -> None:
    with DurableFunctionTestRunner(two_callbacks_handler) as runner:
        execution_id = runner.run_async()
        first = runner.wait_for_callback(execution_id, "first")
        runner.send_callback_success(first, b"1")
        runner.wait_for_callback(execution_id, "second")
        before = history(runner, execution_id)
        with pytest.raises(CallbackClosedError, match="no longer waits: it is SUCCEEDED"):
            runner.send_callback_success(first, b"again")
        with pytest.raises(CallbackClosedError, match="SUCCEEDED"):
            runner.send_callback_failure(first, {"ErrorMessage": "too late"})
        with pytest.raises(CallbackClosedError, match="SUCCEEDED"):
            runner.send_callback_heartbeat(first)
        assert history(runner, execution_id) == before
        with pytest.raises(DurableFunctionsTestError, match="already completed"):
            runner.wait_for_callback(execution_id, "first")


def test_a_completion_after_the_timeout_is_refused_and_changes_nothing() -> None:
    with DurableFunctionTestRunner(two_callbacks_handler) as runner:
        execution_id = runner.run_async()
        second = runner.wait_for_callback(execution_id, "second")  # skips past the timeout
        first = callback_ids(runner, execution_id)["first"]
        before = history(runner, execution_id)
        with pytest.raises(CallbackClosedError, match="TIMED_OUT"):
            runner.send_callback_success(first, b"late")
        assert history(runner, execution_id) == before
        runner.send_callback_success(second, b"2")
        result = runner.wait_for_result(execution_id)
    assert json.loads(result.result or "") == ["first: Callback.Timeout", "2"]


def test_a_completion_after_the_execution_ended_is_refused() -> None:
    with DurableFunctionTestRunner(heartbeat_handler) as runner:
        execution_id = runner.run_async()
        callback_id = runner.wait_for_callback(execution_id, "job")
        runner.send_callback_success(callback_id, b"x")
        runner.wait_for_result(execution_id)
        with pytest.raises(CallbackClosedError, match=r"execution of this callback has ended"):
            runner.send_callback_success(callback_id, b"x")


def test_forged_and_malformed_ids_are_refused_and_change_nothing() -> None:
    with DurableFunctionTestRunner(heartbeat_handler) as runner:
        execution_id = runner.run_async()
        real = runner.wait_for_callback(execution_id, "job")
        before = history(runner, execution_id)
        with pytest.raises(CallbackNotFoundError, match="No callback has this id"):
            runner.send_callback_success(FORGED_ID, b"x")
        with pytest.raises(CallbackNotFoundError):
            runner.send_callback_heartbeat(real[:-1] + ("B" if real[-1] != "B" else "C"))
        for malformed in ["", "short", real + "A", real[:-1] + "/", "not base64 at all!" * 3]:
            with pytest.raises(ValidationError, match="Malformed callback id"):
                runner.send_callback_success(malformed, b"x")
        assert history(runner, execution_id) == before


def test_oversized_and_malformed_payloads_are_refused_and_change_nothing() -> None:
    with DurableFunctionTestRunner(heartbeat_handler) as runner:
        execution_id = runner.run_async()
        callback_id = runner.wait_for_callback(execution_id, "job")
        before = history(runner, execution_id)
        with pytest.raises(PayloadTooLargeError, match="262145 bytes; the limit is 262144"):
            runner.send_callback_success(callback_id, b"x" * (MAX_CALLBACK_PAYLOAD_BYTES + 1))
        with pytest.raises(PayloadTooLargeError, match="error"):
            runner.send_callback_failure(
                callback_id, {"ErrorData": "x" * MAX_CALLBACK_PAYLOAD_BYTES}
            )
        with pytest.raises(ValidationError, match="UTF-8"):
            runner.send_callback_success(callback_id, b"\xff\xfe")
        with pytest.raises(ValidationError, match=r"Unknown callback error fields \['Reason'\]"):
            runner.send_callback_failure(callback_id, {"Reason": "no"})
        with pytest.raises(ValidationError, match="ErrorMessage must be a string"):
            runner.send_callback_failure(callback_id, {"ErrorMessage": 42})
        with pytest.raises(ValidationError, match="StackTrace must be a list of strings"):
            runner.send_callback_failure(callback_id, {"StackTrace": "line"})
        assert history(runner, execution_id) == before
        runner.send_callback_success(callback_id, b"x" * MAX_CALLBACK_PAYLOAD_BYTES)
        assert runner.wait_for_result(execution_id).status is InvocationStatus.SUCCEEDED


# endregion
# region errors handlers see


@durable_execution
def caught_failures(event: Any, context: DurableContext) -> Any:
    caught = []
    try:
        context.create_callback("direct").result()
    except CallbackExternalError as error:
        caught.append([type(error).__name__, error.error_type, error.message, error.data])
    try:
        context.wait_for_callback(lambda callback_id, _: None, name="wrapped")
    except CallbackExternalError as error:
        caught.append([type(error).__name__, error.error_type, error.message, error.data])

    def broken_submitter(callback_id: str, submit_context: WaitForCallbackContext) -> None:
        raise ConnectionError("queue unreachable")

    try:
        context.wait_for_callback(
            broken_submitter,
            name="unsent",
            config=WaitForCallbackConfig(retry_strategy=RetryPresets.none()),
        )
    except CallbackSubmitterError as error:
        caught.append([type(error).__name__, error.message])
    return caught


def test_callback_errors_carry_what_the_caller_sent() -> None:
    error = {"ErrorType": "Rejected", "ErrorMessage": "no budget", "ErrorData": '{"limit": 5}'}
    with DurableFunctionTestRunner(caught_failures) as runner:
        execution_id = runner.run_async()
        runner.send_callback_failure(runner.wait_for_callback(execution_id, "direct"), error)
        wrapped = runner.wait_for_callback(execution_id, "wrapped create callback id")
        runner.send_callback_failure(wrapped, error)
        result = runner.wait_for_result(execution_id)
    expected = ["Rejected", "no budget", '{"limit": 5}']
    assert json.loads(result.result or "") == [
        ["CallbackExternalError", *expected],
        ["CallbackExternalError", *expected],
        ["CallbackSubmitterError", "queue unreachable"],
    ]


# endregion
# region ids, URLs and the runner


@durable_execution
def callback_facts(event: Any, context: DurableContext) -> Any:
    callback = context.create_callback("facts")
    return {"id": callback.callback_id, "url": callback.url, "result": callback.result()}


def test_callback_ids_are_stable_across_replays_and_urls_are_under_the_endpoint() -> None:
    with DurableFunctionTestRunner(callback_facts) as runner:
        execution_id = runner.run_async()
        callback_id = runner.wait_for_callback(execution_id)
        runner.send_callback_success(callback_id, b"ok")
        facts = json.loads(runner.wait_for_result(execution_id).result or "")
        other = runner.run_async()
        other_id = runner.wait_for_callback(other)
        endpoint = runner.engine.callback_endpoint
    assert facts == {
        "id": callback_id,
        "url": f"{endpoint}/callbacks/{callback_id}",
        "result": "ok",
    }
    assert endpoint.startswith("http://127.0.0.1:")
    assert len(callback_id) == 43
    assert other_id != callback_id


@durable_execution
def callback_after_an_hour(event: Any, context: DurableContext) -> Any:
    context.wait(Duration.from_hours(1))
    return context.create_callback(
        "late", CallbackConfig(timeout=Duration.from_seconds(60))
    ).result()


def test_wait_for_callback_skips_time_only_until_the_callback_waits() -> None:
    with DurableFunctionTestRunner(callback_after_an_hour) as runner:
        execution_id = runner.run_async()
        callback_id = runner.wait_for_callback(execution_id, "late")
        operations = runner.engine.get_operations(execution_id)
        assert {op.name: op.status for op in operations if op.name} == {
            "late": OperationStatus.STARTED
        }
        runner.send_callback_success(callback_id, b"in time")
        result = runner.wait_for_result(execution_id)
    assert json.loads(result.result or "") == "in time"
    assert result.get_callback("late").callback_id == callback_id


def test_wait_for_callback_reports_an_execution_that_ended_first() -> None:
    @durable_execution
    def no_callback(event: Any, context: DurableContext) -> str:
        context.wait(Duration.from_seconds(5))
        return "done"

    with DurableFunctionTestRunner(no_callback) as runner:
        execution_id = runner.run_async()
        with pytest.raises(DurableFunctionsTestError, match="ended \\(SUCCEEDED\\) before"):
            runner.wait_for_callback(execution_id)


def test_only_a_skipping_clock_can_be_advanced() -> None:
    with LocalEngine() as engine, pytest.raises(ValidationError, match="skip_time=True"):
        engine.advance_time(1)


# endregion
# region completion while the submitter still runs


def complete_from_inside(url: str | None) -> str:
    """POST a success to ``url`` and report what the server answered."""
    assert url is not None
    status, body = post(f"{url}/succeed", b'"from the submitter"')
    return f"{status} {body}"


@durable_execution
def completes_its_own_callback(event: Any, context: DurableContext) -> Any:
    callback = context.create_callback("self-completing")
    answer = context.step(lambda _: complete_from_inside(callback.url), name="submit")
    return {"answer": answer, "result": callback.result()}


@pytest.mark.parametrize("isolation", ["thread", "process"])
def test_a_callback_completed_while_the_submitter_runs_is_not_lost(isolation: Any) -> None:
    with DurableFunctionTestRunner(
        completes_its_own_callback, invocation_isolation=isolation
    ) as runner:
        execution_id = runner.run_async()
        result = runner.wait_for_result(execution_id)
        types = event_types(runner, execution_id)
    assert json.loads(result.result or "") == {
        "answer": "200 {}",
        "result": '"from the submitter"',
    }
    # The completion landed before the submitter's step ended; the invocation
    # that would have suspended reloaded and finished instead.
    assert types.index("CallbackSucceeded") < types.index("StepSucceeded")
    assert types.count("InvocationCompleted") == 1


@durable_wait_for_callback
def submit_by_post(callback_id: str, context: WaitForCallbackContext, endpoint: str) -> None:
    status, body = post(f"{endpoint}/callbacks/{callback_id}/succeed", b'"inline"')
    assert status == 200, body


def test_wait_for_callback_completed_by_its_own_submitter() -> None:
    endpoint: list[str] = []

    @durable_execution
    def handler(event: Any, context: DurableContext) -> Any:
        return context.wait_for_callback(submit_by_post(endpoint[0]), name="inline")

    with DurableFunctionTestRunner(handler) as runner:
        endpoint.append(runner.engine.callback_endpoint)
        result = runner.run()
    assert json.loads(result.result or "") == '"inline"'
    assert result.get_context("inline").status is OperationStatus.SUCCEEDED


# endregion
# region HTTP on loopback


def test_the_http_api_completes_a_callback_and_answers_each_mistake_clearly() -> None:
    with DurableFunctionTestRunner(callback_facts) as runner:
        execution_id = runner.run_async()
        callback_id = runner.wait_for_callback(execution_id)
        url = f"{runner.engine.callback_endpoint}/callbacks/{callback_id}"
        before = history(runner, execution_id)

        assert post(f"{url}/fail", b"not json") == (
            400,
            {
                "Error": "InvalidRequest",
                "Message": "The failure body must be a JSON object with "
                "ErrorType/ErrorMessage/ErrorData: Expecting value: line 1 column 1 (char 0)",
            },
        )
        assert post(f"{url}/fail", b"[1]")[0] == 400
        assert post(f"{url}/fail", b'{"Reason": "x"}')[0] == 400
        assert post(f"{url}/heartbeat", b"unexpected")[1]["Message"] == "A heartbeat takes no body"
        status, body = post(f"{runner.engine.callback_endpoint}/callbacks/{FORGED_ID}/succeed")
        assert (status, body["Error"]) == (404, "CallbackNotFound")
        status, body = post(f"{runner.engine.callback_endpoint}/callbacks/bad-id/succeed")
        assert (status, body["Error"]) == (400, "InvalidRequest")
        assert "Malformed callback id 'bad-id'" in body["Message"]
        status, body = post(f"{url}/approve")
        assert (status, body["Error"]) == (404, "NotFound")
        with pytest.raises(urllib.error.HTTPError) as get:
            urllib.request.urlopen(f"{url}/succeed", timeout=10)
        assert get.value.code == 405
        assert get.value.headers["Allow"] == "POST"
        assert too_large_status(runner.engine.callback_endpoint, f"{url}/succeed") == 413
        assert history(runner, execution_id) == before

        assert post(f"{url}/heartbeat") == (200, {})
        assert post(f"{url}/succeed", b"approved") == (200, {})
        result = runner.wait_for_result(execution_id)
        status, body = post(f"{url}/succeed", b"again")
    assert json.loads(result.result or "")["result"] == "approved"
    assert (status, body["Error"]) == (409, "CallbackClosed")


def test_racing_completions_over_http_complete_the_callback_exactly_once() -> None:
    with DurableFunctionTestRunner(callback_facts) as runner:
        execution_id = runner.run_async()
        callback_id = runner.wait_for_callback(execution_id)
        url = f"{runner.engine.callback_endpoint}/callbacks/{callback_id}/succeed"
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda i: post(url, f'"caller {i}"'.encode()), range(8)))
        result = runner.wait_for_result(execution_id)
        types = event_types(runner, execution_id)
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [409] * 7
    assert types.count("CallbackSucceeded") == 1
    winner = next(i for i, (status, _) in enumerate(answers) if status == 200)
    assert json.loads(result.result or "")["result"] == f'"caller {winner}"'


def too_large_status(endpoint: str, url: str) -> int:
    """Announce a body over the limit without sending it: the server must refuse unread."""
    port = int(endpoint.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("POST", url.removeprefix(endpoint))
        connection.putheader("Content-Length", str(MAX_CALLBACK_PAYLOAD_BYTES + 1))
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_failure_sent_over_http_fails_the_callback_with_its_fields() -> None:
    with DurableFunctionTestRunner(caught_failures) as runner:
        execution_id = runner.run_async()
        endpoint = runner.engine.callback_endpoint
        error = {"ErrorType": "Rejected", "ErrorMessage": "no budget", "ErrorData": '{"limit": 5}'}
        body = json.dumps(error).encode()
        direct = runner.wait_for_callback(execution_id, "direct")
        assert post(f"{endpoint}/callbacks/{direct}/fail", body) == (200, {})
        wrapped = runner.wait_for_callback(execution_id, "wrapped create callback id")
        assert post(f"{endpoint}/callbacks/{wrapped}/fail", body) == (200, {})
        result = runner.wait_for_result(execution_id)
    assert json.loads(result.result or "")[0] == [
        "CallbackExternalError",
        "Rejected",
        "no budget",
        '{"limit": 5}',
    ]


# endregion
# region the key


@durable_execution
def returns_its_callback(event: Any, context: DurableContext) -> Any:
    callback = context.create_callback("restart")
    return {"id": callback.callback_id, "result": callback.result()}


def test_other_routes_are_served_beside_the_callback_routes_on_one_port() -> None:
    seen: list[str] = []

    def routes(engine: LocalEngine) -> Any:
        def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            seen.append(environ["PATH_INFO"])
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [engine.callback_endpoint.encode()]

        return application

    with LocalEngine(http_routes=routes) as engine:
        engine.register_durable_function("approve", approval.handler)
        execution_id = engine.start_execution("approve", json.dumps({"approver_email": "a@b"}))
        with urllib.request.urlopen(f"{engine.callback_endpoint}/pages/1", timeout=10) as page:
            assert page.read().decode() == engine.callback_endpoint
        assert post(f"{engine.callback_endpoint}/callbacks/{FORGED_ID}/succeed")[0] == 404
        assert post(f"{engine.callback_endpoint}/callbacks")[1]["Error"] == "NotFound"
        deadline = time.monotonic() + 10
        while (callback_id := waiting_callback_id(engine.get_history(execution_id))) is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        url = f"{engine.callback_endpoint}/callbacks/{callback_id}"
        assert post(f"{url}/succeed", b"1") == (200, {})
        assert engine.wait_for_completion(execution_id, 10).status is ExecutionStatus.SUCCEEDED
    assert seen == ["/pages/1"]


def test_a_restarted_engine_on_the_same_file_derives_the_same_ids(tmp_path: Path) -> None:
    database = str(tmp_path / "engine.sqlite3")
    with LocalEngine(SqliteStore(database), skip_time=True) as first:
        first.register_durable_function("fn", returns_its_callback)
        execution_id = first.start_execution("fn", "{}")
        first.wait_until_idle()
        (callback,) = [op for op in first.get_operations(execution_id) if op.callback_details]
        assert callback.callback_details is not None
        callback_id = callback.callback_details.callback_id
    key_file = Path(database + KEY_FILE_SUFFIX)
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert callback_id is not None
    assert callback_id.encode() not in Path(database).read_bytes()

    with LocalEngine(SqliteStore(database), skip_time=True) as second:
        second.register_durable_function("fn", returns_its_callback)
        second.send_callback_success(callback_id, b"after the restart")
        record = second.wait_for_completion(execution_id, timeout=30)
    assert json.loads(record.result or "") == {"id": callback_id, "result": "after the restart"}


def test_a_malformed_key_file_is_refused(tmp_path: Path) -> None:
    database = str(tmp_path / "engine.sqlite3")
    Path(database + KEY_FILE_SUFFIX).write_text("not a key")
    with pytest.raises(ValidationError, match=r"callback key file .* is malformed"):
        LocalEngine(SqliteStore(database))


# endregion


def test_a_backend_without_a_key_cannot_create_callbacks() -> None:
    store = SqliteStore()
    try:
        with pytest.raises(DurableExecutionsError, match="no callback key"):
            Backend(store, SystemClock()).require_callback_key()
    finally:
        store.close()
