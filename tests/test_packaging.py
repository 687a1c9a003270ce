"""Packaging: import names, the CDK app, lint and types."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from conftest import MYPY_CHECK

ROOT = Path(__file__).resolve().parent.parent


def _run(*command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, **env}, check=False
    )


def test_our_constructs_folder_never_shadows_the_constructs_package() -> None:
    probe = (
        "import sys; sys.path.insert(0, '.'); "
        "import constructs; print(constructs.Construct.__module__)"
    )
    assert _run(sys.executable, "-c", probe).stdout.strip() == "constructs"


def test_importing_the_runtime_loads_no_aws_sdk_and_no_sqlite() -> None:
    probe = (
        "import sys, durable_lambda; "
        "print('boto3' in sys.modules, 'botocore' in sys.modules, 'sqlite3' in sys.modules)"
    )
    assert _run(sys.executable, "-c", probe).stdout.split() == ["False", "False", "False"]


def test_an_http_server_is_imported_only_when_an_engine_starts_one() -> None:
    probe = (
        "import sys, durable_lambda, durable_lambda.testing; "
        "servers = lambda: [m in sys.modules for m in ('http.server', 'waitress')]; "
        "print(*servers()); "
        "handler = durable_lambda.durable_execution(lambda event, context: None); "
        "durable_lambda.testing.DurableFunctionTestRunner(handler).close(); "
        "print(*servers())"
    )
    assert _run(sys.executable, "-c", probe).stdout.split() == ["False", "False", "False", "True"]


def test_the_command_line_is_a_console_script_and_the_runtime_imports_none_of_it() -> None:
    (script,) = entry_points(group="console_scripts", name="durable-lambda")
    assert script.value == "durable_lambda.cli:main"
    assert _run(str(Path(sys.executable).with_name("durable-lambda")), "--help").returncode == 0
    probe = (
        "import sys, durable_lambda, durable_lambda.testing, durable_lambda.local; "
        "print(*[m in sys.modules for m in ('click', 'rich', 'jinja2', 'durable_lambda.cli')])"
    )
    assert _run(sys.executable, "-c", probe).stdout.split() == ["False"] * 4


RUNTIME_MODULES = [
    "durable_lambda.backend",
    "durable_lambda.callback_ids",
    "durable_lambda.chained",
    "durable_lambda.concurrency.executor",
    "durable_lambda.concurrency.models",
    "durable_lambda.config",
    "durable_lambda.history",
    "durable_lambda.invocation",
    "durable_lambda.operation.base",
    "durable_lambda.operation.batch",
    "durable_lambda.operation.callback",
    "durable_lambda.operation.child",
    "durable_lambda.operation.invoke",
    "durable_lambda.operation.map",
    "durable_lambda.operation.parallel",
    "durable_lambda.operation.step",
    "durable_lambda.operation.wait",
    "durable_lambda.operation.wait_for_condition",
    "durable_lambda.retries",
    "durable_lambda.serdes",
    "durable_lambda.state",
    "durable_lambda.store.contract",
    "durable_lambda.transitions",
    "durable_lambda.waits",
]
"""What operations run on: loaded by the first invocation, not by a handler's imports."""


@pytest.mark.parametrize(
    "handler_imports",
    [
        "import durable_lambda",
        "from durable_lambda import DurableContext, StepContext, durable_execution, durable_step",
    ],
)
def test_a_handlers_imports_load_none_of_the_runtime(handler_imports: str) -> None:
    probe = f"import sys; {handler_imports}; print(*sorted(sys.modules))"
    loaded = set(_run(sys.executable, "-c", probe).stdout.split())
    assert "durable_lambda.context" in loaded
    assert sorted(loaded.intersection(RUNTIME_MODULES)) == []


def test_the_cdk_app_synthesizes(examples_cdk_out: Path) -> None:
    manifest = json.loads((examples_cdk_out / "manifest.json").read_text())
    assert "DurableLambdaExamples" in manifest["artifacts"]


def test_ruff_is_clean() -> None:
    check = _run(sys.executable, "-m", "ruff", "check", ".")
    assert check.returncode == 0, check.stdout
    formatted = _run(sys.executable, "-m", "ruff", "format", "--check", ".")
    assert formatted.returncode == 0, formatted.stdout


@pytest.mark.timeout(600)
def test_mypy_is_clean(request: pytest.FixtureRequest) -> None:
    check = request.config.stash[MYPY_CHECK]  # started with the session (conftest.py)
    output, _ = check.communicate()
    assert check.returncode == 0, output
