"""The local engine's callback server: the callback HTTP API on 127.0.0.1, served by waitress.

``durable_lambda.callback_http`` decides every answer; this module only
carries requests to it and answers back. waitress reads each request on one
event-loop thread and hands it to a small pool of worker threads only once
it has arrived whole, so clients that are idle, slow or die mid-send hold no
thread, and a body shorter than its Content-Length never reaches the API.
Connections idle for ``idle_timeout`` seconds are closed. Importing this
module imports waitress: the engine imports it when it starts its server.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher

from durable_lambda.callback_http import (
    MAX_BODY_BYTES,
    CallbackReceiver,
    CallbackResponse,
    answer,
    is_callback_path,
    payload_too_large,
    refused_request,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

HOST = "127.0.0.1"
"""Where the server listens: loopback only."""
IDLE_TIMEOUT_SECONDS = 10
"""How long a connection may stay silent before the server closes it."""
WORKER_THREADS = 4
"""Threads that answer whole requests; connections themselves hold none."""
MAX_CONNECTIONS = 1000
"""Connections open at once; more wait in the listen backlog."""
MAX_HEADER_BYTES = 64 * 1024
"""Largest request line and headers the server reads."""
_LISTEN_BACKLOG = 1024
_LOOP_TICK_SECONDS = 1
# Where waitress reports requests waiting for a worker: a burst of callbacks
# queues them by design, so those warnings are not shown unless asked for.
_QUEUE_LOGGER = logging.getLogger(f"{__name__}.queue")
_QUEUE_LOGGER.setLevel(logging.ERROR)


def _status_line(response: CallbackResponse) -> str:
    return f"{response.status.value} {response.status.phrase}"


def _headers(response: CallbackResponse) -> list[tuple[str, str]]:
    return [*response.headers, ("Content-Length", str(len(response.body)))]


def _application(
    receiver: CallbackReceiver, other_routes: WSGIApplication | None
) -> WSGIApplication:
    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if other_routes is not None and not is_callback_path(environ["PATH_INFO"]):
            return other_routes(environ, start_response)
        method = environ["REQUEST_METHOD"]
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        response = answer(receiver, method, environ["REQUEST_URI"], body)
        start_response(_status_line(response), _headers(response))
        return [] if method == "HEAD" else [response.body]

    return application


class _JsonErrorTask(ErrorTask):
    """waitress's own refusals (malformed HTTP, over a limit) in the API's JSON."""

    def execute(self) -> None:
        request = cast("HTTPRequestParser", self.request)
        error = request.error
        assert error is not None  # waitress runs this task only for a request in error
        status = HTTPStatus(error.code)
        if status is HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
            response = payload_too_large(request.content_length or None)
        elif status is HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE:
            message = f"The request line and headers reach the limit of {MAX_HEADER_BYTES} bytes"
            response = refused_request(status, message)
        else:
            response = refused_request(status, error.body)
        self.status = _status_line(response)
        self.response_headers = _headers(response)
        self.set_close_on_finish()
        self.content_length = len(response.body)
        self.write(response.body)


class _Channel(HTTPChannel):
    error_task_class = _JsonErrorTask


class _Server(TcpWSGIServer):
    channel_class = _Channel


def _connection_limit() -> int:
    """MAX_CONNECTIONS, or half the files the process may open if that is fewer."""
    if sys.platform == "win32":
        return MAX_CONNECTIONS
    import resource  # noqa: PLC0415 - not on Windows

    files, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if files == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return min(MAX_CONNECTIONS, files // 2)


class CallbackServer:
    """Serves the callback routes for ``receiver`` until closed.

    ``port`` 0 lets the operating system choose a free port; ``endpoint``
    tells which. A connection silent for ``idle_timeout`` seconds is closed
    (checked every second). ``other_routes``, a WSGI application, answers
    every path outside ``/callbacks`` (the dev server's pages and API), with
    the same limits.
    """

    def __init__(
        self,
        receiver: CallbackReceiver,
        port: int = 0,
        *,
        idle_timeout: int = IDLE_TIMEOUT_SECONDS,
        other_routes: WSGIApplication | None = None,
    ) -> None:
        self._sockets: dict[int, Any] = {}  # waitress's map: file number -> dispatcher
        self._closing = threading.Event()
        self._workers = ThreadedTaskDispatcher()
        self._workers.queue_logger = _QUEUE_LOGGER
        try:
            self._server = self._listen(_application(receiver, other_routes), port, idle_timeout)
        except BaseException:
            wasyncore.close_all(self._sockets)
            raise
        self._workers.set_thread_count(WORKER_THREADS)
        self._thread = threading.Thread(target=self._serve, name="callback-server", daemon=True)
        self._thread.start()

    def _listen(self, application: WSGIApplication, port: int, idle_timeout: int) -> _Server:
        return _Server(
            application,
            map=self._sockets,
            dispatcher=self._workers,
            host=HOST,
            port=port,
            backlog=_LISTEN_BACKLOG,
            connection_limit=_connection_limit(),
            channel_timeout=idle_timeout,
            cleanup_interval=_LOOP_TICK_SECONDS,
            asyncore_use_poll=True,
            max_request_header_size=MAX_HEADER_BYTES,
            max_request_body_size=MAX_BODY_BYTES + 1,
            ident="durable-lambda",
            log_socket_errors=False,
        )

    def _serve(self) -> None:
        while not self._closing.is_set():
            wasyncore.loop(_LOOP_TICK_SECONDS, use_poll=True, map=self._sockets, count=1)

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:<port>``; callback URLs are under it."""
        return f"http://{HOST}:{self._server.getsockname()[1]}"

    def close(self) -> None:
        """Stop serving, close every connection and release the port."""
        self._closing.set()
        self._server.pull_trigger()
        self._thread.join()
        # Only once the loop is gone: closing earlier, in the loop's thread,
        # raced the trigger pulled just above (a write to a closed file).
        wasyncore.close_all(self._sockets)
        self._workers.shutdown()
