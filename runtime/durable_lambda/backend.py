"""Where an invocation finds its store, its clock and the targets it invokes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from durable_lambda.chained import ChainedInvoker
from durable_lambda.clock import Clock
from durable_lambda.exceptions import DurableExecutionsError
from durable_lambda.store.contract import Store


@dataclass(frozen=True)
class Backend:
    """The store an execution lives in, the clock its timestamps read, what
    callbacks need (the secret key their ids derive from, never stored, and
    the endpoint their URLs are under) and what starts invoked functions."""

    store: Store
    clock: Clock
    callback_key: bytes | None = field(default=None, repr=False)
    callback_endpoint: str | None = None
    invoker: ChainedInvoker | None = None
    """Starts the targets of ``context.invoke``; None where nothing can be invoked."""
    lease_holder: str | None = None
    """The process running invocations, recorded with their leases where the
    platform can later tell whether it is gone (``LeaseHolder.holder``)."""
    managed_limits: bool = False
    """Refuse checkpoints past the managed service's limits, as it does (``managed_limits``)."""

    callback_key_loader: Callable[[], bytes] | None = field(default=None, repr=False)
    """Where the callback key is read from when first needed, if not given (on Lambda,
    the engine's secret)."""

    def require_callback_key(self) -> bytes:
        """The callback key, or a clear error when the engine configured none."""
        if not self.callback_key and self.callback_key_loader is not None:
            return self.callback_key_loader()
        if not self.callback_key:
            msg = (
                "This backend has no callback key, so it cannot create callbacks: "
                "configure the engine with one (LocalEngine does by default)."
            )
            raise DurableExecutionsError(msg)
        return self.callback_key


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
