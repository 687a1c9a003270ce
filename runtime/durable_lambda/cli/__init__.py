"""The ``durable-lambda`` command: run a workflow, serve the local engine, drive executions.

It needs the ``cli`` extra (click, rich, jinja2): ``pip install 'durable-lambda[cli]'``.
Nothing here is imported by ``import durable_lambda``.
"""

from __future__ import annotations

import sys

_EXTRA = frozenset({"click", "rich", "jinja2", "markupsafe"})


def main() -> None:
    """The console script ``durable-lambda``."""
    try:
        from durable_lambda.cli.commands import cli  # noqa: PLC0415 - the extra may be missing
    except ModuleNotFoundError as e:
        if e.name not in _EXTRA:
            raise
        print(
            f"durable-lambda: the command line needs {e.name}: pip install 'durable-lambda[cli]'",
            file=sys.stderr,
        )
        raise SystemExit(1) from None
    cli()
