"""Where an invocation finds its store, its clock and the targets it invokes."""

from __future__ import annotations

from dataclasses import dataclass

from durable_lambda.chained import ChainedInvoker
from durable_lambda.clock import Clock
from durable_lambda.exceptions import DurableExecutionsError
from durable_lambda.store.contract import Store


@dataclass(frozen=True)
class Backend:
    """The store an execution lives in and the clock its timestamps read."""

    store: Store
    clock: Clock
    invoker: ChainedInvoker | None = None
    """Starts the targets of ``context.invoke``; None where nothing can be invoked."""


def backend_for(lambda_context: object) -> Backend:
    """The backend the engine attached to the Lambda context of this invocation."""
    backend = getattr(lambda_context, "durable_backend", None)
    if isinstance(backend, Backend):
        return backend
    msg = (
        "No durable backend is configured for this invocation: run the handler "
        "on the local engine (durable_lambda.local.LocalEngine or "
        "durable_lambda.testing.DurableFunctionTestRunner)."
    )
    raise DurableExecutionsError(msg)
