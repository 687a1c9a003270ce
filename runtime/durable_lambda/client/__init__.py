"""Clients of durable executions: the verbs (``DurableExecutionsApi``) and their AWS side."""

from durable_lambda.client.api import DurableExecutionsApi

__all__ = ["DurableExecutionsApi"]
