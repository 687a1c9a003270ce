"""At-most-once versus at-least-once steps (Python twin of the seed's TypeScript).

``update-database`` records its start before running, so an interrupted
attempt is never re-run; ``send-notification`` may run again after an
interruption, leaving deduplication to the receiver.
"""

from __future__ import annotations

from durable_lambda import DurableContext, durable_execution
from durable_lambda.config import StepConfig, StepSemantics


def update_user_record(user_id: str, data: dict) -> dict:
    return {"user_id": user_id, **data}


def send_email(email: str, message: str) -> str:
    return f"sent to {email}: {message}"


@durable_execution
def handler(event: dict, context: DurableContext) -> dict:
    record = context.step(
        lambda _: update_user_record(event["user_id"], event["data"]),
        name="update-database",
        config=StepConfig(step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY),
    )
    receipt = context.step(
        lambda _: send_email(event["email"], "Your profile changed"),
        name="send-notification",
        config=StepConfig(step_semantics=StepSemantics.AT_LEAST_ONCE_PER_RETRY),
    )
    return {"record": record, "receipt": receipt}
