"""Invokers: run one invocation of a handler in a thread or in its own process.

The process invoker keeps warm worker processes, as Lambda keeps warm
execution environments. A worker that dies mid-invocation (``os._exit``, a
signal, running out of time) is a crashed invocation, never a dead engine;
its log records reach the engine's logging as they are written.

Workers are spawned: each imports the main module again (a handler defined
in a script is found there), so a script must start its engine under
``if __name__ == "__main__":``. The invoker starts its first worker at once
and refuses, with one error, a script that starts an engine while a worker
imports it.
"""

from __future__ import annotations

import datetime
import logging
import multiprocessing
import pickle
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from durable_lambda.backend import Backend
from durable_lambda.chained import ChainedInvokeRequest
from durable_lambda.exceptions import ValidationError
from durable_lambda.lambda_service import ErrorObject
from durable_lambda.local.lambda_context import LocalLambdaContext
from durable_lambda.local.targets import TargetDirectory
from durable_lambda.local.worker import serve
from durable_lambda.store.contract import Store, exit_error

Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class InvocationRequest:
    """One invocation to run."""

    handler: Handler
    event: Any
    request_id: str
    function_name: str
    function_arn: str
    timeout_seconds: float


@dataclass(frozen=True)
class Returned:
    """The handler returned ``output``."""

    output: Any


@dataclass(frozen=True)
class Raised:
    """The handler raised; Lambda would retry the invocation."""

    error: ErrorObject


@dataclass(frozen=True)
class Crashed:
    """The invocation died without finishing (exit, kill, timeout)."""

    error: ErrorObject


InvocationResult = Returned | Raised | Crashed


class Invoker(Protocol):
    """Runs invocations."""

    def check_handler(self, handler: Handler) -> None:
        """Raise ValidationError if this invoker cannot run ``handler``."""
        ...

    def invoke(self, request: InvocationRequest) -> InvocationResult: ...

    def close(self) -> None: ...


