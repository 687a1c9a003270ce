"""The engine's callback API on Lambda, behind API Gateway (HTTP API, payload format 2.0).

The same routes, bodies, status codes and error codes as the local engine's
server (``durable_lambda.callback_http`` answers both); a completed callback
wakes its execution. Environment: ``DURABLE_LAMBDA_TABLE`` and
``DURABLE_LAMBDA_PAYLOAD_BUCKET`` (no callback key: callbacks are found by the
hash of their id).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping
from typing import Any

from durable_lambda import callback_requests
from durable_lambda.aws.engine import EngineRuntime
from durable_lambda.callback_http import answer
from durable_lambda.lambda_service import ErrorObject


class _Receiver:
    """Applies callback requests to the table and wakes what they complete."""

    def __init__(self, runtime: EngineRuntime) -> None:
        self._runtime = runtime

    def send_callback_success(self, callback_id: str, result: bytes | None = None) -> None:
        self._apply(callback_requests.success(callback_id, result))

    def send_callback_failure(
        self, callback_id: str, error: ErrorObject | Mapping[str, Any] | None = None
    ) -> None:
        self._apply(callback_requests.failure(callback_id, error))

    def send_callback_heartbeat(self, callback_id: str) -> None:
        self._apply(callback_requests.heartbeat(callback_id))

    def _apply(self, request: callback_requests.CallbackRequest) -> None:
        self._runtime.change_callback(request)


@functools.cache
def _runtime() -> EngineRuntime:
    return EngineRuntime.from_environment()


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Answer one HTTP request of the callback API."""
    method = event.get("requestContext", {}).get("http", {}).get("method", "")
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    response = answer(_Receiver(_runtime()), method, event.get("rawPath", "/"), body)
    return {
        "statusCode": response.status.value,
        "headers": dict(response.headers),
        "body": response.body.decode(),
    }
