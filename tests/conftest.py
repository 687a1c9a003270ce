"""Fixtures shared by the test modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_harness import AwsAccount
from stores import STORE_KINDS, opened_store

from durable_lambda.store import Store

MYPY_CHECK = pytest.StashKey[subprocess.Popen[str]]()
"""The mypy run ``test_mypy_is_clean`` reads."""


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start mypy when its test is selected, so that it runs beside the other tests.

    Without a cache (a clean clone) it takes minutes, most of them reading aws-cdk-lib.
    """
    if any(item.name == "test_mypy_is_clean" for item in session.items):
        session.config.stash[MYPY_CHECK] = subprocess.Popen(
            [sys.executable, "-m", "mypy"],
            cwd=Path(__file__).resolve().parent.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    check = session.config.stash.get(MYPY_CHECK, None)
    if check is not None and check.poll() is None:
        check.kill()
        check.communicate()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--kills",
        type=int,
        default=6,
        help="How many times the kill test SIGKILLs its engine (more to soak).",
    )
    parser.addoption(
        "--kill-seed", default=None, help="The seed of the kill test's moments (random if unset)."
    )


@pytest.fixture
def journals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder where step bodies journal their runs, also in worker processes.

    Worker processes inherit it through ``DURABLE_LAMBDA_TEST_JOURNALS``.
    """
    monkeypatch.setenv("DURABLE_LAMBDA_TEST_JOURNALS", str(tmp_path))
    return tmp_path


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A new store of each kind the contract suite runs on."""
    with opened_store(request.param, tmp_path) as opened:
        yield opened


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give the kill test time for as many kills as it was asked for."""
    kills: int = config.getoption("--kills")
    for item in items:
        if item.name.startswith("test_an_engine_killed_again_and_again"):
            item.add_marker(pytest.mark.timeout(120 + kills))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[AwsAccount]:
    """An AWS account on moto, with a Lambda stand-in running durable functions."""
    account = AwsAccount(monkeypatch, tmp_path)
    with account.running(monkeypatch):
        yield account


ROOT = Path(__file__).resolve().parent.parent
QUIET_NODE = {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
"""jsii warns on every run under Node 20, which this machine has (README: Node 22 or 24)."""


@pytest.fixture(scope="session")
def examples_cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example app (app.py) synthesized once per session, as ``cdk synth`` runs it."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **QUIET_NODE, "CDK_OUTDIR": str(outdir)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return outdir


@pytest.fixture(scope="session")
def examples_template(examples_cdk_out: Path) -> dict[str, Any]:
    """The CloudFormation template of the example stack."""
    template: dict[str, Any] = json.loads(
        (examples_cdk_out / "DurableLambdaExamples.template.json").read_text()
    )
    return template
