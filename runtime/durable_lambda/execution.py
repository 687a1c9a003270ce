"""``@durable_execution``: turn a handler into a durable Lambda handler."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from durable_lambda.context import DurableContext
from durable_lambda.exceptions import ValidationError
from durable_lambda.lambda_service import InvocationStatus
from durable_lambda.types import LambdaContext

__all__ = ["InvocationStatus", "durable_execution"]

RESUME_KEY = "DurableExecutionArn"
"""Event key naming the execution an engine invokes the handler for."""

_DURABLE_HANDLER_MARK = "_durable_execution_handler"
"""Attribute ``@durable_execution`` sets on the handlers it makes."""


def durable_execution(
    func: Callable[[Any, DurableContext], Any],
) -> Callable[[Any, LambdaContext], dict[str, Any]]:
    """Wrap ``handler(event, context: DurableContext)`` as a Lambda handler.

    Invoked with ``{"DurableExecutionArn": id}`` the wrapper resumes that
    execution; invoked with any other event it starts a new execution whose
    id is the Lambda request id (so a retried request never starts a second
    one) and whose input is the event.
    """

    @functools.wraps(func)
    def wrapper(event: Any, lambda_context: LambdaContext) -> dict[str, Any]:
        # The runtime loads with the first invocation, not with the handler's module.
        from durable_lambda.backend import backend_for  # noqa: PLC0415
        from durable_lambda.invocation import run_invocation  # noqa: PLC0415
        from durable_lambda.store.contract import NewExecution  # noqa: PLC0415

        if getattr(lambda_context, "durable_backend", None) is None and _on_lambda():
            from durable_lambda.aws.entrypoint import handle  # noqa: PLC0415

            return handle(func, event, lambda_context)
        backend = backend_for(lambda_context)
        if isinstance(event, Mapping) and isinstance(event.get(RESUME_KEY), str):
            execution_id: str = event[RESUME_KEY]
        else:
            record, _ = backend.store.create_execution(
                NewExecution(
                    execution_id=lambda_context.aws_request_id,
                    function_name=lambda_context.function_name,
                    execution_name=lambda_context.aws_request_id,
                    input_payload=json.dumps(event),
                ),
                backend.clock.now(),
            )
            execution_id = record.execution_id
        return run_invocation(func, backend, execution_id, lambda_context)

    setattr(wrapper, _DURABLE_HANDLER_MARK, True)
    return wrapper


def is_durable_handler(handler: object) -> bool:
    """Whether ``@durable_execution`` made ``handler``."""
    return getattr(handler, _DURABLE_HANDLER_MARK, False) is True


def require_durable_handler(function_name: str, handler: object) -> None:
    """Refuse to register ``handler`` as a durable function unless
    ``@durable_execution`` made it (a plain handler would fail every invocation)."""
    if not is_durable_handler(handler):
        what = getattr(handler, "__qualname__", None) or type(handler).__name__
        msg = (
            f"Cannot register {what} as the durable function {function_name!r}: it is not "
            "decorated with @durable_execution (register a plain Lambda handler with "
            "register_function)"
        )
        raise ValidationError(msg)


def _on_lambda() -> bool:
    """Whether this is a durable function deployed by the constructs (its environment
    names the engine's table)."""
    return "DURABLE_LAMBDA_TABLE" in os.environ
