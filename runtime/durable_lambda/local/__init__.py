"""The embedded local engine."""

from durable_lambda.local.engine import InvocationIsolation, LocalEngine, RegisteredFunction

__all__ = ["InvocationIsolation", "LocalEngine", "RegisteredFunction"]
