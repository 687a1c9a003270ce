"""The dev server's routes beside the callback API, as one WSGI application.

    GET  /                             executions, filtered by ?function= and ?status=
    GET  /execution?id=ARN             one execution: timeline, input, result, error
    POST /execution/callback           the form that completes a waiting callback
    POST /functions/{name}/executions  start an execution; body: the input JSON;
                                       ?name= names it (idempotently)

Pages are rendered on the server by Jinja2 with autoescaping: inputs,
results, errors and names are user data. The form goes through
``durable_lambda.callback_http.answer``, the same function the callback
routes run, so it refuses what they refuse, with the same messages.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape

from durable_lambda.callback_http import CallbackResponse, answer, error_response
from durable_lambda.callback_ids import callback_url
from durable_lambda.cli.formats import duration_text, payload_text, time_text
from durable_lambda.cli.timeline import timeline_of
from durable_lambda.cli.web.bars import axis_ticks, timeline_rows
from durable_lambda.exceptions import ValidationError
from durable_lambda.local import LocalEngine
from durable_lambda.store.contract import (
    DEFAULT_PAGE_SIZE,
    ExecutionNotFoundError,
    ExecutionStatus,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

Answer = tuple[HTTPStatus, list[tuple[str, str]], bytes]
"""Status, headers and body."""

REFRESH_SECONDS = 1
"""How often the page of a running execution reloads itself (not while a callback waits)."""

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_TEMPLATES.filters["duration"] = duration_text
_TEMPLATES.filters["time"] = time_text
_TEMPLATES.filters["payload"] = payload_text
_TEMPLATES.globals["execution_url"] = lambda execution_id: (
    "/execution?" + urlencode({"id": execution_id})
)


class DevApplication:
    """The routes of ``dev`` for ``engine``, whose durable functions are ``functions``.

    ``on_start`` hears of every execution started here.
    """

    def __init__(
        self,
        engine: LocalEngine,
        functions: Sequence[str],
        on_start: Callable[[str], None],
    ) -> None:
        self._engine = engine
        self._functions = list(functions)
        self._on_start = on_start

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method: str = environ["REQUEST_METHOD"]
        path: str = environ["PATH_INFO"]
        query = {
            key: values[-1] for key, values in parse_qs(environ.get("QUERY_STRING", "")).items()
        }
        status, headers, body = self._answer(method, path, query, environ)
        start_response(
            f"{status.value} {status.phrase}", [*headers, ("Content-Length", str(len(body)))]
        )
        return [] if method == "HEAD" else [body]

    def _answer(
        self, method: str, path: str, query: dict[str, str], environ: WSGIEnvironment
    ) -> Answer:
        match path.split("/"), method:
            case ["", "functions", function_name, "executions"], "POST":
                return _api(self._start(function_name, query.get("name"), _body(environ)))
            case ["", "functions", _, "executions"], _:
                message = f"{method} is not supported: start an execution with POST"
                return _api(
                    error_response(HTTPStatus.METHOD_NOT_ALLOWED, "MethodNotAllowed", message)
                )
            case ["", "execution", "callback"], "POST":
                return self._complete_callback(_form(_body(environ)))
            case ["", ""], "GET" | "HEAD":
                return self._executions(query)
            case ["", "execution"], "GET" | "HEAD":
                return self._execution(query.get("id", ""))
            case ["", "" | "execution"] | ["", "execution", "callback"], _:
                message = f"{method} is not supported here"
                return self._page(HTTPStatus.METHOD_NOT_ALLOWED, "error.html", message=message)
        return self._page(HTTPStatus.NOT_FOUND, "error.html", message=f"No page at {path}")

    # region API

    def _start(self, function_name: str, name: str | None, body: bytes) -> CallbackResponse:
        if function_name not in self._functions:
            known = ", ".join(self._functions) or "none"
            message = (
                f"No durable function named {function_name!r} is served here (served: {known})"
            )
            return error_response(HTTPStatus.NOT_FOUND, "FunctionNotFound", message)
        try:
            execution_id = self._engine.start_execution(
                function_name, body.decode() if body else None, execution_name=name
            )
        except (ValidationError, UnicodeDecodeError) as e:
            return error_response(HTTPStatus.BAD_REQUEST, "InvalidRequest", str(e))
        self._on_start(execution_id)
        body = json.dumps({"DurableExecutionArn": execution_id}).encode()
        return CallbackResponse(HTTPStatus.CREATED, (("Content-Type", "application/json"),), body)

    # endregion
    # region pages

    def _executions(self, query: dict[str, str]) -> Answer:
        function_name = query.get("function") or None
        status_name = (query.get("status") or "").upper()
        status = (
            ExecutionStatus(status_name) if status_name in ExecutionStatus.__members__ else None
        )
        try:
            page = self._engine.list_executions(
                function_name=function_name,
                status=status,
                page_token=query.get("page") or None,
                limit=DEFAULT_PAGE_SIZE,
            )
        except ValidationError as e:
            return self._page(HTTPStatus.BAD_REQUEST, "error.html", message=str(e))
        next_page = None
        if page.next_page_token is not None:
            next_page = "/?" + urlencode(
                {
                    "function": function_name or "",
                    "status": status_name,
                    "page": page.next_page_token,
                }
            )
        return self._page(
            HTTPStatus.OK,
            "executions.html",
            executions=page.executions,
            functions=self._functions,
            statuses=[s.value for s in ExecutionStatus],
            function_filter=function_name or "",
            status_filter=status.value if status else "",
            next_page=next_page,
            now=self._now(),
        )

    def _execution(
        self,
        execution_id: str,
        status: HTTPStatus = HTTPStatus.OK,
        callback_error: str | None = None,
    ) -> Answer:
        try:
            record = self._engine.describe_execution(execution_id)
        except ExecutionNotFoundError:
            return self._page(
                HTTPStatus.NOT_FOUND, "error.html", message=f"No execution with id {execution_id!r}"
            )
        now = self._now()
        timeline = timeline_of(self._engine.get_execution_history(execution_id))
        waiting = [
            (callback, callback_url(self._engine.callback_endpoint, callback.callback_id or ""))
            for callback in timeline.waiting_callbacks()
        ]
        running = record.status is ExecutionStatus.RUNNING
        return self._page(
            status,
            "execution.html",
            record=record,
            timeline=timeline,
            rows=timeline_rows(timeline, now),
            ticks=axis_ticks(timeline, now),
            waiting=waiting,
            callback_error=callback_error,
            refresh=REFRESH_SECONDS if running and not waiting else None,
            now=now,
        )

    def _complete_callback(self, form: dict[str, str]) -> Answer:
        execution_id = form.get("execution_id", "")
        action = form.get("action", "")
        if action == "succeed":
            body = form.get("result", "").encode()
        elif action == "fail":
            error = {
                "ErrorType": form.get("error_type") or None,
                "ErrorMessage": form.get("error_message") or None,
            }
            body = json.dumps({key: value for key, value in error.items() if value}).encode()
        else:
            body = b""
        path = f"/callbacks/{quote(form.get('callback_id', ''), safe='')}/{quote(action, safe='')}"
        response = answer(self._engine, "POST", path, body)
        if response.status is not HTTPStatus.OK:
            message = json.loads(response.body)["Message"]
            return self._execution(execution_id, response.status, message)
        location = "/execution?" + urlencode({"id": execution_id})
        return HTTPStatus.SEE_OTHER, [("Location", location)], b""

    def _page(self, status: HTTPStatus, template: str, **values: Any) -> Answer:
        html = _TEMPLATES.get_template(template).render(**values)
        return status, [("Content-Type", "text/html; charset=utf-8")], html.encode()

    def _now(self) -> datetime.datetime:
        return self._engine.clock.now()

    # endregion


def _api(response: CallbackResponse) -> Answer:
    return response.status, list(response.headers), response.body


def _body(environ: WSGIEnvironment) -> bytes:
    body: bytes = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    return body


def _form(body: bytes) -> dict[str, str]:
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: values[-1] for key, values in fields.items()}
