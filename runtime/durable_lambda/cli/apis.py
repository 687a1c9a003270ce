"""Where the executions a command reads or drives are: a local engine's file, or AWS.

Every command takes the same options and gets a ``DurableExecutionsApi``:
by default the SQLite file of the local engine (``dev`` and ``run`` keep
their executions there), with ``--table``/``--stack`` (and ``--region``) a
deployed engine through ``durable_lambda.client.DurableClient``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from durable_lambda.cli.errors import CliError
from durable_lambda.client.api import DurableExecutionsApi
from durable_lambda.local import LocalEngine
from durable_lambda.store.sqlite import SqliteStore

DEFAULT_DB = Path(".durable-lambda") / "engine.sqlite3"
"""The local engine's file, relative to the current directory."""
DB_VARIABLE = "DURABLE_LAMBDA_DB"
"""The environment variable naming another file."""

F = TypeVar("F", bound=Callable[..., Any])


def db_option(func: F) -> F:
    """``--db PATH``: the local engine's SQLite file."""
    return click.option(
        "--db",
        type=click.Path(dir_okay=False, path_type=Path),
        default=DEFAULT_DB,
        show_default=True,
        envvar=DB_VARIABLE,
        help=f"The local engine's SQLite file (or ${DB_VARIABLE}).",
    )(func)


@dataclass(frozen=True)
class Executions:
    """Where the executions are: the options a command was given."""

    db: Path
    db_given: bool
    """Whether --db was on the command line (it then conflicts with --table/--stack)."""
    table: str | None
    stack: str | None
    region: str | None


def executions_options(func: F) -> F:
    """--db, --table, --stack and --region, passed to the command as ``executions``."""

    @click.option("--region", help="The AWS region of --table or --stack.")
    @click.option("--stack", help="The CloudFormation stack of a deployed engine.")
    @click.option("--table", help="The DynamoDB table of a deployed engine.")
    @db_option
    @click.pass_context
    def command(
        context: click.Context,
        /,
        db: Path,
        table: str | None,
        stack: str | None,
        region: str | None,
        **kwargs: Any,
    ) -> Any:
        db_given = context.get_parameter_source("db") is click.core.ParameterSource.COMMANDLINE
        where = Executions(db, db_given, table, stack, region)
        return context.invoke(func, executions=where, **kwargs)

    command.__name__ = func.__name__
    command.__doc__ = func.__doc__
    return cast("F", command)


@contextlib.contextmanager
def opened(executions: Executions) -> Iterator[DurableExecutionsApi]:
    """The API the options name, closed after use where it holds anything."""
    if executions.table is not None or executions.stack is not None:
        if executions.db_given:
            msg = "Give --db for the local engine, or --table/--stack for AWS, not both"
            raise CliError(msg)
        yield aws_client(executions.table, executions.stack, executions.region)
        return
    if executions.region is not None:
        msg = "--region goes with --table or --stack"
        raise CliError(msg)
    with local_client(executions.db) as client:
        yield client


def aws_client(table: str | None, stack: str | None, region: str | None) -> DurableExecutionsApi:
    """``durable_lambda.client.DurableClient`` on ``table``, or on the engine of ``stack``."""
    if table is not None and stack is not None:
        msg = "Give --table or --stack, not both"
        raise CliError(msg)
    try:
        from durable_lambda.client import DurableClient  # noqa: PLC0415 - boto3 when asked for

        if stack is not None:
            return DurableClient.from_stack(stack, region_name=region)
        return DurableClient(table_name=cast("str", table), region_name=region)
    except ModuleNotFoundError as e:
        if e.name not in ("boto3", "botocore"):
            raise
        msg = f"--table and --stack need {e.name}: pip install 'durable-lambda[aws]'"
        raise CliError(msg) from None


@contextlib.contextmanager
def local_client(db: Path) -> Iterator[LocalEngine]:
    """A client of the executions in a local engine's file.

    A ``LocalEngine`` on the file with no function registered: it reads,
    stops and completes callbacks (with the callback key kept beside the
    file) and wakes nothing; the engine serving the file (``dev``) invokes
    what a callback or a stop made due.
    """
    if not db.is_file():
        msg = (
            f"No local engine file at {db}: executions are kept there by "
            "`durable-lambda dev` and `durable-lambda run` (or give --db)"
        )
        raise CliError(msg)
    engine = LocalEngine(SqliteStore(str(db)))
    try:
        yield engine
    finally:
        engine.close()
