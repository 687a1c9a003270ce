"""Approval with a timeout and escalation (the seed's Python, as written).

``send_approval_email`` stands in for a mail service: it records the request
(approver and callback id) in ``OUTBOX`` and logs it; the approver completes
the callback through the engine's callback URL. ``escalate_to_manager`` stands
in for paging a manager when nobody answered within 24 hours.
"""

import logging

from durable_lambda import DurableContext, durable_execution
from durable_lambda.config import Duration, WaitForCallbackConfig

logger = logging.getLogger(__name__)

OUTBOX: list[dict[str, str]] = []
"""Approval requests sent, newest last."""


def send_approval_email(approver_email: str, callback_id: str) -> None:
    """Ask ``approver_email`` to approve by completing callback ``callback_id``."""
    OUTBOX.append({"to": approver_email, "callback_id": callback_id})
    logger.info("Approval request sent to %s (callback %s)", approver_email, callback_id)


def escalate_to_manager(event: dict) -> dict:
    """Hand the request to the approver's manager."""
    manager = event.get("manager_email", "manager@example.com")
    logger.info("Escalated the approval for %s to %s", event["approver_email"], manager)
    return {"escalated_to": manager}


# fmt: off
# The seed's code, exactly as written.
@durable_execution
def handler(event: dict, context: DurableContext) -> dict:
    try:
        # Wait for approval
        def submit_callback(callback_id: str):
            send_approval_email(event['approver_email'], callback_id)

        approval = context.wait_for_callback(
            submitter=submit_callback,
            config=WaitForCallbackConfig(timeout=Duration.from_hours(24)),
            name='wait-for-approval'
        )

        return {'status': 'approved', 'approval': approval}

    except Exception as error:
        # Check for timeout
        if 'timeout' in str(error).lower():
            context.logger.warning('Approval timed out')

            # Escalate
            context.step(
                lambda _: escalate_to_manager(event),
                name='handle-timeout'
            )

            return {'status': 'timeout', 'escalated': True}

        raise
# fmt: on
