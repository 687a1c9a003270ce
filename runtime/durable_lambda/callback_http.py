"""The callback HTTP API: routes, bodies, status codes and error codes, without a server.

    POST /callbacks/{callbackId}/succeed     body: the result (UTF-8 text, may be empty)
    POST /callbacks/{callbackId}/fail        body: JSON {"ErrorType", "ErrorMessage",
                                              "ErrorData", "StackTrace"}, each optional
    POST /callbacks/{callbackId}/heartbeat   no body

``answer`` turns one whole request into a response; a transport (the local
engine's server, a Lambda handler behind API Gateway) reads the request and
writes the response. A success answers 200 ``{}``. Errors answer a JSON body
``{"Error": code, "Message": text}``: 400 ``InvalidRequest`` (malformed id,
body or request), 404 ``CallbackNotFound`` (no callback has the id) or
``NotFound`` (no such route), 405 ``MethodNotAllowed`` (with ``Allow:
POST``), 409 ``CallbackClosed`` (completed, timed out, or its execution
ended), 413 ``PayloadTooLarge`` (a body over 256 KiB), 431 ``HeadersTooLarge``,
500 ``InternalError``, 501 ``NotImplemented`` (a transfer encoding other than
chunked). A refused request changes nothing, and no answer
carries a stack trace or the text of an error the caller did not cause.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from durable_lambda.callback_ids import MAX_CALLBACK_PAYLOAD_BYTES, PayloadTooLargeError
from durable_lambda.exceptions import ValidationError
from durable_lambda.lambda_service import ErrorObject
from durable_lambda.store.contract import CallbackClosedError, CallbackNotFoundError

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = MAX_CALLBACK_PAYLOAD_BYTES
"""Largest request body the API reads: 256 KiB."""

_ACTIONS = frozenset({"succeed", "fail", "heartbeat"})
_INTERNAL_ERROR_MESSAGE = "The engine failed to process the callback; its log has the details"
_REFUSAL_CODES = {
    HTTPStatus.BAD_REQUEST: "InvalidRequest",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "PayloadTooLarge",
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE: "HeadersTooLarge",
    HTTPStatus.NOT_IMPLEMENTED: "NotImplemented",
}


class CallbackReceiver(Protocol):
    """What completes callbacks: the local engine."""

    def send_callback_success(self, callback_id: str, result: bytes | None = None) -> None: ...

    def send_callback_failure(
        self, callback_id: str, error: ErrorObject | Mapping[str, Any] | None = None
    ) -> None: ...

    def send_callback_heartbeat(self, callback_id: str) -> None: ...


@dataclass(frozen=True)
class CallbackResponse:
    """An answer of the API: status, headers (Content-Type, and Allow on 405) and JSON body."""

    status: HTTPStatus
    headers: tuple[tuple[str, str], ...]
    body: bytes


def answer(receiver: CallbackReceiver, method: str, path: str, body: bytes) -> CallbackResponse:
    """The response to ``method path`` with the whole ``body``; ``path`` as sent (quoted)."""
    if method != "POST":
        return error_response(
            HTTPStatus.METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            f"{method} is not supported: callbacks take POST",
        )
    route = _route(urlsplit(path).path)
    if route is None:
        message = (
            f"No route for POST {urlsplit(path).path}: use /callbacks/{{callbackId}}/succeed, "
            "/fail or /heartbeat"
        )
        return error_response(HTTPStatus.NOT_FOUND, "NotFound", message)
    if len(body) > MAX_BODY_BYTES:
        return payload_too_large(len(body))
    callback_id, action = route
    try:
        _dispatch(receiver, callback_id, action, body)
    except PayloadTooLargeError as e:
        return error_response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "PayloadTooLarge", str(e))
    except ValidationError as e:
        return error_response(HTTPStatus.BAD_REQUEST, "InvalidRequest", str(e))
    except CallbackNotFoundError as e:
        return error_response(HTTPStatus.NOT_FOUND, "CallbackNotFound", str(e))
    except CallbackClosedError as e:
        return error_response(HTTPStatus.CONFLICT, "CallbackClosed", str(e))
    except Exception:
        logger.exception("The callback API failed to %s a callback", action)
        return internal_error()
    return _json(HTTPStatus.OK, {})


def is_callback_path(path: str) -> bool:
    """Whether ``path`` is one this API answers (its routes, and NotFound under ``/callbacks``)."""
    return path == "/callbacks" or path.startswith("/callbacks/")


def error_response(status: HTTPStatus, code: str, message: str) -> CallbackResponse:
    """An error answer: ``{"Error": code, "Message": message}``."""
    return _json(status, {"Error": code, "Message": message})


def payload_too_large(length: int | None) -> CallbackResponse:
    """413 for a body of ``length`` bytes (None: not known, as for a chunked body)."""
    limit = f"the limit is {MAX_BODY_BYTES} bytes (256 KiB)"
    message = (
        f"The body is over {limit}" if length is None else f"The body is {length} bytes; {limit}"
    )
    return error_response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "PayloadTooLarge", message)


def refused_request(status: HTTPStatus, message: str) -> CallbackResponse:
    """A request a transport refused before routing it: malformed HTTP (400), a body
    or headers over the limits (413, 431), a transfer encoding it cannot read (501).
    Any other status answers 500 without ``message``."""
    code = _REFUSAL_CODES.get(status)
    if code is None:
        return internal_error()
    return error_response(status, code, message)


def internal_error() -> CallbackResponse:
    """500, saying only that the engine failed: the details go to the log."""
    return error_response(
        HTTPStatus.INTERNAL_SERVER_ERROR, "InternalError", _INTERNAL_ERROR_MESSAGE
    )


def _json(status: HTTPStatus, body: Mapping[str, str]) -> CallbackResponse:
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    if status is HTTPStatus.METHOD_NOT_ALLOWED:
        headers += (("Allow", "POST"),)
    return CallbackResponse(status, headers, json.dumps(body).encode())


def _route(path: str) -> tuple[str, str] | None:
    match path.split("/"):
        case ["", "callbacks", callback_id, action] if action in _ACTIONS:
            return unquote(callback_id), action
    return None


def _dispatch(receiver: CallbackReceiver, callback_id: str, action: str, body: bytes) -> None:
    if action == "succeed":
        receiver.send_callback_success(callback_id, body or None)
    elif action == "fail":
        receiver.send_callback_failure(callback_id, _error_body(body))
    else:
        if body:
            msg = "A heartbeat takes no body"
            raise ValidationError(msg)
        receiver.send_callback_heartbeat(callback_id)


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
