"""``durable-lambda run MODULE:HANDLER --input JSON``: one execution, watched to its end."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from durable_lambda.cli.apis import db_option
from durable_lambda.cli.console import logging_to
from durable_lambda.cli.errors import CliError
from durable_lambda.cli.handlers import load_function
from durable_lambda.cli.live import follow
from durable_lambda.cli.render import execution_summary, timeline_table
from durable_lambda.local import LocalEngine
from durable_lambda.store.contract import ExecutionStatus
from durable_lambda.store.sqlite import SqliteStore


@click.command()
@click.argument("spec", metavar="[NAME=]MODULE:HANDLER")
@click.option("--input", "input_text", default="{}", show_default=True, help="The event, as JSON.")
@click.option(
    "--name", "execution_name", help="The execution's name (starting is idempotent by it)."
)
@db_option
def run(spec: str, input_text: str, execution_name: str | None, db: Path) -> None:
    """Run a durable handler on the local engine and watch it to its end.

    Operations are shown as they start and end, callback URLs as they are
    created (the command waits for them); then the result and the timeline.
    Exits 1 unless the execution succeeded.
    """
    try:
        json.loads(input_text)
    except ValueError as e:
        msg = f"--input is not JSON: {e}"
        raise CliError(msg) from None
    function = load_function(spec)
    if not function.durable:
        msg = f"{spec} is not a durable handler: decorate it with @durable_execution"
        raise CliError(msg)
    console = Console()
    db.parent.mkdir(parents=True, exist_ok=True)
    with logging_to(console), LocalEngine(SqliteStore(str(db))) as engine:
        engine.register_durable_function(function.name, function.handler)
        execution_id = engine.start_execution(
            function.name, input_text, execution_name=execution_name
        )
        console.print(Text(f"Execution {execution_id}", style="bold"), soft_wrap=True)
        try:
            timeline = follow(engine, execution_id, console)
        except KeyboardInterrupt:
            console.print(
                Text(
                    f"Stopped watching: the execution goes on when an engine serves {db} "
                    "(durable-lambda dev)"
                )
            )
            raise SystemExit(130) from None
        now = engine.clock.now()
        record = engine.describe_execution(execution_id)
        console.print()
        console.print(execution_summary(record, now))
        console.print()
        console.print(timeline_table(timeline, now))
    if record.status is not ExecutionStatus.SUCCEEDED:
        raise SystemExit(1)
