"""Lambda's context object, with the durable backend the operations look for."""

from __future__ import annotations

from typing import Any

from durable_lambda.backend import Backend


class DurableLambdaContext:
    """Lambda's context as the handler sees it, plus ``durable_backend``."""

    def __init__(self, lambda_context: Any, backend: Backend) -> None:
        self._lambda_context = lambda_context
        self.durable_backend = backend

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lambda_context, name)
