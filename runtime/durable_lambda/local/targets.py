"""How invocations on the local engine resolve and start chained invoke targets.

``LocalTargets`` is the engine's ``ChainedInvoker``. It resolves a target
against a ``TargetDirectory`` (the registered functions, region and
account): a live view of the engine's registry for invocations in engine
threads, a snapshot sent along with each invocation to a worker process.
Starting a target is handed back to the engine (a direct call, or a message
from the worker), which starts it once the invocation has ended.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from durable_lambda.chained import (
    FUNCTION_NOT_FOUND_ERROR_TYPE,
    ChainedInvokeRequest,
    ResolvedTarget,
    durable_execution_arn,
    parse_function_name,
)
from durable_lambda.exceptions import ValidationError
from durable_lambda.lambda_service import ErrorObject


@dataclass(frozen=True)
class TargetInfo:
    """A registered function as a chained invoke target."""

    name: str
    durable: bool
    arn: str


@dataclass(frozen=True)
class TargetDirectory:
    """What resolving a target needs: the registered functions, region and account."""

    functions: Mapping[str, TargetInfo]
    region: str
    account_id: str


class LocalTargets:
    """Resolves targets from a directory; ``start`` hands them to the engine."""

    def __init__(
        self, directory: TargetDirectory, start: Callable[[ChainedInvokeRequest], None]
    ) -> None:
        self._directory = directory
        self._start = start

    def resolve(self, function_name: str, execution_name: str) -> ResolvedTarget | ErrorObject:
        target = parse_function_name(function_name)
        directory = self._directory
        if target.account_id is not None and target.account_id != directory.account_id:
            msg = (
                f"Cannot invoke {function_name!r}: it is in account {target.account_id}, "
                f"not in this engine's account {directory.account_id}"
            )
            raise ValidationError(msg)
        if target.region is not None and target.region != directory.region:
            msg = (
                f"Cannot invoke {function_name!r}: it is in region {target.region}, "
                f"not in this engine's region {directory.region}"
            )
            raise ValidationError(msg)
        keys = ([f"{target.name}:{target.qualifier}"] if target.qualifier else []) + [target.name]
        info = next((directory.functions[k] for k in keys if k in directory.functions), None)
        if info is None:
            known = ", ".join(sorted(directory.functions)) or "none"
            return ErrorObject(
                message=(
                    f"Function not found: {function_name}. Register it with "
                    f"register_durable_function or register_function (registered: {known})"
                ),
                type=FUNCTION_NOT_FOUND_ERROR_TYPE,
                data=None,
                stack_trace=None,
            )
        if not info.durable:
            return ResolvedTarget(info.name, None)
        unique_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{info.arn}/{execution_name}")
        return ResolvedTarget(
            info.name, durable_execution_arn(info.arn, execution_name, str(unique_id))
        )

    def start(self, request: ChainedInvokeRequest) -> None:
        self._start(request)