class ThreadInvoker:
    """Runs the handler in the calling thread, sharing the engine's backend."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def check_handler(self, handler: Handler) -> None:
        """Any callable runs in a thread."""

    def invoke(self, request: InvocationRequest) -> InvocationResult:
        context = LocalLambdaContext(
            aws_request_id=request.request_id,
            function_name=request.function_name,
            invoked_function_arn=request.function_arn,
            durable_backend=self._backend,
            timeout_seconds=request.timeout_seconds,
        )
        try:
            return Returned(request.handler(request.event, context))
        except Exception as e:  # noqa: BLE001 - reported as Lambda reports a handler error
            return Raised(ErrorObject.from_exception(e))
        except BaseException:  # noqa: BLE001 - SystemExit and the like end the "process"
            return Crashed(exit_error(request.request_id))

    def close(self) -> None:
        """Nothing to release."""


def _timeout_error(request: InvocationRequest) -> ErrorObject:
    return ErrorObject(
        message=f"RequestId: {request.request_id} Error: Task timed out after "
        f"{request.timeout_seconds:.2f} seconds",
        type="Sandbox.Timedout",
        data=None,
        stack_trace=None,
    )


_MAIN_MODULE_STARTED_AN_ENGINE = 86
"""Exit code of a worker whose import of the main module started a process engine."""


def _importing_main_module_in_worker() -> bool:
    """True in a spawned process still importing the main module (the test
    ``multiprocessing`` makes before it refuses to start a process there)."""
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))


def _main_module_refused() -> ValidationError:
    main = getattr(sys.modules["__main__"], "__file__", None) or "the main module"
    return ValidationError(
        'invocation_isolation="process" runs handlers in worker processes, which import '
        f"{main} again; importing it started an engine in the worker. Start engines and "
        'test runners under `if __name__ == "__main__":` in that script.'
    )


class _Worker:
    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.connection, child_end = ctx.Pipe()
        self.process = ctx.Process(target=serve, args=(child_end,), daemon=True)
        self.process.start()
        child_end.close()
        try:
            self.connection.recv()  # "ready": the worker imported the main module and serves
        except (EOFError, OSError):
            # It died starting; otherwise that is a crashed invocation when it is used.
            self.process.join()
            if self.process.exitcode == _MAIN_MODULE_STARTED_AN_ENGINE:
                self.stop()
                raise _main_module_refused() from None

    def stop(self) -> None:
        self.connection.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


class ProcessInvoker:
    """Runs each invocation in a worker process that opens the store itself.

    ``open_store`` (picklable) opens the engine's store in a worker;
    ``clock_offset`` tells workers how far the engine's clock runs ahead of
    wall-clock time; ``callback_key``, ``callback_endpoint`` and
    ``managed_limits`` travel with each invocation, as the rest of the
    worker's backend; ``targets`` is what
    workers resolve chained invoke targets against, and ``start_target``
    receives the targets they start.
    """

    def __init__(
        self,
        open_store: Callable[[], Store],
        clock_offset: Callable[[], datetime.timedelta | None],
        *,
        targets: Callable[[], TargetDirectory],
        start_target: Callable[[ChainedInvokeRequest], None],
        callback_key: bytes | None = None,
        callback_endpoint: str | None = None,
        managed_limits: bool = False,
    ) -> None:
        if _importing_main_module_in_worker():
            # A worker re-running a script that starts an engine at import: end
            # quietly; the engine that spawned it raises _main_module_refused().
            raise SystemExit(_MAIN_MODULE_STARTED_AN_ENGINE)
        self._open_store = pickle.dumps(open_store)
        self._clock_offset = clock_offset
        self._targets = targets
        self._start_target = start_target
        self._callback_key = callback_key
        self._callback_endpoint = callback_endpoint
        self._managed_limits = managed_limits
        self._idle: list[_Worker] = [_Worker()]
        self._lock = threading.Lock()
        self._closed = False

    def check_handler(self, handler: Handler) -> None:
        """Worker processes import handlers by name: it must be a module-level function."""
        try:
            pickle.dumps(handler)
        except (pickle.PicklingError, AttributeError, TypeError) as e:
            msg = (
                "Process isolation runs handlers in worker processes, which import "
                f"them by name; {handler!r} cannot be imported that way ({e}). "
                "Define the handler at module level, or use thread isolation."
            )
            raise ValidationError(msg) from e

    def invoke(self, request: InvocationRequest) -> InvocationResult:
        handler = pickle.dumps(request.handler)
        worker = self._take_worker()
        offset = self._clock_offset()
        message = {
            "handler": handler,
            "event": request.event,
            "request_id": request.request_id,
            "function_name": request.function_name,
            "function_arn": request.function_arn,
            "timeout_seconds": request.timeout_seconds,
            "open_store": self._open_store,
            "clock_offset": offset.total_seconds() if offset is not None else None,
            "callback_key": self._callback_key,
            "callback_endpoint": self._callback_endpoint,
            "managed_limits": self._managed_limits,
            "targets": self._targets(),
            "log_level": logging.getLogger().getEffectiveLevel(),
        }
        try:
            worker.connection.send(message)
            result = self._await_result(worker, request)
        except (EOFError, OSError):
            result = Crashed(exit_error(request.request_id))
        if isinstance(result, Crashed):
            worker.stop()
        else:
            self._return_worker(worker)
        return result

    def _await_result(self, worker: _Worker, request: InvocationRequest) -> InvocationResult:
        deadline = time.monotonic() + request.timeout_seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Crashed(_timeout_error(request))
            if not worker.connection.poll(min(remaining, 0.25)):
                continue
            kind, value = worker.connection.recv()
            if kind == "log":
                record = logging.makeLogRecord(value)
                logging.getLogger(record.name).handle(record)
            elif kind == "start_target":
                self._start_target(value)
            elif kind == "returned":
                return Returned(value)
            else:
                return Raised(ErrorObject.from_dict(value))

    def _take_worker(self) -> _Worker:
        with self._lock:
            if self._closed:
                msg = "The invoker is closed"
                raise RuntimeError(msg)
            while self._idle:
                worker = self._idle.pop()
                if worker.process.is_alive():
                    return worker
                worker.stop()
        return _Worker()

    def _return_worker(self, worker: _Worker) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(worker)
                return
        worker.stop()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()
