"""``durable-lambda run`` and the command line's errors, as a user sees them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_process import CALLBACK_URL, PROJECT, CommandProcess, post
from click.testing import CliRunner, Result
from rich.console import Console

from durable_lambda import DurableContext, durable_execution
from durable_lambda.cli.commands import cli
from durable_lambda.cli.live import progress_view
from durable_lambda.cli.timeline import timeline_of
from durable_lambda.config import MapConfig
from durable_lambda.local import LocalEngine
from durable_lambda.store.sqlite import SqliteStore


def invoke(*arguments: str) -> Result:
    return CliRunner(env={"COLUMNS": "300"}).invoke(cli, list(arguments))


@pytest.fixture
def in_project(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the project's root, where ``examples`` is, as a user of a checkout does."""
    monkeypatch.chdir(PROJECT)


def test_run_prints_the_callback_url_waits_for_it_and_ends_with_result_and_timeline(
    tmp_path: Path,
) -> None:
    event = json.dumps({"approver_email": "alice@example.com"})
    arguments = ["--input", event, "--db", str(tmp_path / "engine.sqlite3")]
    with CommandProcess("run", "examples.approval:handler", *arguments) as run:
        url = run.wait_for(CALLBACK_URL).group(0)
        status, _ = post(f"{url}/succeed", b'"[/] approved"')
        assert status == 200
        assert run.wait() == 0
    lines = run.output.splitlines()
    assert lines[0].startswith("Execution arn:aws:lambda:us-east-1:000000000000:function:approval")
    live = lines[1 : lines.index("")]
    told = [line.split(maxsplit=2)[:2] for line in live if line.startswith("  ")]
    assert told[:5] == [
        ["started", "execution"],
        ["started", "WaitForCallback"],
        ["waiting", "Callback"],
        ["complete", "it:"],
        ["started", "Step"],
    ]
    assert f"complete it: curl -X POST {url}/succeed" in run.output
    assert told[-1] == ["succeeded", "execution"]
    assert "INFO examples.approval: Approval request sent to alice@example.com" in run.output
    assert '"approval": "\\"[/] approved\\""' in run.output
    assert "Status     SUCCEEDED" in run.output
    assert lines[-5].split() == ["Operation", "Kind", "Status", "Start", "Duration", "Details"]
    assert lines[-3].split()[:3] == ["wait-for-approval", "WaitForCallback", "SUCCEEDED"]


def test_run_tells_a_map_by_its_counts_and_shows_its_items_in_the_timeline(
    tmp_path: Path, in_project: None
) -> None:
    db = str(tmp_path / "engine.sqlite3")
    result = invoke(
        "run", "examples.batch:process_items", "--input", '{"outcomes": "sfssfsssss"}', "--db", db
    )

    assert result.exit_code == 0, result.output
    told = [line.strip() for line in result.stdout.splitlines() if line.startswith("  ")]
    assert told[:2] == ["started   execution", "started   Map 'process' (1)"]
    assert told[2].startswith("succeeded Map 'process' (1) in ")
    assert told[2].endswith(": 7 succeeded, 2 failed")
    assert told[3].startswith("succeeded execution in ")
    assert '"completion_reason": "MIN_SUCCESSFUL_REACHED"' in result.output
    rows = {
        line.split()[0]: line.split()[1:3]
        for line in result.stdout.splitlines()
        if line.startswith(("    map-item", "      process-"))
    }
    assert rows["map-item-1"] == ["MapIteration", "FAILED"]
    assert rows["process-1"] == ["Step", "FAILED"]
    assert rows["map-item-8"] == ["MapIteration", "SUCCEEDED"]
    assert "examples.batch.ItemFailedError: item 4 could not be processed" in result.output
    listed = invoke("executions", "list", "--db", db)
    assert "batch-process_items" in listed.output
    assert "SUCCEEDED" in listed.output


@durable_execution
def waits_on_two_items(event: Any, context: DurableContext) -> list[Any]:
    def item(ctx: DurableContext, wanted: bool, index: int, _: Any) -> Any:
        return ctx.create_callback(f"item {index}").result() if wanted else index

    results = context.map([False, True, True], item, name="items", config=MapConfig())
    return results.get_results()


def test_runs_live_view_shows_a_progress_bar_for_a_running_map() -> None:
    with LocalEngine() as engine:
        engine.register_durable_function("items", waits_on_two_items)
        execution_id = engine.start_execution("items", "{}")
        deadline = time.monotonic() + 10
        while len(timeline_of(engine.get_history(execution_id)).waiting_callbacks()) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        timeline = timeline_of(engine.get_history(execution_id))
        console = Console(record=True, width=100, color_system=None)
        console.print(progress_view(timeline, engine.clock.now()))
        engine.stop_execution(execution_id)
    screen = console.export_text().splitlines()
    assert screen[0].startswith("running for ")
    assert screen[0].endswith(", waiting for 2 callbacks")
    assert screen[1].startswith("Map items ")
    assert screen[1].endswith(" 1/3 items done")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[str]:
    """A local engine's file with no executions."""
    path = tmp_path / "engine.sqlite3"
    LocalEngine(SqliteStore(str(path))).close()
    yield str(path)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["run", "examples.nowhere:handler"], "No module named 'examples.nowhere' (looked in "),
        (["run", "examples.approval:nothing"], "Module examples.approval has no handler 'nothing'"),
        (["run", "examples.approval"], "Expected MODULE:HANDLER or NAME=MODULE:HANDLER, got "),
        (
            ["run", "examples.approval:escalate_to_manager"],
            "examples.approval:escalate_to_manager is not a durable handler: "
            "decorate it with @durable_execution",
        ),
        (
            ["run", "examples.approval:handler", "--input", "{oops"],
            "--input is not JSON: Expecting property name enclosed in double quotes",
        ),
        (["executions", "describe", "arn:nothing"], "No execution with id 'arn:nothing'"),
        (["executions", "history", "arn:nothing"], "No execution with id 'arn:nothing'"),
        (["callback", "heartbeat", "not-an-id"], "Malformed callback id 'not-an-id'"),
        (
            ["executions", "list", "--table", "t", "--db", "engine.sqlite3"],
            "Give --db for the local engine, or --table/--stack for AWS, not both",
        ),
        (
            ["executions", "list", "--table", "t", "--stack", "s"],
            "Give --table or --stack, not both",
        ),
        (["executions", "list", "--region", "eu-west-1"], "--region goes with --table or --stack"),
    ],
)
def test_what_a_user_gets_wrong_is_told_in_one_line(
    arguments: list[str], message: str, db: str, in_project: None
) -> None:
    if not {"--db", "--table", "--stack"} & set(arguments):
        arguments = [*arguments, "--db", db]
    result = invoke(*arguments)

    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {message}")
    assert result.output.count("\n") == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_local_file_that_is_not_there_is_told_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.sqlite3"
    result = invoke("executions", "list", "--db", str(missing))

    assert result.exit_code == 1
    assert result.output == (
        f"Error: No local engine file at {missing}: executions are kept there by "
        "`durable-lambda dev` and `durable-lambda run` (or give --db)\n"
    )
    assert not missing.exists()


def test_without_its_extra_the_command_says_what_to_install() -> None:
    code = "import sys; sys.modules['click'] = None\nfrom durable_lambda.cli import main\nmain()\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=30
    )

    assert result.returncode == 1
    assert result.stderr == (
        "durable-lambda: the command line needs click: pip install 'durable-lambda[cli]'\n"
    )
