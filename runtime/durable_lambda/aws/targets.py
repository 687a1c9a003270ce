"""Chained invokes on Lambda: resolving targets and starting them once the invocation ends.

A target of the same engine (its environment names this function's table) is a
durable function: it runs as a child execution in the table, created
idempotently by its name, then invoked. Any other function is called once per
recorded START (the store's claim), by an invocation of this function made for
the call, so the parent never waits inside an invocation; the call's outcome
completes the invoke and wakes the parent.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any

from durable_lambda.aws.environment import TABLE
from durable_lambda.aws.services import AwsServices
from durable_lambda.chained import (
    FUNCTION_NOT_FOUND_ERROR_TYPE,
    ChainedInvokeRequest,
    ResolvedTarget,
    durable_execution_arn,
    parse_function_name,
    qualified_arn,
)
from durable_lambda.lambda_service import ErrorObject


@dataclass(frozen=True)
class FunctionInfo:
    """What resolving a target needs to know of a Lambda function."""

    arn: str
    """Qualified as the invoke named it (``$LATEST`` when it named none)."""
    name: str
    durable: bool
    execution_timeout_seconds: int | None


class LambdaTargets:
    """The ``ChainedInvoker`` of an invocation on Lambda.

    ``start`` keeps the requests; the entrypoint starts them once the
    invocation has ended (``requests``), as the local engine does.
    """

    def __init__(self, services: AwsServices, table: str, caller_arn: str) -> None:
        self._services = services
        self._table = table
        self._caller_arn = caller_arn
        self.requests: list[ChainedInvokeRequest] = []

    def resolve(self, function_name: str, execution_name: str) -> ResolvedTarget | ErrorObject:
        target = parse_function_name(function_name)
        _, _, _, region, account, *_ = self._caller_arn.split(":")
        arn = qualified_arn(
            f"arn:aws:lambda:{target.region or region}:{target.account_id or account}"
            f":function:{target.name}" + (f":{target.qualifier}" if target.qualifier else "")
        )
        info = describe_function(self._services, self._table, arn)
        if info is None:
            return ErrorObject(
                message=f"Function not found: {arn}",
                type=FUNCTION_NOT_FOUND_ERROR_TYPE,
                data=None,
                stack_trace=None,
            )
        if not info.durable:
            return ResolvedTarget(arn, None)
        unique = uuid.uuid5(uuid.NAMESPACE_URL, f"{arn}/{execution_name}")
        return ResolvedTarget(arn, durable_execution_arn(arn, execution_name, str(unique)))

    def start(self, request: ChainedInvokeRequest) -> None:
        self.requests.append(request)


def describe_function(services: AwsServices, table: str, arn: str) -> FunctionInfo | None:
    """The function an ARN names, remembered for the container's life; None if none."""
    return _describe(services, table, arn)


@functools.lru_cache(maxsize=256)
def _describe(services: AwsServices, table: str, arn: str) -> FunctionInfo | None:
    lambda_ = services.lambda_
    function_arn, _, qualifier = arn.rpartition(":")
    try:
        configuration: dict[str, Any] = lambda_.get_function_configuration(
            FunctionName=function_arn, Qualifier=qualifier
        )
    except lambda_.exceptions.ResourceNotFoundException:
        return None
    variables = configuration.get("Environment", {}).get("Variables", {})
    timeout = variables.get("DURABLE_LAMBDA_EXECUTION_TIMEOUT_SECONDS")
    return FunctionInfo(
        arn=arn,
        name=configuration["FunctionName"],
        durable=variables.get(TABLE) == table,
        execution_timeout_seconds=int(timeout) if timeout and timeout.isdigit() else None,
    )
