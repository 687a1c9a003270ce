"""``durable-lambda callback succeed|fail|heartbeat``."""

from __future__ import annotations

import click
from rich.console import Console
from rich.text import Text

from durable_lambda.cli.apis import Executions, executions_options, opened


@click.group()
def callback() -> None:
    """Complete a waiting callback, on the local engine (--db) or a deployed one."""


@callback.command()
@click.argument("callback_id")
@click.argument("result", required=False)
@executions_options
def succeed(executions: Executions, callback_id: str, result: str | None) -> None:
    """Complete the callback with RESULT (text, usually JSON)."""
    with opened(executions) as api:
        api.send_callback_success(callback_id, result.encode() if result is not None else None)
    _done(f"Callback {callback_id} succeeded")


@callback.command()
@click.argument("callback_id")
@click.option("--error-type", help="The ErrorType the handler sees.")
@click.option("--error-message", help="The ErrorMessage the handler sees.")
@click.option("--error-data", help="The ErrorData the handler sees.")
@executions_options
def fail(
    executions: Executions,
    callback_id: str,
    error_type: str | None,
    error_message: str | None,
    error_data: str | None,
) -> None:
    """Fail the callback with an error."""
    error = {
        key: value
        for key, value in (
            ("ErrorType", error_type),
            ("ErrorMessage", error_message),
            ("ErrorData", error_data),
        )
        if value is not None
    }
    with opened(executions) as api:
        api.send_callback_failure(callback_id, error or None)
    _done(f"Callback {callback_id} failed")


@callback.command()
@click.argument("callback_id")
@executions_options
def heartbeat(executions: Executions, callback_id: str) -> None:
    """Tell the callback its caller is alive: its heartbeat timeout starts over."""
    with opened(executions) as api:
        api.send_callback_heartbeat(callback_id)
    _done(f"Heartbeat sent to callback {callback_id}")


def _done(message: str) -> None:
    Console().print(Text(message), soft_wrap=True)
