"""``durable-lambda dev``: the local engine served on 127.0.0.1, with its web view.

One waitress server (the engine's callback server) answers the callback
routes, ``POST /functions/{name}/executions`` and the pages of
``durable_lambda.cli.web``. The engine keeps its executions in a SQLite
file, so they outlive the server and the other commands read them.
"""

from __future__ import annotations

import logging
import queue
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import click
from rich.console import Console
from rich.text import Text

from durable_lambda.cli.apis import db_option
from durable_lambda.cli.console import logging_to
from durable_lambda.cli.errors import CliError
from durable_lambda.cli.handlers import LoadedFunction, load_function
from durable_lambda.cli.narration import Narrator
from durable_lambda.cli.web.app import DevApplication
from durable_lambda.local import LocalEngine
from durable_lambda.store.contract import MAX_PAGE_SIZE, ExecutionStatus
from durable_lambda.store.sqlite import SqliteStore

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8000
WATCH_SECONDS = 0.25
"""How often the server looks for what its executions did, to print it."""


@click.command()
@click.argument("specs", nargs=-1, metavar="[NAME=]MODULE:HANDLER...")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="The port on 127.0.0.1 (0: any free one).",
)
@db_option
def dev(specs: Sequence[str], port: int, db: Path) -> None:
    """Serve the local engine on 127.0.0.1 with the handlers given.

    POST /functions/NAME/executions (body: the input JSON) starts an
    execution; callbacks are completed at their URLs; the web view at / shows
    executions and their timelines. Durable handlers are started this way;
    plain ones are the targets of chained invokes. Stop it with Ctrl-C.
    """
    functions = _loaded(specs)
    console = Console()
    db.parent.mkdir(parents=True, exist_ok=True)
    watch = Watch(console)
    durable = [function.name for function in functions if function.durable]
    store = SqliteStore(str(db))
    try:
        engine = LocalEngine(
            store,
            callback_port=port,
            http_routes=lambda engine: DevApplication(engine, durable, watch.follow),
        )
    except OSError as e:
        store.close()
        msg = f"Cannot serve on 127.0.0.1:{port}: {e.strerror or e}"
        raise CliError(msg) from None
    stop = StopRequest()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop.request)
    with logging_to(console), engine:
        for function in functions:
            if function.durable:
                engine.register_durable_function(function.name, function.handler)
            else:
                engine.register_function(function.name, function.handler)
        _banner(console, engine.callback_endpoint, db, functions)
        watch.run(engine, stop)
        console.print("Stopping.")


def _loaded(specs: Sequence[str]) -> list[LoadedFunction]:
    functions = [load_function(spec) for spec in specs]
    names = [function.name for function in functions]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        msg = f"Two handlers are named {', '.join(repeated)}: name them with NAME=MODULE:HANDLER"
        raise CliError(msg)
    return functions


def _banner(console: Console, endpoint: str, db: Path, functions: Sequence[LoadedFunction]) -> None:
    console.print(Text(f"Serving the local engine on {endpoint} (store: {db})"), soft_wrap=True)
    console.print(Text(f"  web view:  {endpoint}/"), soft_wrap=True)
    for function in functions:
        if function.durable:
            route = f"POST {endpoint}/functions/{function.name}/executions"
            console.print(Text(f"  start:     {route}"), soft_wrap=True)
        else:
            console.print(Text(f"  invokable: {function.name}"), soft_wrap=True)
    console.print(Text(f"  callbacks: POST {endpoint}/callbacks/ID/succeed|fail|heartbeat"))


class StopRequest:
    """Ctrl-C or SIGTERM, noted for the watch loop to end at its next look.

    Raising KeyboardInterrupt from the handler instead could land inside a store
    call holding a lock, and closing the engine then waited on it for good.
    """

    def __init__(self) -> None:
        self.requested = False

    def request(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True


class Watch:
    """Prints what the engine's executions do: those started over HTTP, and every running one."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._started: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._narrators: dict[str, Narrator] = {}

    def follow(self, execution_id: str) -> None:
        """Tell this execution's story even if it ends before the next look."""
        self._started.put(execution_id)

    def run(self, engine: LocalEngine, stop: StopRequest) -> None:
        """Look every WATCH_SECONDS until a stop is requested; a failed look is logged,
        not fatal."""
        while not stop.requested:
            try:
                self.look(engine)
            except Exception:  # the server goes on; the next look tries again
                logger.exception("Could not read what the executions did; trying again")
            time.sleep(WATCH_SECONDS)

    def look(self, engine: LocalEngine) -> None:
        """Print what happened since the last look."""
        running = engine.list_executions(status=ExecutionStatus.RUNNING, limit=MAX_PAGE_SIZE)
        execution_ids = list(self._narrators)
        while not self._started.empty():
            execution_ids.append(self._started.get())
        execution_ids += [record.execution_id for record in running.executions]
        for execution_id in dict.fromkeys(execution_ids):
            narrator = self._narrators.get(execution_id)
            if narrator is None:
                record = engine.describe_execution(execution_id)
                prefix = f"[{record.function_name} {record.execution_name}]"
                narrator = self._narrators[execution_id] = Narrator(
                    engine.callback_endpoint, prefix
                )
            timeline, lines = narrator.news(engine.get_history(execution_id))
            for line in lines:
                self._console.print(line, soft_wrap=True)
            if timeline.end is not None:
                del self._narrators[execution_id]
