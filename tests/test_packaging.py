"""Packaging: import names, the CDK app, lint and types."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


def test_the_cdk_app_synthesizes(tmp_path: Path) -> None:
    result = _run(
        sys.executable,
        "app.py",
        CDK_OUTDIR=str(tmp_path),
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert "DurableLambdaExamples" in manifest["artifacts"]


def test_ruff_is_clean() -> None:
    check = _run(sys.executable, "-m", "ruff", "check", ".")
    assert check.returncode == 0, check.stdout
    formatted = _run(sys.executable, "-m", "ruff", "format", "--check", ".")
    assert formatted.returncode == 0, formatted.stdout


def test_mypy_is_clean() -> None:
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout
