"""``durable-lambda dev`` as a user drives it: over HTTP, with curl's requests, and the CLI.

One dev server (a process on 127.0.0.1, any free port, its store in a
temporary file) serves the examples for the whole module; each test starts
executions of its own, named after it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from cli_process import CALLBACK_URL, CommandProcess, get, post
from click.testing import CliRunner, Result

from durable_lambda.cli.commands import cli


class DevServer:
    def __init__(self, process: CommandProcess, endpoint: str, db: Path) -> None:
        self.process = process
        self.endpoint = endpoint
        self.db = db

    def start(self, function: str, event: Any, name: str) -> str:
        status, body = post(
            f"{self.endpoint}/functions/{function}/executions?{urlencode({'name': name})}",
            json.dumps(event).encode(),
        )
        assert status == 201, body
        execution_id: str = json.loads(body)["DurableExecutionArn"]
        return execution_id

    def callback_url(self, name: str) -> str:
        """The callback URL dev printed for the execution named ``name``."""
        line = self.process.wait_for(rf"\[approval-handler {name}\] .*waiting .*Callback.*")
        match = CALLBACK_URL.search(line.group(0))
        assert match is not None, line.group(0)
        return match.group(0)

    def wait_for_end(self, name: str, status: str = "succeeded") -> None:
        self.process.wait_for(rf"\[approval-handler {name}\]\s+{status}\s+execution")

    def cli(self, *arguments: str) -> Result:
        """The command line on the dev server's file."""
        return CliRunner(env={"COLUMNS": "300"}).invoke(cli, [*arguments, "--db", str(self.db)])


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    db = tmp_path_factory.mktemp("dev") / "engine.sqlite3"
    arguments = ["dev", "--port", "0", "--db", str(db)]
    with CommandProcess(
        *arguments, "examples.approval:handler", "examples.batch:process_items"
    ) as process:
        endpoint = process.wait_for(r"Serving the local engine on (http://127\.0\.0\.1:\d+)").group(
            1
        )
        yield DevServer(process, endpoint, db)
        assert process.interrupt() == 0
        assert process.output.endswith("Stopping.")


def test_an_execution_started_over_http_completes_at_the_printed_callback_url(
    dev: DevServer,
) -> None:
    execution_id = dev.start("approval-handler", {"approver_email": "a@example.com"}, "first")

    status, body = post(f"{dev.callback_url('first')}/succeed", b'"approved"')
    assert (status, json.loads(body)) == (200, {})
    dev.wait_for_end("first")

    listed = dev.cli(
        "executions", "list", "--function", "approval-handler", "--status", "succeeded"
    )
    assert listed.exit_code == 0, listed.output
    assert execution_id in listed.output
    assert "SUCCEEDED" in listed.output
    described = dev.cli("executions", "describe", execution_id)
    assert described.exit_code == 0, described.output
    assert '"approval": "\\"approved\\""' in described.output
    history = dev.cli("executions", "history", execution_id)
    assert history.exit_code == 0, history.output
    rows = [line.split() for line in history.output.splitlines()]
    assert rows[0] == ["Operation", "Kind", "Status", "Start", "Duration", "Details"]
    assert rows[1][:3] == ["execution", "SUCCEEDED", "+0"]
    assert rows[1][-2:] == ["2", "invocations"]
    assert rows[2][:3] == ["wait-for-approval", "WaitForCallback", "SUCCEEDED"]
    assert rows[3][:6] == ["wait-for-approval", "create", "callback", "id", "Callback", "SUCCEEDED"]
    assert rows[3][-3:-1] == ["callback", "id"]
    assert dev.callback_url("first").endswith(rows[3][-1])
    assert rows[4][:4] == ["wait-for-approval", "submitter", "Step", "SUCCEEDED"]
    assert len(rows) == 5


def test_the_command_line_completes_and_stops_what_the_dev_server_runs(dev: DevServer) -> None:
    approved = dev.start("approval-handler", {"approver_email": "a@example.com"}, "by-cli")
    stopped = dev.start("approval-handler", {"approver_email": "b@example.com"}, "stopped")
    dev.callback_url("by-cli")
    dev.callback_url("stopped")

    history = dev.cli("executions", "history", approved, "--json")
    assert history.exit_code == 0, history.output
    events = json.loads(history.output)
    assert [event["EventType"] for event in events][:3] == [
        "ExecutionStarted",
        "ContextStarted",
        "CallbackStarted",
    ]
    callback_id = events[2]["CallbackStartedDetails"]["CallbackId"]
    sent = dev.cli("callback", "succeed", callback_id, '"yes"')
    assert sent.exit_code == 0, sent.output
    assert sent.output == f"Callback {callback_id} succeeded\n"
    dev.wait_for_end("by-cli")
    again = dev.cli("callback", "succeed", callback_id, '"yes"')
    assert again.exit_code == 1
    assert again.output == "Error: The execution of this callback has ended (SUCCEEDED)\n"

    result = dev.cli("executions", "stop", stopped, "--error-message", "not needed")
    assert result.exit_code == 0, result.output
    dev.wait_for_end("stopped", "stopped")
    described = dev.cli("executions", "describe", stopped)
    assert "STOPPED" in described.output
    assert "not needed" in described.output
    again = dev.cli("executions", "stop", stopped)
    assert again.exit_code == 1
    assert again.output == (
        f"Error: Execution {stopped} had already ended (STOPPED): nothing was stopped\n"
    )


def test_starting_refuses_unknown_functions_and_input_that_is_not_json(dev: DevServer) -> None:
    before = dev.cli("executions", "list").output
    status, body = post(f"{dev.endpoint}/functions/nothing/executions", b"{}")
    assert status == 404
    assert json.loads(body) == {
        "Error": "FunctionNotFound",
        "Message": "No durable function named 'nothing' is served here "
        "(served: approval-handler, batch-process_items)",
    }
    status, body = post(f"{dev.endpoint}/functions/approval-handler/executions", b"{oops")
    assert status == 400
    assert json.loads(body)["Error"] == "InvalidRequest"
    assert json.loads(body)["Message"].startswith("Execution input must be JSON text")
    assert dev.cli("executions", "list").output.count("\n") == before.count("\n")


def test_the_web_view_escapes_what_users_wrote(dev: DevServer) -> None:
    hostile = "<script>alert('x')</script>"
    execution_id = dev.start("approval-handler", {"approver_email": hostile}, "<b>named</b>")
    dev.callback_url("<b>named</b>")

    status, listing = get(f"{dev.endpoint}/?{urlencode({'function': 'approval-handler'})}")
    assert status == 200
    assert "&lt;b&gt;named&lt;/b&gt;" in listing
    assert "<b>named" not in listing
    status, page = get(f"{dev.endpoint}/execution?{urlencode({'id': execution_id})}")
    assert status == 200
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "<script" not in page
    assert "<b>named" not in page


def test_the_callback_form_completes_a_callback_and_says_why_it_cannot_twice(
    dev: DevServer,
) -> None:
    execution_id = dev.start("approval-handler", {"approver_email": "c@example.com"}, "by-form")
    callback_id = dev.callback_url("by-form").rsplit("/", 1)[1]
    form = urlencode(
        {
            "execution_id": execution_id,
            "callback_id": callback_id,
            "action": "succeed",
            "result": '"from the form"',
        }
    ).encode()

    status, page = post(f"{dev.endpoint}/execution/callback", form)
    assert status == 200  # after the redirect to the execution's page
    assert execution_id in page.decode()
    dev.wait_for_end("by-form")
    described = dev.cli("executions", "describe", execution_id)
    assert '"approval": "\\"from the form\\""' in described.output

    status, page = post(f"{dev.endpoint}/execution/callback", form)
    assert status == 409
    message = re.search(r'<p class="notice error" id="callback-error">(.*?)</p>', page.decode())
    assert message is not None
    assert message.group(1) == "The execution of this callback has ended (SUCCEEDED)"


def test_a_second_dev_server_on_the_same_port_says_so_in_one_line(
    dev: DevServer, tmp_path: Path
) -> None:
    port = dev.endpoint.rsplit(":", 1)[1]
    arguments = ["dev", "--port", port, "--db", str(tmp_path / "other.sqlite3")]
    with CommandProcess(*arguments, "examples.approval:handler") as second:
        assert second.wait() == 1
        assert second.output == f"Error: Cannot serve on 127.0.0.1:{port}: Address already in use"
