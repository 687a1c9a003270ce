"""``durable-lambda executions list|describe|history|stop``."""

from __future__ import annotations

import datetime
import json
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from durable_lambda.cli.apis import Executions, executions_options, opened
from durable_lambda.cli.errors import CliError
from durable_lambda.cli.render import execution_summary, executions_table, timeline_table
from durable_lambda.cli.timeline import timeline_of
from durable_lambda.lambda_service import ErrorObject
from durable_lambda.store.contract import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ExecutionStatus

_STATUSES = [status.value for status in ExecutionStatus]


@click.group()
def executions() -> None:
    """Executions of the local engine (--db) or of a deployed one (--table/--stack)."""


@executions.command("list")
@click.option("--function", "function_name", help="Only this function's executions.")
@click.option(
    "--status", type=click.Choice(_STATUSES, case_sensitive=False), help="Only those with it."
)
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_PAGE_SIZE),
    default=DEFAULT_PAGE_SIZE,
    show_default=True,
    help="Executions a page.",
)
@click.option("--page-token", help="The page after the one that gave this token.")
@executions_options
def list_executions(
    executions: Executions,
    function_name: str | None,
    status: str | None,
    limit: int,
    page_token: str | None,
) -> None:
    """List executions, oldest start first, a page at a time."""
    console = Console()
    with opened(executions) as api:
        page = api.list_executions(
            function_name=function_name,
            status=ExecutionStatus(status.upper()) if status else None,
            page_token=page_token,
            limit=limit,
        )
    if not page.executions:
        console.print("No executions.")
        return
    console.print(executions_table(page.executions, _now()))
    if page.next_page_token is not None:
        console.print(Text(f"More: --page-token {page.next_page_token}"), soft_wrap=True)


@executions.command()
@click.argument("execution_id")
@executions_options
def describe(executions: Executions, execution_id: str) -> None:
    """Show an execution: status, times, input, result or error."""
    with opened(executions) as api:
        record = api.describe_execution(execution_id)
    Console().print(execution_summary(record, _now()))


@executions.command()
@click.argument("execution_id")
@click.option("--json", "as_json", is_flag=True, help="The raw history events, as JSON.")
@executions_options
def history(executions: Executions, execution_id: str, as_json: bool) -> None:
    """Show an execution's history as a timeline: operations nested by parent."""
    with opened(executions) as api:
        api.describe_execution(execution_id)  # one that does not exist has no history either
        events = api.get_execution_history(execution_id)
    if as_json:
        click.echo(json.dumps(events, indent=2, default=_json_default))
        return
    Console().print(timeline_table(timeline_of(events), _now()))


@executions.command()
@click.argument("execution_id")
@click.option("--error-type", help="The ErrorType it stops with.")
@click.option("--error-message", help="The ErrorMessage it stops with.")
@executions_options
def stop(
    executions: Executions,
    execution_id: str,
    error_type: str | None,
    error_message: str | None,
) -> None:
    """Stop a running execution (and the chained invokes it has running)."""
    error = None
    if error_type is not None or error_message is not None:
        error = ErrorObject(
            message=error_message or "Execution stopped by user request",
            type=error_type,
            data=None,
            stack_trace=None,
        )
    with opened(executions) as api:
        if not api.stop_execution(execution_id, error):
            status = api.describe_execution(execution_id).status.value
            msg = f"Execution {execution_id} had already ended ({status}): nothing was stopped"
            raise CliError(msg)
    Console().print(Text(f"Stopped {execution_id}"), soft_wrap=True)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _json_default(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    msg = f"Not JSON: {type(value).__name__}"
    raise TypeError(msg)
