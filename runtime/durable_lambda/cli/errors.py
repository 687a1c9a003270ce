"""Errors a user of the command line can make, each told in one line."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

from durable_lambda.exceptions import DurableExecutionsError


class CliError(click.ClickException):
    """A mistake or a refusal the user can act on: ``Error: <message>``, exit status 1."""


@contextlib.contextmanager
def told_in_one_line() -> Iterator[None]:
    """Turn what the engines and clients refuse into a ``CliError`` (no traceback)."""
    try:
        yield
    except DurableExecutionsError as e:
        raise CliError(str(e)) from None
    except TimeoutError as e:
        raise CliError(str(e)) from None
    except Exception as e:
        # The AWS SDK's own errors (no region, no credentials, access denied),
        # recognised without importing it.
        if type(e).__module__.startswith("botocore."):
            raise CliError(f"AWS: {e}") from None
        raise
