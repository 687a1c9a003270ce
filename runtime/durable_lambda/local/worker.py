"""The loop of a worker process: receive invocations, run them, report back."""

from __future__ import annotations

import datetime
import logging
import os
import pickle
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from durable_lambda.backend import Backend
from durable_lambda.clock import Clock, SystemClock
from durable_lambda.lambda_service import ErrorObject
from durable_lambda.local import process_identity
from durable_lambda.local.clock import OffsetClock
from durable_lambda.local.lambda_context import LocalLambdaContext
from durable_lambda.local.targets import LocalTargets
from durable_lambda.store.contract import Store


class _ForwardingHandler(logging.Handler):
    """Sends each log record to the engine as it is written."""

    def __init__(self, send: Any) -> None:
        super().__init__()
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        fields = dict(record.__dict__)
        fields.update(msg=message, args=None, exc_info=None, exc_text=None)
        if record.exc_info:
            fields["exc_text"] = logging.Formatter().formatException(record.exc_info)
        try:
            self._send(("log", fields))
        except Exception:  # noqa: BLE001 - a record that cannot be sent is dropped
            self.handleError(record)


ENGINE_CHECK_SECONDS = 0.2
"""How often a worker checks that its engine still runs."""


def _exit_with_engine(engine_pid: int) -> None:
    """End this worker once the engine that started it is gone.

    An invocation outlives no engine: the engine that restarts on the store
    then sees the invocation's process gone and takes its lease over at once.
    """
    while os.getppid() == engine_pid:
        time.sleep(ENGINE_CHECK_SECONDS)
    os._exit(1)


def serve(connection: Connection) -> None:
    """Run invocations sent over ``connection`` until it closes, or the engine is gone."""
    threading.Thread(
        target=_exit_with_engine, args=(os.getppid(),), name="engine-watch", daemon=True
    ).start()
    send_lock = threading.Lock()

    def send(message: Any) -> None:
        with send_lock:
            connection.send(message)

    root = logging.getLogger()
    root.handlers[:] = [_ForwardingHandler(send)]
    stores: dict[bytes, Store] = {}
    send(("ready", None))
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        root.setLevel(request["log_level"])
        opener = request["open_store"]
        if opener not in stores:
            stores[opener] = pickle.loads(opener)()  # noqa: S301 - sent by our engine
        offset = request["clock_offset"]
        clock: Clock = (
            OffsetClock(datetime.timedelta(seconds=offset)) if offset is not None else SystemClock()
        )
        context = LocalLambdaContext(
            aws_request_id=request["request_id"],
            function_name=request["function_name"],
            invoked_function_arn=request["function_arn"],
            durable_backend=Backend(
                stores[opener],
                clock,
                request["callback_key"],
                request["callback_endpoint"],
                LocalTargets(request["targets"], lambda target: send(("start_target", target))),
                lease_holder=process_identity.current(),
                managed_limits=request["managed_limits"],
            ),
            timeout_seconds=request["timeout_seconds"],
        )
        try:
            handler = pickle.loads(request["handler"])  # noqa: S301 - sent by our engine
            send(("returned", handler(request["event"], context)))
        except Exception as e:  # noqa: BLE001 - reported to the engine as Lambda would
            send(("raised", ErrorObject.from_exception(e).to_dict()))
