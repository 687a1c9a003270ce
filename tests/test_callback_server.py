"""The callback server under load and bad clients, on 127.0.0.1.

Every connection is bounded by a deadline; nothing here waits on a client
that never comes.
"""

from __future__ import annotations

import contextlib
import json
import selectors
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, cast

import pytest

from durable_lambda import DurableContext, durable_execution
from durable_lambda.callback_ids import MAX_CALLBACK_PAYLOAD_BYTES
from durable_lambda.lambda_service import OperationType
from durable_lambda.local import LocalEngine
from durable_lambda.local.callback_server import CallbackServer
from durable_lambda.testing import DurableFunctionTestRunner

MANY = 1000
DEADLINE = 30.0


@durable_execution
def awaits_its_callback(event: Any, context: DurableContext) -> Any:
    return context.create_callback("job").result()


@durable_execution
def awaits_many_callbacks(event: Any, context: DurableContext) -> Any:
    callbacks = [context.create_callback(f"job {i}") for i in range(MANY)]
    return [callback.result() for callback in callbacks]


def port_of(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def callback_ids(engine: LocalEngine, execution_id: str) -> list[str]:
    """The ids of the execution's callbacks, in the order they were created."""
    return [
        operation.callback_details.callback_id or ""
        for operation in engine.get_operations(execution_id)
        if operation.operation_type is OperationType.CALLBACK and operation.callback_details
    ]


def request(method: str, path: str, body: bytes = b"", **headers: str) -> bytes:
    """A raw HTTP/1.1 request that asks the server to close the connection after answering."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    if "Content_Length" not in headers and "Transfer_Encoding" not in headers:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def succeed(callback_id: str, result: str) -> bytes:
    return request("POST", f"/callbacks/{callback_id}/succeed", result.encode())


def exchange(port: int, requests: Sequence[bytes], timeout: float = DEADLINE) -> list[bytes]:
    """Send every request on its own connection, all at once; what each connection answered.

    A connection that was refused or reset, or had not answered within
    ``timeout``, answers what it had received by then (often nothing).
    """
    answers = [b""] * len(requests)
    selector = selectors.DefaultSelector()
    for index, raw in enumerate(requests):
        client = socket.socket()
        client.setblocking(False)
        client.connect_ex(("127.0.0.1", port))
        selector.register(client, selectors.EVENT_WRITE, [index, raw])
    deadline = time.monotonic() + timeout
    try:
        while selector.get_map() and (remaining := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(remaining):
                client, state = key.fileobj, key.data
                assert isinstance(client, socket.socket)
                try:
                    if state[1]:
                        state[1] = state[1][client.send(state[1]) :]
                        if not state[1]:
                            selector.modify(client, selectors.EVENT_READ, state)
                        continue
                    chunk = client.recv(65536)
                    if chunk:
                        answers[state[0]] += chunk
                        continue
                except OSError:
                    pass
                selector.unregister(client)
                client.close()
    finally:
        for key in list(selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        selector.close()
    return answers


def parse(answer: bytes) -> tuple[int, dict[str, str], Any]:
    """Status, headers (lower-case names) and JSON body of a raw HTTP answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, json.loads(body) if body else None


def status_and_body(answer: bytes) -> tuple[int, Any]:
    if not answer:
        return 0, None
    status, _, body = parse(answer)
    return status, body


# region load


def test_a_thousand_callbacks_at_once_to_a_thousand_executions_are_all_applied() -> None:
    with DurableFunctionTestRunner(awaits_its_callback) as runner:
        executions = [runner.run_async() for _ in range(MANY)]
        runner.engine.wait_until_idle()
        ids = [callback_ids(runner.engine, execution)[0] for execution in executions]
        answers = exchange(
            port_of(runner.engine.callback_endpoint),
            [succeed(id_, f"done {i}") for i, id_ in enumerate(ids)],
        )
        results = [runner.wait_for_result(execution) for execution in executions]
    answered = [status_and_body(answer) for answer in answers]
    assert answered.count((200, {})) == MANY, sorted(set(map(str, answered)))
    assert [json.loads(result.result or "") for result in results] == [
        f"done {i}" for i in range(MANY)
    ]


def test_a_thousand_callbacks_at_once_to_one_execution_are_all_applied() -> None:
    with DurableFunctionTestRunner(awaits_many_callbacks) as runner:
        execution = runner.run_async()
        runner.engine.wait_until_idle()
        ids = callback_ids(runner.engine, execution)
        answers = exchange(
            port_of(runner.engine.callback_endpoint),
            [succeed(id_, f"done {i}") for i, id_ in enumerate(ids)],
        )
        result = runner.wait_for_result(execution)
    answered = [status_and_body(answer) for answer in answers]
    assert answered.count((200, {})) == MANY, sorted(set(map(str, answered)))
    assert json.loads(result.result or "") == [f"done {i}" for i in range(MANY)]


# endregion
# region bad clients


@pytest.fixture
def runner() -> Iterator[DurableFunctionTestRunner]:
    with DurableFunctionTestRunner(awaits_its_callback) as runner:
        yield runner


def start(runner: DurableFunctionTestRunner) -> tuple[str, str]:
    execution = runner.run_async()
    return execution, runner.wait_for_callback(execution, "job")


def test_a_body_shorter_than_its_content_length_changes_nothing(
    runner: DurableFunctionTestRunner,
) -> None:
    execution, callback_id = start(runner)
    before = runner.get_execution_history(execution)
    path = f"/callbacks/{callback_id}/succeed"
    with socket.create_connection(
        ("127.0.0.1", port_of(runner.engine.callback_endpoint)), timeout=DEADLINE
    ) as dying:
        dying.sendall(request("POST", path, b'"appro', Content_Length="10"))
        dying.shutdown(socket.SHUT_WR)
        answer = dying.recv(65536)

    assert answer == b""
    assert runner.get_execution_history(execution) == before
    assert runner.wait_for_callback(execution, "job") == callback_id
    [completed] = exchange(
        port_of(runner.engine.callback_endpoint), [succeed(callback_id, "approved")]
    )
    assert status_and_body(completed) == (200, {})
    assert json.loads(runner.wait_for_result(execution).result or "") == "approved"


@contextlib.contextmanager
def stalled_clients(port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections, all opened at once, that stop sending: before a byte, in the
    request line, or in the body. Yields those that connected within the deadline."""
    stalls = [b"", b"POST /callbacks/", request("POST", "/x", b"ab", Content_Length="5")]
    selector = selectors.DefaultSelector()
    clients = []
    for _ in range(count):
        client = socket.socket()
        client.setblocking(False)
        client.connect_ex(("127.0.0.1", port))
        selector.register(client, selectors.EVENT_WRITE)
        clients.append(client)
    connected = []
    deadline = time.monotonic() + 10
    try:
        while len(connected) < count and (remaining := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(remaining):
                client = cast("socket.socket", key.fileobj)
                selector.unregister(client)
                if client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    client.setblocking(True)
                    client.sendall(stalls[len(connected) % len(stalls)])
                    connected.append(client)
        yield connected
    finally:
        selector.close()
        for client in clients:
            client.close()


def test_idle_and_slow_clients_hold_no_thread_and_keep_no_caller_waiting(
    runner: DurableFunctionTestRunner,
) -> None:
    execution, callback_id = start(runner)
    port = port_of(runner.engine.callback_endpoint)
    threads_before = threading.active_count()
    with stalled_clients(port, 500) as clients:
        time.sleep(0.2)
        threads_while_connected = threading.active_count()
        [answer] = exchange(port, [succeed(callback_id, "served")], timeout=10)
    assert len(clients) == 500
    assert threads_while_connected <= threads_before
    assert status_and_body(answer) == (200, {})
    assert json.loads(runner.wait_for_result(execution).result or "") == "served"


def test_silent_connections_are_closed_after_the_idle_timeout(
    runner: DurableFunctionTestRunner,
) -> None:
    server = CallbackServer(runner.engine, idle_timeout=1)
    try:
        with stalled_clients(port_of(server.endpoint), 60) as clients:
            opened = time.monotonic()
            closed_after = []
            for client in clients:
                client.settimeout(max(opened + 5 - time.monotonic(), 0.01))
                with contextlib.suppress(OSError):
                    if client.recv(1) == b"":
                        closed_after.append(time.monotonic() - opened)
    finally:
        server.close()
    assert len(closed_after) == len(clients) == 60
    assert min(closed_after) >= 0.9


def test_closing_succeeds_when_the_loop_ends_before_it_is_woken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The serving loop may see that it is closing and end between ``close`` asking it
    to and waking it up: closing still succeeds, and the port is released."""
    server = CallbackServer(FailingReceiver())
    port = port_of(server.endpoint)
    serving = server._thread
    wake_up = server._server.pull_trigger

    def after_the_loop_had_its_chance() -> None:
        # The loop looks at its closing flag at least once a second: here it ends,
        # unless closing holds it back until the wake-up.
        serving.join(timeout=1.5)
        wake_up()

    monkeypatch.setattr(server._server, "pull_trigger", after_the_loop_had_its_chance)
    server.close()
    assert not serving.is_alive()
    with socket.create_server(("127.0.0.1", port)):
        pass


# endregion
# region answers


def test_every_method_but_post_is_refused_with_the_documented_json(
    runner: DurableFunctionTestRunner,
) -> None:
    execution, callback_id = start(runner)
    before = runner.get_execution_history(execution)
    methods = ["PATCH", "HEAD", "OPTIONS", "GET", "PUT", "DELETE"]
    path = f"/callbacks/{callback_id}/succeed"
    answers = exchange(
        port_of(runner.engine.callback_endpoint),
        [request(method, path, b"x") for method in methods],
    )
    for method, answer in zip(methods, answers, strict=True):
        status, headers, body = parse(answer)
        assert (status, headers["allow"], headers["content-type"]) == (
            405,
            "POST",
            "application/json",
        ), method
        message = f"{method} is not supported: callbacks take POST"
        expected = None if method == "HEAD" else {"Error": "MethodNotAllowed", "Message": message}
        assert body == expected
    assert runner.get_execution_history(execution) == before


def test_requests_refused_before_a_route_answer_the_same_json(
    runner: DurableFunctionTestRunner,
) -> None:
    execution, callback_id = start(runner)
    before = runner.get_execution_history(execution)
    path = f"/callbacks/{callback_id}/succeed"
    answers = exchange(
        port_of(runner.engine.callback_endpoint),
        [
            request("POST", path, Content_Length="ten"),
            request("POST", path, Content_Length=str(MAX_CALLBACK_PAYLOAD_BYTES + 1)),
            request("POST", path, X_Padding="x" * 70_000),
        ],
    )
    [bad_length, too_large, huge_headers] = [parse(answer) for answer in answers]
    assert runner.get_execution_history(execution) == before
    assert bad_length[:3:2] == (
        400,
        {"Error": "InvalidRequest", "Message": "Content-Length is invalid"},
    )
    assert too_large[:3:2] == (
        413,
        {
            "Error": "PayloadTooLarge",
            "Message": "The body is 262145 bytes; the limit is 262144 bytes (256 KiB)",
        },
    )
    assert huge_headers[:3:2] == (
        431,
        {
            "Error": "HeadersTooLarge",
            "Message": "The request line and headers reach the limit of 65536 bytes",
        },
    )
    for status, headers, _ in (bad_length, too_large, huge_headers):
        assert headers["content-type"] == "application/json", status


def test_a_chunked_body_is_read_whole_and_applied(runner: DurableFunctionTestRunner) -> None:
    execution, callback_id = start(runner)
    chunked = b"3\r\nhal\r\n4\r\nf-wa\r\n2\r\ny!\r\n0\r\n\r\n"
    path = f"/callbacks/{callback_id}/succeed"
    [answer] = exchange(
        port_of(runner.engine.callback_endpoint),
        [request("POST", path, chunked, Transfer_Encoding="chunked")],
    )
    assert status_and_body(answer) == (200, {})
    assert json.loads(runner.wait_for_result(execution).result or "") == "half-way!"


class FailingReceiver:
    """A receiver whose store is broken, with a secret in its error."""

    def send_callback_success(self, callback_id: str, result: bytes | None = None) -> None:
        raise RuntimeError("database /home/secret/engine.sqlite3 is locked")

    send_callback_failure = send_callback_success  # type: ignore[assignment]
    send_callback_heartbeat = send_callback_success  # type: ignore[assignment]


def test_an_engine_failure_answers_500_without_its_internals(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = CallbackServer(FailingReceiver())
    try:
        [answer] = exchange(port_of(server.endpoint), [succeed("A" * 43, "approved")])
    finally:
        server.close()
    assert status_and_body(answer) == (
        500,
        {
            "Error": "InternalError",
            "Message": "The engine failed to process the callback; its log has the details",
        },
    )
    assert b"secret" not in answer
    assert "/home/secret/engine.sqlite3 is locked" in caplog.text


# endregion
