"""How ``context.invoke`` reaches its target: what the platform provides.

The runtime records a chained invoke's START, then asks the platform's
``ChainedInvoker`` (found on the invocation's ``Backend``) to start the
target: the local engine starts it itself; a backend on AWS would invoke
the target asynchronously through Lambda's Invoke API. A durable target
runs as a child execution whose name is derived from the parent execution
and the operation (``chained_execution_name``), so asking again, as a
replay after a crash does, never starts a second child.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol

from durable_lambda.exceptions import ValidationError
from durable_lambda.lambda_service import ErrorObject

FUNCTION_NOT_FOUND_ERROR_TYPE = "ResourceNotFoundException"
"""ErrorType of an invoke whose target does not exist (Lambda's Invoke error code)."""

MAX_FUNCTION_NAME_LENGTH = 256
_FUNCTION_NAME = re.compile(
    r"(?P<arn>arn:aws[a-zA-Z-]*:lambda:)?"
    r"(?:(?P<region>[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d):)?"
    r"(?:(?P<account_id>\d{12}):)?"
    r"(?:function:)?"
    r"(?P<name>[a-zA-Z0-9_.-]+)"
    r"(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?"
)


LATEST = "$LATEST"
_EXECUTIONS = "/durable-execution/"
_QUALIFIED_ARN_COLONS = 7
"""``arn:aws:lambda:<region>:<account>:function:<name>:<qualifier>``"""


def durable_execution_arn(function_arn: str, execution_name: str, unique_id: str) -> str:
    """The id of an execution, in the shape of a durable execution ARN.

    It begins with the qualified ARN of the function that runs it (``$LATEST``
    when ``function_arn`` has no qualifier), which every wake-up invokes.
    """
    return f"{qualified_arn(function_arn)}{_EXECUTIONS}{execution_name}/{unique_id}"


def qualified_arn(function_arn: str) -> str:
    """A function ARN with its qualifier: ``$LATEST`` when it has none."""
    qualified = function_arn.count(":") >= _QUALIFIED_ARN_COLONS
    return function_arn if qualified else f"{function_arn}:{LATEST}"


def function_of(execution_id: str) -> str:
    """The qualified ARN of the function an execution id names (ValueError if none)."""
    function_arn, found, _ = execution_id.partition(_EXECUTIONS)
    if not found or not function_arn.startswith("arn:"):
        msg = f"{execution_id!r} is not the id of a durable execution"
        raise ValueError(msg)
    return function_arn


@dataclass(frozen=True)
class FunctionTarget:
    """The parts of a function name or ARN that ``context.invoke`` was given."""

    name: str
    qualifier: str | None = None
    account_id: str | None = None
    region: str | None = None


def parse_function_name(function_name: str) -> FunctionTarget:
    """Split a function name, ``name:qualifier``, partial ARN or full ARN.

    Raises ValidationError naming the value for anything else (as Lambda's
    Invoke does), including a full ARN without its region or account.
    """
    found = (
        _FUNCTION_NAME.fullmatch(function_name)
        if 0 < len(function_name) <= MAX_FUNCTION_NAME_LENGTH
        else None
    )
    if found is None or (found["arn"] and not (found["region"] and found["account_id"])):
        msg = (
            f"Invalid function name or ARN {function_name!r}: expected a function name, "
            "name:qualifier, or a (partial) Lambda function ARN"
        )
        raise ValidationError(msg)
    return FunctionTarget(found["name"], found["qualifier"], found["account_id"], found["region"])


def chained_execution_name(parent_execution_id: str, operation_id: str) -> str:
    """The name of the child execution that operation ``operation_id`` starts.

    Derived from the parent execution and the operation alone, so every
    replay asks for the same child and starting it is idempotent.
    """
    digest = hashlib.sha256(f"{parent_execution_id}\n{operation_id}".encode()).hexdigest()
    return f"chained-{digest[:32]}"


@dataclass(frozen=True)
class ResolvedTarget:
    """A target the platform can start."""

    function_name: str
    """The function's name as the platform knows it."""
    durable_execution_arn: str | None
    """The id of the child execution a durable target runs as; None when the
    function is not durable (it is invoked once and its response recorded)."""


@dataclass(frozen=True)
class ChainedInvokeRequest:
    """Start the target of a chained invoke whose START is durable."""

    parent_execution_id: str
    operation_id: str
    function_name: str
    """The resolved function name."""
    execution_name: str
    durable_execution_arn: str | None
    payload: str | None
    """The serialized payload (JSON text), or None for an empty event."""
    tenant_id: str | None = None


class ChainedInvoker(Protocol):
    """Starts the targets of chained invokes for the platform."""

    def resolve(self, function_name: str, execution_name: str) -> ResolvedTarget | ErrorObject:
        """The target ``function_name`` names, before anything is recorded.

        Returns the error the invoke fails with when no such function
        exists; raises ValidationError for a malformed name, or one in
        another account or region.
        """
        ...

    def start(self, request: ChainedInvokeRequest) -> None:
        """Start the target; called once its START checkpoint is durable.

        Idempotent: a durable target's child execution is created once by
        its name; a second request for a target already started does
        nothing. The target's outcome later completes the operation.
        """
        ...
