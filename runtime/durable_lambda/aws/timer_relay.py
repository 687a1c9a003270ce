"""The timer queue's consumer: each message invokes a durable function with a timer event.

A message is ``{"FunctionArn": ..., "Event": ...}``, sent with the delay that
makes it arrive when the timer is due (``timers.TimerDelivery``). A message
whose invoke fails is reported back, so SQS delivers it again (and, after its
redrive count, to the dead-letter queue); the sweeper covers what is lost.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from typing import Any

from durable_lambda.aws.services import AwsServices

logger = logging.getLogger(__name__)


@functools.cache
def _services() -> AwsServices:
    return AwsServices()


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Invoke the function of each message; report those that failed."""
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        try:
            message = json.loads(record["body"])
            _services().lambda_.invoke(
                FunctionName=message["FunctionArn"],
                InvocationType="Event",
                Payload=json.dumps(message["Event"]).encode(),
            )
        except Exception:
            logger.exception("Could not deliver timer message %s", record.get("messageId"))
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
