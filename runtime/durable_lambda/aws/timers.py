"""Delivering timers on AWS: SQS for the next 15 minutes, EventBridge Scheduler after.

A timer is written to the table first (the store's ``T#`` item, or the
execution's due time); delivery only invokes the function with a timer event
when it is due, and a timer delivered late, twice or after its execution
ended changes nothing (``fire_timer``). Precision: an SQS message's delay is
kept within seconds for up to 15 minutes; a Scheduler one-time schedule fires
within about a minute of its time, so a timer further out is scheduled 15
minutes early and hands over to the queue for the rest (14, so that a late
schedule still finds the queue's horizon). If neither is
delivered (the invocation arming it died, a message went to the dead-letter
queue), the sweeper finds the timer in the due index.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import math
from typing import Any

from durable_lambda.aws import events
from durable_lambda.aws.environment import FunctionEnvironment
from durable_lambda.aws.services import AwsServices
from durable_lambda.chained import function_of

QUEUE_HORIZON = datetime.timedelta(minutes=15)
"""SQS's longest message delay: timers due within it go through the queue."""
HANDOVER_LEAD = datetime.timedelta(minutes=14)
"""How long before its timer a schedule fires, to hand over to the queue: within
the queue's horizon even if the schedule fires late or its minute is rounded."""
SCHEDULE_NAME_PREFIX = "durable-"


def schedule_name(execution_id: str, key: str, due: datetime.datetime) -> str:
    """A schedule's name, derived from the timer: creating it twice is harmless."""
    digest = hashlib.sha256(f"{execution_id}\n{key}\n{due.isoformat()}".encode()).hexdigest()
    return SCHEDULE_NAME_PREFIX + digest[:48]


class TimerDelivery:
    """Arms a timer's delivery to the function of its execution."""

    def __init__(self, environment: FunctionEnvironment, services: AwsServices) -> None:
        self._environment = environment
        self._services = services

    def arm(
        self, execution_id: str, key: str, due: datetime.datetime, now: datetime.datetime
    ) -> None:
        """Have the execution's function receive a timer event when ``due`` comes."""
        function_arn = function_of(execution_id)
        event = events.timer(execution_id, key, due)
        if due - now <= QUEUE_HORIZON:
            self.send(function_arn, event, max(0.0, (due - now).total_seconds()))
        else:
            self._schedule(function_arn, event, execution_id, key, due)

    def send(self, function_arn: str, event: dict[str, Any], delay_seconds: float) -> None:
        """A message on the timer queue, which the timer relay turns into an invoke."""
        self._services.sqs.send_message(
            QueueUrl=self._environment.timer_queue_url,
            MessageBody=json.dumps({"FunctionArn": function_arn, "Event": event}),
            DelaySeconds=min(900, math.ceil(delay_seconds)),
        )

    def _schedule(
        self,
        function_arn: str,
        event: dict[str, Any],
        execution_id: str,
        key: str,
        due: datetime.datetime,
    ) -> None:
        fires = (due - HANDOVER_LEAD).astimezone(datetime.UTC)
        scheduler = self._services.scheduler
        # Armed already (the same timer, the same name): nothing to do.
        with contextlib.suppress(scheduler.exceptions.ConflictException):
            scheduler.create_schedule(
                Name=schedule_name(execution_id, key, due),
                GroupName=self._environment.schedule_group,
                ScheduleExpression=f"at({fires:%Y-%m-%dT%H:%M:%S})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target={
                    "Arn": function_arn,
                    "RoleArn": self._environment.scheduler_role_arn,
                    "Input": json.dumps(event),
                    "DeadLetterConfig": {"Arn": self._environment.timer_dlq_arn},
                    "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 86400},
                },
            )
