"""The local engine's callback HTTP API, served on 127.0.0.1.

    POST /callbacks/{callbackId}/succeed     body: the result (UTF-8 text, may be empty)
    POST /callbacks/{callbackId}/fail        body: JSON {"ErrorType", "ErrorMessage",
                                              "ErrorData", "StackTrace"}, each optional
    POST /callbacks/{callbackId}/heartbeat   no body

A success answers 200 ``{}``. Errors answer a JSON body ``{"Error": code,
"Message": text}``: 400 ``InvalidRequest`` (malformed id or body), 404
``CallbackNotFound`` (no callback has the id) or ``NotFound`` (no such
route), 405 ``MethodNotAllowed``, 409 ``CallbackClosed`` (completed, timed
out, or its execution ended), 411 ``LengthRequired`` (chunked bodies), 413
``PayloadTooLarge`` (over 256 KiB). A refused request changes nothing.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from durable_lambda.callback_ids import MAX_CALLBACK_PAYLOAD_BYTES, PayloadTooLargeError
from durable_lambda.exceptions import ValidationError
from durable_lambda.lambda_service import ErrorObject
from durable_lambda.store.contract import CallbackClosedError, CallbackNotFoundError

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
"""Where the server listens: loopback only."""


class CallbackReceiver(Protocol):
    """What completes callbacks: the local engine."""

    def send_callback_success(self, callback_id: str, result: bytes | None = None) -> None: ...

    def send_callback_failure(
        self, callback_id: str, error: ErrorObject | Mapping[str, Any] | None = None
    ) -> None: ...

    def send_callback_heartbeat(self, callback_id: str) -> None: ...


class _HttpError(Exception):
    def __init__(self, status: HTTPStatus, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, receiver: CallbackReceiver) -> None:
        super().__init__((HOST, port), _Handler)
        self.receiver = receiver


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "durable-lambda"

    def do_POST(self) -> None:
        try:
            callback_id, action = self._route()
            body = self._read_body()
            self._dispatch(callback_id, action, body)
        except _HttpError as e:
            self._reply(e.status, {"Error": e.code, "Message": e.message})
            return
        self._reply(HTTPStatus.OK, {})

    def do_GET(self) -> None:
        self._method_not_allowed()

    def do_PUT(self) -> None:
        self._method_not_allowed()

    def do_DELETE(self) -> None:
        self._method_not_allowed()

    def _method_not_allowed(self) -> None:
        message = f"{self.command} is not supported: callbacks take POST"
        self._reply(
            HTTPStatus.METHOD_NOT_ALLOWED,
            {"Error": "MethodNotAllowed", "Message": message},
            allow="POST",
        )

    def _route(self) -> tuple[str, str]:
        path = urlsplit(self.path).path
        match path.split("/"):
            case ["", "callbacks", callback_id, action] if action in _ACTIONS:
                return unquote(callback_id), action
        message = (
            f"No route for POST {path}: use /callbacks/{{callbackId}}/succeed, /fail or /heartbeat"
        )
        raise _HttpError(HTTPStatus.NOT_FOUND, "NotFound", message)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise _HttpError(
                HTTPStatus.LENGTH_REQUIRED,
                "LengthRequired",
                "Send the body with a Content-Length header, not chunked",
            )
        raw_length = self.headers.get("Content-Length", "0")
        try:
            length = int(raw_length)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            message = f"Invalid Content-Length {raw_length!r}"
            raise _HttpError(HTTPStatus.BAD_REQUEST, "InvalidRequest", message)
        if length > MAX_CALLBACK_PAYLOAD_BYTES:
            self.close_connection = True
            message = (
                f"The body is {length} bytes; the limit is {MAX_CALLBACK_PAYLOAD_BYTES} "
                "bytes (256 KiB)"
            )
            raise _HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "PayloadTooLarge", message)
        return self.rfile.read(length) if length else b""

    def _dispatch(self, callback_id: str, action: str, body: bytes) -> None:
        receiver = self.server.receiver
        try:
            if action == "succeed":
                receiver.send_callback_success(callback_id, body or None)
            elif action == "fail":
                receiver.send_callback_failure(callback_id, _error_body(body))
            else:
                if body:
                    msg = "A heartbeat takes no body"
                    raise ValidationError(msg)
                receiver.send_callback_heartbeat(callback_id)
        except PayloadTooLargeError as e:
            raise _HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "PayloadTooLarge", str(e)) from e
        except ValidationError as e:
            raise _HttpError(HTTPStatus.BAD_REQUEST, "InvalidRequest", str(e)) from e
        except CallbackNotFoundError as e:
            raise _HttpError(HTTPStatus.NOT_FOUND, "CallbackNotFound", str(e)) from e
        except CallbackClosedError as e:
            raise _HttpError(HTTPStatus.CONFLICT, "CallbackClosed", str(e)) from e
        except Exception as e:
            logger.exception("The callback server failed to %s a callback", action)
            message = f"The engine failed to {action} the callback: {e}"
            raise _HttpError(HTTPStatus.INTERNAL_SERVER_ERROR, "InternalError", message) from e

    def _reply(self, status: HTTPStatus, body: dict[str, Any], allow: str | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if allow is not None:
            self.send_header("Allow", allow)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        logger.debug("callback server: " + format, *args)


def _error_body(body: bytes) -> Mapping[str, Any] | None:
    if not body:
        return None
    try:
        error = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        msg = f"The failure body must be a JSON object with ErrorType/ErrorMessage/ErrorData: {e}"
        raise ValidationError(msg) from e
    if not isinstance(error, dict):
        msg = (
            "The failure body must be a JSON object with ErrorType/ErrorMessage/ErrorData, "
            f"got {type(error).__name__}"
        )
        raise ValidationError(msg)
    return error


_ACTIONS = frozenset({"succeed", "fail", "heartbeat"})


class CallbackServer:
    """Serves the callback routes for ``receiver`` until closed.

    ``port`` 0 lets the operating system choose a free port; ``endpoint``
    tells which.
    """

    def __init__(self, receiver: CallbackReceiver, port: int = 0) -> None:
        self._server = _Server(port, receiver)
        self._thread = threading.Thread(target=self._serve, name="callback-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.05)

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:<port>``; callback URLs are under it."""
        return f"http://{HOST}:{self._server.server_address[1]}"

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
