"""The sweeper: every minute, deliver whatever is due and was not delivered.

It reads the due index function by function (the table's list of functions),
oldest first, what has been due for ``GRACE`` at least, and invokes each due
execution's function: with a timer event for an operation timer or the
execution timeout, with the resume event when the execution itself is due (a
lease that expired with its invocation, a wake-up whose invoke was lost, a
failed invocation to retry). Idempotent (a timer fires once; a resume with
nothing to do is cheap), bounded per run, so the store's liveness rule holds
on AWS whatever invocation or waker died. Environment: ``DURABLE_LAMBDA_TABLE``,
``DURABLE_LAMBDA_PAYLOAD_BUCKET``.
"""

from __future__ import annotations

import datetime
import functools
import logging
from collections.abc import Mapping
from typing import Any

from durable_lambda.aws import events
from durable_lambda.aws.engine import EngineRuntime
from durable_lambda.store.contract import REINVOKE_TIMER

logger = logging.getLogger(__name__)

MAX_PER_RUN = 1000
"""Wake-ups one run delivers at most; the next run goes on."""
GRACE = datetime.timedelta(seconds=90)
"""How overdue a wake-up is before the sweeper delivers it: a schedule fires
within about a minute, and what was invoked at once needs no second invoke."""
SAFETY_MILLIS = 10_000
"""Stop this long before the sweeper's own invocation times out."""


@functools.cache
def _runtime() -> EngineRuntime:
    return EngineRuntime.from_environment()


def sweep(runtime: EngineRuntime, remaining_millis: Any = None) -> int:
    """Deliver what is due, at most ``MAX_PER_RUN``; how many were delivered."""
    overdue = runtime.clock.now() - GRACE
    delivered = 0
    for timer in runtime.store.due_timers(overdue, MAX_PER_RUN):
        if callable(remaining_millis) and remaining_millis() < SAFETY_MILLIS:
            break
        event = (
            events.resume(timer.execution_id)
            if timer.key == REINVOKE_TIMER
            else events.timer(timer.execution_id, timer.key, timer.due)
        )
        try:
            runtime.wake(timer.execution_id, event)
            delivered += 1
        except Exception:
            logger.exception("Could not deliver %s of %s", timer.key, timer.execution_id)
    return delivered


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The scheduled run."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    delivered = sweep(_runtime(), remaining)
    logger.info("The sweeper delivered %d wake-ups", delivered)
    return {"Delivered": delivered}
