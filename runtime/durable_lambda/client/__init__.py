"""Clients of durable executions: the verbs (``DurableExecutionsApi``) and ``DurableClient``.

``DurableClient`` (AWS, through boto3) loads with its first use.
"""

from typing import TYPE_CHECKING, Any

from durable_lambda.client.api import DurableExecutionsApi

if TYPE_CHECKING:
    from durable_lambda.client.aws import DurableClient

__all__ = ["DurableClient", "DurableExecutionsApi"]


def __getattr__(name: str) -> Any:
    if name == "DurableClient":
        from durable_lambda.client.aws import DurableClient  # noqa: PLC0415 - loads boto3

        return DurableClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
