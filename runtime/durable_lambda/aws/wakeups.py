"""Waking an execution: invoking its function asynchronously with an event."""

from __future__ import annotations

import json
from typing import Any

from durable_lambda.aws import events
from durable_lambda.aws.services import AwsServices
from durable_lambda.chained import function_of


def wake(services: AwsServices, execution_id: str, event: dict[str, Any] | None = None) -> None:
    """Invoke the qualified function that started the execution (resume by default).

    Its fact is in the table already: if this invoke is lost, the execution is
    due there and the sweeper invokes it.
    """
    services.lambda_.invoke(
        FunctionName=function_of(execution_id),
        InvocationType="Event",
        Payload=json.dumps(event or events.resume(execution_id)).encode(),
    )
