"""The ``durable-lambda`` command group."""

from __future__ import annotations

from typing import Any

import click

from durable_lambda.cli.callbacks import callback
from durable_lambda.cli.dev import dev
from durable_lambda.cli.errors import told_in_one_line
from durable_lambda.cli.executions import executions
from durable_lambda.cli.run import run


class _Cli(click.Group):
    """Every command's refusals told in one line, without a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        with told_in_one_line():
            return super().invoke(ctx)


@click.group(cls=_Cli)
@click.version_option(package_name="durable-lambda")
def cli() -> None:
    """Durable functions on this machine and on AWS: run, serve, inspect, call back."""


cli.add_command(run)
cli.add_command(dev)
cli.add_command(executions)
cli.add_command(callback)
